"""torchvision, timm, ultralytics and segmentation_models_pytorch models exported to ONNX by
both exporters (weights stripped, in tests/data/onnx, made by tests/data/make_onnx_fixtures.py)
analyze to torch's own numbers stored beside them; their imported YAML analyzes the same; and
`analyze` on YAML never imports onnx."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA, ONNX_NOT_READ

from convcalc.analysis.report import Report, analyze
from convcalc.analysis.summary import fold
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import load, parse

pytest.importorskip("onnx")

ONNX = DATA / "onnx"
COUNTS = json.loads((ONNX / "counts.json").read_text())["models"]
EXPORTS = [(name, exporter) for name in COUNTS for exporter in COUNTS[name]["exporters"]]


def expected_params(name: str, exporter: str) -> int:
    """torch's parameter count, less what folding batch norm into a conv bias removes (2c of
    batch norm become c of conv bias)."""
    return COUNTS[name]["params"] - COUNTS[name]["exporters"][exporter]["folded_bn_channels"]


def torch_shape(shape: list[int]) -> list[int]:
    """convcalc's image [h, w, c] as torch's [c, h, w]; other ranks (a flat vector, YOLO's
    [84, 8400]) are torch's dims already."""
    return [shape[2], shape[0], shape[1]] if len(shape) == 3 else shape


@pytest.mark.parametrize(("name", "exporter"), [
    pytest.param(n, e, marks=pytest.mark.xfail(raises=ConvcalcError, strict=True,
                                               reason=ONNX_NOT_READ[n]))
    if n in ONNX_NOT_READ else (n, e) for n, e in EXPORTS], ids=[f"{n}-{e}" for n, e in EXPORTS])
def test_export_analyzes_to_torch_numbers(name: str, exporter: str) -> None:
    arch = load(ONNX / f"{name}.{exporter}.onnx")
    report = analyze(arch)
    assert report.totals.macs == COUNTS[name]["macs"]
    assert report.totals.params == expected_params(name, exporter)
    outputs = [r for r in report.rows if r.path in arch.outputs]
    assert [torch_shape(r.output.as_list()) for r in outputs] == [COUNTS[name]["output"]]


@pytest.mark.parametrize("name", ["yolov8n", "yolo11n"])
def test_yolo_anchors_and_strides_are_said_to_be_buffers(name: str) -> None:
    # The dynamo exporter keeps Detect's anchors [2, 8400] and strides [1, 8400] as the
    # buffers they are (8400 = 80² + 40² + 20² positions at 640): no params, and said.
    result = CliRunner().invoke(main, ["analyze", str(ONNX / f"{name}.dynamo.onnx"),
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    head = "model.23" if name == "yolo11n" else "model.22"
    assert json.loads(result.stdout)["notes"] == [
        f"2 initializers (25,200 values) in element-wise arithmetic are read as buffers, not "
        f"params ({head}.anchors, {head}.strides); if they are learned, torch counts 25,200 "
        "params more"]


def imported(name: str, tmp_path: Path) -> tuple[str, Report]:
    """The YAML `convcalc import` writes of export ``name`` and its analysis, once that equals
    torch's numbers and the ONNX file's, with the same layer paths (the module hierarchy kept,
    so --depth folds both alike)."""
    out = tmp_path / "model.yaml"
    result = CliRunner().invoke(main, ["import", str(ONNX / f"{name}.onnx"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    model, exporter = name.split(".")
    again = analyze(parse(text, file="model.yaml"))
    assert again.totals.macs == COUNTS[model]["macs"]
    assert again.totals.params == expected_params(model, exporter)
    original = analyze(load(ONNX / f"{name}.onnx"))
    assert original.totals == again.totals
    assert [r.path for r in again.rows] == [r.path for r in original.rows]
    assert fold(again, 2) == fold(original, 2)
    return text, again


@pytest.mark.parametrize("name", ["resnet50.torchscript", "mobilenet_v3_large.dynamo",
                                  "shufflenet_v2_x1_0.torchscript", "convnext_tiny.dynamo",
                                  "lraspp_mobilenet_v3_large.torchscript",
                                  "poolformer_s12.torchscript", "smp_fpn_resnet18.dynamo"])
def test_imported_yaml_analyzes_the_same(name: str, tmp_path: Path) -> None:
    text, again = imported(name, tmp_path)
    assert max(len(r.path.split(".")) for r in again.rows) >= 3
    # Sequential stretches read like a hand-written file: `from:` only where the graph
    # branches or merges, so far fewer than one per layer.
    layers = len(re.findall(r"\n +- (?!group:)", text))
    assert layers == len(again.rows)
    assert 0 < text.count("from:") < layers / 3


@pytest.mark.parametrize("name", ["vit_tiny_patch16_224.dynamo", "yolov8n.torchscript"])
def test_imported_yaml_of_attention_and_a_detector_analyzes_the_same(name: str,
                                                                     tmp_path: Path) -> None:
    # Tokens, attention's products and YOLO's head (which branch at every block) in YAML.
    text, _ = imported(name, tmp_path)
    assert "matmul" in text or "softmax: {" in text


def test_import_refuses_to_leave_a_partial_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07\x12")
    out = tmp_path / "model.yaml"
    result = CliRunner().invoke(main, ["import", str(bad), "-o", str(out)])
    assert result.exit_code == 2 and not out.exists()


@pytest.mark.parametrize("model", ["resnet50", str(ONNX / "resnet50.torchscript.onnx"),
                                   str(ONNX / "convnext_tiny.dynamo.onnx")])
def test_analyze_imports_neither_numpy_nor_onnx(model: str) -> None:
    # YAML and ONNX alike: the ONNX reader decodes the protobuf and folds constants itself.
    code = ("import sys; from convcalc.cli import main\n"
            f"try:\n    main(['analyze', {model!r}, '--format', 'json'])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "print(' '.join(sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    modules = set(done.stderr.split())
    assert "convcalc.formats.loader" in modules  # the probe did run the command
    assert not modules & {"numpy", "onnx", "google.protobuf"}


RESIZED = [(n, e) for n, e in EXPORTS if "resized" in COUNTS[n]]


@pytest.mark.parametrize(("name", "exporter"), RESIZED, ids=[f"{n}-{e}" for n, e in RESIZED])
def test_segmentation_export_read_at_another_input(name: str, exporter: str) -> None:
    # Exported at 224x224, read with --input 320x256: the upsampling to the low-level
    # feature's and the input's size follows the new size, as torch's model does.
    expected = COUNTS[name]["resized"]
    result = CliRunner().invoke(main, ["analyze", str(ONNX / f"{name}.{exporter}.onnx"),
                                       "--input", "x".join(map(str, expected["input"][1:])),
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["totals"]["macs"] == expected["macs"]
    assert torch_shape(report["layers"][-1]["output"]) == expected["output"]


@pytest.mark.parametrize("name", ["googlenet", "resnet50", "mobilenet_v2",
                                  "shufflenet_v2_x1_0", "vit_b_16"])
def test_export_to_yaml_of_a_builtin_analyzes_the_same(name: str) -> None:
    # The YAML writer on a hand-written file: residual shortcuts resolved into convolutions and
    # adds, side branches (googlenet's auxiliary classifiers) left out, equal splits written as
    # the channels each section takes (shufflenet), a block's input read as 'in' where a
    # layer of the block has the same name as the layer before it (vit's dropout).
    result = CliRunner().invoke(main, ["export", name, "--to", "yaml"])
    assert result.exit_code == 0, result.output
    again, original = analyze(parse(result.output, file="x.yaml")), analyze(load(name))
    assert again.totals == original.totals
    assert [r.path for r in again.rows] == [r.path for r in original.rows if not r.side]


def test_import_of_a_symbolic_model_at_an_input(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    w = TensorProto()
    w.name, w.data_type = "w", TensorProto.FLOAT
    w.dims.extend([8, 3, 3, 3])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="/stem/Conv", strides=[2, 2])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "sym.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    out = tmp_path / "sym.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 2 and "--input" in result.output and not out.exists()
    result = CliRunner().invoke(main, ["import", str(path), "--input", "33", "-o", str(out)])
    assert result.exit_code == 0, result.output
    # (33 - 3) // 2 + 1 = 16; 16 * 16 * 8 * 27 multiplies.
    report = analyze(load(out))
    assert (report.input.as_list(), report.totals.macs) == ([33, 33, 3], 16 * 16 * 8 * 27)
    assert [r.path for r in report.rows] == ["stem"]
