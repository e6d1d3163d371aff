"""How a network tensor's ONNX dims sit in its convcalc shape (``Tensor.axes``), and the rows
that change it: a handler asks for its input in the order its layer reads (``arranged``,
``image``, ``contiguous``, ``last_axis``) and gets a ``transpose`` (and, when size-1 axes come
or go, a ``reshape``) row first when the order differs; ``reshaped`` maps an ONNX Reshape onto
the convcalc shape, as a view where torch's would be one.

Transposes and reshapes cost nothing (torch counts no MACs for a copy), so these rows only
keep every convcalc shape equal to the values the ONNX tensor holds.
"""

import math
from collections.abc import Sequence

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_ops.registry import make
from convcalc.formats.onnx_values import Axes, Emit, Tensor

Arranged = tuple[list[Emit], Tensor | Emit]  # the rows, then what the layer reads


def arranged(x: Tensor, order: Sequence[int], suffix: str = "arranged") -> Arranged:
    """``x`` as the convcalc shape made of its ONNX axes ``order`` in that order (every other
    ONNX axis must have size 1): no rows when it is that already, else a transpose row (and a
    reshape row when size-1 axes are added or left out)."""
    dims = x.dims()
    order = [a % len(dims) for a in order]
    if any(dims[a] != 1 for a in range(len(dims)) if a not in order):
        raise ConvcalcError(f"cannot read dims {list(dims)} as {[dims[a] for a in order]}")
    axes: Axes = tuple(order.index(a) if a in order else None for a in range(len(dims)))
    if x.axes == axes and not x.view:
        return [], x
    if x.view:
        raise ConvcalcError(f"cannot rearrange the {x.view} view of dims {list(dims)}")
    held = [x.axes[a] for a in order]
    perm = [a for a in held if a is not None]
    perm += [a for a in range(x.shape.rank) if a not in perm]  # size-1 axes left out: last
    rows: list[Emit] = []
    source: Tensor | Emit = x
    if perm != sorted(perm):
        source = Emit(make("transpose", perm=tuple(perm)), (x,), suffix=suffix,
                      axes=tuple(None if a is None else perm.index(a) for a in x.axes))
        rows.append(source)
    target = tuple(dims[a] for a in order)
    if target != tuple(x.shape.dims[a] for a in perm):
        source = Emit(make("reshape", shape=target), (source,), axes=axes,
                      suffix=f"{suffix}_reshape")
        rows.append(source)
    elif rows:
        rows[-1] = Emit(rows[-1].layer, rows[-1].inputs, axes=axes, suffix=suffix)
        source = rows[-1]
    return rows, source


def contiguous(x: Tensor, suffix: str = "arranged") -> Arranged:
    """``x`` with its convcalc dims in ONNX order: its ONNX dims without the leading axes of
    size 1 that convcalc leaves out (the batch)."""
    lead = 0
    while lead < len(x.axes) - 1 and x.axes[lead] is None:
        lead += 1
    return arranged(x, range(lead, len(x.axes)), suffix)


def image(x: Tensor, what: str) -> Arranged:
    """``x`` as an image [h, w, c] for an op that reads NCHW (a Conv); ``what`` names it."""
    dims = x.dims()
    if len(dims) != 4 or dims[0] != 1 or x.view:
        raise ConvcalcError(f"{what} needs an NCHW image, not dims {list(dims)}")
    return arranged(x, (2, 3, 1))


def last_axis(x: Tensor) -> Arranged:
    """``x`` with its last ONNX axis as its convcalc features (the last axis), for an op along
    it (a MatMul by a weight, a LayerNormalization): as it is when it holds them there already,
    else contiguous."""
    if x.axes[-1] == x.shape.rank - 1 and not x.view:
        return [], x
    return contiguous(x)


def reshaped(x: Tensor, target: Sequence[int]) -> tuple[tuple[int, ...], Axes] | None:
    """The convcalc dims and ONNX axes of ``x`` reshaped to the ONNX dims ``target``, read as
    a view of ``x``'s convcalc shape (each run of ONNX dims that merge or split is a run of
    convcalc axes in order), or None when it is no view (the values must be laid out in ONNX
    order first). Axes of size 1 are left out of the convcalc shape."""
    big = [a for a, d in enumerate(x.shape.dims) if d != 1]  # size-1 axes hold no order
    source = [(d, big.index(a)) for d, a in zip(x.dims(), x.axes, strict=True)
              if d != 1 and a is not None]
    wanted = [(j, d) for j, d in enumerate(target) if d != 1]
    groups: list[tuple[list[int], list[tuple[int, int]]]] = []  # convcalc axes, target dims
    i = j = 0
    while i < len(source) and j < len(wanted):
        held, made = [source[i][1]], [wanted[j]]
        left, right = source[i][0], wanted[j][1]
        i, j = i + 1, j + 1
        while left != right:
            if left < right and i < len(source):
                left *= source[i][0]
                held.append(source[i][1])
                i += 1
            elif right < left and j < len(wanted):
                right *= wanted[j][1]
                made.append(wanted[j])
                j += 1
            else:
                return None
        if held != list(range(held[0], held[0] + len(held))):
            return None
        groups.append((held, made))
    if i < len(source) or j < len(wanted):
        return None
    groups.sort(key=lambda g: g[0][0])
    return _laid_out([j for _, made in groups for j, _ in made], target)


def _laid_out(order: list[int], target: Sequence[int]) -> tuple[tuple[int, ...], Axes]:
    """The convcalc dims and ONNX axes of ONNX dims ``target`` held in the convcalc order
    ``order`` (its axes of size above 1); a tensor of one value is [1]."""
    if not order:
        return (1,), tuple(0 if j == 0 else None for j in range(len(target)))
    return (tuple(target[j] for j in order),
            tuple(order.index(j) if j in order else None for j in range(len(target))))


def reshape_rows(x: Tensor, target: Sequence[int]) -> list[Emit] | tuple[Tensor]:
    """An ONNX Reshape of ``x`` to ``target``: a view (no row) when the convcalc shape stays,
    a reshape row when it changes, and a transpose row first when the reshape is no view of
    the convcalc layout."""
    if math.prod(target) != math.prod(x.dims()):
        raise ConvcalcError(f"cannot reshape dims {list(x.dims())} to {list(target)}")
    rows: list[Emit] = []
    source: Tensor | Emit = x
    view = reshaped(x, target)
    if view is None:  # laid out in ONNX order first, every reshape is a view
        rows, source = contiguous(x)
        view = _laid_out([j for j, d in enumerate(target) if d != 1], target)
    dims, axes = view
    if not rows and dims == x.shape.dims:
        return (Tensor(x.path, x.shape, axes),)
    return [*rows, Emit(make("reshape", shape=dims), (source,), axes=axes)]


def aligned(a: Tensor, b: Tensor) -> tuple[list[Emit], Tensor | Emit, Tensor | Emit]:
    """Two operands of an element-wise op held alike, so that their convcalc shapes broadcast
    as their ONNX dims do: the one in another order than the other gets a transpose row (the
    NCHW image keeps its order, so the convolutions after it need none)."""
    ra, rb = len(a.dims()), len(b.dims())
    a = Tensor(a.path, a.shape, (None,) * (rb - ra) + a.axes, a.view) if ra < rb else a
    b = Tensor(b.path, b.shape, (None,) * (ra - rb) + b.axes, b.view) if rb < ra else b
    if a.axes == b.axes and not a.view and not b.view:
        return [], a, b
    if (a.layout == "nchw") != (b.layout == "nchw"):
        keep, move = (a, b) if a.layout == "nchw" else (b, a)
    else:
        keep, move = (b, a) if b.shape.rank > a.shape.rank else (a, b)
    order = [keep.axes.index(k) for k in range(keep.shape.rank)]
    rows, moved = arranged(move, order, "aligned")
    return (rows, moved, keep) if move is a else (rows, keep, moved)
