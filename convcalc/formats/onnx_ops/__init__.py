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

The table is split by op family (attention, convolution, elementwise, normalization, tensors,
pooling), each module registering its handlers in ``registry.HANDLERS`` (an op type registered
twice is an error at import); ``constants.fold`` computes the plumbing and ``patterns.fuse``
rewrites patterns of several ops first.
"""

from convcalc.formats.onnx_ops import (
                                       attention,
                                       convolution,
                                       elementwise,
                                       normalization,
                                       pooling,
                                       tensors,
)
from convcalc.formats.onnx_ops.constants import fold
from convcalc.formats.onnx_ops.patterns import fuse
from convcalc.formats.onnx_ops.registry import HANDLERS

# imported to register their handlers
FAMILIES = (attention, convolution, elementwise, normalization, pooling, tensors)
__all__ = ["FAMILIES", "HANDLERS", "fold", "fuse"]
