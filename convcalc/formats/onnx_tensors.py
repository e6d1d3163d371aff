"""The ONNX forms of the kinds of tensors of any rank (``onnx_writer`` holds the table): tokens
and images, class tokens, position embeddings, attention, matrix products, reshaping kinds,
reductions, group norm, pixel shuffles and merges that broadcast.

Every form is made of plain opset-17 ops, written as torch's exporter writes the same module:
attention as ``timm``'s Attention (one QKV MatMul by a weight and its bias Add, Reshape and
Transpose to heads, Gather of Q, K and V, Mul by the scale, MatMul, Softmax, MatMul, Transpose
and Reshape back, the output MatMul and Add); windows as Reshape / Transpose partitions, a shift
as Slice and Concat (torch's ``roll``), the relative position bias as a Gather of its table;
group norm as InstanceNormalization of [batch, groups, -1] then Mul and Add; pixel unshuffle as
Reshape, Transpose, Reshape. The products of network tensors are MatMul nodes named by the row
(``PATH``), the weights' MatMul nodes ``PATH/qkv/MatMul`` and ``PATH/proj/MatMul``.
"""

import math

from convcalc.analysis.report import LayerRow
from convcalc.formats.onnx_graph import OnnxGraph, Writer
from convcalc.graph.layers.attention import CPB_HIDDEN, Attention
from convcalc.graph.layers.reshaping import Reduce


def _tokens(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """NCHW -> [batch, h·w, c]: torch's ``x.flatten(2).transpose(1, 2)``."""
    p = row.path
    n, d = row.output.tokens
    flat = g.step(p, "Reshape", [xs[0], g.ints(f"{p}.shape", [g.batch, d, n])])
    return g.node("Transpose", [flat], p, p, perm=[0, 2, 1])


def _image(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    p = row.path
    t = g.step(p, "Transpose", xs[:1], perm=[0, 2, 1])
    return g.node("Reshape", [t, g.ints(f"{p}.shape", g.dims(row.output))], p, p)


def _class_token(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    p = row.path
    count = int(getattr(row.layer, "count", 1))
    d = row.input.c
    token = g.random(f"{p}.token", (1, count, d), 0.02)
    tokens = g.step(p, "Expand", [token, g.ints(f"{p}.expand", [g.batch, count, d])])
    return g.node("Concat", [tokens, xs[0]], p, p, axis=1)


def _position_embedding(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    embedding = g.random(f"{row.path}.embedding", (1, *g.dims(row.input)[1:]), 0.02)
    return g.node("Add", [xs[0], embedding], row.path, row.path)


def _select_token(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    index = g.ints(f"{row.path}.index", int(getattr(row.layer, "index", 0)))
    return g.node("Gather", [xs[0], index], row.path, row.path, axis=1)


def linear(g: OnnxGraph, path: str, x: str, inputs: int, units: int, bias: bool) -> str:
    """x [..., inputs] times a weight [inputs, units] (+ bias), as torch's exporter writes an
    nn.Linear on tokens: MatMul by the transposed weight, then Add; the nodes named
    ``PATH/MatMul`` and ``PATH/Add`` (the reader's layer ``PATH``)."""
    weight = g.random(f"{path}.weight", (inputs, units), math.sqrt(1 / inputs))
    y = g.step(path, "MatMul", [x, weight])
    return g.step(path, "Add", [y, g.random(f"{path}.bias", (units,), 0.01)]) if bias else y


def _position_bias(g: OnnxGraph, layer: Attention, p: str, scores: str) -> str:
    """The scores [N, heads, s², s²] plus the relative position bias of a window of s x s: a
    learned table of (2s - 1)² x heads ('table'), or Swin V2's MLP on the offsets times a
    learned logit scale ('mlp'); each gathered by the offset of every pair of positions."""
    s, heads = layer.window_size, layer.heads
    np = g.np
    pos = np.stack(np.meshgrid(np.arange(s), np.arange(s), indexing="ij")).reshape(2, -1)
    rel = (pos[:, :, None] - pos[:, None, :]).transpose(1, 2, 0) + s - 1
    index = g.ints(f"{p}.index", (rel[..., 0] * (2 * s - 1) + rel[..., 1]).tolist())
    offsets = (2 * s - 1) ** 2
    if layer.position_bias == "table":
        table = g.random(f"{p}.table", (offsets, heads), 0.02)
    else:
        coords = g.fixed(p, np.zeros((offsets, 2)))
        hidden = g.step(f"{p}/cpb.0", "Relu", [linear(g, f"{p}/cpb.0", coords, 2, CPB_HIDDEN,
                                                        True)])
        table = g.step(f"{p}/cpb", "Sigmoid", [linear(g, f"{p}/cpb.2", hidden, CPB_HIDDEN,
                                                       heads, False)])
        table = g.step(f"{p}/cpb", "Mul", [table, g.fixed(p, 16.0)])
        scale = g.step(p, "Exp", [g.random(f"{p}.logit_scale", (heads, 1, 1), 0.1)])
        scores = g.step(p, "Mul", [scores, scale])
    bias = g.step(p, "Gather", [table, index], axis=0)
    return g.step(p, "Add", [scores, g.step(p, "Transpose", [bias], perm=[2, 0, 1])])


def _heads(g: OnnxGraph, row: LayerRow, x: str, n: int) -> str:
    """Multi-head self-attention of x [N, n, d]: [N, n, d]."""
    layer: Attention = row.layer  # type: ignore[assignment]
    p, d, heads = row.path, row.input.c, layer.heads
    qkv = linear(g, f"{p}/qkv", x, d, 3 * d, layer.bias)
    qkv = g.step(p, "Reshape", [qkv, g.ints(f"{p}.qkv_shape", [-1, n, 3, heads, d // heads])])
    qkv = g.step(p, "Transpose", [qkv], perm=[2, 0, 3, 1, 4])
    q, k, v = (g.step(p, "Gather", [qkv, g.ints(f"{p}.{name}", i)], axis=0)
               for i, name in enumerate("qkv"))
    q = g.step(p, "Mul", [q, g.fixed(p, (d // heads) ** -0.5)])
    scores = g.node("MatMul", [q, g.step(p, "Transpose", [k], perm=[0, 1, 3, 2])], p, p)
    if layer.position_bias != "none":
        scores = _position_bias(g, layer, p, scores)
    out = g.step(p, "MatMul", [g.step(p, "Softmax", [scores], axis=-1), v])
    out = g.step(p, "Transpose", [out], perm=[0, 2, 1, 3])
    out = g.step(p, "Reshape", [out, g.ints(f"{p}.merge", [-1, n, d])])
    return linear(g, f"{p}/proj", out, d, d, layer.bias)


def _roll(g: OnnxGraph, p: str, x: str, shift: int, size: int, axis: int) -> str:
    """torch.roll of x by ``shift`` along ``axis`` of length ``size``, as its exporter writes
    it: the last ``shift`` values, then the others."""
    cut = size - shift % size
    tail = g.step(p, "Slice", [x, g.ints(f"{p}.start", [cut]), g.ints(f"{p}.end", [size]),
                                g.ints(f"{p}.axis", [axis])])
    head = g.step(p, "Slice", [x, g.ints(f"{p}.start", [0]), g.ints(f"{p}.end", [cut]),
                                g.ints(f"{p}.axis", [axis])])
    return g.step(p, "Concat", [tail, head], axis=axis)


def _attention(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """Attention over tokens, over all positions of an image, or in windows of an image
    (padded to whole windows, shifted, or a grid), as the PyTorch writer's modules compute it."""
    layer: Attention = row.layer  # type: ignore[assignment]
    p, x = row.path, row.input
    if not x.is_image:
        return _heads(g, row, xs[0], x.tokens[0])
    (h, w), c, b = x.hw, x.c, g.batch
    t = g.last(p, xs[0], x)
    if not layer.window_size:
        t = g.step(p, "Reshape", [t, g.ints(f"{p}.tokens", [b, h * w, c])])
        t = _heads(g, row, t, h * w)
        t = g.step(p, "Reshape", [t, g.ints(f"{p}.image", [b, h, w, c])])
        return g.back(p, t, x)
    s, shift = layer.window_size, layer.shift_size
    ph, pw = layer.padded(x)
    if (ph, pw) != (h, w):
        t = g.step(p, "Pad", [t, g.ints(f"{p}.pads", [0, 0, 0, 0, 0, ph - h, pw - w, 0])])
    if shift:
        t = _roll(g, p, _roll(g, p, t, -shift, ph, 1), -shift, pw, 2)
    if layer.grid:
        split, order = [b, s, h // s, s, w // s, c], [0, 2, 4, 1, 3, 5]
        joined, back = [b, h // s, w // s, s, s, c], [0, 3, 1, 4, 2, 5]
    else:
        split, order = [b, ph // s, s, pw // s, s, c], [0, 1, 3, 2, 4, 5]
        joined, back = [b, ph // s, pw // s, s, s, c], [0, 1, 3, 2, 4, 5]
    t = g.step(p, "Transpose", [g.step(p, "Reshape", [t, g.ints(f"{p}.split", split)])],
               perm=order)
    t = g.step(p, "Reshape", [t, g.ints(f"{p}.windows", [-1, s * s, c])])
    t = _heads(g, row, t, s * s)
    t = g.step(p, "Transpose", [g.step(p, "Reshape", [t, g.ints(f"{p}.joined", joined)])],
               perm=back)
    t = g.step(p, "Reshape", [t, g.ints(f"{p}.image", [b, ph, pw, c])])
    if shift:
        t = _roll(g, p, _roll(g, p, t, shift, ph, 1), shift, pw, 2)
    if (ph, pw) != (h, w):
        t = g.step(p, "Slice", [t, g.ints(f"{p}.start", [0, 0]), g.ints(f"{p}.end", [h, w]),
                                g.ints(f"{p}.axes", [1, 2])])
    return g.back(p, t, x)


def _matmul(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """MatMul of the two tensors in convcalc's order, lifted to the output's rank."""
    p, (a, b), rank = row.path, row.input_shapes, row.output.rank
    product = g.node("MatMul", [g.last(p, xs[0], a, rank), g.last(p, xs[1], b, rank)], p, p)
    return g.back(p, product, row.output)


def _arithmetic(op: str) -> Writer:
    """An element-wise merge as a chain of binary ``op`` nodes (ONNX's Add and Mul take two),
    broadcast as numpy and torch: in this layout when every input has the output's rank, else
    in convcalc's order with each input lifted to the output's rank."""
    def write(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
        p, out = row.path, row.output
        mixed = any(s.rank != out.rank for s in row.input_shapes)
        if mixed:
            xs = [g.last(p, x, s, out.rank) for x, s in zip(xs, row.input_shapes, strict=True)]
        t = xs[0]
        for i, x in enumerate(xs[1:], start=1):
            t = g.node(op, [t, x], p, p) if i == len(xs) - 1 else g.step(p, op, [t, x])
        return g.back(p, t, out) if mixed else t
    return write


def _in_order(op: str) -> Writer:
    """A kind that is one ``op`` node on the tensor in convcalc's order (a reshape, a
    transpose, an unsqueeze), its settings from the row's layer."""
    def write(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
        p = row.path
        inputs = [g.last(p, xs[0], row.input)]
        settings: dict[str, object] = {}
        if op == "Reshape":
            inputs.append(g.ints(f"{p}.shape", [g.batch, *row.output.dims]))
        elif op == "Transpose":
            settings["perm"] = [0, *(i + 1 for i in getattr(row.layer, "perm", ()))]
        elif op == "Unsqueeze":
            axis = int(getattr(row.layer, "axis", 0)) % (row.input.rank + 1) + 1
            inputs.append(g.ints(f"{p}.axes", [axis]))
        t = g.node(op, inputs, p, p, **settings)
        return g.back(p, t, row.output)
    return write


# ReduceSum takes its axes as an input at opset 13, the others as an attribute until 18.
REDUCE_OPS = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax", "l2": "ReduceL2"}


def _reduce(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    p = row.path
    layer: Reduce = row.layer  # type: ignore[assignment]
    axes = [a + 1 for a in sorted(layer.reduced(row.input))]
    op = REDUCE_OPS[layer.op]
    x = g.last(p, xs[0], row.input)
    if op == "ReduceSum":
        t = g.node(op, [x, g.ints(f"{p}.axes", axes)], p, p, keepdims=int(layer.keepdims))
    else:
        t = g.node(op, [x], p, p, axes=axes, keepdims=int(layer.keepdims))
    return g.back(p, t, row.output)


def _stack(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """torch.stack as its exporter writes it: each input Unsqueezed, then Concat."""
    p, x = row.path, row.input
    axis = int(getattr(row.layer, "axis", 0)) % (x.rank + 1) + 1
    parts = [g.step(p, "Unsqueeze", [g.last(p, v, x), g.ints(f"{p}.axes", [axis])]) for v in xs]
    return g.back(p, g.node("Concat", parts, p, p, axis=axis), row.output)


def _groupnorm(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """Group norm as torch's exporter writes it: InstanceNormalization of [batch, groups, -1]
    with a unit scale (constants, not parameters), then the learned scale and shift per
    channel. On a tensor that is not an image, of its features."""
    p, x = row.path, row.input
    groups = int(getattr(row.layer, "groups", 1))
    t = xs[0] if x.is_image else g.features_first(p, xs[0], x)
    layout = g.dims(x) if x.is_image else [g.batch, x.c, -1, 1]
    grouped = g.step(p, "Reshape", [t, g.ints(f"{p}.groups", [g.batch, groups, -1])])
    normed = g.step(p, "InstanceNormalization", [grouped, g.fixed(p, [1.0] * groups),
                                                 g.fixed(p, [0.0] * groups)],
                    epsilon=float(getattr(row.layer, "eps", 1e-5)))
    t = g.step(p, "Reshape", [normed, g.ints(f"{p}.channels", layout)])
    t = g.step(p, "Mul", [t, g.constant(f"{p}.weight", g.rng.uniform(0.5, 1.5, (x.c, 1, 1)))])
    t = g.node("Add", [t, g.random(f"{p}.bias", (x.c, 1, 1), 0.1)], p, p)
    return t if x.is_image else g.features_back(p, t, x)


def _space_to_depth(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """nn.PixelUnshuffle as torch's exporter writes it (ONNX's SpaceToDepth orders the
    channels otherwise): Reshape, Transpose, Reshape."""
    p, r = row.path, int(getattr(row.layer, "factor", 1))
    b, c, h, w = g.dims(row.input)
    t = g.step(p, "Reshape", [xs[0], g.ints(f"{p}.split", [b, c, h // r, r, w // r, r])])
    t = g.step(p, "Transpose", [t], perm=[0, 1, 3, 5, 2, 4])
    return g.node("Reshape", [t, g.ints(f"{p}.shape", g.dims(row.output))], p, p)


def _channel_shuffle(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """Reshape the channels (features) to groups x (c / groups), swap the two, reshape back."""
    p, x = row.path, row.input
    groups = int(getattr(row.layer, "groups", 1))
    dims = g.dims(x)
    axis = 1 if x.is_image else len(dims) - 1
    split = [*dims[:axis], groups, x.c // groups, *dims[axis + 1:]]
    perm = list(range(len(split)))
    perm[axis], perm[axis + 1] = axis + 1, axis
    t = g.step(p, "Reshape", [xs[0], g.ints(f"{p}.split", split)])
    t = g.step(p, "Transpose", [t], perm=perm)
    return g.node("Reshape", [t, g.ints(f"{p}.merge", dims)], p, p)


TENSOR_FORMS: dict[str, Writer] = {
    "tokens": _tokens,
    "image": _image,
    "class_token": _class_token,
    "position_embedding": _position_embedding,
    "select_token": _select_token,
    "attention": _attention,
    "matmul": _matmul,
    "add": _arithmetic("Add"),
    "mul": _arithmetic("Mul"),
    "sub": _arithmetic("Sub"),
    "div": _arithmetic("Div"),
    "reshape": _in_order("Reshape"),
    "transpose": _in_order("Transpose"),
    "unsqueeze": _in_order("Unsqueeze"),
    "reduce": _reduce,
    "stack": _stack,
    "groupnorm": _groupnorm,
    "pixel_shuffle": lambda g, row, xs: g.node(
        "DepthToSpace", xs[:1], row.path, row.path,
        blocksize=int(getattr(row.layer, "factor", 1)), mode="CRD"),  # nn.PixelShuffle's
    "space_to_depth": _space_to_depth,
    "channel_shuffle": _channel_shuffle,
}

