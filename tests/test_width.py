"""The width multiplier against torchvision's own: ``--width A`` on mobilenet_v2,
mobilenet_v3_large/small (``width_mult``) and mnasnet1_0 (MNASNet's ``alpha``) builds the
network torchvision builds at that multiplier. The numbers come from
tests/data/make_width_reference.py (torchvision_width_counts.json); the last test rebuilds them
with torch when it is installed. Rules the numbers below need (hand arithmetic in comments)
are tested on small files.
"""

import importlib.util
import json
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import DATA

from convcalc import ConvcalcError, Shape, analyze, load, parse, with_input, with_width
from convcalc.cli import main

STORED = json.loads((DATA / "torchvision_width_counts.json").read_text())
CASES = [(name, float(width)) for name, table in STORED["models"].items() for width in table]


@pytest.mark.parametrize(("name", "width"), CASES, ids=[f"{n}-{w}" for n, w in CASES])
def test_width_equals_torchvisions_multiplier(name: str, width: float) -> None:
    expected = STORED["models"][name][str(width)]
    totals = analyze(with_width(load(name), width)).totals
    assert (totals.params, totals.macs) == (expected["params"], expected["macs"])


def test_the_cli_width_is_the_same_rule() -> None:
    # The case: torchvision's mobilenet_v3_large(width_mult=0.75).
    result = CliRunner().invoke(main, ["analyze", "mobilenet_v3_large", "--width", "0.75",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert (totals["params"], totals["macs"]) == (3_377_576, 140_033_816)


def test_mobilenet_v3_head_follows_torchvision() -> None:
    rows = {r.path: r for r in analyze(with_width(load("mobilenet_v3_small"), 1.4)).rows}
    # _make_divisible(96 * 1.4 = 134.4, 8) = 136; the last conv is 6 x 136 = 816 (not
    # _make_divisible(576 * 1.4, 8) = 808); last_channel = _make_divisible(1024 * 1.4, 8) = 1432.
    assert rows["bneck11.project"].output == Shape(7, 7, 136)
    assert rows["conv2.conv"].output == Shape(7, 7, 816)
    assert rows["fc1"].output == Shape.flat(1432)
    assert rows["fc2"].output == Shape.flat(1000)        # the classes never scale


DENSE = """
input: 4x4x3
channel_divisor: 8
layers:
  - conv: {filters: 16, kernel: 1, bias: false}
  - global_avgpool
  - flatten
  - dense: {units: 100, scale: true, bias: false}
  - dense: {units: 10, bias: false}
"""


def test_a_dense_layer_scales_only_when_asked() -> None:
    half = analyze(with_width(parse(DENSE), 0.5))
    # 16 * 0.5 = 8; 100 * 0.5 = 50 rounds to 48 (a multiple of 8, not 10% down); 10 stays.
    assert [r.output.c for r in half.rows] == [8, 8, 8, 48, 10]
    assert half.totals.params == 3 * 8 + 8 * 48 + 48 * 10


def test_a_dense_scale_must_be_a_rule() -> None:
    with pytest.raises(ConvcalcError, match=r"^<string>:8: layer '3' \(dense\): scale "
                                            r"'twice' must be true, false or 'up'"):
        parse(DENSE.replace("scale: true", "scale: twice"))


def test_variants_are_named_after_what_was_done() -> None:
    arch = load("mobilenet_v2")
    assert with_width(arch, 0.5).name == "mobilenet_v2 ×0.5"
    assert with_input(arch, Shape(160, 160, 3)).name == "mobilenet_v2 @160"
    assert with_input(arch, Shape(160, 128, 3)).name == "mobilenet_v2 @160x128"
    assert with_input(arch, Shape(160, 160, 1)).name == "mobilenet_v2 @160x160x1"
    assert with_input(arch, arch.input).name == "mobilenet_v2"
    # A named scale is the network its name says.
    assert load("efficientnet_b3").name == "efficientnet_b3"


def test_width_counts_equal_a_live_torchvision() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    spec = importlib.util.spec_from_file_location("make_width_reference",
                                                  DATA / "make_width_reference.py")
    assert spec is not None and spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, width in CASES:
        assert module.counts(name, width) == STORED["models"][name][str(width)], (name, width)
