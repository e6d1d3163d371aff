"""Pure rewrites of an architecture: width multiplier and input resolution.

Each takes an ``Architecture`` and returns a new one; the analysis then counts it as usual.
"""

from dataclasses import replace

from convcalc.architecture import Architecture, Leaf, map_leaves
from convcalc.errors import ConvcalcError
from convcalc.layers import Conv
from convcalc.shapes import Shape, checked_shape

MAX_WIDTH = 16.0


def make_divisible(value: float, divisor: int) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``), never
    more than 10% below ``value``: torchvision's ``_make_divisible`` for MobileNetV2."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def with_width(arch: Architecture, multiplier: float) -> Architecture:
    """Every scaled convolution's filters times ``multiplier``, rounded by the architecture's
    ``channel_divisor``. Depthwise layers follow their input; dense layers keep their units."""
    if not 0 < multiplier <= MAX_WIDTH:
        raise ConvcalcError(f"width {multiplier} must be above 0 and at most {MAX_WIDTH:g}")

    def scale(leaf: Leaf) -> tuple[Leaf]:
        layer = leaf.layer
        if not isinstance(layer, Conv) or not layer.filters or layer.scale is False or (
                layer.scale == "up" and multiplier <= 1):
            return (leaf,)
        filters = make_divisible(layer.filters * multiplier, arch.channel_divisor)
        return (replace(leaf, layer=replace(layer, filters=filters)),)

    return replace(arch, layers=map_leaves(arch.layers, scale), width=arch.width * multiplier)


def with_input(arch: Architecture, shape: Shape) -> Architecture:
    """The same network on another input size (the resolution multiplier)."""
    return replace(arch, input=checked_shape(shape))
