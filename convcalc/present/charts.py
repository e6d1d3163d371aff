"""Charts as SVG text: horizontal bars (the report's layers, kinds and comparison) and a
log-log scatter (``sweep``'s width x resolution grid, MACs against params as the MobileNet
paper plots its trade-offs).

Each chart is a complete ``<svg>`` element that renders the same inline in the HTML report and
as a standalone ``.svg`` file: its fonts and colours are in its own ``<style>``, its size is
computed from the text it holds (monospace, so a label's width is known), and no label is drawn
outside the view box. Pure formatting: numbers in, text out.
"""

import html
import math
from collections.abc import Callable, Sequence

from convcalc.errors import plain

FONT_PX = 11
CHAR_PX = 0.62 * FONT_PX  # advance of DejaVu Sans Mono and most monospace fonts: 0.6 em
STYLE = ("<style>text { font: 11px ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, "
         "monospace; fill: #1b1f24; } .axis { stroke: #8c959f; stroke-width: 1; } "
         ".grid { stroke: #e5e8eb; stroke-width: 1; } "
         ".title { font: bold 13px system-ui, 'DejaVu Sans', sans-serif; }</style>")
BLUE = "#0969da"
AMBER = "#bf8700"
GREEN = "#1a7f37"  # time on a --device
PALETTE = (BLUE, AMBER, "#1a7f37", "#cf222e", "#8250df", "#1b7c83", "#bc4c00", "#57606a")
LABEL_CHARS = 48

Bar = tuple[float, str, str]  # (fraction of the longest bar, colour, the value's text)


def esc(text: str) -> str:
    """Text safe in SVG (XML) content and attributes: ``plain`` (no character XML forbids),
    then markup escaped."""
    return html.escape(plain(text), quote=True)


def text_px(text: str) -> float:
    """The width of ``text`` in the chart's monospace font."""
    return len(text) * CHAR_PX


TITLE_HEIGHT = 20


def _open(title: str, width: float, height: float) -> list[str]:
    """The svg element with its title drawn on its first line (``TITLE_HEIGHT``), so that a
    standalone file says what it shows."""
    width = max(width, text_px(title) * 13 / 11 + 8)
    w, h = math.ceil(width), math.ceil(height + TITLE_HEIGHT)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}" style="background: #fff">'
            f"<title>{esc(title)}</title>{STYLE}"
            f'<text x="4" y="14" class="title">{esc(title)}</text>'
            f'<g transform="translate(0 {TITLE_HEIGHT})">']


def _label(text: str) -> str:
    """A long layer path keeps its end, which tells layers apart."""
    return text if len(text) <= LABEL_CHARS else "…" + text[-(LABEL_CHARS - 1):]


def bar_chart(title: str, bars: Sequence[tuple[str, Sequence[Bar]]],
              legend: Sequence[tuple[str, str]] = ()) -> str:
    """Horizontal bars: one group per label, each bar given as (fraction of the longest bar,
    colour, value text); a legend of (name, colour) above them."""
    label_width = max((text_px(_label(label)) for label, _ in bars), default=0) + 12
    bar_area, bar_height = 420, 14
    value_width = max((text_px(text) for _, group in bars for _, _, text in group),
                      default=0) + 8
    group_height = max((len(b) for _, b in bars), default=1) * bar_height + 6
    top = 22 if legend else 4
    height = top + group_height * len(bars) + 4
    legend_width = label_width + sum(text_px(name) + 34 for name, _ in legend)
    width = max(label_width + bar_area + value_width, legend_width)
    out = _open(title, width, height)
    x = label_width
    for name, colour in legend:
        out.append(f'<rect x="{x:.1f}" y="4" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{x + 14:.1f}" y="13">{esc(name)}</text>')
        x += text_px(name) + 34
    for g, (label, group) in enumerate(bars):
        y = top + g * group_height
        out.append(f'<text x="{label_width - 6:.1f}" y="{y + bar_height - 3}" '
                   f'text-anchor="end">{esc(_label(label))}</text>')
        for b, (fraction, colour, text) in enumerate(group):
            by = y + b * bar_height
            length = max(fraction * bar_area, 0.5 if fraction else 0)
            out.append(f'<rect x="{label_width:.1f}" y="{by + 1}" width="{length:.1f}" '
                       f'height="{bar_height - 3}" fill="{colour}"><title>{esc(label)}: '
                       f'{esc(text)}</title></rect><text x="{label_width + length + 4:.1f}" '
                       f'y="{by + bar_height - 3}">{esc(text)}</text>')
    return "".join([*out, "</g></svg>"])


def _decades(low: float, high: float) -> list[float]:
    """Tick values 1, 2, 5 x 10^k from below ``low`` to above ``high``."""
    ticks = []
    for k in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        ticks += [m * 10.0**k for m in (1, 2, 5) if low <= m * 10.0**k <= high]
    if len(ticks) < 2:  # a narrow range: its two ends, rounded to three digits
        ticks = [float(f"{low * 1.1:.3g}"), float(f"{high / 1.1:.3g}")]
    return ticks


def scatter_chart(title: str, series: Sequence[tuple[str, Sequence[tuple[float, float, str]]]],
                  x_title: str, y_title: str, tick_text: Callable[[float], str]) -> str:
    """Points on log-log axes, one colour and connecting line per series of (x, y, label),
    the series' name after its last point and the first series' labels above its points
    (every point's label in its tooltip);
    ``tick_text`` writes an axis value ('4.2M')."""
    xs = [x for _, points in series for x, _, _ in points]
    ys = [y for _, points in series for _, y, _ in points]
    x_low, x_high = min(xs) / 1.25, max(xs) * 1.25
    y_low, y_high = min(ys) / 1.25, max(ys) * 1.25
    y_ticks = _decades(y_low, y_high)
    left = max((text_px(tick_text(t)) for t in y_ticks), default=0) + 30
    plot_w, plot_h, top = 520, 340, 34
    legend_w = max((text_px(name) for name, _ in series), default=0) + 40
    labels_w = max((text_px(label) for _, points in series for *_, label in points),
                   default=0)  # centred on points inside the plot: half may pass its edge
    width = left + plot_w + max(legend_w, labels_w / 2) + 10
    height = top + plot_h + 46

    def px(x: float) -> float:
        return left + plot_w * math.log(x / x_low) / math.log(x_high / x_low)

    def py(y: float) -> float:
        return top + plot_h * (1 - math.log(y / y_low) / math.log(y_high / y_low))

    out = _open(title, width, height)
    out.append(f'<text x="{left}" y="16">{esc(y_title)}</text>')
    for t in y_ticks:
        out.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{py(t):.1f}" '
                   f'y2="{py(t):.1f}"/><text x="{left - 6}" y="{py(t) + 4:.1f}" '
                   f'text-anchor="end">{esc(tick_text(t))}</text>')
    for t in _decades(x_low, x_high):
        out.append(f'<line class="grid" x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top}" '
                   f'y2="{top + plot_h}"/><text x="{px(t):.1f}" y="{top + plot_h + 16}" '
                   f'text-anchor="middle">{esc(tick_text(t))}</text>')
    out.append(f'<path class="axis" fill="none" d="M{left},{top} V{top + plot_h} '
               f'H{left + plot_w}"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 36}" '
               f'text-anchor="middle">{esc(x_title)}</text>')
    for i, (name, points) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}"
                        for j, (x, y, _) in enumerate(points))
        out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        for x, y, label in points:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{colour}">'
                       f"<title>{esc(name)} {esc(label)}</title></circle>")
            if i == 0:
                out.append(f'<text x="{px(x):.1f}" y="{py(y) - 8:.1f}" '
                           f'text-anchor="middle">{esc(label)}</text>')
        last_x, last_y, _ = points[-1]
        out.append(f'<text x="{px(last_x) + 8:.1f}" y="{py(last_y) + 4:.1f}" '
                   f'fill="{colour}">{esc(name)}</text>')
    return "".join([*out, "</g></svg>"])

