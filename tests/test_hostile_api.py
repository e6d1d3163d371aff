"""Hostile input, round 3 (issue 24), the Python API: every public function (the exports of
``convcalc``) checks its arguments and raises ConvcalcError for a bad one, never ValueError,
TypeError or a fractional count."""

import contextlib
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import convcalc
from convcalc import ConvcalcError, Shape

LENET = convcalc.load("lenet5")
REPORT = convcalc.analyze(LENET)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: convcalc.table("lenet5", depth=0), "depth 0 must be at least 1"),
    (lambda: convcalc.table("lenet5", depth=-3), "depth -3 must be at least 1"),
    (lambda: convcalc.summarize(REPORT, top=-1), "top -1 must be at least 0"),
    (lambda: convcalc.summarize(REPORT, depth=0), "depth 0 must be at least 1"),
    (lambda: convcalc.analyze(LENET, batch=2.5), "batch 2.5 must be a whole number"),
    (lambda: convcalc.analyze(LENET, batch=True), "batch True must be a whole number"),
    (lambda: convcalc.table("lenet5", batch=2.5), "batch 2.5 must be a whole number"),
    (lambda: Shape(32.5, 32.5, 1), "must be whole numbers, not 32.5 x 32.5 x 1"),
    (lambda: Shape.flat(2.5), "must be whole numbers"),
    (lambda: convcalc.table("lenet5", line_width=-80), "line_width -80 must be at least 1"),
    (lambda: convcalc.make_divisible(math.nan, 8), "make_divisible's value nan must be"),
    (lambda: convcalc.make_divisible(32, math.inf), "make_divisible's divisor inf must be"),
    (lambda: convcalc.make_divisible(32, 8, math.nan), "make_divisible's min_value nan"),
    (lambda: convcalc.output_size(32.5, 3, 1, 0, 0), "output_size takes whole numbers"),
    (lambda: convcalc.output_size(32, 3, 0, 0, 0), "output_size needs"),
    (lambda: convcalc.compare([LENET], batch=0.5), "batch 0.5 must be a whole number"),
], ids=["table-depth-0", "table-depth-negative", "summarize-top", "summarize-depth",
        "analyze-batch-fraction", "analyze-batch-bool", "table-batch", "shape-fraction",
        "flat-fraction", "line-width", "make-divisible-nan", "make-divisible-inf-divisor",
        "make-divisible-nan-min", "output-size-fraction", "output-size-stride-0",
        "compare-batch"])
def test_bad_arguments_are_a_convcalc_error(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ConvcalcError) as caught:
        call()
    assert message in str(caught.value)


def test_good_arguments_still_work() -> None:
    # lenet5: conv1 28x28x6 from 32x32x1, 5x5 kernels: 28 * 28 * 6 * 25 = 117,600 MACs
    assert REPORT.rows[0].macs == 28 * 28 * 6 * 25
    assert convcalc.analyze(LENET, batch=3).rows[0].macs == 3 * 28 * 28 * 6 * 25
    assert convcalc.output_size(32, 5, 1, 0, 0) == 28
    assert convcalc.make_divisible(30, 8) == 32  # 30 + 4 = 34 -> 32, within 10% of 30
    text = convcalc.table("lenet5", depth=1, line_width=60)
    assert "c1 " in text and max(len(line) for line in text.splitlines()) <= 60
    assert convcalc.summarize(REPORT, top=0).top is None


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                 st.just(Shape(8, 8, 3)), st.lists(st.integers(-3, 3), max_size=3))


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(["input", "width", "depth", "line_width", "batch", "dtype",
                             "format", "columns", "device", "side", "flops"]), value=JUNK)
def test_table_with_any_argument_returns_text_or_a_convcalc_error(name: str,
                                                                  value: object) -> None:
    try:
        result = convcalc.table("lenet5", **{name: value})
    except ConvcalcError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(result, str) and result


@settings(max_examples=150, deadline=None)
@given(args=st.tuples(JUNK, JUNK, JUNK))
@example(args=(1.1984620899082105e+308, 1.1984620899082105e+308, None))  # value + divisor / 2
def test_shapes_and_formulas_with_any_values(args: tuple[object, object, object]) -> None:
    for call in (lambda: Shape(*args), lambda: convcalc.make_divisible(*args),
                 lambda: convcalc.summarize(REPORT, top=args[0], depth=args[1]),
                 lambda: convcalc.analyze(LENET, batch=args[0])):
        with contextlib.suppress(ConvcalcError):  # anything else fails the test
            call()
