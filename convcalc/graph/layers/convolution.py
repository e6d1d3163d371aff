"""Layers with multiplies on a sliding window or on all inputs: convolutions (standard, depthwise,
pointwise, separable, transposed) and dense layers."""

from dataclasses import dataclass
from typing import ClassVar

from convcalc.errors import ConvcalcError
from convcalc.graph.layers.base import (
    Layer,
    Padding,
    Reach,
    Reaches,
    WidthScale,
    Window,
    _non_negative_padding,
    _positive,
)
from convcalc.graph.shapes import Pair, Shape, output_size, resolve_padding


def _check_filter_window(layer: "Conv | ConvTranspose") -> None:
    """The checks of the fields a convolution and a transposed convolution share."""
    _positive("filters", layer.filters)
    _positive("kernel", layer.kernel)
    _positive("stride", layer.stride)
    _positive("dilation", layer.dilation)
    _positive("groups", layer.groups)
    _non_negative_padding(layer.padding)
    if layer.scale not in (True, False, "up"):
        raise ConvcalcError(f"scale {layer.scale!r} must be true, false or 'up'")


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Conv(Layer):
    """Convolution: out = floor((n + 2p - d(f-1) - 1)/s) + 1 per axis;
    macs = h_out * w_out * filters * f_h * f_w * c_in / groups;
    params = f_h * f_w * (c_in / groups) * filters (+ filters if bias)."""

    kind: str = "conv"
    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = 0
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    scale: WidthScale = True

    def __post_init__(self) -> None:
        _check_filter_window(self)

    def as_conv(self, x: Shape) -> "Conv":
        """The plain convolution this layer computes at input x (itself, for conv)."""
        return self

    def window(self, x: Shape) -> Window:
        conv = self.as_conv(x)
        padding = resolve_padding(conv.padding, x.hw, conv.kernel, conv.stride, conv.dilation)
        return Window(conv.kernel, conv.stride, padding, conv.dilation, conv.groups)

    def out_shape(self, x: Shape) -> Shape:
        conv = self.as_conv(x)
        if x.c % conv.groups or conv.filters % conv.groups:
            raise ConvcalcError(
                f"groups={conv.groups} must divide input channels {x.c} and filters "
                f"{conv.filters} (input {x})"
            )
        w = self.window(x)
        h, wd = x.hw
        return Shape(
            output_size(h, w.kernel[0], w.stride[0], w.padding[0], w.padding[1], w.dilation[0]),
            output_size(wd, w.kernel[1], w.stride[1], w.padding[2], w.padding[3], w.dilation[1]),
            conv.filters,
        )

    def params(self, x: Shape) -> int:
        conv = self.as_conv(x)
        weights = conv.kernel[0] * conv.kernel[1] * (x.c // conv.groups) * conv.filters
        return weights + (conv.filters if conv.bias else 0)

    def macs(self, x: Shape) -> int:
        conv = self.as_conv(x)
        out = self.out_shape(x)
        return out.elements * conv.kernel[0] * conv.kernel[1] * (x.c // conv.groups)

    def other_ops(self, x: Shape) -> int:
        return self.out_shape(x).elements if self.as_conv(x).bias else 0


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Depthwise(Conv):
    """Depthwise convolution: groups = input channels, filters = c_in * multiplier;
    macs = h_out * w_out * c_in * multiplier * f_h * f_w."""

    kind: str = "depthwise"
    filters: int = 0  # derived from the input; not a YAML key
    multiplier: int = 1
    scale: WidthScale = False

    yaml_hidden: ClassVar = ("filters", "groups", "scale")

    def __post_init__(self) -> None:
        _positive("multiplier", self.multiplier)
        _positive("kernel", self.kernel)
        _positive("stride", self.stride)
        _positive("dilation", self.dilation)
        _non_negative_padding(self.padding)

    def as_conv(self, x: Shape) -> Conv:
        return Conv(filters=x.c * self.multiplier, kernel=self.kernel, stride=self.stride,
                    padding=self.padding, dilation=self.dilation, groups=x.c, bias=self.bias)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Pointwise(Conv):
    """1x1 convolution (a bottleneck or projection): macs = h * w * c_in * filters.
    ``expansion: t`` instead of ``filters`` gives t * c_in filters (MobileNetV2's expansion)."""

    kind: str = "pointwise"
    filters: int = 0
    kernel: Pair = (1, 1)
    expansion: float = 0

    yaml_hidden: ClassVar = ("kernel", "padding", "dilation")

    def __post_init__(self) -> None:
        if bool(self.filters) == bool(self.expansion):
            raise ConvcalcError("needs exactly one of 'filters' and 'expansion'")
        if self.expansion:
            if not 0 < self.expansion <= 1000:
                raise ConvcalcError(f"expansion {self.expansion} must be above 0 and at most 1000")
            _positive("stride", self.stride)
            _positive("groups", self.groups)
        else:
            super().__post_init__()

    def as_conv(self, x: Shape) -> Conv:
        # torchvision's MobileNetV2: hidden_dim = int(round(inp * expand_ratio)).
        filters = self.filters or round(x.c * self.expansion)
        return Conv(filters=filters, kernel=(1, 1), stride=self.stride, groups=self.groups,
                    bias=self.bias)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Separable(Layer):
    """Shorthand for a depthwise f x f convolution followed by a pointwise 1x1 one; the loader
    expands it into the two layers ``NAME.dw`` and ``NAME.pw`` (bias on the pointwise only, as
    Keras's SeparableConv2D does)."""

    kind: str = "separable"
    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = 0
    dilation: Pair = (1, 1)
    multiplier: int = 1
    bias: bool = True
    scale: WidthScale = True

    def __post_init__(self) -> None:
        self.expand()  # both halves validate their own fields

    def expand(self) -> tuple[tuple[str, Layer], ...]:
        """The layers this shorthand stands for, with their path suffixes."""
        return (
            ("dw", Depthwise(kernel=self.kernel, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, multiplier=self.multiplier, bias=False)),
            ("pw", Pointwise(filters=self.filters, bias=self.bias, scale=self.scale)),
        )


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Dense(Layer):
    """Fully connected layer on the last axis (nn.Linear) of a flat vector, tokens or any
    tensor but an image (there a 'pointwise' convolution is the same layer):
    macs = (elements / in) * in * units; params = in * units (+ units). ``scale`` is false by
    default: the width multiplier keeps a classifier's classes (MobileNetV3 scales its hidden
    1280 units, as torchvision's ``adjust_channels(last_channel)``; a transformer's MLP says
    ``scale: true``)."""

    kind: str = "dense"
    units: int
    bias: bool = True
    scale: WidthScale = False

    def __post_init__(self) -> None:
        _positive("units", self.units)
        if self.scale not in (True, False, "up"):
            raise ConvcalcError(f"scale {self.scale!r} must be true, false or 'up'")

    def out_shape(self, x: Shape) -> Shape:
        if x.is_image:
            raise ConvcalcError(f"needs a flat input but gets {x}; add 'flatten' before it "
                                "(or 'tokens', or use 'pointwise': a dense layer at every "
                                "position)")
        return Shape(*x.dims[:-1], self.units)

    def params(self, x: Shape) -> int:
        return x.c * self.units + (self.units if self.bias else 0)

    def macs(self, x: Shape) -> int:
        return self.out_shape(x).elements * x.c

    def other_ops(self, x: Shape) -> int:
        return self.out_shape(x).elements if self.bias else 0


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ConvTranspose(Layer):
    """Transposed convolution (PyTorch's ConvTranspose2d): per axis
    out = (n - 1)s - 2p + d(f - 1) + output_padding + 1;
    macs = h_in * w_in * c_in * (filters / groups) * f_h * f_w (every input value times every
    tap of its filters, as torch.utils.flop_counter counts it);
    params = c_in * (filters / groups) * f_h * f_w (+ filters if bias)."""

    kind: str = "conv_transpose"
    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = 0
    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    scale: WidthScale = True

    def __post_init__(self) -> None:
        _check_filter_window(self)
        if isinstance(self.padding, str) or (
                isinstance(self.padding, tuple) and len(self.padding) != 2):
            raise ConvcalcError(f"padding {self.padding!r} must be one number or [h, w]")
        for axis in (0, 1):
            limit = max(self.stride[axis], self.dilation[axis])
            if not 0 <= self.output_padding[axis] < limit:
                raise ConvcalcError(f"output_padding {self.output_padding[axis]} must be at "
                                    f"least 0 and below the stride or dilation ({limit}), as "
                                    "PyTorch requires")

    def _pads(self) -> Pair:
        p = self.padding
        return (p, p) if isinstance(p, int) else (int(p[0]), int(p[1]))

    def out_shape(self, x: Shape) -> Shape:
        if x.c % self.groups or self.filters % self.groups:
            raise ConvcalcError(f"groups={self.groups} must divide input channels {x.c} and "
                                f"filters {self.filters} (input {x})")
        sizes = []
        for n, f, s, p, d, extra in zip(x.hw, self.kernel, self.stride, self._pads(),
                                        self.dilation, self.output_padding, strict=True):
            size = (n - 1) * s - 2 * p + d * (f - 1) + extra + 1
            if size < 1:
                raise ConvcalcError(f"padding {p} leaves no output ({size}) for input size {n}; "
                                    "use less padding")
            sizes.append(size)
        return Shape(sizes[0], sizes[1], self.filters)

    def params(self, x: Shape) -> int:
        weights = x.c * (self.filters // self.groups) * self.kernel[0] * self.kernel[1]
        return weights + (self.filters if self.bias else 0)

    def macs(self, x: Shape) -> int:
        self.out_shape(x)
        return x.elements * (self.filters // self.groups) * self.kernel[0] * self.kernel[1]

    def other_ops(self, x: Shape) -> int:
        return self.out_shape(x).elements if self.bias else 0

    def reach(self, x: Shape, window: Window | None) -> Reaches:
        """Output o gets input i through tap j when i*s = o + p - j*d: it reads the inputs of
        its outermost taps (an output no tap reaches, with a kernel smaller than the stride,
        is counted at the input just before it)."""
        def axis(f: int, s: int, p: int, d: int) -> Reach:
            def reads(o: int) -> Pair:
                taps = [(o + p - j * d) // s for j in range(f) if (o + p - j * d) % s == 0]
                return (min(taps), max(taps)) if taps else ((o + p) // s,) * 2
            return Reach((1, s), reads)

        return (axis(self.kernel[0], self.stride[0], self._pads()[0], self.dilation[0]),
                axis(self.kernel[1], self.stride[1], self._pads()[1], self.dilation[1]))
