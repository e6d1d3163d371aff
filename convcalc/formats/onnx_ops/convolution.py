"""Convolutions and dense layers: Conv, ConvTranspose, Gemm, MatMul."""


from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_ops.registry import make, onnx_padding, op, optional, pair
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor, Weight
from convcalc.graph.layers import Layer, Merge


def _conv_operands(node: OnnxNode, env: Env,
                   what: str) -> tuple[Tensor, Weight, bool, tuple[Weight, ...]]:
    """(input, weight, has bias, the weights it counts) of a Conv or ConvTranspose node, whose
    weight must be 4-D."""
    x, w = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    bias = bool(optional(node, 2))
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
    stride = pair(node.attr("strides"), 1, "strides")
    dilation = pair(node.attr("dilations"), 1, "dilations")
    padding = onnx_padding(node, x, (kh, kw), stride, dilation)
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
    stride = pair(node.attr("strides"), 1, "strides")
    dilation = pair(node.attr("dilations"), 1, "dilations")
    if node.attr("auto_pad", "NOTSET") != "NOTSET":
        raise ConvcalcError("auto_pad is not supported for ConvTranspose; export with pads")
    pads = [int(p) for p in node.attr("pads", [0, 0, 0, 0])]
    if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3] or min(pads) < 0:
        raise ConvcalcError(f"pads {pads} must be symmetric (PyTorch's ConvTranspose2d)")
    extra = pair(node.attr("output_padding"), 0, "output_padding")
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
    bias = bool(optional(node, 2))
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
