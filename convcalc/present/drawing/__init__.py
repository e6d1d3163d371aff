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
from convcalc.vocabulary import canonical

# Each format's renderer, and the file extensions that ask for it.
FORMATS = {"svg": render_svg, "html": render_html, "dot": render_dot}
EXTENSIONS = {".svg": "svg", ".html": "html", ".htm": "html", ".dot": "dot", ".gv": "dot"}
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

    def text(self, format: str) -> str:
        """The drawing in ``format``: svg, html or dot."""
        return FORMATS[canonical(format, list(FORMATS), "drawing format")](self.diagram)

    def save(self, path: str | Path, format: str | None = None) -> None:
        """Write the drawing to ``path`` (atomically) in ``format``, by default the one its
        extension names (.svg, .html, .dot)."""
        write_atomically(path, self.text(format or format_of(path)))

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        # A tall network scrolls inside its cell instead of pushing the notebook down.
        return (f'<div style="max-height:{NOTEBOOK_HEIGHT_PX}px;overflow:auto">'
                f"{self.svg}</div>")

    def __repr__(self) -> str:
        return (f"<Drawing of {self.diagram.title}: {len(self.diagram.boxes)} boxes, "
                f"{len(self.diagram.links)} links>")


def format_of(path: str | Path) -> str:
    """The drawing format a file name asks for by its extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ConvcalcError(f"cannot tell the drawing format of '{path}' from its extension; "
                            f"use one of {' '.join(EXTENSIONS)} or give the format")
    return EXTENSIONS[suffix]


def draw_report(report: Report, *, depth: int | None = None, color: str = "macs") -> Drawing:
    """The layer graph of ``report`` (folded into blocks of ``depth`` path components when
    given), each box filled by its share of ``color``, one of METRICS."""
    return Drawing(diagram(report, depth=depth, metric=color))


__all__ = ["EXTENSIONS", "FORMATS", "METRICS", "Diagram", "Drawing", "diagram", "draw_report",
           "format_of", "render_dot", "render_html", "render_svg"]
