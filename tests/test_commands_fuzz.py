"""Every command given malformed input ends in exit status 2 with one line on stderr starting
with 'Error:' (click's own usage error for options it validates), no traceback, nothing on
stdout, and no file left behind by -o."""

from pathlib import Path

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
