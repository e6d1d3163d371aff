"""The op table: ``HANDLERS`` from ONNX op type to handler, ``@op`` to register one, ``make``
to build a layer kind, and the helpers handlers share (ONNX pads, optional inputs, scalars)."""

from collections.abc import Callable
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_eval import Const, const_of
from convcalc.formats.onnx_proto import TensorProto
from convcalc.formats.onnx_values import Env, OnnxNode, Tensor, Value, Weight
from convcalc.graph.layers import LAYER_KINDS, Layer, Merge

Handler = Callable[[OnnxNode, Env], Any]
HANDLERS: dict[str, Handler] = {}


def op(*op_types: str) -> Callable[[Handler], Handler]:
    """Register a handler for these ONNX op types."""
    def register(handler: Handler) -> Handler:
        for t in op_types:
            if t in HANDLERS:  # a programming error: each op has one place
                raise RuntimeError(f"ONNX op {t} has two handlers")
            HANDLERS[t] = handler
        return handler
    return register


def make(kind: str, **fields: Any) -> Layer | Merge:
    """The convcalc layer of ``kind`` with these fields (its YAML keys)."""
    cls = LAYER_KINDS.get(kind)
    if cls is None:
        raise ConvcalcError(f"needs the layer kind '{kind}', which this convcalc does not have")
    return cls(kind=kind, **fields)


def pair(values: Any, default: int, what: str) -> tuple[int, int]:
    values = list(values) if values is not None else [default, default]
    if len(values) != 2:
        raise ConvcalcError(f"{what} {values} must have two values (a 2-D op)")
    return int(values[0]), int(values[1])


def onnx_padding(node: OnnxNode, x: Tensor, kernel: tuple[int, int], stride: tuple[int, int],
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


def optional(node: OnnxNode, index: int) -> str:
    return node.inputs[index] if len(node.inputs) > index else ""


def scalar(value: Value | TensorProto) -> float | None:
    if isinstance(value, TensorProto):
        value = const_of(value)
    if isinstance(value, Weight):
        value = value.value
    return value.scalar() if isinstance(value, Const) else None


def spatial(x: Tensor, node: OnnxNode) -> Tensor:
    if x.layout != "nchw" or not x.shape.is_image:
        raise ConvcalcError(f"{node.op_type} needs an NCHW image, not dims {list(x.dims())}")
    return x
