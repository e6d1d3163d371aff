"""What every layer kind shares: the ``Layer`` and ``Merge`` bases, their ``Cost`` and ``Window``,
the reach records for the receptive field, and the argument checks the kinds use."""

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar, NamedTuple

from convcalc.errors import ConvcalcError
from convcalc.graph.shapes import Pads, Pair, Shape
from convcalc.limits import MAX_DIM

Padding = int | str | tuple[int, ...]


FloatPair = tuple[float, float]


Sections = int | tuple[int, ...]


Dims = tuple[int, ...]  # a list of dims or axes: reshape's shape, transpose's perm


# How the width multiplier treats a layer's `filters`: True scales it, False keeps it, "up"
# scales it only for multipliers above 1 (MobileNetV2's last 1280-channel convolution).
WidthScale = bool | str


@dataclass(frozen=True)
class Window:
    """The sliding-window geometry of a layer at one input size (what the table summarises)."""

    kernel: Pair
    stride: Pair
    padding: Pads
    dilation: Pair
    groups: int


def _positive(name: str, value: int | Pair, limit: int = MAX_DIM) -> None:
    for v in value if isinstance(value, tuple) else (value,):
        if not 1 <= v <= limit:
            raise ConvcalcError(f"{name} {v} must be between 1 and {limit:,}")


def _axis(axis: int, rank: int, name: str = "axis") -> int:
    """``axis`` of a rank-``rank`` tensor counted from 0 (a negative one from the end)."""
    if not -rank <= axis < rank:
        raise ConvcalcError(f"{name} {axis} is outside the {rank} dims of the input "
                            f"(from {-rank} to {rank - 1})")
    return axis % rank


def broadcast(shapes: "tuple[Shape, ...]") -> Shape | None:
    """The shape numpy and torch broadcast these to, dims aligned from the last (features):
    each dim equal to the others' or 1; None when they do not broadcast."""
    rank = max(s.rank for s in shapes)
    out = [1] * rank
    for s in shapes:
        for i, d in enumerate(s.dims, rank - s.rank):
            if d != out[i] and d != 1 and out[i] != 1:
                return None
            out[i] = max(out[i], d)
    return Shape(*out)


BROADCAST_RULE = "shapes that broadcast as in torch (each dim, aligned from the last, equal or 1)"


def _non_negative_padding(padding: Padding) -> None:
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ConvcalcError(f"padding '{padding}' must be a number, 'same' or 'valid'")
        return
    values = padding if isinstance(padding, tuple) else (padding,)
    if len(values) not in (1, 2, 4) or any(not 0 <= v <= MAX_DIM for v in values):
        raise ConvcalcError(
            f"padding {list(values) if isinstance(padding, tuple) else padding} must be one "
            "number, [h, w] or [top, bottom, left, right], each between 0 and "
            f"{MAX_DIM:,}, or 'same' / 'valid'"
        )


class Reach(NamedTuple):
    """Which input positions one output position reads along one axis, away from the borders:
    ``reads(o)`` = (first, last), and the input advances ``step`` = (num, den), num/den
    positions, per output position, so reads(o + k) = reads(o) + k * num/den whenever that is
    whole and k a multiple of ``period`` (above 1 for attention in windows, whose positions
    read their whole window). The receptive field (receptive.py) follows these."""

    step: Pair
    reads: Callable[[int], Pair]
    period: int = 1


Reaches = tuple[Reach, Reach]  # along the height, then the width

# The reach of a layer whose every output position reads every position of a tensor that has
# no height and width (attention over tokens): the analysis gives it the whole network input.
WHOLE_INPUT: Reaches = (Reach((0, 1), lambda o: (0, 0)), Reach((0, 1), lambda o: (0, 0)))


def _all_positions_reach(hw: Pair) -> Reaches:
    """Every output position reads every position of an h x w input."""
    h, w = hw
    return Reach((0, 1), lambda o: (0, h - 1)), Reach((0, 1), lambda o: (0, w - 1))


def _window_reach(window: Window) -> Reaches:
    """A sliding window's reach: o reads o*s - p .. o*s - p + d(f - 1)."""
    def axis(f: int, s: int, p: int, d: int) -> Reach:
        return Reach((s, 1), lambda o: (o * s - p, o * s - p + d * (f - 1)))

    (fh, fw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    return axis(fh, sh, window.padding[0], dh), axis(fw, sw, window.padding[2], dw)


def _shift_reach(top: int, left: int) -> Reaches:
    """Output position o reads input position o + offset (a crop; minus a padding)."""
    return (Reach((1, 1), lambda o: (o + top, o + top)),
            Reach((1, 1), lambda o: (o + left, o + left)))


class Cost(NamedTuple):
    """What one layer produces and costs at given input shapes (one row of the table), and
    which input positions each output position reads (None: the same one)."""

    output: Shape
    window: Window | None
    params: int
    macs: int
    other_ops: int
    reach: Reaches | None


class _Value:
    """Equality, hashing and repr over a kind's fields, as a dataclass would generate them,
    written once: the kinds are declared with ``repr=False, eq=False`` and inherit these,
    because compiling the three methods anew for each of some thirty kinds took 7% of the
    instructions of ``convcalc analyze resnet50``."""

    __slots__ = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        values = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                           for f in fields(self))  # type: ignore[arg-type]
        return f"{type(self).__qualname__}({values})"


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Layer(_Value):
    """A layer with one input. Defaults: shape kept, nothing counted. ``view`` marks a layer
    that moves no data at inference (a view of its input, or its input passed on)."""

    kind: str
    view: ClassVar[bool] = False

    def out_shape(self, x: Shape) -> Shape:
        return x

    def params(self, x: Shape) -> int:
        return 0

    def macs(self, x: Shape) -> int:
        return 0

    def other_ops(self, x: Shape) -> int:
        return 0

    def window(self, x: Shape) -> Window | None:
        """Kernel, stride and padding at this input, for windowed layers only."""
        return None

    def reach(self, x: Shape, window: Window | None) -> Reaches | None:
        """Which input positions each output position reads (see ``Reach``): a windowed
        layer's window; None, the default, for a layer that keeps positions."""
        return None if window is None else _window_reach(window)

    def cost(self, inputs: tuple[Shape, ...]) -> Cost:
        """The adapter the analysis calls on every node: this layer at its one input."""
        if len(inputs) != 1:
            raise ConvcalcError(f"reads one tensor, not {len(inputs)}; only add, mul, concat "
                                "and upsample read several")
        x = inputs[0]
        window = self.window(x)
        return Cost(self.out_shape(x), window, self.params(x), self.macs(x), self.other_ops(x),
                    self.reach(x, window))

    def resolve(self, inputs: tuple[Shape, ...]) -> "Plan":
        """What the node computes at these input shapes: None for the layer itself (the
        default); the index of an input the node passes on unchanged (no row); or single-input
        layers with path suffixes, applied in turn to the first input (rows PATH.suffix).
        Layers that decide by shape (a residual's projection, formulas over ``in``) use it."""
        return None


Plan = int | tuple[tuple[str, Layer], ...] | None


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Merge(_Value):
    """A layer that reads several tensors (``min_inputs`` or more); its methods take all of
    their shapes, in the order of the node's inputs."""

    kind: str
    view: ClassVar[bool] = False
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int] = 1 << 30

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        raise NotImplementedError

    def params(self, inputs: tuple[Shape, ...]) -> int:
        return 0

    def macs(self, inputs: tuple[Shape, ...]) -> int:
        return 0

    def other_ops(self, inputs: tuple[Shape, ...]) -> int:
        return 0

    def cost(self, inputs: tuple[Shape, ...]) -> Cost:
        """The adapter the analysis calls on every node: this merge at all its inputs."""
        if not self.min_inputs <= len(inputs) <= self.max_inputs:
            wanted = (f"{self.min_inputs}" if self.min_inputs == self.max_inputs else
                      f"{self.min_inputs} or {self.max_inputs}"
                      if self.max_inputs == self.min_inputs + 1 else
                      f"at least {self.min_inputs}")
            raise ConvcalcError(f"reads {wanted} tensors, not {len(inputs)}; list them "
                                "with 'from: [a, b]'")
        return Cost(self.out_shape(inputs), None, self.params(inputs), self.macs(inputs),
                    self.other_ops(inputs), self.reach(inputs))

    def reach(self, inputs: tuple[Shape, ...]) -> Reaches | None:
        """None, the default: every input is read position by position (a 1x1 gate or a
        flat vector everywhere). A merge that reads only its first input's values (the others
        give a size) says which of its positions each output position reads."""
        return None

    def resolve(self, inputs: tuple[Shape, ...]) -> Plan:
        """What the node computes at these input shapes (see ``Layer.resolve``)."""
        return None


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Deferred(Layer):
    """A layer whose settings read tensor shapes (``in.c``): ``build`` makes the layer parts
    (path suffix, layer) from the shapes of the node's inputs, the first being its data input;
    the loader creates it. ``kind`` is the kind it builds."""

    build: Callable[[tuple[Shape, ...]], tuple[tuple[str, Layer], ...]]

    def resolve(self, inputs: tuple[Shape, ...]) -> Plan:
        return self.build(inputs)
