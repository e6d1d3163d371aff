"""`export --to onnx`: ONNX Runtime runs the written model and its outputs have convcalc's
shapes; convcalc's ONNX reader reads it back to the design's params, MACs and layer shapes, for
every built-in network and for designs made by --width, --convert and --input."""

import sys
from pathlib import Path
from typing import Any

import pytest

from convcalc.analysis.report import Report, analyze
from convcalc.analysis.variants import convert, with_input, with_width
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import builtin_names, load, parse
from convcalc.formats.onnx_writer import write_onnx
from convcalc.graph.architecture import Architecture
from convcalc.graph.shapes import Shape

# The reader of convcalc/formats/onnx_reader.py does not read these ops yet (the ONNX Runtime
# test below runs them): GoogLeNet's LRN, and U-Net's crop (a Slice of height and width).
NOT_READ = {"googlenet": "LRN", "unet": "Slice of height and width",
            # The ONNX writer has no form yet for the token and attention kinds.
            **dict.fromkeys(("vit_b_16", "vit_b_32", "vit_l_16", "vit_h_14", "swin_t", "swin_s",
                             "swin_v2_t", "maxvit_t", "mobilevit_xxs", "mobilevit_xs",
                             "mobilevit_s", "mobilenetv4_hybrid_medium", "yolov8", "yolo11"),
                            "attention, tokens and reshape have no ONNX form yet")}


def counted(report: Report) -> list[tuple[str, list[int], int, int]]:
    """(path, output shape, params, MACs) of every row that has weights or multiplies: what the
    read-back must keep (element-wise rows may be written as several ONNX ops)."""
    return [(r.path, r.output.as_list(), r.params, r.macs) for r in report.counted()
            if r.params or r.macs]


def read_back(arch: Architecture, tmp_path: Path, batch: int = 1) -> Report:
    pytest.importorskip("onnx")
    from convcalc.formats.onnx_reader import read_onnx

    path = tmp_path / "model.onnx"
    path.write_bytes(write_onnx(arch, batch=batch))
    return analyze(read_onnx(path))


def run(arch: Architecture, batch: int = 1, seed: int = 0) -> list[Any]:
    """The outputs of ONNX Runtime running the export on a seeded random input."""
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(write_onnx(arch, batch=batch, seed=seed), options,
                                   providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal(
        [batch, arch.input.c, arch.input.h, arch.input.w]).astype(np.float32)
    return list(session.run(None, {session.get_inputs()[0].name: x}))


def expected_shapes(arch: Architecture, batch: int = 1) -> list[list[int]]:
    """convcalc's output shapes as NCHW (or [N, C]) lists."""
    report = analyze(arch)
    shapes = [report.rows[o].output for o in report.outputs]
    return [[batch, s.c] if s.is_flat else [batch, s.c, s.h, s.w] for s in shapes]


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(raises=ConvcalcError, reason=NOT_READ[n]))
    if n in NOT_READ else n for n in builtin_names()])
def test_every_builtin_reads_back_to_its_counts(name: str, tmp_path: Path) -> None:
    arch = load(name)
    design = analyze(arch)
    read = read_back(arch, tmp_path)
    assert counted(read) == counted(design)
    assert (read.totals.params, read.totals.macs) == (design.totals.params, design.totals.macs)
    assert read.input == design.input


# Networks that together use every kind the writer knows (tests/test_onnx_writer.py checks
# the list below covers ONNX's table), run at full size by ONNX Runtime.
RUN = ["alexnet", "googlenet", "convnext_tiny", "shufflenet_v2_x0_5", "unet",
       "mobilenet_v3_small", "efficientnet", "deeplabv3_mobilenet_v3_large", "inception_v3",
       "lraspp_mobilenet_v3_large", "squeezenet1_1", "regnet_y_400mf", "mobilenet_v2"]


@pytest.mark.parametrize("name", RUN)
def test_onnxruntime_runs_the_export_to_convcalcs_shapes(name: str) -> None:
    import numpy as np

    arch = load(name)
    outputs = run(arch)
    assert [list(o.shape) for o in outputs] == expected_shapes(arch)
    assert all(np.isfinite(o).all() for o in outputs)


def test_the_networks_run_cover_every_kind_written() -> None:
    from convcalc.formats.onnx_writer import ONNX

    used = {r.kind for name in RUN for r in analyze(load(name)).counted()}
    used |= {"adaptive_maxpool", "conv_transpose", "elu", "gelu", "leaky_relu", "tanh",
             "zeropad", "softmax", "stochastic_depth", "identity"}  # test_small_kinds_run
    assert set(ONNX) <= used


SMALL = """
name: small_kinds
input: [16, 16, 4]
layers:
  - zeropad: {padding: [1, 0, 2, 1]}
  - conv_transpose: {filters: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - elu
  - conv: {filters: 8, kernel: 3, dilation: 2, padding: 2, groups: 2}
  - leaky_relu
  - gelu
  - tanh
  - identity
  - stochastic_depth: {p: 0.1}
  - adaptive_maxpool: {size: 4}
  - flatten
  - dense: {units: 10}
  - softmax
"""


def test_small_kinds_run_and_read_back(tmp_path: Path) -> None:
    arch = parse(SMALL)
    # Hand arithmetic: pad 16x16 to 17x19; transposed conv (n-1)*2 - 2 + 3 + 1 -> 34x38x6;
    # dilated grouped conv keeps 34x38 with 8 filters; adaptive max pool to 4x4 (34 and 38 do
    # not divide by 4, so this input cannot be exported).
    with pytest.raises(ConvcalcError, match=r"^<string>:14: layer '9' \(adaptive_maxpool\): "
                       r"pools 34x38 to 4x4, which ONNX cannot express"):
        write_onnx(arch)
    arch = with_input(arch, Shape(15, 13, 4))
    # pad -> 16x16; conv_transpose -> 32x32x6; conv -> 32x32x8; pool -> 4x4x8 -> 128 -> 10
    assert expected_shapes(arch, batch=2) == [[2, 10]]
    outputs = run(arch, batch=2)
    assert [list(o.shape) for o in outputs] == [[2, 10]]
    assert outputs[0].sum(axis=1) == pytest.approx([1.0, 1.0], rel=1e-5)  # the softmax
    read = read_back(arch, tmp_path)
    assert counted(read) == counted(analyze(arch))


@pytest.mark.parametrize(("name", "change"), [
    ("mobilenet_v2", "width 0.5"), ("resnet50", "separable"), ("mobilenet_v1", "standard"),
    ("resnet18", "input 160x128")])
def test_changed_designs_read_back(name: str, change: str, tmp_path: Path) -> None:
    arch = load(name)
    what, _, value = change.partition(" ")
    if what == "width":
        arch = with_width(arch, float(value))
    elif what == "input":
        h, w = (int(v) for v in value.split("x"))
        arch = with_input(arch, Shape(h, w, 3))
    else:
        arch = convert(arch, what).arch
    assert counted(read_back(arch, tmp_path)) == counted(analyze(arch))


def test_an_onnx_design_exports_again(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from convcalc.formats.onnx_reader import read_onnx

    first = tmp_path / "first.onnx"
    first.write_bytes(write_onnx(load("mnasnet0_5")))
    again = read_onnx(first)
    assert counted(read_back(again, tmp_path)) == counted(analyze(load("mnasnet0_5")))


def test_batch_and_seed() -> None:
    pytest.importorskip("onnx")
    arch = load("lenet5")
    assert write_onnx(arch, seed=3) == write_onnx(arch, seed=3)
    assert write_onnx(arch, seed=3) != write_onnx(arch, seed=4)
    assert [list(o.shape) for o in run(arch, batch=5)] == expected_shapes(arch, batch=5)
    with pytest.raises(ConvcalcError, match=r"^batch 0 must be from 1 to"):
        write_onnx(arch, batch=0)


def test_opset_and_names() -> None:
    onnx = pytest.importorskip("onnx")
    model = onnx.load_from_string(write_onnx(load("resnet18")))
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import] == [17]
    assert model.graph.node[0].name == "conv1"


def test_missing_onnx_package_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ConvcalcError) as caught:
        write_onnx(load("lenet5"))
    assert str(caught.value) == ("needs the 'onnx' package: pip install \"convcalc[onnx]\" "
                                 "(from a clone: pip install \".[onnx]\")")
