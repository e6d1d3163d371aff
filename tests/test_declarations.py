"""What a file declares besides its layers: a named scale's block arguments (``args``), which
override what every call of the block says, at that scale only."""

import pytest

from convcalc import ConvcalcError, Shape, analyze, parse

SCALED = """\
name: net
input: 8x8x4
scales:
  plain: {}
  wide: {args: {unit: {k: 'out // 8 * 2 + 1'}}}
blocks:
  unit:
    args: {out: ~, k: 1}
    layers:
      - conv: {name: conv, filters: out, kernel: k, padding: k // 2}
layers:
  - unit: {name: a, out: 8}
  - unit: {name: b, out: 4, k: 5}
"""


def params(scale: str | None) -> dict[str, int]:
    report = analyze(parse(SCALED, scale=scale))
    assert {r.output for r in report.rows} == {Shape(8, 8, 8), Shape(8, 8, 4)}
    return {r.path: r.params for r in report.rows}


@pytest.mark.parametrize("scale", [None, "plain"], ids=["file", "plain"])
def test_without_the_scales_args_each_call_keeps_its_own(scale: str | None) -> None:
    # a: the default k = 1, 1x1 from 4 to 8 with bias; b: its own k = 5, 5x5 from 8 to 4.
    assert params(scale) == {"a.conv": 4 * 8 + 8, "b.conv": 8 * 4 * 5 * 5 + 4}


def test_a_scales_args_override_the_calls_and_the_defaults() -> None:
    # k = out // 8 * 2 + 1 over the call's out, as a default is written: a: 8 -> 3x3 (over the
    # default 1), b: 4 -> 1x1 (over the call's own 5).
    assert params("wide") == {"a.conv": 4 * 8 * 3 * 3 + 8, "b.conv": 8 * 4 + 4}


@pytest.mark.parametrize(("args", "message"), [
    ("{unitt: {k: 3}}", r"5: scale 'wide' gives arguments to 'unitt', which is no block of "
                        r"this file; did you mean 'unit'\?"),
    ("{unit: {kk: 3}}", r"5: unknown key 'kk' in the arguments scale 'wide' gives block "
                        r"'unit'; did you mean 'k'\? Allowed: out, k"),
    ("[unit]", r"5: 'args' of scale 'wide' must be a mapping"),
    ("{unit: [3]}", r"5: the arguments scale 'wide' gives block 'unit' must be a mapping"),
    ("{unit: {k: 'nope + 1'}}", r"5: layer 'a' \(unit\): 'nope \+ 1' uses undefined "
                                r"parameter 'nope'"),
], ids=["block", "argument", "args-list", "values-list", "value"])
def test_bad_scale_args_are_one_located_error(args: str, message: str) -> None:
    text = SCALED.replace("{unit: {k: 'out // 8 * 2 + 1'}}", args)
    with pytest.raises(ConvcalcError, match=rf"^bad\.yaml:{message}"):
        parse(text, file="bad.yaml", scale="wide")


def test_scale_args_for_a_block_without_arguments_are_refused() -> None:
    text = ("input: 8x8x4\nscales:\n  wide: {args: {unit: {k: 3}}}\nblocks:\n  unit:\n"
            "    layers: [relu]\nlayers: [unit]\n")
    assert len(parse(text).nodes) == 1
    with pytest.raises(ConvcalcError, match=r"^bad\.yaml:3: scale 'wide' gives arguments to "
                                            r"block 'unit', which takes none$"):
        parse(text, file="bad.yaml", scale="wide")
