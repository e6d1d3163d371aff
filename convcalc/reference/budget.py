"""What one ``verify`` would cost, from the report alone, and the refusal when that is over the
limits in convcalc/limits.py: nothing is allocated or run before this check passes.

Memory follows the runner step by step. At row i the arrays alive are the network input until
its last reader, every earlier output that a later row still reads, the inputs and output of row
i, its weights (``params`` values) and the scratch its kernel holds besides them (``SCRATCH``,
from the kernels' own formulas for convolutions, a few tensors' worth for the others). The peak
over the steps must stay within MAX_VERIFY_BYTES. Work: the rows' macs within MAX_VERIFY_MACS
and their other operations within MAX_VERIFY_OTHER_OPS, both sized so that verify finishes in
about 10 s on a 2-core machine.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from convcalc.analysis import NETWORK_INPUT, LayerRow, Report, last_readers
from convcalc.errors import ConvcalcError
from convcalc.layers import Conv
from convcalc.limits import (
    MAX_VERIFY_BYTES,
    MAX_VERIFY_MACS,
    MAX_VERIFY_OTHER_OPS,
    VERIFY_CHUNK_BYTES,
)
from convcalc.reference.kernels import conv2d_scratch_bytes
from convcalc.shapes import Shape

HINT = "use a smaller --input, e.g. --input 64"
# The runner's own small objects beside the arrays (about 1 MiB measured with tracemalloc).
BOOKKEEPING_BYTES = 4 << 20
F64 = 8  # bytes of the float64 statistics some kernels keep whatever the dtype

# Bytes a row's kernel holds besides its inputs, output and weights: (row, input shapes,
# itemsize) -> bytes.
Scratch = Callable[[LayerRow, tuple[Shape, ...], int], int]


def _nothing(row: LayerRow, inputs: tuple[Shape, ...], itemsize: int) -> int:
    return 0


def _tensors(count: int, itemsize: int | None = None) -> Scratch:
    """``count`` temporaries the size of the larger of the first input and the output, in the
    reference's dtype (or ``itemsize`` bytes each, for float64 internals)."""
    def scratch(row: LayerRow, inputs: tuple[Shape, ...], size: int) -> int:
        largest = max(inputs[0].elements if inputs else 0, row.output.elements)
        return count * largest * (itemsize or size)
    return scratch


def _conv(row: LayerRow, inputs: tuple[Shape, ...], itemsize: int) -> int:
    window, x = row.window, inputs[0]
    if window is None or not isinstance(row.layer, Conv) or x.is_flat:
        return 0
    weight = (*window.kernel, x.c // window.groups, row.output.c)
    return conv2d_scratch_bytes((*x.hw, x.c), weight, stride=window.stride,
                                padding=window.padding, dilation=window.dilation,
                                groups=window.groups, itemsize=itemsize,
                                cap_bytes=VERIFY_CHUNK_BYTES)


def _pool(row: LayerRow, inputs: tuple[Shape, ...], itemsize: int) -> int:
    # The padded input, with ceil_mode's overhang (at most a kernel more per axis).
    window, x = row.window, inputs[0]
    if window is None or x.is_flat:
        return 0
    (h, w), (top, bottom, left, right), (kh, kw) = x.hw, window.padding, window.kernel
    return (h + top + bottom + kh) * (w + left + right + kw) * x.c * itemsize


def _adaptive_avg(row: LayerRow, inputs: tuple[Shape, ...], itemsize: int) -> int:
    # Float64 prefix sums and their cumulative sums, then gathered rows and corners.
    x, out = inputs[0], row.output
    if x.is_flat or out.is_flat:
        return 0
    (h, w), (ho, _) = x.hw, out.hw
    return F64 * (3 * (h + 1) * (w + 1) * x.c + 4 * ho * (w + 1) * x.c + 6 * out.elements)


# Kinds not listed hold a few temporaries (DEFAULT_SCRATCH), which errs on the safe side.
SCRATCH: dict[str, Scratch] = {
    "conv": _conv,
    "depthwise": _conv,
    "pointwise": _conv,
    "maxpool": _pool,
    "avgpool": _pool,
    "adaptive_avgpool": _adaptive_avg,
    "batchnorm": _tensors(1),
    "lrn": _tensors(8, F64),      # squares, prefix sums, windows, powers in float64
    "mul": _tensors(1),           # a product of three or more keeps one partial product
    # Write their output only (add sums in place; flatten is a view; the pooled mean is small).
    **dict.fromkeys(("add", "concat", "dense", "dropout", "flatten", "zeropad", "relu",
                     "relu6", "global_avgpool"), _nothing),
}
DEFAULT_SCRATCH = _tensors(3)     # element-wise formulas: a few temporaries (gelu's polynomial)


@dataclass(frozen=True)
class Estimate:
    """The cost of one verify: the peak bytes and the row where it happens (with its parts),
    and the work in macs and other operations, with the row that does the most of each."""

    peak_bytes: int
    peak_row: int
    live_bytes: int
    weight_bytes: int
    scratch_bytes: int
    macs: int
    other_ops: int
    most_macs_row: int
    most_other_ops_row: int


def _input_shapes(report: Report, row: LayerRow) -> tuple[Shape, ...]:
    return tuple(report.rows[j].output if j >= 0 else report.input for j in row.inputs)


def _live(report: Report, itemsize: int) -> list[int]:
    """Bytes of the arrays alive at each step, inputs and output included: the runner keeps a
    tensor from the step that makes it to its last reader (the input from the start)."""
    rows: Sequence[LayerRow] = report.rows
    last = last_readers(rows)
    change = [0] * (len(rows) + 1)

    def alive(start: int, end: int, elements: int) -> None:
        change[start] += elements * itemsize
        change[end + 1] -= elements * itemsize

    alive(0, last.get(NETWORK_INPUT, 0), report.input.elements)
    for i, row in enumerate(rows):
        alive(i, max(i, last.get(i, i)), row.output.elements)
    live, total = [], 0
    for delta in change[:-1]:
        total += delta
        live.append(total)
    return live


def steps(report: Report, itemsize: int) -> list[tuple[int, int]]:
    """Per row: the bytes verify holds while it runs (tensors alive, weights, scratch and the
    bookkeeping margin) and the scratch part of them."""
    live = _live(report, itemsize)
    needs = []
    for i, row in enumerate(report.rows):
        scratch = SCRATCH.get(row.kind, DEFAULT_SCRATCH)(row, _input_shapes(report, row),
                                                         itemsize)
        needs.append((live[i] + row.params * itemsize + scratch + BOOKKEEPING_BYTES, scratch))
    return needs


def estimate(report: Report, itemsize: int) -> Estimate:
    """What verifying ``report`` at ``itemsize`` bytes per value would take (see the module
    docstring); the rows must not be empty."""
    needs = steps(report, itemsize)
    at = max(range(len(needs)), key=lambda i: needs[i][0])
    rows = range(len(report.rows))
    return Estimate(
        peak_bytes=needs[at][0], peak_row=at, live_bytes=_live(report, itemsize)[at],
        weight_bytes=report.rows[at].params * itemsize, scratch_bytes=needs[at][1],
        macs=sum(r.macs for r in report.rows),
        other_ops=sum(r.other_ops for r in report.rows),
        most_macs_row=max(rows, key=lambda i: report.rows[i].macs),
        most_other_ops_row=max(rows, key=lambda i: report.rows[i].other_ops),
    )


def _bytes(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.0f} MiB"


def _giga(n: int) -> str:
    return f"{n / 1e9:,.1f} G"


def check(report: Report, itemsize: int) -> Estimate:
    """The estimate, or a ConvcalcError located at the row that breaks a limit: the memory
    peak's row, or the row with the most macs (other operations)."""
    if not report.rows:
        raise ConvcalcError("the network has no layers to verify; add layers under 'layers:'")
    cost = estimate(report, itemsize)

    def refuse(i: int, message: str) -> ConvcalcError:
        row = report.rows[i]
        return ConvcalcError(message, line=row.line, path=row.path, kind=row.kind)

    if cost.peak_bytes > MAX_VERIFY_BYTES:
        parts = [f"{_bytes(cost.live_bytes)} of tensors alive"]
        parts += [f"{_bytes(n)} of {what}" for n, what in ((cost.weight_bytes, "weights"),
                                                           (cost.scratch_bytes, "working memory"))
                  if n]
        raise refuse(cost.peak_row, (
            f"verify would need {_bytes(cost.peak_bytes)} at this layer ({', '.join(parts)}); "
            f"it is capped at {_bytes(MAX_VERIFY_BYTES)}: {HINT}"))
    if cost.macs > MAX_VERIFY_MACS:
        most = report.rows[cost.most_macs_row].macs
        raise refuse(cost.most_macs_row, (
            f"verify would run {_giga(cost.macs)}MACs, {_giga(most)}MACs in this layer alone; "
            f"it is capped at {_giga(MAX_VERIFY_MACS)}MACs (about 10 s): {HINT}"))
    if cost.other_ops > MAX_VERIFY_OTHER_OPS:
        most = report.rows[cost.most_other_ops_row].other_ops
        raise refuse(cost.most_other_ops_row, (
            f"verify would run {_giga(cost.other_ops)} operations besides multiplies, "
            f"{_giga(most)} in this layer alone; it is capped at "
            f"{_giga(MAX_VERIFY_OTHER_OPS)} (about 10 s): {HINT}"))
    return cost
