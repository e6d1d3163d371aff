"""The transformers of the zoo against PyTorch: params and MACs equal torch's, stored in
tests/data/transformer_counts.json by tests/data/make_transformer_counts.py (torch 2.14.1,
torchvision 0.29.1, timm 1.0.31) and rebuilt live where torch is installed."""

import json

import pytest
from conftest import DATA, torch_macs
from test_fit import fits, in_terminal

from convcalc.analysis.report import analyze
from convcalc.analysis.variants import with_input, with_width
from convcalc.formats.loader import builtin_names, load
from convcalc.graph.shapes import Shape
from convcalc.reference import verify

STORED = json.loads((DATA / "transformer_counts.json").read_text())["models"]
BUILT = sorted(set(STORED) & set(builtin_names()))


def test_the_transformers_are_built_in() -> None:
    assert {"vit_b_16", "vit_b_32", "vit_l_16", "vit_h_14", "swin_t", "swin_s",
            "swin_v2_t", "maxvit_t", "mobilevit_xxs", "mobilevit_xs", "mobilevit_s",
            "mobilenetv4_hybrid_medium"} <= set(BUILT)


@pytest.mark.parametrize("name", BUILT)
def test_counts_equal_torchs_stored_numbers(name: str) -> None:
    report = analyze(load(name))
    assert report.input == Shape(STORED[name]["input"], STORED[name]["input"], 3)
    assert (report.totals.params, report.totals.macs) == (STORED[name]["params"],
                                                          STORED[name]["macs"])


def test_vit_b_16_by_the_papers_formula() -> None:
    # Dosovitskiy et al. 2021, Table 1: 12 layers, d 768, MLP 3072; 196 patches + 1 token.
    n, d, mlp, layers = 197, 768, 3072, 12
    layer_params = 2 * 2 * d + 4 * d * d + 4 * d + 2 * d * mlp + mlp + d
    params = 3 * 16 * 16 * d + d + d + n * d + layers * layer_params + 2 * d + d * 1000 + 1000
    layer_macs = 4 * n * d * d + 2 * n * n * d + 2 * n * d * mlp
    macs = 196 * 3 * 16 * 16 * d + layers * layer_macs + d * 1000
    report = analyze(load("vit_b_16"))
    assert (report.totals.params, report.totals.macs) == (params, macs)


@pytest.mark.parametrize("name", BUILT)
def test_torch_counts_the_same_live(name: str) -> None:
    torch = pytest.importorskip("torch")
    if name.startswith(("vit", "swin", "maxvit")):
        from torchvision import models
        build = getattr(models, name)
    else:
        timm = pytest.importorskip("timm")
        build = lambda weights: timm.create_model(name, pretrained=False)  # noqa: E731
    with torch.device("meta"):
        model = build(weights=None).eval()
        size = STORED[name]["input"]
        x = torch.zeros(1, 3, size, size)
    macs, _ = torch_macs(model, x)
    assert (sum(p.numel() for p in model.parameters()), macs) == (STORED[name]["params"],
                                                                  STORED[name]["macs"])


@pytest.mark.parametrize(("name", "size"), [("vit_b_32", 64), ("swin_t", 64),
                                            ("swin_v2_t", 64), ("mobilevit_xxs", 64),
                                            ("mobilenetv4_hybrid_medium", 64)])
def test_transformers_verify_against_the_numpy_reference(name: str, size: int) -> None:
    report = analyze(with_input(load(name), Shape(size, size, 3)))
    checks = verify(report)
    assert [c.path for c in checks if not c.ok] == []


def test_vit_b_16_table_stays_whole_in_80_columns() -> None:
    lines = in_terminal(80, "analyze", "vit_b_16")
    fits(lines, 80)
    text = "\n".join(lines)
    assert "86,567,656 params" in text and "17,563,828,224 MACs" in text
    words = set(text.split())
    assert {"layers.11.self_attention", "197x768", "768", "head"} <= words


@pytest.mark.parametrize(("variant", "change"), [
    ("vit_b_16_width0.5", {"width": 0.5}), ("vit_b_16_depth0.5", {"depth": 0.5})])
def test_width_and_depth_multipliers_scale_a_transformer_as_torch(
        variant: str, change: dict[str, float]) -> None:
    # torchvision's VisionTransformer with hidden 384 / MLP 1536, or with 6 layers.
    arch = (with_width(load("vit_b_16"), change["width"]) if "width" in change else
            load("vit_b_16", depth=change["depth"]))
    report = analyze(arch)
    assert (report.totals.params, report.totals.macs) == (STORED[variant]["params"],
                                                          STORED[variant]["macs"])
