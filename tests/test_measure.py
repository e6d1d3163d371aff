"""`convcalc measure` and `export --to onnx` through the CLI: the CSV calibrate reads, one-line
errors for a missing extra, a bad runtime and bad counts, nothing written after a failure."""

import csv
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc.analysis.report import analyze
from convcalc.cli import main
from convcalc.formats.loader import load
from convcalc.formats.measurements import read_measurements


def test_measure_writes_the_csv_calibrate_reads(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    out = tmp_path / "measured.csv"
    result = CliRunner().invoke(main, ["measure", "lenet5", "mobilenet_v2@width=0.5", "--input",
                                       "64", "--repeat", "3", "--warmup", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["arch"] for r in rows] == ["lenet5", "mobilenet_v2"]
    assert [r["input"] for r in rows] == ["64x64x1", "64x64x3"]
    assert [r["width"] for r in rows] == ["1", "0.5"]
    assert all(float(r["seconds"]) > 0 and float(r["cpu_seconds"]) > 0 for r in rows)
    assert {(r["runtime"], r["threads"], r["repeat"]) for r in rows} == {("onnxruntime", "1", "3")}
    measured = read_measurements(out)  # calibrate analyses each network at its input
    assert [m.report.input.as_list() for m in measured] == [[64, 64, 1], [64, 64, 3]]


@pytest.mark.parametrize(("args", "message"), [
    (["--runtime", "tflite"], "Error: runtime 'tflite' is not one convcalc measures on; "
     "runtimes: onnxruntime"),
    (["--repeat", "0"], "Error: repeat 0 must be from 1 to 10,000"),
    (["--threads", "0"], "Error: threads 0 must be from 1 to 1,024"),
    (["mobilenet_v2@depth-multiplier=2"], "Error: 'mobilenet_v2@depth-multiplier=2': the CSV "
     "records each network's width and input, not a depth multiplier; measure a YAML file with "
     "the repeats you want instead"),
])
def test_bad_measure_options_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    result = CliRunner().invoke(main, ["measure", "lenet5", *args, "-o", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [message]
    assert not out.exists()


def test_missing_onnxruntime_says_what_to_install(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    out = tmp_path / "m.csv"
    result = CliRunner().invoke(main, ["measure", "lenet5", "-o", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: needs the 'onnxruntime' package: pip install \"convcalc[measure]\" "
        "(from a clone: pip install \".[measure]\")"]
    assert not out.exists()


def test_export_onnx_writes_a_model_analyze_reads(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    out = tmp_path / "half.onnx"
    result = CliRunner().invoke(main, ["export", "mobilenet_v2", "--width", "0.5", "--to",
                                       "onnx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["analyze", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    from convcalc.analysis.variants import with_width

    design = analyze(with_width(load("mobilenet_v2"), 0.5))
    assert json.loads(result.output)["totals"]["params"] == design.totals.params


def test_export_onnx_needs_an_output_file() -> None:
    result = CliRunner().invoke(main, ["export", "lenet5", "--to", "onnx"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: --to onnx writes a binary file: give -o FILE.onnx"]
