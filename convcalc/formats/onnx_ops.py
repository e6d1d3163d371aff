"""ONNX ops -> convcalc layers: the one place to add an ONNX op.

Anchor: onnx2torch's converter registry (one ``@op(op_type)`` handler per op family). A handler
is a small function of one node and the values of its inputs (``Env``) that returns either the
convcalc layers the node computes (a list of ``Emit``) or, for ops that compute nothing (a
Transpose to channels-last, an Identity, the first half of a channel shuffle), the values of its
outputs. Counting follows the layers, so MACs are PyTorch's ``FlopCounterMode`` // 2 for the
model that was exported.

Plumbing (Shape, Gather, Unsqueeze, Concat of shapes, Cast, Constant, ...) never reaches a
handler: a node whose inputs are all constants, or the Shape of a network tensor, is evaluated
once by ``fold`` into a constant (batch 1, the input size the model is read at).
"""

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_eval import (
    ELEMENTWISE,
    OPS,
    Const,
    Evaluator,
    const_of,
    output_dims,
    reshaped,
)
from convcalc.formats.onnx_proto import TensorProto
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor, Value, Weight
from convcalc.graph.layers import LAYER_KINDS, Layer, Merge

Handler = Callable[[OnnxNode, Env], Any]
HANDLERS: dict[str, Handler] = {}


def op(*op_types: str) -> Callable[[Handler], Handler]:
    """Register a handler for these ONNX op types."""
    def register(handler: Handler) -> Handler:
        for t in op_types:
            HANDLERS[t] = handler
        return handler
    return register


def make(kind: str, **fields: Any) -> Layer | Merge:
    """The convcalc layer of ``kind`` with these fields (its YAML keys)."""
    cls = LAYER_KINDS.get(kind)
    if cls is None:
        raise ConvcalcError(f"needs the layer kind '{kind}', which this convcalc does not have")
    return cls(kind=kind, **fields)


def _pair(values: Any, default: int, what: str) -> tuple[int, int]:
    values = list(values) if values is not None else [default, default]
    if len(values) != 2:
        raise ConvcalcError(f"{what} {values} must have two values (a 2-D op)")
    return int(values[0]), int(values[1])


def _padding(node: OnnxNode, x: Tensor, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int]) -> int | tuple[int, ...]:
    """ONNX pads [top, left, bottom, right] or auto_pad as convcalc's padding: one number,
    [h, w] or [top, bottom, left, right]."""
    auto = node.attr("auto_pad", "NOTSET")
    if auto == "VALID":
        return 0
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        sides = []
        for n, k, s, d in zip(x.shape.hw, kernel, stride, dilation, strict=True):
            total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
            small, big = total // 2, total - total // 2
            sides += [small, big] if auto == "SAME_UPPER" else [big, small]
        top, bottom, left, right = sides
    elif auto == "NOTSET":
        pads = [int(p) for p in node.attr("pads", [0, 0, 0, 0])]
        if len(pads) != 4 or min(pads) < 0:
            raise ConvcalcError(f"pads {pads} must be four values of at least 0 (2-D)")
        top, left, bottom, right = pads
    else:
        raise ConvcalcError(f"auto_pad '{auto}' must be NOTSET, VALID, SAME_UPPER or SAME_LOWER")
    if top == bottom and left == right:
        return top if top == left else (top, left)
    return (top, bottom, left, right)


def _optional(node: OnnxNode, index: int) -> str:
    return node.inputs[index] if len(node.inputs) > index else ""


# -- convolutions and dense layers ----------------------------------------------------------

def _conv_operands(node: OnnxNode, env: Env,
                   what: str) -> tuple[Tensor, Weight, bool, tuple[Weight, ...]]:
    """(input, weight, has bias, the weights it counts) of a Conv or ConvTranspose node, whose
    weight must be 4-D."""
    x, w = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    bias = bool(_optional(node, 2))
    if len(w.dims) != 4:
        raise ConvcalcError(f"weight '{w.name}' has dims {list(w.dims)}; convcalc reads 2-D "
                            f"{what} (4-D weights)")
    return x, w, bias, (w, env.weight(node.inputs[2])) if bias else (w,)


@op("Conv")
def conv(node: OnnxNode, env: Env) -> list[Emit]:
    """Conv -> conv, or depthwise (groups = input channels) or pointwise (1x1, no padding)."""
    x, w, bias, weights = _conv_operands(node, env, "convolutions")
    filters, per_group, kh, kw = w.dims
    groups = int(node.attr("group", 1))
    if groups < 1 or per_group * groups != x.shape.c:
        raise ConvcalcError(f"weight '{w.name}' has {per_group} input channels per group with "
                            f"group={groups}, but the input has {x.shape.c} channels")
    stride = _pair(node.attr("strides"), 1, "strides")
    dilation = _pair(node.attr("dilations"), 1, "dilations")
    padding = _padding(node, x, (kh, kw), stride, dilation)
    layer: Layer | Merge
    if groups > 1 and groups == x.shape.c and filters % groups == 0:
        layer = make("depthwise", kernel=(kh, kw), stride=stride, padding=padding,
                     dilation=dilation, multiplier=filters // groups, bias=bias)
    elif (kh, kw) == (1, 1) and padding == 0:
        layer = make("pointwise", filters=filters, stride=stride, groups=groups, bias=bias)
    else:
        layer = make("conv", filters=filters, kernel=(kh, kw), stride=stride, padding=padding,
                     dilation=dilation, groups=groups, bias=bias)
    return [Emit(layer, (x,), weights=weights)]


@op("ConvTranspose")
def conv_transpose(node: OnnxNode, env: Env) -> list[Emit]:
    """ConvTranspose -> conv_transpose (PyTorch's ConvTranspose2d)."""
    x, w, bias, weights = _conv_operands(node, env, "transposed convolutions")
    in_channels, per_group, kh, kw = w.dims
    groups = int(node.attr("group", 1))
    if in_channels != x.shape.c or groups < 1 or in_channels % groups:
        raise ConvcalcError(f"weight '{w.name}' is for {in_channels} input channels in "
                            f"{groups} groups, but the input has {x.shape.c} channels")
    stride = _pair(node.attr("strides"), 1, "strides")
    dilation = _pair(node.attr("dilations"), 1, "dilations")
    if node.attr("auto_pad", "NOTSET") != "NOTSET":
        raise ConvcalcError("auto_pad is not supported for ConvTranspose; export with pads")
    pads = [int(p) for p in node.attr("pads", [0, 0, 0, 0])]
    if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3] or min(pads) < 0:
        raise ConvcalcError(f"pads {pads} must be symmetric (PyTorch's ConvTranspose2d)")
    extra = _pair(node.attr("output_padding"), 0, "output_padding")
    if node.attr("output_shape") is not None:
        target = [int(v) for v in node.attr("output_shape")][-2:]
        extra = tuple(
            t - ((n - 1) * s - 2 * p + d * (k - 1) + 1)
            for t, n, s, p, d, k in zip(target, x.shape.hw, stride, pads[:2], dilation,
                                        (kh, kw), strict=True))
    return [Emit(make("conv_transpose", filters=per_group * groups, kernel=(kh, kw),
                      stride=stride, padding=(pads[0], pads[1]), output_padding=extra,
                      dilation=dilation, groups=groups, bias=bias), (x,), weights=weights)]


@op("Gemm")
def gemm(node: OnnxNode, env: Env) -> list[Emit]:
    """Gemm (a PyTorch Linear on a flat vector) -> dense."""
    x, w = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    if node.attr("transA", 0):
        raise ConvcalcError("transA=1 is not supported: the input must be the batch of one")
    if len(w.dims) != 2:
        raise ConvcalcError(f"weight '{w.name}' has dims {list(w.dims)}; Gemm needs 2-D")
    inputs, units = w.dims[::-1] if node.attr("transB", 0) else w.dims
    bias = bool(_optional(node, 2))
    weights = (w, env.weight(node.inputs[2])) if bias else (w,)
    return [Emit(_dense(x, inputs, units, bias=bias), (x,), weights=weights)]


@op("MatMul")
def matmul(node: OnnxNode, env: Env) -> list[Emit]:
    """MatMul by a 2-D weight: dense on a flat vector, or a pointwise convolution on a
    channels-last tensor (ConvNeXt's Linear layers). A bias comes from the Add after it."""
    x, w = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    if len(w.dims) != 2:
        raise ConvcalcError(f"MatMul by '{w.name}' with dims {list(w.dims)}; convcalc reads "
                            "MatMul by a 2-D weight (a linear layer)")
    inputs, units = w.dims
    if x.layout == "nhwc":
        if inputs != x.shape.c:
            raise ConvcalcError(f"weight '{w.name}' has {inputs} rows but the input has "
                                f"{x.shape.c} channels")
        return [Emit(make("pointwise", filters=units, bias=False), (x,), weights=(w,))]
    if x.layout != "nchw" or not x.shape.is_flat:
        raise ConvcalcError(f"MatMul on a tensor of dims {list(x.dims())}; convcalc reads "
                            "MatMul on a flat vector or over the channels of a channels-last "
                            "tensor")
    return [Emit(_dense(x, inputs, units, bias=False), (x,), weights=(w,))]


def _dense(x: Tensor, inputs: int, units: int, bias: bool) -> Layer | Merge:
    if not x.shape.is_flat or x.shape.c != inputs:
        raise ConvcalcError(f"the weight takes {inputs} values but the input has dims "
                            f"{list(x.dims())}")
    return make("dense", units=units, bias=bias)


# -- element-wise ----------------------------------------------------------------------------

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
    low = node.attr("min") if _optional(node, 1) == "" else _scalar(env.const(node.inputs[1]))
    high = node.attr("max") if _optional(node, 2) == "" else _scalar(env.const(node.inputs[2]))
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
    if _optional(node, 2):
        return [Emit(make("layernorm", eps=eps), (x,),
                     weights=(scale, env.weight(node.inputs[2])))]
    # A scale without a shift: normalize, then one factor per channel (c parameters).
    return [Emit(make("layernorm", eps=eps, affine=False), (x,)),
            Emit(make("layer_scale"), suffix="scale", weights=(scale,))]


def _scalar(value: Value | TensorProto) -> float | None:
    if isinstance(value, TensorProto):
        value = const_of(value)
    if isinstance(value, Weight):
        value = value.value
    return value.scalar() if isinstance(value, Const) else None


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


@op("Add")
def add(node: OnnxNode, env: Env) -> list[Emit]:
    """Add of two tensors -> add; Add of a per-channel initializer right after a MatMul -> the
    bias of that dense or pointwise layer; Add of a scalar constant -> identity."""
    a, b = (env.value(n) for n in node.inputs[:2])
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return [Emit(make("add"), (a, b))]
    x, other = _tensor_and_constant(a, b)
    made = env.producer(x)
    if (made is not None and isinstance(other, Weight) and _channel_vector(other, x)
            and made.kind in ("dense", "pointwise") and not getattr(made, "bias", True)
            and env.readers(node.inputs[0 if x is a else 1]) == 1):
        return [Emit(replace(made, bias=True), replaces=x,  # type: ignore[call-arg]
                     weights=(other,))]
    if _scalar(other) is not None:
        return [Emit(make("identity"), (x,))]
    raise ConvcalcError("adds a constant to a tensor; convcalc reads Add of two tensors, of "
                        "a scalar, or of a bias right after a MatMul")


@op("Mul")
def mul(node: OnnxNode, env: Env) -> list[Emit]:
    """Mul of two tensors (a gate) -> mul; Mul by a per-channel initializer -> layer_scale;
    Mul by a scalar constant -> identity (no MACs, no params)."""
    a, b = (env.value(n) for n in node.inputs[:2])
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return [Emit(make("mul"), (a, b))]
    x, other = _tensor_and_constant(a, b)
    if isinstance(other, Weight) and _channel_vector(other, x):
        return [Emit(make("layer_scale"), (x,), weights=(other,))]
    if _scalar(other) is not None:
        return [Emit(make("identity"), (x,))]
    raise ConvcalcError("multiplies a tensor by a constant; convcalc reads Mul of two tensors "
                        "(a gate), by a scalar, or by one value per channel (layer scale)")


@op("Sub", "Div")
def scalar_arithmetic(node: OnnxNode, env: Env) -> list[Emit]:
    """Sub or Div of a tensor and a scalar constant -> identity, as Add and Mul by a scalar:
    element-wise arithmetic that torch's counter (and convcalc) counts no MACs or params for,
    kept as a named row."""
    x, other = _tensor_and_constant(*(env.value(n) for n in node.inputs[:2]))
    if not isinstance(x, Tensor) or isinstance(other, Tensor) or _scalar(other) is None:
        raise ConvcalcError(f"{node.op_type} is read with a tensor and a scalar constant only")
    return [Emit(make("identity"), (x,))]


@op("Identity", "Dropout")
def identity(node: OnnxNode, env: Env) -> tuple[Value, ...]:
    """Identity, and Dropout at inference: the input passes on as it is, no layer (a tensor,
    a constant, or an initializer: TorchScript shares equal initializers through Identity)."""
    return (env.value(node.inputs[0]),)


# -- merges and channel plumbing --------------------------------------------------------------

def _channel_axis(node: OnnxNode, x: Tensor, default: int = 1) -> None:
    rank = len(x.dims())
    axis = int(node.attr("axis", default)) % rank
    if x.layout != "nchw" or axis != 1:
        raise ConvcalcError(f"{node.op_type} along axis {node.attr('axis', default)} of a "
                            f"tensor with dims {list(x.dims())}; convcalc reads it along "
                            "channels (axis 1 of NCHW)")


@op("Concat")
def concat(node: OnnxNode, env: Env) -> Any:
    """Concat of tensors along channels -> concat."""
    tensors = tuple(env.tensor(n) for n in node.inputs)
    _channel_axis(node, tensors[0])
    return [Emit(make("concat"), tensors)] if len(tensors) > 1 else tensors


@op("Flatten")
def flatten(node: OnnxNode, env: Env) -> Any:
    """Flatten from axis 1 -> flatten (nothing for a vector that is flat already)."""
    x = env.tensor(node.inputs[0])
    if int(node.attr("axis", 1)) != 1 or x.layout != "nchw":
        raise ConvcalcError(f"Flatten at axis {node.attr('axis', 1)} of dims {list(x.dims())}; "
                            "convcalc flattens NCHW at axis 1")
    return (x,) if x.shape.is_flat else [Emit(make("flatten"), (x,))]


@op("Squeeze")
def squeeze(node: OnnxNode, env: Env) -> Any:
    """Squeeze of the 1 x 1 height and width of a pooled tensor -> flatten."""
    x = env.tensor(node.inputs[0])
    axes = env.ints(node.inputs[1]) if _optional(node, 1) else node.attr("axes", [])
    rank = len(x.dims())
    if x.layout == "nchw" and not x.shape.is_flat and x.shape.hw == (1, 1) and sorted(
            a % rank for a in axes) in ([2, 3], []):
        return [Emit(make("flatten"), (x,))]
    raise ConvcalcError(f"Squeeze of axes {axes} of dims {list(x.dims())} is not supported; "
                        "convcalc reads the squeeze of a 1x1 height and width")


@op("Reshape")
def reshape(node: OnnxNode, env: Env) -> Any:
    """Reshape: to [1, -1] -> flatten; to [1, g, c/g, h, w] and back after a Transpose (the
    channel shuffle) -> channel_shuffle; to the same dims -> nothing."""
    x = env.tensor(node.inputs[0])
    dims = list(x.dims())
    total = math.prod(dims)
    target = list(reshaped(dims, env.ints(node.inputs[1]), bool(node.attr("allowzero", 0))))
    if target == dims:
        return (x,)
    if x.layout == "nchw" and len(target) == 2 and target[0] == 1:
        return [Emit(make("flatten"), (x,))]
    if x.layout == "nchw" and target == [total]:
        return (replace(x, layout="vector"),)
    if x.layout == "nchw" and not x.shape.is_flat and len(target) == 5 and target[0] == 1 \
            and target[3:] == dims[2:] and target[1] > 1:
        return (replace(x, layout="shuffle", groups=target[1]),)
    if x.layout == "shuffle" and x.transposed and target == [1, x.shape.c, *x.shape.hw]:
        return [Emit(make("channel_shuffle", groups=x.groups),
                     (replace(x, layout="nchw", groups=0, transposed=False),))]
    raise ConvcalcError(f"Reshape of dims {dims} to {target} is not supported; convcalc reads "
                        "flattening and the channel shuffle (Reshape, Transpose, Reshape)")


@op("Gather")
def gather(node: OnnxNode, env: Env) -> tuple[Value, ...]:
    """Gather of every value of a 'vector' view back into its own dims: the dynamo exporter's
    as_strided of a contiguous tensor, which changes nothing. The indices are an initializer
    whose values may be stripped; when present they must be 0, 1, 2, ... in order."""
    x, indices = env.tensor(node.inputs[0]), env.value(node.inputs[1])
    flat = replace(x, layout="nchw")
    values = indices.value if isinstance(indices, Weight) else indices
    dims = indices.dims if isinstance(indices, Weight) else getattr(values, "dims", None)
    if x.layout == "vector" and int(node.attr("axis", 0)) == 0 and dims == flat.dims() and (
            not isinstance(values, Const) or values.ints() == list(range(x.shape.elements))):
        return (flat,)
    raise ConvcalcError(f"Gather of a network tensor with dims {list(x.dims())} is not "
                        "supported; convcalc reads Gather on shapes and constants")


@op("Transpose")
def transpose(node: OnnxNode, env: Env) -> tuple[Value, ...]:
    """Transpose: to channels-last and back (a view, no layer), or the swap of a channel
    shuffle's group axes."""
    x = env.tensor(node.inputs[0])
    perm = [int(p) for p in node.attr("perm", [])]
    if x.layout == "nchw" and not x.shape.is_flat and perm == [0, 2, 3, 1]:
        return (replace(x, layout="nhwc"),)
    if x.layout == "nhwc" and perm == [0, 3, 1, 2]:
        return (replace(x, layout="nchw"),)
    if x.layout == "shuffle" and perm == [0, 2, 1, 3, 4]:
        return (replace(x, transposed=not x.transposed),)
    raise ConvcalcError(f"Transpose {perm} of dims {list(x.dims())} is not supported; convcalc "
                        "reads NCHW <-> NHWC and the channel shuffle's group swap")


@op("Split")
def split(node: OnnxNode, env: Env) -> list[Emit]:
    """Split along channels -> split, one output per section."""
    x = env.tensor(node.inputs[0])
    _channel_axis(node, x, 0)
    if _optional(node, 1):
        sizes = env.ints(node.inputs[1])
    elif node.attr("split") is not None:
        sizes = [int(s) for s in node.attr("split")]
    else:
        parts = int(node.attr("num_outputs", len(node.outputs)))
        step = -(-x.shape.c // parts)
        sizes = [min(step, x.shape.c - i * step) for i in range(parts)]
    if min(sizes, default=0) < 1 or sum(sizes) != x.shape.c:
        raise ConvcalcError(f"split sizes {sizes} must be positive and add up to the "
                            f"{x.shape.c} channels")
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return [_channels(x, start, start + size, output=i, suffix=str(i))
            for i, (start, size) in enumerate(zip(starts, sizes, strict=True))]


def _channels(x: Tensor, start: int, end: int, output: int = 0, suffix: str = "") -> Emit:
    """The layer that takes channels [start, end) of ``x``, as the node's output ``output``."""
    return Emit(make("channel_slice", start=start, stop=end), (x,), suffix=suffix,
                output=output)


@op("Slice")
def slice_(node: OnnxNode, env: Env) -> list[Emit]:
    """Slice of a channel range (steps of 1) -> split; a Slice that keeps everything -> nothing."""
    x = env.tensor(node.inputs[0])
    starts, ends = env.ints(node.inputs[1]), env.ints(node.inputs[2])
    dims = list(x.dims())
    axes = env.ints(node.inputs[3]) if _optional(node, 3) else list(range(len(starts)))
    steps = env.ints(node.inputs[4]) if _optional(node, 4) else [1] * len(starts)
    if not len(axes) == len(starts) == len(ends) == len(steps):
        raise ConvcalcError(f"Slice has {len(starts)} starts, {len(ends)} ends, {len(axes)} "
                            f"axes and {len(steps)} steps; they must be as many")
    keep = None
    for given, start, end, step in zip(axes, starts, ends, steps, strict=True):
        axis = given % len(dims)
        lo, hi, _ = slice(start, end).indices(dims[axis])
        if step != 1 or (axis != 1 and (lo, hi) != (0, dims[axis])):
            raise ConvcalcError(f"Slice of axis {axis} [{start}:{end}:{step}] of dims {dims} is "
                                "not supported; convcalc slices channels")
        if axis == 1 and (lo, hi) != (0, dims[1]):
            keep = (lo, hi)
    if keep is None:
        return (x,)  # type: ignore[return-value]
    if x.layout != "nchw" or keep[1] <= keep[0]:
        raise ConvcalcError(f"Slice [{keep[0]}:{keep[1]}] of dims {dims} is empty or not along "
                            "NCHW channels")
    return [_channels(x, *keep)]


# -- pooling and resizing ---------------------------------------------------------------------

@op("GlobalAveragePool")
def global_avgpool(node: OnnxNode, env: Env) -> list[Emit]:
    """GlobalAveragePool -> global_avgpool."""
    return [Emit(make("global_avgpool"), (_spatial(env.tensor(node.inputs[0]), node),))]


@op("GlobalMaxPool")
def global_maxpool(node: OnnxNode, env: Env) -> list[Emit]:
    """GlobalMaxPool -> maxpool with the whole input as its window."""
    x = _spatial(env.tensor(node.inputs[0]), node)
    return [Emit(make("maxpool", kernel=x.shape.hw), (x,))]


def _spatial(x: Tensor, node: OnnxNode) -> Tensor:
    if x.layout != "nchw" or x.shape.is_flat:
        raise ConvcalcError(f"{node.op_type} needs an NCHW image, not dims {list(x.dims())}")
    return x


@op("ReduceMean")
def reduce_mean(node: OnnxNode, env: Env) -> list[Emit]:
    """ReduceMean over height and width -> global_avgpool (then flatten without keepdims)."""
    x = _spatial(env.tensor(node.inputs[0]), node)
    axes = env.ints(node.inputs[1]) if _optional(node, 1) else node.attr("axes")
    if axes is None or sorted(int(a) % 4 for a in axes) != [2, 3]:
        raise ConvcalcError(f"ReduceMean over axes {axes}; convcalc reads the mean over height "
                            "and width (axes 2 and 3)")
    emits = [Emit(make("global_avgpool"), (x,))]
    if not node.attr("keepdims", 1):
        emits.append(Emit(make("flatten"), suffix="flatten"))
    return emits


@op("AveragePool", "MaxPool")
def pool(node: OnnxNode, env: Env) -> list[Emit]:
    """AveragePool / MaxPool -> avgpool / maxpool (stride is explicit: ONNX's default is 1)."""
    x = _spatial(env.tensor(node.inputs[0]), node)
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ConvcalcError("MaxPool's indices output is not supported")
    kernel = _pair(node.attr("kernel_shape"), 0, "kernel_shape")
    stride = _pair(node.attr("strides"), 1, "strides")
    if _pair(node.attr("dilations"), 1, "dilations") != (1, 1):
        raise ConvcalcError("pooling with dilations is not supported")
    padding = _padding(node, x, kernel, stride, (1, 1))
    kind = "avgpool" if node.op_type == "AveragePool" else "maxpool"
    return [Emit(make(kind, kernel=kernel, stride=stride, padding=padding,
                      ceil_mode=bool(node.attr("ceil_mode", 0))), (x,))]


@op("Pad")
def pad(node: OnnxNode, env: Env) -> list[Emit]:
    """Pad with zeros on height and width -> zeropad."""
    x = _spatial(env.tensor(node.inputs[0]), node)
    pads = env.ints(node.inputs[1]) if _optional(node, 1) else [int(p) for p in
                                                                 node.attr("pads", [])]
    if node.attr("mode", "constant") != "constant" or len(pads) != 8 or any(
            pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
        raise ConvcalcError(f"Pad {pads} ({node.attr('mode', 'constant')}) is not supported; "
                            "convcalc pads height and width with zeros")
    return [Emit(make("zeropad", padding=(pads[2], pads[6], pads[3], pads[7])), (x,))]


@op("Resize", "Upsample")
def resize(node: OnnxNode, env: Env) -> list[Emit]:
    """Resize (nearest or linear) of height and width, by scales or to sizes -> upsample (to the
    size of another tensor where the sizes are that tensor's)."""
    x = _spatial(env.tensor(node.inputs[0]), node)
    mode = node.attr("mode", "nearest")
    modes = {"nearest": "nearest", "linear": "bilinear", "bilinear": "bilinear"}
    if mode not in modes:
        raise ConvcalcError(f"Resize mode '{mode}' is not supported; convcalc knows nearest "
                            "and linear")
    scales_name = node.inputs[1] if node.op_type == "Upsample" else _optional(node, 2)
    if not _optional(node, 3):
        scales = [float(s) for s in env.const(scales_name).values]
        if len(scales) != 4 or scales[:2] != [1.0, 1.0]:
            raise ConvcalcError(f"Resize scales {scales} must scale height and width only")
        return [Emit(make("upsample", scale=(scales[2], scales[3]), mode=modes[mode]), (x,))]
    sizes = env.ints(node.inputs[3])
    if len(sizes) != 4 or sizes[:2] != [1, x.shape.c]:
        raise ConvcalcError(f"Resize to {sizes} must resize height and width only")
    # interpolate(x, size=y.shape[-2:]) (DeepLab, LR-ASPP, to the input at the end): the sizes
    # are the exporter's constants, so read the latest tensor of that size for them, and the
    # size follows --input. Without one, the size is fixed.
    other = env.latest_of_size(sizes[2], sizes[3])
    if other is not None:
        return [Emit(make("upsample", mode=modes[mode]), (x, other))]
    return [Emit(make("upsample", size=(sizes[2], sizes[3]), mode=modes[mode]), (x,))]


# -- constants ---------------------------------------------------------------------------------

def fold(node: OnnxNode, values: list[Value], evaluator: Evaluator) -> tuple[Value, ...] | None:
    """The outputs of a node the evaluator computes: an op of ``onnx_eval`` whose inputs are
    all constants or initializers (or the Shape of a network tensor, whose dims are known);
    None for a node a handler reads. Arithmetic on initializers makes a Weight whose sources
    are those initializers, with its values when the file holds them all."""
    if node.op_type not in OPS and node.op_type not in ELEMENTWISE:
        return None
    if node.op_type in ("Shape", "Size") and isinstance(values[0], Tensor):
        return (evaluator.run(node.op_type, node.attrs, [values[0].dims()]),)
    if any(isinstance(v, Tensor) or (v is None and name)
           for v, name in zip(values, node.inputs, strict=True)):
        return None
    sources = tuple({w.name: w for v in values if isinstance(v, Weight)
                     for w in v.leaves()}.values())
    args = [v.value if isinstance(v, Weight) else v for v in values
            if not isinstance(v, Tensor)]
    if node.op_type == "Constant" and isinstance(node.attrs.get("value"), TensorProto):
        tensor = node.attrs["value"]
        if tensor.values is None:  # a weight held in a Constant node, left out or external
            return (Weight(node.outputs[0], tensor.dims),)
    missing = [v for v, a in zip(values, args, strict=True) if isinstance(v, Weight) and a is None]
    if missing or node.op_type not in OPS:
        dims = output_dims(node.op_type, node.attrs,
                           [v.dims if isinstance(v, Weight) and v.value is None else a
                            for v, a in zip(values, args, strict=True)])
        if dims is not None and sources:
            return (Weight(node.outputs[0], dims, None, sources),)
    if node.op_type not in OPS:
        return None
    if missing:
        raise ConvcalcError(f"needs the values of initializer '{missing[0].name}' "
                            f"(dims {list(missing[0].dims)}), which the file does not hold "
                            "(they are weights or in a missing external data file)")
    result = evaluator.run(node.op_type, node.attrs, args)
    if sources:
        return (Weight(node.outputs[0], result.dims, result, sources),)
    return (result,)


# -- patterns of several ops that are one layer -------------------------------------------------

def fuse(nodes: list[OnnxNode], values: dict[str, Value]) -> list[OnnxNode]:
    """The nodes with every pattern below replaced by the one node it stands for:
    - GELU written with Erf, as the TorchScript exporter writes ``nn.GELU`` at opset 17:
      Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5) -> Gelu(x)."""
    made = {out: n for n in nodes for out in n.outputs if out}
    readers: dict[str, list[OnnxNode]] = {}
    for n in nodes:
        for name in n.inputs:
            readers.setdefault(name, []).append(n)

    def scalar(name: str) -> float | None:
        if name in values:
            return _scalar(values[name])
        source = made.get(name)
        if source is not None and source.op_type == "Constant":
            return _scalar(source.attrs.get("value"))
        return None

    def sole_reader(node: OnnxNode, op_type: str) -> tuple[OnnxNode, str] | None:
        """The only node reading ``node``'s output, if it is an ``op_type``, and its other input."""
        found = readers.get(node.outputs[0], [])
        if len(found) != 1 or found[0].op_type != op_type or len(found[0].inputs) != 2:
            return None
        a, b = found[0].inputs
        return found[0], b if a == node.outputs[0] else a

    replaced: dict[int, OnnxNode] = {}
    dropped: set[int] = set()
    for erf in (n for n in nodes if n.op_type == "Erf"):
        div = made.get(erf.inputs[0])
        if div is None or div.op_type != "Div" or not math.isclose(
                scalar(div.inputs[1]) or 0, math.sqrt(2), rel_tol=1e-3):
            continue
        x = div.inputs[0]
        plus = sole_reader(erf, "Add")
        times_x = plus and sole_reader(plus[0], "Mul")
        half = times_x and sole_reader(times_x[0], "Mul")
        if not (plus and times_x and half and scalar(plus[1]) == 1.0 and times_x[1] == x
                and scalar(half[1]) == 0.5 and len(readers.get(div.outputs[0], [])) == 1):
            continue
        dropped |= {id(div), id(erf), id(plus[0]), id(times_x[0])}
        replaced[id(half[0])] = OnnxNode(erf.name, "Gelu", (x,), half[0].outputs, {})
    return [replaced.get(id(n), n) for n in nodes if id(n) not in dropped]
