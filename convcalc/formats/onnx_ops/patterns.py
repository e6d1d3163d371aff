"""Patterns of several ONNX ops that are one layer (``fuse``)."""

import math

from convcalc.formats.onnx_ops.registry import scalar
from convcalc.formats.onnx_values import OnnxNode, Value


def fuse(nodes: list[OnnxNode], values: dict[str, Value]) -> list[OnnxNode]:
    """The nodes with every pattern below replaced by the one node it stands for:
    - GELU written with Erf, as the TorchScript exporter writes ``nn.GELU`` at opset 17:
      Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5) -> Gelu(x)."""
    made = {out: n for n in nodes for out in n.outputs if out}
    readers: dict[str, list[OnnxNode]] = {}
    for n in nodes:
        for name in n.inputs:
            readers.setdefault(name, []).append(n)

    def scalar_named(name: str) -> float | None:
        if name in values:
            return scalar(values[name])
        source = made.get(name)
        if source is not None and source.op_type == "Constant":
            return scalar(source.attrs.get("value"))
        return None

    def sole_reader(node: OnnxNode, op_type: str) -> tuple[OnnxNode, str] | None:
        """The only node reading ``node``'s output, if it is an ``op_type``, and its other input."""
        found = readers.get(node.outputs[0], [])
        if len(found) != 1 or found[0].op_type != op_type or len(found[0].inputs) != 2:
            return None
        a, b = found[0].inputs
        return found[0], b if a == node.outputs[0] else a

    replaced: dict[int, OnnxNode] = {}
    dropped: set[int] = set()
    for erf in (n for n in nodes if n.op_type == "Erf"):
        div = made.get(erf.inputs[0])
        if div is None or div.op_type != "Div" or not math.isclose(
                scalar_named(div.inputs[1]) or 0, math.sqrt(2), rel_tol=1e-3):
            continue
        x = div.inputs[0]
        plus = sole_reader(erf, "Add")
        times_x = plus and sole_reader(plus[0], "Mul")
        half = times_x and sole_reader(times_x[0], "Mul")
        if not (plus and times_x and half and scalar_named(plus[1]) == 1.0 and times_x[1] == x
                and scalar_named(half[1]) == 0.5 and len(readers.get(div.outputs[0], [])) == 1):
            continue
        dropped |= {id(div), id(erf), id(plus[0]), id(times_x[0])}
        replaced[id(half[0])] = OnnxNode(erf.name, "Gelu", (x,), half[0].outputs, {},
                                           erf.scopes)
    return [replaced.get(id(n), n) for n in nodes if id(n) not in dropped]
