"""Tensors of any rank: the Shape record's views, every token, attention and generic tensor kind
against hand arithmetic, their located errors, and the YAML writer's round trip (the numpy
reference and the PyTorch export of every kind: test_verify.py, test_torch_writer.py)."""

import json
import textwrap

import pytest
from click.testing import CliRunner
from conftest import DATA, KIND_FILES

from convcalc.analysis.report import analyze
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import load, parse
from convcalc.formats.yaml_writer import write_yaml
from convcalc.graph.layers import LAYER_KINDS
from convcalc.graph.shapes import Shape


def test_one_record_with_named_views() -> None:
    image, tokens, vector = Shape(224, 224, 3), Shape(197, 768), Shape(1000)
    assert (str(image), str(tokens), str(vector)) == ("224x224x3", "197x768", "1000")
    assert image.hw == (224, 224) and image.c == 3 and image.is_image
    assert tokens.tokens == (197, 768) and tokens.c == 768 and tokens.h is None
    assert vector.is_flat and vector.c == 1000
    assert Shape(2, 3, 4, 5).as_list() == [2, 3, 4, 5] and Shape(2, 3, 4, 5).elements == 120
    assert Shape(197, 768) == Shape(197, 768) and Shape(197, 768) != Shape(768, 197)
    with pytest.raises(ConvcalcError, match=r"needs a spatial input .* but gets tokens 197x768; "
                                            r"add 'image' before it"):
        tokens.hw  # noqa: B018
    with pytest.raises(ConvcalcError, match=r"a tensor has 1 to 6 dims, not 7"):
        Shape(1, 1, 1, 1, 1, 1, 1)


def cost(kind: str, inputs: tuple[Shape, ...], **settings: object):  # type: ignore[no-untyped-def]
    layer = LAYER_KINDS[kind](kind=kind, **settings)  # type: ignore[call-arg]
    return layer.cost(inputs)


# (kind, settings, inputs, output, params, macs), each by hand.
CASES = [
    ("tokens", {}, (Shape(14, 14, 768),), Shape(196, 768), 0, 0),
    ("image", {}, (Shape(196, 768),), Shape(14, 14, 768), 0, 0),
    ("image", {"height": 2, "width": 8}, (Shape(16, 4),), Shape(2, 8, 4), 0, 0),
    ("class_token", {}, (Shape(196, 768),), Shape(197, 768), 768, 0),
    ("position_embedding", {}, (Shape(197, 768),), Shape(197, 768), 197 * 768, 0),
    ("select_token", {}, (Shape(197, 768),), Shape(768), 0, 0),
    # nn.MultiheadAttention: 4d² + 4d; 4·n·d² + 2·n²·d (torch's sdpa_flop_count / 2).
    ("attention", {"heads": 12}, (Shape(197, 768),), Shape(197, 768),
     4 * 768 ** 2 + 4 * 768, 4 * 197 * 768 ** 2 + 2 * 197 ** 2 * 768),
    # Swin: 56x56 in 7x7 windows: each of 3136 positions sees 49; the bias table 13² x 3.
    ("attention", {"heads": 3, "window_size": 7, "shift_size": 3, "position_bias": "table"},
     (Shape(56, 56, 96),), Shape(56, 56, 96), 4 * 96 ** 2 + 4 * 96 + 13 * 13 * 3,
     4 * 3136 * 96 ** 2 + 2 * 3136 * 49 * 96),
    # Padded to whole windows: 9x9 in 4x4 windows runs at 12x12 = 144 positions.
    ("attention", {"heads": 1, "window_size": 4, "bias": False}, (Shape(9, 9, 8),),
     Shape(9, 9, 8), 4 * 64, 4 * 144 * 64 + 2 * 144 * 16 * 8),
    ("dense", {"units": 3072}, (Shape(197, 768),), Shape(197, 3072), 768 * 3072 + 3072,
     197 * 768 * 3072),
    ("layernorm", {}, (Shape(197, 768),), Shape(197, 768), 2 * 768, 0),
    ("groupnorm", {"groups": 4}, (Shape(8, 8, 16),), Shape(8, 8, 16), 32, 0),
    ("reshape", {"shape": (4, -1)}, (Shape(2, 3, 4),), Shape(4, 6), 0, 0),
    ("transpose", {"perm": (1, 0)}, (Shape(197, 64),), Shape(64, 197), 0, 0),
    ("unsqueeze", {"axis": -1}, (Shape(5, 6),), Shape(5, 6, 1), 0, 0),
    ("reduce", {"op": "mean", "axes": (0,)}, (Shape(197, 768),), Shape(768), 0, 0),
    ("reduce", {"op": "l2", "axes": (0, 1), "keepdims": True}, (Shape(7, 7, 3),),
     Shape(1, 1, 3), 0, 0),
    ("softmax", {"axis": 0}, (Shape(10, 4),), Shape(10, 4), 0, 0),
    ("pixel_shuffle", {"factor": 2}, (Shape(4, 4, 12),), Shape(8, 8, 3), 0, 0),
    ("space_to_depth", {"factor": 2}, (Shape(8, 8, 3),), Shape(4, 4, 12), 0, 0),
    # bmm: batch 12 of (197 x 64) @ (64 x 197).
    ("matmul", {}, (Shape(12, 197, 64), Shape(12, 64, 197)), Shape(12, 197, 197), 0,
     12 * 197 * 64 * 197),
    ("matmul", {}, (Shape(2, 1, 5, 3), Shape(4, 3, 6)), Shape(2, 4, 5, 6), 0, 2 * 4 * 5 * 3 * 6),
    ("stack", {"axis": 1}, (Shape(3, 4), Shape(3, 4)), Shape(3, 2, 4), 0, 0),
    ("sub", {}, (Shape(5, 1, 3), Shape(4, 3)), Shape(5, 4, 3), 0, 0),
    ("div", {}, (Shape(5, 4, 3), Shape(3)), Shape(5, 4, 3), 0, 0),
    ("add", {}, (Shape(197, 768), Shape(1, 768)), Shape(197, 768), 0, 0),
    ("concat", {"axis": 0}, (Shape(3, 8), Shape(5, 8)), Shape(8, 8), 0, 0),
]


@pytest.mark.parametrize(("kind", "settings", "inputs", "output", "params", "macs"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_kind_counts_by_hand(kind: str, settings: dict[str, object], inputs: tuple[Shape, ...],
                             output: Shape, params: int, macs: int) -> None:
    got = cost(kind, inputs, **settings)
    assert (got.output, got.params, got.macs) == (output, params, macs)


def test_other_ops_of_attention_and_merges() -> None:
    # Bias 4·n·d, scaling n·d, softmax 3 per score over heads x n x n.
    assert cost("attention", (Shape(5, 8),), heads=2).other_ops == 4 * 40 + 40 + 3 * 2 * 25
    assert cost("sub", (Shape(5, 1, 3), Shape(4, 3))).other_ops == 60
    assert cost("position_embedding", (Shape(5, 8),)).other_ops == 40
    assert cost("reduce", (Shape(5, 8),), op="l2", axes=(1,)).other_ops == 80


ERRORS = [
    ("attention: {heads: 5}", "attention",
     r"heads=5 must divide the 64 features \(tokens 4x64\)"),
    ("reshape: {shape: [3, 100]}", "reshape",
     r"cannot reshape 4x64 \(256 values\) to 3x100 \(300 values\)"),
    ("select_token: {}\n  - select_token: {}", "select_token",
     r"needs tokens \(n x d\) but gets the flat vector 64"),
    ("tokens: {}", "tokens",
     r"reads an image \(h x w x c\) but gets tokens 4x64; drop it, its input is tokens "
     r"already"),
    ("image: {height: 3, width: 3}", "image", r"cannot lay 4 tokens out as 3x3"),
    ("attention: {heads: 4, window_size: 2}", "attention",
     r"window_size needs an image .* but gets tokens 4x64; add 'image' before it"),
    ("matmul: {from: [t, t]}", "matmul",
     r"cannot multiply 4x64 by 4x64: the first's last dim 64 must equal the second's "
     r"next-to-last 4; 'transpose' one of them"),
    ("transpose: {perm: [0, 2]}", "transpose", r"perm \[0, 2\] must order the 2 dims of 4x64"),
    ("reshape: {shape: [1, 1, 1, 1, 4, 64]}\n  - unsqueeze: {}", "unsqueeze",
     r"a tensor has 1 to 6 dims, not 7"),
]


@pytest.mark.parametrize(("layer", "kind", "message"), ERRORS,
                         ids=[e[1] + str(i) for i, e in enumerate(ERRORS)])
def test_bad_combinations_are_one_located_error(layer: str, kind: str, message: str) -> None:
    text = textwrap.dedent("""\
        name: bad
        input: 4x4x3
        layers:
          - conv: {filters: 64, kernel: 2, stride: 2}
          - tokens: {name: t}
          - LAYER
        """).replace("LAYER", layer)
    last = len(text.splitlines())
    path = "3" if layer.count("\n") else "2"
    with pytest.raises(ConvcalcError, match=rf"^bad\.yaml:{last}: layer '{path}' \({kind}\): "
                                            + message):
        analyze(parse(text, file="bad.yaml"))


def test_select_token_on_an_image_is_located() -> None:
    text = "name: bad\ninput: 4x4x3\nlayers:\n  - select_token: {}\n"
    with pytest.raises(ConvcalcError, match=r"^bad\.yaml:4: layer '0' \(select_token\): needs "
                                            r"tokens \(n x d\) but gets the image 4x4x3; add "
                                            r"'tokens' before it$"):
        analyze(parse(text, file="bad.yaml"))


def test_table_and_json_print_tokens() -> None:
    runner = CliRunner()
    table = runner.invoke(main, ["analyze", str(DATA / "tensors_vit.yaml")])
    assert table.exit_code == 0
    assert "2x2x64   4x64" in table.output and "5x64     64" in table.output
    out = runner.invoke(main, ["analyze", str(DATA / "tensors_vit.yaml"), "--format", "json"])
    rows = {r["name"]: r for r in json.loads(out.output)["layers"]}
    assert rows["1"]["output"] == [4, 64]  # tokens [n, d]
    assert rows["9"]["output"] == [64]  # the class token, a flat vector


def test_receptive_field_of_attention() -> None:
    rows = {r.path: r for r in analyze(load(str(DATA / "tensors_vit.yaml"))).rows}
    assert rows["4"].receptive_field == (16, 16)  # a token sees its 16x16 patch
    assert rows["5"].receptive_field == (32, 32)  # attention over tokens: the whole input
    swin = analyze(load(str(DATA / "tensors_swin.yaml"))).rows
    # Patches of 4 pixels, then windows of 4 patches: 16 pixels; shifted by 2 patches, a
    # window spans halves of two old ones, which saw 8 patches: 32 pixels.
    assert swin[2].receptive_field == (16, 16)
    assert swin[3].receptive_field == (32, 32)


@pytest.mark.parametrize("name", KIND_FILES)
def test_yaml_writer_round_trips(name: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    arch = load(str(DATA / name))
    written = tmp_path / "net.yaml"
    written.write_text(write_yaml(arch))
    again, first = analyze(load(str(written))), analyze(arch)
    assert (again.totals, [r.output for r in again.rows]) == (
        first.totals, [r.output for r in first.rows])
