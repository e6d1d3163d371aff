"""The inputs each ONNX op takes, checked before a handler (``onnx_ops``) or the evaluator
(``onnx_eval``) reads a node: a node with too few inputs, too many, no output or a zero count
is one located error, not an IndexError inside the handler."""

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_values import OnnxNode

# Each op's inputs (fewest, most; None: any number) and the integer attributes that must be at
# least 1, from the ONNX operator specification (opset 13 and later), checked by ``check_node``
# before a handler or the evaluator reads a node: a node with too few inputs, too many or a
# zero count is one located error, not an IndexError in the handler.
ARITY: dict[str, tuple[int, int | None]] = {
    **dict.fromkeys(("Abs", "Cast", "Ceil", "ConstantOfShape", "Flatten", "Floor", "Identity",
                     "Neg", "Not", "Reciprocal", "Shape", "Size", "Sqrt", "Transpose",
                     "AveragePool", "MaxPool", "Elu", "Gelu", "GlobalAveragePool",
                     "GlobalMaxPool", "HardSigmoid", "HardSwish", "LeakyRelu", "Relu",
                     "Sigmoid", "Softmax", "Tanh", "Erf", "Sin", "Cos", "Exp", "Log",
                     "DepthToSpace", "SpaceToDepth"), (1, 1)),
    **dict.fromkeys(("Add", "And", "Div", "Equal", "Expand", "Gather", "Greater",
                     "GreaterOrEqual", "Less", "LessOrEqual", "MatMul", "Mod", "Mul", "Or",
                     "Pow", "Reshape", "Sub"), (2, 2)),
    **dict.fromkeys(("ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
                     "ReduceL2", "Squeeze", "Unsqueeze", "Split", "Upsample"), (1, 2)),
    **dict.fromkeys(("Conv", "ConvTranspose", "Gemm", "LayerNormalization"), (2, 3)),
    **dict.fromkeys(("Concat", "Max", "Min", "Sum"), (1, None)),
    **dict.fromkeys(("InstanceNormalization", "GroupNormalization"), (3, 3)),
    **dict.fromkeys(("Clip", "Dropout"), (1, 3)),
    **dict.fromkeys(("Range", "Where"), (3, 3)),
    "Constant": (0, 0), "BatchNormalization": (5, 5), "Slice": (3, 5), "Pad": (1, 4),
    "Einsum": (1, None), "CumSum": (2, 2),
    "Resize": (1, 4),
}
POSITIVE_ATTRIBUTES = {"Split": ("num_outputs",), "Conv": ("group",),
                       "ConvTranspose": ("group",)}


def check_node(node: OnnxNode) -> None:
    """A ConvcalcError unless ``node`` has the inputs its op takes (the required ones named),
    an output, and its counts (``num_outputs``, ``group``) at least 1. Ops without an entry
    are refused later as unsupported."""
    arity = ARITY.get(node.op_type)
    if arity is None:
        return
    fewest, most = arity
    given = len(node.inputs)
    if given < fewest or not all(node.inputs[:fewest]) or (most is not None and given > most):
        takes = (f"{fewest}" if fewest == most else f"{fewest} or more" if most is None
                 else f"{fewest} to {most}")
        raise ConvcalcError(f"has {given} input{'s' * (given != 1)} "
                            f"({sum(1 for i in node.inputs[:fewest] if i)} named of the "
                            f"{fewest} required); {node.op_type} takes {takes}")
    if not node.outputs or not node.outputs[0]:
        raise ConvcalcError(f"has no output; {node.op_type} makes one")
    for name in POSITIVE_ATTRIBUTES.get(node.op_type, ()):
        value = node.attrs.get(name)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConvcalcError(f"{name}={value!r} must be a whole number of at least 1")
