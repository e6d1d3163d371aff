"""Element-wise ops: activations, Clip, batch norm, Add, Sum, Mul, Sub, Div, Pow, the
unary arithmetic (Sqrt, Erf, Sin, Cos, Exp, Neg, Reciprocal, ...), Identity, Cast.

torch's flop counter counts no MACs for any element-wise op; convcalc's rows keep the kinds that
say what is computed: two network tensors make a merge (add, sub, div, mul), arithmetic with a
scalar and the unary ops make an identity row (a named point that costs nothing)."""

import math
from dataclasses import replace
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_eval import Const
from convcalc.formats.onnx_ops.layouts import aligned
from convcalc.formats.onnx_ops.registry import make, op, optional, scalar
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor, Value, Weight

ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "HardSigmoid": "hardsigmoid",
               "HardSwish": "hardswish", "Tanh": "tanh", "LeakyRelu": "leaky_relu",
               "Elu": "elu", "Gelu": "gelu"}


@op(*ACTIVATIONS)
def activation(node: OnnxNode, env: Env) -> list[Emit]:
    """An element-wise non-linearity -> the activation of the same name."""
    return [Emit(make(ACTIVATIONS[node.op_type]), (env.tensor(node.inputs[0]),))]


@op("Clip")
def clip(node: OnnxNode, env: Env) -> list[Emit]:
    """Clip to [0, 6] -> relu6; to [0, inf) -> relu."""
    x = env.tensor(node.inputs[0])
    low = node.attr("min") if optional(node, 1) == "" else scalar(env.const(node.inputs[1]))
    high = node.attr("max") if optional(node, 2) == "" else scalar(env.const(node.inputs[2]))
    if low == 0 and high == 6:
        return [Emit(make("relu6"), (x,))]
    if low == 0 and (high is None or math.isinf(high)):
        return [Emit(make("relu"), (x,))]
    raise ConvcalcError(f"Clip to [{low}, {high}] is not supported; convcalc knows relu "
                        "(Clip at 0) and relu6 (Clip to [0, 6])")


@op("BatchNormalization")
def batchnorm(node: OnnxNode, env: Env) -> list[Emit]:
    """BatchNormalization -> batchnorm (scale and shift are parameters; the running mean and
    variance are buffers, as in PyTorch)."""
    x, scale = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    if scale.dims != (x.shape.c,):
        raise ConvcalcError(f"scale '{scale.name}' has dims {list(scale.dims)} but the input "
                            f"has {x.shape.c} channels")
    return [Emit(make("batchnorm"), (x,), weights=(scale, env.weight(node.inputs[2])))]


def _channel_vector(value: Value, x: Tensor) -> bool:
    """Whether ``value`` is an initializer of one value per channel of ``x``."""
    if not isinstance(value, Weight) or value.elements != x.shape.c or x.shape.c == 1:
        return False
    squeezed = [d for d in value.dims if d != 1]
    if squeezed != [x.shape.c]:
        return False
    # Per-channel along the ONNX axis that holds the features: [C] or [1, C] channels-last or
    # flat, [C, 1, 1] NCHW.
    rank = len(x.dims())
    if x.view or len(value.dims) > rank:
        return False
    features = x.axes.index(x.shape.rank - 1) - rank
    return len(value.dims) >= -features and value.dims[features] == x.shape.c


def _tensor_and_constant(a: Value, b: Value) -> tuple[Tensor, Value]:
    # The folder takes nodes of two constants, so one of the two is a network tensor.
    return (a, b) if isinstance(a, Tensor) else (b, a)  # type: ignore[return-value]


def _merge(kind: str, a: Tensor, b: Tensor) -> list[Emit]:
    """The merge ``kind`` of two network tensors, one held in the other's order first."""
    rows, x, y = aligned(a, b)
    return [*rows, Emit(make(kind), (x, y))]


def _computed(other: Value, x: Tensor, env: Env) -> bool:
    """Whether ``other`` is a constant that broadcasts to ``x``'s dims without growing them:
    one the graph computed, or an initializer that the rules for parameters (a bias, a layer
    scale, a position embedding) did not take: a buffer, no parameter (YOLO's anchors and
    strides, which the TorchScript exporter folds into constants and the dynamo exporter keeps
    as the buffers they are). Such initializers are recorded in ``env.buffers``, which the
    reader reports in a note: a learned tensor read so would count too few params."""
    if not isinstance(other, Const | Weight):
        return False
    dims, given = x.dims(), other.dims
    if len(given) > len(dims) or not all(
            g in (1, d) for g, d in zip(given[::-1], dims[::-1], strict=False)):
        return False
    if isinstance(other, Weight):
        env.buffers.update((leaf.name, leaf.elements) for leaf in other.leaves())
    return True


@op("Add")
def add(node: OnnxNode, env: Env) -> list[Emit]:
    """Add of two tensors -> add; Add of a per-channel initializer right after a MatMul -> the
    bias of that dense or pointwise layer, right after a Mul by a per-channel initializer (a
    layer_scale) -> batchnorm, the per-channel scale and shift batch norm computes at inference
    (GRN's gamma and beta, a GroupNorm's affine); Add of a scalar constant -> identity."""
    a, b = (env.value(n) for n in node.inputs[:2])
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _merge("add", a, b)
    x, other = _tensor_and_constant(a, b)
    made = env.producer(x)
    alone = env.readers(node.inputs[0 if x is a else 1]) == 1
    if (made is not None and isinstance(other, Weight) and _channel_vector(other, x)
            and made.kind in ("dense", "pointwise") and not getattr(made, "bias", True)
            and alone):
        return [Emit(replace(made, bias=True), replaces=x,  # type: ignore[call-arg]
                     weights=(other,))]
    if (made is not None and made.kind == "layer_scale" and isinstance(other, Weight)
            and _channel_vector(other, x) and alone):
        return [Emit(make("batchnorm"), replaces=x, weights=(other,))]
    if isinstance(other, Weight) and x.shape.is_tokens and x.axes[-2:] == (0, 1) and \
            other.dims[-2:] == x.dims()[-2:] and other.elements == x.shape.elements:
        return [Emit(make("position_embedding"), (x,), weights=(other,))]
    if scalar(other) is not None or _computed(other, x, env):
        return [Emit(make("identity"), (x,))]
    raise ConvcalcError("adds a constant to a tensor; convcalc reads Add of two tensors, of "
                        "a scalar or a computed constant, of a bias right after a MatMul or a "
                        "per-channel Mul, or of a position embedding to tokens")


@op("Sum")
def sum_(node: OnnxNode, env: Env) -> Any:
    """Sum of tensors -> add of them all (one tensor passes on as it is)."""
    tensors = tuple(env.tensor(n) for n in node.inputs)
    if len(tensors) == 1:
        return tensors
    if len({t.axes for t in tensors}) != 1:
        raise ConvcalcError("Sum of tensors held in different orders; convcalc adds tensors of "
                            "one order")
    return [Emit(make("add"), tensors)]


@op("Mul")
def mul(node: OnnxNode, env: Env) -> Any:
    """Mul of two tensors (a gate) -> mul; Mul by a per-channel initializer -> layer_scale;
    Mul by a scalar constant -> identity (no MACs, no params), by exactly 1 -> nothing (what
    TorchScript writes for addcmul's value=1)."""
    a, b = (env.value(n) for n in node.inputs[:2])
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _merge("mul", a, b)
    x, other = _tensor_and_constant(a, b)
    if isinstance(other, Weight) and _channel_vector(other, x):
        return [Emit(make("layer_scale"), (x,), weights=(other,))]
    factor = scalar(other)
    if factor == 1.0 and x.path in env.layers:
        return (x,)
    if factor is not None or _computed(other, x, env):
        return [Emit(make("identity"), (x,))]
    raise ConvcalcError("multiplies a tensor by a constant; convcalc reads Mul of two tensors "
                        "(a gate), by a scalar or a computed constant, or by one value per "
                        "channel (layer scale)")


@op("Sub", "Div", "Pow")
def arithmetic(node: OnnxNode, env: Env) -> list[Emit]:
    """Sub or Div of two tensors -> sub or div (PoolFormer's pool(x) - x, GRN's norm over its
    mean), Pow of two tensors -> mul (one op per output element, as a product); of a tensor and
    a scalar or a computed constant (YOLO's anchors) -> identity, as Add and Mul by a scalar:
    element-wise arithmetic that torch's counter (and convcalc) counts no MACs or params for,
    kept as a named row."""
    a, b = (env.value(n) for n in node.inputs[:2])
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _merge({"Sub": "sub", "Div": "div", "Pow": "mul"}[node.op_type], a, b)
    x, other = _tensor_and_constant(a, b)
    if not isinstance(x, Tensor) or (scalar(other) is None and not _computed(other, x, env)):
        raise ConvcalcError(f"{node.op_type} is read with two tensors, or a tensor and a "
                            "scalar or computed constant")
    return [Emit(make("identity"), (x,))]


UNARY = ("Sqrt", "Erf", "Sin", "Cos", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil")


@op(*UNARY)
def unary(node: OnnxNode, env: Env) -> list[Emit]:
    """Unary arithmetic of a network tensor (Sqrt, Erf, Sin, Cos, Exp, Log, Neg, Abs,
    Reciprocal, Floor, Ceil) -> identity: torch's counter counts no MACs for it, and a named row
    keeps the point in the graph. (On constants these are folded, never read here.)"""
    return [Emit(make("identity"), (env.tensor(node.inputs[0]),))]


@op("Identity", "Dropout", "Cast")
def identity(node: OnnxNode, env: Env) -> tuple[Value, ...]:
    """Identity, Dropout at inference and a Cast of a network tensor (counts do not depend on
    the number type): the input passes on as it is, no layer."""
    return (env.value(node.inputs[0]),)
