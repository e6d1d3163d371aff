"""Writes transformer_counts.json: torch's params and MACs of the transformer zoo, which
tests/test_zoo_transformers.py compares convcalc's files with (the suite needs no torch).

Run with torch, torchvision and timm installed: `python tests/data/make_transformer_counts.py`.
params = sum(p.numel()); MACs = FlopCounterMode // 2 with the attention fast path off and CPU's
fused attention counted by torch's own sdpa_flop_count (conftest.torch_macs, the rule every
stored torch number follows). Models are built on the meta device: shapes only, no weights.
"""

import json
import sys
from pathlib import Path

import timm
import torch
import torchvision
from torchvision import models

sys.path.insert(0, str(Path(__file__).parent.parent))
from conftest import torch_macs

TORCHVISION = ["vit_b_16", "vit_b_32", "vit_l_16", "vit_h_14", "swin_t", "swin_s",
               "swin_v2_t", "maxvit_t"]
TIMM = ["mobilevit_xxs", "mobilevit_xs", "mobilevit_s", "mobilenetv4_hybrid_medium"]
# The input each builder is made for: its weights' crop size.
TORCHVISION_INPUT = {"swin_v2_t": 256}
# vit_b_16 under --width 0.5 and --depth-multiplier 0.5: torchvision's VisionTransformer with
# half the features (12 heads of 32) or half the layers.
VARIANTS = {
    "vit_b_16_width0.5": {"num_layers": 12, "num_heads": 12, "hidden_dim": 384,
                          "mlp_dim": 1536},
    "vit_b_16_depth0.5": {"num_layers": 6, "num_heads": 12, "hidden_dim": 768,
                          "mlp_dim": 3072},
}


def count(model: torch.nn.Module, size: int) -> dict[str, int]:
    with torch.device("meta"):
        x = torch.zeros(1, 3, size, size)
    macs, _ = torch_macs(model.eval(), x)
    return {"input": size, "params": sum(p.numel() for p in model.parameters()), "macs": macs}


def main() -> None:
    out: dict[str, dict[str, int]] = {}
    for name in TORCHVISION:
        with torch.device("meta"):
            model = getattr(models, name)(weights=None)
        out[name] = count(model, TORCHVISION_INPUT.get(name, 224))
        print(name, out[name], flush=True)
    for name, config in VARIANTS.items():
        with torch.device("meta"):
            model = models.VisionTransformer(image_size=224, patch_size=16, **config)
        out[name] = count(model, 224)
        print(name, out[name], flush=True)
    for name in TIMM:
        with torch.device("meta"):
            model = timm.create_model(name, pretrained=False)
        out[name] = count(model, model.pretrained_cfg["input_size"][-1])
        print(name, out[name], flush=True)
    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__,
                "timm": timm.__version__}
    path = Path(__file__).with_name("transformer_counts.json")
    path.write_text(json.dumps({"versions": versions, "models": out}, indent=1) + "\n")


if __name__ == "__main__":
    main()
