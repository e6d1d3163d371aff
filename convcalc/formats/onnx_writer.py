"""``Architecture`` -> a runnable ONNX model (``export --to onnx``, and what ``measure`` times).

The model is written from the analysis rows, like the PyTorch writer: every layer is concrete
(padding resolved, channel counts known). Each row becomes the ONNX nodes of ``ONNX[kind]``,
named by the row's layer path (helper nodes of one row get ``PATH/Op``), so ``convcalc analyze``
of the file gives the design's layer paths, shapes, params and MACs. Weights are random
(seeded): He-normal convolutions and dense layers, unit batch-norm statistics, so activations
stay finite and a runtime times ordinary numbers, not NaNs or denormals.

Plain ops of opset 17 only, written as torch's exporter writes the same modules: GELU with Erf,
SiLU as Sigmoid and Mul, channel shuffle as Reshape, Transpose, Reshape. Tensors are laid out
as the PyTorch writer's (``onnx_graph``: NCHW images, any other rank in convcalc's order after
the batch); the kinds of tensors of any rank, attention among them, have their forms in
``onnx_tensors``. Side branches (auxiliary classifiers) are left out. A model whose float32
weights pass protobuf's 2 GiB is refused before any weight is drawn. Needs the ``onnx`` package
(the ``onnx`` extra), imported only here.
"""

import math
from typing import Any

from convcalc.analysis.report import NETWORK_INPUT, LayerRow, analyze
from convcalc.errors import ConvcalcError, require
from convcalc.formats.onnx_graph import OnnxGraph, Writer
from convcalc.formats.onnx_tensors import TENSOR_FORMS, linear
from convcalc.formats.walk import inference_rows, torch_dim
from convcalc.graph.architecture import Architecture
from convcalc.graph.layers import ConvTranspose, Pool
from convcalc.graph.shapes import resolve_padding
from convcalc.limits import MAX_BATCH, MAX_ONNX_WEIGHT_BYTES

OPSET = 17
INPUT_NAME = "input"


def _onnx_pads(pads: tuple[int, int, int, int]) -> list[int]:
    """convcalc's (top, bottom, left, right) as ONNX's [top, left, bottom, right]."""
    top, bottom, left, right = pads
    return [top, left, bottom, right]


def _conv(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    conv = row.layer.as_conv(row.input)  # type: ignore[union-attr]
    window = conv.window(row.input)
    per_group = row.input.c // conv.groups
    fan_in = per_group * conv.kernel[0] * conv.kernel[1]
    inputs = [xs[0], g.random(f"{row.path}.weight", (conv.filters, per_group, *conv.kernel),
                              math.sqrt(2 / fan_in))]
    if conv.bias:
        inputs.append(g.random(f"{row.path}.bias", (conv.filters,), 0.01))
    return g.node("Conv", inputs, row.path, row.path, kernel_shape=list(conv.kernel),
                  strides=list(conv.stride), pads=_onnx_pads(window.padding),
                  dilations=list(window.dilation), group=conv.groups)


def _conv_transpose(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    layer: ConvTranspose = row.layer  # type: ignore[assignment]
    ph, pw = layer._pads()  # ConvTranspose2d's symmetric (h, w) padding
    per_group = layer.filters // layer.groups
    fan_in = row.input.c // layer.groups * layer.kernel[0] * layer.kernel[1]
    inputs = [xs[0], g.random(f"{row.path}.weight", (row.input.c, per_group, *layer.kernel),
                              math.sqrt(2 / fan_in))]
    if layer.bias:
        inputs.append(g.random(f"{row.path}.bias", (layer.filters,), 0.01))
    return g.node("ConvTranspose", inputs, row.path, row.path,
                  kernel_shape=list(layer.kernel), strides=list(layer.stride),
                  pads=[ph, pw, ph, pw], output_padding=list(layer.output_padding),
                  dilations=list(layer.dilation), group=layer.groups)


def _pool(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    pool: Pool = row.layer  # type: ignore[assignment]
    window = pool.window(row.input)
    extra = {"count_include_pad": 1} if row.kind == "avgpool" else {}  # PyTorch's default
    return g.node("MaxPool" if row.kind == "maxpool" else "AveragePool", xs[:1], row.path,
                  row.path, kernel_shape=list(window.kernel), strides=list(window.stride),
                  pads=_onnx_pads(window.padding), ceil_mode=int(pool.ceil_mode), **extra)


def _adaptive(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """Adaptive pooling as a plain pool whose window tiles the input: exact when the input is
    a multiple of the output (ONNX has no adaptive pooling; torch's exporter does the same)."""
    (h, w), (oh, ow) = row.input.hw, row.output.hw
    if h % oh or w % ow:
        raise ConvcalcError(f"pools {h}x{w} to {oh}x{ow}, which ONNX cannot express (the input "
                            "must be a multiple of the output); choose another --input")
    op = "MaxPool" if row.kind == "adaptive_maxpool" else "AveragePool"
    return g.node(op, xs[:1], row.path, row.path, kernel_shape=[h // oh, w // ow],
                  strides=[h // oh, w // ow])


def _on_channels(write: Writer) -> Writer:
    """A kind whose ONNX op reads channels at dim 1 (BatchNormalization, LRN): on an image as
    it is, on any other tensor on its features as [batch, d, positions, 1]."""
    def on_features(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
        if row.input.is_image:
            return write(g, row, xs)
        t = write(g, row, [g.features_first(row.path, xs[0], row.input)])
        return g.features_back(row.path, t, row.input)
    return on_features


def _batchnorm(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    c = row.input.c
    p = row.path
    inputs = [xs[0], g.constant(f"{p}.weight", g.rng.uniform(0.5, 1.5, c)),
              g.random(f"{p}.bias", (c,), 0.1), g.random(f"{p}.running_mean", (c,), 0.1),
              g.constant(f"{p}.running_var", g.rng.uniform(0.5, 1.5, c))]
    return g.node("BatchNormalization", inputs, p, p, epsilon=1e-5)


def _lrn(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    return g.node("LRN", xs[:1], row.path, row.path, size=int(getattr(row.layer, "size", 5)),
                  alpha=float(getattr(row.layer, "alpha", 1e-4)),
                  beta=float(getattr(row.layer, "beta", 0.75)),
                  bias=float(getattr(row.layer, "k", 1)))


def _clip(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    low = g.constant(f"{row.path}.min", 0.0)
    return g.node("Clip", [xs[0], low, g.constant(f"{row.path}.max", 6.0)], row.path, row.path)


def _gelu(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """x * (erf(x / sqrt 2) + 1) * 0.5: torch's exporter's GELU at opset 17."""
    p = row.path
    t = g.node("Div", [xs[0], g.constant(f"{p}.sqrt2", math.sqrt(2))], f"{p}/div", f"{p}/Div")
    t = g.node("Erf", [t], f"{p}/erf", f"{p}/Erf")
    t = g.node("Add", [t, g.constant(f"{p}.one", 1.0)], f"{p}/add", f"{p}/Add")
    t = g.node("Mul", [xs[0], t], f"{p}/mul", f"{p}/Mul")
    return g.node("Mul", [t, g.constant(f"{p}.half", 0.5)], p, p)


def _silu(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    gate = g.node("Sigmoid", xs[:1], f"{row.path}/sigmoid", f"{row.path}/Sigmoid")
    return g.node("Mul", [xs[0], gate], row.path, row.path)


def _simple(op: str, **attrs: Any) -> Writer:
    """A kind that is one ONNX node of ``op`` on its first input."""
    return lambda g, row, xs: g.node(op, xs[:1], row.path, row.path, **attrs)


def _zeropad(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    top, bottom, left, right = resolve_padding(row.layer.padding,  # type: ignore[union-attr]
                                               row.input.hw, (1, 1), (1, 1), (1, 1))
    pads = g.ints(f"{row.path}.pads", [0, 0, top, left, 0, 0, bottom, right])
    return g.node("Pad", [xs[0], pads], row.path, row.path, mode="constant")


def _dense(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """A dense layer: on a flat vector a Gemm; on tokens or any other rank a MatMul by the
    transposed weight and an Add, as torch's exporter writes nn.Linear there."""
    units, bias = row.output.c, bool(getattr(row.layer, "bias", False))
    if not row.input.is_flat:
        return linear(g, row.path, xs[0], row.input.c, units, bias)
    inputs = [xs[0], g.random(f"{row.path}.weight", (units, row.input.c),
                              math.sqrt(2 / row.input.c))]
    if bias:
        inputs.append(g.random(f"{row.path}.bias", (units,), 0.01))
    return g.node("Gemm", inputs, row.path, row.path, transB=1)


def _upsample(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """Resize to the output size, as torch's interpolate: nearest picks floor(out / scale),
    bilinear without aligned corners samples at half-pixel centres."""
    sizes = g.ints(f"{row.path}.sizes", g.dims(row.output))
    nearest = getattr(row.layer, "mode", "nearest") == "nearest"
    mode = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
            "nearest_mode": "floor"} if nearest else {
        "mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}
    return g.node("Resize", [xs[0], "", "", sizes], row.path, row.path, **mode)


def _layernorm(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    """LayerNormalization over channels: of the features of any tensor but an image directly,
    of an image between two Transposes to channels-last and back (as torch's exporter writes
    ConvNeXt's)."""
    p, c = row.path, row.input.c
    ones = g.constant(f"{p}.weight", [1.0] * c)
    norm = [ones, g.constant(f"{p}.bias", [0.0] * c)] if getattr(row.layer, "affine", True) \
        else [ones]
    epsilon = float(getattr(row.layer, "eps", 1e-5))
    if not row.input.is_image:
        return g.node("LayerNormalization", [xs[0], *norm], p, p, axis=-1, epsilon=epsilon)
    t = g.node("Transpose", xs[:1], f"{p}/last", f"{p}/Transpose", perm=[0, 2, 3, 1])
    t = g.node("LayerNormalization", [t, *norm], f"{p}/norm", p, axis=-1, epsilon=epsilon)
    return g.node("Transpose", [t], p, f"{p}/Transpose_1", perm=[0, 3, 1, 2])


def _layer_scale(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    c = row.input.c
    dims = (c, 1, 1) if row.input.is_image else (c,)
    return g.node("Mul", [xs[0], g.random(f"{row.path}.scale", dims, 0.1)], row.path, row.path)


def _slice(g: OnnxGraph, row: LayerRow, x: str, axes: list[int], starts: list[int],
           stops: list[int]) -> str:
    p = row.path
    return g.node("Slice", [x, g.ints(f"{p}.starts", starts), g.ints(f"{p}.ends", stops),
                            g.ints(f"{p}.axes", axes)], p, p)


def _channel_slice(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    start, stop = row.layer.bounds(row.input.c)  # type: ignore[union-attr]
    return _slice(g, row, xs[0], [torch_dim(row.input, -1)], [start], [stop])


def _crop(g: OnnxGraph, row: LayerRow, xs: list[str]) -> str:
    top, left = row.layer.offsets(row.input_shapes)  # type: ignore[union-attr]
    h, w = row.output.hw
    return _slice(g, row, xs[0], [2, 3], [top, left], [top + h, left + w])


ONNX: dict[str, Writer] = {
    **dict.fromkeys(("conv", "depthwise", "pointwise"), _conv),
    "conv_transpose": _conv_transpose,
    "dense": _dense,
    "maxpool": _pool,
    "avgpool": _pool,
    "global_avgpool": _simple("GlobalAveragePool"),
    "adaptive_avgpool": _adaptive,
    "adaptive_maxpool": _adaptive,
    "batchnorm": _on_channels(_batchnorm),
    "layernorm": _layernorm,
    "layer_scale": _layer_scale,
    "lrn": _on_channels(_lrn),
    "relu": _simple("Relu"),
    "relu6": _clip,
    "leaky_relu": _simple("LeakyRelu", alpha=0.01),  # PyTorch's default slope
    "elu": _simple("Elu", alpha=1.0),
    "gelu": _gelu,
    "silu": _silu,
    "sigmoid": _simple("Sigmoid"),
    "tanh": _simple("Tanh"),
    "hardswish": _simple("HardSwish"),
    "hardsigmoid": _simple("HardSigmoid", alpha=1 / 6, beta=0.5),  # PyTorch's Hardsigmoid
    "softmax": lambda g, row, xs: g.node(
        "Softmax", xs[:1], row.path, row.path,
        axis=torch_dim(row.input, int(getattr(row.layer, "axis", -1)))),
    **dict.fromkeys(("dropout", "identity", "stochastic_depth"), _simple("Identity")),
    "flatten": _simple("Flatten", axis=1),
    "zeropad": _zeropad,
    "upsample": _upsample,  # a second input gives only the size
    "crop": _crop,  # likewise
    "concat": lambda g, row, xs: g.node(
        "Concat", xs, row.path, row.path,
        axis=torch_dim(row.input, int(getattr(row.layer, "axis", -1)))),
    "channel_slice": _channel_slice,
    **TENSOR_FORMS,
}


def write_onnx(arch: Architecture, batch: int = 1, seed: int = 0) -> bytes:
    """The serialized ONNX model (opset ``OPSET``) computing ``arch`` on ``batch`` images with
    random weights drawn from ``seed``, side branches left out."""
    if not 1 <= batch <= MAX_BATCH:
        raise ConvcalcError(f"batch {batch} must be from 1 to {MAX_BATCH:,}")
    onnx = require("onnx", "onnx")
    report = analyze(arch)
    if 4 * report.totals.params > MAX_ONNX_WEIGHT_BYTES:
        raise ConvcalcError(
            f"{report.totals.params:,} params take "
            f"{4 * report.totals.params / (1 << 30):.1f} GiB at float32, more than the "
            f"{MAX_ONNX_WEIGHT_BYTES / (1 << 30):.2f} GiB one ONNX file holds (protobuf's "
            "limit); export a smaller --width", file=arch.file)
    graph = OnnxGraph(onnx, batch, seed)
    names = {NETWORK_INPUT: INPUT_NAME}
    for i, row in inference_rows(report):
        try:
            names[i] = ONNX[row.kind](graph, row, [names[source] for source in row.inputs])
        except ConvcalcError as e:
            raise e.located(file=arch.file, line=row.line, path=row.path,
                            kind=row.kind) from None
    helper, floats = onnx.helper, onnx.TensorProto.FLOAT
    outputs = []
    for k, out in enumerate(report.outputs):
        name = names[out]
        if out == NETWORK_INPUT:  # a network that returns its input: name it as an output
            name = graph.node("Identity", [name], f"output{k}", f"output{k}")
        shape = report.input if out == NETWORK_INPUT else report.rows[out].output
        outputs.append(helper.make_tensor_value_info(name, floats, graph.dims(shape)))
    model = helper.make_model(
        helper.make_graph(graph.nodes, report.name or "network",
                          [helper.make_tensor_value_info(INPUT_NAME, floats,
                                                         graph.dims(report.input))],
                          outputs, graph.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)], producer_name="convcalc",
        ir_version=8)  # opset 17's IR version, which every ONNX Runtime since 1.13 reads
    data: bytes = model.SerializeToString()
    return data
