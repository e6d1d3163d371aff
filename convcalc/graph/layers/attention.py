"""Kinds that multiply two tensors of the network: ``attention`` (multi-head self-attention, in
windows or a grid too), ``matmul`` and ``softmax`` along an axis.

A product of two network tensors counts as torch's ``bmm``: batch * m * k * n multiplies.
Attention counts as ``nn.MultiheadAttention`` with torch's ``sdpa_flop_count``: the four
d x d projections at every position, plus Q·Kᵀ and A·V, 2 * n * m * d for n queries that each
see m keys; the scaling and the softmax are other ops.
"""

from dataclasses import dataclass
from typing import ClassVar

from convcalc.errors import ConvcalcError
from convcalc.graph.layers.base import (
    WHOLE_INPUT,
    Layer,
    Merge,
    Reach,
    Reaches,
    Window,
    _all_positions_reach,
    _axis,
    _positive,
)
from convcalc.graph.layers.elementwise import Activation
from convcalc.graph.shapes import Pair, Shape
from convcalc.limits import MAX_DIM

POSITION_BIASES = ("none", "table", "mlp")
CPB_HIDDEN = 512  # Swin V2's continuous position bias MLP: Linear(2, 512), ReLU, Linear(512, heads)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Attention(Layer):
    """Multi-head self-attention with ``heads`` heads over the positions of tokens [n, d] or of
    an image [h, w, d] (as ``nn.MultiheadAttention``: QKV and output projections with ``bias``):
    params = 4d² (+ 4d); macs = 4·P·d² + 2·P·m·d for P positions that each see m.

    On an image, ``window_size: w`` makes each position see only its w x w window (Swin; the
    image is padded to whole windows, as torchvision does), ``shift_size`` moves them (Swin's
    shifted windows), and ``grid: true`` makes the w x w windows a grid strided over the whole
    image (MaxViT's grid attention). ``position_bias`` adds a relative position bias per head:
    'table' learns (2w - 1)² x heads values (Swin, MaxViT); 'mlp' computes it with Swin V2's
    MLP (2 -> 512 -> heads, run on the (2w - 1)² offsets: its multiplies count) and a learned
    logit scale per head. other_ops: the biases, the scaling of Q, 3 per score (softmax) and
    one more per score with a position bias."""

    kind: str = "attention"
    heads: int
    bias: bool = True
    window_size: int = 0
    shift_size: int = 0
    grid: bool = False
    position_bias: str = "none"

    def __post_init__(self) -> None:
        _positive("heads", self.heads)
        if self.window_size:
            _positive("window_size", self.window_size)
        if not 0 <= self.shift_size < max(self.window_size, 1):
            raise ConvcalcError(f"shift_size {self.shift_size} must be from 0 to below "
                                f"window_size ({self.window_size})")
        if self.grid and not self.window_size:
            raise ConvcalcError("grid needs 'window_size', the grid's size")
        if self.position_bias not in POSITION_BIASES:
            raise ConvcalcError(f"position_bias '{self.position_bias}' must be one of "
                                f"{', '.join(POSITION_BIASES)}")
        if self.position_bias != "none" and not self.window_size:
            raise ConvcalcError("position_bias needs 'window_size' (the bias is per offset in a "
                                "window)")

    def padded(self, x: Shape) -> Pair:
        """(h, w) the attention runs at: an image padded to whole windows; (n, 1) for tokens."""
        if not x.is_image:
            n = x.tokens[0]
            if self.window_size:
                raise ConvcalcError(f"window_size needs an image (h x w x c) but gets "
                                    f"{x.described()}; add 'image' before it")
            return n, 1
        h, w = x.hw
        if not self.window_size:
            return h, w
        if self.grid:
            if h % self.window_size or w % self.window_size:
                raise ConvcalcError(f"a {self.window_size}x{self.window_size} grid must divide "
                                    f"the image {h}x{w}")
            return h, w
        size = self.window_size
        return -(-h // size) * size, -(-w // size) * size

    def seen(self, x: Shape) -> tuple[int, int]:
        """(P, m): positions the attention runs at, and how many each one sees."""
        h, w = self.padded(x)
        return h * w, self.window_size ** 2 if self.window_size else h * w

    def out_shape(self, x: Shape) -> Shape:
        d = x.c
        if x.is_flat or x.rank > 3:
            raise ConvcalcError(f"needs tokens (n x d) or an image but gets {x.described()}")
        if d % self.heads:
            raise ConvcalcError(f"heads={self.heads} must divide the {d} features "
                                f"({x.described()})")
        self.padded(x)
        return x

    def params(self, x: Shape) -> int:
        d = x.c
        params = 4 * d * d + (4 * d if self.bias else 0)
        if self.position_bias == "table":
            params += (2 * self.window_size - 1) ** 2 * self.heads
        elif self.position_bias == "mlp":
            params += 2 * CPB_HIDDEN + CPB_HIDDEN + CPB_HIDDEN * self.heads + self.heads
        return params

    def macs(self, x: Shape) -> int:
        self.out_shape(x)
        positions, seen = self.seen(x)
        d = x.c
        macs = 4 * positions * d * d + 2 * positions * seen * d
        if self.position_bias == "mlp":
            macs += (2 * self.window_size - 1) ** 2 * (2 * CPB_HIDDEN + CPB_HIDDEN * self.heads)
        return macs

    def other_ops(self, x: Shape) -> int:
        positions, seen = self.seen(x)
        scores = self.heads * positions * seen
        return ((4 * positions * x.c if self.bias else 0) + positions * x.c
                + (4 if self.position_bias != "none" else 3) * scores)

    def reach(self, x: Shape, window: Window | None) -> Reaches:
        """Over tokens, every position sees the whole input; over an image, all of it, its
        window (whose positions all see the same ones: a reach with the window's period), or
        its grid, every (h / w)-th position along each axis."""
        if not x.is_image:
            return WHOLE_INPUT
        if not self.window_size:
            return _all_positions_reach(x.hw)
        size, shift = self.window_size, self.shift_size

        def axis(n: int) -> Reach:
            if self.grid:
                step = n // size
                return Reach((0, 1), lambda o: (o % step, o % step + (size - 1) * step), step)

            def reads(o: int) -> Pair:
                start = (o - shift) // size * size + shift
                return start, start + size - 1
            return Reach((1, 1), reads, size)

        h, w = x.hw
        return axis(h), axis(w)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class MatMul(Merge):
    """The matrix product of two network tensors, a [..., m, k] times b [..., k, n] ->
    [..., m, n], leading dims broadcast (torch.matmul); macs = batch * m * k * n, as torch
    counts bmm."""

    kind: str = "matmul"
    max_inputs: ClassVar[int] = 2

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        a, b = inputs
        if a.rank < 2 or b.rank < 2:
            raise ConvcalcError(f"multiplies matrices, not the flat vector "
                                f"{a if a.rank < 2 else b}; 'reshape' it first")
        if a.dims[-1] != b.dims[-2]:
            raise ConvcalcError(f"cannot multiply {a} by {b}: the first's last dim "
                                f"{a.dims[-1]} must equal the second's next-to-last "
                                f"{b.dims[-2]}; 'transpose' one of them")
        batch_a, batch_b = a.dims[:-2], b.dims[:-2]
        rank = max(len(batch_a), len(batch_b))
        batch = []
        for da, db in zip((1,) * (rank - len(batch_a)) + batch_a,
                          (1,) * (rank - len(batch_b)) + batch_b, strict=True):
            if da != db and 1 not in (da, db):
                raise ConvcalcError(f"cannot multiply {a} by {b}: their leading dims "
                                    f"{list(batch_a)} and {list(batch_b)} do not broadcast")
            batch.append(max(da, db))
        return Shape(*batch, a.dims[-2], b.dims[-1])

    def macs(self, inputs: tuple[Shape, ...]) -> int:
        out = self.out_shape(inputs)
        return out.elements * inputs[0].dims[-1]

    def reach(self, inputs: tuple[Shape, ...]) -> Reaches:
        """Each output value mixes a row of one tensor with a column of the other: counted as
        seeing the whole input."""
        return WHOLE_INPUT


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Softmax(Activation):
    """Softmax along ``axis`` (the last, the features, by default): other_ops = 3 per element
    (an exponential, a sum and a division)."""

    kind: str = "softmax"
    axis: int = -1

    def __post_init__(self) -> None:
        if not -MAX_DIM < self.axis < MAX_DIM:
            raise ConvcalcError(f"axis {self.axis} is out of range")

    def out_shape(self, x: Shape) -> Shape:
        _axis(self.axis, x.rank)
        return x

    def reach(self, x: Shape, window: Window | None) -> Reaches | None:
        """Along the features nothing moves; along positions every value sees them all."""
        if _axis(self.axis, x.rank) == x.rank - 1:
            return None
        return _all_positions_reach(x.hw) if x.is_image else WHOLE_INPUT
