"""Hostile input, round 3 (issue 24), outputs: no command writes over a file it read, however
the file was named (a scale `sub/net.yaml:b0`, a device profile, a network a CSV lists, a chart
named like an input); a command that fails leaves no file and no folder it made; SIGINT and
SIGTERM during a write leave no temporary file."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_commands_fuzz import assert_refused

import convcalc
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.output import deferred, write_atomically

NET = "name: net\ninput: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 3}\n  - relu\n"
SCALED = ("name: net\ninput: 8x8x3\nscales:\n  b0: {width: 1.0, depth: 1.0, input: 8}\n"
          "layers:\n  - conv: {filters: 8, kernel: 3}\n  - relu\n")
DEVICE = ("name: dev\ndtype: fp32\nmacs_per_second: 1.0e12\nbytes_per_second: 1.0e11\n")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("sub").mkdir()
    Path("sub/net.yaml").write_text(SCALED)
    Path("net.yaml").write_text(NET)
    Path("dev.yaml").write_text(DEVICE)
    Path("m.csv").write_text("arch,seconds\nnet.yaml,0.001\nsub/net.yaml:b0,0.002\n")
    return tmp_path


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize(("args", "target"), [
    (("export", "sub/net.yaml:b0", "--to", "yaml", "-o", "sub/net.yaml"), "sub/net.yaml"),
    (("report", "sub/net.yaml:b0", "-o", "sub/net.yaml", "--format", "md"), "sub/net.yaml"),
    (("report", "lenet5", "--device", "dev.yaml", "-o", "dev.yaml", "--format", "md"),
     "dev.yaml"),
    (("sweep", "net.yaml", "--width", "1,0.5", "--chart", "net.yaml"), "net.yaml"),
    (("sweep", "lenet5", "--width", "1,0.5", "--device", "dev.yaml", "--chart", "dev.yaml"),
     "dev.yaml"),
    (("calibrate", "m.csv", "-o", "net.yaml"), "net.yaml"),
    (("calibrate", "m.csv", "-o", "sub/net.yaml"), "sub/net.yaml"),
    (("analyze", "net.yaml", "--device", "dev.yaml"), None),
], ids=["export-scale", "report-scale", "report-device", "sweep-chart", "sweep-device-chart",
        "calibrate-csv-network", "calibrate-csv-scale", "no-output"])
def test_no_output_replaces_a_file_the_command_read(work: Path, args: tuple[str, ...],
                                                    target: str | None) -> None:
    before = files(work)
    result = invoke(*args)
    if target is None:
        assert result.exit_code == 0, result.output
        return
    assert_refused(result, f"cannot write '{target}': it is the input")
    assert files(work) == before  # nothing written, nothing left


def test_a_chart_named_like_an_input_is_refused_and_nothing_is_written(work: Path) -> None:
    # The report's second chart would replace the device profile it read.
    Path("charts").mkdir()
    Path("charts/1-net-by-kind.svg").write_text(DEVICE)
    before = files(work)
    result = invoke("report", "net.yaml", "--device", "charts/1-net-by-kind.svg", "-o",
                    "out.md", "--charts", "charts")
    assert_refused(result, "it is the input 'charts/1-net-by-kind.svg'")
    assert files(work) == before  # neither out.md nor the first chart


def test_a_report_that_fails_leaves_no_chart_and_no_folder(work: Path) -> None:
    before = files(work)
    result = invoke("report", "net.yaml", "-o", "net.yaml", "--format", "md", "--charts",
                    "new/charts")
    assert_refused(result, "it is the input")
    assert files(work) == before
    assert not Path("new").exists()


def test_a_report_that_succeeds_writes_the_charts_and_the_file(work: Path) -> None:
    result = invoke("report", "net.yaml", "-o", "out.md", "--charts", "new/charts")
    assert result.exit_code == 0, result.output
    assert Path("out.md").read_text().startswith("#")
    assert sorted(p.name for p in Path("new/charts").iterdir()) == [
        "1-net-by-kind.svg", "1-net-macs-per-layer.svg"]


def test_two_outputs_of_one_command_to_one_file_are_refused(work: Path) -> None:
    result = invoke("report", "net.yaml", "-o", "c/1-net-by-kind.svg", "--format", "md",
                    "--charts", "c")
    assert_refused(result, "twice in one command")
    assert not Path("c").exists()


def test_outside_a_command_a_write_is_immediate_and_checks_its_inputs(tmp_path: Path) -> None:
    source = tmp_path / "a.yaml"
    source.write_text(NET)
    with pytest.raises(ConvcalcError, match="it is the input"):
        write_atomically(tmp_path / "a.yaml", "x", inputs=[source])
    write_atomically(tmp_path / "b.txt", "x")
    assert (tmp_path / "b.txt").read_text() == "x"


def test_a_deferred_block_that_fails_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConvcalcError, match="late"), deferred():
        write_atomically(tmp_path / "one.txt", "1")
        raise ConvcalcError("late")
    assert list(tmp_path.iterdir()) == []
    with deferred():
        write_atomically(tmp_path / "one.txt", "1")
        assert not (tmp_path / "one.txt").exists()  # staged, not yet in place
    assert (tmp_path / "one.txt").read_text() == "1"


READ_BY = {"net.yaml": ("report", "net.yaml", "--format", "md"),
           "sub/net.yaml": ("export", "sub/net.yaml:b0", "--to", "yaml"),
           "dev.yaml": ("report", "lenet5", "--device", "dev.yaml", "--format", "md"),
           "m.csv": ("calibrate", "m.csv")}
SPELLINGS = [lambda p: p, lambda p: f"./{p}", lambda p: str(Path(p).resolve()),
             lambda p: f"sub/../{p}", lambda p: "hard", lambda p: "soft"]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(read=st.sampled_from(sorted(READ_BY)), spelling=st.sampled_from(SPELLINGS))
def test_generated_outputs_over_inputs(work: Path, read: str, spelling: object) -> None:
    # Any spelling of a file the command read (a link, a hard link, .., an absolute path)
    for link in ("hard", "soft"):
        Path(link).unlink(missing_ok=True)
    os.link(read, "hard")
    Path("soft").symlink_to(read)
    before = files(work)
    result = invoke(*READ_BY[read], "-o", spelling(read))  # type: ignore[operator]
    assert_refused(result, "it is the input")
    assert files(work) == before


SLOW_WRITE = """
import os, sys, time
real = os.fsync
def slow(fd):
    print("writing", flush=True)
    time.sleep(60)
os.fsync = slow
from convcalc.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_during_a_write_leaves_no_temporary_file(tmp_path: Path,
                                                          signum: signal.Signals) -> None:
    # The write is made slow by a stand-in for fsync in the child: the signal arrives while
    # the temporary file exists.
    (tmp_path / "out.md").write_text("old")
    package_root = str(Path(convcalc.__file__).resolve().parent.parent)
    with subprocess.Popen(
            [sys.executable, "-c", SLOW_WRITE, "report", "lenet5", "-o", "out.md"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": package_root}) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "writing\n"
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # it is there
        child.send_signal(signum)
        try:
            child.communicate(timeout=30)
        finally:
            child.kill()
        code = child.wait()
    assert code in (-signum, 130, 1), code  # ended by the signal (SIGINT: KeyboardInterrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.md"]
    assert (tmp_path / "out.md").read_text() == "old"
