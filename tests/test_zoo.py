"""The built-in architectures: their counts against torchvision, the papers and hand
arithmetic, and their per-layer shapes against PyTorch.

The torchvision numbers come from tests/data: torchvision_counts.json (the shared reference)
and what tests/data/make_torch_reference.py wrote (torchvision_extra_counts.json,
torch_shapes.json); the tests at the bottom rebuild the models with torch when it is installed.
"""

import importlib.util
import json
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import DATA

from convcalc import (
    ConvcalcError,
    LayerRow,
    Report,
    Shape,
    analyze,
    builtin_names,
    load,
    parse,
    with_input,
    with_width,
)
from convcalc.cli import main
from convcalc.formats.loader import catalogue_names
from convcalc.present.results import family

REFERENCE = json.loads((DATA / "torchvision_counts.json").read_text())["models"]
EXTRA = json.loads((DATA / "torchvision_extra_counts.json").read_text())["models"]
TORCH_SHAPES = json.loads((DATA / "torch_shapes.json").read_text())["models"]


def counts(report: Report) -> tuple[int, int]:
    return report.totals.params, report.totals.macs


def rows(name: str, **kwargs: Any) -> dict[str, LayerRow]:
    return {r.path: r for r in analyze(load(name), **kwargs).rows}


# Built-in name = torchvision's builder name = the key of the stored counts and shapes.
ZOO = [
    "vgg11", "vgg11_bn", "vgg19",
    "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2",
    "squeezenet1_0", "squeezenet1_1",
    "densenet121", "densenet161", "densenet169", "densenet201",
    "mnasnet0_5", "mnasnet1_0",
    "inception_v3",
    "mobilenet_v3_small", "mobilenet_v3_large",
    *(f"efficientnet_b{i}" for i in range(8)), "efficientnet_v2_s",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
    "regnet_x_400mf", "regnet_y_400mf", "regnet_y_800mf",
    "convnext_tiny",
    "fcn_resnet50", "deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large",
    "lraspp_mobilenet_v3_large",
]

def zoo(names: list[str], slow: frozenset[str] = frozenset()) -> list[Any]:
    """pytest parameters for zoo names, marked slow where ``slow`` says so."""
    return [pytest.param(n, marks=[pytest.mark.slow] if n in slow else []) for n in names]


# -- language the zoo needed ------------------------------------------------------------------

BRANCH_BLOCK = """
input: 28x28x192
blocks:
  inception:
    args: {c1: ~, c5: ~}
    branches:
      one: [{conv: {name: conv, filters: c1, kernel: 1}}]
      five: [{conv: {filters: c5, kernel: 5, padding: 2}}]
layers:
  - inception: {name: mixed, c1: 64, c5: 32}
"""


def test_a_block_of_branches_is_a_concat_named_by_its_call() -> None:
    report = analyze(parse(BRANCH_BLOCK))
    assert [(r.path, r.output.as_list()) for r in report.rows] == [
        ("mixed.one.conv", [28, 28, 64]),
        ("mixed.five.0", [28, 28, 32]),
        ("mixed.concat", [28, 28, 96]),
    ]
    # 28*28*64*192 + 28*28*32*(5*5*192)
    assert report.totals.macs == 9_633_792 + 120_422_400


@pytest.mark.parametrize(("extra", "message"), [
    ("    layers: [relu]\n", r"block 'inception' needs 'layers' or 'branches' \(not both\)"),
    ("    shortcut: auto\n", r"block 'inception' with 'branches' takes no 'shortcut'"),
], ids=["both", "shortcut"])
def test_a_block_of_branches_rejects_layers_and_shortcuts(extra: str, message: str) -> None:
    text = BRANCH_BLOCK.replace("    branches:\n", extra + "    branches:\n")
    with pytest.raises(ConvcalcError, match=rf"^bad\.yaml:4: {message}"):
        parse(text, file="bad.yaml")


# -- every file ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", zoo(builtin_names()))
def test_every_builtin_loads_analyzes_and_says_where_it_comes_from(name: str) -> None:
    arch = load(name)
    report = analyze(arch, include_side=True)
    assert arch.name == name
    assert arch.description and arch.source
    assert report.totals.params > 0 and report.totals.macs > 0


def test_every_name_of_the_modern_zoo_loads_under_torchvisions_name() -> None:
    # Issue 11's list; EfficientNet's b0..b7 are the named scales of efficientnet.yaml.
    names = ["unet", *ZOO]
    assert len(names) == len(set(names)) == 39
    assert [load(n).name for n in names] == names
    assert set(ZOO) == set(EXTRA) - {"resnet101", "resnet152", "mobilenet_v2_width0.5",
                                     "mobilenet_v2_width1.4", "googlenet_aux_train",
                                     "inception_v3_aux_train"}


def test_the_zoo_has_every_architecture_of_issue_3() -> None:
    assert set(builtin_names()) >= {
        "lenet5", "alexnet", "vgg16", "resnet18", "resnet34", "resnet50", "resnet101",
        "resnet152", "googlenet", "googlenet_torchvision", "inception_module",
        "bottleneck_example", "bottleneck_example_plain", "mobilenet_v1", "mobilenet_v2",
    }


# -- torchvision, exactly ---------------------------------------------------------------------

@pytest.mark.parametrize(("name", "torchvision_name"), [
    ("alexnet", "alexnet"),
    ("vgg16", "vgg16"),
    ("resnet18", "resnet18"),
    ("resnet34", "resnet34"),
    ("resnet50", "resnet50"),
    ("mobilenet_v2", "mobilenet_v2"),
    ("googlenet_torchvision", "googlenet"),
])
def test_counts_equal_the_shared_torchvision_reference(name: str, torchvision_name: str) -> None:
    expected = REFERENCE[torchvision_name]
    assert counts(analyze(load(name))) == (expected["params"], expected["macs"])


@pytest.mark.parametrize("name", ["resnet101", "resnet152"])
def test_deep_resnets_equal_torchvision(name: str) -> None:
    assert counts(analyze(load(name))) == (EXTRA[name]["params"], EXTRA[name]["macs"])


@pytest.mark.parametrize("width", [0.5, 1.4])
def test_mobilenet_v2_width_multiplier_equals_torchvision(width: float) -> None:
    expected = EXTRA[f"mobilenet_v2_width{width}"]
    report = analyze(with_width(load("mobilenet_v2"), width))
    assert counts(report) == (expected["params"], expected["macs"])


def test_mobilenet_v2_width_rounds_channels_to_multiples_of_8() -> None:
    by_path = {r.path: r for r in analyze(with_width(load("mobilenet_v2"), 0.5)).rows}
    # torchvision: _make_divisible(32 * 0.5, 8) = 16; _make_divisible(16 * 0.5, 8) = 8;
    # _make_divisible(24 * 0.5, 8) = 16 (12 rounds up); the expansion is 6 * 8 = 48;
    # the last conv keeps 1280 below width 1.
    assert by_path["conv1"].output == Shape(112, 112, 16)
    assert by_path["bottleneck1.0.project"].output == Shape(112, 112, 8)
    assert by_path["bottleneck2.0.expand"].output == Shape(112, 112, 48)
    assert by_path["bottleneck2.0.project"].output == Shape(56, 56, 16)
    assert by_path["conv2"].output == Shape(7, 7, 1280)


def test_googlenet_torchvision_side_branches_are_the_training_time_aux_classifiers() -> None:
    arch = load("googlenet_torchvision")
    # Left out by default (googlenet(aux_logits=False), the shared reference) ...
    assert counts(analyze(arch)) == (REFERENCE["googlenet"]["params"],
                                     REFERENCE["googlenet"]["macs"])
    # ... and counted on request: googlenet(aux_logits=True) in training mode.
    expected = EXTRA["googlenet_aux_train"]
    assert counts(analyze(arch, include_side=True)) == (expected["params"], expected["macs"])


# -- the modern zoo (issue 11): torchvision exactly, at each model's own input size ----------

@pytest.mark.parametrize("name", zoo(ZOO))
def test_zoo_counts_equal_torchvision_at_its_own_input(name: str) -> None:
    arch = load(name)
    size = EXTRA[name]["input"]
    assert arch.input == Shape(size, size, 3)
    assert counts(analyze(arch)) == (EXTRA[name]["params"], EXTRA[name]["macs"])


# torchvision's _efficientnet_conf(width_mult, depth_mult) and each model's input size.
EFFICIENTNET_SCALING = {1: (1.0, 1.1, 240), 2: (1.1, 1.2, 260), 3: (1.2, 1.4, 300),
                        4: (1.4, 1.8, 380), 5: (1.6, 2.2, 456), 6: (1.8, 2.6, 528),
                        7: (2.0, 3.1, 600)}


@pytest.mark.parametrize("b", EFFICIENTNET_SCALING)
def test_compound_scaling_flags_turn_b0_into_b1_to_b7(b: int) -> None:
    width, depth, size = EFFICIENTNET_SCALING[b]
    result = CliRunner().invoke(main, [
        "analyze", "efficientnet_b0", "--width", str(width), "--depth-multiplier", str(depth),
        "--input", str(size), "--format", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    expected = EXTRA[f"efficientnet_b{b}"]
    assert (totals["params"], totals["macs"]) == (expected["params"], expected["macs"])


def test_efficientnet_b7_repeats_each_stage_ceil_n_times_3_1() -> None:
    # Table 1's repeats 1, 2, 2, 3, 3, 4, 1 times 3.1, rounded up: 4, 7, 7, 10, 10, 13, 4.
    paths = {r.path for r in analyze(load("efficientnet_b7")).rows}
    copies = [len({p.split(".")[1] for p in paths if p.startswith(f"stage{s}.")})
              for s in range(2, 9)]
    assert copies == [4, 7, 7, 10, 10, 13, 4]


def test_mnasnet0_5_is_mnasnet1_0_at_width_half() -> None:
    # torchvision's _round_to_multiple_of(c * 0.5, 8) is the width multiplier's rounding; the
    # last 1280-channel conv is kept.
    expected = EXTRA["mnasnet0_5"]
    assert counts(analyze(with_width(load("mnasnet1_0"), 0.5))) == (expected["params"],
                                                                      expected["macs"])


def test_inception_v3_aux_classifier_is_a_side_branch() -> None:
    arch = load("inception_v3")
    expected = EXTRA["inception_v3_aux_train"]     # aux_logits=True, training mode
    assert counts(analyze(arch, include_side=True)) == (expected["params"], expected["macs"])
    aux = [r for r in analyze(arch, include_side=True).rows if r.side]
    # InceptionAux on 17x17x768: 5x5/3 pool -> 5x5x768, 1x1 conv 128 + bn, 5x5 conv 768 + bn,
    # fc 768 -> 1000.
    assert sum(r.params for r in aux) == (768 * 128 + 2 * 128) + (25 * 128 * 768 + 2 * 768) + (
        768 * 1000 + 1000)
    assert [r.output for r in aux if r.kind == "conv"] == [Shape(5, 5, 128), Shape(1, 1, 768)]


# The numpy reference runs every layer at a small input (Inception v3's auxiliary classifier
# needs its own 299: its 5x5 pool and 5x5 conv need the 17x17 grid; 188 is the smallest U-Net
# input, to a 4x4 output). Marked slow: above about three seconds here, most of it drawing the
# random weights of the big dense layers.
SLOW = frozenset({"vgg11", "vgg11_bn", "vgg19", "resnext50_32x4d", "resnext101_32x8d",
                  "wide_resnet50_2", "densenet161", "densenet201"})


@pytest.mark.parametrize("name", zoo([*ZOO, "unet"], SLOW))
def test_zoo_verifies_against_the_numpy_reference(name: str) -> None:
    from convcalc.reference import RUNNERS, verify

    size = {"inception_v3": 299, "unet": 188}.get(name, 64)
    channels = load(name).input.c
    report = analyze(with_input(load(name), Shape(size, size, channels)), include_side=True)
    missing = sorted({r.kind for r in report.rows} - set(RUNNERS))
    if missing:     # the reference branch adds the graph branch's kernels
        pytest.skip(f"the numpy reference has no kernel for {', '.join(missing)} yet")
    checks = verify(report)
    assert len(checks) > 25
    assert [c.path for c in checks if not c.ok] == []


# -- papers and the lecture, by hand ------------------------------------------------------------

def test_lenet5_parameters_by_hand() -> None:
    by_path = rows("lenet5")
    params = {
        "c1": 5 * 5 * 1 * 6 + 6,          # 156
        "c3": 5 * 5 * 6 * 16 + 16,        # 2,416 (every C3 map sees all six S2 maps)
        "c5": 400 * 120 + 120,            # 48,120
        "f6": 120 * 84 + 84,              # 10,164
        "output": 84 * 10 + 10,           # 850
    }
    assert {p: by_path[p].params for p in params} == params
    assert analyze(load("lenet5")).totals.params == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    assert [by_path[p].output for p in ("c1", "s2", "c3", "s4")] == [
        Shape(28, 28, 6), Shape(14, 14, 6), Shape(10, 10, 16), Shape(5, 5, 16)]


def test_bottleneck_example_is_the_lectures_cheap_and_expensive_pair() -> None:
    plain = analyze(load("bottleneck_example_plain"))
    bottleneck = analyze(load("bottleneck_example"))
    assert plain.totals.macs == 28 * 28 * 32 * (5 * 5 * 192) == 120_422_400
    assert bottleneck.totals.macs == (28 * 28 * 16 * 192          # 1x1: 2,408,448
                                      + 28 * 28 * 32 * 5 * 5 * 16  # 5x5: 10,035,200
                                      ) == 12_443_648
    assert plain.rows[-1].output == bottleneck.rows[-1].output == Shape(28, 28, 32)


def test_inception_module_by_hand() -> None:
    report = analyze(load("inception_module"))
    hw = 28 * 28
    assert report.totals.macs == hw * (
        64 * 192                      # 1x1, 64
        + 96 * 192 + 128 * 9 * 96     # 1x1, 96 -> 3x3, 128
        + 16 * 192 + 32 * 25 * 16     # 1x1, 16 -> 5x5, 32
        + 32 * 192                    # pool -> 1x1, 32
    ) == 128_049_152                  # Table 1 of the paper: 128M for inception (3a)
    weights = (192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32)
    biases = 64 + 96 + 128 + 16 + 32 + 32
    assert report.totals.params == weights + biases == 163_696
    assert report.rows[-1].output == Shape(28, 28, 256)


# Szegedy et al. 2014, Table 1: output size and ops (millions) of each row, as printed. The
# table rounds loosely (4a: 73.6M prints as 73M), so ops must be within one million. Left out
# (None): the first conv's 34M (112*112*64 * 7*7*3 is 118M) and 5a's 54M (its own row, 832
# channels in and 256/160/320/32/128/128 out at 7x7, is 51.1M), both misprints.
GOOGLENET_TABLE_1: dict[str, tuple[Shape, int | None]] = {
    "conv1": (Shape(112, 112, 64), None),
    "maxpool1": (Shape(56, 56, 64), None),
    "conv3": (Shape(56, 56, 192), 360),      # "convolution 3x3/1", depth 2: conv2 + conv3
    "maxpool2": (Shape(28, 28, 192), None),
    "inception3a": (Shape(28, 28, 256), 128),
    "inception3b": (Shape(28, 28, 480), 304),
    "maxpool3": (Shape(14, 14, 480), None),
    "inception4a": (Shape(14, 14, 512), 73),
    "inception4b": (Shape(14, 14, 512), 88),
    "inception4c": (Shape(14, 14, 512), 100),
    "inception4d": (Shape(14, 14, 528), 119),
    "inception4e": (Shape(14, 14, 832), 170),
    "maxpool4": (Shape(7, 7, 832), None),
    "inception5a": (Shape(7, 7, 832), None),
    "inception5b": (Shape(7, 7, 1024), 71),
    "avgpool": (Shape(1, 1, 1024), None),
    "fc": (Shape.flat(1000), 1),
}


@pytest.mark.parametrize("row", GOOGLENET_TABLE_1)
def test_googlenet_follows_table_1(row: str) -> None:
    report = analyze(load("googlenet"))
    shape, ops_millions = GOOGLENET_TABLE_1[row]
    module = ["conv2", "conv3"] if row == "conv3" else [row]
    members = [r for r in report.rows
               if any(r.path == m or r.path.startswith(f"{m}.") for m in module)]
    assert members[-1].output == shape
    if ops_millions is not None:
        assert abs(sum(r.macs for r in members) / 1e6 - ops_millions) < 1


def test_googlenet_aux_classifiers_are_side_branches() -> None:
    arch = load("googlenet")
    inference, training = analyze(arch), analyze(arch, include_side=True)
    aux = [r for r in training.rows if r.side]
    assert {r.path.split(".")[0] for r in aux} == {"aux1", "aux2"}
    # Section 5: 5x5/3 average pool -> 4x4x512 (4a) and 4x4x528 (4d); 1x1 conv 128 + bias;
    # fc 2048 -> 1024; fc 1024 -> 1000.
    head = 128 + (1024 * 128 * 4 * 4 + 1024) + (1000 * 1024 + 1000)
    assert training.totals.params - inference.totals.params == (512 + 528) * 128 + 2 * head
    assert training.totals.macs - inference.totals.macs == (
        4 * 4 * 128 * (512 + 528) + 2 * (2048 * 1024 + 1024 * 1000))
    assert inference.totals.params == sum(r.params for r in inference.rows if not r.side)


def test_mobilenet_v1_layers_by_hand() -> None:
    by_path = rows("mobilenet_v1")
    assert by_path["conv1"].macs == 112 * 112 * 32 * (3 * 3 * 3) == 10_838_016
    assert by_path["conv2.dw"].macs == 112 * 112 * 32 * 3 * 3 == 3_612_672
    assert by_path["conv2.pw"].macs == 112 * 112 * 64 * 32 == 25_690_112
    # Table 1's second-to-last depthwise layer keeps 7x7: stride 1, not the printed s2.
    assert by_path["conv10.dw"].input == by_path["conv10.dw"].output == Shape(7, 7, 1024)
    assert by_path["conv10.dw"].macs == 7 * 7 * 1024 * 3 * 3 == 451_584
    assert by_path["conv10.pw"].macs == 7 * 7 * 1024 * 1024 == 51_380_224
    assert by_path["fc"].params == 1024 * 1000 + 1000


# Howard et al. 2017, Table 6 (width, 224x224), Table 7 (resolution, width 1.0) and Table 9
# (0.50 MobileNet-160: 76M, 1.32M): million mult-adds and million parameters, as printed.
MOBILENET_V1_TABLES = [
    (1.0, 224, 569, 4.2),
    (0.75, 224, 325, 2.6),
    (0.5, 224, 149, 1.3),
    (0.25, 224, 41, 0.5),
    (1.0, 192, 418, 4.2),
    (1.0, 160, 290, 4.2),
    (1.0, 128, 186, 4.2),
    (0.5, 160, 76, 1.3),
]


@pytest.mark.parametrize(("width", "size", "macs_millions", "params_millions"),
                         MOBILENET_V1_TABLES, ids=[f"{w}-{s}" for w, s, *_ in MOBILENET_V1_TABLES])
def test_mobilenet_v1_matches_the_papers_tables(width: float, size: int, macs_millions: int,
                                                params_millions: float) -> None:
    report = analyze(with_width(with_input(load("mobilenet_v1"), Shape(size, size, 3)), width))
    # The paper rounds (568.7M prints as 569, 290.7M as 290): within one million.
    assert abs(report.totals.macs / 1e6 - macs_millions) < 1
    assert round(report.totals.params / 1e6, 1) == params_millions


# Ronneberger et al. 2015, Figure 1: the size and channels printed at every arrow (the map
# after each layer), top-left to bottom to top-right.
UNET_FIGURE_1 = {
    "enc1.conv1": (570, 64), "enc1.conv2": (568, 64), "pool1": (284, 64),
    "enc2.conv1": (282, 128), "enc2.conv2": (280, 128), "pool2": (140, 128),
    "enc3.conv1": (138, 256), "enc3.conv2": (136, 256), "pool3": (68, 256),
    "enc4.conv1": (66, 512), "enc4.conv2": (64, 512), "pool4": (32, 512),
    "bottom.conv1": (30, 1024), "bottom.conv2": (28, 1024),
    "up4": (56, 512), "crop4": (56, 512), "cat4": (56, 1024),
    "dec4.conv1": (54, 512), "dec4.conv2": (52, 512),
    "up3": (104, 256), "crop3": (104, 256), "cat3": (104, 512),
    "dec3.conv1": (102, 256), "dec3.conv2": (100, 256),
    "up2": (200, 128), "crop2": (200, 128), "cat2": (200, 256),
    "dec2.conv1": (198, 128), "dec2.conv2": (196, 128),
    "up1": (392, 64), "crop1": (392, 64), "cat1": (392, 128),
    "dec1.conv1": (390, 64), "dec1.conv2": (388, 64),
    "head": (388, 2),
}


def test_unet_follows_figure_1_shape_by_shape() -> None:
    by_path = rows("unet")
    assert load("unet").input == Shape(572, 572, 1)
    assert {p: (by_path[p].output.h, by_path[p].output.c) for p in UNET_FIGURE_1} == UNET_FIGURE_1
    assert all(by_path[p].output.w == by_path[p].output.h for p in UNET_FIGURE_1)
    # "copy and crop": the encoder's map, center-cropped to the up-convolution's size.
    assert [(by_path[f"crop{i}"].kind, by_path[f"crop{i}"].input.h) for i in (4, 3, 2, 1)] == [
        ("crop", 64), ("crop", 136), ("crop", 280), ("crop", 568)]


def test_unet_params_and_macs_by_hand() -> None:
    report = analyze(load("unet"))
    # 3x3 convs with bias (c_in, c_out, output size), then the 2x2 up-convs (c_in -> c_in / 2,
    # with bias, input size: torch's h_in * w_in * c_in * c_out * 4) and the 1x1 head.
    convs = [(1, 64, 570), (64, 64, 568), (64, 128, 282), (128, 128, 280), (128, 256, 138),
             (256, 256, 136), (256, 512, 66), (512, 512, 64), (512, 1024, 30),
             (1024, 1024, 28), (1024, 512, 54), (512, 512, 52), (512, 256, 102),
             (256, 256, 100), (256, 128, 198), (128, 128, 196), (128, 64, 390), (64, 64, 388)]
    ups = [(1024, 28), (512, 52), (256, 100), (128, 196)]
    params = (sum(9 * i * o + o for i, o, _ in convs)
              + sum(4 * c * c // 2 + c // 2 for c, _ in ups) + 64 * 2 + 2)
    macs = (sum(n * n * o * 9 * i for i, o, n in convs)
            + sum(n * n * c * c // 2 * 4 for c, n in ups) + 388 * 388 * 2 * 64)
    assert report.totals.params == params == 31_030_658
    assert report.totals.macs == macs


# -- per-layer shapes against PyTorch -------------------------------------------------------------

# torch module classes and the convcalc kinds that compute them, one family per row. Conv2d
# and Linear are one family because ConvNeXt runs its 1x1 convolutions as Linear layers on
# channels-last tensors; the shapes still tell a dense layer ([n]) from a conv ([h, w, c]).
FAMILIES: list[tuple[set[str], set[str]]] = [
    ({"Conv2d", "Linear", "ConvTranspose2d"},
     {"conv", "depthwise", "pointwise", "dense", "conv_transpose"}),
    ({"BatchNorm2d"}, {"batchnorm"}),
    ({"LayerNorm", "LayerNorm2d"}, {"layernorm"}),
    ({"ReLU"}, {"relu"}),
    ({"ReLU6"}, {"relu6"}),
    ({"Hardswish"}, {"hardswish"}),
    ({"Hardsigmoid"}, {"hardsigmoid"}),
    ({"SiLU"}, {"silu"}),
    ({"Sigmoid"}, {"sigmoid"}),
    ({"GELU"}, {"gelu"}),
    ({"MaxPool2d"}, {"maxpool"}),
    ({"AvgPool2d"}, {"avgpool"}),
    ({"AdaptiveAvgPool2d"}, {"adaptive_avgpool", "global_avgpool"}),
    ({"Dropout"}, {"dropout"}),
    ({"StochasticDepth"}, {"stochastic_depth"}),
    ({"Flatten"}, {"flatten"}),
    ({"Upsample"}, {"upsample"}),
]
CLASS_FAMILY = {c: i for i, (classes, _) in enumerate(FAMILIES) for c in classes}
KIND_FAMILY = {k: i for i, (_, kinds) in enumerate(FAMILIES) for k in kinds}


def comparable(report: Report, torch_calls: list[list[Any]]) -> tuple[list[Any], list[Any]]:
    """(family, output shape) per layer, from convcalc's rows and from torch's leaf module
    calls, keeping only the families the model runs as modules or recorded functions
    (torchvision calls some flattens and global pools as tensor methods, which no hook sees).
    A torch class outside FAMILIES is a KeyError: a new kind of layer needs a row there."""
    theirs = [[CLASS_FAMILY[c], shape] for _, c, shape, *_ in torch_calls]
    present = {family for family, _ in theirs}
    ours = [[KIND_FAMILY[r.kind], r.output.as_list()] for r in report.rows
            if not r.side and KIND_FAMILY.get(r.kind) in present]
    return ours, theirs


def conv_windows(report: Report, torch_calls: list[list[Any]]) -> tuple[list[Any], list[Any]]:
    """[kh, kw, sh, sw, ph, pw, dh, dw, groups] of every torch Conv2d call and of the convcalc
    layer in the same place (the conv family lines up one to one once the shapes agree): a
    dilation or padding that keeps the shape and the counts shows here."""
    conv = CLASS_FAMILY["Conv2d"]
    rows = [r for r in report.rows if not r.side and KIND_FAMILY.get(r.kind) == conv]
    calls = [call for call in torch_calls if CLASS_FAMILY[call[1]] == conv]
    pairs = [(r.window, call[3]) for r, call in zip(rows, calls, strict=True) if len(call) > 3]
    ours = [[*w.kernel, *w.stride, w.padding[0], w.padding[2], *w.dilation, w.groups]
            for w, _ in pairs if w is not None]
    return ours, [theirs for _, theirs in pairs]


@pytest.mark.parametrize("name", zoo(["resnet50", "mobilenet_v2", "googlenet_torchvision", *ZOO]))
def test_every_layer_shape_equals_the_stored_torch_table(name: str) -> None:
    report = analyze(load(name))
    ours, theirs = comparable(report, TORCH_SHAPES[name])
    assert len(ours) == len(theirs) > 25
    assert ours == theirs
    ours, theirs = conv_windows(report, TORCH_SHAPES[name])
    assert len(ours) == len(theirs) > 5
    assert ours == theirs


def test_resnet50_paths_are_torchvision_module_names() -> None:
    # torchvision calls each block's one ReLU module three times; convcalc names relu1..relu3.
    named = {"Conv2d": {"conv"}, "BatchNorm2d": {"batchnorm"}, "MaxPool2d": {"maxpool"},
             "Linear": {"dense"}}
    theirs = [(path, c) for path, c, *_ in TORCH_SHAPES["resnet50"] if c in named]
    ours = [(r.path, c) for r in analyze(load("resnet50")).rows
            for c, kinds in named.items() if r.kind in kinds]
    assert len(ours) > 100
    assert ours == theirs


def _torch_reference() -> Any:
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    spec = importlib.util.spec_from_file_location("make_torch_reference",
                                                  DATA / "make_torch_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "size"), [
    ("resnet50", 224), ("resnet50", 160), ("mobilenet_v2", 192),
    ("googlenet_torchvision", 224),
])
def test_every_layer_shape_equals_a_live_torch_model(name: str, size: int) -> None:
    reference = _torch_reference()
    _, calls = reference.measure(reference.SHAPES[name], size)
    report = analyze(with_input(load(name), Shape(size, size, 3)))
    ours, theirs = comparable(report, calls)
    assert ours == theirs


def live_size(name: str) -> int:
    """A smaller input than the model's own, so the live checks run fast and --input is tested
    too (Inception v3's auxiliary classifier needs its 17x17 grid: 320 gives 18x18)."""
    return 320 if name == "inception_v3" else 128


@pytest.mark.parametrize("name", zoo(ZOO))
def test_zoo_equals_a_live_torchvision_model(name: str) -> None:
    reference, size = _torch_reference(), live_size(name)
    theirs, calls = reference.measure(reference.ZOO[name], size)
    report = analyze(with_input(load(name), Shape(size, size, 3)))
    assert counts(report) == (theirs["params"], theirs["macs"])
    ours, calls = comparable(report, calls)
    assert ours == calls


# -- convcalc list with about 50 entries ------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("resnet50", "resnet"), ("resnext101_32x8d", "resnext"), ("deeplabv3_resnet50", "deeplab"),
    ("shufflenet_v2_x1_0", "shufflenet"), ("mobilenet_v3_small", "mobilenet"),
    ("efficientnet_b7", "efficientnet"), ("lenet5", "lenet"), ("unet", "unet"),
    ("googlenet_torchvision", "googlenet"), ("vgg11_bn", "vgg"),
])
def test_list_groups_names_by_family(name: str, expected: str) -> None:
    assert family(name) == expected


def test_list_filter_keeps_the_names_containing_it() -> None:
    result = CliRunner().invoke(main, ["list", "--filter", "DenseNet"])
    assert result.exit_code == 0, result.output
    shown = {n for n in builtin_names() if n in result.stdout}
    assert shown == {"densenet121", "densenet161", "densenet169", "densenet201"}


def three_figures(n: int) -> str:
    """A count as `convcalc list` shows it, three significant digits (written here, not
    convcalc's own rounding): 66347960 -> '66.3M', 43040704 -> '43M'."""
    unit, size = next((u, s) for u, s in (("G", 10**9), ("M", 10**6)) if n >= s)
    return f"{n / size:.3g}{unit}"


def test_list_shows_one_row_per_efficientnet_scale_under_torchvisions_name() -> None:
    result = CliRunner().invoke(main, ["list", "--columns", "name,input,params,macs"])
    assert result.exit_code == 0, result.output
    table = [line.split() for line in result.stdout.splitlines()]
    shown = [row for row in table if row and row[0].startswith("efficientnet")]
    names = [f"efficientnet_b{i}" for i in range(8)]
    # torchvision's params, MACs and weights' crop size, stored in tests/data
    assert shown[:8] == [[n, f"{EXTRA[n]['input']}x{EXTRA[n]['input']}x3",
                          three_figures(EXTRA[n]["params"]), three_figures(EXTRA[n]["macs"])]
                         for n in names]
    assert shown[7][2:] == ["66.3M", "37.7G"]  # B7: 66,347,960 params, 37,745,884,192 MACs
    assert [row[0] for row in shown[8:]] == ["efficientnet_v2_s"]  # not the file's own name


def test_the_catalogue_names_each_efficientnet_scale_with_torchvisions_counts() -> None:
    named = [n for n in catalogue_names() if n.startswith("efficientnet_b")]
    assert named == [f"efficientnet_b{i}" for i in range(8)]
    assert "efficientnet" not in catalogue_names()
    scaled = {"efficientnet", "yolov8", "yolo11"}    # listed by their scales' names
    assert set(builtin_names()) - scaled <= set(catalogue_names())
    assert {n: counts(analyze(load(n))) for n in named} == {
        n: (EXTRA[n]["params"], EXTRA[n]["macs"]) for n in named}


def test_list_filter_finds_a_scale_by_its_name() -> None:
    result = CliRunner().invoke(main, ["list", "--filter", "b3", "--columns", "name,params"])
    assert result.exit_code == 0, result.output
    assert [line.split() for line in result.stdout.splitlines()][2:] == [
        ["efficientnet_b3", three_figures(EXTRA["efficientnet_b3"]["params"])]]


def test_list_filter_without_a_match_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["list", "--filter", "nosuchnet"])
    assert result.exit_code == 2
    assert "no built-in architecture name contains 'nosuchnet'" in result.output
