"""The compare and sweep commands and analyze's --convert / --explain, through click's
CliRunner: exit codes, one-line errors, and JSON that parses to the hand-computed numbers."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from convcalc.cli import main

MOBILENET = "mobilenet_v1"


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_single_layer_table_shows_the_worked_example():
    out = run("compare", "--input", "28x28x192", "--kernel", "5", "--filters", "32",
              "--padding", "same", "--bottleneck", "16").stdout
    assert "120,422,400" in out
    assert "reduce 2,408,448 + conv 10,035,200" in out
    assert "12,443,648" in out
    assert "1/N + 1/f² = 1/32 + 1/25 = 0.07125" in out


def test_single_layer_json():
    out = run("compare", "--input", "6x6x3", "--kernel", "3", "--filters", "5", "--padding",
              "valid", "--expansion", "6", "--format", "json").stdout
    data = json.loads(out)
    assert data["input"] == [6, 6, 3]
    names = [v["name"] for v in data["variants"]]
    assert names == ["standard", "separable", "inverted-residual"]
    standard, separable, inverted = data["variants"]
    assert (standard["output"], standard["macs"]) == ([4, 4, 5], 2_160)
    assert [p["macs"] for p in separable["parts"]] == [432, 240]
    assert separable["macs"] == 672 and separable["output"] == [4, 4, 5]
    assert separable["ratio"] == pytest.approx(1 / 5 + 1 / 9)
    # 6*3 = 18 hidden channels: expand 6*6*18*3, depthwise 4*4*18*9, project 4*4*5*18
    assert [p["macs"] for p in inverted["parts"]] == [1_944, 2_592, 1_440]
    assert {"name", "output", "params", "macs", "parts"} <= set(standard)


@pytest.mark.parametrize("format_", ["csv", "markdown"])
def test_single_layer_other_formats(format_):
    out = run("compare", "--input", "6x6x3", "--kernel", "3", "--filters", "5", "--padding",
              "valid", "--format", format_).stdout
    if format_ == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [(r["Design"], r["MACs"]) for r in rows] == [("standard", "2160"),
                                                           ("separable", "672")]
    else:
        assert "| separable | 4x4x5 | 42 | 672 | dw 432 + pw 240 |" in out


def test_padding_number_and_stride():
    data = json.loads(run("compare", "--input", "7x7x2", "--kernel", "3", "--filters", "4",
                          "--padding", "1", "--stride", "2", "--format", "json").stdout)
    # floor((7 + 2 - 3)/2) + 1 = 4
    assert data["variants"][0]["output"] == [4, 4, 4]
    assert data["variants"][0]["macs"] == 4 * 4 * 4 * 9 * 2


def test_networks_side_by_side_with_conversion():
    data = json.loads(run("compare", MOBILENET, "resnet50", "--convert", "standard",
                          "--format", "json").stdout)
    names = [n["name"] for n in data["networks"]]
    assert names == ["mobilenet_v1", "mobilenet_v1 (standard)", "resnet50",
                     "resnet50 (standard)"]
    first, full, resnet, resnet_standard = data["networks"]
    assert full["macs_ratio"] == pytest.approx(full["macs"] / first["macs"])
    assert resnet["params"] == 25_557_032  # torchvision_counts.json
    assert resnet_standard["macs"] == resnet["macs"]  # nothing to fuse in resnet50
    assert first["activation_bytes"] == 4 * first["activations"]


def test_analyze_convert_marks_changed_layers():
    out = run("analyze", MOBILENET, "--convert", "standard", "--format", "csv").stdout
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["conv2"]["converted_from"] == "depthwise+pointwise"
    assert rows["conv2"]["macs"] == str(112 * 112 * 64 * 3 * 3 * 32)
    assert rows["conv1"]["converted_from"] == ""
    table = run("analyze", "resnet50", "--convert", "separable").stdout
    assert "depthwise (from conv)" in table
    data = json.loads(run("analyze", "resnet50", "--convert", "separable", "--include-stem",
                          "--format", "json").stdout)
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert layers["conv1.pw"]["converted_from"] == "conv"
    assert "converted_from" not in layers["bn1"]


def test_analyze_explain_layer():
    out = run("analyze", "resnet50", "--explain", "--layer", "conv1").stdout
    assert "⌊(224 + 2·3 − 7)/2⌋ + 1 = 112" in out  # noqa: RUF001
    assert "7·7·3·64 + 0 bias = 9,408" in out
    assert "layer1" not in out


def test_compare_explain():
    out = run("compare", "--input", "6x6x3", "--kernel", "3", "--filters", "5", "--padding",
              "valid", "--explain").stdout
    assert "== separable ==" in out and "3·3·1·3 + 0 bias = 27" in out


def test_sweep_equals_separate_analyze_runs():
    data = json.loads(run("sweep", MOBILENET, "--width", "1,0.5", "--input", "224,160",
                          "--format", "json").stdout)
    assert [(c["width"], c["input"]) for c in data["cells"]] == [
        (1, [224, 224, 3]), (1, [160, 160, 3]), (0.5, [224, 224, 3]), (0.5, [160, 160, 3])]
    for cell in data["cells"]:
        single = json.loads(run("analyze", MOBILENET, "--width", str(cell["width"]), "--input",
                                str(cell["input"][0]), "--format", "json").stdout)
        assert (cell["macs"], cell["params"]) == (single["totals"]["macs"],
                                                  single["totals"]["params"])


def test_sweep_csv_and_convert():
    out = run("sweep", MOBILENET, "--convert", "standard", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows == [{"Width": "1", "Input": "224x224x3", "MACs": "4867293184",
                     "Params": "29294088"}]


@pytest.mark.parametrize(("args", "message"), [
    (["compare", "--input", "6x6x3", "--kernel", "3", "--filters", "5", "--padding", "wide"],
     "padding 'wide' must be 'same', 'valid' or a number"),
    (["compare", "--input", "6x6x3", "--kernel", "3"], "one layer needs --filters too"),
    (["compare", "--filters", "3"], "one layer needs --input and --kernel too"),
    (["compare"], "compare needs ARCH names, or --input"),
    (["compare", "resnet50", "--kernel", "3"], "--kernel describes one layer"),
    (["compare", "resnet50", "--kernel", "3", "--stride", "2"],
     "--kernel, --stride describe one layer"),
    (["compare", "--input", "6x6x3", "--kernel", "3", "--filters", "5", "--convert",
      "standard"], "--convert needs ARCH names"),
    (["compare", "--input", "6x6", "--kernel", "3", "--filters", "5"], "must be HxWxC"),
    (["compare", "--input", "4x4x3", "--kernel", "7", "--filters", "5", "--padding", "valid"],
     "larger than the padded input"),
    (["analyze", "resnet50", "--explain", "--format", "json"], "--explain prints text"),
    (["analyze", "resnet50", "--explain", "--layer", "conv_1"], "did you mean 'conv1'"),
    (["analyze", "resnet50", "--include-stem"], "--include-stem goes with --convert"),
    (["sweep", "resnet50", "--width", "1,half"], "width 'half' must be a number"),
    (["sweep", "resnet50", "--input", "224,,160"], "must be values separated by commas"),
    (["sweep", "resnet50", "--width", "0"], "width 0.0 must be above 0"),
], ids=["padding", "missing-filters", "missing-input-kernel", "nothing", "arch-and-kernel",
        "arch-and-two", "layer-and-convert", "input",
        "kernel-too-large", "explain-json", "unknown-layer", "stem-alone", "width", "input-list",
        "zero-width"])
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = run(*args, ok=False)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_bad_choice_is_exit_2():
    result = run("analyze", "resnet50", "--convert", "sparse", ok=False)
    assert result.exit_code == 2


@pytest.mark.parametrize("command", ["compare", "sweep", "analyze"])
def test_help(command):
    assert "Usage:" in run(command, "--help").stdout
