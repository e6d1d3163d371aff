"""How long drawing a network's layer graph takes: layout and SVG, in this process.

    python benchmarks/bench_graph.py [--runs 5] [NAME ...]

For each network (densenet201, 707 layers, by default; the aim is under 2 s), prints the
median time of the analysis, of the layout (``diagram``: boxes, links, ranks, order,
coordinates, routes) and of the SVG text, with the drawing's size and its edge crossings.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from convcalc import analyze, load
from convcalc.present.drawing import diagram, render_svg

T = TypeVar("T")


def median(function: Callable[[], T], runs: int) -> tuple[float, T]:
    """Median seconds of ``runs`` calls of ``function`` and its last result."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["densenet201"])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'network':<14}{'layers':>7}{'analyze':>10}{'layout':>10}{'svg':>10}{'total':>10}"
          f"  size (px), crossings")
    for name in args.names:
        arch = load(name)
        t_analyze, report = median(lambda arch=arch: analyze(arch), args.runs)
        t_layout, drawn = median(lambda report=report: diagram(report), args.runs)
        t_svg, _ = median(lambda drawn=drawn: render_svg(drawn), args.runs)
        placed = drawn.layout
        total = t_analyze + t_layout + t_svg
        print(f"{name:<14}{len(report.rows):>7}{t_analyze:>9.3f}s{t_layout:>9.3f}s"
              f"{t_svg:>9.3f}s{total:>9.3f}s  {placed.width:,.0f} x {placed.height:,.0f}, "
              f"{placed.crossings}")


if __name__ == "__main__":
    main()
