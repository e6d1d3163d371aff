"""``Architecture`` -> ``Report``: every layer's shapes, parameters, multiplies and receptive
field, in execution order, with the totals. Pure: no files, no printing, no numpy.

The rows form a dataflow list: each row names the rows it reads (``inputs``; -1 is the network
input), so the numpy reference and the memory liveness replay the graph from the rows alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from convcalc.architecture import Architecture, Branches, Leaf, Node, Residual
from convcalc.errors import ConvcalcError
from convcalc.layers import Add, BatchNorm, Concat, Conv, Layer, Merge, Window
from convcalc.roofline import Device, cost_rows
from convcalc.shapes import Pair, Shape

NETWORK_INPUT = -1
DTYPE_BYTES = {"fp64": 8, "fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


@dataclass(frozen=True)
class LayerRow:
    """One executed layer: where it reads from, its shapes and what it costs. Counts are for
    ``batch`` images (params are not multiplied); ``seconds`` and ``bound`` (see roofline.py)
    are set when the report was analysed for a device."""

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
    jump: Pair
    side: bool
    line: int | None
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
class Report:
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

    def counted(self) -> tuple[LayerRow, ...]:
        """The rows the totals add up: all of them, or all but side branches."""
        return tuple(r for r in self.rows if self.include_side or not r.side)


@dataclass(frozen=True)
class _Tensor:
    row: int
    shape: Shape
    receptive_field: Pair
    jump: Pair


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
    """The per-layer table and totals of an architecture for ``batch`` images, with each
    layer's bytes moved and, given a ``device``, its roofline seconds (see roofline.py)."""
    if dtype not in DTYPE_BYTES:
        raise ConvcalcError(f"dtype '{dtype}' must be one of {', '.join(DTYPE_BYTES)}")
    walker = _Walker()
    try:
        walker.run(arch.layers, _Tensor(NETWORK_INPUT, arch.input, (1, 1), (1, 1)), side=False)
    except ConvcalcError as e:
        raise e.located(file=arch.file) from None
    size = DTYPE_BYTES[dtype]
    rows = cost_rows(walker.rows, arch.input, size, batch, device)
    counted = [r for r in rows if include_side or not r.side]
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
                  include_side, rows, totals, batch, device)


class _Walker:
    def __init__(self) -> None:
        self.rows: list[LayerRow] = []

    def run(self, nodes: tuple[Node, ...], x: _Tensor, side: bool) -> _Tensor:
        for node in nodes:
            if isinstance(node, Leaf):
                x = self.leaf(node.path, node.line, node.layer, x, side)
            elif isinstance(node, Residual):
                x = self.residual(node, x, side)
            elif isinstance(node, Branches):
                outs = [self.run(branch, x, side) for branch in node.branches]
                x = self.merge(f"{node.path}.concat", node.line, Concat(), outs, side)
            else:
                self.run(node.layers, x, side=True)
        return x

    def leaf(self, path: str, line: int | None, layer: Layer, x: _Tensor, side: bool) -> _Tensor:
        try:
            out = layer.out_shape(x.shape)
            window = layer.window(x.shape)
            rf, jump = _grow_receptive_field(x, out, window)
            row = LayerRow(
                path=path, kind=layer.kind, layer=layer, inputs=(x.row,), input=x.shape,
                output=out, window=window, params=layer.params(x.shape),
                macs=layer.macs(x.shape), other_ops=layer.other_ops(x.shape),
                receptive_field=rf, jump=jump, side=side, line=line,
            )
        except ConvcalcError as e:
            raise e.located(line=line, path=path, kind=layer.kind) from None
        return self.append(row)

    def append(self, row: LayerRow) -> _Tensor:
        self.rows.append(row)
        return _Tensor(len(self.rows) - 1, row.output, row.receptive_field, row.jump)

    def residual(self, node: Residual, x: _Tensor, side: bool) -> _Tensor:
        y = self.run(node.main, x, side)
        kept = y.shape == x.shape
        mode = node.shortcut
        if mode == "if_same" and not kept:
            return y
        if isinstance(mode, tuple):
            skip = self.run(mode, x, side)
        elif mode in ("identity", "if_same") or (mode == "auto" and kept):
            skip = x
        else:
            skip = x
            for i, layer in enumerate(self.projection(node, x.shape, y.shape)):
                skip = self.leaf(f"{node.path}.downsample.{i}".lstrip("."), node.line, layer,
                                 skip, side)
        return self.merge(f"{node.path}.add".lstrip("."), node.line, Add(), [y, skip], side)

    def projection(self, node: Residual, x: Shape, y: Shape) -> list[Layer]:
        """torchvision's downsample: a strided 1x1 convolution (then batch norm) onto y's shape."""
        (h, w), (oh, ow) = x.hw, y.hw
        stride = (-(-h // oh), -(-w // ow))
        if ((h - 1) // stride[0] + 1, (w - 1) // stride[1] + 1) != (oh, ow):
            raise ConvcalcError(
                f"no strided 1x1 projection maps {x} onto {y}; write the shortcut's layers "
                "under 'shortcut:'", line=node.line, path=node.path, kind="residual")
        conv = Conv(filters=y.c, kernel=(1, 1), stride=stride, bias=node.projection_bias)
        return [conv, BatchNorm()] if node.projection_norm else [conv]

    def merge(self, path: str, line: int | None, merge: Merge, parts: list[_Tensor],
              side: bool) -> _Tensor:
        shapes = tuple(p.shape for p in parts)
        try:
            out = merge.out_shape(shapes)
        except ConvcalcError as e:
            raise e.located(line=line, path=path, kind=merge.kind) from None
        rf = (max(p.receptive_field[0] for p in parts), max(p.receptive_field[1] for p in parts))
        jump = (max(p.jump[0] for p in parts), max(p.jump[1] for p in parts))
        row = LayerRow(
            path=path, kind=merge.kind, layer=merge, inputs=tuple(p.row for p in parts),
            input=shapes[0], output=out, window=None, params=0, macs=0,
            other_ops=merge.other_ops(shapes), receptive_field=rf, jump=jump, side=side,
            line=line,
        )
        return self.append(row)


def _grow_receptive_field(x: _Tensor, out: Shape, window: Window | None) -> tuple[Pair, Pair]:
    """Receptive field and jump after a layer: r += d(f - 1) * jump, jump *= stride; a layer
    that flattens a spatial input sees all of it."""
    (rh, rw), (jh, jw) = x.receptive_field, x.jump
    if window is not None:
        (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
        return (rh + dh * (kh - 1) * jh, rw + dw * (kw - 1) * jw), (jh * sh, jw * sw)
    if out.is_flat and not x.shape.is_flat:
        h, w = x.shape.hw
        return (rh + (h - 1) * jh, rw + (w - 1) * jw), (jh * h, jw * w)
    return x.receptive_field, x.jump
