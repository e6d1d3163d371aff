"""Prints convcalc's params and MACs for every built-in architecture beside torchvision's,
as a markdown table; needs torch and torchvision, e.g. in a virtual environment ``tv`` made with
``python3 -m venv tv && tv/bin/pip install torch torchvision pyyaml click rich numpy``:

    tv/bin/python benchmarks/zoo_vs_torchvision.py

torchvision is counted as in tests/data/make_torch_reference.py (whose helpers this reuses):
weights=None, eval mode, one 3x224x224 image, macs = torch.utils.flop_counter total // 2.
"""

import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcalc import analyze, builtin_names, load, with_width  # noqa: E402

# zoo name (and width) -> torchvision builder and its keyword arguments
TORCHVISION: dict[tuple[str, float], tuple[str, dict[str, Any]]] = {
    ("alexnet", 1.0): ("alexnet", {}),
    ("vgg16", 1.0): ("vgg16", {}),
    ("resnet18", 1.0): ("resnet18", {}),
    ("resnet34", 1.0): ("resnet34", {}),
    ("resnet50", 1.0): ("resnet50", {}),
    ("resnet101", 1.0): ("resnet101", {}),
    ("resnet152", 1.0): ("resnet152", {}),
    ("googlenet_torchvision", 1.0): ("googlenet", {"aux_logits": False, "init_weights": False}),
    ("mobilenet_v2", 1.0): ("mobilenet_v2", {}),
    ("mobilenet_v2", 0.5): ("mobilenet_v2", {"width_mult": 0.5}),
    ("mobilenet_v2", 1.4): ("mobilenet_v2", {"width_mult": 1.4}),
}


def torch_reference() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_torch_reference", ROOT / "tests" / "data" / "make_torch_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TORCH_MISSING = ("needs torch and torchvision, which this Python lacks: run it with one that has "
                 "them (see the Development section of README.md)")


def main() -> None:
    if not all(importlib.util.find_spec(name) for name in ("torch", "torchvision")):
        sys.exit(f"{Path(__file__).name} {TORCH_MISSING}")
    reference = torch_reference()
    print("| architecture | width | convcalc params | torchvision params "
          "| convcalc MACs | torchvision MACs | equal |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    runs = sorted({*((n, 1.0) for n in builtin_names()), *TORCHVISION})
    for name, width in runs:
        totals = analyze(with_width(load(name), width) if width != 1.0 else load(name)).totals
        if (name, width) in TORCHVISION:
            builder, kwargs = TORCHVISION[name, width]
            theirs = reference.counts(reference.build(builder, kwargs))
            cells = (f"{theirs['params']:,}", f"{theirs['macs']:,}",
                     "yes" if (totals.params, totals.macs) == (theirs["params"], theirs["macs"])
                     else "NO")
        else:
            cells = ("-", "-", "no torchvision model")
        print(f"| {name} | {width:g} | {totals.params:,} | {cells[0]} | {totals.macs:,} "
              f"| {cells[1]} | {cells[2]} |")


if __name__ == "__main__":
    main()
