"""Element-wise kinds and merges: activations, dropout, identity, and add / sub / mul / div /
concat / shortcut over several inputs. The arithmetic merges broadcast as torch does, dims
aligned from the last (the features)."""

from dataclasses import dataclass
from typing import ClassVar

from convcalc.errors import ConvcalcError
from convcalc.graph.layers.base import BROADCAST_RULE, Layer, Merge, Plan, _axis, broadcast
from convcalc.graph.layers.convolution import Conv
from convcalc.graph.layers.normalization import BatchNorm
from convcalc.graph.shapes import Shape
from convcalc.limits import MAX_DIM

ACTIVATION_OPS = {
    "relu": 1, "relu6": 1, "leaky_relu": 1, "elu": 1, "gelu": 1, "silu": 1, "sigmoid": 1,
    "tanh": 1, "hardswish": 1, "hardsigmoid": 1, "softmax": 3,
}


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Activation(Layer):
    """An element-wise non-linearity named by its kind (relu, relu6, sigmoid, ...)."""

    def other_ops(self, x: Shape) -> int:
        return ACTIVATION_OPS[self.kind] * x.elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Dropout(Layer):
    """Dropout: the identity at inference."""

    kind: str = "dropout"
    view: ClassVar[bool] = True
    p: float = 0.5

    def __post_init__(self) -> None:
        if not 0 <= self.p < 1:
            raise ConvcalcError(f"p {self.p} must be at least 0 and below 1")


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class StochasticDepth(Layer):
    """Stochastic depth (drop path, EfficientNet and ConvNeXt): the identity at inference."""

    kind: str = "stochastic_depth"
    view: ClassVar[bool] = True
    p: float = 0.0
    mode: str = "row"

    def __post_init__(self) -> None:
        if not 0 <= self.p < 1:
            raise ConvcalcError(f"p {self.p} must be at least 0 and below 1")
        if self.mode not in ("row", "batch"):
            raise ConvcalcError(f"mode '{self.mode}' must be 'row' or 'batch'")


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Identity(Layer):
    """The identity (nn.Identity): a named point in the graph; costs nothing."""

    kind: str = "identity"
    view: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Add(Merge):
    """Element-wise sum of equal shapes (a residual connection); other_ops = (n - 1) additions
    per element for n inputs. ``optional`` (the residual shortcut 'if_same') passes the first
    input on unchanged, with no row, when the shapes differ (MobileNetV2)."""

    kind: str = "add"
    optional: bool = False

    yaml_hidden: ClassVar = ("optional",)

    def resolve(self, inputs: tuple[Shape, ...]) -> Plan:
        if self.optional and any(s != inputs[0] for s in inputs):
            return 0
        return None

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        out = broadcast(inputs)
        if out is None:
            first, other = _mismatch(inputs)
            raise ConvcalcError(
                f"cannot add {first} and {other}: shapes differ; use 'shortcut: projection' "
                f"or make the main path keep the shape (add takes {BROADCAST_RULE})"
            )
        return out

    def other_ops(self, inputs: tuple[Shape, ...]) -> int:
        return (len(inputs) - 1) * self.out_shape(inputs).elements


def _mismatch(inputs: tuple[Shape, ...]) -> tuple[Shape, Shape]:
    """The first input and the first other input it does not broadcast with."""
    return inputs[0], next(s for s in inputs[1:] if broadcast((inputs[0], s)) is None)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Mul(Merge):
    """Element-wise product (squeeze-and-excitation's gate, spatial attention): equal shapes or
    shapes that broadcast, such as a 1x1xC gate or an HxWx1 map onto HxWxC, in either order;
    other_ops = (n - 1) multiplies per output element."""

    kind: str = "mul"

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        out = broadcast(inputs)
        if out is None:
            first, other = _mismatch(inputs)
            gates = (f"a 1x1x{first.c} gate or a {first.h}x{first.w}x1 map" if first.is_image
                     else f"a {first.c}-vector")
            raise ConvcalcError(f"cannot multiply {first} by {other}: mul takes equal shapes, "
                                f"{gates}, or other {BROADCAST_RULE}")
        return out

    def other_ops(self, inputs: tuple[Shape, ...]) -> int:
        return (len(inputs) - 1) * self.out_shape(inputs).elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Sub(Merge):
    """Element-wise difference of two tensors (a - b, kind 'sub') or quotient (a / b, kind
    'div'), broadcast as in torch; other_ops = 1 per output element."""

    kind: str = "sub"
    max_inputs: ClassVar[int] = 2

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        out = broadcast(inputs)
        if out is None:
            raise ConvcalcError(f"cannot {'subtract' if self.kind == 'sub' else 'divide'} "
                                f"{inputs[0]} and {inputs[1]}: {self.kind} takes "
                                f"{BROADCAST_RULE}")
        return out

    def other_ops(self, inputs: tuple[Shape, ...]) -> int:
        return self.out_shape(inputs).elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Concat(Merge):
    """Concatenation along one ``axis``, the channels (features) by default (the Inception
    module, DenseNet); every other dim must agree. Costs nothing."""

    kind: str = "concat"
    axis: int = -1

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        first = inputs[0]
        axis = _axis(self.axis, first.rank)
        for other in inputs[1:]:
            if other.rank != first.rank or any(
                    a != b for i, (a, b) in enumerate(zip(first.dims, other.dims, strict=True))
                    if i != axis):
                if first.is_image and other.is_image and axis == 2:
                    raise ConvcalcError(
                        f"cannot concatenate {first} and {other}: height and width differ; "
                        "give every branch the same stride and 'same' padding")
                raise ConvcalcError(f"cannot concatenate {first} and {other} along axis "
                                    f"{self.axis}: the other dims differ")
        size = sum(s.dims[axis] for s in inputs)
        if size > MAX_DIM:
            what = "channels" if axis == first.rank - 1 else f"along axis {self.axis}"
            raise ConvcalcError(f"concatenates {size:,} {what}, more than {MAX_DIM:,}")
        return Shape(*first.dims[:axis], size, *first.dims[axis + 1:])


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Shortcut(Merge):
    """A residual's shortcut onto the main path's output: reads (x, main) and passes x on when
    ``mode`` is 'auto' and the shapes agree; otherwise torchvision's downsample, a strided 1x1
    convolution (with ``bias``) onto main's shape, then batch norm when ``norm`` (rows
    PATH.0 and PATH.1). The loader creates it for 'shortcut: auto' and 'projection'."""

    kind: str = "shortcut"
    mode: str = "auto"
    bias: bool = True
    norm: bool = True

    def resolve(self, inputs: tuple[Shape, ...]) -> Plan:
        x, y = inputs
        if self.mode == "auto" and x == y:
            return 0
        (h, w), (oh, ow) = x.hw, y.hw
        stride = (-(-h // oh), -(-w // ow))
        if ((h - 1) // stride[0] + 1, (w - 1) // stride[1] + 1) != (oh, ow):
            raise ConvcalcError(
                f"no strided 1x1 projection maps {x} onto {y}; write the shortcut's layers "
                "under 'shortcut:'")
        conv = Conv(filters=y.c, kernel=(1, 1), stride=stride, bias=self.bias)
        return (("0", conv), ("1", BatchNorm())) if self.norm else (("0", conv),)
