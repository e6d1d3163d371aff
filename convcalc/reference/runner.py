"""``verify``: run a report's rows on real arrays and compare the shapes produced and the
multiplies performed with the engine's numbers. Arrays are channels last, as convcalc's shapes
(no batch dim).

Each runner returns ``(array, macs)`` from the kernels; the output shape is read from the array
produced, never from the engine. Flatten keeps h, w, c order (PyTorch flattens c, h, w); with
random weights only the length matters.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convcalc.analysis.report import NETWORK_INPUT, LayerRow, Report, last_readers
from convcalc.display import Shown
from convcalc.errors import ConvcalcError
from convcalc.graph.layers import (
    Activation,
    AdaptiveAvgPool,
    ChannelShuffle,
    ChannelSlice,
    Concat,
    Conv,
    ConvTranspose,
    Crop,
    Dense,
    GroupNorm,
    LayerNorm,
    LocalResponseNorm,
    Pool,
    Upsample,
    ZeroPad,
)
from convcalc.graph.layers.attention import CPB_HIDDEN, Attention, Softmax
from convcalc.graph.layers.reshaping import (
    PixelShuffle,
    Reduce,
    Reshape,
    SpaceToDepth,
    Stack,
    Transpose,
    Unsqueeze,
)
from convcalc.graph.layers.tokens import ClassToken, Image, SelectToken
from convcalc.graph.shapes import Shape, resolve_padding
from convcalc.reference import budget, tensor_kernels
from convcalc.reference.kernels import (
    ACTIVATIONS,
    Array,
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    center_crop,
    channel_shuffle,
    checked_arithmetic,
    conv2d,
    conv_transpose2d,
    layer_norm,
    local_response_norm,
    pad,
    pool2d,
    upsample,
)

DTYPES = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class Check:
    """One row of a report run through the reference: the engine's and the reference's output
    shape and multiplies."""

    path: str
    kind: str
    line: int | None
    engine_shape: Shape
    reference_shape: Shape
    engine_macs: int
    reference_macs: int

    @property
    def ok(self) -> bool:
        return (self.engine_shape == self.reference_shape
                and self.engine_macs == self.reference_macs)


class Checks(Shown, list[Check]):
    """``verify``'s result: a list of ``Check``, one per row, that prints (and shows in a
    notebook) as ``convcalc verify``'s table."""

    __slots__ = ()

    @property
    def ok(self) -> bool:
        """Whether every row matches."""
        return all(c.ok for c in self)


def shape_of(a: Array) -> Shape:
    """The ``Shape`` an array has: its dims, features last."""
    return Shape(*(int(d) for d in a.shape))


class _Weights:
    """Seeded random parameters, scaled by 1/sqrt(fan-in) so activations stay near 1.

    Drawing a normal number costs about ten times a copy, and a network's weights outnumber its
    activations (resnet50: 25 million), while the check reads only shapes and multiplies: so
    each weight array repeats a seeded block of POOL normals from a seeded offset."""

    POOL = 1 << 16

    def __init__(self, seed: int, dtype: type) -> None:
        self.rng = np.random.default_rng(seed)
        self.dtype = dtype
        self.pool = self.rng.standard_normal(self.POOL, dtype=dtype)

    def normal(self, shape: tuple[int, ...], fan_in: int) -> Array:
        n = int(np.prod(shape))
        start = int(self.rng.integers(self.POOL))
        a = np.tile(self.pool, -(-(start + n) // self.POOL))[start:start + n].reshape(shape)
        a *= 1 / np.sqrt(max(fan_in, 1))
        return a


Run = Callable[[LayerRow, list[Array], _Weights], tuple[Array, int]]


def _run_conv(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    x = xs[0]
    assert isinstance(row.layer, Conv) and row.window is not None
    conv = row.layer.as_conv(shape_of(x))
    groups = conv.groups
    kh, kw = conv.kernel
    cg = x.shape[2] // groups
    w = weights.normal((kh, kw, cg, conv.filters), kh * kw * cg)
    b = weights.normal((conv.filters,), 1) if conv.bias else None
    return conv2d(x, w, b, stride=conv.stride, padding=row.window.padding,
                  dilation=conv.dilation, groups=groups)


def _run_pool(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Pool) and row.window is not None
    w = row.window
    mode = "max" if row.kind == "maxpool" else "avg"
    return pool2d(xs[0], w.kernel, w.stride, w.padding, ceil_mode=row.layer.ceil_mode,
                  mode=mode), 0


def _run_adaptive(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, AdaptiveAvgPool)
    pool = adaptive_max_pool2d if row.kind == "adaptive_maxpool" else adaptive_avg_pool2d
    return pool(xs[0], row.layer.size), 0


def _run_conv_transpose(row: LayerRow, xs: list[Array],
                        weights: _Weights) -> tuple[Array, int]:
    layer = row.layer
    assert isinstance(layer, ConvTranspose)
    x = xs[0]
    kh, kw = layer.kernel
    fg = layer.filters // layer.groups
    # PyTorch's fan-in for ConvTranspose2d weights (c_in, c_out / groups, kh, kw): its dim 1.
    w = weights.normal((kh, kw, x.shape[2], fg), kh * kw * fg)
    b = weights.normal((layer.filters,), 1) if layer.bias else None
    p = layer.padding
    padding = (p, p) if isinstance(p, int) else (int(p[0]), int(p[1]))
    return conv_transpose2d(x, w, b, stride=layer.stride, padding=padding,
                            output_padding=layer.output_padding, dilation=layer.dilation,
                            groups=layer.groups)


def _run_upsample(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    layer = row.layer
    assert isinstance(layer, Upsample)
    h, w = xs[0].shape[:2]
    if len(xs) == 2:
        size = xs[1].shape[:2]  # the size of the tensor read second
    elif layer.size is not None:
        size = layer.size
    else:
        assert layer.scale is not None
        # PyTorch's output size, floor(n * scale) in double precision.
        size = (int(h * layer.scale[0]), int(w * layer.scale[1]))
    return upsample(xs[0], size, layer.mode, scale=layer.scale), 0


def _run_crop(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    layer = row.layer
    assert isinstance(layer, Crop)
    size = xs[1].shape[:2] if len(xs) == 2 else layer.size
    assert size is not None
    return center_crop(xs[0], size), 0


def _run_channel_slice(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, ChannelSlice)
    start, stop = row.layer.bounds(xs[0].shape[-1])
    # A copy, so the sliced tensor can be freed after its last reader.
    return xs[0][..., start:stop].copy(), 0


def _run_channel_shuffle(row: LayerRow, xs: list[Array],
                         weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, ChannelShuffle)
    return channel_shuffle(xs[0], row.layer.groups), 0


def _run_layernorm(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    layer = row.layer
    assert isinstance(layer, LayerNorm)
    c = xs[0].shape[-1]
    scale = 1 + 0.1 * weights.normal((c,), 1) if layer.affine else np.ones(c, xs[0].dtype)
    shift = 0.1 * weights.normal((c,), 1) if layer.affine else np.zeros(c, xs[0].dtype)
    return layer_norm(xs[0], scale, shift, layer.eps), 0


def _run_layer_scale(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    return xs[0] * weights.normal((xs[0].shape[-1],), 1), 0


def _run_global_avgpool(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    return xs[0].mean(axis=(0, 1), keepdims=True, dtype=np.float64).astype(xs[0].dtype), 0


def _run_batchnorm(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    # Inference batch norm folded into one scale and shift per channel.
    c = xs[0].shape[-1]
    scale = 1 + 0.1 * weights.normal((c,), 1)
    shift = 0.1 * weights.normal((c,), 1)
    return xs[0] * scale + shift, 0


def _run_activation(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Activation)
    return ACTIVATIONS[row.kind](xs[0]).astype(xs[0].dtype, copy=False), 0


def _run_lrn(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    layer = row.layer
    assert isinstance(layer, LocalResponseNorm)
    return local_response_norm(xs[0], layer.size, layer.alpha, layer.beta, layer.k), 0


def _run_identity(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    return xs[0], 0  # dropout and stochastic depth at inference


def _run_flatten(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    return xs[0].reshape(-1), 0


def _run_zeropad(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, ZeroPad)
    hw = xs[0].shape[:2]
    return pad(xs[0], resolve_padding(row.layer.padding, hw, (1, 1), (1, 1), (1, 1))), 0


def _run_dense(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Dense)
    x = xs[0]
    if x.ndim == 3:
        raise ConvcalcError(f"dense needs a flat vector or tokens but gets {shape_of(x)}")
    c = x.shape[-1]
    w = weights.normal((c, row.layer.units), c)
    out = x @ w
    if row.layer.bias:
        out += weights.normal((row.layer.units,), 1)
    return out, out.size * c


def _run_add(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    out = xs[0] + xs[1]
    for other in xs[2:]:
        out += other
    return out, 0


def _run_mul(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    # numpy broadcasting spreads a 1x1xC gate or an HxWx1 map over HxWxC, in either order.
    out = xs[0] * xs[1]
    for other in xs[2:]:
        out = out * other
    return out, 0


def _run_concat(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Concat)
    return np.concatenate(xs, axis=row.layer.axis), 0


def _run_sub(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    # A divisor kept away from zero: the check reads shapes and multiplies only.
    return (xs[0] - xs[1] if row.kind == "sub" else xs[0] / (np.abs(xs[1]) + 1)), 0


def _run_softmax(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Softmax)
    return tensor_kernels.softmax(xs[0], row.layer.axis), 0


def _run_groupnorm(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, GroupNorm)
    c = xs[0].shape[-1]
    return tensor_kernels.group_norm(xs[0], row.layer.groups, 1 + 0.1 * weights.normal((c,), 1),
                                     0.1 * weights.normal((c,), 1), row.layer.eps), 0


def _run_tokens(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    h, w, c = xs[0].shape
    return xs[0].reshape(h * w, c), 0


def _run_image(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Image)
    return xs[0].reshape(row.layer.out_shape(shape_of(xs[0])).dims), 0


def _run_class_token(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, ClassToken)
    d = xs[0].shape[-1]
    return np.concatenate([weights.normal((row.layer.count, d), 1), xs[0]]), 0


def _run_position_embedding(row: LayerRow, xs: list[Array],
                            weights: _Weights) -> tuple[Array, int]:
    return xs[0] + weights.normal(xs[0].shape, 1), 0


def _run_select_token(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, SelectToken)
    if xs[0].ndim != 2:
        raise ConvcalcError(f"select_token needs tokens but gets {shape_of(xs[0])}")
    return xs[0][row.layer.index].copy(), 0


def _run_attention(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    layer = row.layer
    assert isinstance(layer, Attention)
    d = xs[0].shape[-1]
    bias = None
    if layer.position_bias != "none":
        m = layer.window_size ** 2
        bias = 0.1 * weights.normal((layer.heads, m, m), 1)
    out, macs = tensor_kernels.attention(
        xs[0], weights.normal((d, 3 * d), d),
        weights.normal((3 * d,), 1) if layer.bias else None, weights.normal((d, d), d),
        weights.normal((d,), 1) if layer.bias else None, heads=layer.heads,
        window=layer.window_size, shift=layer.shift_size, grid=layer.grid, position_bias=bias)
    if layer.position_bias == "mlp":
        # Swin V2's bias MLP on the (2w - 1)^2 offsets: 2 -> 512 -> heads.
        offsets = weights.normal(((2 * layer.window_size - 1) ** 2, 2), 1)
        hidden = np.maximum(offsets @ weights.normal((2, CPB_HIDDEN), 2), 0)
        table = hidden @ weights.normal((CPB_HIDDEN, layer.heads), CPB_HIDDEN)
        macs += offsets.shape[0] * 2 * CPB_HIDDEN + table.size * CPB_HIDDEN
    return out, macs


def _run_matmul(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    return tensor_kernels.matmul(xs[0], xs[1])


def _run_reshape(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Reshape)
    return xs[0].reshape(row.layer.shape), 0


def _run_transpose(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Transpose)
    return xs[0].transpose(row.layer.perm), 0


def _run_unsqueeze(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Unsqueeze)
    return np.expand_dims(xs[0], row.layer.axis), 0


def _run_stack(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, Stack)
    return np.stack(xs, axis=row.layer.axis), 0


def _run_reduce(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    layer = row.layer
    assert isinstance(layer, Reduce)
    axes = tuple(sorted(layer.reduced(shape_of(xs[0]))))
    return tensor_kernels.reduce(xs[0], layer.op, axes, layer.keepdims), 0


def _run_pixel_shuffle(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    assert isinstance(row.layer, PixelShuffle | SpaceToDepth)
    move = (tensor_kernels.pixel_shuffle if row.kind == "pixel_shuffle"
            else tensor_kernels.space_to_depth)
    return move(xs[0], row.layer.factor), 0


# One entry per kind in layers.LAYER_KINDS (less 'separable' and 'split', which the loader
# expands into depthwise + pointwise and into channel slices); a kind missing here is an error,
# never a pass.
RUNNERS: dict[str, Run] = {
    "conv": _run_conv,
    "depthwise": _run_conv,
    "pointwise": _run_conv,
    "maxpool": _run_pool,
    "avgpool": _run_pool,
    "global_avgpool": _run_global_avgpool,
    "adaptive_avgpool": _run_adaptive,
    "adaptive_maxpool": _run_adaptive,
    "batchnorm": _run_batchnorm,
    **dict.fromkeys(ACTIVATIONS, _run_activation),
    "lrn": _run_lrn,
    "dropout": _run_identity,
    "flatten": _run_flatten,
    "zeropad": _run_zeropad,
    "dense": _run_dense,
    "conv_transpose": _run_conv_transpose,
    "upsample": _run_upsample,
    "crop": _run_crop,
    "channel_slice": _run_channel_slice,
    "channel_shuffle": _run_channel_shuffle,
    "layernorm": _run_layernorm,
    "layer_scale": _run_layer_scale,
    "stochastic_depth": _run_identity,
    "identity": _run_identity,
    "add": _run_add,
    "mul": _run_mul,
    "concat": _run_concat,
    "sub": _run_sub,
    "div": _run_sub,
    "softmax": _run_softmax,
    "groupnorm": _run_groupnorm,
    "tokens": _run_tokens,
    "image": _run_image,
    "class_token": _run_class_token,
    "position_embedding": _run_position_embedding,
    "select_token": _run_select_token,
    "attention": _run_attention,
    "matmul": _run_matmul,
    "reshape": _run_reshape,
    "transpose": _run_transpose,
    "unsqueeze": _run_unsqueeze,
    "stack": _run_stack,
    "reduce": _run_reduce,
    "pixel_shuffle": _run_pixel_shuffle,
    "space_to_depth": _run_pixel_shuffle,
}


def run_row(row: LayerRow, xs: list[Array], weights: _Weights) -> tuple[Array, int]:
    """One row through the reference: (output, macs)."""
    runner = RUNNERS.get(row.kind)
    if runner is None:
        raise ConvcalcError(f"the numpy reference has no implementation of '{row.kind}'",
                            line=row.line, path=row.path, kind=row.kind)
    return runner(row, xs, weights)


def verify(report: Report, seed: int = 0, dtype: str = "float32",
           progress: Callable[[int, LayerRow], None] | None = None) -> Checks:
    """Every row of ``report`` run on a seeded random input with seeded random weights: one
    ``Check`` per row comparing the engine's output shape and macs with the reference's.

    ``progress(i, row)`` is called before row i runs. Arrays are freed after their last reader.
    Refused before anything is allocated when the memory or the work it needs is over the
    limits (``budget.check``).
    """
    if dtype not in DTYPES:
        raise ConvcalcError(f"dtype '{dtype}' must be one of {', '.join(DTYPES)}")
    budget.check(report, np.dtype(DTYPES[dtype]).itemsize)
    weights = _Weights(seed, DTYPES[dtype])
    last_read = last_readers(report.rows)
    h, w = report.input.hw
    live: dict[int, Array] = {
        NETWORK_INPUT: weights.rng.standard_normal((h, w, report.input.c), dtype=weights.dtype)}
    checks = Checks()
    for i, row in enumerate(report.rows):
        if progress is not None:
            progress(i, row)
        try:
            with checked_arithmetic():
                out, macs = run_row(row, [live[j] for j in row.inputs], weights)
        except ConvcalcError as e:
            raise e.located(line=row.line, path=row.path, kind=row.kind) from None
        for j in set(row.inputs):
            if last_read[j] == i:
                del live[j]
        if last_read.get(i, -1) > i:
            live[i] = out
        checks.append(Check(row.path, row.kind, row.line, row.output, shape_of(out), row.macs,
                            macs))
        del out  # an output no later row reads goes now, as the budget assumes
    return checks


