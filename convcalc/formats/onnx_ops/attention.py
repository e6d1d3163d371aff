"""What attention is made of, on network tensors of any rank: Softmax along an axis and
LayerNormalization over the last one (the products are MatMul's, in ``convolution``)."""

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_ops.layouts import last_axis
from convcalc.formats.onnx_ops.registry import make, op, optional
from convcalc.formats.onnx_values import Emit, Env, OnnxNode


@op("Softmax")
def softmax(node: OnnxNode, env: Env) -> list[Emit]:
    """Softmax along ONNX axis ``axis`` (-1 by default, opset 13) -> softmax along the convcalc
    axis it is (YOLO's DFL takes it over 16 bins on axis 1)."""
    x = env.tensor(node.inputs[0])
    onnx_axis = int(node.attr("axis", -1))
    axis = x.axis(onnx_axis)
    if axis is None:
        raise ConvcalcError(f"Softmax along axis {onnx_axis} (size 1) of dims "
                            f"{list(x.dims())} is not supported")
    return [Emit(make("softmax", axis=axis - x.shape.rank), (x,))]


@op("LayerNormalization")
def layernorm(node: OnnxNode, env: Env) -> list[Emit]:
    """LayerNormalization over the last axis of a tensor of any rank -> layernorm over the
    features (a transpose row first when they are another convcalc axis; without a bias input:
    layernorm without affine, then a layer_scale for the scale)."""
    x, scale = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    rank = len(x.dims())
    if int(node.attr("axis", -1)) % rank != rank - 1:
        raise ConvcalcError(f"LayerNormalization over axis {node.attr('axis', -1)} of a tensor "
                            f"with dims {list(x.dims())}; convcalc normalizes over the last axis")
    features = x.dims()[-1]
    if scale.elements != features or scale.dims[-1:] != (features,):
        raise ConvcalcError(f"scale '{scale.name}' has dims {list(scale.dims)}, not "
                            f"[{features}]")
    rows, source = last_axis(x)
    eps = float(node.attr("epsilon", 1e-5))
    if optional(node, 2):
        return [*rows, Emit(make("layernorm", eps=eps), (source,),
                            weights=(scale, env.weight(node.inputs[2])))]
    # A scale without a shift: normalize, then one factor per channel (c parameters).
    return [*rows, Emit(make("layernorm", eps=eps, affine=False), (source,)),
            Emit(make("layer_scale"), suffix="scale", weights=(scale,))]
