"""The terminal grid every table is drawn with: columns that wrap, hide by priority and fit the
console's width, plain or styled text, and the K/M/G number forms."""

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from convcalc.errors import ConvcalcError, one_line, plain

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult



KIND_SHORT = {
    "batchnorm": "bn", "global_avgpool": "gavgpool", "adaptive_avgpool": "aavgpool",
    "depthwise": "dw", "pointwise": "pw", "separable": "sep", "leaky_relu": "lrelu",
    "hardswish": "hswish", "hardsigmoid": "hsigmoid", "dropout": "drop", "flatten": "flat",
    "zeropad": "pad", "concat": "cat",
}


def markdown_escape(text: str) -> str:
    """Text safe inside a GitHub table cell (``plain``: on one line)."""
    return plain(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


# What a spreadsheet takes as the start of a formula in a cell (OWASP's CSV injection list;
# tab and carriage return are escaped by ``plain`` already).
FORMULA_STARTS = ("=", "+", "-", "@")


def csv_cell(value: object) -> object:
    """A CSV cell: numbers as they are; text ``plain``, and, when a spreadsheet would read it
    as a formula (``=HYPERLINK(...)``, ``@SUM``, ``-1+2``), after a ``'``, which spreadsheets
    show as text."""
    if not isinstance(value, str):
        return value
    text = plain(value)
    if text.startswith(FORMULA_STARTS):
        try:
            float(text)  # a number such as -1.5 is left as it is
        except ValueError:
            return "'" + text
    return text


def human(n: int) -> str:
    """9408 -> '9.41K', 4089184256 -> '4.09G': three significant digits."""
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.3g}{unit}" if value < 1000 else f"{value:,.0f}{unit}"
    return str(n)


def human_seconds(seconds: float) -> str:
    """0.0123 -> '12.3 ms', 4.5e-05 -> '45 µs': three significant digits."""
    if seconds == 0:
        return "0"
    for unit, size in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def human_bytes(n: int) -> str:
    """Bytes in binary units: 102760448 -> '98.0 MiB'."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


GAP = 2


WRAP_MIN = 12


STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32"}


CLI_HINT = "--columns"  # how a hidden column is asked for; the Python API says "columns"


class Col(NamedTuple):
    """One column of a text table: ``id`` (what ``--columns`` takes), the title, numbers
    aligned right, and ``wrap`` for text that may wrap after each ``breaks`` (spaces for
    prose, ' + ' for a sum of parts), never inside a piece, in lines of at least ``least``
    characters (a narrower terminal leaves the column out). In LaTeX, a column with ``under``
    (the id of another) goes under that column's values (a ratio under its figure)."""

    id: str
    title: str
    right: bool = False
    wrap: bool = False
    breaks: str = " "
    least: int = WRAP_MIN
    under: str = ""


@dataclass(frozen=True)
class Grid:
    """A table before layout. ``columns`` in display order; ``priority`` lists column ids
    most important first (what stays on a narrow terminal; unlisted ones are dropped first);
    one text cell per column in each row; ``styles`` per row ('', 'bold', 'dim', 'red');
    ``rules`` row indices drawn after a rule; ``kinds`` the ids of columns of layer kinds,
    abbreviated (``KIND_SHORT``) when the table is narrowed. ``str()`` is the whole table."""

    title: str
    columns: tuple[Col, ...]
    rows: Sequence[Sequence[str]]
    priority: tuple[str, ...] = ()
    styles: Sequence[str] = ()
    rules: frozenset[int] = frozenset()
    caption: str = ""
    kinds: frozenset[str] = frozenset()

    @property
    def ids(self) -> list[str]:
        """The column ids, in display order."""
        return [c.id for c in self.columns]

    def text(self, width: int | None = None, columns: Sequence[str] | None = None,
             styled: bool = False, hint: str = CLI_HINT) -> str:
        """The table as lines of at most ``width`` characters where possible (None: every
        column at its full width). Narrowed, it abbreviates kinds, wraps titles and prose and
        leaves out the least important columns, saying which and how to show them (``hint``
        names the option: '--columns' or the Python argument). ``columns`` picks columns by
        id, in that order. ``styled`` adds ANSI bold/dim/colour; lines never end in spaces."""
        return _layout(self, width, columns, styled, hint)

    def __str__(self) -> str:
        return self.text()

    def __rich_console__(self, console: "Console", options: "ConsoleOptions") -> "RenderResult":
        from rich.text import Text

        yield Text.from_ansi(self.text(options.max_width, styled=True, hint="columns"),
                             no_wrap=True)


def abbreviate_kind(text: str) -> str:
    """'batchnorm' -> 'bn', 'depthwise (from conv)' -> 'dw (from conv)': every kind name in the
    text shortened by ``KIND_SHORT``."""
    return re.sub(r"[a-z_0-9]+", lambda m: KIND_SHORT.get(m.group(), m.group()), text)


def _pieces(text: str, breaks: str = " ") -> list[str]:
    """Where ``text`` may break: after each ``breaks`` (a title also after a '/' inside a word:
    'Kernel/', 'stride'); a piece of punctuation alone joins the one before ('Params /')."""
    pattern = r"(?<= )|(?<=\w/)(?=\w)" if breaks == " " else f"(?<={re.escape(breaks)})"
    pieces: list[str] = []
    for piece in re.split(pattern, text):
        if pieces and not any(ch.isalnum() for ch in piece):
            pieces[-1] += piece
        elif piece:
            pieces.append(piece)
    return pieces


def _wrap(text: str, width: int, breaks: str = " ") -> list[str]:
    """Text broken at ``breaks`` (see ``_pieces``) into lines of at most ``width`` characters
    where the pieces allow; a piece is never cut."""
    lines: list[str] = []
    for piece in _pieces(text, breaks):
        if lines and len(lines[-1]) + len(piece.rstrip()) <= width:
            lines[-1] += piece
        else:
            if lines:
                lines[-1] = lines[-1].rstrip()
            lines.append(piece)
    return [line.rstrip() for line in lines] or [""]


def _longest_word(texts: "Iterable[str]", breaks: str = " ") -> int:
    return max((len(p.rstrip()) for t in texts for p in _pieces(t, breaks)), default=0)


def column_indices(ids: Sequence[str], chosen: Sequence[str]) -> list[int]:
    """Where each of the ``chosen`` column ids is in ``ids``; an unknown id is an error that
    lists them, with a 'did you mean'."""
    for name in chosen:
        if name not in ids:
            # csv, difflib and textwrap are imported where they are used, so that
            # `analyze --format json` does not load them (start-up time).
            import difflib

            close = difflib.get_close_matches(name, ids, n=1)
            raise ConvcalcError(f"column '{name}' is not one of {','.join(ids)}"
                                + (f"; did you mean '{close[0]}'?" if close else ""))
    return [ids.index(name) for name in chosen]


def _layout(grid: Grid, width: int | None, chosen: Sequence[str] | None, styled: bool,
            hint: str) -> str:
    order = column_indices(grid.ids, chosen) if chosen else list(range(len(grid.columns)))
    rows = grid.rows
    cols = grid.columns
    cells: list[tuple[str, ...]] = (list(zip(*rows, strict=True)) if rows
                                    else [() for _ in cols])
    # Text from a file (names, descriptions, sources) reaches a terminal only printable: ESC
    # and the other controls are shown as escapes, never sent.
    unsafe = [i for i, column in enumerate(cells) if not "".join(column).isprintable()]
    for i in unsafe:
        cells[i] = tuple(map(one_line, cells[i]))
    if unsafe:
        rows = list(zip(*cells, strict=True))
    full = [max(len(c.title), max(map(len, cells[i]), default=0)) for i, c in enumerate(cols)]
    notes: list[str] = []
    hidden: list[str] = []
    narrow = width is not None and sum(full[i] for i in order) + GAP * (len(order) - 1) > width
    widths = full
    if narrow and width is not None:
        kinds = [i for i, c in enumerate(cols) if c.id in grid.kinds and i in order]
        if kinds:
            short = {text: abbreviate_kind(text) for i in kinds for text in set(cells[i])}
            used = sorted({f"{KIND_SHORT[w]} = {w}" for text, s in short.items() if s != text
                           for w in re.findall(r"[a-z_0-9]+", text) if w in KIND_SHORT})
            if used:
                notes.append("kinds shortened: " + ", ".join(used))
            for i in kinds:
                cells[i] = tuple(short[text] for text in cells[i])
        need = [max(_longest_word([c.title]), max(map(len, cells[i]), default=0))
                if not c.wrap else max(min(c.least, full[i]), _longest_word(cells[i], c.breaks))
                for i, c in enumerate(cols)]
        if not chosen:
            rank = {id_: r for r, id_ in enumerate(grid.priority)}
            by_priority = sorted(order, key=lambda i: (rank.get(cols[i].id, len(rank)), i))
            kept: list[int] = []
            used_width = 0
            for i in by_priority:
                extra = need[i] + (GAP if kept else 0)
                if not kept or used_width + extra <= width:
                    kept.append(i)
                    used_width += extra
            hidden = [cols[i].id for i in order if i not in kept]
            order = [i for i in order if i in kept]
        widths = list(need)
        spare = width - sum(widths[i] for i in order) - GAP * (len(order) - 1)
        for i in order:  # prose columns take the room that is left, up to their full width
            if cols[i].wrap and spare > 0:
                grow = min(spare, full[i] - widths[i])
                widths[i] += grow
                spare -= grow
    total = sum(widths[i] for i in order) + GAP * (len(order) - 1)

    def style(line: str, name: str) -> str:
        line = line.rstrip()
        return f"\x1b[{STYLES[name]}m{line}\x1b[0m" if styled and name and line else line

    def block(texts: Sequence[str], name: str, titles: bool = False) -> list[str]:
        split = [_wrap(t, widths[i], " " if titles else cols[i].breaks)
                 if narrow and (titles or cols[i].wrap)
                 else [t] for i, t in zip(order, texts, strict=True)]
        height = max(map(len, split))
        out = []
        for k in range(height):
            parts = []
            for i, lines in zip(order, split, strict=True):
                text = lines[k] if k < len(lines) else ""
                parts.append(text.rjust(widths[i]) if cols[i].right else text.ljust(widths[i]))
            out.append(style((" " * GAP).join(parts), name))
        return out

    import textwrap

    rule = style("─" * total, "dim")
    title = one_line(grid.title)
    lines = ([line.center(total).rstrip() for line in textwrap.wrap(title, width)]
             if width and len(title) > max(total, width) else
             [title.center(total).rstrip()] if title else [])
    lines += block([cols[i].title for i in order], "bold", titles=True)
    lines.append(rule)
    styles = grid.styles or [""] * len(rows)
    wrapped = narrow and any(cols[i].wrap for i in order)
    # One format string for every row: str.format pads all cells in one call.
    line = (" " * GAP).join(f"{{{i}:{'>' if cols[i].right else '<'}{widths[i]}}}" for i in order)
    changed = narrow and any(cols[i].id in grid.kinds for i in order)
    for index, row in enumerate(zip(*cells, strict=True) if changed else rows):
        if index in grid.rules:
            lines.append(rule)
        name = styles[index]
        if wrapped:
            lines += block([row[i] for i in order], name)
        elif name:
            lines.append(style(line.format(*row), name))
        else:
            lines.append(line.format(*row).rstrip())
    if hidden:
        example = [cols[order[0]].id, *hidden[:2]]
        how = (f"--columns {','.join(example)}" if hint == CLI_HINT else f"{hint}={example!r}")
        notes.append(f"hidden to fit {width} columns: {', '.join(hidden)}; show "
                     f"{'it' if len(hidden) == 1 else 'them'} with "
                     f"{how} or a wider {'terminal' if hint == CLI_HINT else 'console'}")
    if grid.caption or notes:
        lines.append("")
    for text in ([one_line(grid.caption)] if grid.caption else []) + notes:
        lines += (textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
                  if width else [text])
    return "\n".join(lines) + "\n"


Cells = list[list[str | int]]


def render_grid(title: str, headers: Sequence[Col], rows: Cells, format_: str,
               caption: str = "", priority: tuple[str, ...] = ()) -> "str | Grid":
    """Rows of text and exact integers as a text table (``Grid``), GitHub markdown, a LaTeX
    table (``latex.tex_table``) or CSV (the caption is left out of CSV, whose first row is the
    titles)."""
    titles = [h.title for h in headers]
    if format_ == "csv":
        import csv

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([csv_cell(t) for t in titles])
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        return out.getvalue()
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows)
               for i in range(len(headers))]
    if format_ == "tex":
        return _tex_grid(title, headers, rows, numeric, caption)
    if format_ == "markdown":
        lines = [f"**{markdown_escape(title)}**", "",
                 "| " + " | ".join(titles) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        lines += ["| " + " | ".join(f"{v:,}" if isinstance(v, int) else markdown_escape(v)
                                    for v in row) + " |" for row in rows]
        return "\n".join([*lines, *(["", markdown_escape(caption)] if caption else [])]) + "\n"
    return Grid(title=title, caption=caption, priority=priority,
                columns=tuple(Col(h.id, h.title, right=h.right or n, wrap=h.wrap,
                                  breaks=h.breaks)
                              for h, n in zip(headers, numeric, strict=True)),
                rows=[[f"{v:,}" if isinstance(v, int) else v for v in row] for row in rows])


def _tex_grid(title: str, headers: Sequence[Col], rows: Cells, numeric: Sequence[bool],
              caption: str) -> str:
    """``render_grid``'s LaTeX table: a column with ``under`` stacked under its figure (its
    title under the figure's, without their common first word: 'MACs' over '/ first'), the
    pieces of a column that breaks at ``breaks`` other than spaces one under another."""
    from convcalc.present.latex import PREAMBLE, Cell, tex_table

    ids = [h.id for h in headers]
    kept = [i for i, h in enumerate(headers) if h.under not in ids]
    below = {ids.index(h.under): i for i, h in enumerate(headers) if h.under in ids}

    def text(value: str | int, column: Col) -> Cell:
        if isinstance(value, int):
            return f"{value:,}"
        if column.wrap and column.breaks != " ":
            return tuple(p.strip() for p in _pieces(value, column.breaks))
        return value

    def stacked(row: Sequence[str | int], i: int) -> Cell:
        cell = text(row[i], headers[i])
        if i not in below:
            return cell
        return (*(cell if isinstance(cell, tuple) else (cell,)), str(row[below[i]]))

    titles = [headers[i].title if i not in below else
              headers[i].title + "\n" + headers[below[i]].title.removeprefix(
                  headers[i].title.split(" ")[0]).strip() for i in kept]
    return "\n".join([f"% convcalc table; needs {PREAMBLE} in the preamble", *tex_table(
        title, titles, [[stacked(row, i) for i in kept] for row in rows],
        [headers[i].right or numeric[i] for i in kept], note=caption)])
