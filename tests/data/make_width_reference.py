"""Writes torchvision's own width multipliers' numbers, which ``--width`` must equal; run it
from the repository root with torchvision installed (a few seconds):

    tv/bin/python tests/data/make_width_reference.py

It writes torchvision_width_counts.json next to itself: for each family torchvision builds
with one multiplier (mobilenet_v2 and mobilenet_v3_large/small's ``width_mult``, MNASNet's
``alpha``) and each multiplier in WIDTHS, the params and MACs of the model on one 3x224x224
image, counted as make_torch_reference.py counts (weights=None, eval mode, meta device,
params = sum of numel, macs = torch.utils.flop_counter's total // 2). tests/test_width.py
rebuilds them with torch when it is installed.
"""

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
WIDTHS = (0.5, 0.75, 1.4)

# convcalc's built-in name -> (torchvision builder, the keyword of its multiplier).
FAMILIES: dict[str, tuple[str, str]] = {
    "mobilenet_v2": ("mobilenet_v2", "width_mult"),
    "mobilenet_v3_large": ("mobilenet_v3_large", "width_mult"),
    "mobilenet_v3_small": ("mobilenet_v3_small", "width_mult"),
    "mnasnet1_0": ("MNASNet", "alpha"),
}


def model(name: str, width: float) -> Any:
    """torchvision's model of the family ``name`` at multiplier ``width``, without weights."""
    from torchvision import models

    builder, keyword = FAMILIES[name]
    if builder == "MNASNet":  # mnasnet0_5 ... mnasnet1_3 are MNASNet(alpha) without weights
        return models.MNASNet(**{keyword: width})
    return getattr(models, builder)(weights=None, **{keyword: width})


def counts(name: str, width: float) -> dict[str, int]:
    """params and macs of the family ``name`` at ``width`` on one 3x224x224 image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        built = model(name, width).eval()
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            built(torch.zeros(1, 3, 224, 224))
    return {"params": sum(p.numel() for p in built.parameters()),
            "macs": counter.get_total_flops() // 2}


def main() -> None:
    import torch
    import torchvision

    table = {name: {str(w): counts(name, w) for w in WIDTHS} for name in FAMILIES}
    document = {"generator": "tests/data/make_width_reference.py",
                "torch": torch.__version__, "torchvision": torchvision.__version__,
                "input": 224, "multipliers": {n: k for n, (_, k) in FAMILIES.items()},
                "models": table}
    (HERE / "torchvision_width_counts.json").write_text(json.dumps(document, indent=1) + "\n")
    json.dump(table, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
