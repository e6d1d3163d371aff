"""Every command given malformed input ends in exit status 2 with one line on stderr starting
with 'Error:' (click's own usage error for options it validates), no traceback, nothing on
stdout, and no file left behind by -o."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from test_robustness import HOSTILE, _run_cli

from convcalc.cli import main

# What click prints for an option it validates itself (a type, a Choice, a range, an unknown
# option): a usage line, a hint, a blank line and the error; exit status 2 like ours.
USAGE_LINES = 4


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_refused(result: Result, message: str | None = None) -> None:
    """Exit 2, nothing on stdout, no traceback; stderr one 'Error:' line or click's usage
    error. ``message``: text the error line must contain."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    if lines[0].startswith("Usage: "):
        assert len(lines) == USAGE_LINES and lines[1].startswith("Try '") and lines[2] == ""
    else:
        assert len(lines) == 1, result.stderr
    assert lines[-1].startswith("Error: ")
    if message is not None:
        assert message in lines[-1], lines[-1]


ONE_LAYER = ("compare", "--input", "28x28x192", "--kernel", "5", "--filters", "32")


@pytest.mark.parametrize("args", [
    ("analyze", "lenet5", "--input", "²"),
    ("sweep", "lenet5", "--input", "32,²"),
    (*ONE_LAYER, "--padding", "²"),
    ("conv", "--example", "step", "--padding", "³"),
], ids=["analyze", "sweep", "compare", "conv"])
def test_digits_int_cannot_read_are_refused(args: tuple[str, ...]) -> None:
    # str.isdigit accepts superscripts that int() rejects: this was a ValueError traceback.
    assert_refused(invoke(*args), "must be")


def test_other_decimal_digits_are_numbers() -> None:
    # Arabic-Indic ٣٢ is 32 to int() and float(), so it is a valid size.
    assert invoke("analyze", "lenet5", "--input", "٣٢", "--format", "json").exit_code == 0


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--stride", "0", "stride 0 must be between 1 and"),
    ("--padding", "", "padding '' must be"),
])
def test_compare_refuses_zero_stride_and_empty_padding(option: str, value: str,
                                                       message: str) -> None:
    # 0 and '' used to fall back to the defaults (stride 1, 'same') without a word.
    assert_refused(invoke(*ONE_LAYER, option, value), message)


def test_verify_refuses_a_negative_seed() -> None:
    # numpy's generator takes only non-negative seeds: this was a ValueError traceback.
    assert_refused(invoke("verify", "lenet5", "--seed", "-1"), "x>=0")


def _npy(path: Path, array: "np.ndarray[Any, Any]") -> str:
    np.save(path, array)
    return str(path)


def _text(path: Path, text: str | bytes) -> str:
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return str(path)


def _huge_npy(path: Path) -> str:
    header = np.lib.format.header_data_from_array_1_0(np.ones((1, 1)))
    header["shape"] = (100_000, 100_000)
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.truncate(f.tell() + 100_000 * 100_000 * 8)
    return str(path)


MATRIX_FILES: dict[str, tuple[Callable[[Path], str], str]] = {
    "ragged.csv": (lambda p: _text(p, "1,2,3\n4,5\n"), "needs rows of equally many numbers"),
    "words.csv": (lambda p: _text(p, "1,a\n2,3\n"), "not a matrix of numbers"),
    "empty.csv": (lambda p: _text(p, ""), "needs rows of equally many numbers"),
    "binary.csv": (lambda p: _text(p, bytes(range(256)) * 4), "not a matrix of numbers"),
    "4d.npy": (lambda p: _npy(p, np.ones((2, 2, 2, 2))), "not shape (2, 2, 2, 2)"),
    "strings.npy": (lambda p: _npy(p, np.array([["a", "b"]])), "matrix of numbers"),
    "no-rows.npy": (lambda p: _npy(p, np.ones((0, 3))), "not shape (0, 3)"),
    "truncated.npy": (lambda p: _text(p, Path(_npy(p, np.ones((64, 64)))).read_bytes()[:200]),
                      "not a matrix of numbers"),
    # Only the header is read before the refusal: a sparse file claiming 100,000 x 100,000.
    "huge.npy": (_huge_npy, "has 10,000,000,000 elements"),
    "huge.csv": (lambda p: _text(p, "1," * 3_000_000 + "1\n"), "text matrices are limited to"),
}


@pytest.mark.parametrize("name", sorted(MATRIX_FILES))
@pytest.mark.parametrize("role", ["INPUT", "--filter"])
def test_conv_refuses_bad_matrix_files(name: str, role: str, tmp_path: Path) -> None:
    make, message = MATRIX_FILES[name]
    path = make(tmp_path / name)
    args = ("conv", path) if role == "INPUT" else ("conv", "--example", "step", "--filter", path)
    assert_refused(invoke(*args, "-o", str(tmp_path / "out.csv")), message)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize(("args", "message"), [
    (("--padding", "2000"), "the padded input has 16,048,036 elements (4006x4006x1"),
    (("--padding", "99999999"), "conv takes at most 4,194,304"),
    (("--filter", "three.npy"), "needs an f x f matrix, not shape (4, 4, 3)"),
    (("--filter", "k9.npy"), "kernel 9 (dilation 1) is larger than the padded input 6 + 0"),
], ids=["padding-2000", "padding-huge", "3d-filter", "filter-too-large"])
def test_conv_refuses_work_too_large_or_impossible(args: tuple[str, ...], message: str,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # 6x6 step image + 2 x 2000 padding = 4006 x 4006 = 16,048,036 elements, over 2048^2.
    monkeypatch.chdir(tmp_path)
    np.save("three.npy", np.ones((4, 4, 3)))
    np.save("k9.npy", np.ones((9, 9)))
    assert_refused(invoke("conv", "--example", "step", *args, "-o", "out.csv"), message)
    assert not Path("out.csv").exists()


@pytest.mark.parametrize("target", ["missing/out", "folder"], ids=["missing-folder", "directory"])
@pytest.mark.parametrize("command", [("conv", "--example", "step"), ("report", "lenet5")],
                         ids=["conv", "report"])
def test_output_to_a_missing_folder_or_a_directory(command: tuple[str, ...], target: str,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # conv used to print its grids before failing to write (garbage on stdout with exit 2).
    monkeypatch.chdir(tmp_path)
    Path("folder").mkdir()
    suffix = ".csv" if target == "missing/out" else ""
    result = invoke(*command, "-o", target + suffix)
    if target == "folder" and command[0] == "report":
        assert_refused(result, "'folder' is a directory")  # click's Path(dir_okay=False)
    else:
        assert_refused(result, f"cannot write '{target + suffix}'")
    assert [str(p) for p in sorted(tmp_path.rglob("*"))] == [str(tmp_path / "folder")]


def test_verify_refuses_an_input_too_large_to_run() -> None:
    # lenet5's c1 at 1,000,000 x 1,000,000 makes 999,996^2 x 6 float32 values: 22 TiB alone.
    # This was numpy's allocation error as a traceback.
    assert_refused(invoke("verify", "lenet5", "--input", "1000000"),
                   "of weights); it is capped at 2.0 GiB: give the layer fewer filters or units, "
                   "or use a smaller --input")


# ---------------------------------------------------------------- bad option values

NET = ("lenet5",)
BAD_OPTIONS: list[tuple[tuple[str, ...], str]] = [
    (("analyze", *NET, "--input", "0x0x0"), "height 0 must be between 1 and"),
    (("analyze", *NET, "--input", "10x"), "input '10x' must be HxWxC"),
    (("analyze", *NET, "--input", "axbxc"), "input 'axbxc' must be HxWxC"),
    (("analyze", *NET, "--input", "99999999x9x9"), "height 99999999 must be between 1 and"),
    (("analyze", *NET, "--input", "-5"), "input '-5' must be HxWxC"),
    (("analyze", *NET, "--input", "1x2x3x4"), "must be HxWxC"),
    (("analyze", *NET, "--width", "0"), "width 0.0 must be above 0"),
    (("analyze", *NET, "--width", "-1"), "width -1.0 must be above 0"),
    (("analyze", *NET, "--width", "nan"), "width nan must be above 0 and at most 16"),
    (("analyze", *NET, "--width", "inf"), "width inf must be above 0 and at most 16"),
    (("analyze", *NET, "--width", "-inf"), "width -inf must be above 0"),
    (("analyze", *NET, "--width", "1e9"), "width 1000000000.0 must be above 0 and at most 16"),
    (("analyze", *NET, "--width", "half"), "'half' is not a valid float"),
    (("analyze", *NET, "--dtype", "fp8"), "'fp8' is not one of"),
    (("analyze", *NET, "--format", "xml"), "'xml' is not one of"),
    (("analyze", *NET, "--convert", "magic"), "'magic' is not one of"),
    (("analyze", *NET, "--include-stem"), "--include-stem goes with --convert separable"),
    (("analyze", *NET, "--explain", "--format", "json"), "--explain prints text"),
    (("analyze", *NET, "--bogus"), "No such option '--bogus'"),
    (("analyze",), "Missing argument 'ARCH'"),
    (("analyze", "no-such-net"), "no file and no built-in architecture named 'no-such-net'"),
    ((*ONE_LAYER, "--kernel", "0"), "kernel 0 must be between 1 and"),
    ((*ONE_LAYER, "--kernel", "five"), "'five' is not a valid integer"),
    ((*ONE_LAYER, "--filters", "-5"), "filters -5 must be between 1 and"),
    ((*ONE_LAYER, "--filters", "99999999999999"), "filters 99999999999999 must be between"),
    ((*ONE_LAYER, "--stride", "-1"), "stride -1 must be between 1 and"),
    ((*ONE_LAYER, "--padding", "bogus"), "padding 'bogus' must be 'same', 'valid' or a number"),
    ((*ONE_LAYER, "--padding", "-1"), "padding '-1' must be"),
    ((*ONE_LAYER, "--padding", "99999999999999"), "padding 99999999999999 must be"),
    ((*ONE_LAYER, "--bottleneck", "-3"), "bottleneck -3 must be at least 1 channel"),
    ((*ONE_LAYER, "--expansion", "nan"), "expansion nan must be above 0"),
    ((*ONE_LAYER, "--expansion", "inf"), "expansion inf must be above 0"),
    # Pointwise takes 0 to mean 'not given', so these two say less than they could.
    ((*ONE_LAYER, "--expansion", "0"), "expansion 0 must be above 0"),
    ((*ONE_LAYER, "--bottleneck", "0"), "bottleneck 0 must be at least 1 channel"),
    ((*ONE_LAYER, "--width", "0.5"), "--width needs ARCH names"),
    (("compare", "--input", "0x0x0", "--kernel", "3", "--filters", "4"), "height 0 must be"),
    (("compare", "--input", "28x28", "--kernel", "3", "--filters", "4"),
     "input '28x28' must be HxWxC"),
    (("compare",), "compare needs ARCH names, or --input, --kernel and --filters"),
    (("compare", *NET, "--kernel", "3"), "--kernel describes one layer"),
    (("compare", *NET, "--width", "nan"), "width nan must be above 0"),
    (("compare", *NET, "--input", "10x"), "input '10x' must be HxWxC"),
    (("sweep", *NET, "--width", "nan"), "width nan must be above 0"),
    (("sweep", *NET, "--width", "1,inf"), "width inf must be above 0"),
    (("sweep", *NET, "--width", "1,,0.5"), "width '1,,0.5' must be values separated by commas"),
    (("sweep", *NET, "--width", "big"), "width 'big' must be a number"),
    (("sweep", *NET, "--width", ",".join(["1"] * 2000)), "more than 1,000 combinations"),
    (("sweep", *NET, "--input", "axbxc"), "input 'axbxc' must be HxWxC"),
    (("sweep", *NET, "--input", "32,0"), "height 0 must be between 1 and"),
    (("verify", *NET, "--width", "0"), "width 0.0 must be above 0"),
    (("verify", *NET, "--width", "nan"), "width nan must be above 0"),
    (("verify", *NET, "--input", "99999999x9x9"), "height 99999999 must be between 1 and"),
    (("verify", *NET, "--input", "2"), "lenet5.yaml"),  # too small for its kernels
    (("verify", *NET, "--seed", "x"), "'x' is not a valid integer"),
    (("verify", *NET, "--dtype", "fp8"), "'fp8' is not one of 'fp64', 'float64', 'fp32'"),
    (("conv", "--example", "step", "--stride", "0"), "0 is not in the range 1<=x<=10000"),
    (("conv", "--example", "step", "--stride", "-2"), "-2 is not in the range"),
    (("conv", "--example", "step", "--padding", "bogus"), "padding 'bogus' must be"),
    (("conv", "--example", "step", "--padding", "-1"), "padding '-1' must be"),
    (("conv", "--example", "step", "--filter", "no-such-file"),
     "no built-in filter and no file named 'no-such-file'"),
    (("conv", "--example", "step", "--channel", "r"), "--channel r needs a 3-channel input"),
    (("conv", "--example", "wave"), "'wave' is not 'step'"),
    (("conv",), "give either INPUT"),
    (("report", *NET, "--depth", "0"), "0 is not in the range x>=1"),
    (("report", *NET, "--top", "-1"), "-1 is not in the range x>=0"),
    (("report", *NET, "--width", "nan"), "width nan must be above 0"),
    (("report", *NET, "--input", "10x"), "input '10x' must be HxWxC"),
    (("report", *NET, "--dtype", "fp8"), "'fp8' is not one of"),
    (("report", *NET, "--format", "docx"), "'docx' is not one of"),
    (("report",), "Missing argument 'ARCH [ARCH ...]'"),
    (("list", "extra"), "Got unexpected extra argument (extra)"),
    (("list", "--bogus"), "No such option '--bogus'"),
    (("no-such-command",), "No such command 'no-such-command'"),
]


@pytest.mark.parametrize(("args", "message"), BAD_OPTIONS,
                         ids=[" ".join(a)[:60] for a, _ in BAD_OPTIONS])
def test_bad_option_values_are_refused(args: tuple[str, ...], message: str) -> None:
    assert_refused(invoke(*args), message)


@pytest.mark.parametrize("args", [("conv", "--example", "step", "--padding", "99999999"),
                                  ("report", *NET, "--width", "0", "-o", "out.md")],
                         ids=["conv", "report"])
def test_refused_output_options_leave_no_file(args: tuple[str, ...], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_refused(invoke(*args, *(("-o", "out.csv") if args[0] == "conv" else ())))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- hostile architecture files

FILE_COMMANDS = {
    "analyze": ("analyze", "{}"),
    "compare": ("compare", "lenet5", "{}"),
    "sweep": ("sweep", "{}", "--width", "1,0.5"),
    "verify": ("verify", "{}"),
    "report": ("report", "lenet5", "{}", "-o", "out.md"),
}


@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_through_every_command(name: str, command: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    text, expected = HOSTILE[name]
    if name == "deep.yaml":
        # PyYAML 6.0.4 stops the nesting itself ("exceeded maximum nesting depth") before the
        # loader's own limit; either way it is this file's one-line error.
        expected = "deep.yaml:1: "
    monkeypatch.chdir(tmp_path)
    Path(name).write_text(text, encoding="utf-8", errors="surrogateescape")
    args = [a.format(name) for a in FILE_COMMANDS[command]]
    assert_refused(invoke(*args), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
def test_missing_directory_and_broken_tiny_files(command: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("dir.yaml").mkdir()
    # Tiny networks, so verify would be quick if it ran: a wrong value, a misspelt key, a
    # kernel larger than its input, and groups that do not divide the channels.
    broken = {
        "filters.yaml": ("input: 8x8x3\nlayers:\n  - conv: {filters: -4, kernel: 3}\n",
                         "filters.yaml:3: layer '0' (conv): filters -4 must be between 1"),
        "key.yaml": ("input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernal: 3}\n",
                     "key.yaml:3: unknown key 'kernal' in a 'conv' layer; did you mean 'kernel'?"),
        "kernel.yaml": ("input: 4x4x3\nlayers:\n  - conv: {filters: 4, kernel: 7}\n",
                        "kernel.yaml:3: layer '0' (conv): kernel 7"),
        "groups.yaml": ("input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 3, groups: 2}\n",
                        "groups.yaml:3: layer '0' (conv): "),
    }
    for file, (text, _) in broken.items():
        Path(file).write_text(text)
    cases = {"missing.yaml": "missing.yaml: cannot read: No such file or directory",
             "dir.yaml": "dir.yaml: is a directory",
             **{file: expected for file, (_, expected) in broken.items()}}
    for arg, expected in cases.items():
        assert_refused(invoke(*[a.format(arg) for a in FILE_COMMANDS[command]]), expected)
    assert not Path("out.md").exists()


# ---------------------------------------------------------------- random option strings

# Characters that make sizes and numbers, and some that only look like them.
PIECES = st.sampled_from(["0", "1", "2", "9", "x", "X", ".", "-", "+", "e", " ", ",", "nan",
                          "inf", "²", "٣", "0x", "_", "same", "valid", "\u00a0", ""])
OPTION_TEXT = st.lists(PIECES, max_size=8).map("".join)


def assert_ran_or_refused(result: Result) -> None:
    if result.exit_code == 0:
        assert result.exception is None and result.stderr == "" and result.stdout
    else:
        assert_refused(result)


@settings(max_examples=60, deadline=None)
@given(text=OPTION_TEXT, option=st.sampled_from(["--input", "--width"]),
       command=st.sampled_from(["analyze", "report"]))
def test_random_input_and_width_values(text: str, option: str, command: str) -> None:
    assert_ran_or_refused(invoke(command, "lenet5", option, text))


@settings(max_examples=60, deadline=None)
@given(padding=OPTION_TEXT, stride=OPTION_TEXT, size=OPTION_TEXT)
def test_random_one_layer_values(padding: str, stride: str, size: str) -> None:
    assert_ran_or_refused(invoke("compare", "--input", size or "8x8x3", "--kernel", "3",
                                 "--filters", "4", "--padding", padding, "--stride", stride))


@settings(max_examples=40, deadline=None)
@given(padding=OPTION_TEXT, widths=OPTION_TEXT)
def test_random_conv_padding_and_sweep_widths(padding: str, widths: str) -> None:
    assert_ran_or_refused(invoke("conv", "--example", "step", "--padding", padding))
    assert_ran_or_refused(invoke("sweep", "lenet5", "--width", widths))


# ---------------------------------------------------------------- real processes


@pytest.mark.parametrize("args", [
    ("analyze", "lenet5", "--width", "nan"),
    ("conv", "--example", "step", "--padding", "²", "-o", "out.csv"),
    ("report", "bomb.yaml", "-o", "out.md"),
], ids=["width-nan", "conv-padding", "report-bomb"])
def test_real_process_exits_2_with_one_line(args: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(HOSTILE["bomb.yaml"][0])
    done, peak_mib = _run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("Error: ") and "\n" not in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.yaml"]
    assert peak_mib < 300
