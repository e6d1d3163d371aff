"""Writes the PyTorch numbers of the built-in architectures that follow timm and Ultralytics
models; run it from the repository root with torch, timm and ultralytics installed (about a
minute):

    tv/bin/python tests/data/make_zoo_reference.py

It writes zoo_libraries.json next to itself: for each model its library and version, input
size, params and MACs, the leaf calls (as make_torch_reference.py records them) and, for the
YOLO detectors, the same counts of the Detect head's DFL alone.

Counting as in make_torch_reference.py: no pretrained weights, eval mode, batch 1, a 3xRxR
image; params = sum(p.numel() for p in model.parameters()); macs = torch.utils.flop_counter's
total // 2. Ultralytics' models are DetectionModel(cfg) built from the library's own model
YAML with the scale in its name (yolov8n.yaml is yolov8.yaml at scale n), not fused. Their
model.info() GFLOPs come from thop, not from this counter, and differ.
tests/test_zoo_libraries.py imports ``measure`` from here to check against live models too.
"""

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

# name -> (library, the library's model name, input size). timm's sizes are its
# default_cfg input sizes; Ultralytics' models are defined at 640.
MODELS: dict[str, tuple[str, str, int]] = {
    "mobilenetv4_conv_small": ("timm", "mobilenetv4_conv_small", 224),
    "mobilenetv4_conv_medium": ("timm", "mobilenetv4_conv_medium", 256),
    **{f"yolov8{s}": ("ultralytics", f"yolov8{s}.yaml", 640) for s in "nsmlx"},
    **{f"yolo11{s}": ("ultralytics", f"yolo11{s}.yaml", 640) for s in "nsmlx"},
}


def build(library: str, name: str) -> Any:
    """The model, without pretrained weights, in eval mode."""
    if library == "timm":
        import timm

        return timm.create_model(name, pretrained=False).eval()
    from ultralytics.nn.tasks import DetectionModel

    return DetectionModel(name, verbose=False).eval()


def family(module: Any) -> str | None:
    """The family a module call is recorded under (the class names tests/test_zoo.py's
    FAMILIES lists), or None for modules that are not recorded."""
    from torch import nn

    families = [(nn.Conv2d, "Conv2d"), (nn.Linear, "Linear"),
                (nn.modules.batchnorm._BatchNorm, "BatchNorm2d"), (nn.ReLU, "ReLU"),
                (nn.SiLU, "SiLU"), (nn.MaxPool2d, "MaxPool2d"),
                (nn.AdaptiveAvgPool2d, "AdaptiveAvgPool2d"), (nn.Flatten, "Flatten"),
                (nn.Upsample, "Upsample")]
    return next((name for cls, name in families if isinstance(module, cls)), None)


def counts(model: Any, size: int) -> dict[str, int]:
    """params and macs of a model on one 3 x size x size image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return {"params": sum(p.numel() for p in model.parameters()),
            "macs": counter.get_total_flops() // 2}


def dfl_counts(model: Any, size: int) -> dict[str, int]:
    """params and macs of the Detect head's DFL on its [1, 64, anchors] input (anchors: the
    positions of the three scales, strides 8, 16 and 32)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    dfl = model.model[-1].dfl
    anchors = sum((size // s) ** 2 for s in (8, 16, 32))
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        dfl(torch.zeros(1, 4 * dfl.c1, anchors))
    return {"params": sum(p.numel() for p in dfl.parameters()),
            "macs": counter.get_total_flops() // 2}


def calls(model: Any, size: int) -> list[list[Any]]:
    """[module path, family, output shape] of every call of a recorded module, in call order
    (and, for a Conv2d, its [kh, kw, sh, sw, ph, pw, dh, dw, groups]); shapes are [h, w, c]
    or [n] as convcalc writes them. A batch norm is recorded when it is entered (its output
    has its input's shape), so that timm's BatchNormAct2d comes before the activation it
    holds."""
    import torch

    recorded: list[list[Any]] = []

    def as_hwc(shape: Any) -> list[int]:
        dims = list(shape[1:])
        return [dims[1], dims[2], dims[0]] if len(dims) == 3 else dims

    def window(module: Any) -> list[list[int]]:
        if not isinstance(module, torch.nn.Conv2d):
            return []
        return [[*module.kernel_size, *module.stride, *module.padding, *module.dilation,
                 module.groups]]

    def before(name: str, kind: str) -> Any:
        def record(module: Any, inputs: Any) -> None:
            recorded.append([name, kind, as_hwc(inputs[0].shape)])
        return record

    def after(name: str, kind: str) -> Any:
        def record(module: Any, inputs: Any, out: Any) -> None:
            recorded.append([name, kind, as_hwc(out.shape), *window(module)])
        return record

    handles = []
    for name, module in model.named_modules():
        kind = family(module)
        if kind == "BatchNorm2d":
            handles.append(module.register_forward_pre_hook(before(name, kind)))
        elif kind is not None:
            handles.append(module.register_forward_hook(after(name, kind)))
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for handle in handles:
        handle.remove()
    return recorded


def measure(name: str, size: int | None = None) -> dict[str, Any]:
    """counts, leaf calls and (for a detector) DFL counts of a model at ``size`` (by default
    its own)."""
    library, model_name, own = MODELS[name]
    model = build(library, model_name)
    size = size or own
    result = {**counts(model, size), "calls": calls(model, size)}
    if library == "ultralytics":
        result["dfl"] = dfl_counts(model, size)
    return result


def main() -> None:
    import importlib.util

    if not all(importlib.util.find_spec(n) for n in ("torch", "timm", "ultralytics")):
        sys.exit("make_zoo_reference.py needs torch, timm and ultralytics, which this Python "
                 "lacks: run it with one that has them")
    import timm
    import torch
    import ultralytics

    versions = (f"torch {torch.__version__}, timm {timm.__version__}, "
                f"ultralytics {ultralytics.__version__}")
    models = {}
    for name, (library, model_name, size) in MODELS.items():
        models[name] = {"library": library, "model": model_name, "input": size,
                        **measure(name)}
        print(name, {k: v for k, v in models[name].items() if k != "calls"}, file=sys.stderr)
    about = (f"Made by tests/data/make_zoo_reference.py ({versions}): params, macs "
             "(FlopCounterMode // 2), the recorded module calls [path, family, output [h, w, c] "
             "or [n], Conv2d window] in call order, eval mode, one image at input x input; "
             "dfl: the Detect head's DFL alone.")
    (HERE / "zoo_libraries.json").write_text(
        "{" + f'"about": {json.dumps(about)},\n"models": {{\n'
        + ",\n".join(f"{json.dumps(n)}: {json.dumps(m, separators=(',', ':'))}"
                     for n, m in models.items())
        + "\n}}\n")


if __name__ == "__main__":
    main()
