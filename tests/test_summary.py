"""Summaries of a report: by-kind shares, top-K, depth folding, liveness peak, comparison.

Expected numbers are hand counts written here, or the MobileNet paper's Table 2."""

import dataclasses

import pytest
from conftest import DATA

from convcalc import Report, analyze, load, parse
from convcalc.analysis.summary import (
    Block,
    by_kind,
    compare_totals,
    fold,
    kind_label,
    memory,
    summarize,
    top_layers,
)


def report_of(name: str, *, include_side: bool = False, dtype: str = "fp32") -> Report:
    source = DATA / f"{name}.yaml" if (DATA / f"{name}.yaml").exists() else name
    return analyze(load(source), include_side=include_side, dtype=dtype)


# -- peak activation memory by liveness ----------------------------------------------------------

def test_liveness_of_a_residual_block_by_hand() -> None:
    # input 4x4x3 (48 elements) -> a 4x4x2 (32) -> res.b 4x4x5 (80) -> res.c (32)
    # -> res.add = res.c + a (32) -> d relu (32). Alive at each step (inputs + output + kept):
    #   a:     input 48 + a 32                  = 80
    #   res.b: a 32 + b 80                      = 112
    #   res.c: a 32 (kept for the add) + b + c  = 144
    #   add:   a 32 + c 32 + add 32             = 96
    #   d:     add 32 + d 32                    = 64
    m = memory(report_of("liveness_residual", dtype="int8"))
    assert m.live_bytes == (80, 112, 144, 96, 64)
    assert (m.peak_bytes, m.peak_at) == (144, "res.c")
    assert m.activation_sum_bytes == 32 + 80 + 32 + 32 + 32
    assert m.input_bytes == 48


def test_liveness_scales_with_the_dtype() -> None:
    m = memory(report_of("liveness_residual", dtype="fp32"))
    assert (m.peak_bytes, m.activation_sum_bytes, m.input_bytes) == (4 * 144, 4 * 208, 4 * 48)


def test_liveness_of_an_inception_module_by_hand() -> None:
    # input 48; branches b1.conv 32, b2.reduce 64, b2.conv 96, b3.pool 48, b3.proj 16;
    # concat 144; pool 9. The input lives until b3.pool, every branch output until the concat.
    #   b1.conv:   48 + 32                = 80
    #   b2.reduce: 48 + 32 + 64           = 144
    #   b2.conv:   48 + 32 + 64 + 96      = 240
    #   b3.pool:   48 + 32 + 96 + 48      = 224
    #   b3.proj:   32 + 96 + 48 + 16      = 192
    #   concat:    32 + 96 + 16 + 144     = 288
    #   pool:      144 + 9                = 153
    m = memory(report_of("liveness_inception", dtype="int8"))
    assert m.live_bytes == (80, 144, 240, 224, 192, 288, 153)
    assert (m.peak_bytes, m.peak_at) == (288, "mixed.concat")
    assert m.activation_sum_bytes == 32 + 64 + 96 + 48 + 16 + 144 + 9


def test_liveness_counts_a_side_branch_only_when_asked() -> None:
    # With the side branch: aux.conv 320 and aux.pool 20 run after the concat, which stays
    # alive for the main pool; aux.pool is a network output, so it stays to the end.
    #   aux.conv: 144 + 320        = 464
    #   aux.pool: 144 + 320 + 20   = 484
    #   pool:     144 + 20 + 9     = 173
    m = memory(report_of("liveness_inception", dtype="int8", include_side=True))
    assert m.live_bytes == (80, 144, 240, 224, 192, 288, 464, 484, 173)
    assert (m.peak_bytes, m.peak_at) == (484, "aux.pool")
    assert m.activation_sum_bytes == 409 + 320 + 20


def test_liveness_of_a_plain_chain_is_the_largest_neighbouring_pair() -> None:
    arch = parse("input: 10x10x1\nlayers:\n"
                 "  - conv: {filters: 8, kernel: 3}\n"     # 8x8x8 = 512
                 "  - conv: {filters: 2, kernel: 3}\n"     # 6x6x2 = 72
                 "  - conv: {filters: 50, kernel: 3}\n")   # 4x4x50 = 800
    m = memory(analyze(arch, dtype="int8"))
    assert m.live_bytes == (100 + 512, 512 + 72, 72 + 800)
    assert m.peak_bytes == 872


# -- by layer kind -------------------------------------------------------------------------------

def test_kind_labels() -> None:
    arch = parse("input: 16x16x8\nlayers:\n"
                 "  - conv: {name: a, filters: 8, kernel: 3, padding: 1}\n"
                 "  - conv: {name: b, filters: 8, kernel: 3, padding: 1, groups: 8}\n"
                 "  - conv: {name: c, filters: 8, kernel: 3, padding: 1, groups: 2}\n"
                 "  - depthwise: {name: d, kernel: 5, padding: 2}\n"
                 "  - pointwise: {name: e, filters: 4}\n"
                 "  - conv: {name: f, filters: 4, kernel: [1, 7], padding: [0, 3]}\n"
                 "  - conv: {name: g, filters: 4, kernel: 3, padding: 2, dilation: 2}\n"
                 "  - batchnorm: {name: h}\n"
                 "  - flatten: {name: i}\n"
                 "  - dense: {name: j, units: 3}\n")
    labels = [kind_label(r) for r in analyze(arch).rows]
    assert labels == ["conv 3x3", "depthwise 3x3", "grouped conv 3x3", "depthwise 5x5",
                      "conv 1x1", "conv 1x7", "conv 3x3 dilated", "batchnorm", "flatten",
                      "dense"]


def test_by_kind_of_the_inception_module_by_hand() -> None:
    # 1x1 convs: b1 16*3*2 = 96, reduce 16*3*4 = 192, proj 16*3*1 = 48 -> 336 MACs,
    # params 6 + 12 + 3 = 21; the 3x3 conv: 16*9*4*6 = 3456 MACs, 9*4*6 = 216 params.
    shares = by_kind(report_of("liveness_inception"))
    assert [(s.kind, s.layers, s.macs, s.params) for s in shares] == [
        ("conv 3x3", 1, 3456, 216), ("conv 1x1", 3, 336, 21)]
    assert shares[0].macs_share == pytest.approx(3456 / 3792)
    assert shares[1].params_share == pytest.approx(21 / 237)


# MobileNet paper (Howard et al. 2017), Table 2 "Resources per layer type", percent of
# mult-adds and of parameters.
PAPER_TABLE_2 = {
    "conv 1x1": (94.86, 74.59),
    "depthwise 3x3": (3.06, 1.06),
    "conv 3x3": (1.19, 0.02),
    "dense": (0.18, 24.33),
}


def test_mobilenet_v1_by_kind_matches_the_paper_table_2() -> None:
    report = report_of("mobilenet_v1")
    assert (report.totals.macs, report.totals.params) == (568_740_352, 4_231_976)
    shares = {s.kind: s for s in by_kind(report)}
    assert sum(s.macs for s in shares.values()) == report.totals.macs
    assert sum(s.params for s in shares.values()) == report.totals.params
    assert sum(s.macs_share for s in shares.values()) == pytest.approx(1)
    assert sum(s.params_share for s in shares.values()) == pytest.approx(1)
    # The paper rounds to 0.01%, so each share must be within half of that.
    half_digit = 0.005
    for kind in ("conv 1x1", "depthwise 3x3", "dense"):
        assert 100 * shares[kind].macs_share == pytest.approx(PAPER_TABLE_2[kind][0],
                                                              abs=half_digit)
    # The paper's 1.19% for the first 3x3 convolution is a transposition of 1.91%: its column
    # sums to 99.29% with 1.19 and to 100.01% with 1.91; 112*112*32*27 / 568,740,352 = 1.906%.
    assert 100 * shares["conv 3x3"].macs_share == pytest.approx(1.91, abs=half_digit)
    assert 100 * shares["conv 1x1"].macs_share == pytest.approx(95, abs=0.5)
    # The paper's parameter shares leave out batch norm and the dense layer's 1000 biases; with
    # those left out here too, every share matches to the paper's rounding.
    weights = {k: shares[k].params - (1000 if k == "dense" else 0) for k in PAPER_TABLE_2}
    total = sum(weights.values())
    for kind, (_, params_percent) in PAPER_TABLE_2.items():
        assert 100 * weights[kind] / total == pytest.approx(params_percent, abs=half_digit)
    assert shares["batchnorm"].macs == 0


def test_by_kind_leaves_out_kinds_that_cost_nothing() -> None:
    kinds = {s.kind for s in by_kind(analyze(load("resnet50")))}
    assert kinds == {"conv 1x1", "conv 3x3", "conv 7x7", "dense", "batchnorm"}


# -- top K and folding ---------------------------------------------------------------------------

def test_top_layers_by_macs_with_ties_in_execution_order() -> None:
    report = report_of("liveness_inception")
    assert [r.path for r in top_layers(report, 3)] == [
        "mixed.b2.conv", "mixed.b2.reduce", "mixed.b1.conv"]
    resnet = analyze(load("resnet50"))
    top = top_layers(resnet, 4)
    # conv1: 112*112*64*7*7*3 = 118,013,952; every 3x3 of layer1: 56*56*64*9*64 = 115,605,504.
    assert [(r.path, r.macs) for r in top] == [
        ("conv1", 118_013_952), ("layer1.0.conv2", 115_605_504),
        ("layer1.1.conv2", 115_605_504), ("layer1.2.conv2", 115_605_504)]
    # Only layers with multiplies, and not the side branch's aux.conv: the four main convs.
    assert len(top_layers(report, 100)) == 4


def test_fold_the_inception_module_to_depth_2() -> None:
    report = report_of("liveness_inception")
    blocks = fold(report, 2)
    # Bytes moved add up like the other figures: each block's is its rows' sum.
    for b in blocks:
        assert b.bytes_moved == sum(r.bytes_moved for r in report.counted()
                                    if r.path == b.path or r.path.startswith(b.path + "."))
    assert sum(b.bytes_moved for b in blocks if b.level == 1) == report.totals.bytes_moved > 0
    assert tuple(dataclasses.replace(b, bytes_moved=0) for b in blocks) == (
        Block("mixed", 1, "", 6, 237, 3792, 400),
        Block("mixed.b1", 2, "", 1, 6, 96, 32),
        Block("mixed.b2", 2, "", 2, 228, 3648, 160),
        Block("mixed.b3", 2, "", 2, 3, 48, 64),
        Block("mixed.concat", 2, "concat", 1, 0, 0, 144),
        Block("pool", 1, "global_avgpool", 1, 0, 0, 9),
    )


def test_fold_resnet50_layer1_by_hand() -> None:
    blocks = {b.path: b for b in fold(analyze(load("resnet50")), 1)}
    # layer1.0: conv1 64*64 + conv2 9*64*64 + conv3 64*256 + bn 2*(64+64+256)
    #           + downsample 64*256 + bn 2*256 = 75,008;
    # layer1.1 and layer1.2: 256*64 + 9*64*64 + 64*256 + 768 = 70,400 each.
    layer1 = blocks["layer1"]
    assert layer1.params == 75_008 + 2 * 70_400
    # 10 rows per block (3 conv, 3 bn, 3 relu, add) and the projection's conv + bn.
    assert layer1.layers == 3 * 10 + 2
    report = analyze(load("resnet50"))
    level1 = [b for b in fold(report, 3) if b.level == 1]
    assert sum(b.macs for b in level1) == report.totals.macs
    assert sum(b.params for b in level1) == report.totals.params


def test_summarize_leaves_out_what_was_not_asked_for() -> None:
    summary = summarize(report_of("liveness_residual"), by_type=False, top=0)
    assert (summary.by_kind, summary.top, summary.blocks) == (None, None, None)


def test_compare_gives_ratios_to_the_first() -> None:
    a = summarize(report_of("liveness_residual"))
    b = summarize(report_of("liveness_inception"))
    first, second = compare_totals([a, b])
    # residual: params 6 + 10 + 10 = 26; inception: 237 (see the by-kind test).
    assert (first.params, second.params) == (26, 237)
    assert second.ratios["params"] == pytest.approx(237 / 26)
    assert second.ratios["peak_bytes"] == pytest.approx(288 / 144)
    assert first.ratios["macs"] == 1


def test_compare_has_no_ratio_to_zero() -> None:
    arch = parse("input: 4x4x1\nlayers:\n  - relu\n")
    nothing = summarize(analyze(arch))
    assert compare_totals([nothing, nothing])[1].ratios["macs"] is None


def naive_live_bytes(report: Report) -> list[int]:
    """Liveness by brute force: at each step, add up every tensor produced by then whose last
    reader has not run yet (a tensor nothing reads stays to the end)."""
    steps = [i for i, r in enumerate(report.rows) if report.include_side or not r.side]
    size = {"fp32": 4, "int8": 1}[report.dtype]
    sizes = {-1: report.input.elements, **{i: report.rows[i].activations for i in steps}}
    live = []
    for position, _ in enumerate(steps):
        total = 0
        for tensor, elements in sizes.items():
            produced = -1 if tensor == -1 else steps.index(tensor)
            readers = [p for p, i in enumerate(steps) if tensor in report.rows[i].inputs]
            if produced <= position and (not readers or position <= max(readers)):
                total += elements
        live.append(total * size)
    return live


@pytest.mark.parametrize(("name", "include_side"), [
    ("resnet50", False), ("mobilenet_v1", False), ("liveness_inception", True),
    ("liveness_inception", False), ("hostile", False)])
def test_liveness_agrees_with_brute_force(name: str, include_side: bool) -> None:
    source = DATA / f"{name}.yaml" if (DATA / f"{name}.yaml").exists() else name
    report = analyze(load(source), include_side=include_side)
    assert list(memory(report).live_bytes) == naive_live_bytes(report)
