"""The loaded form of an architecture: a tree of layers with dotted paths and source lines.

The loader builds it from YAML (blocks and repeats already expanded, so every node is concrete);
the analysis walks it with shapes; variants rewrite it. Shape-dependent choices, such as whether
a residual's shortcut needs a projection, are left to the analysis.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

from convcalc.layers import Layer
from convcalc.shapes import Shape


@dataclass(frozen=True)
class Leaf:
    """One layer at a dotted path, from a line of the file."""

    path: str
    line: int | None
    layer: Layer


@dataclass(frozen=True)
class Residual:
    """main(x) + shortcut(x). ``shortcut`` is 'auto' (identity when the shape is kept, else a
    1x1 projection), 'identity', 'projection', 'if_same' (identity when the shape is kept, else
    no skip at all: MobileNetV2), or explicit layers. A projection is a 1x1 convolution with
    ``projection_bias``, followed by batch norm when ``projection_norm``."""

    path: str
    line: int | None
    main: "tuple[Node, ...]"
    shortcut: "str | tuple[Node, ...]"
    projection_bias: bool
    projection_norm: bool


@dataclass(frozen=True)
class Branches:
    """Parallel branches on the same input, concatenated along channels (Inception)."""

    path: str
    line: int | None
    branches: "tuple[tuple[Node, ...], ...]"


@dataclass(frozen=True)
class Side:
    """A side branch (an auxiliary classifier): computed from the current tensor, reported,
    and left out of inference totals unless asked for; the main path continues unchanged."""

    path: str
    line: int | None
    layers: "tuple[Node, ...]"


Node = Leaf | Residual | Branches | Side


@dataclass(frozen=True)
class Architecture:
    """A whole network as loaded: its description, input shape and node tree.

    ``channel_divisor`` is the width multiplier's rounding rule: scaled channel counts are
    rounded to a multiple of it, never losing more than 10% (MobileNetV2's _make_divisible).
    """

    name: str
    description: str
    source: str
    input: Shape
    layers: tuple[Node, ...]
    file: str
    channel_divisor: int = 1
    width: float = 1.0



def map_sequences(nodes: tuple[Node, ...],
                  rewrite: Callable[[tuple[Node, ...]], tuple[Node, ...]]) -> tuple[Node, ...]:
    """The tree with ``rewrite`` applied to every sequence of nodes (a residual's main path and
    shortcut, each branch, a side branch, the top level), innermost first."""
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, Residual):
            shortcut = node.shortcut if isinstance(node.shortcut, str) else map_sequences(
                node.shortcut, rewrite)
            out.append(replace(node, main=map_sequences(node.main, rewrite), shortcut=shortcut))
        elif isinstance(node, Branches):
            out.append(replace(node, branches=tuple(map_sequences(b, rewrite)
                                                    for b in node.branches)))
        elif isinstance(node, Side):
            out.append(replace(node, layers=map_sequences(node.layers, rewrite)))
        else:
            out.append(node)
    return rewrite(tuple(out))



def map_leaves(nodes: tuple[Node, ...], rewrite: Callable[[Leaf], tuple[Leaf, ...]]
               ) -> tuple[Node, ...]:
    """The same tree with every leaf replaced by what ``rewrite`` returns for it (one leaf,
    several, or none), visiting leaves in file order; graph nodes keep their structure."""
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, Leaf):
            out += rewrite(node)
        elif isinstance(node, Residual):
            shortcut = node.shortcut if isinstance(node.shortcut, str) else map_leaves(
                node.shortcut, rewrite)
            out.append(replace(node, main=map_leaves(node.main, rewrite), shortcut=shortcut))
        elif isinstance(node, Branches):
            out.append(replace(node, branches=tuple(map_leaves(b, rewrite)
                                                    for b in node.branches)))
        else:
            out.append(replace(node, layers=map_leaves(node.layers, rewrite)))
    return tuple(out)
