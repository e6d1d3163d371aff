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
