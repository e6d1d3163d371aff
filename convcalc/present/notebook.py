"""Any text table (``Grid``) as an HTML fragment for a notebook: numbers right-aligned, text
left-aligned (Jupyter right-aligns every cell unless told), with charts under it."""

import html
from collections.abc import Sequence

from convcalc.present.grid import Grid

# Jupyter's own style right-aligns table cells; these rules, inside the fragment's element,
# put text on the left and numbers on the right.
NOTEBOOK_STYLE = (".convcalc table td, .convcalc table th { text-align: left; } "
                  ".convcalc table td.num, .convcalc table th.num { text-align: right; } "
                  ".convcalc td, .convcalc th { white-space: nowrap; } "
                  ".convcalc tr.dim td { opacity: .6; } .convcalc tr.red td { color: #c62828; } "
                  ".convcalc tr.bold td { font-weight: bold; }")


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def grid_table(grid: Grid) -> list[str]:
    """The grid's title, table and caption as HTML lines."""
    numeric = [c.right for c in grid.columns]
    head = "".join(f'<th{" class=num" if n else ""} data-id="{esc(c.id)}">{esc(c.title)}</th>'
                   for c, n in zip(grid.columns, numeric, strict=True))
    lines = [f"<h4>{esc(grid.title)}</h4>"] if grid.title else []
    lines += ["<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for index, row in enumerate(grid.rows):
        style = grid.styles[index] if grid.styles else ""
        cells = "".join(f'<td{" class=num" if n else ""}>{esc(v)}</td>'
                        for v, n in zip(row, numeric, strict=True))
        lines.append(f'<tr{f" class={style}" if style else ""}>{cells}</tr>')
    lines.append("</tbody></table>")
    return lines + ([f"<p>{esc(grid.caption)}</p>"] if grid.caption else [])


def notebook_html(parts: Sequence[str]) -> str:
    """HTML lines (tables, SVG charts) wrapped in the element the style applies to."""
    return "\n".join([f'<div class="convcalc"><style>{NOTEBOOK_STYLE}</style>', *parts,
                      "</div>"])


def grid_html(grid: Grid, charts: Sequence[str] = ()) -> str:
    """A grid as a notebook's HTML, followed by ``charts`` (SVG)."""
    return notebook_html([*grid_table(grid), *charts])
