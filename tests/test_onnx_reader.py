"""The ONNX reader on graphs built with onnx.helper: one per op family, with the expected numbers
worked out by hand in each test, plus hostile files. No torch needed."""

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

onnx = pytest.importorskip("onnx")

from click.testing import CliRunner  # noqa: E402
from conftest import DATA  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from convcalc.analysis.report import analyze  # noqa: E402
from convcalc.cli import main  # noqa: E402
from convcalc.errors import ConvcalcError  # noqa: E402
from convcalc.formats.loader import load  # noqa: E402
from convcalc.formats.onnx_reader import layer_paths, read_onnx  # noqa: E402


def weight(name: str, *dims: int) -> Any:
    """An initializer known only by its dims (like a stripped export: no values)."""
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    return t


def ints(name: str, *values: int, scalar: bool = False) -> Any:
    """A small int64 initializer with its values (a shape, axes, split sizes); ``scalar``
    makes a 0-d one of the one value."""
    import numpy as np

    array = np.array(values[0] if scalar else values, dtype=np.int64)
    return numpy_helper.from_array(array, name)


def floats(name: str, *values: float) -> Any:
    """A small float initializer with its values (Resize scales, a constant)."""
    import numpy as np

    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def node(op: str, inputs: list[str], outputs: list[str], name: str = "", **attrs: Any) -> Any:
    """One ONNX node; its name defaults to its first output."""
    return helper.make_node(op, inputs, outputs, name=name or outputs[0], **attrs)


def save(tmp_path: Path, nodes: list[Any], inits: list[Any], dims: list[Any],
         outputs: tuple[str, ...] = ("y",), name: str = "model.onnx", opset: int = 17) -> Path:
    """Write a one-input model and return its path."""
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


def counts(path: Path, **kwargs: Any) -> tuple[int, int, list[int]]:
    """(params, macs, output shape as [h, w, c] or [n]) of a read model."""
    report = analyze(read_onnx(path, **kwargs))
    return report.totals.params, report.totals.macs, report.rows[-1].output.as_list()


# -- op families ---------------------------------------------------------------------------------

def test_conv_with_bias_stride_and_padding(tmp_path: Path) -> None:
    # 3x32x32 -> 16 filters 3x3, stride 2, pad 1: (32 + 2 - 3) // 2 + 1 = 16.
    path = save(tmp_path, [node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3],
                                strides=[2, 2], pads=[1, 1, 1, 1])],
                [weight("w", 16, 3, 3, 3), weight("b", 16)], [1, 3, 32, 32])
    assert counts(path) == (16 * 3 * 9 + 16, 16 * 16 * 16 * 3 * 9, [16, 16, 16])


def test_asymmetric_and_same_padding(tmp_path: Path) -> None:
    # pads [top=0, left=1, bottom=2, right=3] on 10x10, kernel 3: h = 10 + 2 - 2 = 10,
    # w = 10 + 4 - 2 = 12. SAME_UPPER stride 2 on 10: ceil(10 / 2) = 5.
    path = save(tmp_path, [
        node("Conv", ["x", "w"], ["a"], pads=[0, 1, 2, 3]),
        node("Conv", ["a", "w2"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")],
        [weight("w", 4, 3, 3, 3), weight("w2", 4, 4, 3, 3)], [1, 3, 10, 10])
    params, macs, out = counts(path)
    assert out == [5, 6, 4]
    assert params == 4 * 3 * 9 + 4 * 4 * 9
    assert macs == 10 * 12 * 4 * 27 + 5 * 6 * 4 * 36


def test_depthwise_and_pointwise(tmp_path: Path) -> None:
    # 8x16x16, depthwise 3x3 pad 1 (group 8), then 1x1 to 32 with bias.
    path = save(tmp_path, [
        node("Conv", ["x", "dw"], ["a"], group=8, pads=[1, 1, 1, 1]),
        node("Conv", ["a", "pw", "pb"], ["y"])],
        [weight("dw", 8, 1, 3, 3), weight("pw", 32, 8, 1, 1), weight("pb", 32)], [1, 8, 16, 16])
    report = analyze(read_onnx(path))
    assert [r.kind for r in report.rows] == ["depthwise", "pointwise"]
    assert report.totals.params == 8 * 9 + 32 * 8 + 32
    assert report.totals.macs == 16 * 16 * 8 * 9 + 16 * 16 * 32 * 8


def test_grouped_conv_checks_channels(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Conv", ["x", "w"], ["y"], group=2)],
                [weight("w", 4, 3, 1, 1)], [1, 8, 4, 4])
    with pytest.raises(ConvcalcError, match=r"^model\.onnx: layer 'y' \(Conv\): weight 'w' has "
                       r"3 input channels per group with group=2, but the input has 8"):
        read_onnx(path, shown="model.onnx")


def test_classifier_head_gemm_and_matmul(tmp_path: Path) -> None:
    # 8x4x4 -> GlobalAveragePool -> Flatten -> Gemm 8->10 (transB) -> MatMul 10->5 + bias.
    path = save(tmp_path, [
        node("GlobalAveragePool", ["x"], ["g"]),
        node("Flatten", ["g"], ["f"]),
        node("Gemm", ["f", "w", "b"], ["h"], transB=1),
        node("MatMul", ["h", "w2"], ["m"]),
        node("Add", ["m", "b2"], ["y"])],
        [weight("w", 10, 8), weight("b", 10), weight("w2", 10, 5), weight("b2", 5)],
        [1, 8, 4, 4])
    report = analyze(read_onnx(path))
    assert [r.kind for r in report.rows] == ["global_avgpool", "flatten", "dense", "dense"]
    assert report.totals.params == 8 * 10 + 10 + 10 * 5 + 5
    assert report.totals.macs == 80 + 50
    assert report.rows[-1].output.as_list() == [5]


def test_batchnorm_and_activations(tmp_path: Path) -> None:
    acts = ["Relu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softmax"]
    nodes = [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["t0"])]
    for i, op in enumerate(acts):
        nodes.append(node(op, [f"t{i}"], [f"t{i + 1}"]))
    nodes.append(node("Clip", [f"t{len(acts)}", "lo", "hi"], ["y"]))
    path = save(tmp_path, nodes, [weight(n, 6) for n in "sbmv"] + [floats("lo", 0.0),
                                                                 floats("hi", 6.0)],
                [1, 6, 5, 5])
    report = analyze(read_onnx(path))
    assert [r.kind for r in report.rows] == ["batchnorm", "relu", "sigmoid", "hardsigmoid",
                                             "hardswish", "tanh", "softmax", "relu6"]
    assert (report.totals.params, report.totals.macs) == (2 * 6, 0)  # mean/var are buffers


def test_unsupported_clip_range(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Clip", ["x", "lo", "hi"], ["y"])],
                [floats("lo", -1.0), floats("hi", 1.0)], [1, 3, 4, 4])
    with pytest.raises(ConvcalcError, match=r"\(Clip\): Clip to \[-1.0, 1.0\] is not supported"):
        read_onnx(path)


def test_residual_add_and_squeeze_excitation_mul(tmp_path: Path) -> None:
    # x (4x8x8) -> conv 3x3 pad 1 -> add x; SE: GAP -> 1x1 conv 4->2 -> relu -> 1x1 2->4 ->
    # sigmoid -> mul with the sum.
    path = save(tmp_path, [
        node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        node("Add", ["c", "x"], ["s"]),
        node("GlobalAveragePool", ["s"], ["g"]),
        node("Conv", ["g", "w1", "b1"], ["r"]),
        node("Relu", ["r"], ["rr"]),
        node("Conv", ["rr", "w2", "b2"], ["e"]),
        node("Sigmoid", ["e"], ["gate"]),
        node("Mul", ["s", "gate"], ["y"])],
        [weight("w", 4, 4, 3, 3), weight("w1", 2, 4, 1, 1), weight("b1", 2),
         weight("w2", 4, 2, 1, 1), weight("b2", 4)], [1, 4, 8, 8])
    params, macs, out = counts(path)
    assert params == 4 * 4 * 9 + (8 + 2) + (8 + 4)
    assert macs == 8 * 8 * 4 * 36 + 4 * 2 + 2 * 4
    assert out == [8, 8, 4]


def test_concat_of_branches(tmp_path: Path) -> None:
    path = save(tmp_path, [
        node("Conv", ["x", "w1"], ["a"]),
        node("Conv", ["x", "w2"], ["b"], pads=[1, 1, 1, 1]),
        node("Concat", ["a", "b"], ["y"], axis=1)],
        [weight("w1", 5, 3, 1, 1), weight("w2", 7, 3, 3, 3)], [1, 3, 6, 6])
    assert counts(path) == (15 + 189, 36 * 15 + 36 * 189, [6, 6, 12])


def test_pools(tmp_path: Path) -> None:
    # MaxPool 3x3 stride 2 pad 1 on 32: 16. AveragePool 2x2 (ONNX's stride default is 1!) on
    # 16: 15. MaxPool 3x3 stride 2 ceil_mode on 15: ceil(12 / 2) + 1 = 7.
    path = save(tmp_path, [
        node("MaxPool", ["x"], ["a"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        node("AveragePool", ["a"], ["b"], kernel_shape=[2, 2]),
        node("MaxPool", ["b"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)],
        [], [1, 3, 32, 32])
    assert counts(path) == (0, 0, [7, 7, 3])


def test_reduce_mean_over_height_and_width(tmp_path: Path) -> None:
    # opset 18 takes axes as an input; keepdims=0 gives a flat vector for the Gemm.
    path = save(tmp_path, [
        node("ReduceMean", ["x", "axes"], ["m"], keepdims=0),
        node("Gemm", ["m", "w"], ["y"], transB=1)],
        [ints("axes", -1, -2), weight("w", 3, 16)], [1, 16, 7, 7], opset=18)
    assert counts(path) == (48, 48, [3])


def test_reduce_max_over_height_and_width_and_a_cast(tmp_path: Path) -> None:
    # CBAM's channel attention: the max over height and width, kept 1x1, then a Cast of the
    # network tensor (no layer) and a 1x1 convolution: 16 * 8 MACs at 1x1.
    path = save(tmp_path, [
        node("ReduceMax", ["x"], ["m"], axes=[2, 3], keepdims=1),
        node("Cast", ["m"], ["c"], to=TensorProto.FLOAT),
        node("Conv", ["c", "w"], ["y"])], [weight("w", 8, 16, 1, 1)], [1, 16, 7, 7])
    report = analyze(read_onnx(path))
    assert [(r.kind, r.output.as_list()) for r in report.rows] == [
        ("maxpool", [1, 1, 16]), ("pointwise", [1, 1, 8])]
    assert report.totals.macs == 16 * 8


def test_shape_plumbing_is_folded_into_a_flatten(tmp_path: Path) -> None:
    # Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])), as older exporters write
    # x.view(x.size(0), -1).
    path = save(tmp_path, [
        node("Shape", ["x"], ["s"]),
        node("Gather", ["s", "zero"], ["n"], axis=0),
        node("Unsqueeze", ["n", "axes"], ["n1"]),
        node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        node("Reshape", ["x", "shape"], ["f"]),
        node("Gemm", ["f", "w"], ["y"], transB=1)],
        [ints("zero", 0, scalar=True), ints("axes", 0), ints("minus1", -1),
         weight("w", 2, 48)],
        [1, 3, 4, 4])
    report = analyze(read_onnx(path))
    assert [r.kind for r in report.rows] == ["flatten", "dense"]
    assert report.totals.macs == 96


def test_constant_nodes_and_dropout_identity(tmp_path: Path) -> None:
    import numpy as np

    path = save(tmp_path, [
        helper.make_node("Constant", [], ["shape"], name="c",
                         value=numpy_helper.from_array(np.array([1, -1], np.int64))),
        node("Dropout", ["x"], ["d"]),
        node("Identity", ["d"], ["i"]),
        node("Reshape", ["i", "shape"], ["y"])], [], [1, 2, 3, 3])
    assert counts(path) == (0, 0, [18])


def test_pad_is_zeropad(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Pad", ["x", "pads"], ["y"])],
                [ints("pads", 0, 0, 1, 2, 0, 0, 3, 4)], [1, 3, 5, 5])
    assert counts(path)[2] == [5 + 1 + 3, 5 + 2 + 4, 3]


def test_erf_gelu_pattern_is_one_gelu(tmp_path: Path) -> None:
    # TorchScript's nn.GELU at opset 17: x * 0.5 * (1 + erf(x / sqrt 2)), written as
    # Mul(Mul(x, Add(Erf(Div(x, 1.4142)), 1)), 0.5).
    path = save(tmp_path, [
        node("Div", ["x", "sqrt2"], ["d"]),
        node("Erf", ["d"], ["e"], name="block/gelu/Erf"),
        node("Add", ["e", "one"], ["a"]),
        node("Mul", ["x", "a"], ["m"]),
        node("Mul", ["m", "half"], ["y"])],
        [floats("sqrt2", 1.4142135), floats("one", 1.0), floats("half", 0.5)], [1, 3, 4, 4])
    report = analyze(read_onnx(path))
    assert [(r.path, r.kind) for r in report.rows] == [("block.gelu", "gelu")]


def test_arithmetic_with_a_scalar_costs_nothing(tmp_path: Path) -> None:
    # Input normalisation and hand-written activations: (x - 0.5) / 0.25 * 2 + 1, each a
    # named identity row with no MACs and no params; then GAP and Squeeze to a vector.
    path = save(tmp_path, [
        node("Sub", ["x", "half"], ["a"]), node("Div", ["a", "quarter"], ["b"]),
        node("Mul", ["two", "b"], ["c"]), node("Add", ["c", "one"], ["d"]),
        node("GlobalAveragePool", ["d"], ["g"]), node("Squeeze", ["g", "hw"], ["y"])],
        [floats("half", 0.5), floats("quarter", 0.25), floats("two", 2.0), floats("one", 1.0),
         ints("hw", 2, 3)], [1, 3, 4, 4], opset=13)
    report = analyze(read_onnx(path))
    assert [r.kind for r in report.rows] == ["identity"] * 4 + ["global_avgpool", "flatten"]
    assert (report.totals.params, report.totals.macs) == (0, 0)
    assert report.rows[-1].output.as_list() == [3]


def test_multiplying_by_a_constant_map_is_an_error(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Mul", ["x", "map"], ["y"])],
                [floats("map", *range(16))], [1, 3, 4, 4])
    with pytest.raises(ConvcalcError, match=r"layer 'y' \(Mul\): multiplies a tensor by a "
                       r"constant"):
        read_onnx(path)


def test_paths_follow_torchscript_scopes() -> None:
    assert layer_paths("/layer1/layer1.0/conv1/Conv") == ["layer1.0.conv1",
                                                          "layer1.0.conv1.Conv"]
    assert layer_paths("/features/features.1/conv/conv.0/conv.0.0/Conv")[0] == \
        "features.1.conv.0.0"
    assert layer_paths("/layer1/layer1.0/relu_1/Relu_2")[0] == "layer1.0.relu_1"
    assert layer_paths("node_Conv_291") == ["node_Conv_291"]


def test_multiple_outputs(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Conv", ["x", "w"], ["a"]), node("Relu", ["a"], ["b"]),
                           node("Sigmoid", ["a"], ["c"])],
                [weight("w", 2, 3, 1, 1)], [1, 3, 4, 4], outputs=("b", "c"))
    assert read_onnx(path).outputs == ("b", "c")


# -- input sizes ---------------------------------------------------------------------------------

def test_symbolic_input_needs_input(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Conv", ["x", "w"], ["y"])], [weight("w", 4, 3, 3, 3)],
                ["N", 3, "H", "W"])
    with pytest.raises(ConvcalcError, match=r"^model\.onnx: input 'x' has dims NxHxW|"
                       r"^model\.onnx: input 'x' has dims Nx3xHxW .*give its size with --input"):
        read_onnx(path, shown="model.onnx")
    assert counts(path, input="10x12") == (108, 8 * 10 * 4 * 27, [8, 10, 4])
    result = CliRunner().invoke(main, ["analyze", str(path), "--input", "10x12", "--format",
                                       "json"])
    assert result.exit_code == 0, result.output
    assert '"macs": 8640' in result.output


def test_analyze_command_on_onnx(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Conv", ["x", "w"], ["y"], name="/stem/conv/Conv")],
                [weight("w", 4, 3, 3, 3)], [1, 3, 8, 8])
    arch = load(path)
    assert [n.path for n in arch.nodes] == ["stem.conv"]
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exit_code == 0 and "stem.conv" in result.output


# -- hostile files -------------------------------------------------------------------------------

def _one_line_error(args: list[str], match: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert match in lines[0], lines[0]


def _valid(tmp_path: Path) -> Path:
    return save(tmp_path, [node("Conv", ["x", "w"], ["y"])], [weight("w", 4, 3, 3, 3)],
                [1, 3, 8, 8], name="valid.onnx")


def test_truncated_protobuf(tmp_path: Path) -> None:
    data = _valid(tmp_path).read_bytes()
    for cut in (len(data) // 2, len(data) - 3, 5):
        bad = tmp_path / "cut.onnx"
        bad.write_bytes(data[:cut])
        _one_line_error(["analyze", str(bad)], "cut.onnx: ")


def test_corrupted_and_foreign_bytes(tmp_path: Path) -> None:
    import random

    data = bytearray(_valid(tmp_path).read_bytes())
    rng = random.Random(0)
    for i in range(0, len(data), 7):
        data[i] = rng.randrange(256)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(bytes(data))
    _one_line_error(["analyze", str(bad)], "bad.onnx: ")
    bad.write_text("name: not onnx\nlayers: []\n")
    _one_line_error(["analyze", str(bad)], "bad.onnx: ")
    bad.write_bytes(b"")
    _one_line_error(["analyze", str(bad)], "bad.onnx: is empty")


def test_graph_cycle(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Relu", ["x", ], ["a"]), node("Add", ["a", "c"], ["b"]),
                           node("Relu", ["b"], ["c"]), node("Relu", ["c"], ["y"])],
                [], [1, 3, 4, 4])
    _one_line_error(["analyze", str(path)], "is part of a cycle")


def test_missing_initializer(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Conv", ["x", "nowhere"], ["y"])], [], [1, 3, 4, 4])
    _one_line_error(["analyze", str(path)], "model.onnx: layer 'y' (Conv): reads 'nowhere', "
                    "which no node makes and no initializer or input holds")


def test_zero_size_dims(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Conv", ["x", "w"], ["y"])], [weight("w", 0, 3, 3, 3)],
                [1, 3, 8, 8])
    _one_line_error(["analyze", str(path)], "filters 0 must be between 1")
    path = save(tmp_path, [node("Relu", ["x"], ["y"])], [], [1, 3, 0, 8])
    _one_line_error(["analyze", str(path)], "give its size with --input")


def test_unknown_op(tmp_path: Path) -> None:
    path = save(tmp_path, [node("NonMaxSuppression", ["x"], ["y"], name="nms_1")], [],
                [1, 3, 4, 4])
    _one_line_error(["analyze", str(path)], "layer 'nms_1' (NonMaxSuppression): ONNX op "
                    "'NonMaxSuppression' is not supported by convcalc (node 'nms_1')")


def test_two_gigabyte_dims(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Conv", ["x", "w"], ["y"])], [weight("w", 1 << 31, 3, 1, 1)],
                [1, 3, 8, 8])
    _one_line_error(["analyze", str(path)], "has a dim of 2,147,483,648")
    path = save(tmp_path, [node("Relu", ["x"], ["y"])], [], [1, 3, 1 << 31, 1 << 31])
    _one_line_error(["analyze", str(path)], "input size 2,147,483,648 is above")
    path = save(tmp_path, [node("ConstantOfShape", ["shape"], ["big"]),
                           node("Reshape", ["x", "big"], ["y"])],
                [ints("shape", 1 << 31)], [1, 3, 4, 4])
    _one_line_error(["analyze", str(path)], "makes a constant of 2,147,483,648 values")


def test_reads_without_the_onnx_package(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    import sys

    path = _valid(tmp_path)
    for module in ("onnx", "google.protobuf", "numpy"):
        monkeypatch.setitem(sys.modules, module, None)  # importing any of them now fails
    result = CliRunner().invoke(main, ["analyze", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output


def test_missing_external_data_file_is_fine(tmp_path: Path) -> None:
    # Save with the weight as external data, then delete the data file: only dims are read.
    import numpy as np

    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph(
        [node("Conv", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "ext.onnx"
    onnx.save_model(helper.make_model(graph), str(path), save_as_external_data=True,
                    location="ext.data", size_threshold=0)
    (tmp_path / "ext.data").unlink()
    assert counts(path) == (108, 6 * 6 * 4 * 27, [6, 6, 4])


def test_embedded_weights_are_not_parsed(tmp_path: Path) -> None:
    # A 4 MB embedded weight: the slim reader keeps its dims and never its values.
    import numpy as np

    from convcalc.formats.onnx_proto import read_model

    w = numpy_helper.from_array(np.ones((1024, 1024), np.float32), "w")
    graph = helper.make_graph(
        [node("Gemm", ["x", "w"], ["y"], transB=1)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1024])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "big.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    model = read_model(path, "big.onnx")
    assert model.graph is not None
    tensor = model.graph.initializers[0]
    assert (tensor.name, tensor.dims, tensor.values) == ("w", (1024, 1024), None)


# -- the graph language's kinds ------------------------------------------------------------------

def test_conv_transpose(tmp_path: Path) -> None:
    # 4x5x5, weight [c_in 4, c_out 6, 3, 3], stride 2, pads 1, output_padding 1:
    # (5 - 1) * 2 - 2 * 1 + (3 - 1) + 1 + 1 = 10; macs = h_in * w_in * c_in * c_out * 9.
    path = save(tmp_path, [node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2],
                                pads=[1, 1, 1, 1], output_padding=[1, 1])],
                [weight("w", 4, 6, 3, 3), weight("b", 6)], [1, 4, 5, 5])
    assert counts(path) == (4 * 6 * 9 + 6, 5 * 5 * 4 * 6 * 9, [10, 10, 6])


def test_resize_by_scales_and_to_sizes(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Resize", ["x", "", "scales"], ["a"], mode="nearest"),
                           node("Resize", ["a", "", "", "sizes"], ["y"], mode="linear")],
                [floats("scales", 1, 1, 2, 2), ints("sizes", 1, 3, 6, 10)], [1, 3, 4, 4])
    report = analyze(read_onnx(path))
    assert [(r.kind, r.layer.mode, r.output.as_list()) for r in report.rows] == [  # type: ignore[union-attr]
        ("upsample", "nearest", [8, 8, 3]), ("upsample", "bilinear", [6, 10, 3])]


def test_resize_to_the_size_of_another_tensor(tmp_path: Path) -> None:
    # LR-ASPP / DeepLab: interpolate(y, size=x.shape[-2:]) as Shape -> Slice -> Concat.
    path = save(tmp_path, [
        node("Conv", ["x", "w"], ["c"], strides=[4, 4]),
        node("Shape", ["x"], ["s"]),
        node("Slice", ["s", "two", "four"], ["hw"]),
        node("Concat", ["lead", "hw"], ["sizes"], axis=0),
        node("Resize", ["c", "", "", "sizes"], ["y"], mode="linear")],
        [weight("w", 5, 3, 1, 1), ints("two", 2), ints("four", 4), ints("lead", 1, 5)],
        [1, 3, 16, 12])
    assert counts(path) == (15, 4 * 3 * 5 * 3, [16, 12, 5])


def test_split_and_slice_of_channels(tmp_path: Path) -> None:
    # Split 8 channels as [3, 5]; Slice channels 2..6 of the 5; concat 3 + 4 = 7.
    path = save(tmp_path, [
        node("Split", ["x", "sizes"], ["a", "b"], name="split", axis=1),
        node("Slice", ["b", "starts", "ends", "axes"], ["c"]),
        node("Concat", ["a", "c"], ["y"], axis=1)],
        [ints("sizes", 3, 5), ints("starts", 1), ints("ends", 5), ints("axes", 1)],
        [1, 8, 4, 4], opset=18)
    report = analyze(read_onnx(path))
    assert [(r.path, r.kind, r.output.c) for r in report.rows] == [
        ("split.0", "channel_slice", 3), ("split.1", "channel_slice", 5),
        ("c", "channel_slice", 4), ("y", "concat", 7)]


def test_split_that_does_not_add_up(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Split", ["x", "sizes"], ["a", "y"], axis=1)],
                [ints("sizes", 3, 4)], [1, 8, 4, 4])
    with pytest.raises(ConvcalcError, match=r"split sizes \[3, 4\] must be positive and add "
                       "up to the 8 values of axis 1"):
        read_onnx(path)


def test_channel_shuffle_from_reshape_transpose_reshape(tmp_path: Path) -> None:
    path = save(tmp_path, [
        node("Reshape", ["x", "five"], ["r"]),
        node("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3, 4]),
        node("Reshape", ["t", "four"], ["y"], name="stage.shuffle")],
        [ints("five", 1, 2, 3, 4, 4), ints("four", 1, -1, 4, 4)], [1, 6, 4, 4])
    report = analyze(read_onnx(path))
    assert [(r.path, r.kind, r.layer.groups) for r in report.rows] == [  # type: ignore[union-attr]
        ("stage.shuffle", "channel_shuffle", 2)]


def test_convnext_block_channels_last(tmp_path: Path) -> None:
    # x (8x4x4) -> NHWC -> LayerNorm -> Linear 8->32 (MatMul + Add) -> GELU -> Linear 32->8
    # -> NCHW -> layer scale -> + x. params: 16 + (256 + 32) + (256 + 8) + 8 = 576;
    # macs: 16 positions * (8 * 32 + 32 * 8) = 8192.
    path = save(tmp_path, [
        node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
        node("LayerNormalization", ["t", "ln_s", "ln_b"], ["n"], axis=-1, epsilon=1e-6),
        node("MatMul", ["n", "w1"], ["m1"]), node("Add", ["m1", "b1"], ["l1"]),
        node("Gelu", ["l1"], ["g"]),
        node("MatMul", ["g", "w2"], ["m2"]), node("Add", ["m2", "b2"], ["l2"]),
        node("Transpose", ["l2"], ["back"], perm=[0, 3, 1, 2]),
        node("Mul", ["gamma", "back"], ["s"]),
        node("Add", ["s", "x"], ["y"])],
        [weight("ln_s", 8), weight("ln_b", 8), weight("w1", 8, 32), weight("b1", 32),
         weight("w2", 32, 8), weight("b2", 8), weight("gamma", 8, 1, 1)], [1, 8, 4, 4])
    report = analyze(read_onnx(path))
    assert [r.kind for r in report.rows] == ["layernorm", "pointwise", "gelu", "pointwise",
                                             "layer_scale", "add"]
    assert (report.totals.params, report.totals.macs) == (576, 8192)
    assert report.rows[-1].output.as_list() == [4, 4, 8]


def test_layernorm_without_bias_counts_its_scale(tmp_path: Path) -> None:
    path = save(tmp_path, [
        node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
        node("LayerNormalization", ["t", "s"], ["n"]),
        node("Transpose", ["n"], ["y"], perm=[0, 3, 1, 2])], [weight("s", 8)], [1, 8, 4, 4])
    assert counts(path) == (8, 0, [4, 4, 8])


def test_layernorm_over_nchw_is_an_error(tmp_path: Path) -> None:
    path = save(tmp_path, [node("LayerNormalization", ["x", "s"], ["y"], axis=1)],
                [weight("s", 8, 4, 4)], [1, 8, 4, 4])
    with pytest.raises(ConvcalcError, match=r"\(LayerNormalization\): LayerNormalization over "
                       r"axis 1 of a tensor with dims \[1, 8, 4, 4\]"):
        read_onnx(path)


def test_shared_initializer_counts_once(tmp_path: Path) -> None:
    # Two convolutions with one weight (and TorchScript's Identity sharing of an initializer):
    # 4 * 4 * 9 = 144 weights and a bias of 4 once, though both layers compute with them.
    path = save(tmp_path, [
        node("Conv", ["x", "w", "b"], ["a"], pads=[1, 1, 1, 1]),
        node("Identity", ["w"], ["w_again"]),
        node("Conv", ["a", "w_again", "b"], ["y"], pads=[1, 1, 1, 1])],
        [weight("w", 4, 4, 3, 3), weight("b", 4)], [1, 4, 6, 6])
    report = analyze(read_onnx(path))
    assert [r.params for r in report.rows] == [148, 0]
    assert report.totals.macs == 2 * 36 * 4 * 36
    # Said once, on stderr and in JSON: 2 initializers, 144 + 4 values.
    note = ("2 initializers (148 values) are each read by more than one layer; params count "
            "each once. If the exporter merged equal tensors, torch counts more: export with "
            "the dynamo exporter, with trained weights, or with do_constant_folding=False in "
            "training mode for torch's count")
    result = CliRunner().invoke(main, ["analyze", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{path}: note: {note}\n"
    assert json.loads(result.stdout)["notes"] == [note]
    unshared = save(tmp_path, [node("Conv", ["x", "w", "b"], ["y"])],
                    [weight("w", 4, 4, 3, 3), weight("b", 4)], [1, 4, 6, 6], name="one.onnx")
    result = CliRunner().invoke(main, ["analyze", str(unshared), "--format", "json"])
    assert (result.stderr, json.loads(result.stdout)["notes"]) == ("", [])


def test_an_initializer_read_as_a_buffer_is_said(tmp_path: Path) -> None:
    # A [1, 4, 6, 6] initializer added to a convolution's output is no bias (one value per
    # channel), scale or position embedding: read as a buffer, 0 params, and said, since a
    # learned tensor used so would be 144 params torch counts.
    path = save(tmp_path, [node("Conv", ["x", "w"], ["c"]), node("Add", ["c", "table"], ["y"])],
                [weight("w", 4, 4, 1, 1), weight("table", 1, 4, 6, 6)], [1, 4, 6, 6])
    note = ("1 initializer (144 values) in element-wise arithmetic is read as a buffer, not "
            "params (table); if they are learned, torch counts 144 params more")
    result = CliRunner().invoke(main, ["analyze", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["params"] == 16
    assert (result.stderr, json.loads(result.stdout)["notes"]) == (f"{path}: note: {note}\n",
                                                                    [note])


def test_a_graph_too_big_besides_its_weights(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from convcalc import limits

    path = _valid(tmp_path)
    monkeypatch.setattr(limits, "MAX_ONNX_GRAPH_BYTES", 20)
    _one_line_error(["analyze", str(path)], "has more than 20 bytes besides its weights")


def test_mutated_exports_give_errors_not_tracebacks(tmp_path: Path) -> None:
    # Seeded mutations of stored exports, of the bytes and of attributes, dims, inputs and the
    # input shape: each reads, or fails with a ConvcalcError; nothing else escapes.
    import contextlib
    import random

    rng = random.Random(12)
    sources = [DATA / "onnx" / f"{n}.onnx" for n in (
        "shufflenet_v2_x1_0.torchscript", "lraspp_mobilenet_v3_large.torchscript",
        "convnext_tiny.dynamo", "mobilenet_v3_small.torchscript")]
    models = [onnx.load(str(p), load_external_data=False) for p in sources]
    values = [0, -1, 1, 2, 7, 1 << 31, -(1 << 40), 65]
    path = tmp_path / "mutated.onnx"
    for i in range(160):
        model = onnx.ModelProto()
        model.CopyFrom(rng.choice(models))
        g = model.graph
        n = rng.choice(g.node)
        a = rng.choice(n.attribute) if n.attribute else None
        choice = i % 5
        if choice == 0 and a is not None and a.ints:
            a.ints[rng.randrange(len(a.ints))] = rng.choice(values)
        elif choice == 1:
            t = rng.choice(g.initializer)
            if t.dims:
                t.dims[rng.randrange(len(t.dims))] = rng.choice(values)
        elif choice == 2 and n.input:
            n.input[rng.randrange(len(n.input))] = rng.choice(rng.choice(g.node).output)
        elif choice == 3:
            del g.node[rng.randrange(len(g.node))]
        data = bytearray(model.SerializeToString())
        if choice == 4:
            for _ in range(rng.choice([1, 3, 10])):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data))
        with contextlib.suppress(ConvcalcError):
            analyze(read_onnx(path))


# -- weight-side arithmetic ---------------------------------------------------------------------

def test_weight_standardisation_counts_the_weight_once_and_no_macs(tmp_path: Path) -> None:
    # NFNet's ScaledStdConv2d as the dynamo exporter writes it without folding: the weight
    # minus its mean over each filter, times a gain, then the convolution. Params are the
    # weight, gain and bias (8 * 27 + 8 + 8); MACs are the convolution's alone.
    path = save(tmp_path, [
        node("ReduceMean", ["w", "axes"], ["mean"], keepdims=1),
        node("Sub", ["w", "mean"], ["centred"]),
        node("Mul", ["centred", "gain"], ["ws"]),
        node("Conv", ["x", "ws", "b"], ["y"], pads=[1, 1, 1, 1])],
        [weight("w", 8, 3, 3, 3), ints("axes", 1, 2, 3), weight("gain", 8, 1, 1, 1),
         weight("b", 8)], [1, 3, 16, 16], opset=18)
    assert counts(path) == (8 * 27 + 8 + 8, 16 * 16 * 8 * 27, [16, 16, 8])


def test_weight_standardisation_from_the_torchscript_exporter(tmp_path: Path) -> None:
    # timm's ScaledStdConv2d through the TorchScript exporter: a BatchNormalization of the
    # weight in training mode, whose mean and variance come from a second, transposed copy of
    # the weight (no parameter of the model): torch's own count.
    torch = pytest.importorskip("torch")
    layers = pytest.importorskip("timm.layers")
    model = torch.nn.Sequential(layers.ScaledStdConv2d(3, 8, 3, padding=1),
                                torch.nn.ReLU()).eval()
    path = tmp_path / "ws.onnx"
    with warnings.catch_warnings():  # the legacy exporter, and batch norm in training mode
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 16, 16),), str(path), dynamo=False,
                          opset_version=17)
    kinds = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"BatchNormalization", "ReduceMean"} <= kinds
    params, macs, out = counts(path)
    assert params == sum(p.numel() for p in model.parameters())
    assert (macs, out) == (16 * 16 * 8 * 27, [16, 16, 8])


# -- layer paths --------------------------------------------------------------------------------

def _scoped(op: str, inputs: list[str], outputs: list[str], scopes: list[str],
            classes: list[str], **attrs: Any) -> Any:
    """A node as the dynamo exporter names it (node_conv2d_3), with its module scopes."""
    made = node(op, inputs, outputs, name=f"node_{outputs[0]}", **attrs)
    for key, value in (("pkg.torch.onnx.name_scopes", scopes),
                       ("pkg.torch.onnx.class_hierarchy", classes)):
        entry = made.metadata_props.add()
        entry.key, entry.value = key, repr(value)
    return made


def test_dynamo_scopes_give_module_paths_that_fold(tmp_path: Path) -> None:
    conv = ["torchvision.models.resnet.ResNet", "torch.nn.modules.container.Sequential",
            "torchvision.models.resnet.BasicBlock", "torch.nn.modules.conv.Conv2d",
            "aten.conv2d.default"]
    block = [*conv[:3], "aten.add.Tensor"]
    path = save(tmp_path, [
        _scoped("Conv", ["x", "w1"], ["c1"], ["", "layer1", "layer1.0", "layer1.0.conv1",
                                              "conv2d"], conv, pads=[1, 1, 1, 1]),
        _scoped("Conv", ["c1", "w2"], ["c2"], ["", "layer1", "layer1.0", "layer1.0.conv2",
                                               "conv2d_1"], conv, pads=[1, 1, 1, 1]),
        _scoped("Add", ["c2", "x"], ["y"], ["", "layer1", "layer1.0", "add_7"], block)],
        [weight("w1", 4, 4, 3, 3), weight("w2", 4, 4, 3, 3)], [1, 4, 8, 8])
    report = analyze(read_onnx(path))
    assert [r.path for r in report.rows] == ["layer1.0.conv1", "layer1.0.conv2", "layer1.0.add"]
    result = CliRunner().invoke(main, ["analyze", str(path), "--depth", "1"])
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.output.splitlines() if line.startswith(
        "layer1")] == [["layer1", "3"]]


def test_dynamo_export_folds_as_the_torchscript_one(tmp_path: Path) -> None:
    # torchvision's ResNet-18 through the dynamo exporter, with its node metadata: at --depth 1
    # the same blocks, layers and MACs as the stored TorchScript export, whose scopes are
    # torch's module paths.
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    path = tmp_path / "resnet18.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(torchvision.models.resnet18(weights=None).eval(),
                          (torch.zeros(1, 3, 64, 64),), str(path), dynamo=True, verbose=False)

    def blocks(model: Path) -> list[tuple[str, ...]]:
        """(block, layers, MACs) at depth 1 (params differ: the exporters fold batch norms
        into different biases)."""
        result = CliRunner().invoke(main, ["analyze", str(model), "--depth", "1", "--input",
                                           "64x64", "--format", "csv"])
        assert result.exit_code == 0, result.output
        return [tuple(line.split(",")[i] for i in (0, 2, 4))
                for line in result.stdout.splitlines() if line.startswith("layer")]

    dynamo = blocks(path)
    assert [row[0] for row in dynamo] == ["layer1", "layer2", "layer3", "layer4"]
    assert dynamo == blocks(DATA / "onnx" / "resnet18.torchscript.onnx")


def test_stripped_constants_fall_back_on_recorded_shapes(tmp_path: Path) -> None:
    # A Reshape target and Resize sizes whose values were stripped: the dims value_info
    # records for the outputs stand in; without them, the error names the initializer.
    target, sizes = ints("target", 0, 0), ints("sizes", 0, 0, 0, 0)
    for tensor in (target, sizes):
        tensor.ClearField("raw_data")
        tensor.ClearField("int64_data")
    nodes = [node("Resize", ["x", "", "", "sizes"], ["r"], mode="nearest"),
             node("Reshape", ["r", "target"], ["y"])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 192])], [target, sizes],
        value_info=[helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 3, 8, 8])])
    path = tmp_path / "stripped.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    report = analyze(read_onnx(path))
    assert [(r.kind, r.output.as_list()) for r in report.rows] == [
        ("upsample", [8, 8, 3]), ("flatten", [192])]
    del graph.value_info[:]
    path.write_bytes(helper.make_model(graph).SerializeToString())
    with pytest.raises(ConvcalcError, match=r"\(Resize\): needs the values of initializer "
                       r"'sizes' \(dims \[4\]\)"):
        read_onnx(path)
