"""Pooling, reductions and resizing: global pools, ReduceMean, ReduceMax, ReduceSum, ReduceL2,
AveragePool, MaxPool, Pad, Resize, DepthToSpace, SpaceToDepth."""

from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_ops.registry import make, onnx_padding, op, optional, pair, spatial
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor


@op("GlobalAveragePool")
def global_avgpool(node: OnnxNode, env: Env) -> list[Emit]:
    """GlobalAveragePool -> global_avgpool."""
    return [Emit(make("global_avgpool"), (spatial(env.tensor(node.inputs[0]), node),))]


@op("GlobalMaxPool")
def global_maxpool(node: OnnxNode, env: Env) -> list[Emit]:
    """GlobalMaxPool -> maxpool with the whole input as its window."""
    x = spatial(env.tensor(node.inputs[0]), node)
    return [Emit(make("maxpool", kernel=x.shape.hw), (x,))]


REDUCTIONS = {"ReduceMean": "mean", "ReduceMax": "max", "ReduceSum": "sum", "ReduceL2": "l2"}


def convcalc_axes(x: Tensor, axes: list[int], op_type: str) -> tuple[int, ...]:
    """ONNX axes of ``x`` (batch first) as convcalc's (features last): NCHW's channels are
    axis 1 in ONNX and the last in convcalc; the batch of one is no axis of convcalc's."""
    dims = x.dims()
    if x.layout not in ("nchw", "nhwc"):
        raise ConvcalcError(f"{op_type} of a tensor with dims {list(dims)}; convcalc reduces "
                            "NCHW and channels-last tensors")
    rank = len(dims)
    given = sorted({int(a) % rank for a in axes if -rank <= int(a) < rank})
    if len(given) != len(set(axes)) or 0 in given:
        raise ConvcalcError(f"{op_type} over axes {axes} of dims {list(dims)}; convcalc reduces "
                            "the axes after the batch")
    order = list(range(1, rank)) if x.layout == "nhwc" or rank == 2 else [2, 3, 1]
    return tuple(order.index(a) for a in given)


@op(*REDUCTIONS)
def reduce(node: OnnxNode, env: Env) -> Any:
    """ReduceMean over height and width -> global_avgpool and ReduceMax -> maxpool with the
    whole input as its window (then flatten without keepdims); any other ReduceMean,
    ReduceMax, ReduceSum or ReduceL2 over axes after the batch -> reduce (its op, the axes in
    convcalc's order, keepdims) where the result keeps NCHW's layout or is a flat vector.
    No axes with ``noop_with_empty_axes`` passes the tensor on."""
    x = env.tensor(node.inputs[0])
    axes = env.ints(node.inputs[1]) if optional(node, 1) else node.attr("axes")
    keep = bool(node.attr("keepdims", 1))
    if not axes and node.attr("noop_with_empty_axes", 0):
        return (x,)
    if not axes:
        raise ConvcalcError(f"{node.op_type} over every axis, the batch too; convcalc reduces "
                            "the axes after the batch")
    reduced = convcalc_axes(x, axes, node.op_type)
    if x.layout == "nchw" and not x.shape.is_flat and reduced == (0, 1) and (
            node.op_type in ("ReduceMean", "ReduceMax")):
        emits = [Emit(make("global_avgpool") if node.op_type == "ReduceMean"
                      else make("maxpool", kernel=x.shape.hw), (x,))]
        if not keep:
            emits.append(Emit(make("flatten"), suffix="flatten"))
        return emits
    if not keep and not (x.layout == "nchw" and reduced == tuple(range(x.shape.rank - 1))):
        raise ConvcalcError(f"{node.op_type} over axes {axes} of dims {list(x.dims())} without "
                            "keepdims is not supported; convcalc keeps NCHW's layout (keepdims=1) "
                            "or reduces height and width to a vector")
    return [Emit(make("reduce", op=REDUCTIONS[node.op_type], axes=reduced, keepdims=keep),
                 (x,))]


@op("AveragePool", "MaxPool")
def pool(node: OnnxNode, env: Env) -> list[Emit]:
    """AveragePool / MaxPool -> avgpool / maxpool (stride is explicit: ONNX's default is 1)."""
    x = spatial(env.tensor(node.inputs[0]), node)
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ConvcalcError("MaxPool's indices output is not supported")
    kernel = pair(node.attr("kernel_shape"), 0, "kernel_shape")
    stride = pair(node.attr("strides"), 1, "strides")
    if pair(node.attr("dilations"), 1, "dilations") != (1, 1):
        raise ConvcalcError("pooling with dilations is not supported")
    padding = onnx_padding(node, x, kernel, stride, (1, 1))
    kind = "avgpool" if node.op_type == "AveragePool" else "maxpool"
    return [Emit(make(kind, kernel=kernel, stride=stride, padding=padding,
                      ceil_mode=bool(node.attr("ceil_mode", 0))), (x,))]


@op("Pad")
def pad(node: OnnxNode, env: Env) -> list[Emit]:
    """Pad with zeros on height and width -> zeropad."""
    x = spatial(env.tensor(node.inputs[0]), node)
    pads = env.ints(node.inputs[1]) if optional(node, 1) else [int(p) for p in
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
    x = spatial(env.tensor(node.inputs[0]), node)
    mode = node.attr("mode", "nearest")
    modes = {"nearest": "nearest", "linear": "bilinear", "bilinear": "bilinear"}
    if mode not in modes:
        raise ConvcalcError(f"Resize mode '{mode}' is not supported; convcalc knows nearest "
                            "and linear")
    if node.op_type == "Upsample" or not optional(node, 3):
        if node.op_type != "Upsample":
            scales = [float(s) for s in env.const(optional(node, 2)).values]
        elif len(node.inputs) > 1:
            scales = [float(s) for s in env.const(node.inputs[1]).values]
        else:  # opset 7's Upsample holds its scales in an attribute
            scales = [float(s) for s in node.attr("scales", [])]
        if len(scales) != 4 or scales[:2] != [1.0, 1.0]:
            raise ConvcalcError(f"Resize scales {scales} must scale height and width only")
        return [Emit(make("upsample", scale=(scales[2], scales[3]), mode=modes[mode]), (x,))]
    sizes = env.dims_to(node.inputs[3], node.outputs[0])
    if len(sizes) != 4 or sizes[:2] != [1, x.shape.c]:
        raise ConvcalcError(f"Resize to {sizes} must resize height and width only")
    # interpolate(x, size=y.shape[-2:]) (DeepLab, LR-ASPP, to the input at the end): the sizes
    # are the exporter's constants, so read the latest tensor of that size for them, and the
    # size follows --input. Without one, the size is fixed.
    other = env.latest_of_size(sizes[2], sizes[3])
    if other is not None:
        return [Emit(make("upsample", mode=modes[mode]), (x, other))]
    return [Emit(make("upsample", size=(sizes[2], sizes[3]), mode=modes[mode]), (x,))]


# How many leading inputs of a weight-side op hold parameters (all, for element-wise ops): the


@op("DepthToSpace", "SpaceToDepth")
def depth_to_space(node: OnnxNode, env: Env) -> list[Emit]:
    """DepthToSpace -> pixel_shuffle and SpaceToDepth -> space_to_depth with ``blocksize`` as
    the factor. DepthToSpace's CRD mode is torch's PixelShuffle; DCR (the default, TensorFlow's
    depth_to_space) takes the channels in another order, which changes no count."""
    x = spatial(env.tensor(node.inputs[0]), node)
    kind = "pixel_shuffle" if node.op_type == "DepthToSpace" else "space_to_depth"
    return [Emit(make(kind, factor=int(node.attr("blocksize", 0))), (x,))]
