"""Prints convcalc's params and MACs for every built-in architecture beside a live
torchvision's, as a markdown table; needs torch and torchvision, e.g. in a virtual environment
``tv`` made with ``python3 -m venv tv && tv/bin/pip install torch torchvision pyyaml click rich
numpy``. From the repository root:

    tv/bin/python benchmarks/zoo_vs_torchvision.py

torchvision is counted as in tests/data/make_torch_reference.py (whose helpers this reuses):
weights=None, eval mode, one image at the model's own input size, macs =
torch.utils.flop_counter total // 2, on the meta device (shapes only, the same counts).
"""

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcalc import analyze, builtin_names, load, with_width  # noqa: E402


def torch_reference() -> Any:
    """tests/data/make_torch_reference.py as a module."""
    spec = importlib.util.spec_from_file_location(
        "make_torch_reference", ROOT / "tests" / "data" / "make_torch_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runs(reference: Any) -> dict[tuple[str, float, bool], tuple[Any, bool]]:
    """(zoo name, width, side branches counted?) -> (torchvision model, training mode?)."""
    counted = reference.COUNTED
    table: dict[tuple[str, float, bool], tuple[Any, bool]] = {
        (name, 1.0, False): (model, False) for name, model in reference.SHAPES.items()}
    table.update({
        ("alexnet", 1.0, False): (("alexnet", {}, 224), False),
        ("vgg16", 1.0, False): (("vgg16", {}, 224), False),
        ("resnet18", 1.0, False): (("resnet18", {}, 224), False),
        ("resnet34", 1.0, False): (("resnet34", {}, 224), False),
        ("resnet101", 1.0, False): counted["resnet101"],
        ("resnet152", 1.0, False): counted["resnet152"],
        ("mobilenet_v2", 0.5, False): counted["mobilenet_v2_width0.5"],
        ("mobilenet_v2", 1.4, False): counted["mobilenet_v2_width1.4"],
        ("googlenet_torchvision", 1.0, True): counted["googlenet_aux_train"],
        ("inception_v3", 1.0, True): counted["inception_v3_aux_train"],
        ("mnasnet1_0", 0.5, False): counted["mnasnet0_5"],
        ("efficientnet", 1.0, False): counted["efficientnet_b0"],   # the file: its B0
    })
    return table


def natural(run: tuple[str, float, bool]) -> tuple[Any, ...]:
    """Sort key: resnet18 before resnet101, then width and side."""
    return ([int(t) if t.isdigit() else t for t in re.split(r"(\d+)", run[0])], *run[1:])


TORCH_MISSING = ("needs torch and torchvision, which this Python lacks: run it with one that has "
                 "them (see docs/contributing.md)")


def main() -> None:
    """Print the table, one row per run; 'NO' marks a difference."""
    if not all(importlib.util.find_spec(name) for name in ("torch", "torchvision")):
        sys.exit(f"{Path(__file__).name} {TORCH_MISSING}")
    reference = torch_reference()
    table = runs(reference)
    print("| architecture | width | side | convcalc params | torchvision params "
          "| convcalc MACs | torchvision MACs | equal |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | --- |")
    every = {*((n, 1.0, False) for n in builtin_names()), *table}
    for name, width, side in sorted(every, key=natural):
        arch = with_width(load(name), width) if width != 1.0 else load(name)
        totals = analyze(arch, include_side=side).totals
        if (name, width, side) in table:
            model, train = table[name, width, side]
            theirs, _ = reference.measure(model, train=train)
            same = (totals.params, totals.macs) == (theirs["params"], theirs["macs"])
            cells = (f"{theirs['params']:,}", f"{theirs['macs']:,}", "yes" if same else "NO")
        else:
            cells = ("-", "-", "no torchvision model")
        print(f"| {name} | {width:g} | {'yes' if side else ''} | {totals.params:,} "
              f"| {cells[0]} | {totals.macs:,} | {cells[1]} | {cells[2]} |")


if __name__ == "__main__":
    main()
