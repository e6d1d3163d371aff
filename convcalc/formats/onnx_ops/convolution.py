"""Convolutions and products: Conv, ConvTranspose, Gemm, MatMul (by a weight: dense layers;
of two network tensors: matmul)."""

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_ops.layouts import Arranged, contiguous, image, last_axis
from convcalc.formats.onnx_ops.registry import make, onnx_padding, op, optional, pair
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor, Weight
from convcalc.graph.layers import Layer, Merge
from convcalc.graph.shapes import Shape


def _conv_operands(node: OnnxNode, env: Env, what: str
                   ) -> tuple[Arranged, Tensor, Weight, bool, tuple[Weight, ...]]:
    """(the rows and tensor the layer reads, the input as an image, weight, has bias, the
    weights it counts) of a Conv or ConvTranspose node, whose weight must be 4-D. An input held
    in another order (a softmax over YOLO's DFL bins, permuted) gets a transpose row first."""
    x, w = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    bias = bool(optional(node, 2))
    if len(w.dims) != 4:
        raise ConvcalcError(f"weight '{w.name}' has dims {list(w.dims)}; convcalc reads 2-D "
                            f"{what} (4-D weights)")
    arranged = image(x, node.op_type)
    _, c, h, width = x.dims()
    seen = x if arranged[1] is x else Tensor(x.path, Shape(h, width, c))
    return arranged, seen, w, bias, (w, env.weight(node.inputs[2])) if bias else (w,)


@op("Conv")
def conv(node: OnnxNode, env: Env) -> list[Emit]:
    """Conv -> conv, or depthwise (groups = input channels) or pointwise (1x1, no padding)."""
    (rows, source), x, w, bias, weights = _conv_operands(node, env, "convolutions")
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
    return [*rows, Emit(layer, (source,), weights=weights)]


@op("ConvTranspose")
def conv_transpose(node: OnnxNode, env: Env) -> list[Emit]:
    """ConvTranspose -> conv_transpose (PyTorch's ConvTranspose2d)."""
    (rows, source), x, w, bias, weights = _conv_operands(node, env, "transposed convolutions")
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
    return [*rows, Emit(make("conv_transpose", filters=per_group * groups, kernel=(kh, kw),
                            stride=stride, padding=(pads[0], pads[1]), output_padding=extra,
                            dilation=dilation, groups=groups, bias=bias), (source,),
                        weights=weights)]


@op("Gemm")
def gemm(node: OnnxNode, env: Env) -> list[Emit]:
    """Gemm (a PyTorch Linear on a flat vector, or on a 2-D tensor such as tokens without the
    batch) -> dense."""
    x, w = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    if node.attr("transA", 0):
        raise ConvcalcError("transA=1 is not supported: the input must be the batch of one")
    if len(w.dims) != 2:
        raise ConvcalcError(f"weight '{w.name}' has dims {list(w.dims)}; Gemm needs 2-D")
    inputs, units = w.dims[::-1] if node.attr("transB", 0) else w.dims
    bias = bool(optional(node, 2))
    return _linear(x, inputs, units, bias, (w, env.weight(node.inputs[2])) if bias else (w,))


@op("MatMul")
def matmul(node: OnnxNode, env: Env) -> list[Emit]:
    """MatMul of two network tensors (attention's Q·Kᵀ and A·V) -> matmul, counted as torch's
    bmm (transpose rows first for an operand held in another order); MatMul by a 2-D weight on
    any rank -> dense on the last axis (a pointwise convolution on a channels-last image:
    ConvNeXt's Linear layers). A bias comes from the Add after it."""
    x, other = env.tensor(node.inputs[0]), env.value(node.inputs[1])
    if isinstance(other, Tensor):
        rows_a, a = contiguous(x, "arranged_a")
        rows_b, b = contiguous(other, "arranged_b")
        rank = max(len(x.dims()), len(other.dims()))
        return [*rows_a, *rows_b, Emit(make("matmul"), (a, b),
                                       axes=_matmul_axes(x, other, rank))]
    w = env.weight(node.inputs[1])
    if len(w.dims) != 2:
        raise ConvcalcError(f"MatMul by '{w.name}' with dims {list(w.dims)}; convcalc reads "
                            "MatMul by a 2-D weight (a linear layer) or of two network tensors")
    inputs, units = w.dims
    return _linear(x, inputs, units, False, (w,))


def _matmul_axes(a: Tensor, b: Tensor, rank: int) -> tuple[int | None, ...]:
    """The ONNX axes of a matmul's output of ONNX ``rank``: leading axes of size 1 in both
    inputs are left out of the convcalc shape (the batch), every other one is held in order."""
    da = (1,) * (rank - len(a.dims())) + a.dims()
    db = (1,) * (rank - len(b.dims())) + b.dims()
    lead = 0
    while lead < rank - 2 and da[lead] == db[lead] == 1:
        lead += 1
    return (None,) * lead + tuple(range(rank - lead))


def _linear(x: Tensor, inputs: int, units: int, bias: bool,
            weights: tuple[Weight, ...]) -> list[Emit]:
    """A linear layer on the last ONNX axis of ``x``: dense, or pointwise on an image (the
    same layer at every position); a transpose row first when that axis is not the convcalc
    features."""
    rows, source = last_axis(x)
    if x.dims()[-1] != inputs:
        raise ConvcalcError(f"the weight takes {inputs} values but the input has dims "
                            f"{list(x.dims())}")
    held = x.axes if isinstance(source, Tensor) else source.axes or ()
    kind = "pointwise" if sum(a is not None for a in held) == 3 else "dense"
    fields = {"filters": units} if kind == "pointwise" else {"units": units}
    return [*rows, Emit(make(kind, bias=bias, **fields), (source,), weights=weights)]
