"""Merges and layout ops on network tensors of any rank: Concat, Flatten, Squeeze, Unsqueeze,
Expand, Reshape, Gather, Transpose, Split, Slice. ONNX axes are mapped onto the convcalc
shape through ``Tensor.axes``; see ``layouts`` for the rows that reorder it."""

import math
from dataclasses import replace
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_eval import Const, reshaped
from convcalc.formats.onnx_ops.layouts import arranged, reshape_rows
from convcalc.formats.onnx_ops.registry import make, op, optional
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor, Value, Weight


def _axis_of(node: OnnxNode, x: Tensor, axis: int) -> int:
    """The convcalc axis of ONNX axis ``axis`` of ``x``; an axis convcalc leaves out (the
    batch) is a ConvcalcError naming the op."""
    held = x.axis(axis)
    if held is None:
        raise ConvcalcError(f"{node.op_type} along axis {axis} (the batch, size 1) of dims "
                            f"{list(x.dims())} is not supported")
    return held


def _alike(tensors: tuple[Tensor, ...]) -> tuple[list[Emit], tuple[Tensor | Emit, ...]]:
    """The tensors with the layout of the first (a transpose row for one held in another
    order), for a merge that reads them axis by axis."""
    rows: list[Emit] = []
    made: list[Tensor | Emit] = [tensors[0]]
    order = [tensors[0].axes.index(a) for a in range(tensors[0].shape.rank)]
    for i, t in enumerate(tensors[1:]):
        if t.axes == tensors[0].axes and not t.view:
            made.append(t)
            continue
        extra, source = arranged(t, order, suffix=f"arranged{i + 1}")
        rows += extra
        made.append(source)
    return rows, tuple(made)


@op("Concat")
def concat(node: OnnxNode, env: Env) -> Any:
    """Concat of tensors along any axis -> concat (along the convcalc axis it is); a learned
    tensor before tokens along the tokens' axis (ViT's class token) -> class_token."""
    values = [env.value(n) for n in node.inputs]
    weights = tuple(v for v in values if isinstance(v, Weight))
    tensors = tuple(env.tensor(n) for n, v in zip(node.inputs, values, strict=True)
                    if not isinstance(v, Weight))
    x = tensors[0]
    axis = _axis_of(node, x, int(node.attr("axis", 1)))
    if weights:  # ViT's class token, DeiT's class and distillation tokens
        if values[:len(weights)] != list(weights) or len(tensors) != 1 or \
                not x.shape.is_tokens or axis != 0 or any(
                    w.dims[-1] != x.shape.c or len(w.dims) != len(x.dims()) for w in weights):
            raise ConvcalcError(f"concatenates initializer '{weights[0].name}' (dims "
                                f"{list(weights[0].dims)}) with a tensor of dims "
                                f"{list(x.dims())}; convcalc reads learned tokens put before "
                                "tokens (a class token)")
        count = sum(w.elements for w in weights) // x.shape.c
        return [Emit(make("class_token", count=count), (x,), weights=weights)]
    if len(tensors) == 1:
        return tensors
    rows, inputs = _alike(tensors)
    return [*rows, Emit(make("concat", axis=axis - x.shape.rank), inputs)]


@op("Flatten")
def flatten(node: OnnxNode, env: Env) -> Any:
    """Flatten of an NCHW image from axis 1 -> flatten (nothing for a vector that is flat
    already); at any other axis, the Reshape to two dims it is."""
    x = env.tensor(node.inputs[0])
    axis = int(node.attr("axis", 1)) % (len(x.dims()) + 1)
    if axis == 1 and x.layout == "nchw":
        return (x,) if x.shape.is_flat else [Emit(make("flatten"), (x,))]
    dims = x.dims()
    return reshape_rows(x, [math.prod(dims[:axis]), math.prod(dims[axis:])])


def _squeezed_axes(node: OnnxNode, env: Env, x: Tensor) -> list[int]:
    axes = env.ints(node.inputs[1]) if optional(node, 1) else node.attr("axes", [])
    rank = len(x.dims())
    return sorted({int(a) % rank for a in axes} if axes else
                  {i for i, d in enumerate(x.dims()) if d == 1})


@op("Squeeze")
def squeeze(node: OnnxNode, env: Env) -> Any:
    """Squeeze of the 1 x 1 height and width of a pooled NCHW tensor -> flatten; of other axes
    of size 1, the Reshape it is (a view, or a reshape row when the convcalc shape changes)."""
    x = env.tensor(node.inputs[0])
    axes = _squeezed_axes(node, env, x)
    dims = x.dims()
    if any(dims[a] != 1 for a in axes):
        raise ConvcalcError(f"Squeeze of axes {axes} of dims {list(dims)}: those axes must "
                            "have size 1")
    if x.layout == "nchw" and x.shape.is_image and x.shape.hw == (1, 1) and axes == [2, 3]:
        return [Emit(make("flatten"), (x,))]
    return reshape_rows(x, [d for i, d in enumerate(dims) if i not in axes])


@op("Unsqueeze")
def unsqueeze(node: OnnxNode, env: Env) -> Any:
    """Unsqueeze of a network tensor: axes of size 1 added, a view (no row)."""
    x = env.tensor(node.inputs[0])
    given = env.ints(node.inputs[1]) if optional(node, 1) else node.attr("axes", [])
    rank = len(x.dims()) + len(given)
    axes = {int(a) % rank for a in given}
    held = iter(x.axes)
    return (Tensor(x.path, x.shape, tuple(None if i in axes else next(held)
                                          for i in range(rank))),)


@op("Expand")
def expand(node: OnnxNode, env: Env) -> Any:
    """Expand of a network tensor to dims it has already (batch 1: the same values), a view;
    a 1x1 NCHW map expanded over height and width (PoolFormer, the FPN decoder) -> upsample
    (nearest, which costs nothing, as torch's expand: a view); another repeat is refused."""
    x = env.tensor(node.inputs[0])
    dims = list(x.dims())
    target = env.dims_to(node.inputs[1], node.outputs[0])
    rank = max(len(dims), len(target))
    padded = [1] * (rank - len(dims)) + dims
    wanted = [1] * (rank - len(target)) + list(target)
    if any(t not in (1, d) and d != 1 for t, d in zip(wanted, padded, strict=True)):
        raise ConvcalcError(f"Expand of dims {dims} to {target} is not a broadcast: each dim "
                            "must be 1 or the tensor's own, or the tensor's dim 1")
    out = [max(a, b) for a, b in zip(padded, wanted, strict=True)]
    if out != padded and x.layout == "nchw" and len(dims) == rank == 4 and \
            out[:2] == dims[:2] and dims[2:] == [1, 1]:
        return [Emit(make("upsample", size=(out[2], out[3])), (x,))]
    if out != padded:
        raise ConvcalcError(f"Expand of dims {dims} to {target} repeats values; convcalc "
                            "reads an Expand that keeps the dims, or of a 1x1 NCHW map over "
                            "height and width")
    return (Tensor(x.path, x.shape, (None,) * (rank - len(dims)) + x.axes),)


@op("Reshape")
def reshape(node: OnnxNode, env: Env) -> Any:
    """Reshape: of an NCHW image to [1, -1] -> flatten; to [1, g, c/g, h, w] and back after a
    Transpose (the channel shuffle) -> channel_shuffle; to the same dims -> nothing; any other
    -> a reshape row (a transpose row first when it is no view of the convcalc layout), or
    nothing when the convcalc shape stays."""
    x = env.tensor(node.inputs[0])
    dims = list(x.dims())
    total = math.prod(dims)
    target = list(reshaped(dims, env.dims_to(node.inputs[1], node.outputs[0]),
                           bool(node.attr("allowzero", 0))))
    if target == dims:
        return (x,)
    if x.layout == "nchw" and x.shape.rank in (1, 3) and len(target) == 2 and target[0] == 1:
        return [Emit(make("flatten"), (x,))]
    if x.layout == "nchw" and x.shape.is_image and target == [total]:
        return (replace(x, view="vector"),)
    if x.layout == "nchw" and x.shape.is_image and len(target) == 5 and target[0] == 1 \
            and target[3:] == dims[2:] and target[1] > 1:
        return (replace(x, view="shuffle", groups=target[1]),)
    if x.layout == "shuffle" and x.transposed and target == [1, x.shape.c, *x.shape.hw]:
        return [Emit(make("channel_shuffle", groups=x.groups),
                     (replace(x, view="", groups=0, transposed=False),))]
    if x.view:
        raise ConvcalcError(f"Reshape of dims {dims} to {target} is not supported; convcalc "
                            "reads flattening and the channel shuffle (Reshape, Transpose, "
                            "Reshape) of this tensor")
    return reshape_rows(x, target)


@op("Gather")
def gather(node: OnnxNode, env: Env) -> Any:
    """Gather of one index of a network tensor (ViT's class token, ``x[:, 0]``) ->
    select_token on tokens, else the slice of that index; of every value of a 'vector' view
    back into its own dims (the dynamo exporter's as_strided of a contiguous tensor, whose
    indices are an initializer that may be stripped; when present they must be 0, 1, 2, ...)
    -> nothing."""
    x, indices = env.tensor(node.inputs[0]), env.value(node.inputs[1])
    values = indices.value if isinstance(indices, Weight) else indices
    dims = indices.dims if isinstance(indices, Weight | Const) else None
    if x.view == "vector":
        flat = replace(x, view="")
        if int(node.attr("axis", 0)) == 0 and dims == flat.dims() and (
                not isinstance(values, Const) or values.ints() == list(range(x.shape.elements))):
            return (flat,)
    elif isinstance(values, Const) and dims in ((), (1,)):
        onnx_axis = int(node.attr("axis", 0))
        axis = _axis_of(node, x, onnx_axis)
        size = x.dims()[onnx_axis]
        index = values.ints()[0] % size if size else 0
        if x.shape.is_tokens and axis == 0 and dims == ():
            kept = tuple(None if a is None else a - 1 for i, a in enumerate(x.axes)
                         if i != onnx_axis % len(x.axes))
            return [Emit(make("select_token", index=index), (x,), axes=kept)]
        return _slices(node, x, onnx_axis, [(index, index + 1)], drop=dims == ())
    raise ConvcalcError(f"Gather of a network tensor with dims {list(x.dims())} by indices "
                        f"with dims {list(dims or [])} is not supported; convcalc reads one "
                        "index along an axis, and Gather on shapes and constants")


@op("Transpose")
def transpose(node: OnnxNode, env: Env) -> tuple[Value, ...]:
    """Transpose: a view (no row; torch's permute copies nothing), the axes reordered; the
    swap of a channel shuffle's group axes."""
    x = env.tensor(node.inputs[0])
    rank = len(x.dims())
    perm = [int(p) for p in node.attr("perm", list(range(rank))[::-1])]
    if sorted(perm) != list(range(rank)):
        raise ConvcalcError(f"perm {perm} must order the {rank} axes of dims {list(x.dims())}")
    if x.view == "shuffle" and perm == [0, 2, 1, 3, 4]:
        return (replace(x, transposed=not x.transposed),)
    if x.view:
        raise ConvcalcError(f"Transpose {perm} of dims {list(x.dims())} is not supported; "
                            "convcalc reads the channel shuffle's group swap")
    return (Tensor(x.path, x.shape, tuple(x.axes[p] for p in perm)),)


def _slices(node: OnnxNode, x: Tensor, onnx_axis: int, bounds: list[tuple[int, int]],
            drop: bool = False) -> list[Emit]:
    """channel_slice rows, one per (start, stop) of ``bounds`` along ONNX axis ``onnx_axis``
    (output i of the node for the i-th), after a transpose row that makes that axis the
    convcalc features when it is not; ``drop`` removes the axis after (a Gather's index)."""
    axis = _axis_of(node, x, onnx_axis)
    rows: list[Emit] = []
    source: Tensor | Emit = x
    axes = x.axes
    if axis != x.shape.rank - 1:
        order = [i for i, a in sorted(enumerate(x.axes), key=lambda p: (p[1] is None, p[1]))
                 if a is not None and i != onnx_axis % len(x.axes)] + [onnx_axis % len(x.axes)]
        rows, source = arranged(x, order)
        axes = tuple(None if a is None else order.index(i) for i, a in enumerate(x.axes))
    parts = []
    for i, (start, stop) in enumerate(bounds):
        suffix = str(i) if len(bounds) > 1 else ""
        part = Emit(make("channel_slice", start=start, stop=stop), (source,), axes=axes,
                    suffix=suffix, output=None if drop else i)
        parts.append(part)
        if drop:
            kept = tuple(a for j, a in enumerate(axes) if j != onnx_axis % len(axes))
            if all(a is None for a in kept):
                raise ConvcalcError(f"{node.op_type} leaves one value of dims "
                                    f"{list(x.dims())}")
            shape = tuple(d for j, d in enumerate(x.dims()) if j != onnx_axis % len(axes)
                          and x.axes[j] is not None)
            parts.append(Emit(make("reshape", shape=_ordered(shape, kept)), (part,), axes=kept,
                              suffix=f"{suffix}_squeeze" if suffix else "squeeze", output=i))
    return rows + parts


def _ordered(dims: tuple[int, ...], axes: tuple[int | None, ...]) -> tuple[int, ...]:
    """The dims of ONNX axes (size-1 ones left out) in the convcalc order ``axes`` gives."""
    held = [a for a in axes if a is not None]
    return tuple(d for _, d in sorted(zip(held, dims, strict=True)))


@op("Split")
def split(node: OnnxNode, env: Env) -> list[Emit]:
    """Split along any axis -> channel_slice rows, one per output (along the features; a
    transpose row first when the axis is another convcalc axis)."""
    x = env.tensor(node.inputs[0])
    onnx_axis = int(node.attr("axis", 0))
    size = x.dims()[onnx_axis % len(x.dims())]
    if optional(node, 1):
        sizes = env.ints(node.inputs[1])
    elif node.attr("split") is not None:
        sizes = [int(s) for s in node.attr("split")]
    else:
        parts = int(node.attr("num_outputs", len(node.outputs)))
        step = -(-size // parts)
        sizes = [min(step, size - i * step) for i in range(parts)]
    if min(sizes, default=0) < 1 or sum(sizes) != size:
        raise ConvcalcError(f"split sizes {sizes} must be positive and add up to the "
                            f"{size} values of axis {onnx_axis}")
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return _slices(node, x, onnx_axis, [(s, s + n) for s, n in zip(starts, sizes, strict=True)])


@op("Slice")
def slice_(node: OnnxNode, env: Env) -> Any:
    """Slice of a range of one axis (steps of 1) -> channel_slice along it; a Slice that keeps
    everything -> nothing."""
    x = env.tensor(node.inputs[0])
    starts, ends = env.ints(node.inputs[1]), env.ints(node.inputs[2])
    dims = list(x.dims())
    axes = env.ints(node.inputs[3]) if optional(node, 3) else list(range(len(starts)))
    steps = env.ints(node.inputs[4]) if optional(node, 4) else [1] * len(starts)
    if not len(axes) == len(starts) == len(ends) == len(steps):
        raise ConvcalcError(f"Slice has {len(starts)} starts, {len(ends)} ends, {len(axes)} "
                            f"axes and {len(steps)} steps; they must be as many")
    kept = []
    for given, start, end, step in zip(axes, starts, ends, steps, strict=True):
        axis = given % len(dims)
        lo, hi, _ = slice(start, end).indices(dims[axis])
        if (lo, hi) == (0, dims[axis]) and step == 1:
            continue
        if step != 1 or hi <= lo:
            raise ConvcalcError(f"Slice of axis {axis} [{start}:{end}:{step}] of dims {dims} is "
                                "not supported; convcalc slices a range with steps of 1")
        kept.append((axis, lo, hi))
    if not kept:
        return (x,)
    if len(kept) > 1 or x.view:
        raise ConvcalcError(f"Slice of dims {dims} along {len(kept)} axes is not supported; "
                            "convcalc slices one axis")
    axis, lo, hi = kept[0]
    return _slices(node, x, axis, [(lo, hi)])


@op("CumSum")
def cumsum(node: OnnxNode, env: Env) -> list[Emit]:
    """CumSum of a network tensor along an axis (a running sum: adds, which torch's counter
    counts no MACs for) -> identity, a named row of the same shape."""
    x = env.tensor(node.inputs[0])
    x.axis(env.ints(node.inputs[1])[0])  # an axis out of range is an error
    return [Emit(make("identity"), (x,))]
