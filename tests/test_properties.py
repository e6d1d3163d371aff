"""Properties of random valid architectures (sequences, blocks, residuals, branches, side
branches): analysis never fails, shapes stay positive, totals are the sums of rows, the rows are
a dataflow list, and converting to separable and back restores the costs."""

from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.analysis.report import NETWORK_INPUT, analyze
from convcalc.analysis.variants import to_separable, to_standard
from convcalc.formats.loader import parse


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


# -- graphs: layers reading any earlier layers -------------------------------------------------


@st.composite
def graphs(draw: st.DrawFn) -> str:
    """A random graph whose named tensors all have c channels at the input's size, so any two
    can be added, multiplied or concatenated (a concat is projected back to c); the outputs
    are exactly the tensors nothing reads, so every layer counts."""
    h, w, c = draw(st.integers(3, 12)), draw(st.integers(3, 12)), draw(st.integers(1, 6))
    names = ["input"]
    lines = []
    read: set[str] = set()
    for i in range(draw(st.integers(1, 12))):
        name = f"n{i}"
        a, b = (draw(st.sampled_from(names)) for _ in range(2))
        kind = draw(st.sampled_from(["conv", "relu", "add", "mul", "concat", "gate"]))
        if kind == "conv":
            k = draw(st.sampled_from([1, 3]))
            lines.append(f"  - conv: {{name: {name}, from: {a}, filters: {c}, kernel: {k}, "
                         "padding: same}")
            read.add(a)
        elif kind == "relu":
            lines.append(f"  - relu: {{name: {name}, from: {a}}}")
            read.add(a)
        elif kind in ("add", "mul"):
            lines.append(f"  - {kind}: {{name: {name}, from: [{a}, {b}]}}")
            read |= {a, b}
        elif kind == "concat":
            lines.append(f"  - concat: {{name: {name}_cat, from: [{a}, {b}]}}")
            lines.append(f"  - pointwise: {{name: {name}, filters: {c}}}")
            read |= {a, b}
        else:  # a squeeze-and-excitation gate on a
            lines += [f"  - global_avgpool: {{name: {name}_pool, from: {a}}}",
                      f"  - conv: {{name: {name}_fc, filters: {c}, kernel: 1}}",
                      f"  - sigmoid: {{name: {name}_gate}}",
                      f"  - mul: {{name: {name}, from: [{a}, {name}_gate]}}"]
            read.add(a)
        names.append(name)
    outputs = [n for n in names[1:] if n not in read]
    return (f"input: {h}x{w}x{c}\nlayers:\n" + "\n".join(lines)
            + f"\noutputs: [{', '.join(outputs)}]\n")


@settings(max_examples=150, deadline=None)
@given(text=graphs())
def test_random_graphs_count_what_the_outputs_depend_on(text: str) -> None:
    from convcalc.analysis.summary import memory

    arch = parse(text)
    report = analyze(arch)
    for field in ("params", "macs", "other_ops", "activations"):
        assert getattr(report.totals, field) == sum(getattr(r, field) for r in report.rows)
    # the rows are a dataflow list: every input made before it is read, with its shape
    for index, row in enumerate(report.rows):
        assert all(source < index for source in row.inputs)
        assert row.input_shapes == tuple(
            report.rows[s].output if s >= 0 else report.input for s in row.inputs)
    # every row is something an output depends on
    needed = set(report.outputs)
    for index in range(len(report.rows) - 1, -1, -1):
        if index in needed:
            needed |= set(report.rows[index].inputs)
    assert needed >= set(range(len(report.rows)))
    # the liveness peak holds at least one step's inputs and output, at most everything
    mem = memory(report)
    step = max(4 * (sum({s: (report.rows[s].activations if s >= 0 else report.input.elements)
                         for s in r.inputs}.values()) + r.activations) for r in report.rows)
    assert step <= mem.peak_bytes <= 4 * (report.input.elements + report.totals.activations)


@settings(max_examples=100, deadline=None)
@given(text=graphs())
def test_conversions_keep_the_shapes_of_graph_outputs(text: str) -> None:
    arch = parse(text)
    original = analyze(arch)
    split = to_separable(arch, include_stem=True).arch
    converted = analyze(split)
    assert [converted.rows[i].output for i in converted.outputs] == [
        original.rows[i].output for i in original.outputs]
    # the only 3x3 convolutions are standard ones, so back to standard restores the costs
    if not any(r.kind in ("depthwise",) for r in original.rows):
        back = analyze(to_standard(split).arch).totals
        assert (back.params, back.macs) == (original.totals.params, original.totals.macs)


@settings(max_examples=20, deadline=None)
@given(text=graphs())
def test_reference_agrees_with_the_engine_on_random_graphs(text: str) -> None:
    from convcalc.reference import verify

    report = analyze(parse(text))
    checks = verify(report, seed=0)
    assert [(k.path, k.reference_shape, k.reference_macs) for k in checks] == [
        (r.path, r.output, r.macs) for r in report.rows]
