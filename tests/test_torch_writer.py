"""`convcalc export --to pytorch`: the module torch builds from the written file has convcalc's
params (torch's sum(p.numel())), MACs (torch's FlopCounterMode // 2) and output shape, for
every built-in network, for converted and width-scaled designs, and for the torchvision
models read back from ONNX."""

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import DATA, KIND_FILES, torch_macs

from convcalc.analysis.report import analyze
from convcalc.analysis.variants import convert, with_width
from convcalc.cli import main
from convcalc.formats.loader import builtin_names, load
from convcalc.formats.torch_writer import write_torch
from convcalc.graph.layers import LAYER_KINDS


def torch_counts(source: str, batch: int = 1) -> tuple[int, int, list[list[int]]]:
    """(params, macs, output shapes after the batch) of the module the file builds at
    ``batch``, counted by torch on the meta device (shapes only: no memory, no arithmetic)."""
    torch = pytest.importorskip("torch")

    namespace: dict[str, Any] = {}
    exec(compile(source, "model.py", "exec"), namespace)  # the file convcalc wrote
    with torch.device("meta"):
        model = namespace["build"]().eval()
        x = torch.zeros((batch, *namespace["INPUT_SHAPE"][1:]))
    macs, out = torch_macs(model, x)
    outs = out if isinstance(out, tuple) else (out,)
    assert [o.shape[0] for o in outs] == [batch] * len(outs)
    return (sum(p.numel() for p in model.parameters()), macs, [list(o.shape[1:]) for o in outs])


def convcalc_counts(arch: Any) -> tuple[int, int, list[list[int]]]:
    """(params, macs, output shapes as torch's [c, h, w], or the dims of any other rank)
    from convcalc's analysis."""
    report = analyze(arch)
    shapes = []
    for row in report.outputs:
        s = report.rows[row].output
        shapes.append([s.c, s.h, s.w] if s.is_image else s.as_list())
    return report.totals.params, report.totals.macs, shapes


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_exports_with_equal_counts(name: str) -> None:
    arch = load(name)
    source = write_torch(arch)
    assert "import torch" in source and "def build() -> nn.Module" in source
    assert torch_counts(source) == convcalc_counts(arch)


@pytest.mark.parametrize("name", ["yolo11m", "yolo11x"])
def test_a_named_scale_exports_with_torchs_counts_of_the_library_model(name: str) -> None:
    # yolo11m and yolo11x make every C3k2 a C3k, which the file alone does not: the module
    # written from the scale counts as convcalc does, and as Ultralytics' own model (stored).
    arch = load(name)
    ours = convcalc_counts(arch)
    assert torch_counts(write_torch(arch)) == ours
    stored = json.loads((DATA / "zoo_libraries.json").read_text())["models"][name]
    assert ours[:2] == (stored["params"], stored["macs"])


@pytest.mark.parametrize(("name", "design"), [
    ("resnet50", "separable"), ("mobilenet_v1", "standard"), ("mobilenet_v2", "width"),
    ("vgg16", "separable")])
def test_designs_export(name: str, design: str) -> None:
    arch = load(name)
    arch = with_width(arch, 0.5) if design == "width" else convert(arch, design, False).arch
    assert torch_counts(write_torch(arch)) == convcalc_counts(arch)


def test_file_imports_only_torch_and_names_modules_by_path() -> None:
    source = write_torch(load("resnet18"))
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported == {"torch"}
    torch = pytest.importorskip("torch")
    namespace: dict[str, Any] = {}
    exec(compile(source, "model.py", "exec"), namespace)  # the file convcalc wrote
    with torch.device("meta"):
        model = namespace["build"]()
    conv = model.get_submodule("layer2.0.downsample.0")
    assert isinstance(conv, torch.nn.Conv2d) and conv.stride == (2, 2)


def test_export_command_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "model.py"
    result = CliRunner().invoke(main, ["export", "mobilenet_v2", "--to", "pytorch", "--width",
                                       "0.5", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert torch_counts(out.read_text()) == convcalc_counts(with_width(load("mobilenet_v2"),
                                                                       0.5))


ONNX = DATA / "onnx"
COUNTS = json.loads((ONNX / "counts.json").read_text())["models"]
# Weight standardisation's gains are parameters outside any layer's formula; the PyTorch
# writer's convolutions have none, so its module counts fewer than the file.
NOT_WRITTEN = {"nf_resnet26"}
EXPORTS = [(name, exporter) for name in COUNTS if name not in NOT_WRITTEN
           for exporter in COUNTS[name]["exporters"]]


@pytest.mark.parametrize(("name", "exporter"), EXPORTS, ids=[f"{n}-{e}" for n, e in EXPORTS])
def test_onnx_models_round_trip_to_pytorch(name: str, exporter: str) -> None:
    # torchvision -> ONNX -> convcalc -> PyTorch source -> torch's own counters: the MACs of
    # the original model, and its params less the batch norms folded into conv biases.
    pytest.importorskip("onnx")
    expected = COUNTS[name]
    params, macs, shapes = torch_counts(write_torch(load(ONNX / f"{name}.{exporter}.onnx")))
    assert macs == expected["macs"]
    assert params == expected["params"] - expected["exporters"][exporter]["folded_bn_channels"]
    assert shapes == [expected["output"]]


def test_the_kind_files_use_every_kind() -> None:
    # A new kind fails here until a file of KIND_FILES uses it (and so the tests below export
    # it); separable and split are written as their parts, depthwise + pointwise and
    # channel_slice rows.
    used = {r.kind for name in KIND_FILES for r in analyze(load(DATA / name)).rows}
    assert set(LAYER_KINDS) - {"separable", "split"} <= used


@pytest.mark.parametrize("name", KIND_FILES)
def test_every_kind_on_every_rank_exports_with_torchs_counts(name: str) -> None:
    arch = load(DATA / name)
    source = write_torch(arch)
    expected = convcalc_counts(arch)
    assert torch_counts(source) == expected
    # At batch 2 a kind that works on the wrong dim, or broadcasts against the batch, fails
    # or changes a shape.
    assert torch_counts(source, batch=2)[2] == expected[2]


def test_graph_kinds_export_to_yaml() -> None:
    from convcalc.formats.loader import parse
    from convcalc.formats.yaml_writer import write_yaml

    arch = load(DATA / "export_kinds.yaml")
    again = analyze(parse(write_yaml(arch), file="again.yaml"))
    assert again.totals == analyze(arch).totals
    assert [r.output for r in again.rows] == [r.output for r in analyze(arch).rows]
