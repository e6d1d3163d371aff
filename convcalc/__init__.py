"""convcalc: what a convolutional network costs before you train it.

    import convcalc
    report = convcalc.analyze(convcalc.load("resnet50"))
    report.totals.macs   # 4089184256
    print(report)        # the per-layer table; a notebook shows it as HTML
    print(convcalc.table("resnet50", input=160, depth=1))   # load + analyze + render
    convcalc.draw("resnet50", depth=2)   # the layer graph; a notebook shows the SVG

The numpy reference (``convcalc.reference.verify``) is imported on its own, so that importing
convcalc never imports numpy.
"""

import importlib
from typing import TYPE_CHECKING, Any

from convcalc.analysis.report import LayerRow, Report, Totals, analyze
from convcalc.analysis.roofline import Device
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import builtin_names, load, parse
from convcalc.graph.architecture import Architecture, Node
from convcalc.graph.expr import make_divisible
from convcalc.graph.shapes import Shape, output_size
from convcalc.present import reprs  # noqa: F401  (registers how results print and display)

if TYPE_CHECKING:
    from convcalc.analysis.summary import Summary, summarize
    from convcalc.analysis.variants import (
        Comparison,
        LayerComparison,
        Sweep,
        compare,
        compare_designs,
        convert,
        sweep,
        with_input,
        with_width,
    )
    from convcalc.formats.profiles import devices, load_device
    from convcalc.present.explain import explain
    from convcalc.quick import draw, table

# Imported on first use (PEP 562), so that `convcalc analyze`, which starts by importing this
# package, does not build the summary's and the variants' records or read the device
# profiles' and the explanations' code.
_LAZY = {"explain": "convcalc.present.explain", "load_device": "convcalc.formats.profiles",
         "devices": "convcalc.formats.profiles",
         "table": "convcalc.quick", "draw": "convcalc.quick",
         "Summary": "convcalc.analysis.summary", "summarize": "convcalc.analysis.summary",
         **dict.fromkeys(("Comparison", "LayerComparison", "Sweep", "compare", "compare_designs",
                          "convert", "sweep", "with_input", "with_width"),
                         "convcalc.analysis.variants")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'convcalc' has no attribute '{name}'")


__all__ = [
    "Architecture",
    "Comparison",
    "ConvcalcError",
    "Device",
    "LayerComparison",
    "LayerRow",
    "Node",
    "Report",
    "Shape",
    "Summary",
    "Sweep",
    "Totals",
    "analyze",
    "builtin_names",
    "compare",
    "compare_designs",
    "convert",
    "devices",
    "draw",
    "explain",
    "load",
    "load_device",
    "make_divisible",
    "output_size",
    "parse",
    "summarize",
    "sweep",
    "table",
    "with_input",
    "with_width",
]
