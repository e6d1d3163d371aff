"""Nodes computed once instead of read by a handler: constants, shape arithmetic and
arithmetic on initializers (``fold``)."""


from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_eval import ELEMENTWISE, OPS, REDUCTIONS, Evaluator, output_dims
from convcalc.formats.onnx_proto import TensorProto
from convcalc.formats.onnx_values import OnnxNode, Tensor, Value, Weight

# others are shapes, axes and indices. A BatchNormalization of a weight (weight standardisation:
# timm's StdConv2d and ScaledStdConv2d) scales it by its gain; its shift is the exporter's zeros
# and its mean and variance are statistics of the weight, no parameters either.
WEIGHT_INPUTS = {"BatchNormalization": 2, "ConstantOfShape": 0, "Range": 0,
                 **dict.fromkeys(("Reshape", "Expand", "Unsqueeze", "Squeeze", "Slice", "Gather",
                                  "Transpose", "Cast", "Flatten", "Identity"), 1)}


def fold(node: OnnxNode, values: list[Value], evaluator: Evaluator) -> tuple[Value, ...] | None:
    """The outputs of a node the evaluator computes: an op of ``onnx_eval`` whose inputs are
    all constants or initializers (or the Shape of a network tensor, whose dims are known);
    None for a node a handler reads. Arithmetic on initializers makes a Weight whose sources
    are those initializers, with its values when the file holds them all: weight
    standardisation (the TorchScript exporter writes it as a BatchNormalization of the weight in
    training mode), re-parameterised branches, folded scales. Its params are counted by the
    layer that reads it, once per initializer, and it adds no MACs."""
    if node.op_type not in OPS and node.op_type not in ELEMENTWISE and not (
            node.op_type == "BatchNormalization" and isinstance(values[0], Weight)):
        return None
    if node.op_type in ("Shape", "Size") and isinstance(values[0], Tensor):
        return (evaluator.run(node.op_type, node.attrs, [values[0].dims()]),)
    if any(isinstance(v, Tensor) or (v is None and name)
           for v, name in zip(values, node.inputs, strict=True)):
        return None
    weights = [v for v in values[:WEIGHT_INPUTS.get(node.op_type, len(values))]
               if isinstance(v, Weight)]
    sources = () if node.op_type in REDUCTIONS else tuple(
        {w.name: w for v in weights for w in v.leaves()}.values())
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
        if dims is not None and weights:
            return (Weight(node.outputs[0], dims, None, sources),)
    if node.op_type not in OPS:
        return None
    if missing:
        raise ConvcalcError(f"needs the values of initializer '{missing[0].name}' "
                            f"(dims {list(missing[0].dims)}), which the file does not hold "
                            "(they are weights or in a missing external data file)")
    result = evaluator.run(node.op_type, node.attrs, args)
    if weights:
        return (Weight(node.outputs[0], result.dims, result, sources),)
    return (result,)
