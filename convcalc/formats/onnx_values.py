"""The values an ONNX graph's tensor names hold while it is read, and what op handlers see:
``Tensor`` (computed from the network input), ``Weight`` (an initializer, or arithmetic on
initializers), ``Const`` (a constant the evaluator computed), ``OnnxNode``, ``Emit`` and ``Env``.
"""

import math
from dataclasses import dataclass
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_eval import Const
from convcalc.graph.layers import Layer, Merge
from convcalc.graph.shapes import Shape

Axes = tuple[int | None, ...]


def channels_first(rank: int) -> Axes:
    """The ONNX axes of a convcalc shape of ``rank`` held channels first, as ONNX holds images:
    [1, c, h, w] for [h, w, c], [1, c, n] for [n, c], [1, c] for a flat vector."""
    return (None, rank - 1, *range(rank - 1))


def features_last(rank: int) -> Axes:
    """The ONNX axes of a convcalc shape of ``rank`` held in its own order after the batch:
    [1, n, d] for tokens [n, d], [1, h, w, c] for an image (channels-last)."""
    return (None, *range(rank))


@dataclass(frozen=True)
class Tensor:
    """A tensor the network computes: made by the convcalc node ``path`` (or the input), whose
    convcalc ``shape`` holds the values of one ONNX tensor of the batch of one.

    ``axes`` says how: for each ONNX axis, the convcalc axis it is (None: an axis of size 1
    that the convcalc shape leaves out, such as the batch). The default is channels first, as
    ONNX holds images ([1, c, h, w] for [h, w, c]). A Transpose only reorders ``axes`` (torch's
    permute is a view, and convcalc adds no row for it); a layer that needs its input in an
    order of its own (a Reshape that is no view, a Conv after a permute) gets a ``transpose``
    row first (``onnx_ops.layouts``). Two views need no row: ``view`` 'shuffle' (the 5-D
    [1, groups, c/groups, h, w] of a channel shuffle; ``transposed`` once its two group axes
    are swapped) and 'vector' (all values in one axis without the batch: the dynamo
    exporter's as_strided, a Reshape to [n] and a Gather of every index back)."""

    path: str
    shape: Shape
    axes: Axes = ()
    view: str = ""
    groups: int = 0
    transposed: bool = False

    def __post_init__(self) -> None:
        if not self.axes:
            object.__setattr__(self, "axes", channels_first(self.shape.rank))

    @property
    def layout(self) -> str:
        """'nchw' (channels first: ONNX [1, c, *positions] for convcalc [*positions, c], and
        [1, c] for a flat vector), 'nhwc' (features last: ONNX [1, *dims], a channels-last
        image or tokens [1, n, d]), 'shuffle' or 'vector' (the views above), or 'other'."""
        if self.view:
            return self.view
        if self.axes == channels_first(self.shape.rank):
            return "nchw"
        return "nhwc" if self.axes == features_last(self.shape.rank) else "other"

    def dims(self) -> tuple[int, ...]:
        """The ONNX dims of this tensor (the batch of 1 included where it has one)."""
        s = self.shape
        if self.view == "vector":
            return (s.elements,)
        if self.view == "shuffle":
            h, w = s.hw
            g, rest = self.groups, s.c // self.groups
            return (1, rest, g, h, w) if self.transposed else (1, g, rest, h, w)
        return tuple(1 if a is None else s.dims[a] for a in self.axes)

    def axis(self, onnx_axis: int) -> int | None:
        """The convcalc axis that ONNX axis ``onnx_axis`` (negative from the end) is, None for a
        size-1 axis convcalc leaves out; an axis out of range is a ConvcalcError."""
        rank = len(self.axes)
        if not -rank <= onnx_axis < rank:
            raise ConvcalcError(f"axis {onnx_axis} is out of range for dims {list(self.dims())}")
        return self.axes[onnx_axis % rank]


@dataclass(frozen=True)
class Weight:
    """An initializer: its name, dims and, when the file holds them in a few bytes, its values.
    Arithmetic on initializers only (weight standardisation, a scale an exporter folded in)
    makes a Weight too, whose ``sources`` are the initializers it was computed from: those are
    what its params count. A statistic of weights (a ReduceMean) has none: the TorchScript
    exporter computes it from its own copy of the weight, which is no parameter of the model."""

    name: str
    dims: tuple[int, ...]
    value: Const | None = None
    sources: tuple["Weight", ...] | None = None  # None: an initializer, its own source

    @property
    def elements(self) -> int:
        """Number of values."""
        return math.prod(self.dims)

    def leaves(self) -> tuple["Weight", ...]:
        """The initializers this weight's values come from (itself for an initializer)."""
        return (self,) if self.sources is None else self.sources


Value = Tensor | Weight | Const | None  # None: an omitted optional input


@dataclass(frozen=True)
class OnnxNode:
    """One ONNX node, as a handler sees it: names, op type and attributes as Python values."""

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any]
    scopes: tuple[str, ...] = ()  # the dynamo exporter's module scopes, then the op's name
    classes: tuple[str, ...] = ()  # the class of each scope

    def attr(self, key: str, default: Any = None) -> Any:
        """An attribute's value, or ``default`` when the node does not set it; an attribute
        of the wrong type (a damaged file) is a ConvcalcError."""
        value = self.attrs.get(key)
        if value is None:
            return default
        kind = ATTRIBUTE_TYPES.get(key)
        ok = {"ints": lambda v: isinstance(v, list) and all(isinstance(i, int) for i in v),
              "int": lambda v: isinstance(v, int),
              "float": lambda v: isinstance(v, int | float),
              "str": lambda v: isinstance(v, str)}
        if kind is not None and not ok[kind](value):
            raise ConvcalcError(f"attribute '{key}' is {value!r}; ONNX makes it {kind}")
        return value


# The attributes handlers read, with the type ONNX gives each.
ATTRIBUTE_TYPES = {
    **dict.fromkeys(("strides", "dilations", "pads", "kernel_shape", "output_padding",
                     "output_shape", "split", "axes", "perm"), "ints"),
    **dict.fromkeys(("group", "axis", "keepdims", "transA", "transB", "ceil_mode", "allowzero",
                     "start", "end", "to", "num_outputs", "blocksize", "noop_with_empty_axes",
                     "num_groups"), "int"),
    **dict.fromkeys(("min", "max", "epsilon"), "float"),
    **dict.fromkeys(("auto_pad", "mode"), "str"),
}


@dataclass(frozen=True)
class Emit:
    """A convcalc layer a handler asks for. ``inputs`` None reads the previous Emit of the same
    node (a short chain); an Emit among ``inputs`` stands for the tensor that earlier Emit of
    the same node makes (a transpose row before a layer). ``axes`` are the ONNX axes of the
    layer's tensor (``Tensor.axes``); by default its input's when the rank is kept, else
    channels first for an image and features last for any other rank. ``suffix`` is added
    to the node's path ('' for the node itself). ``output`` says which output of the ONNX
    node the layer's tensor is (by default the last Emit is the first output); ``replaces``
    names a tensor whose layer this one replaces (a MatMul's layer gaining the bias of the Add
    after it). ``weights`` are the initializers whose values are the layer's parameters: one
    that an earlier layer counted already (a shared initializer) is not counted again."""

    layer: Layer | Merge
    inputs: "tuple[Tensor | Emit, ...] | None" = None
    axes: Axes | None = None
    suffix: str = ""
    output: int | None = None
    replaces: Tensor | None = None
    weights: tuple[Weight, ...] = ()


class Env:
    """What every handler reads: the value of each tensor name so far, the layer that made
    each network tensor, and how many ONNX nodes read each name."""

    def __init__(self, values: dict[str, Value], layers: dict[str, Layer | Merge],
                 readers: dict[str, int],
                 recorded: dict[str, tuple[int, ...]] | None = None) -> None:
        self.values = values
        self.layers = layers
        self.reader_counts = readers
        # The dims the file records for tensors (value_info), at its own input size.
        self.recorded = recorded or {}
        # The latest tensor of each height and width: a Resize to that size reads it.
        self.latest: dict[tuple[int, int], Tensor] = {}
        # Weights read as buffers, not parameters (constants in element-wise arithmetic), with
        # their number of values.
        self.buffers: dict[str, int] = {}

    def latest_of_size(self, h: int, w: int) -> Tensor | None:
        """The tensor made last (or the input) with height h and width w, if any."""
        return self.latest.get((h, w))

    def producer(self, tensor: Tensor) -> Layer | Merge | None:
        """The layer that computes ``tensor`` (None for the network input)."""
        return self.layers.get(tensor.path)

    def readers(self, name: str) -> int:
        """How many ONNX nodes (and graph outputs) read the tensor ``name``."""
        return self.reader_counts.get(name, 0)

    def value(self, name: str) -> Value:
        """The value named ``name`` (an empty name is an omitted optional input: None)."""
        return self.values.get(name) if name else None

    def tensor(self, name: str) -> Tensor:
        """The network tensor ``name``; a located error when it is a weight or a constant."""
        value = self.value(name)
        if not isinstance(value, Tensor):
            raise ConvcalcError(f"input '{name}' must be a tensor computed from the network "
                                "input, not a constant or an initializer")
        return value

    def weight(self, name: str) -> Weight:
        """The initializer ``name``; a located error for anything else."""
        value = self.value(name)
        if not isinstance(value, Weight):
            raise ConvcalcError(f"input '{name}' must be an initializer (a weight); convcalc "
                                "counts weights by their dims")
        return value

    def const(self, name: str) -> Const:
        """The constant value of ``name``."""
        value = self.value(name)
        if isinstance(value, Weight):
            if value.value is None:
                raise ConvcalcError(f"needs the values of initializer '{name}' "
                                    f"(dims {list(value.dims)}), which the file does not hold "
                                    "(they are weights or in a missing external data file)")
            return value.value
        if value is None or isinstance(value, Tensor):
            raise ConvcalcError(f"input '{name}' must be a constant (it sets a shape, axis or "
                                "scale)")
        return value

    def ints(self, name: str) -> list[int]:
        """A constant as a list of Python ints (shapes, axes, split sizes)."""
        return self.const(name).ints()

    def dims_to(self, name: str, output: str) -> list[int]:
        """The dims a constant ``name`` gives ``output`` (a Reshape's target, a Resize's
        sizes); when the file does not hold the constant (stripped, or in a missing external
        file), the dims it records for ``output`` in value_info."""
        value = self.value(name)
        if isinstance(value, Weight) and value.value is None and output in self.recorded:
            return list(self.recorded[output])
        return self.ints(name)

