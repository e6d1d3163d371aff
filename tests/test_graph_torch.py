"""Transposed convolution and upsampling against PyTorch: stored numbers (written by
tests/data/make_graph_torch_shapes.py) always, and a live torch when it is importable."""

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from convcalc.graph.layers import ConvTranspose, Upsample
from convcalc.graph.shapes import Shape

DATA = Path(__file__).parent / "data"
STORED = json.loads((DATA / "torch_graph_shapes.json").read_text())


def pair(value: Any) -> tuple[int, int]:
    return (value[0], value[1]) if isinstance(value, list) else (value, value)


def conv_transpose(case: list[Any]) -> tuple[ConvTranspose, Shape]:
    h, w, c, filters, kernel, stride, padding, output_padding, dilation, groups, bias = case
    layer = ConvTranspose(filters=filters, kernel=pair(kernel), stride=pair(stride),
                          padding=tuple(padding) if isinstance(padding, list) else padding,
                          output_padding=pair(output_padding), dilation=pair(dilation),
                          groups=groups, bias=bias)
    return layer, Shape(h, w, c)


@pytest.mark.parametrize("entry", STORED["conv_transpose"], ids=lambda e: str(e["case"]))
def test_conv_transpose_matches_stored_torch(entry: dict[str, Any]) -> None:
    layer, x = conv_transpose(entry["case"])
    assert layer.out_shape(x).as_list() == entry["output"]
    assert layer.params(x) == entry["params"]
    assert layer.macs(x) == entry["macs"]


@pytest.mark.parametrize("entry", STORED["upsample"], ids=lambda e: str(e["case"]))
def test_upsample_matches_stored_torch(entry: dict[str, Any]) -> None:
    h, w, scale, size, mode = entry["case"]
    layer = Upsample(scale=None if scale is None else tuple(float(v) for v in (
        scale if isinstance(scale, list) else [scale, scale])),  # type: ignore[arg-type]
        size=None if size is None else pair(size), mode=mode)
    cost = layer.cost((Shape(h, w, 3),))
    assert list(cost.output.hw) == entry["output"]
    assert cost.macs == entry["flops"] == 0  # torch's flop counter counts no upsampling


def test_the_flop_counter_counts_none_of_the_cheap_kinds() -> None:
    # Why mul, layernorm, channel_shuffle and bilinear upsampling have no MACs in convcalc.
    assert set(STORED["uncounted"].values()) == {0}


def test_stored_numbers_are_torchs() -> None:
    pytest.importorskip("torch")
    sys.path.insert(0, str(DATA))
    import make_graph_torch_shapes as make

    live = [make.conv_transpose_case(c) for c in make.CONV_TRANSPOSE]
    assert [(e["output"], e["params"], e["macs"]) for e in live] == [
        (e["output"], e["params"], e["macs"]) for e in STORED["conv_transpose"]]
    assert [make.upsample_case(c)["output"] for c in make.UPSAMPLE] == [
        e["output"] for e in STORED["upsample"]]
    assert make.uncounted() == STORED["uncounted"]
