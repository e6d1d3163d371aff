"""Kinds that move elements without multiplying: flatten, padding, resampling, crop, channel
slices, split and channel shuffle."""

import math
from dataclasses import dataclass
from typing import ClassVar

from convcalc.errors import ConvcalcError
from convcalc.graph.layers.base import (
    WHOLE_INPUT,
    FloatPair,
    Layer,
    Merge,
    Padding,
    Reach,
    Reaches,
    Sections,
    Window,
    _non_negative_padding,
    _positive,
    _shift_reach,
    _window_reach,
)
from convcalc.graph.shapes import Pair, Shape, resolve_padding
from convcalc.limits import MAX_DIM


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Flatten(Layer):
    """h x w x c -> a flat vector of h * w * c values."""

    kind: str = "flatten"
    view: ClassVar[bool] = True

    def out_shape(self, x: Shape) -> Shape:
        return Shape.flat(x.elements)

    def reach(self, x: Shape, window: Window | None) -> Reaches | None:
        """A flat vector sees all of a spatial input: one window of its whole size; of tokens
        or another rank, all of the network input."""
        if x.is_flat:
            return None
        if not x.is_image:
            return WHOLE_INPUT
        return _window_reach(Window(x.hw, x.hw, (0, 0, 0, 0), (1, 1), 1))


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ZeroPad(Layer):
    """Explicit zero padding: [h, w] on both sides, or [top, bottom, left, right]."""

    kind: str = "zeropad"
    padding: Padding

    def __post_init__(self) -> None:
        _non_negative_padding(self.padding)
        if isinstance(self.padding, str):
            raise ConvcalcError("zeropad needs numbers, not 'same' or 'valid'")

    def out_shape(self, x: Shape) -> Shape:
        h, w = x.hw
        top, bottom, left, right = resolve_padding(self.padding, (h, w), (1, 1), (1, 1), (1, 1))
        return Shape(h + top + bottom, w + left + right, x.c)

    def reach(self, x: Shape, window: Window | None) -> Reaches:
        top, _, left, _ = resolve_padding(self.padding, x.hw, (1, 1), (1, 1), (1, 1))
        return _shift_reach(-top, -left)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Upsample(Merge):
    """Upsampling by ``scale`` (out = floor(n * scale), PyTorch's rule), to a ``size``, or to
    the height and width of a second input read with 'from:' (its values are not read);
    ``mode`` 'nearest' or 'bilinear' (align_corners false). macs = 0 (torch's flop counter
    counts none); other_ops = 0 for nearest (a copy), 4 per output element for bilinear (one
    weighted neighbour each)."""

    kind: str = "upsample"
    scale: FloatPair | None = None
    size: Pair | None = None
    mode: str = "nearest"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int] = 2

    def __post_init__(self) -> None:
        if self.mode not in UPSAMPLE_MODES:
            raise ConvcalcError(f"mode '{self.mode}' must be one of {', '.join(UPSAMPLE_MODES)}")
        if self.scale is not None and self.size is not None:
            raise ConvcalcError("takes 'scale' or 'size', not both")
        if self.scale is not None and not all(0 < v <= MAX_DIM for v in self.scale):
            raise ConvcalcError(f"scale {list(self.scale)} must be above 0")
        if self.size is not None:
            _positive("size", self.size)

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        x = inputs[0]
        h, w = x.hw
        given = [k for k, v in (("scale", self.scale), ("size", self.size)) if v is not None]
        if len(inputs) == 2:
            if given:
                raise ConvcalcError(f"reads its size from a second input; drop '{given[0]}'")
            size = inputs[1].hw
        elif self.size is not None:
            size = self.size
        elif self.scale is not None:
            size = (math.floor(h * self.scale[0]), math.floor(w * self.scale[1]))
        else:
            raise ConvcalcError("needs 'scale', 'size' or a second input to take the size of "
                                "(from: [x, other])")
        if min(size) < 1:
            raise ConvcalcError(f"scale {self.scale} leaves no output for input {x}")
        return Shape(size[0], size[1], x.c)

    def other_ops(self, inputs: tuple[Shape, ...]) -> int:
        return 4 * self.out_shape(inputs).elements if self.mode == "bilinear" else 0

    def reach(self, inputs: tuple[Shape, ...]) -> Reaches:
        """PyTorch's source position, src = o * a/b with a/b = 1/scale when a scale is given
        and in/out otherwise: nearest reads floor(src); bilinear (align_corners false) reads
        floor(src') and the next one, src' = (o + 1/2) * a/b - 1/2, unless src' is whole.
        Every output of a 1-wide input reads its one position."""
        out = self.out_shape(inputs).hw

        def axis(axis: int) -> Reach:
            if inputs[0].hw[axis] == 1:  # every output reads the one position (a pooled branch)
                return Reach((0, 1), lambda o: (0, 0))
            if self.scale is not None:
                b, a = _simplest_ratio(self.scale[axis])
            else:
                a, b = inputs[0].hw[axis], out[axis]
            if self.mode == "nearest":
                return Reach((a, b), lambda o: (o * a // b,) * 2)

            def reads(o: int) -> Pair:
                first, part = divmod((2 * o + 1) * a - b, 2 * b)
                return first, first + (part != 0)
            return Reach((a, b), reads)

        return axis(0), axis(1)


UPSAMPLE_MODES = ("nearest", "bilinear")


def _simplest_ratio(scale: float) -> Pair:
    """(num, den) of the simplest fraction that is ``scale`` as a float: 13/10 for 1.3, whose
    float is 5854679515581645 / 2^52 exactly."""
    if scale == int(scale):
        return int(scale), 1
    from fractions import Fraction  # imported only here: it brings in decimal

    ratio = Fraction(scale).limit_denominator(1_000_000)
    return ratio.as_integer_ratio() if float(ratio) == scale else scale.as_integer_ratio()


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Crop(Merge):
    """Center crop to a ``size`` [h, w], or to the height and width of a second input read
    with 'from:' (the U-Net's cropped skip connections); the window starts at
    top = round((H - h) / 2), left = round((W - w) / 2), as torchvision's CenterCrop. Costs
    nothing."""

    kind: str = "crop"
    size: Pair | None = None
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int] = 2

    def __post_init__(self) -> None:
        if self.size is not None:
            _positive("size", self.size)

    def target(self, inputs: tuple[Shape, ...]) -> Pair:
        """(h, w) of the crop at these inputs."""
        if len(inputs) == 2:
            if self.size is not None:
                raise ConvcalcError("reads its size from a second input; drop 'size'")
            return inputs[1].hw
        if self.size is None:
            raise ConvcalcError("needs 'size' or a second input to take the size of "
                                "(from: [x, other])")
        return self.size

    def offsets(self, inputs: tuple[Shape, ...]) -> Pair:
        """(top, left) of the crop window in the first input."""
        (h, w), (oh, ow) = inputs[0].hw, self.target(inputs)
        return round((h - oh) / 2), round((w - ow) / 2)

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        x = inputs[0]
        (h, w), (oh, ow) = x.hw, self.target(inputs)
        if oh > h or ow > w:
            raise ConvcalcError(f"cannot crop {x} to {oh}x{ow}: the crop is larger than the "
                                "input")
        return Shape(oh, ow, x.c)

    def reach(self, inputs: tuple[Shape, ...]) -> Reaches:
        return _shift_reach(*self.offsets(inputs))


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ChannelSlice(Layer):
    """Channels start .. stop - 1 of the input (torch's x[:, start:stop]); costs nothing. A
    ``split`` is made of these, one per section."""

    kind: str = "channel_slice"
    view: ClassVar[bool] = True
    start: int = 0
    stop: int = 0
    # Set by split: the sections as a count of equal ones (parts, index) or their total.
    parts: int = 0
    index: int = 0
    total: int = 0

    yaml_hidden: ClassVar = ("parts", "index", "total")

    def __post_init__(self) -> None:
        if not self.parts and not 0 <= self.start < self.stop:
            raise ConvcalcError(f"start {self.start} and stop {self.stop} must satisfy "
                                "0 <= start < stop")

    def bounds(self, c: int) -> Pair:
        """(start, stop) of the channels taken from an input of c channels."""
        if self.parts:
            if c % self.parts:
                raise ConvcalcError(f"cannot split {c} channels into {self.parts} equal "
                                    "sections; give the sections as a list")
            size = c // self.parts
            return self.index * size, (self.index + 1) * size
        if self.total and self.total != c:
            raise ConvcalcError(f"split sections add up to {self.total} channels, but the "
                                f"input has {c}; make them add up to {c}")
        if self.stop > c:
            raise ConvcalcError(f"stop {self.stop} is past the input's {c} channels")
        return self.start, self.stop

    def out_shape(self, x: Shape) -> Shape:
        start, stop = self.bounds(x.c)
        return Shape(*x.dims[:-1], stop - start)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Split(Layer):
    """Shorthand for channel sections side by side (torch.split along channels): ``sections``
    is a list of channel counts, or a number of equal sections. The loader expands it into
    ``channel_slice`` layers PATH.0, PATH.1, ..., each read with 'from:'; sections that do not
    add up to the input channels are an error."""

    kind: str = "split"
    sections: Sections
    parallel: ClassVar[bool] = True

    def __post_init__(self) -> None:
        counts = self.sections if isinstance(self.sections, tuple) else (self.sections,)
        if not counts or any(not 1 <= v <= MAX_DIM for v in counts) or (
                isinstance(self.sections, int) and self.sections < 2):
            raise ConvcalcError(f"sections {self.sections!r} must be a list of channel counts "
                                "or a number of equal sections (at least 2)")

    def expand(self) -> tuple[tuple[str, Layer], ...]:
        """The sections, with their path suffixes '0', '1', ..."""
        if isinstance(self.sections, int):
            return tuple((str(i), ChannelSlice(parts=self.sections, index=i))
                         for i in range(self.sections))
        total, start, parts = sum(self.sections), 0, []
        for i, count in enumerate(self.sections):
            parts.append((str(i), ChannelSlice(start=start, stop=start + count, total=total)))
            start += count
        return tuple(parts)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle: c channels as groups x (c / groups), transposed; costs
    nothing (it moves data)."""

    kind: str = "channel_shuffle"
    groups: int

    def __post_init__(self) -> None:
        _positive("groups", self.groups)

    def out_shape(self, x: Shape) -> Shape:
        if x.c % self.groups:
            raise ConvcalcError(f"groups={self.groups} must divide the input's {x.c} channels")
        return x
