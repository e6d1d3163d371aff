"""Element-wise ops: activations, Clip, batch and layer norm, Add, Sum, Mul, Sub, Div, Pow, the
unary arithmetic (Sqrt, Erf, Sin, Cos, Exp, Neg, Reciprocal, ...), Expand, Identity, Cast.

torch's flop counter counts no MACs for any element-wise op; convcalc's rows keep the kinds that
say what is computed: two network tensors make a merge (add, sub, div, mul), arithmetic with a
scalar and the unary ops make an identity row (a named point that costs nothing)."""

import math
from dataclasses import replace
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_ops.registry import make, op, optional, scalar
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor, Value, Weight

ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "HardSigmoid": "hardsigmoid",
               "HardSwish": "hardswish", "Tanh": "tanh", "LeakyRelu": "leaky_relu",
               "Elu": "elu", "Gelu": "gelu", "Softmax": "softmax"}


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


@op("LayerNormalization")
def layernorm(node: OnnxNode, env: Env) -> list[Emit]:
    """LayerNormalization over the last axis of a channels-last tensor or a flat vector
    -> layernorm over channels (without a bias input: layernorm without affine, then a
    layer_scale for the scale)."""
    x, scale = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    rank = len(x.dims())
    if int(node.attr("axis", -1)) % rank != rank - 1 or x.layout not in ("nhwc", "nchw") or (
            x.layout == "nchw" and not x.shape.is_flat):
        raise ConvcalcError(f"LayerNormalization over axis {node.attr('axis', -1)} of a tensor "
                            f"with dims {list(x.dims())}; convcalc normalizes over channels "
                            "(the last axis of a channels-last tensor)")
    if scale.dims != (x.shape.c,):
        raise ConvcalcError(f"scale '{scale.name}' has dims {list(scale.dims)}, not "
                            f"[{x.shape.c}]")
    eps = float(node.attr("epsilon", 1e-5))
    if optional(node, 2):
        return [Emit(make("layernorm", eps=eps), (x,),
                     weights=(scale, env.weight(node.inputs[2])))]
    # A scale without a shift: normalize, then one factor per channel (c parameters).
    return [Emit(make("layernorm", eps=eps, affine=False), (x,)),
            Emit(make("layer_scale"), suffix="scale", weights=(scale,))]


def _channel_vector(value: Value, x: Tensor) -> bool:
    """Whether ``value`` is an initializer of one value per channel of ``x``."""
    if not isinstance(value, Weight) or value.elements != x.shape.c or x.shape.c == 1:
        return False
    squeezed = [d for d in value.dims if d != 1]
    if squeezed != [x.shape.c]:
        return False
    # Per-channel along the right axis: [C] or [1, C] channels-last or flat, [C, 1, 1] NCHW.
    if x.layout == "nhwc" or x.shape.is_flat:
        return value.dims[-1] == x.shape.c
    return len(value.dims) >= 3 and value.dims[-3] == x.shape.c


def _tensor_and_constant(a: Value, b: Value) -> tuple[Tensor, Value]:
    # The folder takes nodes of two constants, so one of the two is a network tensor.
    return (a, b) if isinstance(a, Tensor) else (b, a)  # type: ignore[return-value]


def _merge(kind: str, node: OnnxNode, a: Tensor, b: Tensor) -> list[Emit]:
    """The merge ``kind`` of two network tensors, which must be in the same layout (both
    NCHW, or both channels-last) for ONNX's broadcast to be convcalc's."""
    if a.layout != b.layout or a.layout not in ("nchw", "nhwc"):
        raise ConvcalcError(f"{node.op_type} of tensors with dims {list(a.dims())} and "
                            f"{list(b.dims())}; convcalc reads two NCHW or two channels-last "
                            "tensors")
    return [Emit(make(kind), (a, b))]


@op("Add")
def add(node: OnnxNode, env: Env) -> list[Emit]:
    """Add of two tensors -> add; Add of a per-channel initializer right after a MatMul -> the
    bias of that dense or pointwise layer, right after a Mul by a per-channel initializer (a
    layer_scale) -> batchnorm, the per-channel scale and shift batch norm computes at inference
    (GRN's gamma and beta, a GroupNorm's affine); Add of a scalar constant -> identity."""
    a, b = (env.value(n) for n in node.inputs[:2])
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _merge("add", node, a, b)
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
    if scalar(other) is not None:
        return [Emit(make("identity"), (x,))]
    raise ConvcalcError("adds a constant to a tensor; convcalc reads Add of two tensors, of "
                        "a scalar, or of a bias right after a MatMul or a per-channel Mul")


@op("Sum")
def sum_(node: OnnxNode, env: Env) -> Any:
    """Sum of tensors -> add of them all (one tensor passes on as it is)."""
    tensors = tuple(env.tensor(n) for n in node.inputs)
    if len(tensors) == 1:
        return tensors
    if len({t.layout for t in tensors}) != 1:
        raise ConvcalcError("Sum of tensors in different layouts; convcalc adds tensors of one "
                            "layout")
    return [Emit(make("add"), tensors)]


@op("Mul")
def mul(node: OnnxNode, env: Env) -> Any:
    """Mul of two tensors (a gate) -> mul; Mul by a per-channel initializer -> layer_scale;
    Mul by a scalar constant -> identity (no MACs, no params), by exactly 1 -> nothing (what
    TorchScript writes for addcmul's value=1)."""
    a, b = (env.value(n) for n in node.inputs[:2])
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _merge("mul", node, a, b)
    x, other = _tensor_and_constant(a, b)
    if isinstance(other, Weight) and _channel_vector(other, x):
        return [Emit(make("layer_scale"), (x,), weights=(other,))]
    factor = scalar(other)
    if factor == 1.0 and x.path in env.layers:
        return (x,)
    if factor is not None:
        return [Emit(make("identity"), (x,))]
    raise ConvcalcError("multiplies a tensor by a constant; convcalc reads Mul of two tensors "
                        "(a gate), by a scalar, or by one value per channel (layer scale)")


@op("Sub", "Div", "Pow")
def arithmetic(node: OnnxNode, env: Env) -> list[Emit]:
    """Sub or Div of two tensors -> sub or div (PoolFormer's pool(x) - x, GRN's norm over its
    mean), Pow of two tensors -> mul (one op per output element, as a product); of a tensor and
    a scalar constant -> identity, as Add and Mul by a scalar: element-wise arithmetic that
    torch's counter (and convcalc) counts no MACs or params for, kept as a named row."""
    a, b = (env.value(n) for n in node.inputs[:2])
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _merge({"Sub": "sub", "Div": "div", "Pow": "mul"}[node.op_type], node, a, b)
    x, other = _tensor_and_constant(a, b)
    if not isinstance(x, Tensor) or scalar(other) is None:
        raise ConvcalcError(f"{node.op_type} is read with two tensors, or a tensor and a "
                            "scalar constant")
    return [Emit(make("identity"), (x,))]


UNARY = ("Sqrt", "Erf", "Sin", "Cos", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil")


@op(*UNARY)
def unary(node: OnnxNode, env: Env) -> list[Emit]:
    """Unary arithmetic of a network tensor (Sqrt, Erf, Sin, Cos, Exp, Log, Neg, Abs,
    Reciprocal, Floor, Ceil) -> identity: torch's counter counts no MACs for it, and a named row
    keeps the point in the graph. (On constants these are folded, never read here.)"""
    return [Emit(make("identity"), (env.tensor(node.inputs[0]),))]


@op("Expand")
def expand(node: OnnxNode, env: Env) -> Any:
    """Expand of a network tensor: to its own dims (or dims of 1 it broadcasts over) -> nothing;
    a 1x1 NCHW map expanded over height and width -> upsample (nearest, which costs nothing, as
    torch's expand: a view)."""
    x = env.tensor(node.inputs[0])
    dims = list(x.dims())
    target = env.dims_to(node.inputs[1], node.outputs[0])
    if len(target) > len(dims) or any(t not in (1, d) and d != 1 for t, d in
                                       zip(target[::-1], dims[::-1], strict=False)):
        raise ConvcalcError(f"Expand of dims {dims} to {target} is not a broadcast that keeps "
                            "the tensor's rank")
    out = [max(t, d) for t, d in zip([1] * (len(dims) - len(target)) + target, dims,
                                     strict=True)]
    if out == dims:
        return (x,)
    if x.layout == "nchw" and len(dims) == 4 and out[:2] == dims[:2] and dims[2:] == [1, 1]:
        return [Emit(make("upsample", size=(out[2], out[3])), (x,))]
    raise ConvcalcError(f"Expand of dims {dims} to {target} is not supported; convcalc reads "
                        "a 1x1 NCHW map expanded over height and width")


@op("Identity", "Dropout", "Cast")
def identity(node: OnnxNode, env: Env) -> tuple[Value, ...]:
    """Identity, Dropout at inference and a Cast of a network tensor (counts do not depend on
    the number type): the input passes on as it is, no layer."""
    return (env.value(node.inputs[0]),)
