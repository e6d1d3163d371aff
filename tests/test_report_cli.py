"""``convcalc report`` through click, and the atomic file writer it uses."""

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import DATA

from convcalc import output
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.output import write_atomically

RESIDUAL = str(DATA / "liveness_residual.yaml")
INCEPTION = str(DATA / "liveness_inception.yaml")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_report_help() -> None:
    result = run("report", "--help")
    assert result.exit_code == 0
    for option in ("--output", "--format", "--depth", "--by-type", "--top", "--dtype"):
        assert option in result.output


@pytest.mark.parametrize(("suffix", "start"), [
    (".md", "# convcalc report"),
    (".markdown", "# convcalc report"),
    (".csv", "architecture,section,name,"),
    (".json", '{\n  "schema": 1,'),
    (".html", "<!DOCTYPE html>"),
    (".htm", "<!DOCTYPE html>"),
    (".tex", "% convcalc report"),
], ids=lambda v: v if v.startswith(".") else "")
def test_the_format_follows_the_extension(tmp_path: Path, suffix: str, start: str) -> None:
    target = tmp_path / f"out{suffix}"
    result = run("report", RESIDUAL, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert target.read_text(encoding="utf-8").startswith(start)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_format_overrides_the_extension(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    assert run("report", RESIDUAL, "-o", str(target), "--format", "csv").exit_code == 0
    assert target.read_text().startswith("architecture,section,")


def test_an_unknown_extension_without_format_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    message = one_line_error(run("report", RESIDUAL, "-o", str(target)))
    assert "'.md'" not in message and ".md .markdown .csv" in message
    assert not target.exists()


def test_stdout_gets_markdown_when_asked() -> None:
    result = run("report", RESIDUAL, INCEPTION, "--top", "2", "--depth", "1", "--dtype", "int8",
                 "--format", "md")
    assert result.exit_code == 0
    assert result.output.startswith("# convcalc report\n\n### Comparison")
    assert "### Top 2 layers by MACs" in result.output
    # int8: peak 144 bytes (residual) and 288 (inception), hand counts in test_summary.
    # 237 / 26 params; 288 / 144 peak bytes.
    assert "| liveness\\_inception | 237 | \N{MULTIPLICATION SIGN}9.12 |" in result.output
    assert "| 288 | \N{MULTIPLICATION SIGN}2.00 |" in result.output
    assert "| 26 | 48 | 208 | 144 | res.c |" in result.output


def test_stdout_gets_text_tables_by_default() -> None:
    result = run("report", RESIDUAL, INCEPTION, "--top", "2", "--depth", "1", "--dtype", "int8")
    assert result.exit_code == 0
    out = result.output
    assert "\\_" not in out and "|" not in out and "#" not in out
    lines = out.splitlines()
    assert lines[0].strip() == "Comparison"
    # the same hand counts as the Markdown: 237 / 26 params; 288 / 144 peak bytes.
    assert any(line.split()[:3] == ["liveness_inception", "237", "\N{MULTIPLICATION SIGN}9.12"]
               for line in lines)
    assert "Top 2 layers by MACs" in out and "Blocks to depth 1" in out
    assert any(line.split()[:5] == ["26", "48", "208", "144", "res.c"] for line in lines)


def test_options_reach_the_summaries() -> None:
    result = run("report", INCEPTION, "--format", "json", "--no-by-type", "--top", "0", "--side",
                 "--dtype", "int8")
    (entry,) = json.loads(result.output)["reports"]
    assert (entry["by_kind"], entry["top"], entry["blocks"]) == (None, None, None)
    assert entry["memory"]["peak_activation_bytes"] == 484  # with the side branch, by hand


def test_a_bad_architecture_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    one_line_error(run("report", RESIDUAL, str(tmp_path / "missing.yaml"), "-o", str(target)))
    assert list(tmp_path.iterdir()) == []


def test_bad_depth_and_top_are_usage_errors() -> None:
    assert run("report", RESIDUAL, "--depth", "0").exit_code == 2
    assert run("report", RESIDUAL, "--top", "-1").exit_code == 2


# -- atomic writes -------------------------------------------------------------------------------

def test_write_replaces_an_existing_file_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old")
    target.chmod(0o640)
    write_atomically(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_a_new_file_gets_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    umask = os.umask(0o022)
    try:
        write_atomically(target, "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    target.write_text("old report")

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(output.os, "replace", refuse)
    message = one_line_error(run("report", RESIDUAL, "-o", str(target)))
    assert message == f"Error: cannot write '{target}': Permission denied"
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_write_that_fails_midway_leaves_the_old_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.csv"
    target.write_text("old report")
    written: list[str] = []

    def disk_full(fd: int) -> None:
        # The new text is already in the temporary file when the disk gives up.
        (temporary,) = [p for p in tmp_path.iterdir() if p.name != "report.csv"]
        written.append(temporary.read_text())
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", disk_full)
    message = one_line_error(run("report", RESIDUAL, "-o", str(target)))
    assert message.endswith("No space left on device")
    assert written[0].startswith("architecture,section,")
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]


def test_a_failing_renderer_never_touches_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import convcalc.present.report_formats as formats

    target = tmp_path / "report.md"
    target.write_text("old report")

    def broken(summaries: object, columns: object) -> str:
        raise RuntimeError("a bug in a renderer")

    monkeypatch.setitem(formats.RENDERERS, "md", broken)
    result = run("report", RESIDUAL, "-o", str(target))
    assert isinstance(result.exception, RuntimeError)  # a bug keeps its traceback
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_writing_into_a_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    message = one_line_error(run("report", RESIDUAL, "-o", str(tmp_path / "no" / "r.md")))
    assert "No such file or directory" in message


def test_writing_over_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "r.md").mkdir()
    with pytest.raises(ConvcalcError, match="is a directory"):
        write_atomically(tmp_path / "r.md", "x")
    assert run("report", RESIDUAL, "-o", str(tmp_path / "r.md")).exit_code == 2
    assert (tmp_path / "r.md").is_dir()


# -- --columns and LaTeX ---------------------------------------------------------------------------

def test_columns_pick_the_layer_table_in_every_format() -> None:
    # MobileNet v1 (Howard et al. 2017, Table 1): its first convolution, 3x3x3x32 on 112x112
    # outputs, is 112*112*32*27 = 10,838,016 multiplies.
    args = ("report", "mobilenet_v1", "--top", "0", "--no-by-type", "--columns",
            "macs,name")
    markdown = run(*args, "--format", "md").stdout
    assert "| MACs | Layer |\n|---:|---|\n| 10,838,016 | conv1 |" in markdown
    lines = run(*args, "--format", "csv").stdout.splitlines()
    header = lines[0].split(",")
    first = dict(zip(header, next(line for line in lines if ",layer," in line).split(","),
                     strict=True))
    assert (first["name"], first["macs"], first["kind"], first["output"]) == (
        "conv1", "10838016", "", "")
    assert "<th class=num data-id=\"macs\">MACs</th><th data-id=\"name\">Layer</th>" in run(
        *args, "--format", "html").stdout
    text = run(*args).stdout  # the terminal's tables
    assert "MACs  Layer" in text and "10,838,016  conv1" in text
    # LaTeX: the names are not the first column, so every column keeps its natural width
    tex = run(*args, "--format", "tex").stdout
    assert "\\begin{longtable}{@{}rl@{}}\n\\caption{mobilenet\\_v1: Layers}" in tex
    assert r"10,838,016 & conv1 \\" in tex


def test_columns_with_depth_pick_the_blocks() -> None:
    text = run("report", RESIDUAL, "--depth", "1", "--columns", "name,layers",
               "--format", "md").stdout
    assert "| Block | Layers |" in text


@pytest.mark.parametrize(("args", "message"), [
    (("--columns", "name,macz"), "column 'macz' is not one of name,kind,input,output,window,"
     "params,macs,macs_share,activations,activation_bytes,receptive_field,bytes_moved,"
     "intensity; did you mean 'macs'?"),
    (("--columns", "name,seconds"), "column 'seconds' is not one of"),  # needs --device
    (("--columns", "name,macs", "--format", "json"), "--columns picks the columns of the "
     "per-layer table; JSON has every field of every layer: drop --columns"),
    (("--columns", "name,,macs"), "--columns 'name,,macs' must be values separated by commas"),
    (("--depth", "1", "--columns", "name,window"), "column 'window' is not one of name,kind,"
     "layers,params,macs,macs_share,activations"),
])
def test_bad_columns_are_one_line_errors(tmp_path: Path, args: tuple[str, ...],
                                         message: str) -> None:
    target = tmp_path / "r.tex"
    assert message in one_line_error(run("report", RESIDUAL, *args, "-o", str(target)))
    assert not target.exists()


def test_latex_by_default_has_the_columns_that_fit_a_page() -> None:
    tex = run("report", "resnet50", "--top", "0", "--no-by-type", "--format", "tex").stdout
    layers = tex.split(r"\caption{resnet50: Layers}")[1]
    header = layers.splitlines()[2]
    assert header.startswith(r"Layer & Kind & Output & ")
    # conv1: 7x7x3x64 weights, 112*112*64*147 = 118,013,952 multiplies, 2.89% of 4,089,184,256
    assert r"conv1 & conv & 112x112x64 & 7x7/2 p3 & 9,408 & 118,013,952 & 2.89\% \\" in layers
    timed = run("report", "resnet50", "--top", "0", "--no-by-type", "--device",
                "raspberry_pi4", "--format", "tex").stdout
    assert r"Time & Bound \\" in timed and "7x7/2 p3" not in timed.split("Layers}")[1]


def test_compare_writes_latex() -> None:
    result = run("compare", "mobilenet_v1", "mobilenet_v1@width=0.5", "--format", "tex")
    assert result.exit_code == 0, result.output
    tex = result.stdout
    assert tex.startswith("% convcalc table; needs \\usepackage{booktabs,longtable,array}")
    # Howard et al. 2017, Table 1 and Table 6 (0.5 MobileNet-224: 150M MACs, 1.3M params);
    # each ratio to the first under its figure
    assert (r"mobilenet\_\penalty100{}v1 & 224x224x3 & \begin{tabular}[t]{@{}r@{}}"
            r"4,231,976\\1\end{tabular}") in tex
    assert r"mobilenet\_\penalty100{}v1 $\times$0.5 & 224x224x3 & " in tex
    assert "w0.5" not in tex
    layer = run("compare", "--input", "28x28x192", "--kernel", "5", "--filters", "32",
                "--format", "tex").stdout
    assert r"standard & 28x28x32 & 153,600 & \begin{tabular}[t]{@{}r@{}}120,422,400\\1" in layer
