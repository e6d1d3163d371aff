"""What --convert reports: the layers it rewrote, the ones it left alone and why, and the fusion
across a squeeze-and-excitation gate. Expected numbers are hand arithmetic written here."""

import json

import pytest
from click.testing import CliRunner

from convcalc import Shape, analyze, load, parse
from convcalc.analysis.variants import Skipped, to_separable, to_standard
from convcalc.cli import main

# depthwise 3x3 -> bn -> relu -> SE (pool, 1x1 to 2 + relu, 1x1 back to in.c + sigmoid, mul)
# -> 1x1 projection to 8: the MobileNetV3 / EfficientNet block without expansion.
GATED = """
input: 8x8x4
defaults:
  conv: {bias: false}
blocks:
  se:
    layers:
      - global_avgpool: {name: pool}
      - conv: {name: fc1, filters: 2, kernel: 1, bias: true}
      - relu: {name: relu}
      - conv: {name: fc2, filters: in.c, kernel: 1, bias: true}
      - sigmoid: {name: gate}
      - mul: {name: scale, from: [in, gate]}
layers:
  - group:
      name: b
      layers:
        - depthwise: {name: dw, kernel: 3, stride: STRIDE, padding: 1, bias: false}
        - batchnorm: {name: dw_bn}
        - relu: {name: dw_act}
        - se: {name: se}
        - conv: {name: project, filters: 8, kernel: 1}
        - batchnorm: {name: project_bn}
"""


@pytest.mark.parametrize("stride", [1, 2])
def test_a_pair_fuses_across_a_gate_which_then_gates_the_input(stride: int) -> None:
    conversion = to_standard(parse(GATED.replace("STRIDE", str(stride))))
    assert (conversion.converted, conversion.gated, conversion.skipped) == (1, 1, ())
    rows = {r.path: r for r in analyze(conversion.arch).rows}
    assert list(rows) == ["b.se.pool", "b.se.fc1", "b.se.relu", "b.se.fc2", "b.se.gate",
                          "b.se.scale", "b.dw+b.project", "b.project_bn"]
    out = 8 // stride
    fused = rows["b.dw+b.project"]
    # A 3x3 convolution from the gated 8x8x4 input to out x out x 8, no bias.
    assert (fused.kind, fused.input, fused.output) == ("conv", Shape(8, 8, 4),
                                                       Shape(out, out, 8))
    assert fused.params == 3 * 3 * 4 * 8
    assert fused.macs == out * out * 8 * 3 * 3 * 4
    # The gate keeps its params (4*2 + 2 and 2*4 + 4) and MACs; it pools and multiplies the
    # 8x8x4 input: 256 additions, and one multiply per element.
    assert rows["b.se.fc1"].params + rows["b.se.fc2"].params == 10 + 12
    assert rows["b.se.fc1"].macs + rows["b.se.fc2"].macs == 8 + 8
    assert rows["b.se.scale"].output == Shape(8, 8, 4)
    assert rows["b.se.pool"].other_ops == 8 * 8 * 4
    assert rows["b.se.scale"].other_ops == 8 * 8 * 4


def test_the_fused_network_keeps_the_output_shape() -> None:
    arch = parse(GATED.replace("STRIDE", "2"))
    assert analyze(to_standard(arch).arch).rows[-1].output == analyze(arch).rows[-1].output


def test_a_gate_read_elsewhere_is_left_alone_and_named() -> None:
    # The depthwise output is read by a layer after the projection too: the gate cannot move.
    text = GATED.replace("STRIDE", "1") + "  - mul: {name: again, from: [b.project_bn, b.dw_act]}\n"
    conversion = to_standard(parse(text.replace("filters: 8", "filters: 4")))
    assert conversion.converted == 0
    assert conversion.skipped == (Skipped("b.dw", "'b.dw_act' is also read by 'again', "
                                                  "outside the gate"),)


@pytest.mark.parametrize(("tail", "reason"), [
    ("  - maxpool: {kernel: 2}\n", "'pool' is a 'maxpool', not a pointwise (1x1) convolution"),
    ("  - pointwise: {expansion: 2}\n", "'pw' is sized by 'expansion'"),
    ("  - conv: {filters: 8, kernel: 1, stride: 2}\n",
     "'pw' has a stride, padding, dilation or groups"),
    ("", "nothing follows it"),
], ids=["pool", "expansion", "stride", "last"])
def test_each_pair_left_alone_says_why(tail: str, reason: str) -> None:
    text = "input: 8x8x4\nlayers:\n  - depthwise: {name: dw, kernel: 3, padding: 1}\n"
    if tail:
        name = "pool" if "maxpool" in tail else "pw"
        text += tail.replace("{", f"{{name: {name}, ", 1)
    conversion = to_standard(parse(text))
    assert conversion.converted == 0
    assert conversion.skipped == (Skipped("dw", reason),)


def test_separable_names_the_stem_it_keeps() -> None:
    conversion = to_separable(load("resnet18"))
    # resnet18: two 3x3 convolutions in each of 2 + 2 + 2 + 2 basic blocks; conv1 is the stem.
    assert conversion.converted == 16
    assert conversion.skipped == (Skipped("conv1", "the stem; --include-stem splits it too"),)
    assert to_separable(load("resnet18"), include_stem=True).skipped == ()


def test_compare_says_what_convert_did() -> None:
    result = CliRunner().invoke(main, ["compare", "mobilenet_v3_large", "efficientnet_b0",
                                       "resnet18", "--convert", "standard"])
    assert result.exit_code == 0, result.output
    note = result.stdout.rstrip("\n").splitlines()[-1]
    # Table 1 of Howard et al. 2019: 15 bnecks, 8 with SE; EfficientNet-B0's 16 MBConvs all
    # have one (Tan & Le 2019, Table 1: 1 + 2 + 2 + 3 + 3 + 4 + 1).
    assert note == (
        "mobilenet_v3_large (standard): 15 depthwise + pointwise pairs fused into full "
        "convolutions (8 across a squeeze-and-excitation gate, which now gates the "
        "convolution's input); 0 left alone. efficientnet_b0 (standard): 16 depthwise + "
        "pointwise pairs fused into full convolutions (16 across a squeeze-and-excitation "
        "gate, which now gates the convolution's input); 0 left alone. resnet18 (standard): "
        "no depthwise convolution to fuse; it is unchanged.")


def test_json_has_the_conversions() -> None:
    result = CliRunner().invoke(main, ["compare", "resnet18", "--convert", "separable",
                                       "--format", "json"])
    assert json.loads(result.stdout)["conversions"] == [{
        "network": "resnet18 (separable)", "to": "separable", "converted": 16,
        "across_gates": 0,
        "left_alone": [{"path": "conv1", "reason": "the stem; --include-stem splits it too"}]}]
    result = CliRunner().invoke(main, ["analyze", "mobilenet_v3_small", "--convert",
                                       "standard", "--format", "json"])
    # Table 2 of Howard et al. 2019: 11 bnecks, 9 with SE.
    conversions = json.loads(result.stdout)["conversions"]
    assert [(c["converted"], c["across_gates"]) for c in conversions] == [(11, 9)]


def test_analyze_and_export_say_what_convert_did(tmp_path) -> None:
    result = CliRunner().invoke(main, ["analyze", "resnet18", "--convert", "standard"])
    assert result.stdout.splitlines()[-1] == ("resnet18 (standard): no depthwise convolution "
                                              "to fuse; it is unchanged.")
    out = tmp_path / "x.yaml"
    result = CliRunner().invoke(main, ["export", "mobilenet_v1", "--convert", "standard",
                                       "--to", "yaml", "-o", str(out)])
    assert result.stdout == ""
    assert result.stderr == ("mobilenet_v1 (standard): 13 depthwise + pointwise pairs fused "
                             "into full convolutions; 0 left alone.\n")


@pytest.mark.parametrize("stride", [1, 2])
def test_the_fused_gated_block_counts_as_torch_does(stride: int) -> None:
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    class GatedConv(nn.Module):
        """The converted block in PyTorch: the gate on the input, then the full convolution."""

        def __init__(self) -> None:
            super().__init__()
            self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(4, 2, 1), nn.ReLU(),
                                      nn.Conv2d(2, 4, 1), nn.Sigmoid())
            self.conv = nn.Conv2d(4, 8, 3, stride=stride, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(8)

        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            return self.bn(self.conv(x * self.gate(x)))

    model = GatedConv().eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        out = model(torch.zeros(1, 4, 8, 8))
    report = analyze(to_standard(parse(GATED.replace("STRIDE", str(stride)))).arch)
    assert report.rows[-1].output == Shape(out.shape[2], out.shape[3], out.shape[1])
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.macs == counter.get_total_flops() // 2
