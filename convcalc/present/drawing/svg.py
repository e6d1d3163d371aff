"""A ``Diagram`` as one self-contained SVG document: its fonts and colours in its own
``<style>``, nothing fetched, every text from a file escaped (``visible`` has already spelled
out the characters XML forbids)."""

import html
import itertools

from convcalc.present.drawing.layout import Point, curve
from convcalc.present.drawing.model import (
    FILLS,
    FONT_PX,
    LABEL_GAP_PX,
    LINE_PX,
    METRIC_TITLES,
    PAD_PX,
    SMALL_PX,
    Diagram,
    shortened,
    text_px,
)

SWATCH_PX = 14.0
STYLE = (
    "text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; fill: #1b1f24; "
    f"font-size: {SMALL_PX:g}px; }} "
    f".name {{ font-size: {FONT_PX:g}px; font-weight: bold; }} "
    ".title { font: bold 13px system-ui, 'DejaVu Sans', sans-serif; } "
    ".box { stroke: #57606a; stroke-width: 1; } "
    ".box.out { stroke-width: 2.5; } "
    ".side { stroke-dasharray: 5 3; } "
    ".edge { fill: none; stroke: #6e7781; stroke-width: 1.2; } "
    ".head { fill: #6e7781; } "
    ".label { fill: #57606a; paint-order: stroke; stroke: #fff; stroke-width: 3px; "
    "stroke-linejoin: round; }"
)


def esc(text: str) -> str:
    """Text safe in XML content and in a double-quoted attribute."""
    return html.escape(text, quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _path(points: tuple[Point, ...], dy: float) -> str:
    """A route as path data: vertical runs as lines, gap crossings as curves."""
    x, y = points[0]
    parts = [f"M{_n(x)} {_n(y + dy)}"]
    for a, b in itertools.pairwise(points):
        if a[0] == b[0]:
            parts.append(f"V{_n(b[1] + dy)}")
        else:
            (c1x, c1y), (c2x, c2y) = curve(a, b)
            parts.append(f"C{_n(c1x)} {_n(c1y + dy)} {_n(c2x)} {_n(c2y + dy)} "
                         f"{_n(b[0])} {_n(b[1] + dy)}")
    return "".join(parts)


def _head(points: tuple[Point, ...], dy: float) -> str:
    """An arrowhead at the route's end, pointing the way the route arrives."""
    (_, y0), (x, y) = points[-2], points[-1]
    y += dy
    back = -7.0 if y0 + dy < y else 7.0
    return (f'<path class="head" d="M{_n(x)} {_n(y)}L{_n(x - 4)} {_n(y + back)}'
            f'L{_n(x + 4)} {_n(y + back)}Z"/>')


def _caption(diagram: Diagram) -> str:
    caption = f"fill: share of {METRIC_TITLES[diagram.metric]} (total {diagram.total})"
    if any(box.side for box in diagram.boxes):
        caption += "; dashed: side branch"
    return caption + "; thick border: output"


LEGEND_ROW_PX = 20.0
MIN_WIDTH_PX = 520.0  # a narrow network's legend wraps to this width rather than widen it


def _legend(diagram: Diagram, width: float) -> tuple[list[str], float]:
    """The caption and the fills, wrapped to ``width``, and the height they take."""
    x, y = 8.0, 32.0
    caption = _caption(diagram)
    out = [f'<g class="legend"><text x="{_n(x)}" y="{_n(y + 11)}">{esc(caption)}</text>']
    y += LEGEND_ROW_PX
    for fill, label in diagram.legend:
        item = SWATCH_PX + 6 + text_px(label) + 14
        if x + item > width and x > 8:
            x, y = 8.0, y + LEGEND_ROW_PX
        out.append(f'<rect class="box" x="{_n(x)}" y="{_n(y)}" width="{SWATCH_PX:g}" '
                   f'height="{SWATCH_PX:g}" fill="{fill}"/>')
        out.append(f'<text x="{_n(x + SWATCH_PX + 6)}" y="{_n(y + 11)}">{esc(label)}</text>')
        x += item
    out.append("</g>")
    return out, y + LEGEND_ROW_PX + 6


def render_svg(diagram: Diagram) -> str:
    """The diagram as an SVG document: title and legend on top, layers top to bottom."""
    placed = diagram.layout
    width = max(placed.width, MIN_WIDTH_PX, text_px(diagram.title, 13) + 16,
                text_px(_caption(diagram)) + 16)
    legend, dy = _legend(diagram, width)
    height = placed.height + dy
    w, h = _n(round(width)), _n(round(height))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="convcalc-graph" role="img" '
           f'width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
           f"<title>{esc(diagram.title)}</title>", f"<style>{STYLE}</style>",
           f'<rect width="{w}" height="{h}" fill="#fff"/>',
           f'<text class="title" x="8" y="20">{esc(diagram.title)}</text>']
    out += legend
    out.append('<g class="edges">')
    for link, route in zip(diagram.links, placed.routes, strict=True):
        dashed = " side" if link.side else ""
        out.append(f'<path class="edge{dashed}" d="{_path(route.points, dy)}"/>'
                   + _head(route.points, dy))
    for link, route in zip(diagram.links, placed.routes, strict=True):
        (before, _), (x, y) = route.points[-2:]
        upward = route.points[-2][1] > y
        if route.ports == 1:  # beside the edge, away from where it comes from
            tx, anchor = ((x - LABEL_GAP_PX, "end") if before > x + 1 else
                          (x + LABEL_GAP_PX, "start"))
            ty = y + dy + (14 if upward else -6)
        else:
            tx, anchor = x, "middle"
            ty = y + dy + (20 if upward else -11)
        out.append(f'<text class="label" x="{_n(tx)}" y="{_n(ty)}" text-anchor="{anchor}">'
                   f"{esc(link.shape)}</text>")
    out.append("</g>")
    out.append('<g class="nodes">')
    for box, rect in zip(diagram.boxes, placed.boxes, strict=True):
        classes = "box" + (" side" if box.side else "") + (" out" if box.output else "")
        details = "\n".join(f"{label}: {value}" for label, value in box.details)
        x, y = rect.x, rect.y + dy
        tx = x + PAD_PX
        line = [y + PAD_PX + LINE_PX * k + 10.5 for k in range(3)]
        out += [f'<g class="node" data-name="{esc(box.name)}">'
                f"<title>{esc(details)}</title>",
                f'<rect class="{classes}" x="{_n(x)}" y="{_n(y)}" width="{_n(rect.width)}" '
                f'height="{_n(rect.height)}" rx="4" fill="{FILLS[box.level]}"/>',
                f'<text class="name" x="{_n(tx)}" y="{_n(line[0])}">'
                f"{esc(shortened(box.name))}</text>",
                f'<text x="{_n(tx)}" y="{_n(line[1])}">{esc(box.kind)} · {esc(box.shape)}</text>']
        if box.text:
            out.append(f'<text x="{_n(tx)}" y="{_n(line[2])}">{esc(box.text)}</text>')
        out.append("</g>")
    out += ["</g>", "</svg>"]
    return "\n".join(out) + "\n"
