"""Normalisations over groups of channels: InstanceNormalization and GroupNormalization (and,
through ``patterns``, the GroupNorm TorchScript and dynamo write as Reshape,
InstanceNormalization, Reshape, Mul and Add)."""

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_ops.registry import make, op, spatial
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor, Weight


def _affine(node: OnnxNode, env: Env, x: Tensor) -> tuple[Weight, Weight]:
    """The scale and shift of a normalisation: initializers of one value per channel, the 2c
    parameters torch's InstanceNorm2d(affine=True) and GroupNorm hold."""
    scale, shift = env.weight(node.inputs[1]), env.weight(node.inputs[2])
    for w in (scale, shift):
        if w.elements != x.shape.c:
            raise ConvcalcError(f"'{w.name}' has dims {list(w.dims)}; convcalc reads one scale "
                                f"and one shift per channel ({x.shape.c}), as torch's GroupNorm")
    return scale, shift


@op("InstanceNormalization", "GroupNormalization")
def groupnorm(node: OnnxNode, env: Env) -> list[Emit]:
    """InstanceNormalization -> groupnorm with one group per channel (torch's
    InstanceNorm2d(affine=True)); GroupNormalization -> groupnorm of ``num_groups`` (opset 21:
    a scale and a shift per channel; opset 18's per-group ones are not torch's GroupNorm)."""
    x = spatial(env.tensor(node.inputs[0]), node)
    groups = x.shape.c if node.op_type == "InstanceNormalization" else int(
        node.attr("num_groups", 0))
    eps = float(node.attr("epsilon", 1e-5))
    return [Emit(make("groupnorm", groups=groups, eps=eps), (x,),
                 weights=_affine(node, env, x))]
