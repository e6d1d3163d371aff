"""The YAML language: blocks, repeats, arithmetic, defaults, paths, and every error's location."""

import textwrap

import pytest

from convcalc.analysis.report import analyze
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import load, parse
from convcalc.graph.architecture import Node
from convcalc.graph.layers import Conv, Depthwise, Pointwise
from convcalc.graph.shapes import Shape


def arch(text: str, file: str = "net.yaml"):  # type: ignore[no-untyped-def]
    return parse(textwrap.dedent(text), file=file)


def paths(text: str) -> list[str]:
    return [r.path for r in analyze(arch(text)).rows]


def test_minimal_network_and_paths() -> None:
    net = arch("""
        name: tiny
        input: 32x32x1
        layers:
          - conv: {name: c1, filters: 6, kernel: 5}
          - relu
          - maxpool: {kernel: 2}
        """)
    assert net.name == "tiny"
    assert net.input == Shape(32, 32, 1)
    assert [n.path for n in net.nodes] == ["c1", "1", "2"]  # unnamed layers take their index
    assert net.nodes[0].line == 5
    # each layer reads the one before; the first reads the network input
    assert [n.inputs for n in net.nodes] == [("input",), ("c1",), ("1",)]
    assert net.outputs == ("2",)


def test_block_with_repeat_first_and_arithmetic() -> None:
    text = """
        input: 56x56x64
        defaults:
          conv: {bias: false}
        blocks:
          basic:
            args: {c: ~, stride: 1}
            layers:
              - conv: {name: conv1, filters: c * 2 // 2, kernel: 3, stride: stride, padding: 1}
              - conv: {name: conv2, filters: 'max(c, 8)', kernel: 3, padding: 1}
        layers:
          - repeat: 2
            first: {stride: 2}
            basic: {name: layer2, c: 128}
        """
    report = analyze(arch(text))
    assert [r.path for r in report.rows] == [
        "layer2.0.conv1", "layer2.0.conv2", "layer2.1.conv1", "layer2.1.conv2"]
    assert [r.output for r in report.rows] == [Shape(28, 28, 128)] * 4
    assert report.rows[0].window.stride == (2, 2)  # type: ignore[union-attr]
    assert report.rows[2].window.stride == (1, 1)  # type: ignore[union-attr]
    assert report.rows[0].params == 3 * 3 * 64 * 128  # bias off by default


def test_residual_block_with_auto_projection_matches_torchvision_layout() -> None:
    text = """
        input: 56x56x64
        defaults:
          conv: {bias: false}
        blocks:
          basic:
            args: {c: ~, stride: 1}
            layers:
              - conv: {name: conv1, filters: c, kernel: 3, stride: stride, padding: 1}
              - batchnorm: {name: bn1}
              - relu: {name: relu1}
              - conv: {name: conv2, filters: c, kernel: 3, padding: 1}
              - batchnorm: {name: bn2}
            shortcut: auto
            after: [relu]
        layers:
          - basic: {name: a, c: 64}
          - basic: {name: b, c: 128, stride: 2}
        """
    rows = analyze(arch(text)).rows
    names = [r.path for r in rows]
    # block a keeps the shape: identity shortcut, no downsample layers
    assert "a.downsample.0" not in names
    assert names[names.index("a.bn2") + 1] == "a.add"
    assert names[names.index("a.add") + 1] == "a.5"  # 'after' continues the block's numbering
    # block b halves the size and doubles the channels: 1x1 stride-2 projection + batch norm
    down = rows[names.index("b.downsample.0")]
    assert down.output == Shape(28, 28, 128)
    assert down.window.stride == (2, 2)  # type: ignore[union-attr]
    assert down.params == 64 * 128  # bias follows the conv default (off)
    assert rows[names.index("b.downsample.1")].params == 2 * 128
    add = rows[names.index("b.add")]
    assert [rows[i].path for i in add.inputs] == ["b.bn2", "b.downsample.1"]
    assert add.other_ops == 28 * 28 * 128


def test_inception_concat_and_side_branch() -> None:
    text = """
        input: 28x28x192
        layers:
          - concat:
              name: inception3a
              branches:
                b1: [{conv: {filters: 64, kernel: 1}}]
                b2:
                  - conv: {filters: 96, kernel: 1}
                  - conv: {filters: 128, kernel: 3, padding: same}
                b3:
                  - conv: {filters: 16, kernel: 1}
                  - conv: {filters: 32, kernel: 5, padding: same}
                b4:
                  - maxpool: {kernel: 3, stride: 1, padding: 1}
                  - conv: {filters: 32, kernel: 1}
          - side:
              name: aux
              layers: [global_avgpool, flatten, {dense: {units: 10}}]
          - conv: {name: after, filters: 8, kernel: 1}
        """
    report = analyze(arch(text))
    rows = {r.path: r for r in report.rows}
    assert rows["inception3a.concat"].output == Shape(28, 28, 64 + 128 + 32 + 32)
    assert rows["inception3a.b2.1"].output == Shape(28, 28, 128)
    assert rows["aux.2"].side and rows["aux.2"].params == 256 * 10 + 10
    assert rows["after"].input == Shape(28, 28, 256)  # the main path skips the side branch
    assert report.rows[-1].inputs == (report.rows.index(rows["inception3a.concat"]),)
    with_side = analyze(arch(text), include_side=True)
    assert with_side.totals.params - report.totals.params == 2570


def test_mobilenet_v2_style_if_same_shortcut() -> None:
    text = """
        input: 56x56x24
        blocks:
          inverted:
            args: {c: ~, t: 6, stride: 1}
            layers:
              - pointwise: {expansion: t, bias: false}
              - depthwise: {kernel: 3, stride: stride, padding: 1, bias: false}
              - pointwise: {filters: c, bias: false}
            shortcut: if_same
        layers:
          - inverted: {name: keep, c: 24}
          - inverted: {name: shrink, c: 32, stride: 2}
        """
    names = paths(text)
    assert "keep.add" in names
    assert "shrink.add" not in names and "shrink.downsample.0" not in names


def test_separable_shorthand_and_layer_objects() -> None:
    net = arch("""
        input: 6x6x3
        layers:
          - separable: {name: sep, filters: 5, kernel: 3, bias: false}
        """)
    dw, pw = net.nodes
    assert isinstance(dw.layer, Depthwise) and dw.path == "sep.dw"
    assert isinstance(pw.layer, Pointwise) and pw.path == "sep.pw" and pw.inputs == ("sep.dw",)
    assert analyze(net).totals.macs == 432 + 240


def test_explicit_shortcut_layers_and_inline_residual() -> None:
    net = arch("""
        input: 8x8x4
        layers:
          - residual:
              name: r
              layers: [{conv: {filters: 8, kernel: 3, padding: 1}}]
              shortcut: [{conv: {filters: 8, kernel: 1}}]
        """)
    # main conv, shortcut conv on the same input, and the add reading both
    assert [(n.path, n.inputs) for n in net.nodes] == [
        ("r.0", ("input",)), ("r.downsample.0", ("input",)),
        ("r.add", ("r.0", "r.downsample.0"))]
    assert [r.path for r in analyze(net).rows] == ["r.0", "r.downsample.0", "r.add"]


def test_non_square_input_and_list_forms() -> None:
    report = analyze(arch("""
        input: [48, 64, 3]
        layers:
          - conv: {filters: 4, kernel: [3, 5], stride: [1, 2], padding: [1, 2, 0, 0]}
        """))
    # h: 48 + 1 + 2 - 3 + 1 = 49; w: floor((64 - 5)/2) + 1 = 30
    assert report.rows[0].output == Shape(49, 30, 4)


def test_yaml_is_read_safely() -> None:
    with pytest.raises(ConvcalcError, match=r"^evil\.yaml:1: YAML tag 'tag:yaml.org,2002:python/"
                                            r"object/apply:os.system' is not allowed"):
        parse("!!python/object/apply:os.system ['echo hi']", file="evil.yaml")
    with pytest.raises(ConvcalcError, match=r"^evil\.yaml:3: YAML tag .*python/name:os.getcwd"):
        parse("input: 8x8x3\nlayers:\n  - relu: {name: !!python/name:os.getcwd ''}\n",
              file="evil.yaml")


def err(text: str) -> str:
    with pytest.raises(ConvcalcError) as info:
        analyze(arch(text, "bad.yaml"))
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernal: 3}\n",
         "bad.yaml:3: unknown key 'kernal' in a 'conv' layer; did you mean 'kernel'?"),
        ("input: 8x8x3\nlayers:\n  - conv2d: {filters: 4, kernel: 3}\n",
         "bad.yaml:3: unknown layer kind or block 'conv2d'; did you mean 'conv'?"),
        ("input: 8x8x3\nlayers:\n  - bn\n",
         "bad.yaml:3: unknown layer kind or block 'bn'; did you mean 'batchnorm'?"),
        ("input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel_size: 3}\n",
         "bad.yaml:3: unknown key 'kernel_size' in a 'conv' layer; did you mean 'kernel'?"),
        ("input: 8x8x3\nlayers:\n  - conv: {name: c, filters: 4, kernel: 9}\n",
         "bad.yaml:3: layer 'c' (conv): kernel 9 (dilation 1) is larger than the padded input "
         "8 + 0; use a smaller kernel or more padding"),
        ("input: 8x8x3\nlayers:\n  - conv: {name: c, filters: 4}\n",
         "bad.yaml:3: layer 'c' (conv): needs 'kernel'"),
        ("input: 8x8x3\nlayers:\n  - conv: {name: c, filters: -4, kernel: 3}\n",
         "bad.yaml:3: layer 'c' (conv): filters -4 must be between 1 and 10,000,000"),
        ("input: 8x8x3\nlayers:\n  - conv: {name: c, filters: four, kernel: 3}\n",
         "bad.yaml:3: layer 'c' (conv): 'four' uses undefined parameter 'four'"),
        ("input: 8x8x3\nlayers:\n  - depthwise: {name: d, kernel: 3, groups: 5}\n",
         "bad.yaml:3: unknown key 'groups' in a 'depthwise' layer"),
        ("input: 8x8x32\nlayers:\n  - conv: {name: dw, filters: 32, kernel: 3, groups: 5}\n",
         "bad.yaml:3: layer 'dw' (conv): groups=5 must divide input channels 32 and filters 32 "
         "(input 8x8x32)"),
        ("input: 8x8x3\nlayers:\n  - repeat: -1\n    relu: {}\n",
         "bad.yaml:3: repeat -1 must be between 1 and 10,000"),
        ("input: 8x8x3\nlayers:\n  - repeat: 1000000000\n    relu: {}\n",
         "bad.yaml:3: repeat 1000000000 must be between 1 and 10,000"),
        ("input: 8x8x3\nlayers:\n  - dense: {name: fc, units: 10}\n",
         "bad.yaml:3: layer 'fc' (dense): needs a flat input but gets 8x8x3; add 'flatten'"),
        ("input: 8x8x3\nlayers:\n  - flatten\n  - conv: {name: c, filters: 4, kernel: 1}\n",
         "bad.yaml:4: layer 'c' (conv): needs a spatial input (h x w x c) but gets the flat "
         "vector 192"),
        ("input: 8x8x3\nlayers: [relu]\nlayres: []\n",
         "bad.yaml:3: unknown key 'layres' in the architecture; did you mean 'layers'?"),
        ("layers: [relu]\n", "bad.yaml:1: needs a top-level 'input'"),
        ("input: 8xx8\nlayers: [relu]\n", "bad.yaml:1: input '8xx8' must be HxWxC"),
        ("", "bad.yaml: is empty"),
        ("input: [8, 8\n", "bad.yaml:2: not valid YAML"),
        ("input: 8x8x3\nlayers:\n  - relu: {name: a}\n  - relu: {name: a}\n",
         "bad.yaml:4: layer 'a' (relu): the path is used twice (also on line 3)"),
        ("input: 8x8x3\nlayers:\n  - concat:\n      name: mix\n      branches:\n"
         "        - [{conv: {filters: 4, kernel: 1}}]\n"
         "        - [{conv: {filters: 4, kernel: 3}}]\n",
         "bad.yaml:3: layer 'mix.concat' (concat): cannot concatenate 8x8x4 and 6x6x4: height "
         "and width differ; give every branch the same stride and 'same' padding"),
        ("input: 8x8x3\nlayers:\n  - conv: {name: c, filters: 4, kernel: 3, padding: sme}\n",
         "bad.yaml:3: layer 'c' (conv): padding 'sme' must be a number, 'same' or 'valid'; "
         "did you mean 'same'?"),
    ],
    ids=["unknown-key", "unknown-kind", "familiar-name", "pytorch-key", "kernel-too-big",
         "missing-key", "negative", "undefined-name", "hidden-key", "groups", "repeat-negative",
         "repeat-absurd", "dense-needs-flat", "conv-after-flatten", "top-key", "no-input",
         "bad-input", "empty", "bad-yaml", "duplicate-path", "concat-mismatch", "padding-typo"],
)
def test_errors_name_file_line_and_layer(text: str, expected: str) -> None:
    assert err(text).startswith(expected)


BLOCKS = """
input: 8x8x4
blocks:
  a:
    args: {c: ~}
    layers:
      - b: {c: c}
  b:
    args: {c: ~}
    layers:
      - a: {c: c}
  needs:
    args: {c: ~, k: 3}
    layers:
      - conv: {name: conv, filters: c, kernel: k, padding: same}
  res:
    layers:
      - conv: {name: conv, filters: 8, kernel: 3, padding: 1}
    shortcut: identity
layers:
"""


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("  - a: {name: x, c: 4}\n",
         "bad.yaml:11: layer 'x.0.0' (a): block 'a' uses itself (a -> b -> a)"),
        ("  - needs: {name: x}\n",
         "bad.yaml:21: layer 'x' (needs): block 'needs' needs argument 'c'"),
        ("  - needs: {name: x, c: 4, kk: 1}\n",
         "bad.yaml:21: unknown key 'kk' in a call of block 'needs'; did you mean 'k'?"),
        ("  - needs: {name: x, c: d * 2}\n",
         "bad.yaml:21: layer 'x' (needs): 'd * 2' uses undefined parameter 'd'"),
        ("  - needs: {name: x, c: 4, k: 2 / 0}\n",
         "bad.yaml:21: layer 'x' (needs): '2 / 0' divides by zero"),
        ("  - needs: {name: x, c: 4, k: __import__('os')}\n",
         "bad.yaml:21: layer 'x' (needs): '__import__('os')' may use only numbers"),
        ("  - needs: {name: x, c: 2.5}\n",
         "bad.yaml:15: layer 'x.conv' (conv): filters 2.5 must be a whole number"),
        ("  - res: {name: r}\n",
         "bad.yaml:21: layer 'r.add' (add): cannot add 8x8x8 and 8x8x4: shapes differ"),
    ],
    ids=["cycle", "missing-arg", "unknown-arg", "undefined-in-call", "divide-by-zero",
         "no-python", "not-whole", "identity-mismatch"],
)
def test_block_errors(call: str, expected: str) -> None:
    assert err(BLOCKS + call).startswith(expected)


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    with pytest.raises(ConvcalcError, match=r"more than 200,000 YAML values"):
        parse(bomb, file="bomb.yaml")


def test_load_errors_name_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConvcalcError, match=r"no file and no built-in architecture named "
                                            r"'resnet5'; did you mean 'resnet50'\?"):
        load("resnet5")
    with pytest.raises(ConvcalcError, match=r"missing\.yaml: cannot read"):
        load(tmp_path / "missing.yaml")
    with pytest.raises(ConvcalcError, match=r"is a directory"):
        load(tmp_path / "d.yaml") if (tmp_path / "d.yaml").mkdir() is None else None
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConvcalcError, match=r"bin\.yaml: is not UTF-8 text"):
        load(tmp_path / "bin.yaml")


def test_layer_objects_carry_their_fields() -> None:
    net = arch("""
        input: 8x8x4
        layers:
          - conv: {name: c, filters: 8, kernel: 3, stride: 2, padding: same, dilation: 1}
        """)
    (leaf,) = net.nodes
    assert isinstance(leaf, Node)
    assert leaf.layer == Conv(filters=8, kernel=(3, 3), stride=(2, 2), padding="same")


@pytest.mark.parametrize("depth", [65, 100_000], ids=["just-over", "crash-deep"])
def test_deep_nesting_is_refused_before_composing(depth: int) -> None:
    # 100,000 levels once crashed libyaml's recursive composer (a segfault, not an error).
    for text in ("[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth):
        # PyYAML 6.0.4 and later refuse it themselves; older ones reach convcalc's own check.
        with pytest.raises(ConvcalcError, match=r"^deep\.yaml:1: (is nested deeper than 64 "
                                                r"levels|not valid YAML: exceeded maximum "
                                                r"nesting depth)"):
            parse(text, file="deep.yaml")


@pytest.mark.parametrize(("written", "shape"), [
    ("64x48", Shape(64, 48, 3)), ("32", Shape(32, 32, 3)), ("8x8x1", Shape(8, 8, 1))])
def test_input_may_leave_out_the_channels_like_the_flag(written: str, shape: Shape) -> None:
    # As --input does: 'HxW' and one size 'N' are an RGB image (3 channels).
    assert arch(f"input: {written}\nlayers: [relu]\n").input == shape
