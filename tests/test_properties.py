"""Properties of random valid architectures (sequences, blocks, residuals, branches, side
branches): analysis never fails, shapes stay positive, totals are the sums of rows, the rows are
a dataflow list, and converting to separable and back restores the costs."""

from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.analysis import NETWORK_INPUT, analyze
from convcalc.loader import parse
from convcalc.variants import to_separable, to_standard


def conv(f: int, k: int, s: int) -> str:
    return f"{{conv: {{filters: {f}, kernel: {k}, stride: {s}, padding: same, bias: false}}}}"


simple = st.one_of(
    st.builds(conv, st.integers(1, 12), st.sampled_from([1, 3, 5]), st.just(1)),
    st.builds(lambda k, m: f"{{depthwise: {{kernel: {k}, padding: same, multiplier: {m}}}}}",
              st.sampled_from([3, 5]), st.sampled_from([1, 2])),
    st.builds(lambda f: f"{{pointwise: {{filters: {f}}}}}", st.integers(1, 12)),
    st.sampled_from(["batchnorm", "relu", "relu6",
                     "{maxpool: {kernel: 3, stride: 1, padding: 1}}"]),
)
strided = st.one_of(
    st.builds(conv, st.integers(1, 12), st.sampled_from([1, 3]), st.just(2)),
    st.just("{maxpool: {kernel: 2, stride: 2, padding: same}}"),
)


def seq(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


residual = st.builds(
    lambda main, shortcut: f"{{residual: {{layers: {seq(main)}, shortcut: {shortcut}}}}}",
    st.lists(st.one_of(simple, strided), min_size=1, max_size=3),
    st.sampled_from(["auto", "projection", "if_same"]),
)
branches = st.builds(
    lambda bs: "{concat: {branches: [" + ", ".join(seq(b) for b in bs) + "]}}",
    st.lists(st.lists(simple, min_size=1, max_size=3), min_size=2, max_size=3),
)
side = st.builds(lambda u: f"{{side: {{layers: [global_avgpool, flatten, "
                           f"{{dense: {{units: {u}}}}}]}}}}", st.integers(1, 10))
block_call = st.builds(lambda c, s: f"{{unit: {{c: {c}, s: {s}}}}}",
                       st.integers(1, 12), st.sampled_from([1, 2]))

BLOCKS = """
blocks:
  unit:
    args: {c: ~, s: 1}
    layers:
      - conv: {name: a, filters: c * 2, kernel: 3, stride: s, padding: same}
      - batchnorm
      - pointwise: {name: b, filters: c}
    shortcut: auto
    after: [relu]
"""


@st.composite
def networks(draw: st.DrawFn) -> str:
    h, w, c = draw(st.integers(4, 40)), draw(st.integers(4, 40)), draw(st.integers(1, 8))
    # At least one layer outside side branches: a side-only network is an error (tested in
    # test_graph.py).
    items = [draw(simple), *draw(st.lists(st.one_of(simple, strided, residual, branches, side,
                                                    block_call), min_size=0, max_size=7))]
    if draw(st.booleans()):
        items += ["global_avgpool", "flatten", f"{{dense: {{units: {draw(st.integers(1, 9))}}}}}"]
    return f"input: {h}x{w}x{c}\n{BLOCKS}layers:\n" + "".join(f"  - {i}\n" for i in items)


@settings(max_examples=150, deadline=None)
@given(text=networks(), include_side=st.booleans())
def test_random_networks_analyze_consistently(text: str, include_side: bool) -> None:
    report = analyze(parse(text), include_side=include_side)
    counted = [r for r in report.rows if include_side or not r.side]
    for field in ("params", "macs", "other_ops", "activations"):
        assert getattr(report.totals, field) == sum(getattr(r, field) for r in counted)
    produced = {NETWORK_INPUT}
    for index, row in enumerate(report.rows):
        assert row.output.elements > 0 and row.params >= 0 and row.macs >= 0
        assert set(row.inputs) <= produced  # every input is made before it is read
        first = row.inputs[0]
        assert (report.rows[first].output if first >= 0 else report.input) == row.input
        produced.add(index)
    assert len({r.path for r in report.rows}) == len(report.rows)


@settings(max_examples=100, deadline=None)
@given(text=networks())
def test_separable_then_standard_restores_costs_of_plain_convolutions(text: str) -> None:
    arch = parse(text)
    if any(r.kind in ("depthwise", "pointwise") for r in analyze(arch).rows):
        # Only networks whose depthwise/pointwise layers all come from the conversion can be
        # converted back exactly; the others already hold pairs to_standard would fuse.
        return
    original = analyze(arch).totals
    split = to_separable(arch, include_stem=True).arch
    assert [r.output for r in analyze(split).rows if r.kind == "pointwise"] == [
        r.output for r in analyze(arch).rows if r.kind == "conv" and r.window and
        r.window.kernel != (1, 1) and r.window.groups == 1]
    back = analyze(to_standard(split).arch).totals
    assert (back.params, back.macs) == (original.params, original.macs)


@settings(max_examples=25, deadline=None)
@given(text=networks(), h=st.integers(4, 16), w=st.integers(4, 16), c=st.integers(1, 4))
def test_reference_agrees_with_the_engine_on_small_random_networks(text: str, h: int, w: int,
                                                                   c: int) -> None:
    # The same random networks on a small input, so the numpy reference runs them quickly.
    from convcalc.reference import verify

    _, rest = text.split("\n", 1)
    report = analyze(parse(f"input: {h}x{w}x{c}\n{rest}"), include_side=True)
    checks = verify(report, seed=0)
    assert [check.path for check in checks] == [r.path for r in report.rows]
    assert [(k.path, k.reference_shape, k.reference_macs) for k in checks] == [
        (k.path, k.engine_shape, k.engine_macs) for k in checks]
