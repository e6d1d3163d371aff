"""Drawings of a network's layer graph with its costs: a layered layout of our own
(``layout``), the report as boxes and links (``model``), and SVG, HTML and DOT renderers.

``draw_report(report)`` gives a ``Drawing``, the presentation object that ``convcalc.draw``
returns: a notebook shows it as its SVG, and ``save`` writes it in the format its file name
asks for.
"""

from functools import cached_property
from pathlib import Path

from convcalc.analysis.report import Report
from convcalc.errors import ConvcalcError
from convcalc.output import write_atomically
from convcalc.present.drawing.dot import render_dot
from convcalc.present.drawing.html import render_html
from convcalc.present.drawing.model import METRICS, Diagram, diagram
from convcalc.present.drawing.svg import render_svg

# A file's extension -> the renderer of that format.
FORMATS = {".svg": render_svg, ".html": render_html, ".htm": render_html, ".dot": render_dot,
           ".gv": render_dot}
# How tall a drawing may show in a notebook cell before it scrolls.
NOTEBOOK_HEIGHT_PX = 720


class Drawing:
    """A network's layer graph, drawn: ``svg``, ``html`` (a page with pan, zoom and search)
    and ``dot`` text; shown as the SVG in a notebook; ``save(path)`` writes one of them."""

    def __init__(self, diagram: Diagram) -> None:
        self.diagram = diagram

    @cached_property
    def svg(self) -> str:
        """The drawing as a self-contained SVG document."""
        return render_svg(self.diagram)

    @cached_property
    def html(self) -> str:
        """The drawing on an HTML page of its own, with pan, zoom, details and search."""
        return render_html(self.diagram)

    @cached_property
    def dot(self) -> str:
        """The graph in Graphviz's DOT language."""
        return render_dot(self.diagram)

    def text(self, suffix: str) -> str:
        """The drawing in the format a file extension names (.svg, .html, .dot)."""
        render = FORMATS.get(suffix.lower())
        if render is None:
            raise ConvcalcError(f"cannot tell the drawing's format from '{suffix}'; use one "
                                f"of {' '.join(FORMATS)}")
        return render(self.diagram)

    def save(self, path: str | Path) -> None:
        """Write the drawing to ``path`` (atomically), as its extension says."""
        write_atomically(path, self.text(Path(path).suffix))

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        # A tall network scrolls inside its cell instead of pushing the notebook down.
        return (f'<div style="max-height:{NOTEBOOK_HEIGHT_PX}px;overflow:auto">'
                f"{self.svg}</div>")

    def __repr__(self) -> str:
        return (f"<Drawing of {self.diagram.title}: {len(self.diagram.boxes)} boxes, "
                f"{len(self.diagram.links)} links>")


def draw_report(report: Report, *, depth: int | None = None, color: str = "macs") -> Drawing:
    """The layer graph of ``report`` (folded into blocks of ``depth`` path components when
    given), each box filled by its share of ``color``, one of METRICS."""
    return Drawing(diagram(report, depth=depth, metric=color))


__all__ = ["FORMATS", "METRICS", "Diagram", "Drawing", "diagram", "draw_report", "render_dot",
           "render_html", "render_svg"]
