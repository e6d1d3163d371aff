"""Conversions, single-layer designs, width and sweeps; expected numbers are hand arithmetic
or published tables (Howard et al. 2017, Tables 4, 6 and 7)."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcalc import ConvcalcError, Shape, analyze, load, parse
from convcalc.analysis.variants import (
    compare_designs,
    convert,
    sweep,
    to_separable,
    to_standard,
    with_input,
    with_width,
)
from convcalc.graph.architecture import Architecture, chain
from convcalc.graph.layers import Activation, BatchNorm, Conv

MOBILENET = "mobilenet_v1"


def design(comparison, name):
    return next(d for d in comparison.designs if d.name == name)


def macs_by_layer(d):
    return {r.path: r.macs for r in d.report.rows}


# -- single-layer designs: the lecture's and MobileNet's worked examples --------------------------

def test_bottleneck_worked_example():
    c = compare_designs(Shape(28, 28, 192), 5, 32, padding="same", bottleneck=16)
    assert design(c, "standard").report.totals.macs == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    b = design(c, "bottleneck")
    assert macs_by_layer(b) == {"reduce": 28 * 28 * 16 * 192, "conv": 28 * 28 * 32 * 5 * 5 * 16}
    assert macs_by_layer(b) == {"reduce": 2_408_448, "conv": 10_035_200}
    assert b.report.totals.macs == 12_443_648
    assert b.output == Shape(28, 28, 32)


def test_separable_worked_example():
    c = compare_designs(Shape(6, 6, 3), 3, 5, padding="valid")
    standard, separable = design(c, "standard"), design(c, "separable")
    assert standard.report.totals.macs == 4 * 4 * 5 * 3 * 3 * 3 == 2_160
    assert macs_by_layer(separable) == {"dw": 4 * 4 * 3 * 3 * 3, "pw": 4 * 4 * 3 * 5}
    assert macs_by_layer(separable) == {"dw": 432, "pw": 240}
    assert separable.report.totals.macs == 672
    assert c.ratio(separable) == pytest.approx(1 / 5 + 1 / 9)
    assert round(c.ratio(separable), 3) == 0.311
    assert standard.output == separable.output == Shape(4, 4, 5)
    # without bias: 3*3*3*5 weights; 3*3*3 depthwise + 3*5 pointwise
    assert (standard.report.totals.params, separable.report.totals.params) == (135, 27 + 15)


def test_inverted_residual_with_skip():
    # 6x6x5, expansion 6 -> 30 channels, 3x3 'same' depthwise, back to 5: shapes equal, so the
    # input is added back: 6*6*5 adds.
    c = compare_designs(Shape(6, 6, 5), 3, 5, padding="same", expansion=6)
    ir = design(c, "inverted-residual")
    assert macs_by_layer(ir) == {"expand": 6 * 6 * 30 * 5, "dw": 6 * 6 * 30 * 9,
                                 "project": 6 * 6 * 5 * 30, "add": 0}
    assert ir.report.totals.other_ops == 6 * 6 * 5
    assert ir.report.totals.params == 5 * 30 + 9 * 30 + 30 * 5


def test_inverted_residual_without_skip_when_shapes_differ():
    c = compare_designs(Shape(8, 8, 4), 3, 6, padding=1, stride=2, expansion=2)
    ir = design(c, "inverted-residual")
    assert [r.path for r in ir.report.rows] == ["expand", "dw", "project"]
    assert ir.output == Shape(4, 4, 6)
    assert ir.report.totals.macs == 8 * 8 * 8 * 4 + 4 * 4 * 8 * 9 + 4 * 4 * 6 * 8


def test_bias_counts_in_params_only():
    c = compare_designs(Shape(6, 6, 3), 3, 5, padding="valid", bias=True)
    assert design(c, "standard").report.totals.params == 135 + 5
    assert design(c, "separable").report.totals.params == 27 + 15 + 5
    assert design(c, "standard").report.totals.macs == 2_160


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 20), c_in=st.integers(1, 16), filters=st.integers(1, 16),
       f=st.sampled_from([1, 3, 5]), stride=st.integers(1, 3),
       padding=st.sampled_from(["same", "valid", 0, 1, 2]))
def test_closed_form_is_exact_for_one_layer(*, n, c_in, filters, f, stride, padding):
    try:
        c = compare_designs(Shape(n, n, c_in), f, filters, padding=padding, stride=stride)
    except ConvcalcError:
        assume(False)
    _, value = c.closed_form()
    assert c.ratio(c.designs[1]) == pytest.approx(1 / filters + 1 / (f * f))
    assert value == pytest.approx(1 / filters + 1 / (f * f))


def test_bad_layer_is_a_convcalc_error():
    with pytest.raises(ConvcalcError, match="larger than the padded input"):
        compare_designs(Shape(4, 4, 3), 7, 5, padding="valid")


# -- whole-network conversions -----------------------------------------------------------------

def test_mobilenet_v1_matches_the_paper():
    # Howard et al. 2017, Table 4: MobileNet 569M mult-adds, 4.2M params; full convolutions
    # 4866M, 29.3M. The paper rounds (and its two MAC figures differ by about the 1.02M of the
    # classifier), so compare at its precision.
    mobile = analyze(load(MOBILENET)).totals
    full = analyze(to_standard(load(MOBILENET)).arch).totals
    assert round(mobile.params / 1e5) / 10 == 4.2
    assert round(full.params / 1e5) / 10 == 29.3
    assert abs(mobile.macs - 569e6) < 1.5e6
    assert abs(full.macs - 4866e6) < 1.5e6


def test_standard_conversion_fuses_dw_bn_relu_pw():
    conversion = to_standard(load(MOBILENET))
    report = analyze(conversion.arch)
    rows = {r.path: r for r in report.rows}
    assert "conv2.dw" not in rows and "conv2.dw_bn" not in rows and "conv2.pw" not in rows
    b1 = rows["conv2"]
    assert (b1.kind, b1.input, b1.output) == ("conv", Shape(112, 112, 32), Shape(112, 112, 64))
    assert b1.params == 3 * 3 * 32 * 64
    assert b1.macs == 112 * 112 * 64 * 3 * 3 * 32
    assert [r.path for r in report.rows][3:6] == ["conv2", "conv2.pw_bn", "conv2.pw_relu"]
    assert conversion.changed["conv2"] == "depthwise+pointwise"
    assert len(conversion.changed) == 13


def _outputs(arch):
    return {r.path: r.output for r in analyze(arch).rows}


@pytest.mark.parametrize("name", ["resnet50", str(MOBILENET)])
def test_separable_keeps_every_output_shape(name):
    arch = load(name)
    before = _outputs(arch)
    conversion = to_separable(arch)
    after = _outputs(conversion.arch)
    for path, shape in after.items():
        if path in conversion.changed:
            if path.endswith(".pw"):
                assert shape == before[path.removesuffix(".pw")]
        else:
            assert shape == before[path]
    assert set(before) - set(after) == {p.removesuffix(".pw") for p in conversion.changed
                                        if p.endswith(".pw")}


def test_standard_keeps_every_output_shape():
    arch = load(MOBILENET)
    before = _outputs(arch)
    conversion = to_standard(arch)
    for path, shape in _outputs(conversion.arch).items():
        assert shape == before[path + ".pw" if path in conversion.changed else path]


def test_separable_leaves_stem_and_1x1_unless_asked():
    arch = load("resnet50")
    changed = to_separable(arch).changed
    # resnet50: one 3x3 convolution in each of 3 + 4 + 6 + 3 bottlenecks; conv1 is the stem.
    assert len(changed) == 2 * 16
    assert "conv1.dw" not in changed
    with_stem = to_separable(arch, include_stem=True)
    assert with_stem.changed["conv1.dw"] == "conv"
    rows = {r.path: r for r in analyze(with_stem.arch).rows}
    assert rows["conv1.dw"].macs == 112 * 112 * 3 * 7 * 7
    assert rows["conv1.pw"].macs == 112 * 112 * 64 * 3


def test_pair_with_other_layers_between_is_left_alone():
    arch = parse("""
input: 8x8x4
layers:
  - depthwise: {name: dw, kernel: 3, padding: 1}
  - maxpool: {kernel: 2}
  - pointwise: {name: pw, filters: 8}
  - depthwise: {name: dw2, kernel: 3, padding: 1}
  - pointwise: {name: pw2, expansion: 2}
""")
    conversion = to_standard(arch)
    assert conversion.changed == {}
    assert conversion.arch.nodes == arch.nodes


def test_fused_name_without_common_prefix():
    arch = parse("""
input: 8x8x4
layers:
  - depthwise: {name: a, kernel: 3, padding: 1}
  - relu6
  - pointwise: {name: b, filters: 8}
""")
    conversion = to_standard(arch)
    assert list(conversion.changed) == ["a+b"]
    row = analyze(conversion.arch).rows[0]
    assert (row.macs, row.params) == (8 * 8 * 8 * 9 * 4, 9 * 4 * 8 + 8)


def test_unknown_conversion():
    with pytest.raises(ConvcalcError, match=r"conversion 'seperable' .*did you mean 'separable'"):
        convert(load("resnet50"), "seperable")


_conv_layer = st.builds(
    lambda f, s, p, n, bias: Conv(filters=n, kernel=(f, f), stride=(s, s), padding=p, bias=bias),
    st.sampled_from([1, 2, 3, 5]), st.integers(1, 2), st.sampled_from([0, 1, 2, "same", "valid"]),
    st.integers(1, 12), st.booleans())
_extra = st.sampled_from([None, BatchNorm(), Activation(kind="relu")])


@settings(max_examples=80, deadline=None)
@given(n=st.integers(6, 20), c=st.integers(1, 8),
       layers=st.lists(st.tuples(_conv_layer, _extra), min_size=1, max_size=5))
def test_separable_then_standard_gives_the_original_costs(n, c, layers):
    leaves = []
    for i, (conv, extra) in enumerate(layers):
        leaves.append((f"l{i}", conv))
        if extra is not None:
            leaves.append((f"l{i}.after", extra))
    arch = Architecture("random", "", "", Shape(n, n, c), chain(leaves), "")
    try:
        original = analyze(arch)
    except ConvcalcError:
        assume(False)
    separable = to_separable(arch, include_stem=True)
    back = to_standard(separable.arch)
    split = analyze(separable.arch)
    assert split.rows[-1].output == original.rows[-1].output
    restored = analyze(back.arch)
    assert restored.totals == original.totals
    assert [(r.path, r.output, r.params, r.macs) for r in restored.rows] == [
        (r.path, r.output, r.params, r.macs) for r in original.rows]


# -- width and resolution -----------------------------------------------------------------------

PLAIN = """
input: 8x8x3
defaults:
  conv: {bias: false}
layers:
  - conv: {filters: 16, kernel: 3, padding: 1}
  - relu
  - conv: {filters: 32, kernel: 3, padding: 1, stride: 2}
"""


def test_width_half_on_a_plain_stack():
    full = analyze(parse(PLAIN)).totals
    half = analyze(with_width(parse(PLAIN), 0.5)).totals
    assert full.macs == 8 * 8 * 16 * 9 * 3 + 4 * 4 * 32 * 9 * 16 == 101_376
    assert half.macs == 8 * 8 * 8 * 9 * 3 + 4 * 4 * 16 * 9 * 8 == 32_256
    assert full.params == 9 * 3 * 16 + 9 * 16 * 32 == 5_040
    assert half.params == 9 * 3 * 8 + 9 * 8 * 16 == 1_368
    # roughly a quarter: only the first layer's input channels stay at 3
    assert 0.25 < half.macs / full.macs < 0.33


def test_sweep_grid():
    result = sweep(parse(PLAIN), [1, 0.5], [Shape(8, 8, 3), Shape(4, 4, 3)])
    assert [(c.width, c.input.h, c.macs, c.params) for c in result.cells] == [
        (1, 8, 101_376, 5_040),
        (1, 4, 4 * 4 * 16 * 27 + 2 * 2 * 32 * 144, 5_040),
        (0.5, 8, 32_256, 1_368),
        (0.5, 4, 4 * 4 * 8 * 27 + 2 * 2 * 16 * 72, 1_368),
    ]


def test_sweep_matches_mobilenet_tables():
    # Howard et al. 2017, Table 6 (width at 224) and Table 7 (resolution at width 1):
    # millions of mult-adds and parameters as printed (the paper's 290M at 160 is 290.68M here,
    # about 569M x (160/224)^2 = 290.3M: it scaled rather than counted, so allow 1M).
    arch = load(MOBILENET)
    widths = sweep(arch, [1, 0.75, 0.5, 0.25], [Shape(224, 224, 3)]).cells
    assert [round(c.macs / 1e6) for c in widths] == [569, 325, 149, 41]
    assert [round(c.params / 1e5) / 10 for c in widths] == [4.2, 2.6, 1.3, 0.5]
    sizes = sweep(arch, [1], [Shape(s, s, 3) for s in (224, 192, 160, 128)]).cells
    assert all(abs(c.macs / 1e6 - paper) < 1 for c, paper in zip(sizes, [569, 418, 290, 186],
                                                                   strict=True))


def test_sweep_equals_separate_runs():
    arch = load(MOBILENET)
    shapes = [Shape(160, 160, 3), Shape(128, 96, 3)]
    for cell in sweep(arch, [0.75, 0.5], shapes).cells:
        totals = analyze(with_width(with_input(arch, cell.input), cell.width)).totals
        assert (cell.macs, cell.params) == (totals.macs, totals.params)


def test_sweep_too_large():
    with pytest.raises(ConvcalcError, match="combinations"):
        sweep(parse(PLAIN), [1.0] * 100, [Shape(8, 8, 3)] * 11)


def test_sweep_of_a_deep_network_is_refused_before_it_analyses():
    # 30 x 30 = 900 combinations (under 1,000) of a 300-layer network: 270,000 layer analyses,
    # over the 200,000 one sweep may run; 20 x 30 x 300 = 180,000 is allowed.
    deep = parse("input: 8x8x3\nlayers:\n  - {repeat: 300, relu: {}}\n")
    with pytest.raises(ConvcalcError, match=r"30 widths x 30 inputs of 300 layers is more "
                                            r"than 200,000 layers to analyse"):
        sweep(deep, [1.0] * 30, [Shape(8, 8, 3)] * 30)
    assert len(sweep(deep, [1.0] * 20, [Shape(8, 8, 3)] * 30).cells) == 600
