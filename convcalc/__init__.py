"""convcalc: what a convolutional network costs before you train it.

    import convcalc
    report = convcalc.analyze(convcalc.load("resnet50"))
    report.totals.macs   # 4089184256
"""

from convcalc.analysis import LayerRow, Report, Totals, analyze
from convcalc.architecture import Architecture
from convcalc.errors import ConvcalcError
from convcalc.loader import builtin_names, load, parse
from convcalc.shapes import Shape, output_size
from convcalc.variants import make_divisible, with_input, with_width

__all__ = [
    "Architecture",
    "ConvcalcError",
    "LayerRow",
    "Report",
    "Shape",
    "Totals",
    "analyze",
    "builtin_names",
    "load",
    "make_divisible",
    "output_size",
    "parse",
    "with_input",
    "with_width",
]
