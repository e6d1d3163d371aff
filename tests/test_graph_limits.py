"""The promises of issue 14 that live in the loader and the graph: nesting counted across
blocks, derived sizes within the limits, work charged to the budget, fast hints, located errors.
Each asserts the promise (a located ConvcalcError, quickly), and hypothesis generates the
deep, growing and wide instances."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.analysis.report import analyze
from convcalc.analysis.variants import to_separable, to_standard, with_width
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import parse
from convcalc.graph.architecture import Architecture, chain
from convcalc.graph.layers import Activation, Depthwise, Pointwise
from convcalc.graph.shapes import Shape
from convcalc.limits import LIMITS, MAX_DIM, MAX_ELEMENTS, MAX_ITEMS, MAX_NESTING


def error(text: str) -> str:
    with pytest.raises(ConvcalcError) as info:
        analyze(parse(text, file="h.yaml"))
    return str(info.value)


def nested_blocks(blocks: int, groups: int) -> str:
    """``blocks`` blocks, each calling the next inside ``groups`` nested groups."""
    lines = ["input: 4x4x1", "blocks:"]
    for i in range(blocks):
        body = f"{{b{i + 1}: {{}}}}" if i < blocks - 1 else "relu"
        for _ in range(groups):
            body = f"{{group: {{layers: [{body}]}}}}"
        lines.append(f"  b{i}:\n    layers: [{body}]")
    return "\n".join([*lines, "layers: [b0]"]) + "\n"


def test_sixty_blocks_of_eight_groups_hit_the_nesting_limit_not_the_stack() -> None:
    # Each file level stays within the YAML nesting limit; the expansion counts them all.
    message = error(nested_blocks(60, 8))
    assert message.startswith("h.yaml:") and message.endswith(
        f": blocks and nested layer lists go deeper than {MAX_NESTING} levels")


@settings(max_examples=30, deadline=None)
@given(blocks=st.integers(1, 80), groups=st.integers(0, 9))
def test_any_nesting_ends_in_a_result_or_a_located_error(blocks: int, groups: int) -> None:
    try:
        report = analyze(parse(nested_blocks(blocks, groups), file="h.yaml"))
    except ConvcalcError as e:
        assert str(e).startswith("h.yaml:")
    else:
        assert [r.kind for r in report.rows] == ["relu"]


def test_growth_is_stopped_at_the_layer_that_crosses_the_limit() -> None:
    doubling = "input: 4x4x1\nlayers:\n  - concat: {name: c0, from: [input, input]}\n" + "".join(
        f"  - concat: {{name: c{i}, from: [c{i - 1}, c{i - 1}]}}\n" for i in range(1, 40))
    # 2^24 = 16,777,216 channels is the first past 10,000,000: c23, on line 26
    assert error(doubling) == (f"h.yaml:26: layer 'c23' (concat): concatenates 16,777,216 "
                               f"channels, more than {MAX_DIM:,}")
    padding = "input: 4x4x1\nlayers:\n" + "  - zeropad: {padding: 1000000}\n" * 20
    # 4 + 2,000,000 per layer passes 10,000,000 at the fifth (10,000,004)
    assert error(padding).startswith("h.yaml:7: layer '4' (zeropad): height 10000004 must be "
                                     "between 1 and 10,000,000")
    flat = "input: 10000000x10000000x10000000\nlayers: [flatten]\n"
    assert error(flat) == (f"h.yaml:2: layer '0' (flatten): produces {10**21} = "
                           f"{10**21:,} values; a tensor may have between 1 and {MAX_ELEMENTS:,}")
    jumps = "input: 1x1x1\nlayers:\n" + "  - conv: {filters: 1, kernel: 1, stride: 2}\n" * 60
    # the jump doubles per layer: 2^50 = 1.1e15 is the first past 10^15 (layer 49, line 52)
    assert error(jumps).startswith("h.yaml:52: layer '49' (conv): receptive field grows past "
                                   "1e+15 input pixels")


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.sampled_from(["concat", "pad", "up"]), min_size=1, max_size=60))
def test_growth_chains_stay_within_the_limits(steps: list[str]) -> None:
    layer = {"concat": "  - concat: {{name: x{i}, from: [{p}, {p}]}}\n",
             "pad": "  - zeropad: {{name: x{i}, from: {p}, padding: 300000}}\n",
             "up": "  - upsample: {{name: x{i}, from: {p}, scale: 4}}\n"}
    text = "input: 2x2x1\nlayers:\n" + "".join(
        layer[s].format(i=i, p="input" if i == 0 else f"x{i - 1}") for i, s in enumerate(steps))
    try:
        report = analyze(parse(text, file="h.yaml"))
    except ConvcalcError as e:
        assert str(e).startswith("h.yaml:")
    else:
        for row in report.rows:
            assert all(d <= MAX_DIM for d in row.output.as_list())
            assert row.output.elements <= MAX_ELEMENTS


def test_empty_work_is_charged_to_the_budget_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    empty = """input: 4x4x1
blocks:
  e: {layers: []}
  f:
    layers: [{repeat: 10000, e: {}}]
  g:
    layers: [{repeat: 10000, f: {}}]
layers:
  - relu
  - repeat: 10000
    g: {}
"""
    start = time.perf_counter()
    assert error(empty).startswith(f"h.yaml:5: has more than {MAX_ITEMS:,} layer items")
    assert time.perf_counter() - start < 30  # generous: the budget stops each within seconds
    # an item left out by 'if' expands nothing, so 10,000 calls of it cost 10,000 items
    skipped = ("input: 4x4x1\nblocks:\n  s:\n    layers: [{repeat: 10000, if: false, relu: {}}]\n"
               "layers:\n  - relu\n  - {repeat: 10000, s: {}}\n")
    assert [r.path for r in analyze(parse(skipped)).rows] == ["0"]
    # 10^8 empty side branches count too (shown with a smaller budget, to stay quick)
    monkeypatch.setitem(LIMITS, "items", (20_000, "layer items"))
    sides = "input: 4x4x1\nblocks:\n  s:\n    layers: [{repeat: 10000, side: {layers: []}}]\n" \
            "layers:\n  - relu\n  - {repeat: 10000, s: {}}\n"
    assert error(sides).startswith("h.yaml:4: has more than 20,000 layer items")


def test_did_you_mean_among_thousands_of_blocks_is_quick() -> None:
    blocks = "".join(f"  block{i:05d}:\n    layers: [relu]\n" for i in range(5000))
    text = f"input: 4x4x1\nblocks:\n{blocks}layers:\n  - block1234x: {{}}\n"
    start = time.perf_counter()
    message = error(text)
    assert message.startswith("h.yaml:10004: unknown layer kind or block 'block1234x'; did you "
                              "mean 'block")
    assert time.perf_counter() - start < 20


def test_flat_residual_and_wide_width_are_located() -> None:
    assert error("input: 8x8x4\nlayers:\n  - flatten\n"
                 "  - residual: {name: r, layers: [{dense: {units: 8}}]}\n").startswith(
        "h.yaml:4: layer 'r.downsample' (shortcut): needs a spatial input (h x w x c) but gets "
        "the flat vector 256")
    arch = parse("input: 8x8x3\nlayers:\n  - conv: {name: c, filters: 1000000, kernel: 1}\n",
                 file="w.yaml")
    with pytest.raises(ConvcalcError, match=r"^w\.yaml:3: layer 'c' \(conv\): filters 1000000 x "
                                            r"width 16 = 16,000,000 is more than 10,000,000"):
        with_width(arch, 16)


@pytest.mark.parametrize(("value", "shown"), [("1", "1"), ("0", "0"), ("2", "2"),
                                             ("'yes'", "'yes'")])
def test_scale_must_be_true_false_or_up(value: str, shown: str) -> None:
    # 1 == True in Python; `scale: 1` must not pass for true.
    assert error(f"input: 4x4x1\nlayers:\n  - conv: {{name: c, filters: 2, kernel: 1, "
                 f"scale: {value}}}\n") == (f"h.yaml:3: layer 'c' (conv): scale {shown} must be "
                                            "true, false or 'up'")


def test_a_duplicate_path_names_both_calls() -> None:
    text = """input: 4x4x1
blocks:
  b:
    layers:
      - relu: {name: r}
layers:
  - b: {name: x}
  - relu: {name: between}
  - b: {name: x}
"""
    # the clash is x.r, made by the calls on lines 7 and 9 (not the block's line 5)
    assert error(text).startswith(
        "h.yaml:9: layer 'x.r' (relu): the path is used twice (also on line 7)")


def test_standard_conversion_is_linear() -> None:
    # 20,000 depthwise-pointwise pairs: one pass (it was quadratic).
    pairs = []
    for i in range(20000):
        pairs += [(f"b{i}.dw", Depthwise(kernel=(3, 3), padding=1)),
                  (f"b{i}.pw", Pointwise(filters=4))]
    arch = Architecture("pairs", "", "", Shape(4, 4, 4), chain(pairs), "")
    start = time.perf_counter()
    fused = to_standard(arch)
    assert len(fused.arch.nodes) == 20000 and time.perf_counter() - start < 10
    assert [n.path for n in fused.arch.nodes[:2]] == ["b0", "b1"]
    assert len(to_separable(fused.arch, include_stem=True).arch.nodes) == 40000
    # a long run of activations was the quadratic case: each one scanned all that followed
    relus = Architecture("relus", "", "", Shape(4, 4, 4),
                         chain((f"r{i}", Activation(kind="relu")) for i in range(20000)), "")
    start = time.perf_counter()
    assert to_standard(relus).arch.nodes == relus.nodes and time.perf_counter() - start < 5


def test_chains_of_shape_formulas_are_walked_once_without_recursion() -> None:
    # 3,000 arguments, each a formula over in.c and every one of the two before it: walked
    # recursively this is 3,000 frames deep, and naively it visits 2^3000 paths.
    args = ", ".join(["a0: in.c"] + [f"a{i}: 'a{i - 1} + a{max(i - 2, 0)} - a{i - 1} + 0 * in.c'"
                                     for i in range(1, 3000)])
    text = (f"input: 4x4x5\nblocks:\n  b:\n    args: {{{args}}}\n    layers:\n"
            "      - conv: {name: c, filters: a2999, kernel: 1}\nlayers:\n  - b: {name: x}\n")
    start = time.perf_counter()
    report = analyze(parse(text))
    # a_i = a_{i-2}, so every even one is a0 = in.c = 5 and every odd one a1 = a0 = 5
    assert report.rows[0].output.c == 5 and time.perf_counter() - start < 10
