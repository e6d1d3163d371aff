"""The loaded form of an architecture: one graph of named tensors, in topological order.

Interface (what the loader, the ONNX reader, the rewrites and the analysis share):

- ``Node(path, line, layer, inputs, side=False)``: one layer at a dotted path, from a line of
  the file. ``inputs`` are the paths of earlier nodes, or ``"input"`` for the network input. A
  single-input ``Layer`` reads one; a ``Merge`` (add, mul, concat, upsample) reads several.
- ``Architecture.nodes`` lists the nodes so that every node comes after the nodes it reads
  (the file's order); ``outputs`` names the tensors the network returns (by default its last
  node outside side branches).
- ``side`` nodes (auxiliary classifiers) may read any earlier node, but no main node may read
  them; they count only when asked for (``--side``).
- Every main node must be something an output depends on: a layer that no output reads is an
  error, not a silent zero or a silently dropped cost.
- ``residual``, ``concat`` branches, ``side``, ``split`` and ``separable`` are sugar the loader
  compiles into plain nodes; shape-dependent choices (whether a residual needs a projection)
  are layers whose ``resolve`` decides at analysis time (see layers.py).

Rewrites work on the node list: ``rename_inputs`` redirects readers after a node is replaced,
so that every rewrite is one linear pass.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from convcalc.errors import ConvcalcError
from convcalc.graph.layers import Layer, Merge
from convcalc.graph.shapes import Shape

NETWORK_INPUT = "input"


@dataclass(frozen=True)
class Node:
    """One layer at a dotted path, reading the tensors named by ``inputs``."""

    path: str
    line: int | None
    layer: Layer | Merge
    inputs: tuple[str, ...]
    side: bool = False


@dataclass(frozen=True)
class Architecture:
    """A whole network as loaded: its description, input shape and node graph.

    ``channel_divisor`` is the width multiplier's rounding rule: scaled channel counts are
    rounded to a multiple of it, never losing more than 10% (MobileNetV2's _make_divisible).
    ``outputs`` defaults to the last node outside side branches. ``notes`` are what the reader
    of a file says about how it counted (one line each: ONNX initializers read by several
    layers). The graph is checked when the record is made (see ``check_graph``).
    """

    name: str
    description: str
    source: str
    input: Shape
    nodes: tuple[Node, ...]
    file: str
    channel_divisor: int = 1
    width: float = 1.0
    outputs: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.outputs:
            main = [n.path for n in self.nodes if not n.side]
            object.__setattr__(self, "outputs", (main[-1],) if main else ())
        check_graph(self.nodes, self.outputs)


def check_graph(nodes: tuple[Node, ...], outputs: tuple[str, ...]) -> None:
    """Raise a located ConvcalcError unless the nodes form a valid graph: unique paths, every
    input an earlier node (so no cycles), main nodes reading no side node, at least one output,
    and every main node read, directly or not, by an output."""
    index: dict[str, int] = {NETWORK_INPUT: -1}
    for i, node in enumerate(nodes):
        problem = None
        if node.path in index:
            problem = "the path is used twice; give one of them another 'name'"
        for source in node.inputs:
            if source not in index:
                later = any(n.path == source for n in nodes[i + 1:])
                problem = (f"reads '{source}', which comes later (a layer may read only layers "
                           "before it; a cycle is not a network)" if later else
                           f"reads '{source}', which is no layer of this network")
            elif not node.side and source != NETWORK_INPUT and nodes[index[source]].side:
                problem = (f"reads '{source}' from a side branch; side branches are left out "
                           "of inference, so nothing outside them may read them")
        if problem:
            raise ConvcalcError(problem, line=node.line, path=node.path, kind=node.layer.kind)
        index[node.path] = i
    if not outputs:
        raise ConvcalcError("has no layers outside side branches; a network needs at least "
                            "one layer that computes its output")
    for name in outputs:
        if name not in index or name == NETWORK_INPUT:
            raise ConvcalcError(f"output '{name}' is no layer of this network")
        if nodes[index[name]].side:
            raise ConvcalcError(f"output '{name}' is in a side branch; outputs are main layers")
    needed = set(outputs)
    for node in reversed(nodes):
        if node.path in needed:
            needed.update(node.inputs)
        elif not node.side:
            raise ConvcalcError(
                "no output depends on this layer; read it with 'from:', list it under "
                "'outputs:', or remove it", line=node.line, path=node.path,
                kind=node.layer.kind)


def chain(layers: Iterable[tuple[str, Layer | Merge]], source: str = NETWORK_INPUT,
          line: int | None = None) -> tuple[Node, ...]:
    """Nodes for a plain sequence: the first reads ``source``, each next one the one before."""
    nodes = []
    for path, layer in layers:
        nodes.append(Node(path, line, layer, (source,)))
        source = path
    return tuple(nodes)


def rename_inputs(node: Node, renamed: Mapping[str, str]) -> Node:
    """``node`` reading ``renamed[p]`` wherever it read a renamed path ``p``."""
    if not any(p in renamed for p in node.inputs):
        return node
    return Node(node.path, node.line, node.layer, tuple(renamed.get(p, p) for p in node.inputs),
                node.side)
