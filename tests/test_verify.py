"""``verify`` and ``convcalc verify``: the engine's shapes and MACs against the numpy reference."""

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA, KIND_FILES
from hypothesis import given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.graph.layers import LAYER_KINDS, Conv, ConvTranspose, Upsample
from convcalc.reference import verify


def test_resnet50_reduced_resolution_matches():
    report = convcalc.analyze(convcalc.with_input(convcalc.load("resnet50"),
                                                  convcalc.Shape(64, 64, 3)))
    checks = verify(report)
    assert [c.path for c in checks if not c.ok] == []
    assert len(checks) == len(report.rows)
    # Independent of the engine: the published 4.09 GMACs at 224 scale with positions,
    # but at 64 the reference's own sum must at least equal the rows' sum exactly.
    assert sum(c.reference_macs for c in checks) == report.totals.macs


# Every built-in network runs at its own size up to this many multiplies; a larger one at about
# half its input (the largest valid size at or below half, else the smallest above: U-Net's
# unpadded convolutions accept only some), again while one is valid, so the zoo's segmentation
# networks and the large classifiers run in a second or two each and the suite stays fast.
SMALL_ENOUGH = 2 * 10**9


def _smaller(arch):
    """The analysis at the largest valid height at or below half the input's (the width in
    proportion), else at the smallest valid one above half; None when no smaller one is."""
    h, w = arch.input.hw
    for side in [*range(h // 2, 0, -1), *range(h // 2 + 1, h)]:
        try:
            smaller = convcalc.with_input(
                arch, convcalc.Shape(side, max(1, side * w // h), arch.input.c))
            return smaller, convcalc.analyze(smaller, include_side=True)
        except ConvcalcError:
            continue
    return None


@pytest.mark.parametrize("name", convcalc.builtin_names())
def test_every_builtin_architecture_verifies(name):
    arch = convcalc.load(name)
    report = convcalc.analyze(arch, include_side=True)
    while report.totals.macs > SMALL_ENOUGH and (found := _smaller(arch)) is not None:
        arch, report = found
    checks = verify(report, seed=1)
    assert [(c.path, c.engine_shape, c.reference_shape, c.engine_macs, c.reference_macs)
            for c in checks if not c.ok] == []


def test_yolo11m_verifies_in_its_c3k_form_at_64():
    # Scale m turns every C3k2 into a C3k (2.m.0.m.1 is the second Bottleneck inside the first
    # C3k): the reference runs those layers too, at a 64x64 input.
    report = convcalc.analyze(convcalc.with_input(convcalc.load("yolo11m"),
                                                  convcalc.Shape(64, 64, 3)))
    checks = verify(report, seed=1)
    assert [c.path for c in checks if not c.ok] == []
    assert "2.m.0.m.1.cv2.conv" in {c.path for c in checks}
    assert sum(c.reference_macs for c in checks) == report.totals.macs


def test_verify_command_passes_and_exits_0():
    result = CliRunner().invoke(main, ["verify", "resnet50", "--input", "32"])
    assert result.exit_code == 0, result.output
    assert "all 175 layers match" in result.output


def test_wrong_engine_count_is_caught(monkeypatch):
    monkeypatch.setattr(Conv, "macs", lambda self, x: 7)
    checks = verify(convcalc.analyze(convcalc.with_input(convcalc.load("resnet50"),
                                                         convcalc.Shape(32, 32, 3))))
    wrong = [c for c in checks if not c.ok]
    assert {c.kind for c in wrong} == {"conv"}
    assert all(c.engine_macs == 7 != c.reference_macs for c in wrong)
    result = CliRunner().invoke(main, ["verify", "resnet50", "--input", "32"])
    assert result.exit_code == 1
    assert "✗" in result.output and "engine 7 ≠ reference" in result.output


def test_wrong_engine_shape_is_caught():
    report = convcalc.analyze(convcalc.load("resnet50"))
    conv1 = replace(report.rows[0], output=convcalc.Shape(113, 113, 64))
    (check,) = verify(replace(report, rows=(conv1,)))
    assert not check.ok
    # 224 + 2*3 - 7 = 223, floor(223 / 2) + 1 = 112 (He et al.'s conv1 output).
    assert check.reference_shape == convcalc.Shape(112, 112, 64)


def test_verify_float64_and_seed():
    report = convcalc.analyze(convcalc.with_input(convcalc.load("resnet50"),
                                                  convcalc.Shape(32, 32, 3)))
    assert all(c.ok for c in verify(report, seed=3, dtype="float64"))


@pytest.mark.parametrize(("args", "message"), [
    (["verify", "nosuchnet"], "nosuchnet"),
    (["verify", "resnet50", "--input", "axb"], "must be HxWxC"),
    (["verify", "resnet50", "--input", "64x64x0"], "channels 0 must be between"),
], ids=["unknown-arch", "bad-input", "too-small"])
def test_verify_bad_input_exits_2(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output


# ---------------------------------------------------------------- the graph language's kinds

EVERY_NEW_KIND = Path(__file__).parent / "data" / "graph_every_kind.yaml"


def test_every_kind_of_the_graph_language_verifies():
    report = convcalc.analyze(convcalc.load(str(EVERY_NEW_KIND)))
    checks = verify(report)
    assert [c.path for c in checks if not c.ok] == []
    new = {"channel_slice", "channel_shuffle", "layernorm", "layer_scale", "stochastic_depth",
           "identity", "conv_transpose", "upsample", "adaptive_maxpool", "mul", "crop"}
    assert new <= {c.kind for c in checks}
    # Hand arithmetic, independent of the engine: stem 16*16 positions x 12 filters x 3*3*8;
    # b 16*16 x 4 x 8; up (transposed) 16*16 inputs x 8 channels x 6/2 filters per group x 3*3.
    macs = {c.path: c.reference_macs for c in checks if c.reference_macs}
    assert macs == {"stem": 16 * 16 * 12 * 9 * 8, "b": 16 * 16 * 4 * 8,
                    "up": 16 * 16 * 8 * 3 * 9}
    # (16 - 1) * 2 - 2 * 1 + (3 - 1) + 1 + 1 = 32; floor(32 * 1.5) = 48; back to the stem's 16.
    shapes = {c.path: c.reference_shape for c in checks}
    assert (shapes["up"], shapes["bi"], shapes["amax"], shapes["back"], shapes["middle"],
            shapes["like"], shapes["gated"]) == (
        convcalc.Shape(32, 32, 6), convcalc.Shape(48, 48, 6), convcalc.Shape(5, 5, 6),
        convcalc.Shape(16, 16, 6), convcalc.Shape(11, 12, 6), convcalc.Shape(11, 12, 6),
        convcalc.Shape(11, 12, 6))


def test_the_reference_runs_every_kind():
    # Every kind of LAYER_KINDS on every rank it reads (the files of KIND_FILES; separable and
    # split run as their parts), each row's shape and multiplies re-checked.
    kinds = set()
    for name in KIND_FILES:
        checks = verify(convcalc.analyze(convcalc.load(str(DATA / name))))
        assert [c.path for c in checks if not c.ok] == [], name
        kinds |= {c.kind for c in checks}
    assert set(LAYER_KINDS) - {"separable", "split"} <= kinds


@pytest.mark.parametrize("name", ["graph_se", "graph_unet", "graph_fpn"])
def test_the_issue_graphs_verify(name):
    path = Path(__file__).parent / "data" / f"{name}.yaml"
    checks = verify(convcalc.analyze(convcalc.load(str(path))))
    assert checks and [c.path for c in checks if not c.ok] == []


def test_a_wrong_transposed_convolution_count_and_upsample_shape_are_caught(monkeypatch):
    monkeypatch.setattr(ConvTranspose, "macs", lambda self, x: 7)
    original = Upsample.out_shape

    def one_row_more(self, inputs):
        out = original(self, inputs)
        return convcalc.Shape(out.h + 1, out.w, out.c)

    monkeypatch.setattr(Upsample, "out_shape", one_row_more)
    report = convcalc.analyze(convcalc.load(str(EVERY_NEW_KIND)))
    wrong = {c.path: c for c in verify(report) if not c.ok}
    assert wrong["up"].engine_macs == 7 != wrong["up"].reference_macs == 16 * 16 * 8 * 3 * 9
    assert wrong["bi"].engine_shape == convcalc.Shape(49, 48, 6)
    assert wrong["bi"].reference_shape == convcalc.Shape(48, 48, 6)


@st.composite
def graph_units(draw, index):
    """A few layers of the graph language's kinds that fit any spatial input (each unit that
    needs a channel count starts with a 1x1 convolution to 6), named after ``index``."""
    n = f"u{index}"
    choice = draw(st.sampled_from(["transpose", "upsample", "adaptive", "shuffle", "split",
                                   "gate", "norms"]))
    if choice == "transpose":
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 2))
        p = draw(st.integers(0, (k - 1) // 2))
        op = draw(st.integers(0, s - 1))
        g = draw(st.sampled_from([1, 2, 3]))
        return [f"{{conv: {{name: {n}c, filters: 6, kernel: 1}}}}",
                f"{{conv_transpose: {{name: {n}, filters: {3 * g}, kernel: {k}, stride: {s}, "
                f"padding: {p}, output_padding: {op}, groups: {g}, "
                f"bias: {str(draw(st.booleans())).lower()}}}}}"]
    if choice == "upsample":
        mode = draw(st.sampled_from(["nearest", "bilinear"]))
        if draw(st.booleans()):
            scale = draw(st.sampled_from([1, 1.5, 2, "[2, 1.3]"]))
            return [f"{{upsample: {{name: {n}, scale: {scale}, mode: {mode}}}}}"]
        size = [draw(st.integers(1, 12)), draw(st.integers(1, 12))]
        return [f"{{upsample: {{name: {n}, size: {size}, mode: {mode}}}}}"]
    if choice == "adaptive":
        size = [draw(st.integers(1, 6)), draw(st.integers(1, 6))]
        return [f"{{adaptive_maxpool: {{name: {n}, size: {size}}}}}"]
    if choice == "shuffle":
        return [f"{{conv: {{name: {n}c, filters: 6, kernel: 1}}}}",
                f"{{channel_shuffle: {{name: {n}, groups: {draw(st.sampled_from([1, 2, 3]))}}}}}"]
    if choice == "split":
        return [f"{{conv: {{name: {n}c, filters: 6, kernel: 1}}}}",
                f"{{split: {{name: {n}s, sections: [2, 4]}}}}",
                f"{{relu: {{name: {n}r, from: {n}s.1}}}}",
                f"{{concat: {{name: {n}, from: [{n}r, {n}s.0]}}}}"]
    if choice == "gate":
        return [f"{{conv: {{name: {n}c, filters: 6, kernel: 1}}}}",
                f"{{global_avgpool: {{name: {n}p}}}}",
                f"{{sigmoid: {{name: {n}g}}}}",
                f"{{mul: {{name: {n}, from: [{n}c, {n}g]}}}}"]
    return [f"{{layernorm: {{name: {n}n}}}}", f"{{layer_scale: {{name: {n}l}}}}",
            f"{{stochastic_depth: {{name: {n}d, p: 0.2}}}}", f"{{identity: {{name: {n}}}}}"]


@st.composite
def graphs(draw):
    h, w, c = draw(st.integers(2, 7)), draw(st.integers(2, 7)), draw(st.integers(1, 4))
    items = [item for i in range(draw(st.integers(1, 4))) for item in draw(graph_units(i))]
    return f"input: {h}x{w}x{c}\nlayers: [{', '.join(items)}]\n"


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_the_reference_agrees_with_the_engine_on_random_graphs(text):
    report = convcalc.analyze(convcalc.parse(text))
    checks = verify(report, seed=0)
    assert [(c.path, c.engine_shape, c.reference_shape, c.engine_macs, c.reference_macs)
            for c in checks if not c.ok] == []
