"""The built-in architectures that follow timm's and Ultralytics' models: their counts and every
recorded layer's shape against PyTorch.

The numbers come from tests/data/zoo_libraries.json, which tests/data/make_zoo_reference.py
wrote with torch 2.14.1, timm 1.0.31 and ultralytics 8.4.190; the live tests at the bottom
rebuild the models when those libraries are installed.
"""

import importlib.util
import json
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import DATA
from test_fit import fits, in_terminal
from test_zoo import comparable, conv_windows, counts

from convcalc import ConvcalcError, Report, Shape, analyze, load, parse, with_input
from convcalc.cli import main
from convcalc.formats.loader import catalogue_names

TORCH = json.loads((DATA / "zoo_libraries.json").read_text())["models"]

TIMM = ["mobilenetv4_conv_small", "mobilenetv4_conv_medium"]
YOLOV8 = [f"yolov8{s}" for s in "nsmlx"]
YOLO11 = [f"yolo11{s}" for s in "nsmlx"]
DETECTORS = [*YOLOV8, *YOLO11]


def torch_counts(name: str) -> tuple[int, int]:
    return TORCH[name]["params"], TORCH[name]["macs"]


def torch_calls(name: str) -> list[list[Any]]:
    return list(TORCH[name]["calls"])


@pytest.mark.parametrize("name", [*TIMM, *DETECTORS])
def test_counts_equal_torch_at_the_models_own_input(name: str) -> None:
    arch = load(name)
    size = TORCH[name]["input"]
    assert arch.name == name
    assert arch.input == Shape(size, size, 3)
    assert counts(analyze(arch)) == torch_counts(name)


@pytest.mark.parametrize(("name", "detect"), [("yolov8n", "22"), ("yolo11n", "23")])
def test_the_decode_is_torchs_dfl_and_84_x_8400(name: str, detect: str) -> None:
    by_path = {r.path: r for r in analyze(load(name)).rows}
    # DFL: a fixed 1x1 conv from 16 bins to 1 over 4 sides of 80^2 + 40^2 + 20^2 anchors.
    anchors = 80**2 + 40**2 + 20**2
    dfl = by_path[f"{detect}.dfl.conv"]
    assert (dfl.params, dfl.macs) == (16, 4 * 16 * anchors)
    assert TORCH[name]["dfl"] == {"params": dfl.params, "macs": dfl.macs}
    assert by_path[f"{detect}.dfl.softmax"].output == Shape(4, anchors, 16)
    assert by_path[f"{detect}.cat"].output.dims == (4 + 80, anchors)


def test_yolo11n_attention_by_hand() -> None:
    by_path = {r.path: r for r in analyze(load("yolo11n")).rows}
    # C2PSA on 20x20x256: c = 128, heads = max(128 // 64, 1) = 2, head_dim 64, key_dim 32,
    # N = 400 positions; qkv to 128 + 2 * 2 * 32 = 256 channels.
    attn = "10.m.0.attn"
    assert by_path[f"{attn}.qkv.conv"].output == Shape(20, 20, 256)
    assert by_path[f"{attn}.scores"].macs == 2 * 400 * 400 * 32      # q^T k
    assert by_path[f"{attn}.mix"].macs == 2 * 64 * 400 * 400         # v attn^T
    assert by_path[f"{attn}.pe.conv"].macs == 20 * 20 * 128 * 3 * 3
    assert by_path[f"{attn}.mix_image"].output == Shape(20, 20, 128)


@pytest.mark.parametrize("name", [*TIMM, *DETECTORS])
def test_every_layer_shape_equals_torch(name: str) -> None:
    report = analyze(load(name))
    ours, theirs = comparable(report, torch_calls(name))
    assert len(ours) == len(theirs) > 25
    assert ours == theirs
    ours, theirs = conv_windows(report, torch_calls(name))
    assert len(ours) == len(theirs) > 5
    assert ours == theirs


def test_yolo11m_makes_every_c3k2_a_c3k_as_ultralytics_does_at_m_l_and_x() -> None:
    by_path = {r.path: r for r in analyze(load("yolo11m")).rows}
    # Row 2 is C3k2(256, c3k=False, e=0.25) in the YAML; at scale m (width 1, depth 0.5) it
    # holds round(2 * 0.5) = 1 C3k of c = 256 * 0.25 = 64 channels on 160x160: cv1 and cv2
    # 1x1 to 32, two 3x3 Bottlenecks at 32, cv3 1x1 from 64 back to 64.
    assert by_path["2.m.0.cv1.conv"].output == Shape(160, 160, 32)
    assert by_path["2.m.0.m.1.cv2.conv"].params == 32 * 32 * 3 * 3
    assert by_path["2.m.0.cv3.conv"].params == 64 * 64
    assert "2.m.1.cv1.conv" not in by_path
    # Scale n keeps the row's Bottleneck: c = make_divisible(256 * 0.25, 8) * 0.25 = 16, its
    # cv1 a 3x3 conv from 16 to 8 channels.
    small = {r.path: r for r in analyze(load("yolo11n")).rows}
    assert "2.m.0.m.0.cv1.conv" not in small
    assert small["2.m.0.cv1.conv"].params == 16 * 8 * 3 * 3


def test_yolo11m_table_stays_whole_in_80_columns() -> None:
    lines = in_terminal(80, "analyze", "yolo11m")
    fits(lines, 80)
    text = "\n".join(lines)
    params, macs = torch_counts("yolo11m")
    assert f"{params:,} params" in text and f"{macs:,} MACs" in text
    # The longest path, a C3k's inner Bottleneck, and C2PSA's scores: c = 512 / 2 = 256
    # channels in max(256 // 64, 1) = 4 heads over 20 x 20 positions.
    assert {"10.m.0.attn.channels_first", "2.m.0.m.1.cv2.conv", "4x400x400"} <= set(text.split())


def test_yolov8n_paths_are_ultralytics_module_names() -> None:
    theirs = [path.removeprefix("model.") for path, kind, *_ in torch_calls("yolov8n")
              if kind == "Conv2d"]
    ours = [r.path for r in analyze(load("yolov8n")).rows if r.kind == "conv"]
    assert len(ours) > 50
    assert ours == theirs


def test_yolov8n_by_hand() -> None:
    by_path = {r.path: r for r in analyze(load("yolov8n")).rows}
    # Scale n: width 0.25, depth 0.33. Row 0: Conv 64 -> 16 channels, 3x3/2 on 640x640x3.
    assert by_path["0.conv"].output == Shape(320, 320, 16)
    assert by_path["0.conv"].macs == 320 * 320 * 16 * 3 * 3 * 3
    # Row 2: C2f(128, n=3) -> 32 channels with round(3 * 0.33) = 1 bottleneck of 16: the
    # concat holds 2 halves + 1 bottleneck = 48 channels.
    assert by_path["2.cat"].output == Shape(160, 160, 48)
    assert "2.m.1.cv1.conv" not in by_path
    # Row 4: C2f(256, n=6) -> round(6 * 0.33) = 2 bottlenecks; the concat 4 x 32 channels.
    assert by_path["4.cat"].output == Shape(80, 80, 128)
    # Detect: c2 = max(16, 64 // 4, 64) = 64 and c3 = max(64, 80) = 80 on every scale.
    assert by_path["22.cv2.2.0.conv"].output == Shape(20, 20, 64)
    assert by_path["22.cv3.0.0.conv"].output == Shape(80, 80, 80)
    assert by_path["22.cv3.0.2"].params == 80 * 80 + 80


def test_yolov8l_caps_channels_at_max_channels_512() -> None:
    # Scale l: min(1024, 512) * 1.0 = 512 channels where the YAML says 1024.
    by_path = {r.path: r for r in analyze(load("yolov8l")).rows}
    assert by_path["7.conv"].output == Shape(20, 20, 512)
    assert by_path["9.cv2.conv"].output == Shape(20, 20, 512)


def test_scales_are_named_as_ultralytics_names_them() -> None:
    # convcalc list shows Ultralytics' names in Ultralytics' order (n, s, m, l, x: the
    # scales: table of yolov8.yaml and yolo11.yaml), not the file's own.
    assert [n for n in catalogue_names() if n.startswith("yolov8")] == YOLOV8
    assert [n for n in catalogue_names() if n.startswith("yolo11")] == YOLO11
    assert "yolov8" not in catalogue_names()
    assert load("yolov8n").name == "yolov8n"
    assert load("yolov8").name == "yolov8"         # the file itself, unscaled


def test_a_name_ending_in_letters_is_a_scale_only_where_the_file_declares_it() -> None:
    with pytest.raises(ConvcalcError, match=r"no file and no built-in architecture named "
                                            r"'resnet50x'; did you mean 'resnet50'"):
        load("resnet50x")
    with pytest.raises(ConvcalcError, match=r"no built-in architecture named 'yolov8q'"):
        load("yolov8q")


def test_a_file_path_takes_a_scale_after_a_colon(tmp_path: Any) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("name: net8\ninput: 8x8x3\nscales:\n  s: {width: 0.5, max_channels: 32}\n"
                    "layers:\n  - conv: {filters: 16, kernel: 1}\n"
                    "  - conv: {filters: 128, kernel: 1}\n")
    arch = load(f"{path}:s")
    assert arch.name == "net8s"
    # 16 * 0.5 = 8; min(128, 32) * 0.5 = 16.
    assert [r.output.c for r in analyze(arch).rows] == [8, 16]


def test_the_cli_analyzes_yolov8n_by_name() -> None:
    result = CliRunner().invoke(main, ["analyze", "yolov8n", "--format", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert (totals["params"], totals["macs"]) == torch_counts("yolov8n")


@pytest.mark.parametrize(("scales", "message"), [
    ("  s: {max_channels: 0}\n", r"scale 's': max_channels 0 must be a whole number from 1"),
    ("  s: {max_channels: 1.5}\n", r"scale 's': max_channels 1.5 must be a whole number"),
    ("  s: {max_chanels: 8}\n", r"unknown key 'max_chanels' in scale 's'; did you mean "
                                r"'max_channels'\?"),
], ids=["zero", "fraction", "typo"])
def test_a_bad_max_channels_is_one_located_error(scales: str, message: str) -> None:
    text = f"input: 8x8x3\nscales:\n{scales}layers:\n  - conv: {{filters: 8, kernel: 1}}\n"
    with pytest.raises(ConvcalcError, match=rf"^bad\.yaml:3: {message}"):
        parse(text, file="bad.yaml", scale="s")


# -- from: NAME.* ---------------------------------------------------------------------------

CONCAT_COPIES = """
input: 8x8x4
layers:
  - conv: {name: stem, filters: 4, kernel: 1}
  - repeat: 3
    conv: {name: m, filters: 4, kernel: 3, padding: 1}
  - concat: {name: cat, from: [stem, m.*]}
"""


def test_from_name_star_reads_every_copy_of_a_repeated_item_in_order() -> None:
    report = analyze(parse(CONCAT_COPIES))
    assert report.rows[-1].output == Shape(8, 8, 16)    # stem + 3 copies of 4 channels
    deeper = analyze(parse(CONCAT_COPIES, depth=2.0))   # 6 copies
    assert deeper.rows[-1].output == Shape(8, 8, 28)


def test_a_repeated_items_path_names_its_last_copy() -> None:
    text = CONCAT_COPIES.replace("[stem, m.*]", "[stem, m]")
    report = analyze(parse(text))
    assert [report.rows[i].path for i in report.rows[-1].inputs] == ["stem", "m.2"]
    assert report.rows[-1].output == Shape(8, 8, 8)


def test_from_name_star_of_no_repeated_item_is_one_located_error() -> None:
    text = CONCAT_COPIES.replace("[stem, m.*]", "[stem, mm.*]")
    with pytest.raises(ConvcalcError, match=r"^bad\.yaml:7: layer 'cat' \(concat\): reads "
                                            r"'mm\.\*', but 'mm' is no repeated item before it"):
        parse(text, file="bad.yaml")


# -- live ---------------------------------------------------------------------------------------

def _reference() -> Any:
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("make_zoo_reference",
                                                  DATA / "make_zoo_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "library", "size"), [
    ("mobilenetv4_conv_small", "timm", 160),
    ("mobilenetv4_conv_medium", "timm", 192),
    ("yolov8n", "ultralytics", 320),
    ("yolo11n", "ultralytics", 320),
    ("yolo11m", "ultralytics", 160),
])
def test_equals_a_live_model_at_another_input(name: str, library: str, size: int) -> None:
    reference = _reference()
    pytest.importorskip(library)
    theirs = reference.measure(name, size)
    report: Report = analyze(with_input(load(name), Shape(size, size, 3)))
    assert counts(report) == (theirs["params"], theirs["macs"])
    ours, calls = comparable(report, theirs["calls"])
    assert ours == calls
