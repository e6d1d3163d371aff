"""The analysis: dataflow rows, totals, receptive fields, width and resolution rewrites."""

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.analysis.report import NETWORK_INPUT, analyze
from convcalc.analysis.variants import with_input, with_width
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import load, parse
from convcalc.graph.expr import make_divisible
from convcalc.graph.shapes import Shape

LENET = """
name: lenet
input: 32x32x1
layers:
  - conv: {name: c1, filters: 6, kernel: 5}
  - avgpool: {name: s2, kernel: 2}
  - conv: {name: c3, filters: 16, kernel: 5}
  - avgpool: {name: s4, kernel: 2}
  - flatten
  - dense: {name: f5, units: 120}
  - dense: {name: f6, units: 84}
  - dense: {name: out, units: 10}
"""


def test_lenet_by_hand() -> None:
    report = analyze(parse(LENET))
    rows = {r.path: r for r in report.rows}
    assert rows["c1"].output == Shape(28, 28, 6)
    assert rows["s4"].output == Shape(5, 5, 16)
    assert [rows[k].params for k in ("c1", "c3", "f5", "f6", "out")] == [
        5 * 5 * 1 * 6 + 6, 5 * 5 * 6 * 16 + 16, 400 * 120 + 120, 120 * 84 + 84, 84 * 10 + 10]
    assert report.totals.params == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    assert report.totals.macs == (28 * 28 * 6 * 25 + 10 * 10 * 16 * 25 * 6
                                  + 400 * 120 + 120 * 84 + 84 * 10)
    assert report.totals.flops == 2 * report.totals.macs


def test_receptive_field_and_jump_by_hand() -> None:
    report = analyze(parse(LENET))
    rows = {r.path: r for r in report.rows}
    # r = 1 + (5-1)*1 = 5; pool: 5 + (2-1)*1 = 6, jump 2; conv: 6 + 4*2 = 14; pool: 14 + 2 = 16
    assert rows["c1"].receptive_field == (5, 5) and rows["c1"].jump == (1, 1)
    assert rows["s2"].receptive_field == (6, 6) and rows["s2"].jump == (2, 2)
    assert rows["c3"].receptive_field == (14, 14)
    assert rows["s4"].receptive_field == (16, 16) and rows["s4"].jump == (4, 4)
    # flatten sees all 5 positions: 16 + (5-1)*4 = 32, the whole input
    assert rows["4"].receptive_field == (32, 32)


def test_rows_form_a_dataflow_list() -> None:
    report = analyze(load("resnet50"))
    seen = {NETWORK_INPUT}
    for index, row in enumerate(report.rows):
        assert set(row.inputs) <= seen, row.path
        seen.add(index)
    assert report.rows[0].inputs == (NETWORK_INPUT,)


def test_resnet50_matches_torchvision_counts() -> None:
    # torchvision 0.29.1 resnet50: sum(p.numel()) and FlopCounterMode // 2 (shared/reference).
    totals = analyze(load("resnet50")).totals
    assert totals.params == 25_557_032
    assert totals.macs == 4_089_184_256


def test_totals_bytes_follow_dtype() -> None:
    fp32 = analyze(parse(LENET)).totals
    fp16 = analyze(parse(LENET), dtype="fp16").totals
    assert fp32.param_bytes == 4 * 61_706 and fp16.param_bytes == 2 * 61_706
    assert fp16.activation_bytes == 2 * fp16.activations
    with pytest.raises(ConvcalcError, match=r"dtype 'fp8' must be one of"):
        analyze(parse(LENET), dtype="fp8")


@pytest.mark.parametrize(
    ("value", "divisor", "expected"),
    # torchvision's _make_divisible(v, 8): max(8, int(v + 4) // 8 * 8), +8 if below 0.9 v
    # e.g. 18: int(22) // 8 * 8 = 16 < 16.2, so 24
    [(32 * 0.5, 8, 16), (24 * 0.75, 8, 24), (16 * 0.35, 8, 8), (1280 * 1.4, 8, 1792),
     (96 * 0.35, 8, 32), (17.9, 1, 18), (0.2, 1, 1)],
)
def test_make_divisible(value: float, divisor: int, expected: int) -> None:
    assert make_divisible(value, divisor) == expected


def test_width_half_on_a_plain_stack_by_hand() -> None:
    net = parse(textwrap.dedent("""
        input: 16x16x3
        layers:
          - conv: {filters: 32, kernel: 3, padding: 1, bias: false}
          - conv: {filters: 64, kernel: 3, padding: 1, bias: false}
          - conv: {filters: 10, kernel: 1, bias: false, scale: false}
        """))
    full, half = analyze(net).totals, analyze(with_width(net, 0.5)).totals
    assert full.macs == 16 * 16 * (32 * 9 * 3 + 64 * 9 * 32 + 10 * 64)
    assert half.macs == 16 * 16 * (16 * 9 * 3 + 32 * 9 * 16 + 10 * 32)
    assert half.params == 16 * 9 * 3 + 32 * 9 * 16 + 10 * 32
    with pytest.raises(ConvcalcError, match=r"width 0 must be above 0"):
        with_width(net, 0)


def test_resolution_override() -> None:
    report = analyze(with_input(load("resnet50"), Shape(160, 160, 3)))
    assert report.rows[0].output == Shape(80, 80, 64)
    assert report.totals.params == 25_557_032  # parameters do not depend on resolution


layer_specs = st.lists(
    st.one_of(
        st.builds(lambda f, k: f"- conv: {{filters: {f}, kernel: {k}, padding: same}}",
                  st.integers(1, 16), st.sampled_from([1, 3, 5])),
        st.builds(lambda k: f"- depthwise: {{kernel: {k}, padding: same}}",
                  st.sampled_from([3, 5])),
        st.just("- batchnorm"), st.just("- relu"),
        st.just("- maxpool: {kernel: 3, stride: 1, padding: 1, ceil_mode: true}"),
    ),
    min_size=1, max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(specs=layer_specs, side=st.booleans())
def test_totals_equal_the_sum_of_counted_rows(specs: list[str], side: bool) -> None:
    text = "input: 32x32x3\nlayers:\n" + "".join(f"  {s}\n" for s in specs)
    text += "  - side:\n      layers: [global_avgpool, flatten, {dense: {units: 5}}]\n"
    report = analyze(parse(text), include_side=side)
    counted = [r for r in report.rows if side or not r.side]
    for field in ("params", "macs", "other_ops", "activations"):
        assert getattr(report.totals, field) == sum(getattr(r, field) for r in counted)
    assert all(r.output.elements > 0 for r in report.rows)


def test_huge_layers_stay_exact_integers() -> None:
    report = analyze(parse("input: 1000000x1000000x3\nlayers:\n"
                           "  - conv: {filters: 1000000, kernel: 3, padding: 1}\n"))
    assert report.totals.macs == 10**12 * 10**6 * 9 * 3
