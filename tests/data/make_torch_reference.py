"""Writes the PyTorch numbers the zoo tests compare against; run it from the repository root
with torchvision installed (about a minute):

    tv/bin/python tests/data/make_torch_reference.py

It writes, next to itself:
- torchvision_extra_counts.json: params and MACs of every torchvision model the zoo follows
  that torchvision_counts.json (the shared reference) leaves out, each at its own input size;
- torch_shapes.json: the output shape of every leaf module call in call order, for the
  per-layer shape tests.

Counting as in torchvision_counts.json: weights=None (and weights_backbone=None), eval mode,
batch 1, a 3xRxR image at the model's own size R; params = sum(p.numel() for p in
model.parameters()); macs = torch.utils.flop_counter's total // 2 (multiplies of convolutions
and linear layers, no bias). tests/test_zoo.py imports ``leaf_shapes`` from here to check
against a live model too.
"""

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

# A model: (torchvision builder under torchvision.models, keyword arguments, input size).
Model = tuple[str, dict[str, Any], int]

# torchvision's segmentation builders without their auxiliary heads or pretrained backbones.
SEGMENTATION = {"weights_backbone": None, "aux_loss": False}
# EfficientNet's compound scaling: the size each of b0..b7 is defined at (torchvision's
# weights' crop sizes, the paper's Table 2 resolutions).
EFFICIENTNET_SIZES = [224, 240, 260, 300, 380, 456, 528, 600]

ZOO: dict[str, Model] = {
    "mobilenet_v3_small": ("mobilenet_v3_small", {}, 224),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}, 224),
    **{f"efficientnet_b{i}": (f"efficientnet_b{i}", {}, size)
       for i, size in enumerate(EFFICIENTNET_SIZES)},
    "efficientnet_v2_s": ("efficientnet_v2_s", {}, 384),
    **{f"shufflenet_v2_{w}": (f"shufflenet_v2_{w}", {}, 224)
       for w in ("x0_5", "x1_0", "x1_5", "x2_0")},
    "squeezenet1_0": ("squeezenet1_0", {}, 224),
    "squeezenet1_1": ("squeezenet1_1", {}, 224),
    **{f"densenet{n}": (f"densenet{n}", {}, 224) for n in (121, 161, 169, 201)},
    "resnext50_32x4d": ("resnext50_32x4d", {}, 224),
    "resnext101_32x8d": ("resnext101_32x8d", {}, 224),
    "wide_resnet50_2": ("wide_resnet50_2", {}, 224),
    "regnet_x_400mf": ("regnet_x_400mf", {}, 224),
    "regnet_y_400mf": ("regnet_y_400mf", {}, 224),
    "regnet_y_800mf": ("regnet_y_800mf", {}, 224),
    "mnasnet0_5": ("mnasnet0_5", {}, 224),
    "mnasnet1_0": ("mnasnet1_0", {}, 224),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": False}, 299),
    "convnext_tiny": ("convnext_tiny", {}, 224),
    "vgg11": ("vgg11", {}, 224),
    "vgg11_bn": ("vgg11_bn", {}, 224),
    "vgg19": ("vgg19", {}, 224),
    **{name: (f"segmentation.{name}", SEGMENTATION, 224)
       for name in ("fcn_resnet50", "deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large",
                    "lraspp_mobilenet_v3_large")},
}

# name in the JSON -> (model, train mode?): counts only.
COUNTED: dict[str, tuple[Model, bool]] = {
    "resnet101": (("resnet101", {}, 224), False),
    "resnet152": (("resnet152", {}, 224), False),
    "mobilenet_v2_width0.5": (("mobilenet_v2", {"width_mult": 0.5}, 224), False),
    "mobilenet_v2_width1.4": (("mobilenet_v2", {"width_mult": 1.4}, 224), False),
    # Training mode runs the auxiliary classifiers: convcalc's side branches with
    # include_side=True.
    "googlenet_aux_train": (("googlenet", {"aux_logits": True, "init_weights": False}, 224),
                            True),
    "inception_v3_aux_train": (("inception_v3", {"aux_logits": True, "init_weights": False},
                                299), True),
    **{name: (model, False) for name, model in ZOO.items()},
}
SHAPES: dict[str, Model] = {
    "resnet50": ("resnet50", {}, 224),
    "mobilenet_v2": ("mobilenet_v2", {}, 224),
    "googlenet_torchvision": ("googlenet", {"aux_logits": False, "init_weights": False}, 224),
    **ZOO,
}

# Functions torchvision calls in forward() instead of a module, recorded like the module
# of the same class so that no layer of a kind goes missing from the sequence (DenseNet's
# last ReLU, Inception v3's pools, GoogLeNet's BasicConv2d ReLUs).
FUNCTIONS = {"relu": "ReLU", "max_pool2d": "MaxPool2d", "avg_pool2d": "AvgPool2d",
             "adaptive_avg_pool2d": "AdaptiveAvgPool2d"}


def build(builder: str, kwargs: dict[str, Any]) -> Any:
    """A torchvision model without pretrained weights; ``builder`` is a (dotted) name under
    torchvision.models. Called under ``torch.device("meta")`` (as ``measure`` does), the
    model has shapes but no data: no weight initialization, and a forward pass that only
    propagates shapes, with the same counts and shapes as on the CPU, much faster."""
    import torchvision

    factory: Any = torchvision.models
    for part in builder.split("."):
        factory = getattr(factory, part)
    return factory(weights=None, **kwargs)


def measure(model: Model, size: int | None = None,
            train: bool = False) -> tuple[dict[str, int], list[list[Any]]]:
    """counts and leaf_shapes of a model at ``size`` (by default its own), on the meta device."""
    import torch

    builder, kwargs, own = model
    if builder.startswith("regnet"):
        # RegNet's builder computes its stage widths with tensors, which need data: it is
        # built on the CPU (small models, a fast initialization) and moved.
        built = build(builder, kwargs).to("meta")
    with torch.device("meta"):
        if not builder.startswith("regnet"):
            built = build(builder, kwargs)
        return counts(built, size or own, train), leaf_shapes(built, size or own)


def counts(model: Any, size: int = 224, train: bool = False) -> dict[str, int]:
    """params and macs of a model on one 3 x size x size image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.train(train)
    # In training mode batch norm on Inception v3's 1x1 auxiliary features refuses one
    # image; its statistics do not change any count, so batch norms stay in eval.
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return {"params": sum(p.numel() for p in model.parameters()),
            "macs": counter.get_total_flops() // 2}


def leaf_shapes(model: Any, size: int = 224) -> list[list[Any]]:
    """[module path, class name, output shape] of every leaf module call, in call order (and,
    for a Conv2d, its [kh, kw, sh, sw, ph, pw, dh, dw, groups]), and
    of the FUNCTIONS called outside a leaf module (path ``PARENT:F.name``); shapes are
    [h, w, c] for images and [n] for flat vectors, as convcalc writes them. Permute modules
    (ConvNeXt's channels-last MLP) only change the layout, so they are not recorded, and the
    layers between two of them are read channels-last."""
    import torch
    from torch.overrides import TorchFunctionMode

    calls: list[list[Any]] = []
    stack: list[str] = []          # the modules being called, innermost last
    leaves = {m for m in model.modules() if not list(m.children())}
    channels_last = [False]

    def as_hwc(out: Any) -> list[int]:
        shape = list(out.shape[1:])
        if len(shape) == 3 and not channels_last[0]:
            return [shape[1], shape[2], shape[0]]
        return shape

    def window(module: Any) -> list[list[int]]:
        # A convolution's geometry, which no count or shape shows when it changes only the
        # dilation (DeepLab's atrous convs): [kh, kw, sh, sw, ph, pw, dh, dw, groups].
        if not isinstance(module, torch.nn.Conv2d):
            return []
        return [[*module.kernel_size, *module.stride, *module.padding, *module.dilation,
                 module.groups]]

    def enter(name: str) -> Any:
        def push(module: Any, inputs: Any) -> None:
            stack.append(name)
        return push

    def leave(name: str) -> Any:
        def record(module: Any, inputs: Any, out: Any) -> None:
            stack.pop()
            if type(module).__name__ == "Permute":
                channels_last[0] = list(module.dims) == [0, 2, 3, 1]
            elif module in leaves:
                calls.append([name, type(module).__name__, as_hwc(out), *window(module)])
        return record

    class Functions(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            name = getattr(func, "__name__", "").lstrip("_")
            inside_leaf = bool(stack) and modules[stack[-1]] in leaves
            if name in FUNCTIONS and not inside_leaf:
                calls.append([f"{stack[-1] if stack else ''}:F.{name}", FUNCTIONS[name],
                              as_hwc(out)])
            return out

    modules = dict(model.named_modules())
    handles = [h for n, m in modules.items()
               for h in (m.register_forward_pre_hook(enter(n)), m.register_forward_hook(leave(n)))]
    model.eval()
    with torch.no_grad(), Functions():
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
    models = {}
    for name, (model, train) in COUNTED.items():
        models[name] = {**measure(model, train=train)[0], "input": model[2]}
        print(name, models[name], file=sys.stderr)
    extra = {
        "about": f"Made by tests/data/make_torch_reference.py ({versions}); counted as in "
                 "torchvision_counts.json, at each model's own input size (input). "
                 "*_aux_train is the model with aux_logits=True in training mode, so its "
                 "auxiliary classifiers run.",
        "models": models,
    }
    shapes = {
        "about": f"Made by tests/data/make_torch_reference.py ({versions}): "
                 "[module, class, output [h, w, c] or [n], and for Conv2d [kh, kw, sh, sw, ph, "
                 "pw, dh, dw, groups]] per leaf module call (and per pooling or ReLU function "
                 "called outside one), eval mode, one image at the model's own input size.",
        "models": {name: measure(model)[1] for name, model in SHAPES.items()},
    }
    (HERE / "torchvision_extra_counts.json").write_text(
        "{\n" + f' "about": {json.dumps(extra["about"])},\n "models": {{\n'
        + ",\n".join(f"  {json.dumps(n)}: {json.dumps(c)}" for n, c in models.items())
        + "\n }\n}\n")
    (HERE / "torch_shapes.json").write_text(
        "{" + f'"about": {json.dumps(shapes["about"])},\n"models": {{\n'
        + ",\n".join(f"{json.dumps(n)}: {json.dumps(c, separators=(',', ':'))}"
                     for n, c in shapes["models"].items())
        + "\n}}\n")


if __name__ == "__main__":
    main()
