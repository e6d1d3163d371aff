"""The numpy reference's layer kernels: pure functions of arrays that also return the multiplies
they executed.

Layout: one image, height x width x channels (NHWC with batch 1, the layout of ``Shape``); a flat
vector is 1-D. Convolution weights are kh x kw x (c_in / groups) x filters (HWIO); output channel
o belongs to group o // (filters / groups), as in PyTorch.

A convolution or dense kernel counts the multiplies of the operands it contracted: output
positions it produced x contraction length (taps x input channels per group, from the weight
array) x filters. Nothing else multiplies in the engine's convention (see layers.py).
"""

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convcalc.errors import ConvcalcError
from convcalc.graph.shapes import Pads, Pair, output_size
from convcalc.limits import VERIFY_CHUNK_BYTES

Array = np.ndarray[Any, Any]
# Largest intermediate (im2col matrix or tap products) a layer may build at once; bigger ones
# are computed in chunks of output positions (verify's memory budget counts one chunk).
DEFAULT_CAP_BYTES = VERIFY_CHUNK_BYTES
# Depthwise and pooling sweep their taps over blocks of output rows this large (in bytes per
# array), so the running sum stays in the L2 cache; two threads share the blocks.
_TAP_BLOCK_BYTES = 192 << 10
_THREADS = min(2, os.cpu_count() or 1)


# ---------------------------------------------------------------- convolution


def pad(x: Array, padding: Pads, value: float = 0.0) -> Array:
    """x (h, w, c) with (top, bottom, left, right) rows and columns of ``value`` around it."""
    top, bottom, left, right = padding
    if not any(padding):
        return x
    return np.pad(x, ((top, bottom), (left, right), (0, 0)), constant_values=value)


def _out_len(n: int, kernel: int, stride: int, dilation: int) -> int:
    """Windows that fit in an (already padded) axis of length n: what the array gives."""
    return max((n - dilation * (kernel - 1) - 1) // stride + 1, 0)


def _windows(xp: Array, rows: range, cols: range, *, kernel: Pair, stride: Pair,
             dilation: Pair) -> Array:
    """A view (rows, cols, kh, kw, c) of the windows of padded xp for a rectangle of output
    positions."""
    sy, sx, sc = xp.strides
    return as_strided(xp[rows.start * stride[0]:, cols.start * stride[1]:],
                      (len(rows), len(cols), *kernel, xp.shape[2]),
                      (sy * stride[0], sx * stride[1], sy * dilation[0], sx * dilation[1], sc),
                      writeable=False)


def _tap(xp: Array, i: int, j: int, rows: range, *, wo: int, stride: Pair,
         dilation: Pair) -> Array:
    """The strided slice of padded xp that tap (i, j) reads for output rows ``rows``."""
    y = rows.start * stride[0] + i * dilation[0]
    x = j * dilation[1]
    return xp[y:y + (len(rows) - 1) * stride[0] + 1:stride[0], x:x + (wo - 1) * stride[1] + 1:
              stride[1]]


def _row_blocks(ho: int, bytes_per_row: int, cap: int) -> Iterator[range]:
    step = max(1, min(ho, cap // max(bytes_per_row, 1)))
    for y in range(0, ho, step):
        yield range(y, min(ho, y + step))


def position_blocks(h: int, w: int, bytes_per_position: int,
                    cap: int) -> Iterator[tuple[range, range]]:
    """Rectangles (rows, cols) covering an h x w grid whose positions take at most ``cap``
    bytes each (at least one position): blocks of whole rows while a row fits, else pieces of
    one row, so a single wide row never exceeds the cap."""
    per_position = max(bytes_per_position, 1)
    if w * per_position <= cap:
        for rows in _row_blocks(h, w * per_position, cap):
            yield rows, range(w)
        return
    step = max(1, cap // per_position)
    for y in range(h):
        for x in range(0, w, step):
            yield range(y, y + 1), range(x, min(w, x + step))


def im2col_position_bytes(taps: int, c_in: int, filters: int, itemsize: int) -> int:
    """Bytes the im2col path holds per output position of a chunk: the gathered windows and
    their grouped copy, the product and its reordered copy."""
    return (2 * taps * c_in + 2 * filters) * itemsize


def conv2d(x: Array, weight: Array, bias: Array | None, *, stride: Pair = (1, 1),
           padding: Pads = (0, 0, 0, 0), dilation: Pair = (1, 1), groups: int = 1,
           cap_bytes: int = DEFAULT_CAP_BYTES) -> tuple[Array, int]:
    """Convolution of x (h, w, c) with weight (kh, kw, c / groups, filters): (output, macs).

    Four contraction orders, chosen by shape: a 1x1 convolution without padding multiplies the
    (strided) input by the weights; depthwise (one input channel per group) sums its
    taps element-wise; a stride-1 convolution with fewer filters than input channels multiplies
    the input by all taps at once and sums shifted slices (a small intermediate); everything
    else builds the im2col matrix in chunks of output positions, one matrix product each.
    """
    kh, kw, cg, filters = weight.shape
    if x.shape[2] != cg * groups or filters % groups:
        raise ConvcalcError(f"weight {weight.shape} does not fit input {x.shape} with "
                            f"groups={groups}")
    top, bottom, left, right = padding
    ho = _out_len(x.shape[0] + top + bottom, kh, stride[0], dilation[0])
    wo = _out_len(x.shape[1] + left + right, kw, stride[1], dilation[1])
    if _pointwise(weight.shape, groups=groups, padding=padding):
        # 1x1 without padding: the windows are the (strided) input itself.
        flat = x[::stride[0], ::stride[1]].reshape(ho * wo, cg)
        out = (flat @ weight.reshape(cg, filters)).reshape(ho, wo, filters)
        macs = flat.shape[0] * flat.shape[1] * filters
    elif cg == 1 and groups > 1:
        out, macs = _depthwise(x, weight, padding=padding, stride=stride, dilation=dilation,
                               ho=ho, wo=wo)
    elif _shift_add_pays(x.shape, weight.shape, groups=groups, stride=stride, ho=ho, wo=wo,
                         itemsize=x.itemsize, cap_bytes=cap_bytes):
        out, macs = _shift_add(x, weight, padding=padding, dilation=dilation, ho=ho, wo=wo)
    else:
        out, macs = _im2col(pad(x, padding), weight, groups=groups, kernel=(kh, kw),
                            stride=stride, dilation=dilation, ho=ho, wo=wo, cap_bytes=cap_bytes)
    if bias is not None:
        out += bias
    return out, macs


def _pointwise(weight: tuple[int, ...], *, groups: int, padding: Pads) -> bool:
    return weight[:2] == (1, 1) and groups == 1 and not any(padding)


def conv2d_scratch_bytes(x: tuple[int, int, int], weight: tuple[int, int, int, int], *,
                         stride: Pair, padding: Pads, dilation: Pair, groups: int, itemsize: int,
                         cap_bytes: int = DEFAULT_CAP_BYTES) -> int:
    """The most memory ``conv2d`` holds besides its input and output, from the shapes alone
    (what ``verify`` charges before it runs): a copy of the weights and, by the path conv2d
    takes, the depthwise row weights, repeated input and phases; the per-tap products; or the
    padded input and the largest im2col chunk."""
    h, w, c = x
    kh, kw, cg, filters = weight
    top, bottom, left, right = padding
    ho = _out_len(h + top + bottom, kh, stride[0], dilation[0])
    wo = _out_len(w + left + right, kw, stride[1], dilation[1])
    elements = kh * kw * cg * filters
    if _pointwise(weight, groups=groups, padding=padding):
        elements += ho * wo * c if stride != (1, 1) else 0  # the strided input, copied
    elif cg == 1 and groups > 1:
        repeated = h * w * filters if filters > c else 0
        phases = h * w * filters if stride != (1, 1) else 0
        blocks = _THREADS * max(_TAP_BLOCK_BYTES // itemsize, wo * filters)
        elements += kh * kw * wo * filters + repeated + phases + blocks
    elif _shift_add_pays(x, weight, groups=groups, stride=stride, ho=ho, wo=wo,
                         itemsize=itemsize, cap_bytes=cap_bytes):
        elements += h * w * kh * kw * filters
    else:
        padded = (h + top + bottom) * (w + left + right) * c if any(padding) else 0
        per_position = im2col_position_bytes(kh * kw, c, filters, itemsize)
        return (elements + padded) * itemsize + _largest_block(ho, wo, per_position, cap_bytes)
    return elements * itemsize


def _largest_block(h: int, w: int, bytes_per_position: int, cap: int) -> int:
    """Bytes of the largest block ``position_blocks`` makes."""
    rows, cols = next(position_blocks(h, w, bytes_per_position, cap), (range(0), range(0)))
    return len(rows) * len(cols) * bytes_per_position


def _im2col(xp: Array, weight: Array, *, groups: int, kernel: Pair, stride: Pair, dilation: Pair,
            ho: int, wo: int, cap_bytes: int) -> tuple[Array, int]:
    kh, kw, cg, filters = weight.shape
    fg = filters // groups
    # (groups, taps * cg, fg): group g's filters read its cg channels at every tap.
    wmat = weight.reshape(kh * kw * cg, groups, fg).transpose(1, 0, 2)
    out = np.empty((ho, wo, filters), xp.dtype)
    macs = 0
    per_position = im2col_position_bytes(kh * kw, xp.shape[2], filters, xp.itemsize)
    for rows, cols in position_blocks(ho, wo, per_position, cap_bytes):
        view = _windows(xp, rows, cols, kernel=kernel, stride=stride, dilation=dilation)
        n = len(rows) * len(cols)
        if groups == 1:
            windows = view.reshape(n, kh * kw * cg)[None]
        else:
            windows = view.reshape(n, kh * kw, groups, cg).transpose(2, 0, 1, 3)
            windows = windows.reshape(groups, n, kh * kw * cg)
        product = np.matmul(windows, wmat)  # (groups, positions, fg)
        macs += windows.shape[0] * windows.shape[1] * windows.shape[2] * wmat.shape[2]
        out[rows.start:rows.stop, cols.start:cols.stop] = (
            product.transpose(1, 0, 2).reshape(len(rows), len(cols), filters))
    return out, macs


def _shift_add_pays(x: tuple[int, ...], weight: tuple[int, ...], *, groups: int, stride: Pair,
                    ho: int, wo: int, itemsize: int, cap_bytes: int) -> bool:
    """Multiplying first pays when the per-tap products are smaller than the im2col matrix and
    the input has few positions the output does not use (shapes of x and the weight)."""
    kh, kw, cg, filters = weight
    h, w = x[:2]
    products = h * w * kh * kw * filters * itemsize
    return (groups == 1 and stride == (1, 1) and kh * kw > 1 and filters < cg
            and h * w <= 1.25 * ho * wo and products <= cap_bytes)


def _shift_add(x: Array, weight: Array, *, padding: Pads, dilation: Pair, ho: int,
               wo: int) -> tuple[Array, int]:
    """Stride 1: products[y, x, i, j] = x[y, x] . weight[i, j] in one matrix product, then
    out[y, x] = sum over taps of products[y + i*d - top, x + j*d - left, i, j] where that lies
    inside the input (positions in the padding contribute zero)."""
    kh, kw, cg, filters = weight.shape
    h, w = x.shape[:2]
    wmat = weight.transpose(2, 0, 1, 3).reshape(cg, kh * kw * filters)
    flat = x.reshape(h * w, cg)
    products = (flat @ wmat).reshape(h, w, kh, kw, filters)
    out = np.zeros((ho, wo, filters), x.dtype)
    top, left = padding[0], padding[2]
    for i in range(kh):
        y0, y1 = max(0, top - i * dilation[0]), min(ho, h + top - i * dilation[0])
        for j in range(kw):
            x0, x1 = max(0, left - j * dilation[1]), min(wo, w + left - j * dilation[1])
            if y0 < y1 and x0 < x1:
                dy, dx = i * dilation[0] - top, j * dilation[1] - left
                out[y0:y1, x0:x1] += products[y0 + dy:y1 + dy, x0 + dx:x1 + dx, i, j]
    # Every output position contracts cg channels at kh * kw taps for each filter.
    return out, out.shape[0] * out.shape[1] * wmat.shape[0] * wmat.shape[1]


@dataclass(frozen=True)
class _DepthwiseTap:
    """Tap (i, j) of a depthwise kernel: the output rows and columns whose window puts it inside
    the input (elsewhere it meets padding, which adds nothing), and where those read ``source``."""

    i: int
    j: int
    source: Array
    rows: range
    cols: range
    row_offset: int
    col_offset: int


def _depthwise_taps(x: Array, kernel: Pair, *, padding: Pads, stride: Pair, dilation: Pair,
                    ho: int, wo: int) -> list[_DepthwiseTap]:
    """The taps that read the input anywhere. A stride s splits the input once into s x s
    contiguous phases (x[p::s, q::s]); output (y, x) of tap (i, j) reads phase
    ((i*d - top) mod s, ...) at (y + (i*d - top) // s, ...), so every tap is a stride-1 slice
    whose rows are contiguous runs of positions x channels."""
    phases: dict[tuple[int, int], Array] = {}
    taps = []
    for i in range(kernel[0]):
        p, row_offset = _phase(i * dilation[0] - padding[0], stride[0])
        for j in range(kernel[1]):
            q, col_offset = _phase(j * dilation[1] - padding[2], stride[1])
            if (p, q) not in phases:
                phase = x[p::stride[0], q::stride[1]]
                phases[p, q] = phase if stride == (1, 1) else np.ascontiguousarray(phase)
            source = phases[p, q]
            rows = range(max(0, -row_offset), min(ho, source.shape[0] - row_offset))
            cols = range(max(0, -col_offset), min(wo, source.shape[1] - col_offset))
            if rows and cols:
                taps.append(_DepthwiseTap(i, j, source, rows, cols, row_offset, col_offset))
    return taps


def _phase(offset: int, stride: int) -> tuple[int, int]:
    """Input index stride*y + offset as (phase, offset within the phase): stride*(y + o) + p."""
    return offset % stride, offset // stride


def _depthwise(x: Array, weight: Array, *, padding: Pads, stride: Pair, dilation: Pair,
               ho: int, wo: int) -> tuple[Array, int]:
    """One input channel per group: out[y, x, c] = sum over taps of input * w[tap, c], one
    multiply and one add per tap over blocks of output rows small enough to stay in cache, two
    threads at a time. Channels stay last (no transposes) and nothing is padded: each tap runs
    over the output rectangle where it reads the input, with its weights repeated along a whole
    row so numpy's inner loop covers a row's positions x channels, not one position's channels.
    """
    kh, kw, _, filters = weight.shape
    multiplier = filters // x.shape[2]
    if multiplier > 1:
        x = np.repeat(x, multiplier, axis=2)  # output channel o reads input channel o // m
    w_rows = np.ascontiguousarray(
        np.broadcast_to(weight.reshape(kh, kw, 1, filters), (kh, kw, wo, filters)))
    taps = _depthwise_taps(x, (kh, kw), padding=padding, stride=stride, dilation=dilation,
                           ho=ho, wo=wo)
    # A tap that reaches every output position (the centre one under 'same' padding) starts
    # the sum by writing it; without one the sum starts from zero.
    first = next((t for t in taps if t.rows == range(ho) and t.cols == range(wo)), None)
    taps.sort(key=lambda tap: tap is not first)
    out = np.empty((ho, wo, filters), x.dtype)

    def block(rows: range) -> int:
        acc = out[rows.start:rows.stop]
        scratch = np.empty_like(acc)
        if first is None:
            acc.fill(0)
        for tap in taps:
            y0, y1 = max(rows.start, tap.rows.start), min(rows.stop, tap.rows.stop)
            if y0 >= y1:
                continue
            x0, x1 = tap.cols.start, tap.cols.stop
            source = tap.source[y0 + tap.row_offset:y1 + tap.row_offset,
                                x0 + tap.col_offset:x1 + tap.col_offset]
            if tap is first:
                np.multiply(source, w_rows[tap.i, tap.j], out=acc)
                continue
            product = scratch[:y1 - y0, :x1 - x0]
            np.multiply(source, w_rows[tap.i, tap.j, x0:x1], out=product)
            target = acc[y0 - rows.start:y1 - rows.start, x0:x1]
            np.add(target, product, out=target)
        # Every tap's weights meet every output position of the block (padding adds zeros, and
        # the engine counts those multiplies too).
        return acc.size * int(w_rows.shape[0] * w_rows.shape[1])

    macs = _each_block(block, ho, wo * filters * x.itemsize)
    return out, macs


def _each_block(work: Callable[[range], int], ho: int, row_bytes: int) -> int:
    """work(rows) over cache-sized blocks of output rows, on up to two threads (numpy's
    element-wise loops release the GIL), each under the caller's ``np.errstate``; the sum of
    what work returns."""
    blocks = list(_row_blocks(ho, row_bytes, _TAP_BLOCK_BYTES))
    if _THREADS == 1 or len(blocks) < 4:
        return sum(map(work, blocks))
    state = np.geterr()  # a new thread starts with numpy's defaults, not the caller's

    def in_state(rows: range) -> int:
        with np.errstate(**state):
            return work(rows)
    return sum(_thread_pool().map(in_state, blocks))


@contextlib.contextmanager
def checked_arithmetic(whose: str = "its") -> Iterator[None]:
    """Within the block, a numpy overflow, invalid operation (inf - inf, 0 x inf) or division
    by zero is a ConvcalcError instead of a RuntimeWarning on stderr and inf or nan in the
    result; values too small to represent still become 0. ``whose`` starts the message."""
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            yield
    except FloatingPointError as e:
        raise ConvcalcError(f"{whose} values leave floating point ({e}); the reference "
                            "cannot compute them") from None


@functools.cache
def _thread_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_THREADS, thread_name_prefix="convcalc-reference")


# ---------------------------------------------------------------- transposed convolution


def conv_transpose_size(n: int, kernel: int, stride: int, padding: int, output_padding: int,
                        dilation: int) -> int:
    """PyTorch's ConvTranspose2d output length: (n - 1) s - 2p + d (f - 1) + output_padding + 1."""
    return (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def conv_transpose2d_scratch_bytes(x: tuple[int, int, int], weight: tuple[int, int, int, int],
                                   *, stride: Pair, padding: Pair, output_padding: Pair,
                                   dilation: Pair, groups: int, itemsize: int,
                                   cap_bytes: int = DEFAULT_CAP_BYTES) -> int:
    """The most memory ``conv_transpose2d`` holds besides its input and output: a copy of the
    weights, the uncropped canvas and the largest block of products."""
    h, w, c = x
    kh, kw, _, fg = weight
    ho, wo = (conv_transpose_size(n, k, s, p, op, d) for n, k, s, p, op, d in
              zip((h, w), (kh, kw), stride, padding, output_padding, dilation, strict=True))
    canvas = (max((h - 1) * stride[0] + dilation[0] * (kh - 1) + 1, ho + padding[0])
              * max((w - 1) * stride[1] + dilation[1] * (kw - 1) + 1, wo + padding[1])
              * groups * fg)
    per_position = _transpose_position_bytes(c, groups, kh * kw, fg, itemsize)
    return ((kh * kw * c * fg + canvas) * itemsize
            + _largest_block(h, w, per_position, cap_bytes))


def _transpose_position_bytes(c: int, groups: int, taps: int, fg: int, itemsize: int) -> int:
    """Bytes per input position of a block: its input copy, the product and a reordered copy."""
    return (c + 2 * groups * taps * fg) * itemsize


def conv_transpose2d(x: Array, weight: Array, bias: Array | None, *, stride: Pair = (1, 1),
                     padding: Pair = (0, 0), output_padding: Pair = (0, 0),
                     dilation: Pair = (1, 1), groups: int = 1,
                     cap_bytes: int = DEFAULT_CAP_BYTES) -> tuple[Array, int]:
    """Transposed convolution of x (h, w, c_in) with weight (kh, kw, c_in, filters / groups),
    as PyTorch's ConvTranspose2d: (output, macs).

    Every input position scatters x[y, x] . w[i, j] to output (y s + i d - p, x s + j d - p).
    Per group, one matrix product x (positions, c_in / groups) @ w (c_in / groups, taps x
    filters / groups) over blocks of input positions, then each tap's products are added into
    a strided slice of an uncropped canvas, which is cropped by the padding at the end. The
    multiplies are those of the products: every input position x c_in x taps x filters / groups,
    including those that land in the cropped border (as torch.utils.flop_counter counts).
    """
    h, w, c = x.shape
    kh, kw, c_in, fg = weight.shape
    if c != c_in or c % groups:
        raise ConvcalcError(f"weight {weight.shape} does not fit input {x.shape} with "
                            f"groups={groups}")
    cg = c // groups
    ho, wo = (conv_transpose_size(n, k, s, p, op, d) for n, k, s, p, op, d in
              zip((h, w), (kh, kw), stride, padding, output_padding, dilation, strict=True))
    if ho < 1 or wo < 1:
        raise ConvcalcError(f"transposed convolution of {x.shape} gives {ho}x{wo}")
    # The canvas holds every scattered product, and reaches past them when output_padding
    # exceeds the padding (those cells only get the bias).
    canvas = np.zeros((max((h - 1) * stride[0] + dilation[0] * (kh - 1) + 1, ho + padding[0]),
                       max((w - 1) * stride[1] + dilation[1] * (kw - 1) + 1, wo + padding[1]),
                       groups, fg), x.dtype)
    # (groups, cg, taps * fg): group g's input channels against every tap of its filters.
    # Contiguous operands: numpy's matmul calls BLAS only on those.
    wmat = np.ascontiguousarray(weight.reshape(kh * kw, groups, cg, fg).transpose(1, 2, 0, 3)
                                ).reshape(groups, cg, kh * kw * fg)
    macs = 0
    per_position = _transpose_position_bytes(c, groups, kh * kw, fg, x.itemsize)
    for rows, cols in position_blocks(h, w, per_position, cap_bytes):
        block = x[rows.start:rows.stop, cols.start:cols.stop]
        n = len(rows) * len(cols)
        inputs = np.ascontiguousarray(block.reshape(n, groups, cg).transpose(1, 0, 2))
        product = np.matmul(inputs, wmat)  # (groups, positions, taps * fg)
        macs += product.shape[0] * product.shape[1] * inputs.shape[2] * product.shape[2]
        taps = product.reshape(groups, len(rows), len(cols), kh, kw, fg).transpose(
            3, 4, 1, 2, 0, 5)  # (kh, kw, rows, cols, groups, fg)
        for i in range(kh):
            y = rows.start * stride[0] + i * dilation[0]
            for j in range(kw):
                x0 = cols.start * stride[1] + j * dilation[1]
                target = canvas[y:y + (len(rows) - 1) * stride[0] + 1:stride[0],
                                x0:x0 + (len(cols) - 1) * stride[1] + 1:stride[1]]
                target += taps[i, j]
    out = canvas[padding[0]:padding[0] + ho, padding[1]:padding[1] + wo].reshape(
        ho, wo, groups * fg)
    if bias is not None:
        out = out + bias
    return np.ascontiguousarray(out), macs


# ---------------------------------------------------------------- pooling


def pool2d(x: Array, kernel: Pair, stride: Pair, padding: Pads, *, ceil_mode: bool = False,
           mode: str = "max") -> Array:
    """Max or average pooling as PyTorch computes it: padding counts in the average's divisor
    (count_include_pad=True) but the extra cells ceil_mode adds past the padding do not."""
    h, w = x.shape[:2]
    top, bottom, left, right = padding
    # ceil_mode may let the last window run past the padded input: pad that far, then read the
    # number of windows off the array.
    ho = output_size(h, kernel[0], stride[0], top, bottom, ceil_mode=ceil_mode)
    wo = output_size(w, kernel[1], stride[1], left, right, ceil_mode=ceil_mode)
    extra_h = max((ho - 1) * stride[0] + kernel[0] - (h + top + bottom), 0)
    extra_w = max((wo - 1) * stride[1] + kernel[1] - (w + left + right), 0)
    fill = -np.inf if mode == "max" else 0.0
    xp = pad(x, (top, bottom + extra_h, left, right + extra_w), fill)
    ho = _out_len(xp.shape[0], kernel[0], stride[0], 1)
    wo = _out_len(xp.shape[1], kernel[1], stride[1], 1)
    out = np.empty((ho, wo, x.shape[2]), x.dtype)
    combine = np.maximum if mode == "max" else np.add

    def block(rows: range) -> int:
        acc = out[rows.start:rows.stop]
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                tap = _tap(xp, i, j, rows, wo=wo, stride=stride, dilation=(1, 1))
                if i == j == 0:
                    acc[...] = tap
                else:
                    combine(acc, tap, out=acc)
        return 0

    _each_block(block, ho, wo * x.shape[2] * x.itemsize)
    if mode == "avg":
        out /= _window_cells(h + top + bottom, kernel[0], stride[0], ho)[:, None, None]
        out /= _window_cells(w + left + right, kernel[1], stride[1], wo)[None, :, None]
    return out


def _window_cells(padded: int, kernel: int, stride: int, n_out: int) -> Array:
    starts = np.arange(n_out) * stride
    return (np.minimum(starts + kernel, padded) - starts).astype(np.float64)


def adaptive_avg_pool2d(x: Array, size: Pair) -> Array:
    """PyTorch's adaptive average pooling: window i of n_out covers floor(i*n/n_out) ..
    ceil((i+1)*n/n_out), summed from prefix sums (float64, so long sums stay exact enough)."""
    h, w = x.shape[:2]
    sums = np.zeros((h + 1, w + 1, x.shape[2]), np.float64)
    sums[1:, 1:] = x.cumsum(0, dtype=np.float64).cumsum(1)
    y0, y1 = _adaptive_bounds(h, size[0])
    x0, x1 = _adaptive_bounds(w, size[1])
    total = (sums[y1][:, x1] - sums[y0][:, x1] - sums[y1][:, x0] + sums[y0][:, x0])
    cells = ((y1 - y0)[:, None] * (x1 - x0)[None, :])[..., None]
    out: Array = (total / cells).astype(x.dtype)
    return out


def _adaptive_bounds(n: int, n_out: int) -> tuple[Array, Array]:
    i = np.arange(n_out)
    return i * n // n_out, -(-(i + 1) * n // n_out)


# ---------------------------------------------------------------- element-wise


def _sigmoid(x: Array) -> Array:
    return 0.5 * (1 + np.tanh(0.5 * x))  # never overflows, unlike 1 / (1 + exp(-x))


def _softmax(x: Array) -> Array:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    out: Array = e / e.sum(axis=-1, keepdims=True)
    return out


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),  # PyTorch's default slope
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    # numpy has no erf: the tanh form PyTorch offers as gelu(approximate='tanh').
    # x * x * x, not x ** 3: numpy's float32 power is about 300 times slower.
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x))),
    "silu": lambda x: x * _sigmoid(x),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "hardswish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hardsigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "softmax": _softmax,
}


def local_response_norm(x: Array, size: int, alpha: float, beta: float, k: float) -> Array:
    """PyTorch's LRN across channels: x / (k + alpha/size * sum of x^2 over the window of
    ``size`` channels centred on each one, zero-padded)^beta."""
    squares = np.square(x, dtype=np.float64)
    sums = np.concatenate([np.zeros((*x.shape[:-1], 1)), squares.cumsum(-1)], axis=-1)
    c = np.arange(x.shape[-1])
    lo = np.clip(c - size // 2, 0, x.shape[-1])
    hi = np.clip(c + (size - 1) // 2 + 1, 0, x.shape[-1])
    window = sums[..., hi] - sums[..., lo]
    out: Array = (x / (k + alpha / size * window) ** beta).astype(x.dtype)
    return out




# ---------------------------------------------------------------- resampling


def _source_scale(n_in: int, n_out: int, scale: float | None, dtype: Any) -> Any:
    """PyTorch's compute_scales_value in the input's arithmetic type: 1 / scale_factor when a
    factor was given, else in / out."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(n_in) / dtype.type(n_out)


def _nearest_index(n_in: int, n_out: int, scale: float | None) -> Array:
    """PyTorch's legacy 'nearest' source index (nearest_idx): the same index when the size is
    kept, dst // 2 when it doubles (whatever the scale factor), else min(floor(dst * scale),
    n_in - 1) in float32 arithmetic, as PyTorch computes it for every dtype."""
    dst = np.arange(n_out)
    if n_out == n_in:
        return dst
    if n_out == 2 * n_in:
        return dst >> 1
    f32 = np.dtype(np.float32)
    src = np.floor(dst.astype(np.float32) * _source_scale(n_in, n_out, scale, f32))
    index: Array = np.minimum(src.astype(np.int64), n_in - 1)
    return index


def _linear_taps(n_in: int, n_out: int, scale: float | None, dtype: Any
                 ) -> tuple[Array, Array, Array]:
    """Half-pixel linear interpolation (align_corners=False) as PyTorch's CPU kernel computes
    it: src = scale (dst + 1/2) - 1/2, clamped at 0; the lower source index, the upper one
    (the same at the last input) and the upper one's weight."""
    half = dtype.type(0.5)
    dst = np.arange(n_out).astype(dtype)
    src = np.maximum(_source_scale(n_in, n_out, scale, dtype) * (dst + half) - half,
                     dtype.type(0))
    lower = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    upper = np.minimum(lower + 1, n_in - 1)
    weight = np.clip(src - lower.astype(dtype), 0, 1).astype(dtype)
    return lower, upper, weight


def upsample(x: Array, size: Pair, mode: str = "nearest",
             scale: tuple[float, float] | None = None) -> Array:
    """x (h, w, c) resized to ``size`` as torch.nn.functional.interpolate does with
    align_corners=False: ``scale`` is the scale_factor that gave the size, if one did (PyTorch
    then maps positions with 1 / scale rather than in / out). Modes 'nearest' and 'bilinear'."""
    h, w = x.shape[:2]
    scales = scale if scale is not None else (None, None)
    dtype = x.dtype
    if mode == "nearest":
        rows = _nearest_index(h, size[0], scales[0])
        cols = _nearest_index(w, size[1], scales[1])
        # np.take, not x[:, cols]: fancy indexing on the middle axis returns a transposed
        # layout, which the next layer would copy.
        nearest: Array = np.take(np.take(x, rows, axis=0), cols, axis=1)
        return nearest
    if mode != "bilinear":
        raise ConvcalcError(f"upsample mode '{mode}' must be 'nearest' or 'bilinear'")
    # Separable: along the height, then along the width. PyTorch copies an axis whose size is
    # kept, whatever the scale factor.
    y = x
    if size[0] != h:
        lo, hi, t = _linear_taps(h, size[0], scales[0], dtype)
        t = t[:, None, None]
        y = np.take(y, lo, axis=0) * (1 - t) + np.take(y, hi, axis=0) * t
    if size[1] != w:
        lo, hi, t = _linear_taps(w, size[1], scales[1], dtype)
        t = t[None, :, None]
        y = np.take(y, lo, axis=1) * (1 - t) + np.take(y, hi, axis=1) * t
    out: Array = y.astype(dtype, copy=False)
    return out


def adaptive_max_pool2d(x: Array, size: Pair) -> Array:
    """PyTorch's adaptive max pooling: window i of n_out covers floor(i n / n_out) ..
    ceil((i + 1) n / n_out); a maximum is separable, so rows then columns, one pass per offset
    inside the longest window (a shorter window repeats its last element)."""
    y: Array = x
    for axis, n_out in enumerate(size):
        start, stop = _adaptive_bounds(x.shape[axis], n_out)
        longest = int((stop - start).max())
        acc = np.take(y, start, axis=axis)
        for k in range(1, longest):
            np.maximum(acc, np.take(y, np.minimum(start + k, stop - 1), axis=axis), out=acc)
        y = acc
    return y


def center_crop(x: Array, size: Pair) -> Array:
    """The size[0] x size[1] window of x (h, w, c) that torchvision's center_crop takes: its top
    at int(round((h - size[0]) / 2)) and its left likewise (Python's round, half to even), as a
    copy so that x can be freed."""
    h, w = x.shape[:2]
    top, left = round((h - size[0]) / 2.0), round((w - size[1]) / 2.0)
    if min(top, left) < 0 or top + size[0] > h or left + size[1] > w:
        raise ConvcalcError(f"cannot crop {h}x{w} to {size[0]}x{size[1]}")
    return x[top:top + size[0], left:left + size[1]].copy()


# ---------------------------------------------------------------- channels


def channel_shuffle(x: Array, groups: int) -> Array:
    """torchvision's channel_shuffle: channels viewed as (groups, c / groups), transposed and
    flattened, so new channel j * groups + g is old channel g * (c / groups) + j."""
    *lead, c = x.shape
    if c % groups:
        raise ConvcalcError(f"{c} channels do not split into {groups} groups")
    shuffled: Array = x.reshape(*lead, groups, c // groups).swapaxes(-1, -2).reshape(*lead, c)
    return shuffled


def layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    """Layer norm over the channels of every position (ConvNeXt's LayerNorm2d): (x - mean) /
    sqrt(biased variance + eps) * weight + bias, the statistics in float64."""
    mean = x.mean(axis=-1, keepdims=True, dtype=np.float64)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    out: Array = (centred / np.sqrt(var + eps) * weight + bias).astype(x.dtype)
    return out
