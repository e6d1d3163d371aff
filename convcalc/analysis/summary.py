"""Summaries of a ``Report`` for the ``report`` command: cost by layer kind, the most expensive
layers, rows folded into their blocks, and the peak activation memory of one inference pass.

Pure computations over the rows; every summary covers the counted rows (``Report.counted``), so
it adds up to the report's totals.

Peak memory convention: the counted rows run one at a time in order, nothing in place. A tensor
(a row's output, or the network input) is alive from the step that produces it (the input from
the first step) through the step of its last consumer, so at a row's step its inputs and its
output are alive together. A tensor no counted row reads is an output of the network and stays
alive to the end, as do the network's declared outputs (several, in a detection or segmentation
network), even when later rows read them too. The peak is the largest sum of alive bytes over
the steps.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from convcalc.analysis.report import DTYPE_BYTES, NETWORK_INPUT, LayerRow, Report, last_readers
from convcalc.display import Shown
from convcalc.graph.layers import Conv, Dense, Depthwise
from convcalc.limits import whole_number


@dataclass(frozen=True)
class KindShare:
    """One layer kind's cost and its share of the network's multiplies and parameters (and,
    for a report analysed for a device, of its roofline time)."""

    kind: str
    layers: int
    macs: int
    params: int
    macs_share: float
    params_share: float
    seconds: float | None = None
    seconds_share: float | None = None


@dataclass(frozen=True)
class Block:
    """Rows folded under one dotted path prefix; ``level`` is the number of path components.
    A block of one layer with that exact path carries the layer's kind, otherwise kind is ''."""

    path: str
    level: int
    kind: str
    layers: int
    params: int
    macs: int
    activations: int
    seconds: float | None = None  # the roofline time, for a report analysed for a device
    bytes_moved: int = 0


@dataclass(frozen=True)
class Memory:
    """Byte figures of one inference pass at the report's dtype (see the module docstring)."""

    param_bytes: int
    input_bytes: int
    activation_sum_bytes: int
    peak_bytes: int
    peak_at: str
    live_bytes: tuple[int, ...]


@dataclass(frozen=True)
class Summary(Shown):
    """A report with its summaries; a section left out of the report is None. ``depth`` is
    the folding depth asked for (the blocks may be shallower)."""

    report: Report
    memory: Memory
    by_kind: tuple[KindShare, ...] | None
    top: tuple[LayerRow, ...] | None
    blocks: tuple[Block, ...] | None
    depth: int | None = None


def summarize(report: Report, *, by_type: bool = True, top: int = 10,
              depth: int | None = None) -> Summary:
    """A report's memory figures and the summaries asked for: the cost by layer kind, the
    ``top`` layers by multiplies (none for 0) and, given a ``depth``, its rows folded into
    blocks of that many path components."""
    top = whole_number("top", top, 0)
    return Summary(
        report=report,
        memory=memory(report),
        by_kind=by_kind(report) if by_type else None,
        top=top_layers(report, top) if top else None,
        blocks=fold(report, depth) if depth is not None else None,
        depth=depth,
    )


def share(part: int, whole: int) -> float:
    """part / whole, and 0.0 for an empty whole (a network with no multiplies)."""
    return part / whole if whole else 0.0


def kind_label(row: LayerRow) -> str:
    """The "resource per layer type" class of a row (MobileNet paper, Table 2): convolutions
    by kernel size ('conv 1x1', 'conv 3x3', 'depthwise 3x3', 'grouped conv 3x3'), 'dense',
    and the row's kind for everything else."""
    if isinstance(row.layer, Conv) and row.window is not None:
        kh, kw = row.window.kernel
        size = f"{kh}x{kw}"
        if row.window.dilation != (1, 1):
            size += " dilated"
        groups = row.window.groups
        if isinstance(row.layer, Depthwise) or (groups > 1 and groups == row.input.c):
            return f"depthwise {size}"
        return f"{'grouped conv' if groups > 1 else 'conv'} {size}"
    if isinstance(row.layer, Dense):
        return "dense"
    return row.kind


def by_kind(report: Report) -> tuple[KindShare, ...]:
    """Multiplies and parameters per layer kind, most multiplies first; kinds that cost
    neither are left out, so both shares sum to 1 (when the totals are not zero). With a
    device, the kinds' roofline seconds too, and kinds that only take time (batch norm, ReLU)
    are kept, so the time shares also sum to 1."""
    groups: dict[str, list[LayerRow]] = {}
    for row in report.counted():
        groups.setdefault(kind_label(row), []).append(row)
    total = report.totals
    timed = total.seconds is not None
    shares = []
    for kind, rows in groups.items():
        macs = sum(r.macs for r in rows)
        params = sum(r.params for r in rows)
        seconds = sum(r.seconds or 0.0 for r in rows) if timed else None
        if macs or params or seconds:
            shares.append(KindShare(
                kind, len(rows), macs, params, share(macs, total.macs),
                share(params, total.params), seconds,
                None if seconds is None else seconds / total.seconds if total.seconds else 0.0))
    return tuple(sorted(shares, key=lambda s: (-s.macs, -s.params, s.kind)))


def top_layers(report: Report, k: int) -> tuple[LayerRow, ...]:
    """The k counted layers with the most multiplies (ties in execution order); layers
    without multiplies never count as expensive."""
    costly = [r for r in report.counted() if r.macs]
    return tuple(sorted(costly, key=lambda r: -r.macs)[:k])


def fold(report: Report, depth: int) -> tuple[Block, ...]:
    """The counted rows folded into a tree of blocks: one block per path prefix of 1 to
    ``depth`` dotted components, with subtotals, each parent before its children."""
    depth = whole_number("depth", depth, 1)
    members: dict[str, list[LayerRow]] = {}
    first: dict[str, tuple[int, int]] = {}
    for index, row in enumerate(report.counted()):
        parts = row.path.split(".")
        for level in range(1, min(depth, len(parts)) + 1):
            prefix = ".".join(parts[:level])
            members.setdefault(prefix, []).append(row)
            first.setdefault(prefix, (index, level))
    blocks = []
    for prefix in sorted(members, key=first.__getitem__):
        rows = members[prefix]
        single = len(rows) == 1 and rows[0].path == prefix
        blocks.append(Block(
            path=prefix, level=first[prefix][1], kind=rows[0].kind if single else "",
            layers=len(rows), params=sum(r.params for r in rows),
            macs=sum(r.macs for r in rows), activations=sum(r.activations for r in rows),
            seconds=(sum(r.seconds or 0.0 for r in rows)
                     if report.totals.seconds is not None else None),
            bytes_moved=sum(r.bytes_moved for r in rows),
        ))
    return tuple(blocks)


def memory(report: Report) -> Memory:
    """Parameter bytes, the plain sum of activation bytes and the liveness peak."""
    size = DTYPE_BYTES[report.dtype]
    counted = [i for i, r in enumerate(report.rows) if report.include_side or not r.side]
    step = {row: position for position, row in enumerate(counted)}
    steps = max(len(counted), 1)  # a network without layers still holds its input
    # Each tensor's last step: its last reader's; a tensor nothing reads is a network output
    # and stays to the end.
    end = ({NETWORK_INPUT: 0, **dict.fromkeys(counted, steps - 1)}
           | last_readers([report.rows[i] for i in counted])
           | dict.fromkeys(report.outputs, steps - 1))
    # A difference array over the steps: + bytes when a tensor appears, - after its last step.
    change = [0] * (steps + 1)
    tensors = [(NETWORK_INPUT, 0, report.input.elements * report.batch)]
    tensors += [(row, step[row], report.rows[row].activations) for row in counted]
    for tensor, start, elements in tensors:
        change[start] += elements * size
        change[end[tensor] + 1] -= elements * size
    live, alive = [], 0
    for delta in change[:-1]:
        alive += delta
        live.append(alive)
    peak = max(live, default=0)
    peak_at = report.rows[counted[live.index(peak)]].path if counted else ""
    return Memory(
        param_bytes=report.totals.param_bytes,
        input_bytes=report.input.elements * report.batch * size,
        activation_sum_bytes=report.totals.activation_bytes,
        peak_bytes=peak,
        peak_at=peak_at,
        live_bytes=tuple(live),
    )


@dataclass(frozen=True)
class TotalsComparison:
    """One architecture's totals in a multi-architecture report, with ratios to the first."""

    name: str
    params: int
    macs: int
    flops: int
    param_bytes: int
    peak_bytes: int
    activation_sum_bytes: int
    seconds: float | None  # with a device
    ratios: dict[str, float | None]


COMPARED = ("params", "macs", "flops", "param_bytes", "peak_bytes", "activation_sum_bytes")


def compared(summaries: Sequence[Summary]) -> tuple[str, ...]:
    """The figures a comparison shows: ``COMPARED``, and the roofline seconds when every
    report was analysed for a device."""
    timed = all(s.report.totals.seconds is not None for s in summaries)
    return COMPARED + (("seconds",) if timed else ())


def compare_totals(summaries: Sequence[Summary]) -> tuple[TotalsComparison, ...]:
    """The totals of several architectures side by side, each figure also as a ratio to the
    first architecture's (None where the first one's is zero)."""
    def figures(s: Summary) -> dict[str, int]:
        t, m = s.report.totals, s.memory
        return {"params": t.params, "macs": t.macs, "flops": t.flops,
                "param_bytes": m.param_bytes, "peak_bytes": m.peak_bytes,
                "activation_sum_bytes": m.activation_sum_bytes}

    base, first_seconds = figures(summaries[0]), summaries[0].report.totals.seconds
    timed = "seconds" in compared(summaries)
    out = []
    for s in summaries:
        values = figures(s)
        ratios: dict[str, float | None] = {k: values[k] / base[k] if base[k] else None
                                           for k in COMPARED}
        seconds = s.report.totals.seconds
        if timed:
            ratios["seconds"] = (seconds / first_seconds
                                 if first_seconds and seconds is not None else None)
        out.append(TotalsComparison(s.report.name, **values, seconds=seconds, ratios=ratios))
    return tuple(out)
