"""What one ``verify`` would cost, from the report alone, and the refusal when that is over the
limits in convcalc/limits.py: nothing is allocated or run before this check passes.

Memory follows the runner step by step. At row i the arrays alive are the network input until
its last reader, every earlier output that a later row still reads, the inputs and output of row
i, its weights (``params`` values) and the scratch its kernel holds besides them (``SCRATCH``,
from the kernels' own formulas for convolutions, a few tensors' worth for the others). The peak
over the steps must stay within MAX_VERIFY_BYTES. Work: the rows' macs within MAX_VERIFY_MACS,
and their element-wise operations (other_ops, plus the macs of depthwise layers, which the
reference sums tap by tap rather than in a matrix product, some 20 times slower per multiply)
within MAX_VERIFY_ELEMENTWISE, both sized so that verify finishes in a few seconds on a quiet
2-core machine (several times that while other jobs share its cores).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from convcalc.analysis.report import NETWORK_INPUT, LayerRow, Report, last_readers
from convcalc.errors import ConvcalcError
from convcalc.graph.layers import Conv, ConvTranspose, Upsample
from convcalc.graph.layers.attention import Attention
from convcalc.graph.shapes import Shape
from convcalc.limits import (
    MAX_VERIFY_BYTES,
    MAX_VERIFY_ELEMENTWISE,
    MAX_VERIFY_MACS,
    VERIFY_CHUNK_BYTES,
)
from convcalc.reference.kernels import conv2d_scratch_bytes, conv_transpose2d_scratch_bytes


def hint(report: Report, weights: bool = False) -> str:
    """How to get under a limit: a smaller input (64, or half one already at most 64), or,
    when the layer's weights are the cost, fewer filters or units."""
    if weights:
        return "give the layer fewer filters or units, or use a smaller --input"
    side = report.input.c if report.input.is_flat else max(report.input.hw)
    return f"use a smaller --input, e.g. --input {64 if side > 64 else max(side // 2, 1)}"


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


def _conv_transpose(row: LayerRow, inputs: tuple[Shape, ...], itemsize: int) -> int:
    layer, x = row.layer, inputs[0]
    if not isinstance(layer, ConvTranspose) or x.is_flat:
        return 0
    p = layer.padding
    padding = (p, p) if isinstance(p, int) else (int(p[0]), int(p[1]))
    weight = (*layer.kernel, x.c, layer.filters // layer.groups)
    return conv_transpose2d_scratch_bytes(
        (*x.hw, x.c), weight, stride=layer.stride, padding=padding,
        output_padding=layer.output_padding, dilation=layer.dilation, groups=layer.groups,
        itemsize=itemsize, cap_bytes=VERIFY_CHUNK_BYTES)


def _resampled(row: LayerRow, inputs: tuple[Shape, ...], itemsize: int) -> int:
    # Both kernels resize the height first: an intermediate of out.h x in.w x c, of which
    # bilinear holds a few (both neighbours and their weighted copies), then as many of the
    # output's size.
    x, out = inputs[0], row.output
    if x.is_flat or out.is_flat:
        return 0
    (_, w), (ho, _) = x.hw, out.hw
    middle = ho * w * x.c
    if isinstance(row.layer, Upsample) and row.layer.mode == "nearest":
        return middle * itemsize
    return (4 * middle + 3 * out.elements) * itemsize


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


def _attention(row: LayerRow, inputs: tuple[Shape, ...], itemsize: int) -> int:
    """Windows, Q, K, V and the mixed values (the size of the padded input each, two
    copies while they are split and cast) and four score tensors (scores, exponentials,
    softmax, bias) of heads x P x m, float64 where numpy promotes."""
    layer = row.layer
    assert isinstance(layer, Attention)
    positions, seen = layer.seen(inputs[0])
    values = positions * inputs[0].c
    return F64 * (10 * values + 4 * layer.heads * positions * seen)


# Kinds not listed hold a few temporaries (DEFAULT_SCRATCH), which errs on the safe side.
SCRATCH: dict[str, Scratch] = {
    "conv": _conv,
    "depthwise": _conv,
    "pointwise": _conv,
    "maxpool": _pool,
    "avgpool": _pool,
    "adaptive_avgpool": _adaptive_avg,
    "adaptive_maxpool": _resampled,  # gathers along the height, then the width
    "conv_transpose": _conv_transpose,
    "upsample": _resampled,
    "layernorm": _tensors(4, F64),  # centred values and their squares in float64
    "batchnorm": _tensors(1),
    "lrn": _tensors(8, F64),      # squares, prefix sums, windows, powers in float64
    "mul": _tensors(1),           # a product of three or more keeps one partial product
    "attention": _attention,
    "groupnorm": _tensors(6, F64),  # grouped copy, centred values, squares, normalised
    "matmul": _tensors(1),
    **dict.fromkeys(("sub", "div", "position_embedding", "reduce"), _tensors(2)),
    # Views, or one copy that is their output.
    **dict.fromkeys(("tokens", "image", "class_token", "select_token", "reshape", "transpose",
                     "unsqueeze", "stack", "pixel_shuffle", "space_to_depth"), _nothing),
    # Write their output only (add sums in place; flatten is a view; the pooled mean is small).
    **dict.fromkeys(("add", "concat", "dense", "dropout", "flatten", "zeropad", "relu",
                     "relu6", "global_avgpool", "channel_slice", "channel_shuffle", "crop",
                     "layer_scale", "stochastic_depth", "identity"), _nothing),
}
DEFAULT_SCRATCH = _tensors(3)     # element-wise formulas: a few temporaries (gelu's polynomial)


@dataclass(frozen=True)
class Estimate:
    """The cost of one verify: the peak bytes and the row where it happens (with its parts),
    and the work in macs and element-wise operations, with the row that does the most of each."""

    peak_bytes: int
    peak_row: int
    live_bytes: int
    weight_bytes: int
    scratch_bytes: int
    macs: int
    elementwise: int
    most_macs_row: int
    most_elementwise_row: int


def elementwise(row: LayerRow) -> int:
    """The element-wise operations the reference runs for a row: its other_ops, plus its
    multiplies when it is depthwise (one input channel per group)."""
    window = row.window
    depthwise = (isinstance(row.layer, Conv) and window is not None and window.groups > 1
                 and not row.input.is_flat and row.input.c == window.groups)
    return row.other_ops + (row.macs if depthwise else 0)


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


def steps(report: Report, itemsize: int) -> list[tuple[int, int, int]]:
    """Per row: the bytes verify holds while it runs (tensors alive, weights, scratch and the
    bookkeeping margin), the tensors' part and the scratch part of them."""
    needs = []
    for row, live in zip(report.rows, _live(report, itemsize), strict=True):
        scratch = SCRATCH.get(row.kind, DEFAULT_SCRATCH)(row, row.input_shapes, itemsize)
        needs.append((live + row.params * itemsize + scratch + BOOKKEEPING_BYTES, live,
                      scratch))
    return needs


def estimate(report: Report, itemsize: int) -> Estimate:
    """What verifying ``report`` at ``itemsize`` bytes per value would take (see the module
    docstring); the rows must not be empty."""
    needs = steps(report, itemsize)
    at = max(range(len(needs)), key=lambda i: needs[i][0])
    work = [elementwise(r) for r in report.rows]
    rows = range(len(report.rows))
    return Estimate(
        peak_bytes=needs[at][0], peak_row=at, live_bytes=needs[at][1],
        weight_bytes=report.rows[at].params * itemsize, scratch_bytes=needs[at][2],
        macs=sum(r.macs for r in report.rows), elementwise=sum(work),
        most_macs_row=max(rows, key=lambda i: report.rows[i].macs),
        most_elementwise_row=max(rows, key=work.__getitem__),
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
            f"it is capped at {_bytes(MAX_VERIFY_BYTES)}: "
            f"{hint(report, weights=cost.weight_bytes > cost.peak_bytes // 2)}"))
    if cost.macs > MAX_VERIFY_MACS:
        most = report.rows[cost.most_macs_row].macs
        raise refuse(cost.most_macs_row, (
            f"verify would run {_giga(cost.macs)}MACs, {_giga(most)}MACs in this layer alone; "
            f"it is capped at {_giga(MAX_VERIFY_MACS)}MACs (a few seconds): {hint(report)}"))
    if cost.elementwise > MAX_VERIFY_ELEMENTWISE:
        most = elementwise(report.rows[cost.most_elementwise_row])
        raise refuse(cost.most_elementwise_row, (
            f"verify would run {_giga(cost.elementwise)} element-wise operations (activations, "
            f"pooling windows, depthwise taps), {_giga(most)} in this layer alone; it is capped "
            f"at {_giga(MAX_VERIFY_ELEMENTWISE)}: {hint(report)}"))
    return cost
