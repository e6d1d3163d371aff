"""Kinds that lay the same values out in another shape, for what the named kinds don't cover
(and for the ONNX reader): ``reshape``, ``transpose``, ``unsqueeze``, ``stack``,
``pixel_shuffle`` and ``space_to_depth``; and ``reduce`` along axes. Dims are in convcalc's
order, features last (an image is [h, w, c]); a reshape reads and writes them row-major."""

from dataclasses import dataclass
from typing import ClassVar

from convcalc.errors import ConvcalcError
from convcalc.graph.layers.base import (
    WHOLE_INPUT,
    Dims,
    Layer,
    Merge,
    Reach,
    Reaches,
    Window,
    _axis,
    _positive,
    _window_reach,
)
from convcalc.graph.shapes import Shape
from convcalc.limits import MAX_DIM, MAX_RANK

REDUCE_OPS = {"mean": 1, "sum": 1, "max": 1, "l2": 2}  # other ops per input element


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Reshape(Layer):
    """The same values, row-major, in ``shape`` (one dim may be -1: what is left). Costs
    nothing; each value keeps what it saw."""

    kind: str = "reshape"
    view: ClassVar[bool] = True
    shape: Dims

    def __post_init__(self) -> None:
        if not 1 <= len(self.shape) <= MAX_RANK or self.shape.count(-1) > 1 or any(
                not (d == -1 or 1 <= d <= MAX_DIM) for d in self.shape):
            raise ConvcalcError(f"shape {list(self.shape)} must be 1 to {MAX_RANK} dims, each "
                                f"from 1 to {MAX_DIM:,}, one of them may be -1")

    def out_shape(self, x: Shape) -> Shape:
        known = 1
        for d in self.shape:
            known *= d if d != -1 else 1
        total = x.elements
        if -1 in self.shape:
            if total % known:
                raise ConvcalcError(f"cannot reshape {x} ({total:,} values) to "
                                    f"{list(self.shape)}: {known:,} does not divide {total:,}")
            return Shape(*(total // known if d == -1 else d for d in self.shape))
        if known != total:
            raise ConvcalcError(f"cannot reshape {x} ({total:,} values) to "
                                f"{'x'.join(map(str, self.shape))} ({known:,} values)")
        return Shape(*self.shape)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Transpose(Layer):
    """The dims in the order ``perm`` (torch's permute): output dim i is input dim perm[i].
    Costs nothing."""

    kind: str = "transpose"
    view: ClassVar[bool] = True
    perm: Dims

    def out_shape(self, x: Shape) -> Shape:
        if sorted(self.perm) != list(range(x.rank)):
            raise ConvcalcError(f"perm {list(self.perm)} must order the {x.rank} dims of "
                                f"{x}: each of 0 to {x.rank - 1} once")
        return Shape(*(x.dims[i] for i in self.perm))


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Unsqueeze(Layer):
    """A dim of size 1 inserted at ``axis`` (torch.unsqueeze). Costs nothing."""

    kind: str = "unsqueeze"
    view: ClassVar[bool] = True
    axis: int = 0

    def out_shape(self, x: Shape) -> Shape:
        axis = _axis(self.axis, x.rank + 1)
        return Shape(*x.dims[:axis], 1, *x.dims[axis:])


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Stack(Merge):
    """Equal tensors stacked along a new dim at ``axis`` (torch.stack). Costs nothing."""

    kind: str = "stack"
    axis: int = 0
    min_inputs: ClassVar[int] = 1

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        first = inputs[0]
        for other in inputs[1:]:
            if other != first:
                raise ConvcalcError(f"cannot stack {first} and {other}: shapes differ")
        axis = _axis(self.axis, first.rank + 1)
        return Shape(*first.dims[:axis], len(inputs), *first.dims[axis:])


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Reduce(Layer):
    """The mean, sum, max or L2 norm (``op``) along ``axes`` (all of them when none are
    given), keeping them as 1 when ``keepdims``: other_ops = 1 per input element (2 for l2)."""

    kind: str = "reduce"
    op: str = "mean"
    axes: Dims = ()
    keepdims: bool = False

    def __post_init__(self) -> None:
        if self.op not in REDUCE_OPS:
            raise ConvcalcError(f"op '{self.op}' must be one of {', '.join(REDUCE_OPS)}")

    def reduced(self, x: Shape) -> set[int]:
        """The axes reduced, counted from 0."""
        axes = {_axis(a, x.rank, "axes") for a in self.axes} or set(range(x.rank))
        if len(axes) == x.rank and not self.keepdims:
            raise ConvcalcError("reduces every dim to nothing; keep one or set "
                                "'keepdims: true'")
        return axes

    def out_shape(self, x: Shape) -> Shape:
        axes = self.reduced(x)
        if self.keepdims:
            return Shape(*(1 if i in axes else d for i, d in enumerate(x.dims)))
        return Shape(*(d for i, d in enumerate(x.dims) if i not in axes))

    def other_ops(self, x: Shape) -> int:
        return REDUCE_OPS[self.op] * x.elements

    def reach(self, x: Shape, window: Window | None) -> Reaches | None:
        """Along the features nothing moves; over positions, every one of them is seen."""
        if self.reduced(x) == {x.rank - 1}:
            return None
        if x.is_image and self.out_shape(x).is_image:
            return _window_reach(Window(x.hw, x.hw, (0, 0, 0, 0), (1, 1), 1))
        return WHOLE_INPUT


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class PixelShuffle(Layer):
    """[h, w, c] -> [h·r, w·r, c / r²] for ``factor`` r (nn.PixelShuffle). Costs nothing."""

    kind: str = "pixel_shuffle"
    factor: int

    def __post_init__(self) -> None:
        _positive("factor", self.factor)

    def out_shape(self, x: Shape) -> Shape:
        h, w = x.hw
        r = self.factor
        if x.c % (r * r):
            raise ConvcalcError(f"factor {r} needs channels divisible by {r * r}, not {x.c}")
        return Shape(h * r, w * r, x.c // (r * r))

    def reach(self, x: Shape, window: Window | None) -> Reaches:
        r = self.factor
        return (Reach((1, r), lambda o: (o // r, o // r)),
                Reach((1, r), lambda o: (o // r, o // r)))


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class SpaceToDepth(Layer):
    """[h, w, c] -> [h / r, w / r, c·r²] for ``factor`` r, each r x r block into channels
    (nn.PixelUnshuffle; Swin's patch merging, YOLO's Focus stem). Costs nothing."""

    kind: str = "space_to_depth"
    factor: int

    def __post_init__(self) -> None:
        _positive("factor", self.factor)

    def out_shape(self, x: Shape) -> Shape:
        h, w = x.hw
        r = self.factor
        if h % r or w % r:
            raise ConvcalcError(f"factor {r} must divide the height and width of {x}")
        return Shape(h // r, w // r, x.c * r * r)

    def window(self, x: Shape) -> Window:
        r = self.factor
        return Window((r, r), (r, r), (0, 0, 0, 0), (1, 1), x.c)
