"""Merges and channel plumbing: Concat, Flatten, Squeeze, Reshape, Gather, Transpose, Split,
Slice."""

import math
from dataclasses import replace
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_eval import Const, reshaped
from convcalc.formats.onnx_ops.registry import make, op, optional
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor, Value, Weight


def _channel_axis(node: OnnxNode, x: Tensor, default: int = 1) -> None:
    rank = len(x.dims())
    axis = int(node.attr("axis", default)) % rank
    if x.layout != "nchw" or axis != 1:
        raise ConvcalcError(f"{node.op_type} along axis {node.attr('axis', default)} of a "
                            f"tensor with dims {list(x.dims())}; convcalc reads it along "
                            "channels (axis 1 of NCHW)")


@op("Concat")
def concat(node: OnnxNode, env: Env) -> Any:
    """Concat of tensors along channels -> concat."""
    tensors = tuple(env.tensor(n) for n in node.inputs)
    _channel_axis(node, tensors[0])
    return [Emit(make("concat"), tensors)] if len(tensors) > 1 else tensors


@op("Flatten")
def flatten(node: OnnxNode, env: Env) -> Any:
    """Flatten from axis 1 -> flatten (nothing for a vector that is flat already)."""
    x = env.tensor(node.inputs[0])
    if int(node.attr("axis", 1)) != 1 or x.layout != "nchw":
        raise ConvcalcError(f"Flatten at axis {node.attr('axis', 1)} of dims {list(x.dims())}; "
                            "convcalc flattens NCHW at axis 1")
    return (x,) if x.shape.is_flat else [Emit(make("flatten"), (x,))]


@op("Squeeze")
def squeeze(node: OnnxNode, env: Env) -> Any:
    """Squeeze of the 1 x 1 height and width of a pooled tensor -> flatten."""
    x = env.tensor(node.inputs[0])
    axes = env.ints(node.inputs[1]) if optional(node, 1) else node.attr("axes", [])
    rank = len(x.dims())
    if x.layout == "nchw" and not x.shape.is_flat and x.shape.hw == (1, 1) and sorted(
            a % rank for a in axes) in ([2, 3], []):
        return [Emit(make("flatten"), (x,))]
    raise ConvcalcError(f"Squeeze of axes {axes} of dims {list(x.dims())} is not supported; "
                        "convcalc reads the squeeze of a 1x1 height and width")


@op("Reshape")
def reshape(node: OnnxNode, env: Env) -> Any:
    """Reshape: to [1, -1] -> flatten; to [1, g, c/g, h, w] and back after a Transpose (the
    channel shuffle) -> channel_shuffle; to the same dims -> nothing."""
    x = env.tensor(node.inputs[0])
    dims = list(x.dims())
    total = math.prod(dims)
    target = list(reshaped(dims, env.dims_to(node.inputs[1], node.outputs[0]),
                           bool(node.attr("allowzero", 0))))
    if target == dims:
        return (x,)
    if x.layout == "nchw" and len(target) == 2 and target[0] == 1:
        return [Emit(make("flatten"), (x,))]
    if x.layout == "nchw" and target == [total]:
        return (replace(x, layout="vector"),)
    if x.layout == "nchw" and not x.shape.is_flat and len(target) == 5 and target[0] == 1 \
            and target[3:] == dims[2:] and target[1] > 1:
        return (replace(x, layout="shuffle", groups=target[1]),)
    if x.layout == "shuffle" and x.transposed and target == [1, x.shape.c, *x.shape.hw]:
        return [Emit(make("channel_shuffle", groups=x.groups),
                     (replace(x, layout="nchw", groups=0, transposed=False),))]
    raise ConvcalcError(f"Reshape of dims {dims} to {target} is not supported; convcalc reads "
                        "flattening and the channel shuffle (Reshape, Transpose, Reshape)")


@op("Gather")
def gather(node: OnnxNode, env: Env) -> tuple[Value, ...]:
    """Gather of every value of a 'vector' view back into its own dims: the dynamo exporter's
    as_strided of a contiguous tensor, which changes nothing. The indices are an initializer
    whose values may be stripped; when present they must be 0, 1, 2, ... in order."""
    x, indices = env.tensor(node.inputs[0]), env.value(node.inputs[1])
    flat = replace(x, layout="nchw")
    values = indices.value if isinstance(indices, Weight) else indices
    dims = indices.dims if isinstance(indices, Weight) else getattr(values, "dims", None)
    if x.layout == "vector" and int(node.attr("axis", 0)) == 0 and dims == flat.dims() and (
            not isinstance(values, Const) or values.ints() == list(range(x.shape.elements))):
        return (flat,)
    raise ConvcalcError(f"Gather of a network tensor with dims {list(x.dims())} is not "
                        "supported; convcalc reads Gather on shapes and constants")


@op("Transpose")
def transpose(node: OnnxNode, env: Env) -> tuple[Value, ...]:
    """Transpose: to channels-last and back (a view, no layer), or the swap of a channel
    shuffle's group axes."""
    x = env.tensor(node.inputs[0])
    perm = [int(p) for p in node.attr("perm", [])]
    if x.layout == "nchw" and not x.shape.is_flat and perm == [0, 2, 3, 1]:
        return (replace(x, layout="nhwc"),)
    if x.layout == "nhwc" and perm == [0, 3, 1, 2]:
        return (replace(x, layout="nchw"),)
    if x.layout == "shuffle" and perm == [0, 2, 1, 3, 4]:
        return (replace(x, transposed=not x.transposed),)
    raise ConvcalcError(f"Transpose {perm} of dims {list(x.dims())} is not supported; convcalc "
                        "reads NCHW <-> NHWC and the channel shuffle's group swap")


@op("Split")
def split(node: OnnxNode, env: Env) -> list[Emit]:
    """Split along channels -> split, one output per section."""
    x = env.tensor(node.inputs[0])
    _channel_axis(node, x, 0)
    if optional(node, 1):
        sizes = env.ints(node.inputs[1])
    elif node.attr("split") is not None:
        sizes = [int(s) for s in node.attr("split")]
    else:
        parts = int(node.attr("num_outputs", len(node.outputs)))
        step = -(-x.shape.c // parts)
        sizes = [min(step, x.shape.c - i * step) for i in range(parts)]
    if min(sizes, default=0) < 1 or sum(sizes) != x.shape.c:
        raise ConvcalcError(f"split sizes {sizes} must be positive and add up to the "
                            f"{x.shape.c} channels")
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return [_channels(x, start, start + size, output=i, suffix=str(i))
            for i, (start, size) in enumerate(zip(starts, sizes, strict=True))]


def _channels(x: Tensor, start: int, end: int, output: int = 0, suffix: str = "") -> Emit:
    """The layer that takes channels [start, end) of ``x``, as the node's output ``output``."""
    return Emit(make("channel_slice", start=start, stop=end), (x,), suffix=suffix,
                output=output)


@op("Slice")
def slice_(node: OnnxNode, env: Env) -> list[Emit]:
    """Slice of a channel range (steps of 1) -> split; a Slice that keeps everything -> nothing."""
    x = env.tensor(node.inputs[0])
    starts, ends = env.ints(node.inputs[1]), env.ints(node.inputs[2])
    dims = list(x.dims())
    axes = env.ints(node.inputs[3]) if optional(node, 3) else list(range(len(starts)))
    steps = env.ints(node.inputs[4]) if optional(node, 4) else [1] * len(starts)
    if not len(axes) == len(starts) == len(ends) == len(steps):
        raise ConvcalcError(f"Slice has {len(starts)} starts, {len(ends)} ends, {len(axes)} "
                            f"axes and {len(steps)} steps; they must be as many")
    keep = None
    for given, start, end, step in zip(axes, starts, ends, steps, strict=True):
        axis = given % len(dims)
        lo, hi, _ = slice(start, end).indices(dims[axis])
        if step != 1 or (axis != 1 and (lo, hi) != (0, dims[axis])):
            raise ConvcalcError(f"Slice of axis {axis} [{start}:{end}:{step}] of dims {dims} is "
                                "not supported; convcalc slices channels")
        if axis == 1 and (lo, hi) != (0, dims[1]):
            keep = (lo, hi)
    if keep is None:
        return (x,)  # type: ignore[return-value]
    if x.layout != "nchw" or keep[1] <= keep[0]:
        raise ConvcalcError(f"Slice [{keep[0]}:{keep[1]}] of dims {dims} is empty or not along "
                            "NCHW channels")
    return [_channels(x, *keep)]
