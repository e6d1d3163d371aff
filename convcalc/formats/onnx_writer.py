"""``Architecture`` -> a runnable ONNX model (``export --to onnx``, and what ``measure`` times).

The model is written from the analysis rows, like the PyTorch writer: every layer is concrete
(padding resolved, channel counts known). Each row becomes the ONNX nodes of ``ONNX[kind]``,
named by the row's layer path (helper nodes of one row get ``PATH/Op``), so ``convcalc analyze``
of the file gives the design's layer paths, shapes, params and MACs. Weights are random
(seeded): He-normal convolutions and dense layers, unit batch-norm statistics, so activations
stay finite and a runtime times ordinary numbers, not NaNs or denormals.

Plain ops of opset 17 only, the ones ONNX Runtime and convcalc's ONNX reader both know: GELU is
written as torch's exporter writes it at opset 17 (Erf), SiLU as Sigmoid and Mul, channel
shuffle as Reshape, Transpose, Reshape. Side branches (auxiliary classifiers) are left out.
Needs the ``onnx`` package (the ``onnx`` extra), imported only here.
"""

import math
from collections.abc import Callable
from typing import Any

from convcalc.analysis.report import NETWORK_INPUT, LayerRow, analyze
from convcalc.errors import ConvcalcError, require
from convcalc.formats.walk import inference_rows, not_written
from convcalc.graph.architecture import Architecture
from convcalc.graph.layers import ConvTranspose, Pool
from convcalc.graph.shapes import Shape, resolve_padding
from convcalc.limits import MAX_BATCH

OPSET = 17
INPUT_NAME = "input"


class _Graph:
    """The nodes and initializers written so far, and the seeded generator of weights."""

    def __init__(self, onnx: Any, batch: int, seed: int) -> None:
        import numpy as np

        self.onnx = onnx
        self.np = np
        self.batch = batch
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        """Add one node; returns its output name."""
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output

    def constant(self, name: str, values: Any, dtype: str = "float32") -> str:
        """Add an initializer holding ``values``; returns its name."""
        array = self.np.asarray(values, dtype=dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def random(self, name: str, dims: tuple[int, ...], std: float) -> str:
        """Add an initializer of normal values with standard deviation ``std``."""
        return self.constant(name, self.rng.standard_normal(dims) * std)

    def dims(self, shape: Shape) -> list[int]:
        """The NCHW (or [N, C] for a flat vector) dims of a shape at the batch."""
        return [self.batch, shape.c] if shape.is_flat else [self.batch, shape.c, *shape.hw]


Writer = Callable[[_Graph, LayerRow, list[str]], str]


def _onnx_pads(pads: tuple[int, int, int, int]) -> list[int]:
    """convcalc's (top, bottom, left, right) as ONNX's [top, left, bottom, right]."""
    top, bottom, left, right = pads
    return [top, left, bottom, right]


def _conv(g: _Graph, row: LayerRow, xs: list[str]) -> str:
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


def _conv_transpose(g: _Graph, row: LayerRow, xs: list[str]) -> str:
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


def _pool(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    pool: Pool = row.layer  # type: ignore[assignment]
    window = pool.window(row.input)
    extra = {"count_include_pad": 1} if row.kind == "avgpool" else {}  # PyTorch's default
    return g.node("MaxPool" if row.kind == "maxpool" else "AveragePool", xs[:1], row.path,
                  row.path, kernel_shape=list(window.kernel), strides=list(window.stride),
                  pads=_onnx_pads(window.padding), ceil_mode=int(pool.ceil_mode), **extra)


def _adaptive(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    """Adaptive pooling as a plain pool whose window tiles the input: exact when the input is
    a multiple of the output (ONNX has no adaptive pooling; torch's exporter does the same)."""
    (h, w), (oh, ow) = row.input.hw, row.output.hw
    if h % oh or w % ow:
        raise ConvcalcError(f"pools {h}x{w} to {oh}x{ow}, which ONNX cannot express (the input "
                            "must be a multiple of the output); choose another --input")
    op = "MaxPool" if row.kind == "adaptive_maxpool" else "AveragePool"
    return g.node(op, xs[:1], row.path, row.path, kernel_shape=[h // oh, w // ow],
                  strides=[h // oh, w // ow])


def _batchnorm(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    c = row.input.c
    p = row.path
    inputs = [xs[0], g.constant(f"{p}.weight", g.rng.uniform(0.5, 1.5, c)),
              g.random(f"{p}.bias", (c,), 0.1), g.random(f"{p}.running_mean", (c,), 0.1),
              g.constant(f"{p}.running_var", g.rng.uniform(0.5, 1.5, c))]
    return g.node("BatchNormalization", inputs, p, p, epsilon=1e-5)


def _clip(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    low = g.constant(f"{row.path}.min", 0.0)
    return g.node("Clip", [xs[0], low, g.constant(f"{row.path}.max", 6.0)], row.path, row.path)


def _gelu(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    """x * (erf(x / sqrt 2) + 1) * 0.5: torch's exporter's GELU at opset 17."""
    p = row.path
    t = g.node("Div", [xs[0], g.constant(f"{p}.sqrt2", math.sqrt(2))], f"{p}/div", f"{p}/Div")
    t = g.node("Erf", [t], f"{p}/erf", f"{p}/Erf")
    t = g.node("Add", [t, g.constant(f"{p}.one", 1.0)], f"{p}/add", f"{p}/Add")
    t = g.node("Mul", [xs[0], t], f"{p}/mul", f"{p}/Mul")
    return g.node("Mul", [t, g.constant(f"{p}.half", 0.5)], p, p)


def _silu(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    gate = g.node("Sigmoid", xs[:1], f"{row.path}/sigmoid", f"{row.path}/Sigmoid")
    return g.node("Mul", [xs[0], gate], row.path, row.path)


def _simple(op: str, **attrs: Any) -> Writer:
    """A kind that is one ONNX node of ``op`` on its first input."""
    return lambda g, row, xs: g.node(op, xs[:1], row.path, row.path, **attrs)


def _ints(g: _Graph, name: str, values: list[int]) -> str:
    return g.constant(name, values, dtype="int64")


def _zeropad(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    top, bottom, left, right = resolve_padding(row.layer.padding,  # type: ignore[union-attr]
                                               row.input.hw, (1, 1), (1, 1), (1, 1))
    pads = _ints(g, f"{row.path}.pads", [0, 0, top, left, 0, 0, bottom, right])
    return g.node("Pad", [xs[0], pads], row.path, row.path, mode="constant")


def _dense(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    units = row.output.c
    inputs = [xs[0], g.random(f"{row.path}.weight", (units, row.input.c),
                              math.sqrt(2 / row.input.c))]
    if getattr(row.layer, "bias", False):
        inputs.append(g.random(f"{row.path}.bias", (units,), 0.01))
    return g.node("Gemm", inputs, row.path, row.path, transB=1)


def _upsample(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    """Resize to the output size, as torch's interpolate: nearest picks floor(out / scale),
    bilinear without aligned corners samples at half-pixel centres."""
    sizes = _ints(g, f"{row.path}.sizes", g.dims(row.output))
    nearest = getattr(row.layer, "mode", "nearest") == "nearest"
    mode = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
            "nearest_mode": "floor"} if nearest else {
        "mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}
    return g.node("Resize", [xs[0], "", "", sizes], row.path, row.path, **mode)


def _layernorm(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    """LayerNormalization over channels: of a flat vector directly, of an image between two
    Transposes to channels-last and back (as torch's exporter writes ConvNeXt's)."""
    p, c = row.path, row.input.c
    ones = g.constant(f"{p}.weight", [1.0] * c)
    norm = [ones, g.constant(f"{p}.bias", [0.0] * c)] if getattr(row.layer, "affine", True) \
        else [ones]
    epsilon = float(getattr(row.layer, "eps", 1e-5))
    if row.input.is_flat:
        return g.node("LayerNormalization", [xs[0], *norm], p, p, axis=-1, epsilon=epsilon)
    t = g.node("Transpose", xs[:1], f"{p}/last", f"{p}/Transpose", perm=[0, 2, 3, 1])
    t = g.node("LayerNormalization", [t, *norm], f"{p}/norm", p, axis=-1, epsilon=epsilon)
    return g.node("Transpose", [t], p, f"{p}/Transpose_1", perm=[0, 3, 1, 2])


def _layer_scale(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    c = row.input.c
    dims = (c,) if row.input.is_flat else (c, 1, 1)
    return g.node("Mul", [xs[0], g.random(f"{row.path}.scale", dims, 0.1)], row.path, row.path)


def _chain(op: str) -> Writer:
    """An n-ary merge as a chain of binary ``op`` nodes (ONNX's Add and Mul take two)."""
    def write(g: _Graph, row: LayerRow, xs: list[str]) -> str:
        t = xs[0]
        for i, x in enumerate(xs[1:], start=1):
            last = i == len(xs) - 1
            t = g.node(op, [t, x], row.path if last else f"{row.path}/{op.lower()}_{i}",
                       row.path if last else f"{row.path}/{op}_{i}")
        return t
    return write


def _slice(g: _Graph, row: LayerRow, x: str, axes: list[int], starts: list[int],
           stops: list[int]) -> str:
    p = row.path
    return g.node("Slice", [x, _ints(g, f"{p}.starts", starts), _ints(g, f"{p}.ends", stops),
                            _ints(g, f"{p}.axes", axes)], p, p)


def _channel_slice(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    start, stop = row.layer.bounds(row.input.c)  # type: ignore[union-attr]
    return _slice(g, row, xs[0], [1], [start], [stop])


def _crop(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    top, left = row.layer.offsets(row.input_shapes)  # type: ignore[union-attr]
    h, w = row.output.hw
    return _slice(g, row, xs[0], [2, 3], [top, left], [top + h, left + w])


def _channel_shuffle(g: _Graph, row: LayerRow, xs: list[str]) -> str:
    """Reshape to [N, groups, c / groups, h, w], swap the two group axes, reshape back."""
    p = row.path
    groups = int(getattr(row.layer, "groups", 1))
    n, c, h, w = g.dims(row.input)
    t = g.node("Reshape", [xs[0], _ints(g, f"{p}.split", [n, groups, c // groups, h, w])],
               f"{p}/split", f"{p}/Reshape")
    t = g.node("Transpose", [t], f"{p}/swap", f"{p}/Transpose", perm=[0, 2, 1, 3, 4])
    return g.node("Reshape", [t, _ints(g, f"{p}.merge", [n, c, h, w])], p, p)


ONNX: dict[str, Writer] = {
    **dict.fromkeys(("conv", "depthwise", "pointwise"), _conv),
    "conv_transpose": _conv_transpose,
    "dense": _dense,
    "maxpool": _pool,
    "avgpool": _pool,
    "global_avgpool": _simple("GlobalAveragePool"),
    "adaptive_avgpool": _adaptive,
    "adaptive_maxpool": _adaptive,
    "batchnorm": _batchnorm,
    "layernorm": _layernorm,
    "layer_scale": _layer_scale,
    "lrn": lambda g, row, xs: g.node(
        "LRN", xs[:1], row.path, row.path, size=int(getattr(row.layer, "size", 5)),
        alpha=float(getattr(row.layer, "alpha", 1e-4)),
        beta=float(getattr(row.layer, "beta", 0.75)), bias=float(getattr(row.layer, "k", 1))),
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
    "softmax": _simple("Softmax", axis=1),
    **dict.fromkeys(("dropout", "identity", "stochastic_depth"), _simple("Identity")),
    "flatten": _simple("Flatten", axis=1),
    "zeropad": _zeropad,
    "upsample": _upsample,  # a second input gives only the size
    "crop": _crop,  # likewise
    "add": _chain("Add"),
    "mul": _chain("Mul"),
    "concat": lambda g, row, xs: g.node("Concat", xs, row.path, row.path, axis=1),
    "channel_slice": _channel_slice,
    "channel_shuffle": _channel_shuffle,
}


def write_onnx(arch: Architecture, batch: int = 1, seed: int = 0) -> bytes:
    """The serialized ONNX model (opset ``OPSET``) computing ``arch`` on ``batch`` images with
    random weights drawn from ``seed``, side branches left out."""
    if not 1 <= batch <= MAX_BATCH:
        raise ConvcalcError(f"batch {batch} must be from 1 to {MAX_BATCH:,}")
    onnx = require("onnx", "onnx")
    report = analyze(arch)
    graph = _Graph(onnx, batch, seed)
    names = {NETWORK_INPUT: INPUT_NAME}
    for i, row in inference_rows(report):
        write = ONNX.get(row.kind)
        if write is None:
            raise not_written(row, "ONNX").located(file=arch.file, line=row.line)
        try:
            names[i] = write(graph, row, [names[source] for source in row.inputs])
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
