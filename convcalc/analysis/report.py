"""``Architecture`` -> ``Report``: every layer's shapes, parameters, multiplies and receptive
field, in execution order, with the totals. Pure: no files, no printing, no numpy.

The rows form a dataflow list: each row names the rows it reads (``inputs``; -1 is the network
input), so the numpy reference and the memory liveness replay the graph from the rows alone.
The architecture's nodes are walked once, in their (topological) order, without recursion; a
node whose layer resolves by shape (a residual's projection) adds zero, one or several rows.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from convcalc.analysis.receptive import INPUT, Field, merged, through
from convcalc.analysis.roofline import (
    Device,
    bytes_moved,
    channel_path,
    efficiency_class,
    layer_seconds,
)
from convcalc.display import Shown
from convcalc.errors import ConvcalcError
from convcalc.graph.architecture import NETWORK_INPUT as GRAPH_INPUT
from convcalc.graph.architecture import Architecture, Node
from convcalc.graph.layers import WHOLE_INPUT, Conv, Layer, Merge, Reaches, Window
from convcalc.graph.shapes import Pair, Shape, checked_shape
from convcalc.limits import (
    MAX_BATCH,
    MAX_ELEMENTS,
    MAX_FIELD_POSITIONS,
    MAX_MAGNITUDE,
    whole_number,
)

NETWORK_INPUT = -1
DTYPE_BYTES = {"fp64": 8, "fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


@dataclass(frozen=True)
class LayerRow:
    """One executed layer: where it reads from, its shapes and what it costs. ``inputs`` are
    the rows it reads (NETWORK_INPUT for the network input), ``input`` the first one's shape
    and ``input_shapes`` all of them, in order. Counts are for ``batch`` images (params are
    not multiplied); ``seconds`` and ``bound`` (see roofline.py) are set when the report was
    analysed for a device."""

    path: str
    kind: str
    layer: Layer | Merge
    inputs: tuple[int, ...]
    input: Shape
    output: Shape
    window: Window | None
    params: int
    macs: int
    other_ops: int
    receptive_field: Pair
    jump: tuple[int | float, int | float]  # a float only where upsampling makes it a fraction
    side: bool
    line: int | None
    input_shapes: tuple[Shape, ...]
    batch: int = 1
    bytes_moved: int = 0
    seconds: float | None = None
    bound: str | None = None

    @property
    def activations(self) -> int:
        """Elements of the tensor this layer produces, for all images of the batch."""
        return self.output.elements * self.batch

    @property
    def intensity(self) -> float:
        """Arithmetic intensity: multiplies per byte moved (0 for a layer that moves none)."""
        return self.macs / self.bytes_moved if self.bytes_moved else 0.0

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def efficiency_class(self) -> str:
        """The class of multiplies it does, whose efficiency a device profile may give."""
        return efficiency_class(self.layer, self.window, self.input)


@dataclass(frozen=True)
class Totals:
    """Sums over the rows that count for inference (side branches only when asked)."""

    params: int
    macs: int
    other_ops: int
    activations: int
    param_bytes: int
    activation_bytes: int
    bytes_moved: int = 0
    seconds: float | None = None

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass(frozen=True)
class Report(Shown):
    """The analysis of one architecture at one input size and width."""

    name: str
    description: str
    source: str
    input: Shape
    width: float
    dtype: str
    include_side: bool
    rows: tuple[LayerRow, ...]
    totals: Totals
    batch: int = 1
    device: Device | None = None
    # The rows the network returns (NETWORK_INPUT if it returns its input unchanged).
    outputs: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()  # the architecture's (how a file was counted)

    def counted(self) -> tuple[LayerRow, ...]:
        """The rows the totals add up: all of them, or all but side branches."""
        return tuple(r for r in self.rows if self.include_side or not r.side)


def fused_rows(rows: Sequence[LayerRow], fuses: Sequence[str]) -> set[int]:
    """The positions of the rows a runtime that fuses the kinds ``fuses`` runs inside the
    layer before them: a row of such a kind that reads the output of a convolution (or of a row
    fused into one) that nothing else reads (side branches aside). A 'mul' fuses only as the
    second half of SiLU written as two ops, x * sigmoid(x): into the sigmoid, when nothing
    else reads the sigmoid (ONNX Runtime runs the pair as one QuickGelu)."""
    if not fuses:
        return set()
    readers: dict[int, int] = {}
    for row in rows:
        for source in () if row.side else row.inputs:  # side branches are not run
            readers[source] = readers.get(source, 0) + 1
    hosts: set[int] = set()  # rows whose output a fused row may extend
    fused: set[int] = set()
    for i, row in enumerate(rows):
        if row.side:
            continue
        if isinstance(row.layer, Conv):
            hosts.add(i)
        elif row.kind == "mul":
            if "mul" in fuses and _silu_half(rows, row, readers):
                fused.add(i)
        elif row.kind in fuses and any(s in hosts and readers[s] == 1 for s in row.inputs):
            fused.add(i)
            hosts.add(i)
    return fused


def _silu_half(rows: Sequence[LayerRow], row: LayerRow, readers: dict[int, int]) -> bool:
    """Whether a mul row computes x * sigmoid(x) with a sigmoid only it reads."""
    if len(row.inputs) != 2:
        return False
    for gate, x in (row.inputs, row.inputs[::-1]):
        if gate >= 0 and rows[gate].kind == "sigmoid" and rows[gate].inputs == (x,) \
                and readers[gate] == 1:
            return True
    return False


def row_seconds(rows: Sequence[LayerRow], device: Device) -> list[tuple[float, str]]:
    """(seconds, bound) of each of a report's ``rows`` (all of them: rows name their inputs by
    position) on ``device``, with its runtime's rules."""
    fused = fused_rows(rows, device.fuses)
    out = []
    for i, row in enumerate(rows):
        padding, slow = channel_path(row.layer, row.window, row.input, row.output,
                                     device.channel_block)
        out.append(layer_seconds(row.macs, row.bytes_moved, row.efficiency_class, device,
                                 padding=padding, slow=slow, fused=i in fused))
    return out


def network_seconds(report: Report, device: Device) -> float:
    """The seconds of a report's counted rows on ``device`` (whatever device it was analysed
    for): the sum of the layers' times, one layer after another."""
    times = row_seconds(report.rows, device)
    return sum(times[i][0] for i, row in enumerate(report.rows)
               if report.include_side or not row.side)


class _Tensor(NamedTuple):
    row: int
    shape: Shape
    field: tuple[Field, Field]  # its receptive field along the height and the width


def last_readers(rows: "Sequence[LayerRow]") -> dict[int, int]:
    """For each tensor the rows read (a row index, or NETWORK_INPUT), the position in ``rows``
    of its last reader: after that step it can be freed."""
    last: dict[int, int] = {}
    for position, row in enumerate(rows):
        for source in row.inputs:
            last[source] = position
    return last


def analyze(arch: Architecture, *, include_side: bool = False, dtype: str = "fp32",
            batch: int = 1, device: Device | None = None) -> Report:
    """The per-layer table and totals of an architecture: its nodes walked once, in order,
    for ``batch`` images, with each layer's bytes moved and, given a ``device``, its roofline
    seconds (see roofline.py)."""
    if dtype not in DTYPE_BYTES:
        raise ConvcalcError(f"dtype '{dtype}' must be one of {', '.join(DTYPE_BYTES)}")
    batch = whole_number("batch", batch, 1, MAX_BATCH)
    size = DTYPE_BYTES[dtype]
    walk = _Walk(batch, size, device, arch.input)
    tensors = {GRAPH_INPUT: _Tensor(NETWORK_INPUT, arch.input, (INPUT, INPUT))}
    try:
        for node in arch.nodes:
            tensors[node.path] = walk.node(node, [tensors[p] for p in node.inputs])
    except ConvcalcError as e:
        raise e.located(file=arch.file) from None
    costed = tuple(walk.rows)
    if device is not None and device.fuses:  # known once every reader of every row is
        fused = fused_rows(costed, device.fuses)
        costed = tuple(replace(r, bytes_moved=0, seconds=0.0, bound="fused") if i in fused
                       else r for i, r in enumerate(costed))
    counted = [r for r in costed if include_side or not r.side]
    params = sum(r.params for r in counted)
    activations = sum(r.activations for r in counted)
    totals = Totals(
        params=params,
        macs=sum(r.macs for r in counted),
        other_ops=sum(r.other_ops for r in counted),
        activations=activations,
        param_bytes=params * size,
        activation_bytes=activations * size,
        bytes_moved=sum(r.bytes_moved for r in counted),
        seconds=sum(r.seconds or 0.0 for r in counted) if device is not None else None,
    )
    return Report(arch.name, arch.description, arch.source, arch.input, arch.width, dtype,
                  include_side, costed, totals, batch, device,
                  outputs=tuple(tensors[p].row for p in arch.outputs), notes=arch.notes)


class _Walk:
    """The rows of one walk over the nodes, each costed as it is made: counts for ``batch``
    images, bytes moved at ``dtype_bytes`` per value and, given a device, roofline seconds."""

    def __init__(self, batch: int, dtype_bytes: int, device: Device | None,
                 network_input: Shape) -> None:
        self.rows: list[LayerRow] = []
        self.batch, self.dtype_bytes, self.device = batch, dtype_bytes, device
        # What a position that reads every token sees: all of the network input.
        h, w = network_input.hw if network_input.is_image else (1, 1)
        self.whole = (Field(1, 0, (0,), (h - 1,), h), Field(1, 0, (0,), (w - 1,), w))
        self.positions_left = MAX_FIELD_POSITIONS  # receptive.py's budget

    def node(self, node: Node, parts: list[_Tensor]) -> _Tensor:
        """The tensor a node produces, appending its rows (none when it passes an input on)."""
        shapes = tuple(p.shape for p in parts)
        try:
            plan = node.layer.resolve(shapes)
            if plan is None:
                return self.row(node.path, node, node.layer, parts)
            if isinstance(plan, int):
                return parts[plan]
            x = parts[0]
            for suffix, layer in plan:
                x = self.row(f"{node.path}.{suffix}" if suffix else node.path, node, layer, [x])
            return x
        except ConvcalcError as e:
            raise e.located(line=node.line, path=node.path, kind=node.layer.kind) from None

    def row(self, path: str, node: Node, layer: Layer | Merge, parts: list[_Tensor]) -> _Tensor:
        shapes = tuple(p.shape for p in parts)
        try:
            cost = layer.cost(shapes)
            out = checked_output(cost.output)
            if cost.params > MAX_ELEMENTS:  # its weights are a tensor like any other
                raise ConvcalcError(f"has {cost.params:,} weights; a tensor may have at most "
                                    f"{MAX_ELEMENTS:,} values")
            field = (self.whole if cost.reach is WHOLE_INPUT else
                     _grow_receptive_field(parts, out, cost.reach, self.positions_left))
        except ConvcalcError as e:
            raise e.located(line=node.line, path=path, kind=layer.kind) from None
        if field is not parts[0].field:  # a layer that keeps positions builds no new field
            self.positions_left -= field[0].period + field[1].period
        batch, device = self.batch, self.device
        macs = cost.macs * batch
        moved = bytes_moved(layer, shapes, out, cost.params, batch, self.dtype_bytes)
        seconds: float | None = None
        bound: str | None = None
        if device is not None:
            padding, slow = channel_path(layer, cost.window, shapes[0], out,
                                         device.channel_block)
            seconds, bound = layer_seconds(
                macs, moved, efficiency_class(layer, cost.window, shapes[0]), device,
                padding=padding, slow=slow)
        self.rows.append(LayerRow(
            path=path, kind=layer.kind, layer=layer, inputs=tuple(p.row for p in parts),
            input=shapes[0], output=out, window=cost.window, params=cost.params, macs=macs,
            other_ops=cost.other_ops * batch, receptive_field=(field[0].size, field[1].size),
            jump=(field[0].jump, field[1].jump), side=node.side,
            line=node.line, input_shapes=shapes, batch=batch, bytes_moved=moved,
            seconds=seconds, bound=bound,
        ))
        return _Tensor(len(self.rows) - 1, out, field)


def checked_output(shape: Shape) -> Shape:
    """A layer's output shape, once its dimensions and element count are within the limits
    (MAX_DIM per dim of any tensor but a flat vector; MAX_ELEMENTS in all)."""
    if not shape.is_flat:
        checked_shape(shape)
    if not 1 <= shape.elements <= MAX_ELEMENTS:
        raise ConvcalcError(f"produces {shape} = {shape.elements:,} values; a tensor may have "
                            f"between 1 and {MAX_ELEMENTS:,}")
    return shape


def _grow_receptive_field(parts: list[_Tensor], out: Shape, reach: Reaches | None, left: int
                          ) -> tuple[Field, Field]:
    """The receptive field after a layer (see receptive.py): its input's through the layer's
    reach; a merge's over its inputs of the output's size, the others broadcast gates."""
    if reach is not None:
        field = (through(parts[0].field[0], reach[0], left),
                 through(parts[0].field[1], reach[1], left))
    elif len(parts) == 1:
        return parts[0].field
    else:
        aligned = [p.field for p in parts if (p.shape.h, p.shape.w) == (out.h, out.w)]
        gates = [p.field for p in parts if (p.shape.h, p.shape.w) != (out.h, out.w)]
        if not aligned:
            aligned, gates = gates[:1], gates[1:]
        field = (merged([f[0] for f in aligned], [g[0] for g in gates], left),
                 merged([f[1] for f in aligned], [g[1] for g in gates], left))
    if max(field[0].size, field[1].size, field[0].jump, field[1].jump) > MAX_MAGNITUDE:
        raise ConvcalcError(f"receptive field grows past {MAX_MAGNITUDE:.0e} input pixels; "
                            "fewer strided layers")
    return field
