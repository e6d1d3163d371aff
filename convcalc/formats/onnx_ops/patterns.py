"""Patterns of several ONNX ops that are one layer (``fuse``)."""

import math
from collections.abc import Callable

from convcalc.formats.onnx_eval import Const, const_of
from convcalc.formats.onnx_ops.registry import scalar
from convcalc.formats.onnx_proto import TensorProto
from convcalc.formats.onnx_values import OnnxNode, Value, Weight


class _Graph:
    """The nodes with who makes and who reads each name, and the constant values known before
    the graph is read (initializers and Constant nodes)."""

    def __init__(self, nodes: list[OnnxNode], values: dict[str, Value]) -> None:
        self.values = values
        self.made = {out: n for n in nodes for out in n.outputs if out}
        self.readers: dict[str, list[OnnxNode]] = {}
        for n in nodes:
            for name in n.inputs:
                self.readers.setdefault(name, []).append(n)

    def const(self, name: str) -> Const | None:
        value: Value | TensorProto = self.values.get(name)
        source = self.made.get(name)
        if value is None and source is not None and source.op_type == "Constant":
            value = source.attrs.get("value")
        if isinstance(value, TensorProto):
            value = const_of(value)
        if isinstance(value, Weight):
            value = value.value
        return value if isinstance(value, Const) else None

    def scalar(self, name: str) -> float | None:
        value = self.const(name)
        return scalar(value) if value is not None else None

    def ints(self, name: str) -> list[int] | None:
        value = self.const(name)
        return value.ints() if value is not None else None

    def sole_reader(self, node: OnnxNode, op_type: str) -> tuple[OnnxNode, str] | None:
        """The only node reading ``node``'s output, if it is an ``op_type`` of two inputs, and
        its other input."""
        found = self.readers.get(node.outputs[0], []) if node.outputs else []
        if len(found) != 1 or found[0].op_type != op_type or len(found[0].inputs) != 2 or (
                not found[0].outputs):
            return None
        a, b = found[0].inputs
        return found[0], b if a == node.outputs[0] else a

    def read_once(self, node: OnnxNode) -> bool:
        return bool(node.outputs) and len(self.readers.get(node.outputs[0], [])) == 1


Fusion = Callable[[OnnxNode, _Graph], tuple[list[OnnxNode], OnnxNode] | None]


def fuse(nodes: list[OnnxNode], values: dict[str, Value]) -> list[OnnxNode]:
    """The nodes with every pattern below replaced by the one node it stands for:
    - GELU written with Erf, as the TorchScript exporter writes ``nn.GELU`` at opset 17:
      Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5) -> Gelu(x);
    - torch's GroupNorm as both exporters write it: Reshape(x, [0 or 1, G, -1 or n]),
      InstanceNormalization (scale 1, shift 0), Reshape back, Mul by the weight, Add of the bias
      -> GroupNormalization(x, weight, bias) of G groups (opset 21's form);
    - ``torch.stack(tensors).sum(0)`` (smp FPN's merge): Unsqueeze of each tensor at one axis,
      their Concat along it and a ReduceSum of it without keepdims -> Sum(tensors)."""
    graph = _Graph(nodes, values)
    replaced: dict[int, OnnxNode] = {}
    dropped: set[int] = set()
    for fusion, op_type in ((_gelu, "Erf"), (_groupnorm, "InstanceNormalization"),
                            (_stacked_sum, "ReduceSum")):
        for start in (n for n in nodes if n.op_type == op_type and id(n) not in dropped
                      and n.inputs and n.outputs):  # a node short of either: check_node's
            found = fusion(start, graph)
            if found is not None:
                gone, last = found
                dropped |= {id(n) for n in gone}
                replaced[id(gone[-1])] = last
    return [replaced.get(id(n), n) for n in nodes if id(n) not in dropped or id(n) in replaced]


def _gelu(erf: OnnxNode, graph: _Graph) -> tuple[list[OnnxNode], OnnxNode] | None:
    div = graph.made.get(erf.inputs[0])
    if div is None or div.op_type != "Div" or len(div.inputs) != 2 or not math.isclose(
            graph.scalar(div.inputs[1]) or 0, math.sqrt(2), rel_tol=1e-3):
        return None
    x = div.inputs[0]
    plus = graph.sole_reader(erf, "Add")
    times_x = plus and graph.sole_reader(plus[0], "Mul")
    half = times_x and graph.sole_reader(times_x[0], "Mul")
    if not (plus and times_x and half and graph.scalar(plus[1]) == 1.0 and times_x[1] == x
            and graph.scalar(half[1]) == 0.5 and graph.read_once(div)):
        return None
    return ([div, erf, plus[0], times_x[0], half[0]],
            OnnxNode(erf.name, "Gelu", (x,), half[0].outputs, {}, erf.scopes, erf.classes))


def _groupnorm(norm: OnnxNode, graph: _Graph) -> tuple[list[OnnxNode], OnnxNode] | None:
    grouped = graph.made.get(norm.inputs[0])
    target = grouped and grouped.op_type == "Reshape" and len(grouped.inputs) == 2 and \
        graph.ints(grouped.inputs[1])
    if not (grouped and target and len(target) == 3 and target[0] in (0, 1)
            and target[1] > 0 and graph.read_once(grouped) and len(norm.inputs) == 3):
        return None
    ones, zeros = graph.const(norm.inputs[1]), graph.const(norm.inputs[2])
    if ones is None or zeros is None or set(ones.values) != {1.0} or set(zeros.values) != {0.0}:
        return None
    back = graph.readers.get(norm.outputs[0], [])
    if len(back) != 1 or back[0].op_type != "Reshape" or back[0].inputs[:1] != norm.outputs[:1]:
        return None
    scaled = graph.sole_reader(back[0], "Mul")
    shifted = scaled and graph.sole_reader(scaled[0], "Add")
    if not (scaled and shifted and isinstance(graph.values.get(scaled[1]), Weight)
            and isinstance(graph.values.get(shifted[1]), Weight)):
        return None
    eps = norm.attrs.get("epsilon", 1e-5)
    return ([grouped, norm, back[0], scaled[0], shifted[0]],
            OnnxNode(norm.name, "GroupNormalization", (grouped.inputs[0], scaled[1], shifted[1]),
                     shifted[0].outputs, {"num_groups": target[1], "epsilon": eps},
                     norm.scopes, norm.classes))


def _stacked_sum(total: OnnxNode, graph: _Graph) -> tuple[list[OnnxNode], OnnxNode] | None:
    stack = graph.made.get(total.inputs[0])
    axes = graph.ints(total.inputs[1]) if len(total.inputs) > 1 else total.attrs.get("axes")
    if not (stack and stack.op_type == "Concat" and stack.inputs and axes and len(axes) == 1
            and stack.attrs.get("axis") == axes[0] and total.attrs.get("keepdims", 1) == 0
            and graph.read_once(stack)):
        return None
    parts = [graph.made.get(name) for name in stack.inputs]
    tensors = []
    for part in parts:
        if part is None or part.op_type != "Unsqueeze" or not part.inputs or \
                not graph.read_once(part):
            return None
        where = graph.ints(part.inputs[1]) if len(part.inputs) > 1 else part.attrs.get("axes")
        if where != axes:
            return None
        tensors.append(part.inputs[0])
    return ([*parts, stack, total],  # type: ignore[list-item]
            OnnxNode(total.name, "Sum", tuple(tensors), total.outputs, {}, total.scopes,
                     total.classes))
