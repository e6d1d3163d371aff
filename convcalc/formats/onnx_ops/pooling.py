"""Pooling and resizing: global pools, ReduceMean, AveragePool, MaxPool, Pad, Resize."""


from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_ops.registry import make, onnx_padding, op, optional, pair, spatial
from convcalc.formats.onnx_values import Emit, Env, OnnxNode


@op("GlobalAveragePool")
def global_avgpool(node: OnnxNode, env: Env) -> list[Emit]:
    """GlobalAveragePool -> global_avgpool."""
    return [Emit(make("global_avgpool"), (spatial(env.tensor(node.inputs[0]), node),))]


@op("GlobalMaxPool")
def global_maxpool(node: OnnxNode, env: Env) -> list[Emit]:
    """GlobalMaxPool -> maxpool with the whole input as its window."""
    x = spatial(env.tensor(node.inputs[0]), node)
    return [Emit(make("maxpool", kernel=x.shape.hw), (x,))]


@op("ReduceMean", "ReduceMax")
def reduce_spatial(node: OnnxNode, env: Env) -> list[Emit]:
    """ReduceMean over height and width -> global_avgpool; ReduceMax -> maxpool with the whole
    input as its window (then flatten without keepdims)."""
    x = spatial(env.tensor(node.inputs[0]), node)
    axes = env.ints(node.inputs[1]) if optional(node, 1) else node.attr("axes")
    if axes is None or sorted(int(a) % 4 for a in axes) != [2, 3]:
        raise ConvcalcError(f"{node.op_type} over axes {axes}; convcalc reads it over height "
                            "and width (axes 2 and 3)")
    emits = [Emit(make("global_avgpool") if node.op_type == "ReduceMean"
                  else make("maxpool", kernel=x.shape.hw), (x,))]
    if not node.attr("keepdims", 1):
        emits.append(Emit(make("flatten"), suffix="flatten"))
    return emits


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
