"""The graph language: from:, merges as layers, several outputs, the issue's three graphs
(squeeze-and-excitation, a U-Net, an FPN), block arguments, conditions and formulas over the
input shape, compound scaling, and every graph error with its location.

Every expected number is worked out by hand in the comments beside it.
"""

import textwrap
from pathlib import Path

import pytest

from convcalc.analysis.report import NETWORK_INPUT, analyze
from convcalc.analysis.summary import memory
from convcalc.analysis.variants import to_separable, to_standard, with_width
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import load, parse, scale_names
from convcalc.graph.architecture import Architecture, Node, chain
from convcalc.graph.layers import Add, Conv, Mul, Pool
from convcalc.graph.shapes import Shape

DATA = Path(__file__).parent / "data"


def net(text: str, file: str = "net.yaml", **options: object) -> Architecture:
    return parse(textwrap.dedent(text), file=file, **options)  # type: ignore[arg-type]


def rows(text: str, **options: object) -> dict[str, object]:
    return {r.path: r for r in analyze(net(text, **options)).rows}


def err(text: str, **options: object) -> str:
    with pytest.raises(ConvcalcError) as info:
        analyze(net(text, "bad.yaml", **options))
    return str(info.value)


# -- the issue's three graphs ----------------------------------------------------------------


def test_squeeze_and_excitation_with_mul_and_from() -> None:
    report = analyze(load(DATA / "graph_se.yaml"))
    by = {r.path: r for r in report.rows}
    # stem 3x3, 16 -> 16, no bias: 3*3*16*16 = 2,304 params; 8*8*16 outputs * 144 = 147,456
    # se.fc1 1x1 16 -> 4 with bias: 64 + 4 = 68; se.fc2 1x1 4 -> 16 (filters: in.c): 64 + 16 = 80
    # head 1x1 16 -> 8, no bias: 128 params, 8*8*8*16 = 8,192 macs
    assert report.totals.params == 2304 + 68 + 80 + 128
    assert report.totals.macs == 147456 + 16 * 4 + 4 * 16 + 8192
    scale = by["se.scale"]
    assert scale.input_shapes == (Shape(8, 8, 16), Shape(1, 1, 16))  # the block input, the gate
    assert scale.output == Shape(8, 8, 16)
    assert scale.other_ops == 8 * 8 * 16  # one multiply per output element
    # the gate's input is the stem: `in` is the block's input
    assert report.rows[scale.inputs[0]].path == "stem"
    assert report.rows[scale.inputs[1]].path == "se.gate"
    assert report.rows[by["head"].inputs[0]].path == "se.scale"
    # receptive field: stem 3x3 sees 3 pixels (jump 1); the pool sees all: 3 + (8 - 1)*1 = 10
    # with jump 8. The gated tensor sees what the gate saw, but its positions still step by 1
    # (a broadcast 1x1 gate does not set the jump).
    assert by["se.pool"].receptive_field == (10, 10) and by["se.pool"].jump == (8, 8)
    assert by["se.scale"].receptive_field == (10, 10) and by["se.scale"].jump == (1, 1)


def test_two_level_unet_with_conv_transpose_and_concat_long_skips() -> None:
    report = analyze(load(DATA / "graph_unet.yaml"))
    by = {r.path: r for r in report.rows}
    # enc1 16x16x8: 3*3*3*8 = 216 params, 16*16*8*27 = 55,296 macs
    # enc2 8x8x16: 9*8*16 = 1,152; 8*8*16*72 = 73,728.  mid 4x4x32: 4,608; 4*4*32*144 = 73,728
    # up2: (4 - 1)*2 + 1*(2 - 1) + 1 = 8 -> 8x8x16; params 32*16*2*2 = 2,048;
    #      macs = h_in*w_in*c_in*(c_out/groups)*fh*fw = 4*4*32*16*4 = 32,768
    # cat2 8x8x32; dec2: 9*32*16 = 4,608 params, 8*8*16*288 = 294,912 macs
    # up1 16x16x8: 16*8*4 = 512 params, 8*8*16*8*4 = 32,768 macs; cat1 16x16x16 (long skip)
    # dec1: 9*16*8 = 1,152; 16*16*8*144 = 294,912.  head 1x1 8 -> 2 + bias: 18; 16*16*2*8 = 4,096
    assert by["up2"].output == Shape(8, 8, 16) and by["up1"].output == Shape(16, 16, 8)
    assert by["cat1"].output == Shape(16, 16, 16)
    assert [report.rows[i].path for i in by["cat1"].inputs] == ["up1", "enc1"]
    assert report.totals.params == 216 + 1152 + 4608 + 2048 + 4608 + 512 + 1152 + 18 == 14314
    assert report.totals.macs == (55296 + 73728 + 73728 + 32768 + 294912 + 32768 + 294912
                                  + 4096) == 862208


def test_fpn_top_down_upsample_and_add_with_three_outputs() -> None:
    arch = load(DATA / "graph_fpn.yaml")
    assert arch.outputs == ("p2", "p3", "lat4")
    report = analyze(arch)
    by = {r.path: r for r in report.rows}
    # c2 16x16x8: 216 params, 55,296 macs; c3 8x8x16: 1,152, 73,728; c4 4x4x32: 4,608, 73,728
    # lat4 1x1 32 -> 16 + bias: 528, 4*4*16*32 = 8,192; lat3 16 -> 16: 272, 8*8*16*16 = 16,384
    # lat2 8 -> 16: 144, 16*16*16*8 = 32,768
    assert report.totals.params == 216 + 1152 + 4608 + 528 + 272 + 144 == 6920
    assert report.totals.macs == 55296 + 73728 + 73728 + 8192 + 16384 + 32768 == 260096
    assert by["up4"].output == Shape(8, 8, 16)  # scale 2: floor(4 * 2)
    assert by["up3"].output == Shape(16, 16, 16)  # the size of its second input, lat2
    assert by["up3"].input_shapes == (Shape(8, 8, 16), Shape(16, 16, 16))
    # other ops: biases 4*4*16 + 8*8*16 + 16*16*16 = 5,376; adds 8*8*16 + 16*16*16 = 5,120
    assert report.totals.other_ops == 5376 + 5120
    assert [report.rows[i].path for i in report.outputs] == ["p2", "p3", "lat4"]


def test_declared_outputs_stay_alive_to_the_end() -> None:
    # input 4x4x1 (16), a = conv(input) 4x4x2 (32), b = conv(input) (32), c = add(a, b) (32);
    # outputs [a, c]: a is read by c and is an output, so it lives to the end.
    text = """
        input: 4x4x1
        layers:
          - conv: {name: a, filters: 2, kernel: 1}
          - conv: {name: b, from: input, filters: 2, kernel: 1}
          - add: {name: c, from: [a, b]}
        outputs: [a, c]
        """
    mem = memory(analyze(net(text)))
    # step a: input + a = 48 elements; step b: input + a + b = 80; step c: a + b + c = 96
    assert mem.live_bytes == (48 * 4, 80 * 4, 96 * 4)
    assert mem.peak_bytes == 384 and mem.peak_at == "c"


# -- from: -------------------------------------------------------------------------------------


def test_from_reads_earlier_layers_by_relative_and_absolute_path() -> None:
    text = """
        input: 8x8x4
        blocks:
          pair:
            layers:
              - conv: {name: a, filters: 4, kernel: 1}
              - conv: {name: b, from: in, filters: 4, kernel: 1}
              - add: {name: sum, from: [a, b]}
        layers:
          - conv: {name: stem, filters: 4, kernel: 1}
          - pair: {name: p}
          - conv: {name: side_in, from: stem, filters: 4, kernel: 1}
          - add: {name: out, from: [p.a, p, side_in]}
        """
    arch = net(text)
    inputs = {n.path: n.inputs for n in arch.nodes}
    assert inputs["p.a"] == ("stem",)  # the block's first layer reads the block input
    assert inputs["p.b"] == ("stem",)  # `in` is the block's input
    assert inputs["p.sum"] == ("p.a", "p.b")  # relative names inside the block
    assert inputs["side_in"] == ("stem",)
    assert inputs["out"] == ("p.a", "p.sum", "side_in")  # a block's path is its last tensor
    out = {r.path: r for r in analyze(arch).rows}["out"]
    assert out.other_ops == 2 * 8 * 8 * 4  # three inputs: two additions per element


def test_from_input_and_a_layer_that_continues_from_the_named_one() -> None:
    by = rows("""
        input: 6x6x2
        layers:
          - conv: {name: a, filters: 3, kernel: 3}
          - conv: {name: b, from: input, filters: 5, kernel: 1}
          - relu: {name: r}
          - concat: {name: both, from: [r, b]}
        outputs: [a, both]
        """)
    assert by["a"].output == Shape(4, 4, 3)  # type: ignore[attr-defined]
    assert by["b"].input == Shape(6, 6, 2)  # type: ignore[attr-defined]  # not a's 4x4x3
    assert by["r"].input == Shape(6, 6, 5)  # type: ignore[attr-defined]  # continues from b
    assert by["both"].output == Shape(6, 6, 10)  # type: ignore[attr-defined]


def test_a_layer_no_output_depends_on_is_an_error() -> None:
    text = """
        input: 6x6x2
        layers:
          - conv: {name: a, filters: 3, kernel: 3}
          - conv: {name: b, from: input, filters: 5, kernel: 1}
        """
    assert err(text).startswith(
        "bad.yaml:4: layer 'a' (conv): no output depends on this layer; read it with "
        "'from:', list it under 'outputs:', or remove it")
    # listing it as an output makes it count: 3*3*2*3 + 3 = 57 params, plus b's 2*5 + 5 = 15
    report = analyze(net(textwrap.dedent(text) + "outputs: [a, b]\n"))
    assert report.totals.params == 57 + 15


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ("  - relu: {name: a, from: nope}\n",
         "bad.yaml:3: layer 'a' (relu): reads 'nope', which is no layer before it"),
        ("  - relu: {name: a, from: b}\n  - relu: {name: b}\n",
         "bad.yaml:3: layer 'a' (relu): reads 'b', which comes later; a layer may read only "
         "layers before it (a cycle is not a network)"),
        ("  - relu: {name: a, from: a}\n",
         "bad.yaml:3: layer 'a' (relu): reads 'a', which comes later"),
        ("  - relu: {name: stem}\n  - relu: {name: a, from: stme}\n",
         "bad.yaml:4: layer 'a' (relu): reads 'stme', which is no layer before it; did you "
         "mean 'stem'?"),
        ("  - add: {name: a, from: [input]}\n",
         "bad.yaml:3: layer 'a' (add): reads at least 2 tensors, not 1"),
        ("  - relu: {name: a, from: [input, input]}\n",
         "bad.yaml:3: layer 'a' (relu): reads 2 tensors; 'relu' reads one"),
        ("  - split: {name: s, sections: 2}\n  - relu\n",
         "bad.yaml:4: layer '1' (relu): follows a split; say which section it reads"),
        ("  - split: {name: s, sections: 2}\n  - relu: {from: s}\n",
         "bad.yaml:4: layer '1' (relu): reads the split 's' itself; read one of its sections"),
        ("  - split: {name: s, sections: [2, 3]}\n  - concat: {from: [s.0, s.1]}\n",
         "bad.yaml:3: layer 's.0' (channel_slice): split sections add up to 5 channels, but "
         "the input has 4; make them add up to 4"),
        ("  - split: {name: s, sections: 3}\n  - concat: {from: [s.0, s.1, s.2]}\n",
         "bad.yaml:3: layer 's.0' (channel_slice): cannot split 4 channels into 3 equal "
         "sections"),
        ("  - relu: {name: input}\n",
         "bad.yaml:3: name 'input' must be a word (letters, digits, _) or a whole number, "
         "other than input and in"),
        ("  - relu: {from: 3.5}\n",
         "bad.yaml:3: layer '0' (relu): from 3.5 must name a layer path"),
        ("  - conv: {name: c, filters: 4, kernel: 1}\n"
         "  - side: {name: aux, layers: [{conv: {name: x, filters: 2, kernel: 1}}]}\n"
         "  - add: {name: a, from: [c, aux.x]}\n",
         "bad.yaml:5: layer 'a' (add): reads 'aux.x' from a side branch"),
        ("  - mul: {name: m, from: [input, g]}\n",
         "bad.yaml:3: layer 'm' (mul): reads 'g', which is no layer before it"),
    ],
    ids=["unknown", "later", "self", "typo", "one-input-add", "two-input-relu", "after-split",
         "split-itself", "split-sum", "split-equal", "reserved-name", "bad-from", "reads-side",
         "unknown-in-list"],
)
def test_graph_errors_are_located(layers: str, expected: str) -> None:
    assert err("input: 4x4x4\nlayers:\n" + layers).startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("input: 4x4x4\nlayers: []\n",
         "bad.yaml:2: has no layers outside side branches"),
        ("input: 4x4x4\nlayers:\n  - side: {layers: [relu]}\n",
         "bad.yaml:2: has no layers outside side branches"),
        ("input: 4x4x4\nlayers: [relu]\noutputs: [nope]\n",
         "bad.yaml:3: output 'nope' is no layer of this network"),
        ("input: 4x4x4\nlayers: [relu, {side: {name: s, layers: [relu]}}]\noutputs: [s]\n",
         "bad.yaml:3: output 's.0' is in a side branch"),
    ],
    ids=["empty", "side-only", "unknown-output", "side-output"],
)
def test_network_level_errors(text: str, expected: str) -> None:
    assert err(text).startswith(expected)


# -- mul ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shapes", "out"),
    [
        ((Shape(7, 5, 3), Shape(1, 1, 3)), Shape(7, 5, 3)),  # a channel gate
        ((Shape(1, 1, 3), Shape(7, 5, 3)), Shape(7, 5, 3)),  # in either order
        ((Shape(7, 5, 3), Shape(7, 5, 1)), Shape(7, 5, 3)),  # a spatial map
        ((Shape(7, 5, 3), Shape(7, 5, 3)), Shape(7, 5, 3)),  # equal shapes
        ((Shape(7, 1, 3), Shape(7, 5, 3)), Shape(7, 5, 3)),  # a row, as torch broadcasts
        ((Shape(3), Shape(7, 5, 3)), Shape(7, 5, 3)),  # a vector, aligned from the last dim
    ],
)
def test_mul_broadcasts_a_gate_or_a_map(shapes: tuple[Shape, Shape], out: Shape) -> None:
    cost = Mul().cost(shapes)
    assert cost.output == out
    assert cost.other_ops == 7 * 5 * 3 and cost.params == cost.macs == 0


@pytest.mark.parametrize("other", [Shape(1, 1, 4), Shape(5, 7, 1), Shape(2, 5, 3)])
def test_mul_refuses_other_mismatches(other: Shape) -> None:
    with pytest.raises(ConvcalcError, match=r"cannot multiply 7x5x3 by .*: mul takes equal "
                                            r"shapes, a 1x1x3 gate or a 7x5x1 map"):
        Mul().cost((Shape(7, 5, 3), other))


# -- block arguments, conditions and formulas --------------------------------------------------


MBCONV = """
input: 16x16x16
channel_divisor: 8
blocks:
  mb:
    args: {out: ~, t: 1, stride: 1, se: false, act: relu6, mid: 'make_divisible(in.c * t, 8)'}
    layers:
      - if: t != 1
        pointwise: {name: expand, filters: mid, bias: false}
      - if: t != 1
        act: {name: expand_act}
      - depthwise: {name: dw, kernel: 3, stride: stride, padding: 1, bias: false}
      - act: {name: dw_act}
      - if: se
        group:
          name: se
          layers:
            - global_avgpool
            - conv: {filters: 'max(8, make_divisible(in.c // 4, 8))', kernel: 1}
            - relu
            - conv: {filters: in.c, kernel: 1}
            - hardsigmoid: {name: gate}
            - mul: {from: [in, gate]}
      - pointwise: {name: project, filters: out, bias: false}
    shortcut: if_same
layers:
"""


def test_conditional_layers_kind_arguments_and_input_formulas() -> None:
    by = rows(MBCONV + "  - mb: {name: a, out: 16}\n"
                       "  - mb: {name: b, out: 24, t: 6, stride: 2, se: true, act: hardswish}\n")
    # a: t = 1, so no expansion; relu6 after the depthwise; the shapes agree, so the add stays
    assert "a.expand" not in by and by["a.dw_act"].kind == "relu6"
    assert by["a.add"].output == Shape(16, 16, 16)
    # b: mid = make_divisible(16 * 6, 8) = 96; the activation argument is hardswish
    assert by["b.expand"].output == Shape(16, 16, 96) and by["b.expand_act"].kind == "hardswish"
    assert by["b.expand"].params == 16 * 96
    # se squeeze: max(8, make_divisible(96 // 4, 8)) = 24; excite back to in.c = 96 (the
    # group's input is the depthwise activation, 8x8x96)
    assert by["b.se.1"].output == Shape(1, 1, 24) and by["b.se.1"].params == 96 * 24 + 24
    assert by["b.se.3"].output == Shape(1, 1, 96) and by["b.se.3"].params == 24 * 96 + 96
    assert by["b.se.5"].output == Shape(8, 8, 96)
    # stride 2 changes the shape, so 'if_same' leaves the add out
    assert "b.add" not in by and by["b.project"].output == Shape(8, 8, 24)


def test_input_formulas_follow_the_width_multiplier() -> None:
    arch = net(MBCONV + "  - conv: {name: stem, filters: 32, kernel: 1}\n"
                        "  - mb: {name: b, out: 24, t: 6, se: true}\n")
    by = {r.path: r for r in analyze(with_width(arch, 0.5)).rows}
    # stem 32 * 0.5 = 16; mid = make_divisible(16 * 6, 8) = 96 (computed from the scaled input)
    assert by["stem"].output.c == 16 and by["b.expand"].output.c == 96
    # project 24 * 0.5 = 12 -> make_divisible(12, 8) = 16; the squeeze follows its input
    assert by["b.project"].output.c == 16 and by["b.se.1"].output.c == 24


def test_argument_defaults_are_formulas_over_earlier_arguments() -> None:
    by = rows("""
        input: 8x8x8
        blocks:
          bottleneck:
            args: {out: ~, mid: out // 4, k: 'mid // 2 * 2 + 1'}
            layers:
              - conv: {name: reduce, filters: mid, kernel: 1}
              - conv: {name: conv, filters: mid, kernel: k, padding: same}
              - conv: {name: expand, filters: out, kernel: 1}
        layers:
          - bottleneck: {name: a, out: 32}
          - bottleneck: {name: b, out: 32, mid: 4}
        """)
    # a: mid = 32 // 4 = 8, k = 8 // 2 * 2 + 1 = 9; b: mid = 4, k = 5
    assert by["a.reduce"].output.c == 8 and by["a.conv"].window.kernel == (9, 9)  # type: ignore[attr-defined]
    assert by["b.reduce"].output.c == 4 and by["b.conv"].window.kernel == (5, 5)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("formula", "value"),
    [("ceil(7 / 2)", 4), ("floor(7 / 2)", 3), ("round(2.5)", 2), ("round(3.5)", 4),
     ("make_divisible(30, 8)", 32), ("make_divisible(20, 8)", 24), ("make_divisible(3, 8)", 8),
     ("make_divisible(30, 8, 16)", 32), ("min(3, 9, 5)", 3), ("max(3, 9)", 9)],
)
def test_formula_functions(formula: str, value: int) -> None:
    # make_divisible(20, 8): int(20 + 4) // 8 * 8 = 24; (30, 8): 34 // 8 * 8 = 32;
    # (3, 8): at least the divisor; Python's round is half to even (torchvision's int(round())).
    by = rows(f"input: 4x4x1\nlayers:\n  - conv: {{name: c, filters: '{formula}', kernel: 1}}\n")
    assert by["c"].output.c == value  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'min(c)'", "'min(c)': min() takes 2 to 64 arguments, not 1"),
        ("'max(8)'", "'max(8)': max() takes 2 to 64 arguments, not 1"),
        ("'min(8, c)'", "'min(8, c)' uses parameter 'c' = nan, which is not a finite number"),
        ("thirty-two", "'thirty-two' is neither a number nor a formula"),
        ("'in.q'", "'in.q' reads 'in.q'; the block input has in.c, in.h and in.w"),
        ("'1000000000 * 1000000000'",
         "'1000000000 * 1000000000' = 1000000000000000000 is too large"),
    ],
    ids=["min-one", "max-one", "nan", "words", "bad-dim", "too-large"],
)
def test_formula_errors_are_located(value: str, expected: str) -> None:
    text = ("input: 4x4x1\nblocks:\n  b:\n    args: {c: .nan}\n    layers:\n"
            f"      - conv: {{name: x, filters: {value}, kernel: 1}}\n"
            "layers:\n  - b: {name: n}\n")
    assert err(text).startswith(f"bad.yaml:6: layer 'n.x' (conv): {expected}")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("  - if: 1\n    relu: {}\n", "bad.yaml:3: if 1 must be true, false or a formula"),
        ("  - if: in.c > 2\n    relu: {}\n", "bad.yaml:3: if 'in.c > 2' reads the input shape"),
        ("  - if: '3 + 1'\n    relu: {}\n", "bad.yaml:3: '3 + 1' = 4 must be true or false"),
        ("  - repeat: in.c\n    relu: {}\n", "bad.yaml:3: repeat 'in.c' reads the input shape"),
        ("  - scale_repeat: false\n    relu: {}\n", "bad.yaml:3: 'scale_repeat' goes with"),
    ],
    ids=["number", "shape", "arithmetic", "repeat-shape", "scale-repeat-alone"],
)
def test_condition_and_repeat_errors(item: str, expected: str) -> None:
    assert err("input: 4x4x4\nlayers:\n" + item + "  - relu\n").startswith(expected)


def test_conditions_read_words_and_booleans() -> None:
    text = """
        input: 4x4x4
        blocks:
          b:
            args: {act: relu, norm: true}
            layers:
              - if: norm
                batchnorm: {name: bn}
              - if: act == 'relu' and not norm
                relu: {name: r}
              - if: act != 'relu' or norm
                sigmoid: {name: s}
        layers:
          - b: {name: x}
          - b: {name: y, norm: false}
        """
    assert list(rows(text)) == ["x.bn", "x.s", "y.r"]


# -- compound scaling --------------------------------------------------------------------------


SCALED = """
name: eff
input: 8x8x8
scales:
  b0: {}
  b1: {depth: 1.1, input: 10}
  b2: {width: 2, depth: 1.2, input: 12x10}
layers:
  - repeat: 2
    conv: {name: a, filters: 8, kernel: 1}
  - repeat: 3
    conv: {name: b, filters: 8, kernel: 1}
  - repeat: 2
    scale_repeat: false
    relu: {name: c}
"""


def test_depth_multiplier_rounds_repeats_up_and_respects_opt_out() -> None:
    arch = net(SCALED, depth=1.1)
    counts = {p: sum(1 for n in arch.nodes if n.path.startswith(p + ".")) for p in "abc"}
    # ceil(2 * 1.1) = 3, ceil(3 * 1.1) = ceil(3.3000000000000003) = 4; c opts out
    assert counts == {"a": 3, "b": 4, "c": 2}
    assert {p: sum(1 for n in net(SCALED, depth=0.5).nodes if n.path.startswith(p + "."))
            for p in "abc"} == {"a": 1, "b": 2, "c": 2}  # ceil(1.0), ceil(1.5)


def test_named_scales_set_width_depth_and_input() -> None:
    b0, b1, b2 = (net(SCALED, scale=s) for s in ("b0", "b1", "b2"))
    assert (b0.name, b0.input, len(b0.nodes)) == ("eff_b0", Shape(8, 8, 8), 2 + 3 + 2)
    assert (b1.input, len(b1.nodes)) == (Shape(10, 10, 3), 3 + 4 + 2)  # input 10: 10x10x3
    # b2: depth 1.2: ceil(2.4) = 3, ceil(3.6) = 4; width 2: 16 filters
    assert b2.input == Shape(12, 10, 3) and b2.width == 2.0
    assert {n.layer.filters for n in b2.nodes if isinstance(n.layer, Conv)} == {16}
    assert err(SCALED, scale="b7").startswith(
        "bad.yaml:4: has no scale 'b7'; its scales: b0, b1, b2")


def test_scales_are_found_by_name_and_path(tmp_path: Path) -> None:
    (tmp_path / "eff.yaml").write_text(SCALED)
    assert load(f"{tmp_path / 'eff.yaml'}:b1").name == "eff_b1"
    with pytest.raises(ConvcalcError, match=r"eff\.yaml:4: has no scale 'b3'; its scales"):
        load(f"{tmp_path / 'eff.yaml'}:b3")


def test_scale_names_are_the_files_scales_in_its_order(tmp_path: Path) -> None:
    (tmp_path / "eff.yaml").write_text(SCALED)
    (tmp_path / "plain.yaml").write_text("input: 8x8x3\nlayers: [relu]\n")
    (tmp_path / "bad.yaml").write_text("input: 8x8x3\nscales: [b0]\nlayers: [relu]\n")
    assert scale_names(tmp_path / "eff.yaml") == ("b0", "b1", "b2")
    assert scale_names(tmp_path / "plain.yaml") == ()
    with pytest.raises(ConvcalcError, match=r"bad\.yaml:2: 'scales' must be a mapping"):
        scale_names(tmp_path / "bad.yaml")


# -- rewrites on graphs ------------------------------------------------------------------------


GRAPH = """
input: 8x8x4
layers:
  - conv: {name: stem, filters: 8, kernel: 3, padding: 1}
  - conv: {name: a, filters: 8, kernel: 3, padding: 1}
  - conv: {name: b, from: stem, filters: 8, kernel: 5, padding: 2}
  - add: {name: sum, from: [a, b]}
  - depthwise: {name: dwx, kernel: 3, padding: 1, bias: false}
"""


def test_separable_conversion_redirects_readers_of_split_layers() -> None:
    arch = net(GRAPH + "  - relu\n")
    split = to_separable(arch).arch
    inputs = {n.path: n.inputs for n in split.nodes}
    # the stem stays; a and b split, and the add reads their pointwise halves
    assert "stem" in inputs and inputs["b.dw"] == ("stem",)
    assert inputs["sum"] == ("a.pw", "b.pw")
    before, after = analyze(arch), analyze(split)
    assert after.rows[-1].output == before.rows[-1].output
    # a: 3*3*8*8 = 576 macs per position -> dw 9*8 + pw 8*8 = 136; b: 25*8*8 = 1,600 -> 264
    assert before.totals.macs - after.totals.macs == 8 * 8 * ((576 - 136) + (1600 - 264))


def test_standard_conversion_fuses_only_private_pairs() -> None:
    text = """
        input: 8x8x4
        layers:
          - group:
              name: p
              layers:
                - depthwise: {name: dw, kernel: 3, padding: 1, bias: false}
                - batchnorm
                - pointwise: {name: pw, filters: 8}
          - group:
              name: q
              layers:
                - depthwise: {name: dw, kernel: 3, padding: 1, bias: false, multiplier: 2}
                - pointwise: {name: pw, filters: 16}
          - add: {name: sum, from: [q.dw, q.pw]}
        """
    conversion = to_standard(net(text))
    paths = [n.path for n in conversion.arch.nodes]
    # p's pair fuses into 'p' (the batch norm between goes); q's depthwise is also read by the
    # add, so q stays as it is
    assert paths == ["p", "q.dw", "q.pw", "sum"]
    assert dict(conversion.changed) == {"p": "depthwise+pointwise"}
    assert {n.path: n.inputs for n in conversion.arch.nodes}["q.dw"] == ("p",)


def test_separable_with_stem_never_repeats_a_path() -> None:
    # a block 'c' holds a layer 'dw', so splitting the conv 'c' into c.dw + c.pw would clash:
    # it stays whole.
    text = """
        input: 8x8x4
        blocks:
          one:
            layers: [{depthwise: {name: dw, kernel: 3, padding: 1}}]
        layers:
          - conv: {name: c, filters: 8, kernel: 3, padding: 1}
          - one: {name: c}
        """
    arch = to_separable(net(text), include_stem=True).arch
    paths = [r.path for r in analyze(arch).rows]
    assert paths == ["c", "c.dw"] and len(set(paths)) == len(paths)


def test_conversions_and_width_on_the_issue_graphs() -> None:
    for name in ("graph_se", "graph_unet", "graph_fpn"):
        arch = load(DATA / f"{name}.yaml")
        original = analyze(arch)
        split = analyze(to_separable(arch, include_stem=True).arch)
        assert [split.rows[i].output for i in split.outputs] == [
            original.rows[i].output for i in original.outputs]
        back = analyze(to_standard(to_separable(arch, include_stem=True).arch).arch)
        assert (back.totals.params, back.totals.macs) == (original.totals.params,
                                                          original.totals.macs)
        assert analyze(with_width(arch, 2)).totals.params > original.totals.params


# -- the graph built directly ------------------------------------------------------------------


def test_architecture_checks_a_graph_built_in_python() -> None:
    conv = Conv(filters=2, kernel=(1, 1))
    nodes = (*chain([("a", conv), ("b", conv)]), Node("c", None, Add(), ("a", "b")))
    arch = Architecture("g", "", "", Shape(4, 4, 2), nodes, "")
    assert arch.outputs == ("c",)
    report = analyze(arch)
    assert report.rows[2].inputs == (0, 1) and report.rows[0].inputs == (NETWORK_INPUT,)
    with pytest.raises(ConvcalcError, match=r"layer 'a' \(conv\): reads 'b', which comes later"):
        Architecture("g", "", "", Shape(4, 4, 2), (Node("a", None, conv, ("b",)),
                                                   Node("b", None, conv, ("input",))), "")
    with pytest.raises(ConvcalcError, match=r"layer 'a' \(maxpool\): the path is used twice"):
        pool = Pool(kind="maxpool", kernel=(2, 2))
        Architecture("g", "", "", Shape(4, 4, 2), (Node("a", None, pool, ("input",)),
                                                   Node("a", None, pool, ("a",))), "")


def test_ten_thousand_nested_paths_walk_without_recursion() -> None:
    # 3,000 residuals in a row and 60 block levels: the walks are loops, not recursion.
    text = "input: 4x4x2\nlayers:\n" + "".join(
        "  - residual: {layers: [relu], shortcut: identity}\n" for _ in range(3000))
    assert len(analyze(net(text)).rows) == 6000
    blocks = "".join(f"  b{i}:\n    layers: [{{b{i + 1}: {{}}}}]\n" for i in range(60))
    deep = f"input: 4x4x2\nblocks:\n{blocks}  b60:\n    layers: [relu]\nlayers: [b0]\n"
    assert [r.path for r in analyze(net(deep)).rows] == ["0" + ".0" * 61]


def test_the_documented_mbconv_block() -> None:
    # The block of the architecture language page (docs/language.md), on 32x32x16. Block
    # a: t = 1 (no expansion), 3x3 stride 1, SE squeeze max(1, 16 // 4) = 4, residual add
    # (shapes agree).
    # b: expand 16 -> make_divisible(96, 8) = 96: 16*96 = 1,536 params, 32*32*96*16 macs;
    # depthwise 5x5 stride 2 'same' on 32 -> 16: 25*96 = 2,400 params, 16*16*96*25 macs;
    # SE squeeze max(1, 16 // 4) = 4 (the block input's channels, not the expanded ones):
    # 96*4 + 4 = 388 and 4*96 + 96 = 480 params; project 96 -> 24: 2,304 params.
    by = {r.path: r for r in analyze(load(DATA / "graph_mbconv.yaml")).rows}
    assert "a.expand" not in by and "a.add" in by and "b.add" not in by
    assert by["a.se.1"].params == 16 * 4 + 4 and by["a.se.3"].params == 4 * 16 + 16
    assert by["b.expand"].params == 1536 and by["b.expand"].macs == 32 * 32 * 96 * 16
    assert by["b.dw"].params == 2400 and by["b.dw"].macs == 16 * 16 * 96 * 25
    assert (by["b.se.1"].params, by["b.se.3"].params) == (388, 480)
    assert by["b.project"].params == 2304 and by["b.se.5"].output == Shape(16, 16, 96)
    assert by["b.expand_act"].kind == "silu"


@pytest.mark.parametrize("name", ["graph_se", "graph_unet", "graph_fpn", "graph_mbconv"])
def test_verify_runs_the_graphs_in_the_numpy_reference(name: str) -> None:
    from convcalc.reference import RUNNERS, verify

    report = analyze(load(DATA / f"{name}.yaml"))
    missing = {r.kind for r in report.rows} - set(RUNNERS)
    if missing:  # the reference branch adds these kernels
        pytest.skip(f"no numpy kernel yet for {', '.join(sorted(missing))}")
    checks = verify(report, seed=0)
    assert [(c.path, c.reference_shape, c.reference_macs) for c in checks] == [
        (r.path, r.output, r.macs) for r in report.rows]


def test_a_side_branch_reading_another_tensor_leaves_the_main_path_alone() -> None:
    by = rows("""
        input: 8x8x2
        layers:
          - conv: {name: a, filters: 4, kernel: 3, padding: 1}
          - conv: {name: b, filters: 6, kernel: 1}
          - side: {name: aux, from: a, layers: [global_avgpool, flatten, {dense: {units: 3}}]}
          - relu: {name: r}
        """)
    assert by["aux.0"].input == Shape(8, 8, 4)  # type: ignore[attr-defined]  # read from a
    assert by["aux.2"].side  # type: ignore[attr-defined]
    assert by["r"].input == Shape(8, 8, 6)  # type: ignore[attr-defined]  # continues from b


def test_from_under_first_reads_only_in_the_first_copy() -> None:
    arch = net("""
        input: 4x4x2
        layers:
          - conv: {name: stem, filters: 3, kernel: 1}
          - conv: {name: other, from: input, filters: 3, kernel: 1}
          - repeat: 3
            first: {from: stem}
            relu: {name: r}
          - add: {from: [r.2, other]}
        """)
    assert [n.inputs for n in arch.nodes if n.path.startswith("r.")] == [
        ("stem",), ("r.0",), ("r.1",)]


def test_an_argument_named_like_a_kind_does_not_replace_the_kind() -> None:
    by = rows("""
        input: 4x4x4
        blocks:
          b:
            args: {dropout: 0.25, act: gelu}
            layers:
              - act: {name: a}
              - dropout: {name: d, p: dropout}
        layers:
          - b: {name: x}
        """)
    assert by["x.a"].kind == "gelu" and by["x.d"].layer.p == 0.25  # type: ignore[attr-defined]
    assert err("input: 4x4x4\nblocks:\n  b:\n    args: {act: 3}\n    layers: [act]\n"
               "layers:\n  - b: {}\n").startswith(
        "bad.yaml:5: 'act' is used as a layer kind, but the argument is 3, not a kind or block "
        "name")


def test_the_cli_takes_a_depth_multiplier_and_scale_names(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from convcalc.cli import main

    (tmp_path / "eff.yaml").write_text(SCALED)
    runner = CliRunner()
    net_file = str(tmp_path / "eff.yaml")
    for command in (["analyze", "--format", "json"], ["report", "--format", "json"],
                    ["sweep", "--format", "json"], ["compare", "--format", "json"], ["verify"]):
        result = runner.invoke(main, [command[0], net_file, "--depth-multiplier", "1.1",
                                      *command[1:]])
        assert result.exit_code == 0, (command, result.output)
    import json

    result = runner.invoke(main, ["analyze", f"{tmp_path / 'eff.yaml'}:b1", "--format", "json"])
    layers = json.loads(result.output)["layers"]
    # b1: depth 1.1 -> 3 + 4 convolutions and the 2 fixed relus, on 10x10x3
    assert len(layers) == 9 and layers[0]["input"] == [10, 10, 3]
    result = runner.invoke(main, ["analyze", str(tmp_path / "eff.yaml"), "--depth-multiplier",
                                  "0"])
    assert result.exit_code == 2 and "depth multiplier 0 must be above 0" in result.output


def test_a_unet_skip_cropped_to_the_decoder() -> None:
    # valid 3x3 convolutions shrink 12 -> 10 -> 8; pool 8 -> 4; a 2x2/2 up-convolution gives
    # 8; the skip (10x10x4) is center-cropped to 8x8 and concatenated: 8x8x(4 + 4)
    by = rows("""
        input: 12x12x1
        layers:
          - conv: {name: e1, filters: 4, kernel: 3}
          - conv: {name: e2, filters: 4, kernel: 3}
          - maxpool: {kernel: 2}
          - conv_transpose: {name: up, filters: 4, kernel: 2, stride: 2}
          - crop: {name: skip, from: [e1, up]}
          - concat: {name: cat, from: [skip, up]}
        """)
    assert by["skip"].output == Shape(8, 8, 4)  # type: ignore[attr-defined]
    assert by["cat"].output == Shape(8, 8, 8)  # type: ignore[attr-defined]


def test_names_may_be_whole_numbers() -> None:
    # As exporters name an nn.Sequential's modules: layer1.0.conv, and a layer named 0 too.
    text = """
        input: 8x8x4
        layers:
          - group:
              name: layer1
              layers:
                - group:
                    name: 0
                    layers:
                      - conv: {name: conv, filters: 4, kernel: 3, padding: 1}
                      - relu: {name: "1"}
                - add: {name: 0, from: [in, layer1.0.1]}
        """
    assert [n.path for n in net(text).nodes] == ["layer1.0.conv", "layer1.0.1", "layer1.0"]
