"""Every command given malformed input ends in exit status 2 with one line on stderr starting
with 'Error:' (click's own usage error for options it validates), no traceback, nothing on
stdout, and no file left behind by -o."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

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
                   "999996x999996x6 output); verify is capped at 4 GiB: use a smaller --input")
