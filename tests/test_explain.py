# The expected text uses the mathematical signs explain prints.
# ruff: noqa: RUF001
"""--explain: the formulas read as the lecture writes them, and every printed sum adds up to
the number printed after it (the arithmetic is done here, independently of the engine)."""

import re
from pathlib import Path

import pytest

from convcalc import ConvcalcError, analyze, load, parse
from convcalc.present.explain import explain

POOL_DENSE = """
input: 8x8x3
layers:
  - conv: {name: c, filters: 4, kernel: 3, stride: 2, padding: same}
  - maxpool: {name: pool, kernel: 3, stride: 2, padding: 1}
  - global_avgpool: {name: gap}
  - flatten
  - dense: {name: fc, units: 10}
"""


def test_resnet_conv1_as_in_the_issue():
    text = explain(analyze(load("resnet50")), "conv1")
    assert text.splitlines() == [
        "conv1 (conv): 224x224x3 -> 112x112x64",
        "  output h = w: ⌊(224 + 2·3 − 7)/2⌋ + 1 = 112",
        "  params = f·f·c_in·filters + bias = 7·7·3·64 + 0 bias = 9,408",
        "  macs = outputs × f·f·c_in = 112·112·64 × 7·7·3 = 118,013,952",
    ]


def test_same_padding_derivation():
    text = explain(analyze(parse(POOL_DENSE)), "c")
    # 'same' at stride 2 on 8: output ceil(8/2) = 4 needs (4-1)*2 + 3 - 8 = 1 row of padding,
    # the odd one after.
    assert ("'same' padding (h = w): output ⌈8/2⌉ = 4; padding max((4 − 1)·2 + 3 − 8, 0) = 1: "
            "0 before, 1 after") in text
    assert "output h = w: ⌊(8 + 0 + 1 − 1·(3 − 1) − 1)/2⌋ + 1 = 4" in text


def test_pool_global_pool_and_dense():
    text = explain(analyze(parse(POOL_DENSE)))
    assert "output h = w: ⌊(4 + 2·1 − 3)/2⌋ + 1 = 2" in text
    assert "other ops = outputs × window = 2·2·4 × 3·3 = 144" in text
    assert "other ops = 2·2·4 = 16" in text
    assert "params = inputs·units + bias = 4·10 + 10 bias = 50" in text
    assert "macs = inputs·units = 4·10 = 40" in text
    assert "3 (flatten): 1x1x4 -> 4\n  0 params, 0 macs, 0 other ops" in text


def test_depthwise_shows_groups():
    text = explain(analyze(load("mobilenet_v1")), "conv2.dw")
    assert ("params = f·f·c_in·filters + bias = 3·3·1·32 + 0 bias = 288 (32 groups: c_in per "
            "group is 1)") in text
    assert "macs = outputs × f·f·c_in = 112·112·32 × 3·3·1 = 3,612,672" in text


def test_layer_selects_a_subtree():
    text = explain(analyze(load("resnet50")), "layer1.0")
    heads = [line.split(" ")[0] for line in text.splitlines() if not line.startswith(" ")
             and line]
    assert heads[0] == "layer1.0.conv1" and heads[-1] == "layer1.0.relu3"
    assert all(h.startswith("layer1.0.") for h in heads)


def test_unknown_layer():
    with pytest.raises(ConvcalcError, match=r"no layer 'conv_1' in resnet50; did you mean 'conv1'"):
        explain(analyze(load("resnet50")), "conv_1")


def _evaluate(expression: str) -> int:
    python = (expression.replace("·", "*").replace("×", "*").replace("−", "-")
              .replace(" bias", "").replace("/", "//"))
    python = re.sub(r"⌈(.*)⌉", r"-(-\1)", python.replace("⌊", "(").replace("⌋", ")"))
    assert re.fullmatch(r"[\d\s+*()\-/,max]+", python), python
    value: int = eval(python, {"max": max})  # the regex allows digits, operators and max only
    return value


@pytest.mark.parametrize("source", ["resnet50", "mobilenet_v1", "pool_dense", "graph_unet"])
def test_every_printed_sum_is_right(source):
    arch = (parse(POOL_DENSE) if source == "pool_dense" else
            load(Path(__file__).parent / "data" / "graph_unet.yaml") if source == "graph_unet"
            else load(source))
    checked = 0
    for line in explain(analyze(arch)).splitlines():
        for clause in line.split(";"):
            parts = clause.split(" = ")
            if len(parts) < 3 and "⌊" not in clause and "⌈" not in clause:
                continue
            expression = parts[-2].split(": ")[-1].removeprefix("output ")
            value = int(parts[-1].split(" ")[0].rstrip(":").replace(",", ""))
            assert _evaluate(expression) == value, clause
            checked += 1
    assert checked >= 8


def test_merges_and_upsampling_are_explained():
    text = explain(analyze(load(Path(__file__).parent / "data" / "graph_fpn.yaml")))
    # p3 = lat3 + up4 on 8x8x16: one addition per element
    assert "p3 (add): 8x8x16 -> 8x8x16\n  add of 8x8x16 and 8x8x16: no params or macs; " \
           "other ops = 1,024" in text
    assert "up4 (upsample): 4x4x16 -> 8x8x16\n  output: ⌊4·2⌋ x ⌊4·2⌋ = 8x8" in text
    assert "up3 (upsample): 8x8x16 -> 16x16x16\n  output 16x16: the size of its second input" \
        in text
