"""What attention is made of, on network tensors of any rank: Softmax along an axis,
LayerNormalization over the last one, Einsum in the forms attention writes its products with
(MatMul is in ``convolution``), and Where for its masks."""

import math

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_eval import Const
from convcalc.formats.onnx_ops.layouts import arranged, last_axis
from convcalc.formats.onnx_ops.registry import make, op, optional
from convcalc.formats.onnx_values import Emit, Env, OnnxNode, Tensor, Weight


@op("Softmax")
def softmax(node: OnnxNode, env: Env) -> list[Emit]:
    """Softmax along ONNX axis ``axis`` (-1 by default, opset 13) -> softmax along the convcalc
    axis it is (YOLO's DFL takes it over 16 bins on axis 1)."""
    x = env.tensor(node.inputs[0])
    onnx_axis = int(node.attr("axis", -1))
    axis = x.axis(onnx_axis)
    if axis is None:
        raise ConvcalcError(f"Softmax along axis {onnx_axis} (size 1) of dims "
                            f"{list(x.dims())} is not supported")
    return [Emit(make("softmax", axis=axis - x.shape.rank), (x,))]


@op("LayerNormalization")
def layernorm(node: OnnxNode, env: Env) -> list[Emit]:
    """LayerNormalization over the last axis of a tensor of any rank -> layernorm over the
    features (a transpose row first when they are another convcalc axis; without a bias input:
    layernorm without affine, then a layer_scale for the scale)."""
    x, scale = env.tensor(node.inputs[0]), env.weight(node.inputs[1])
    rank = len(x.dims())
    if int(node.attr("axis", -1)) % rank != rank - 1:
        raise ConvcalcError(f"LayerNormalization over axis {node.attr('axis', -1)} of a tensor "
                            f"with dims {list(x.dims())}; convcalc normalizes over the last axis")
    features = x.dims()[-1]
    if scale.elements != features or scale.dims[-1:] != (features,):
        raise ConvcalcError(f"scale '{scale.name}' has dims {list(scale.dims)}, not "
                            f"[{features}]")
    rows, source = last_axis(x)
    eps = float(node.attr("epsilon", 1e-5))
    if optional(node, 2):
        return [*rows, Emit(make("layernorm", eps=eps), (source,),
                            weights=(scale, env.weight(node.inputs[2])))]
    # A scale without a shift: normalize, then one factor per channel (c parameters).
    return [*rows, Emit(make("layernorm", eps=eps, affine=False), (source,)),
            Emit(make("layer_scale"), suffix="scale", weights=(scale,))]


@op("Einsum")
def einsum(node: OnnxNode, env: Env) -> list[Emit]:
    """Einsum of two network tensors in the forms attention uses ('bhqd,bhkd->bhqk',
    'bhqk,bhkd->bhqd': batch letters in both inputs and the output, one group summed over) ->
    matmul, counted as torch's bmm (batch · m · k · n), with transpose and reshape rows that
    lay each operand out as [batch, m, k] and [batch, k, n]."""
    equation = str(node.attr("equation", "")).replace(" ", "")
    terms, _, out = equation.partition("->")
    parts = terms.split(",")
    if len(parts) != 2 or len(node.inputs) != 2 or not out or any(
            len(set(p)) != len(p) or not p.isalpha() for p in (*parts, out)):
        raise ConvcalcError(f"Einsum '{equation}' is not supported; convcalc reads two tensors "
                            "and an explicit output ('bhqd,bhkd->bhqk'), each letter once a term")
    a, b = env.tensor(node.inputs[0]), env.tensor(node.inputs[1])
    ta, tb = parts
    batch = [c for c in out if c in ta and c in tb]
    m = [c for c in out if c in ta and c not in tb]
    n = [c for c in out if c in tb and c not in ta]
    k = [c for c in ta if c in tb and c not in out]
    if sorted(batch + m + n) != sorted(out) or sorted(batch + m + k) != sorted(ta) or \
            sorted(batch + k + n) != sorted(tb) or len(ta) != len(a.dims()) or \
            len(tb) != len(b.dims()):
        raise ConvcalcError(f"Einsum '{equation}' is not supported; convcalc reads a batched "
                            "matrix product of two tensors")
    size = dict(zip(ta, a.dims(), strict=True)) | dict(zip(tb, b.dims(), strict=True))
    # Letters of size 1 (the batch) are left out of the convcalc shapes.
    batch, m, n, k = ([c for c in g if size[c] != 1] for g in (batch, m, n, k))
    rows_a, left = _as_matrix(a, ta, (batch, m, k), size, "a")
    rows_b, right = _as_matrix(b, tb, (batch, k, n), size, "b")
    order = batch + m + n
    layout = tuple(order.index(c) if c in order else None for c in out)
    if len(batch) <= 1 and len(m) == len(n) == 1:
        return [*rows_a, *rows_b, Emit(make("matmul"), (left, right), axes=layout)]
    product = Emit(make("matmul"), (left, right))
    return [*rows_a, *rows_b, product,
            Emit(make("reshape", shape=tuple(size[c] for c in order)), (product,),
                 axes=layout, suffix="out")]


def _as_matrix(x: Tensor, term: str, groups: tuple[list[str], ...], size: dict[str, int],
               name: str) -> tuple[list[Emit], Tensor | Emit]:
    """``x`` (the einsum term ``term``) laid out as the letters of ``groups`` (batch, rows,
    columns) in that order, then as one dim per group when a group has several letters."""
    made, source = arranged(x, [term.index(c) for group in groups for c in group],
                            f"arranged_{name}")
    batch, rows, cols = groups
    if len(batch) <= 1 and len(rows) == len(cols) == 1:
        return made, source
    flat = tuple(math.prod(size[c] for c in group) for group in groups)
    made.append(Emit(make("reshape", shape=flat), (source,), suffix=f"matrix_{name}",
                     axes=(0, 1, 2)))
    return made, made[-1]


@op("Where")
def where(node: OnnxNode, env: Env) -> list[Emit]:
    """Where choosing between a network tensor and constants (a mask, as attention masks and
    YOLO's post-processing use): a choice, no MACs -> identity on that tensor, whose dims the
    output must keep."""
    values = [env.value(n) for n in node.inputs]
    tensors = [v for v in values if isinstance(v, Tensor)]
    if len(tensors) != 1:
        raise ConvcalcError(f"Where of {len(tensors)} network tensors is not supported; "
                            "convcalc reads a choice between one network tensor and constants")
    x = tensors[0]
    for v in values:
        given = v.dims if isinstance(v, Weight | Const) else ()
        if len(given) > len(x.dims()) or any(
                g not in (1, d) for g, d in zip(given[::-1], x.dims()[::-1], strict=False)):
            raise ConvcalcError(f"Where makes dims larger than the network tensor's "
                                f"{list(x.dims())}; convcalc reads a choice that keeps them")
    return [Emit(make("identity"), (x,))]
