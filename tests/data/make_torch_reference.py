"""Writes the PyTorch numbers the zoo tests compare against; run it with torchvision installed:

    tv/bin/python tests/data/make_torch_reference.py

It writes, next to itself:
- torchvision_extra_counts.json: params and MACs of the torchvision models that
  torchvision_counts.json (the shared reference) leaves out;
- torch_shapes.json: the output shape of every leaf module in call order, for the per-layer
  shape tests.

Counting as in torchvision_counts.json: weights=None, eval mode, batch 1, 3x224x224;
params = sum(p.numel() for p in model.parameters()); macs = torch.utils.flop_counter's total
// 2 (multiplies of convolutions and linear layers, no bias). tests/test_zoo.py imports
``leaf_shapes`` from here to check against a live model too.
"""

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

# name in the JSON -> (torchvision builder, keyword arguments, train mode?)
COUNTED: dict[str, tuple[str, dict[str, Any], bool]] = {
    "resnet101": ("resnet101", {}, False),
    "resnet152": ("resnet152", {}, False),
    "mobilenet_v2_width0.5": ("mobilenet_v2", {"width_mult": 0.5}, False),
    "mobilenet_v2_width1.4": ("mobilenet_v2", {"width_mult": 1.4}, False),
    # Training mode runs both auxiliary classifiers: convcalc's googlenet_torchvision with
    # include_side=True.
    "googlenet_aux_train": ("googlenet", {"aux_logits": True, "init_weights": False}, True),
}
SHAPES: dict[str, tuple[str, dict[str, Any]]] = {
    "resnet50": ("resnet50", {}),
    "mobilenet_v2": ("mobilenet_v2", {}),
    "googlenet_torchvision": ("googlenet", {"aux_logits": False, "init_weights": False}),
}


def build(builder: str, kwargs: dict[str, Any]) -> Any:
    """A torchvision model without pretrained weights."""
    import torchvision

    return getattr(torchvision.models, builder)(weights=None, **kwargs)


def counts(model: Any, train: bool = False) -> dict[str, int]:
    """params and macs of a model on one 3x224x224 image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.train(train)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    return {"params": sum(p.numel() for p in model.parameters()),
            "macs": counter.get_total_flops() // 2}


def leaf_shapes(model: Any, size: int = 224) -> list[list[Any]]:
    """[module path, class name, output shape] of every leaf module call, in call order;
    shapes are [h, w, c] for images and [n] for flat vectors, as convcalc writes them."""
    import torch

    calls: list[list[Any]] = []

    def hook(name: str) -> Any:
        def record(module: Any, inputs: Any, out: Any) -> None:
            shape = list(out.shape[1:])
            calls.append([name, type(module).__name__,
                          [shape[1], shape[2], shape[0]] if len(shape) == 3 else shape])
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules()
               if not list(m.children())]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for handle in handles:
        handle.remove()
    return calls


def main() -> None:
    import importlib.util

    if not all(importlib.util.find_spec(name) for name in ("torch", "torchvision")):
        sys.exit("make_torch_reference.py needs torch and torchvision, which this Python lacks: "
                 "run it with one that has them (see the Development section of README.md)")
    import torch
    import torchvision

    versions = f"torch {torch.__version__}, torchvision {torchvision.__version__}"
    extra = {
        "about": f"Made by tests/data/make_torch_reference.py ({versions}); counted as in "
                 "torchvision_counts.json. googlenet_aux_train is googlenet(aux_logits=True) "
                 "in training mode, so both auxiliary classifiers run.",
        "models": {name: counts(build(builder, kwargs), train)
                   for name, (builder, kwargs, train) in COUNTED.items()},
    }
    shapes = {
        "about": f"Made by tests/data/make_torch_reference.py ({versions}): "
                 "[module, class, output [h, w, c] or [n]] per leaf module call, eval mode, "
                 "one 3x224x224 image.",
        "models": {name: leaf_shapes(build(builder, kwargs))
                   for name, (builder, kwargs) in SHAPES.items()},
    }
    (HERE / "torchvision_extra_counts.json").write_text(json.dumps(extra, indent=1) + "\n")
    (HERE / "torch_shapes.json").write_text(json.dumps(shapes) + "\n")
    json.dump(extra["models"], sys.stdout, indent=1)


if __name__ == "__main__":
    main()
