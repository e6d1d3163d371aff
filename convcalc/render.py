"""Formatting a ``Report``: one function per format, each returning a string or a rich table.

Column ids are one enum; their human titles live here and nowhere else. Machine formats (JSON,
CSV) carry exact integers; the terminal table uses K/M/G. rich is imported only to draw a table.
"""

import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from convcalc.analysis import NETWORK_INPUT, LayerRow, Report, Totals
from convcalc.errors import ConvcalcError, one_line
from convcalc.layers import Conv, Window

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, Group, RenderResult
    from rich.table import Table

    from convcalc.architecture import Architecture
    from convcalc.calibrate import Calibration
    from convcalc.reference import Check, FilterRun
    from convcalc.roofline import Device
    from convcalc.summary import Block
    from convcalc.variants import Comparison, LayerComparison, Sweep

# Layers a conversion created, by path, with what they replaced ('conv', 'depthwise+pointwise').
Changed = Mapping[str, str]


class Column(StrEnum):
    """Per-layer columns; the value is the id used in CSV headers and JSON keys."""

    NAME = "name"
    KIND = "kind"
    INPUT = "input"
    OUTPUT = "output"
    WINDOW = "window"
    PARAMS = "params"
    MACS = "macs"
    FLOPS = "flops"
    OTHER_OPS = "other_ops"
    ACTIVATIONS = "activations"
    RECEPTIVE_FIELD = "receptive_field"
    BYTES_MOVED = "bytes_moved"
    INTENSITY = "intensity"
    SECONDS = "seconds"
    BOUND = "bound"


TITLES = {
    Column.NAME: "Layer",
    Column.KIND: "Kind",
    Column.INPUT: "Input",
    Column.OUTPUT: "Output",
    Column.WINDOW: "Kernel/stride",
    Column.PARAMS: "Params",
    Column.MACS: "MACs",
    Column.FLOPS: "FLOPs",
    Column.OTHER_OPS: "Other ops",
    Column.ACTIVATIONS: "Activations",
    Column.RECEPTIVE_FIELD: "Receptive field",
    Column.BYTES_MOVED: "Bytes moved",
    Column.INTENSITY: "MACs/byte",
    Column.SECONDS: "Time",
    Column.BOUND: "Bound",
}
NUMERIC = (Column.PARAMS, Column.MACS, Column.FLOPS, Column.OTHER_OPS, Column.ACTIVATIONS,
           Column.BYTES_MOVED, Column.INTENSITY, Column.SECONDS)
TOTALLED = (Column.PARAMS, Column.MACS, Column.FLOPS, Column.OTHER_OPS, Column.ACTIVATIONS,
            Column.BYTES_MOVED, Column.SECONDS)
# Optional columns: FLOPs on request; traffic (bytes moved, intensity) in the machine formats;
# the roofline's time and bound when a report was analysed for a device.
TRAFFIC = (Column.BYTES_MOVED, Column.INTENSITY)
TIMED = (Column.SECONDS, Column.BOUND)


def columns(flops: bool = False, traffic: bool = False, timed: bool = False) -> list[Column]:
    """The per-layer columns shown; FLOPs, traffic and time only on request."""
    wanted = {Column.FLOPS: flops} | dict.fromkeys(TRAFFIC, traffic) | dict.fromkeys(TIMED, timed)
    return [c for c in Column if wanted.get(c, True)]


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


def window_text(window: Window | None, groups: bool = True) -> str:
    """'7x7/2 p3', '3x3/1 p1 g32', '1x1/2': kernel/stride, then padding, dilation and (for
    convolutions) groups."""
    if window is None:
        return ""
    kh, kw = window.kernel
    sh, sw = window.stride
    text = f"{kh}x{kw}/" + (str(sh) if sh == sw else f"{sh}x{sw}")
    pads = window.padding
    if any(pads):
        text += f" p{pads[0]}" if len(set(pads)) == 1 else " p" + ",".join(map(str, pads))
    if window.dilation != (1, 1):
        text += f" d{window.dilation[0]}" if len(set(window.dilation)) == 1 else (
            f" d{window.dilation[0]}x{window.dilation[1]}")
    if groups and window.groups > 1:
        text += f" g{window.groups}"
    return text


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def cell(row: LayerRow, column: Column, changed: Changed | None = None) -> str | int | float:
    """One row's value in a column: counts as exact integers, intensity and seconds as floats,
    the rest as text. A layer a conversion created shows what it replaced in its kind:
    'depthwise (from conv)'."""
    match column:
        case Column.NAME:
            return row.path
        case Column.KIND:
            origin = (changed or {}).get(row.path)
            return (row.kind + (f" (from {origin})" if origin else "")
                    + (" (side)" if row.side else ""))
        case Column.INPUT:
            return str(row.input)
        case Column.OUTPUT:
            return str(row.output)
        case Column.WINDOW:
            return window_text(row.window, groups=isinstance(row.layer, Conv))
        case Column.RECEPTIVE_FIELD:
            return _pair_text(row.receptive_field)
        case Column.INTENSITY:
            return row.intensity
        case Column.SECONDS:
            return row.seconds or 0.0
        case Column.BOUND:
            return row.bound or ""
    value: int = getattr(row, column.value)
    return value


def _total(report: Report, column: Column) -> int | float:
    value: int | float = getattr(report.totals, column.value) or 0
    return value


def _human(value: str | int | float, column: Column) -> str:
    """A cell for people: K/M/G counts, seconds in ms or µs, three digits of intensity."""
    if isinstance(value, str):
        return value
    if column is Column.SECONDS:
        return human_seconds(value)
    if isinstance(value, float):
        return f"{value:.3g}"
    return human(value)


def _totals_label(report: Report) -> str:
    has_side = any(r.side for r in report.rows)
    return "total" + (" (side excluded)" if has_side and not report.include_side else "")


# -- text tables laid out to a width -----------------------------------------------------------
#
# Tables are drawn here as plain text rather than by rich: one pass over the cells, so a
# 200,000-row table prints in seconds, the same characters on a terminal and in a pipe, and the
# choice of columns for a narrow terminal is ours (never an ellipsis inside a number or a name).

GAP = 2
WRAP_MIN = 12
STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32"}
CLI_HINT = "--columns"  # how a hidden column is asked for; the Python API says "columns"


class Col(NamedTuple):
    """One column of a text table: ``id`` (what ``--columns`` takes), the title, numbers
    aligned right, and ``wrap`` for text that may wrap after each ``breaks`` (spaces for
    prose, ' + ' for a sum of parts), never inside a piece."""

    id: str
    title: str
    right: bool = False
    wrap: bool = False
    breaks: str = " "


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


def _check_columns(grid: Grid, chosen: Sequence[str]) -> list[int]:
    ids = grid.ids
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
    order = _check_columns(grid, chosen) if chosen else list(range(len(grid.columns)))
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
                if not c.wrap else max(min(WRAP_MIN, full[i]), _longest_word(cells[i], c.breaks))
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


def input_text(report: Report, row: LayerRow) -> str:
    """What a row reads: its input shape, or for a merge every input: '56x56x256 x2' (with a
    multiplication sign) for
    equal shapes, '28x28x(64+128+32+32)' for a concat of equal sizes, else shapes joined
    by ' + ' (a count for very many)."""
    if len(row.inputs) < 2:
        return str(row.input)
    shapes = [report.input if i == NETWORK_INPUT else report.rows[i].output for i in row.inputs]
    if all(s == shapes[0] for s in shapes):
        return f"{shapes[0]} \N{MULTIPLICATION SIGN}{len(shapes):,}"
    if len(shapes) > MAX_LISTED_INPUTS:
        return f"{len(shapes):,} inputs"
    if all(not s.is_flat and s.hw == shapes[0].hw for s in shapes):
        h, w = shapes[0].hw
        return f"{h}x{w}x(" + "+".join(str(s.c) for s in shapes) + ")"
    return " + ".join(map(str, shapes))


MAX_LISTED_INPUTS = 8

# Which columns stay when the terminal is narrow, most important first: the names a user types
# and the headline numbers, then shapes, then the rest. A new column goes where it belongs here;
# columns not listed are dropped first.
PRIORITY: tuple[Column, ...] = (
    Column.NAME, Column.MACS, Column.SECONDS, Column.BOUND, Column.PARAMS, Column.OUTPUT,
    Column.KIND, Column.WINDOW, Column.FLOPS, Column.ACTIVATIONS, Column.INPUT,
    Column.OTHER_OPS, Column.BYTES_MOVED, Column.INTENSITY, Column.RECEPTIVE_FIELD,
)

# Kind names shortened in a table narrowed to fit, the same in every table.
KIND_SHORT = {
    "batchnorm": "bn", "global_avgpool": "gavgpool", "adaptive_avgpool": "aavgpool",
    "depthwise": "dw", "pointwise": "pw", "separable": "sep", "leaky_relu": "lrelu",
    "hardswish": "hswish", "hardsigmoid": "hsigmoid", "dropout": "drop", "flatten": "flat",
    "zeropad": "pad", "concat": "cat",
}


def _memo(function: "Callable[[Any], str]") -> "Callable[[Any], str]":
    """``function`` remembering its answers for one table: layers repeat their shapes,
    windows and counts, and a 200,000-row table asks for each many times."""
    seen: dict[Any, str] = {}

    def cached(value: Any) -> str:
        text = seen.get(value)
        if text is None:
            text = seen[value] = function(value)
        return text
    return cached


def _column_texts(report: Report, column: Column, changed: Changed | None) -> list[str]:
    """One column of the terminal table, every row at once (the fast path for big tables)."""
    rows = report.rows
    if column is Column.INPUT:
        shape = _memo(str)
        return [input_text(report, r) if len(r.inputs) > 1 else shape(r.input) for r in rows]
    if column is Column.OUTPUT:
        shape = _memo(str)
        return [shape(r.output) for r in rows]
    if column is Column.NAME:
        return [r.path for r in rows]
    if column is Column.WINDOW:
        text = _memo(lambda key: window_text(key[0], groups=key[1]))
        return [text((r.window, isinstance(r.layer, Conv))) if r.window else "" for r in rows]
    if column in (Column.KIND, Column.RECEPTIVE_FIELD, Column.BOUND):
        return [str(cell(r, column, changed)) for r in rows]
    if column in (Column.SECONDS, Column.INTENSITY):
        return [_human(cell(r, column), column) for r in rows]
    number = _memo(human)
    return [number(getattr(r, column.value)) for r in rows]


def render_table(report: Report, flops: bool = False,
                 changed: Changed | None = None) -> "Grid":
    """The per-layer table with human units and a totals row, the exact totals as its
    caption; laid out to a width when printed (``Grid.text``)."""
    shown = columns(flops, timed=report.device is not None)
    rows = list(zip(*(_column_texts(report, c, changed) for c in shown), strict=True))
    rows.append(tuple(_human(_total(report, c), c) if c in TOTALLED else (
        _totals_label(report) if c is Column.NAME else "") for c in shown))
    styles = ["dim" if r.side else "" for r in report.rows] if any(
        r.side for r in report.rows) else [""] * len(report.rows)
    return Grid(
        title=_table_title(report),
        columns=tuple(Col(c.value, TITLES[c], right=c in NUMERIC) for c in shown),
        rows=rows, priority=tuple(c.value for c in PRIORITY), styles=[*styles, "bold"],
        rules=frozenset([len(report.rows)]), caption=_caption(report),
        kinds=frozenset([Column.KIND.value]))


def _table_title(report: Report) -> str:
    return (f"{report.name} — input {report.input}"
            + (f", width {report.width:g}" if report.width != 1 else ""))


BLOCK_COLUMNS = (Col("name", "Block"), Col("kind", "Kind"), Col("layers", "Layers", right=True),
                 Col("params", "Params", right=True), Col("macs", "MACs", right=True),
                 Col("activations", "Activations", right=True))


def render_blocks(report: Report, blocks: "Sequence[Block]", depth: int,
                  format_: str = "table") -> "str | Grid":
    """The table folded into blocks (``summary.fold``): each block indented by its level,
    with its layer count and the sums of its rows, then the totals. The table uses K/M/G;
    markdown and CSV exact integers; JSON is the analyze contract plus ``depth`` and
    ``blocks``."""
    t = report.totals
    if format_ == "json":
        data = report_dict(report) | {"depth": depth, "blocks": [
            {"name": b.path, "level": b.level, "kind": b.kind, "layers": b.layers,
             "params": b.params, "macs": b.macs, "activations": b.activations,
             "seconds": b.seconds}
            for b in blocks]}
        return json.dumps(data, indent=1, allow_nan=False)
    timed = t.seconds is not None
    columns_ = (*BLOCK_COLUMNS, *([Col("seconds", "Time", right=True)] if timed else []))
    # The tree shows as indentation: spaces on a terminal, em spaces in Markdown (which drops
    # leading spaces), a level column in CSV.
    indent = {"table": "  ", "markdown": "&emsp;"}.get(format_, "")
    rows: Cells = [[indent * (b.level - 1) + b.path, b.kind, b.layers, b.params, b.macs,
                    b.activations, *([human_seconds(b.seconds or 0.0)] if timed else [])]
                   for b in blocks]
    rows.append([_totals_label(report), "", len(report.counted()), t.params, t.macs,
                 t.activations, *([human_seconds(t.seconds or 0.0)] if timed else [])])
    title = f"{_table_title(report)}, folded to depth {depth}"
    if format_ == "csv":
        levels: list[int] = [b.level for b in blocks] + [0]
        return render_grid(title, [*columns_, Col("level", "Level")],
                           [[*row, level] for row, level in zip(rows, levels, strict=True)],
                           format_)
    if format_ != "table":
        return render_grid(title, columns_, rows, format_)
    return Grid(
        title=title, columns=columns_,
        rows=[[human(v) if isinstance(v, int) and c.id != "layers" else
               f"{v:,}" if isinstance(v, int) else v for c, v in zip(columns_, row,
                                                                        strict=True)]
              for row in rows],
        priority=("name", "macs", "seconds", "params", "layers", "kind", "activations"),
        styles=[""] * len(blocks) + ["bold"], rules=frozenset([len(blocks)]),
        caption=_caption(report), kinds=frozenset(["kind"]))


def _caption(report: Report) -> str:
    t = report.totals
    text = (f"{t.params:,} params ({human_bytes(t.param_bytes)} at {report.dtype}), "
            f"{t.macs:,} MACs ({t.flops:,} FLOPs), {t.other_ops:,} other ops, "
            f"activations {t.activations:,} elements ({human_bytes(t.activation_bytes)}), "
            f"{human_bytes(t.bytes_moved)} moved"
            + (f", batch {report.batch}" if report.batch != 1 else ""))
    if report.device is not None and t.seconds is not None:
        memory = sum(r.bound == "memory" for r in report.counted())
        fused = sum(r.bound == "fused" for r in report.counted())
        text += (f"; {human_seconds(t.seconds)} on {report.device.name} "
                 f"({report.device.figures} figures, roofline), {memory} of "
                 f"{len(report.counted())} layers memory-bound"
                 + (f", {fused} fused into the convolution before them" if fused else ""))
    return text


def _layer_entries(report: Report, changed: Changed | None) -> "Iterable[dict[str, Any]]":
    names = [r.path for r in report.rows]
    for row in report.rows:
        entry: dict[str, Any] = {
            "name": row.path,
            "kind": row.kind,
            "input": row.input.as_list(),
            "output": row.output.as_list(),
            "from": ["input" if i == NETWORK_INPUT else names[i] for i in row.inputs],
            "params": row.params,
            "macs": row.macs,
            "flops": row.flops,
            "other_ops": row.other_ops,
            "activations": row.activations,
            "receptive_field": list(row.receptive_field),
            "jump": list(row.jump),
            "side": row.side,
            "bytes_moved": row.bytes_moved,
            "intensity": row.intensity,
            "seconds": row.seconds,
            "bound": row.bound,
        }
        if changed and row.path in changed:
            entry["converted_from"] = changed[row.path]
        if row.window is not None:
            window = row.window
            entry["kernel"] = list(window.kernel)
            entry["stride"] = list(window.stride)
            entry["padding"] = list(window.padding)
            entry["dilation"] = list(window.dilation)
            entry["groups"] = window.groups
        yield entry


def report_dict(report: Report, changed: Changed | None = None,
                layers: bool = True) -> dict[str, Any]:
    """The JSON form of a report: the stable contract scripts rely on. After a conversion, the
    layers it created carry ``converted_from``. ``layers=False`` leaves the layer list empty
    (``render_json`` streams it)."""
    t = report.totals
    return {
        "name": report.name,
        "description": report.description,
        "source": report.source,
        "input": report.input.as_list(),
        "width": report.width,
        "dtype": report.dtype,
        "include_side": report.include_side,
        "batch": report.batch,
        "device": report.device.name if report.device is not None else None,
        "layers": list(_layer_entries(report, changed)) if layers else [],
        "totals": {
            "params": t.params, "macs": t.macs, "flops": t.flops, "other_ops": t.other_ops,
            "activations": t.activations, "param_bytes": t.param_bytes,
            "activation_bytes": t.activation_bytes, "bytes_moved": t.bytes_moved,
            "seconds": t.seconds,
        },
    }


def render_json(report: Report, changed: Changed | None = None) -> str:
    """One JSON object (see ``report_dict``), one layer per line: readable, and fast because
    only json's C encoder (no indent) is used and each layer is encoded as it is made."""
    encode = json.JSONEncoder(check_circular=False, allow_nan=False).encode
    items = []
    for key, value in report_dict(report, changed, layers=False).items():
        if key == "layers":
            rows = ",\n".join("    " + encode(e) for e in _layer_entries(report, changed))
            items.append(f'  "layers": [\n{rows}\n  ]' if rows else '  "layers": []')
        else:
            items.append(f"  {json.dumps(key, allow_nan=False)}: "
                         f"{json.dumps(value, allow_nan=False)}")
    return "{\n" + ",\n".join(items) + "\n}"


def render_csv(report: Report, flops: bool = False, changed: Changed | None = None) -> str:
    """One header row of column ids, then one row per layer with exact integers; the
    ``side`` column marks side-branch rows; after a conversion, ``converted_from`` says what
    each created layer replaced. Traffic is always there, seconds and bound with a device."""
    import csv

    shown = columns(flops, traffic=True, timed=report.device is not None)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    extra = ["converted_from"] if changed is not None else []
    writer.writerow([c.value for c in shown] + ["side"] + extra)
    for row in report.rows:
        values = [row.kind if c is Column.KIND else cell(row, c) for c in shown]
        origin = [changed.get(row.path, "")] if changed is not None else []
        writer.writerow([*values, str(row.side).lower(), *origin])
    return out.getvalue()


def markdown_escape(text: str) -> str:
    """Text safe inside a GitHub table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def render_markdown(report: Report, flops: bool = False, changed: Changed | None = None) -> str:
    """A GitHub table with exact numbers and a bold totals row."""
    shown = columns(flops, timed=report.device is not None)
    lines = [
        "| " + " | ".join(TITLES[c] for c in shown) + " |",
        "|" + "|".join("---:" if c in NUMERIC else "---" for c in shown) + "|",
    ]
    for row in report.rows:
        values = [cell(row, c, changed) for c in shown]
        lines.append("| " + " | ".join(_markdown_cell(v, c) for v, c in zip(values, shown,
                                                                           strict=True)) + " |")
    lines.append("| " + " | ".join(
        f"**{_markdown_cell(_total(report, c), c)}**" if c in TOTALLED else (
            f"**{_totals_label(report)}**" if c is Column.NAME else "") for c in shown) + " |")
    return "\n".join(lines) + "\n"


def _markdown_cell(value: str | int | float, column: Column) -> str:
    if isinstance(value, str):
        return markdown_escape(value)
    if column is Column.SECONDS:
        return human_seconds(value)
    return f"{value:.3g}" if isinstance(value, float) else f"{value:,}"


# -- comparisons: single-layer designs, networks side by side, sweeps ---------------------------

Cells = list[list[str | int]]


def render_grid(title: str, headers: Sequence[Col], rows: Cells, format_: str,
               caption: str = "", priority: tuple[str, ...] = ()) -> "str | Grid":
    """Rows of text and exact integers as a text table (``Grid``), GitHub markdown or CSV
    (the caption is left out of CSV, whose first row is the titles)."""
    titles = [h.title for h in headers]
    if format_ == "csv":
        import csv

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(titles)
        writer.writerows(rows)
        return out.getvalue()
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows)
               for i in range(len(headers))]
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


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def closed_form_text(comparison: "LayerComparison") -> str:
    """The measured separable / standard ratio next to MobileNet's 1/N + 1/f^2."""
    standard, separable = comparison.designs[:2]
    out = standard.output
    formula, value = comparison.closed_form()
    return (f"separable / standard = {separable.report.totals.macs:,} / "
            f"{standard.report.totals.macs:,} = {comparison.ratio(separable):.5g}; "
            f"{formula} = {value:.5g} (exact: both designs produce {out.h}x{out.w} outputs "
            "from the same window, so h_out·w_out·c_in cancels)")


def designs_dict(comparison: "LayerComparison") -> dict[str, Any]:
    """The JSON form of a single-layer comparison."""
    _, value = comparison.closed_form()
    return {
        "input": comparison.input.as_list(),
        "variants": [{
            "name": d.name,
            "output": d.output.as_list(),
            "params": d.report.totals.params,
            "macs": d.report.totals.macs,
            "other_ops": d.report.totals.other_ops,
            "ratio": comparison.ratio(d),
            "seconds": d.report.totals.seconds,
            "seconds_ratio": comparison.seconds_ratio(d),
            "parts": [{"name": r.path, "kind": r.kind, "output": r.output.as_list(),
                       "params": r.params, "macs": r.macs, "other_ops": r.other_ops}
                      for r in d.report.rows],
        } for d in comparison.designs],
        "closed_form": {"separable_over_standard": value},
    }


def render_designs(comparison: "LayerComparison", format_: str) -> "str | Grid":
    """One row per design of a layer: output, params, multiplies and their parts, other ops
    (the inverted residual's skip adds), and the multiplies over the standard convolution's."""
    if format_ == "json":
        return json.dumps(designs_dict(comparison), indent=2, allow_nan=False)
    rows: Cells = []
    device = comparison.designs[0].report.device
    for d in comparison.designs:
        t = d.report.totals
        parts = " + ".join(f"{r.path} {r.macs:,}" for r in d.report.rows if r.macs)
        rows.append([d.name, str(d.output), t.params, t.macs, parts, t.other_ops,
                     _ratio(comparison.ratio(d)), *_timed(t.seconds, comparison.seconds_ratio(d),
                                                         d.report, device is not None)])
    title = (f"{comparison.kernel}x{comparison.kernel} convolution, {comparison.filters} "
             f"filters, on {comparison.input}")
    headers = [Col("design", "Design"), Col("output", "Output"), Col("params", "Params"),
               Col("macs", "MACs"), Col("mac_parts", "MAC parts", wrap=True, breaks=" + "),
               Col("other_ops", "Other ops"), Col("ratio", "MACs / standard", right=True),
               *_timed_headers(device, "standard")]
    return render_grid(title, headers, rows, format_, closed_form_text(comparison),
                       priority=("design", "macs", "ratio", "seconds", "seconds_ratio",
                                 "params", "mac_parts", "memory_bound", "output", "other_ops"))


def _timed(seconds: float | None, ratio: float | None, report: Report,
           timed: bool) -> list[str | int]:
    """Time, its ratio and the memory-bound layers, for a table with a device."""
    if not timed:
        return []
    memory = sum(r.bound == "memory" for r in report.counted())
    return [human_seconds(seconds or 0.0), _ratio(ratio), f"{memory}/{len(report.counted())}"]


def _timed_headers(device: "Device | None", first: str) -> list[Col]:
    if device is None:
        return []
    return [Col("seconds", f"Time ({device.name})", right=True),
            Col("seconds_ratio", f"Time / {first}", right=True),
            Col("memory_bound", "Memory-bound layers", right=True)]


def comparison_dict(comparison: "Comparison") -> dict[str, Any]:
    """The JSON form of networks side by side."""
    return {"networks": [{
        "name": r.name,
        "input": r.input.as_list(),
        "width": r.width,
        "params": r.totals.params,
        "macs": r.totals.macs,
        "activations": r.totals.activations,
        "activation_bytes": r.totals.activation_bytes,
        "params_ratio": comparison.ratio(i, "params"),
        "macs_ratio": comparison.ratio(i, "macs"),
        "bytes_moved": r.totals.bytes_moved,
        "seconds": r.totals.seconds,
        "seconds_ratio": comparison.ratio(i, "seconds"),
    } for i, r in enumerate(comparison.reports)]}


def render_comparison(comparison: "Comparison", format_: str) -> "str | Grid":
    """One row per network: totals and the ratios of params and multiplies to the first."""
    if format_ == "json":
        return json.dumps(comparison_dict(comparison), indent=2, allow_nan=False)
    rows: Cells = []
    device = comparison.reports[0].device
    for i, r in enumerate(comparison.reports):
        t = r.totals
        rows.append([r.name, str(r.input) + (f" w{r.width:g}" if r.width != 1 else ""),
                     t.params, t.macs, t.activations, human_bytes(t.activation_bytes),
                     _ratio(comparison.ratio(i, "params")), _ratio(comparison.ratio(i, "macs")),
                     *_timed(t.seconds, comparison.ratio(i, "seconds"), r, device is not None)])
    dtype = comparison.reports[0].dtype
    headers = [Col("network", "Network"), Col("input", "Input"), Col("params", "Params"),
               Col("macs", "MACs"), Col("activations", "Activations"),
               Col("activation_memory", f"Activation memory ({dtype})", right=True),
               Col("params_ratio", "Params / first", right=True),
               Col("macs_ratio", "MACs / first", right=True), *_timed_headers(device, "first")]
    return render_grid("networks side by side (ratios to the first)", headers, rows, format_,
                       priority=("network", "macs", "macs_ratio", "seconds", "seconds_ratio",
                                 "params", "params_ratio", "memory_bound", "input",
                                 "activation_memory", "activations"))


def render_sweep(result: "Sweep", format_: str) -> "str | Grid":
    """One row per (width, input) combination with its multiplies and parameters."""
    if format_ == "json":
        return json.dumps({"name": result.name, "cells": [
            {"width": c.width, "input": c.input.as_list(), "macs": c.macs, "params": c.params,
             "seconds": c.seconds} for c in result.cells]}, indent=2, allow_nan=False)
    timed = any(c.seconds is not None for c in result.cells)
    rows: Cells = [[f"{c.width:g}", str(c.input), c.macs, c.params,
                    *([human_seconds(c.seconds or 0.0)] if timed else [])] for c in result.cells]
    headers = [Col("width", "Width", right=True), Col("input", "Input"), Col("macs", "MACs"),
               Col("params", "Params"), *([Col("seconds", "Time", right=True)] if timed else [])]
    return render_grid(f"{result.name}: width x resolution", headers, rows, format_)


def render_sweep_chart(result: "Sweep") -> str:
    """The sweep as a standalone SVG: MACs against params on log-log axes, as the MobileNet
    paper plots its trade-offs; one line per input size across the width multipliers, each
    width written above its point on the first line."""
    from convcalc.charts import scatter_chart

    inputs: dict[str, list[tuple[float, float, str]]] = {}
    for c in sorted(result.cells, key=lambda c: (-c.input.elements, c.width)):
        inputs.setdefault(str(c.input), []).append((c.params, c.macs, f"{c.width:g}x"))
    return scatter_chart(f"{result.name}: MACs against params, width x resolution",
                         list(inputs.items()),
                         "params (log scale); labels: width multiplier",
                         "MACs (log scale), one line per input size",
                         lambda v: human(round(v)))


# ---------------------------------------------------------------- verify and conv


def render_checks(checks: "Sequence[Check]") -> "Grid":
    """``convcalc verify``'s table: each layer's ✓/✗, with both numbers where they differ."""
    rows = []
    for c in checks:
        shape = (str(c.engine_shape) if c.engine_shape == c.reference_shape
                 else f"engine {c.engine_shape} ≠ reference {c.reference_shape}")
        macs = (f"{c.engine_macs:,}" if c.engine_macs == c.reference_macs
                else f"engine {c.engine_macs:,} ≠ reference {c.reference_macs:,}")
        rows.append(["✓" if c.ok else "✗", c.path, c.kind, shape, macs])
    bad = sum(not c.ok for c in checks)
    return Grid(
        title="", rows=rows, styles=["" if c.ok else "red" for c in checks],
        columns=(Col("ok", ""), Col("name", "Layer"), Col("kind", "Kind"),
                 Col("shape", "Shape", wrap=True), Col("macs", "MACs", right=True, wrap=True)),
        priority=("ok", "name", "macs", "shape", "kind"), kinds=frozenset(["kind"]),
        caption=(f"all {len(checks)} layers match" if not bad
                 else f"{bad} of {len(checks)} layers differ"))


def render_matrix(title: str, matrix: "Sequence[Sequence[float]]") -> "Table":
    """A numeric matrix as an aligned grid, positive values green and negative red, brighter
    with magnitude."""
    from rich.table import Table

    peak = max((abs(v) for row in matrix for v in row), default=0) or 1
    table = Table(title=title, show_header=False, show_edge=True, show_lines=False,
                  pad_edge=False)
    for _ in matrix[0]:
        table.add_column(justify="right")
    for row in matrix:
        cells = []
        for v in row:
            hue = "green" if v > 0 else "red" if v < 0 else "dim"
            bold = " bold" if abs(v) >= peak / 2 else ""
            cells.append(f"[{hue}{bold}]{v:g}[/]")
        table.add_row(*cells)
    return table


MAX_GRID_SIDE = 32


def _grid_or_note(title: str, matrix: "Sequence[Sequence[float]]") -> "Table | str":
    """A grid, or a line saying the matrix is too large to show."""
    rows, cols = len(matrix), len(matrix[0])
    if max(rows, cols) > MAX_GRID_SIDE:
        return f"{title}: {rows}x{cols}, too large to show (use -o)"
    return render_matrix(title, matrix)


def render_filter_run(run: "FilterRun", name: str) -> "Group":
    """``convcalc conv``'s screen: each input channel, the filter, the output, and the output
    size formula with the numbers substituted (sizes read from the arrays)."""
    from rich.console import Group

    h, w, c = run.image.shape
    (fh, fw), (ho, wo) = run.kernel.shape, run.output.shape
    top, bottom, left, right = run.padding
    names = "RGB" if c == 3 else [str(i) for i in range(c)]
    parts: list[Any] = [
        _grid_or_note(f"input {h}x{w}" + (f" channel {names[i]}" if c > 1 else ""),
                      run.image[:, :, i].tolist())
        for i in range(c)]
    parts.append(_grid_or_note(
        f"filter {name} {fh}x{fw}"
        + (f" on {', '.join(names[i] for i in run.channels)}" if c > 1 else ""),
        run.kernel.tolist()))
    parts.append(_grid_or_note(f"output {ho}x{wo}", run.output.tolist()))
    s = run.stride
    parts.append(f"n_out = floor((n + p_before + p_after - f) / s) + 1: height "
                 f"floor(({h} + {top} + {bottom} - {fh}) / {s}) + 1 = {ho}, width "
                 f"floor(({w} + {left} + {right} - {fw}) / {s}) + 1 = {wo}")
    return Group(*parts)


def family(name: str) -> str:
    """The family an architecture name belongs to, for grouping ``convcalc list``: its first
    word without the depth, version or width (resnet50 -> resnet, deeplabv3_resnet50 ->
    deeplab, shufflenet_v2_x1_0 -> shufflenet)."""
    return re.sub(r"(v?\d.*)$", "", name.split("_", maxsplit=1)[0]) or name


def render_catalogue(entries: "Sequence[tuple[Architecture, Totals]]") -> "Grid":
    """``convcalc list``: each architecture's name, input, headline numbers and source, the
    families together (in the order they first appear), a rule between families."""
    families: dict[str, list[tuple[Architecture, Totals]]] = {}
    for arch, totals in entries:
        families.setdefault(family(arch.name), []).append((arch, totals))
    grouped = [entry for members in families.values() for entry in members]
    rows = [[arch.name, str(arch.input), human(totals.params), human(totals.macs),
             arch.description, arch.source] for arch, totals in grouped]
    starts = [0]
    for members in families.values():
        starts.append(starts[-1] + len(members))
    return Grid(
        title="", rows=rows,
        columns=(Col("name", "Name"), Col("input", "Input"), Col("params", "Params", right=True),
                 Col("macs", "MACs", right=True), Col("description", "Description", wrap=True),
                 Col("source", "Source", wrap=True)),
        priority=("name", "macs", "params", "input", "description", "source"),
        rules=frozenset(starts[1:-1]))


# What each runtime rule of a profile means, shown by `convcalc devices` (roofline.py).
RULE_MEANINGS = {
    "runtime": "the runtime these rules are for",
    "fuses": "kinds run inside the convolution before them: no bytes, no overhead",
    "channel_block": "convolutions compute on channels padded to a multiple of this",
    "slow_channels": "h: a grouped convolution whose groups are not whole blocks (or a "
                     "depthwise one not a multiple of 4 channels) with n channels per group "
                     "reaches n / (n + h) of macs_per_second",
    "combine": "a layer's time: max = the slower of compute and memory, sum = both",
}


def _rules(d: "Device") -> list[tuple[str, str]]:
    """(rule, value) of each runtime rule a profile sets."""
    rules = [("runtime", d.runtime), ("fuses", ", ".join(d.fuses)),
             ("channel_block", str(d.channel_block) if d.channel_block != 1 else ""),
             ("slow_channels", f"{d.slow_channels:.3g}" if d.slow_channels else ""),
             ("combine", d.combine if d.combine != "max" else "")]
    return [(k, v) for k, v in rules if v]


def render_devices(devices: "Sequence[Device]") -> "Grid":
    """``convcalc devices``: each built-in profile, what it is, then one line per figure with
    its value and where it comes from."""
    rows: list[list[str]] = []
    styles: list[str] = []
    for d in devices:
        rows.append([d.name, f"{d.figures} ({d.dtype})", "", d.description])
        figures = [("macs_per_second", human(round(d.macs_per_second)), "macs_per_second"),
                   ("bytes_per_second", human(round(d.bytes_per_second)), "bytes_per_second")]
        if d.overhead_seconds:
            figures.append(("overhead_seconds", human_seconds(d.overhead_seconds),
                            "overhead_seconds"))
        figures += [(f"efficiency {k}", f"{v:.2g}", "efficiency") for k, v in d.efficiency.items()]
        figures += [(key, value, key) for key, value in _rules(d)]
        rows += [["", figure, value, d.sources.get(key, "") or RULE_MEANINGS.get(key, "")]
                 for figure, value, key in figures]
        styles += ["bold"] + [""] * len(figures)
    return Grid(
        title="", rows=rows, styles=styles,
        columns=(Col("name", "Profile"), Col("figure", "Figure"),
                 Col("value", "Value", right=True), Col("source", "Source", wrap=True)),
        priority=("name", "figure", "value", "source"),
        caption="Peak figures are datasheet maxima: real networks reach a fraction of them; "
        "`convcalc calibrate` fits a profile to your own measurements.")


def render_calibration(calibration: "Calibration") -> "Grid":
    """``convcalc calibrate``: each network's measured and fitted seconds and the error."""
    import statistics

    d = calibration.device
    efficiency = ", ".join(f"{k} {v:.3g}" for k, v in d.efficiency.items()) or "none"
    rows = [[m.name, human(m.report.totals.macs), human_seconds(m.seconds),
             human_seconds(m.seconds * (1 + error)), f"{error:+.1%}"]
            for m, error in zip(calibration.measurements, calibration.errors, strict=True)]
    worst = max(abs(e) for e in calibration.errors)
    middle = statistics.median(abs(e) for e in calibration.errors)
    return Grid(
        title=f"{d.name}: {human(round(d.macs_per_second))} MACs/s, "
        f"{human(round(d.bytes_per_second))} bytes/s, "
        f"{human_seconds(d.overhead_seconds)} per layer; efficiency {efficiency}",
        rows=rows,
        columns=(Col("network", "Network"), Col("macs", "MACs", right=True),
                 Col("measured", "Measured", right=True), Col("fitted", "Fitted", right=True),
                 Col("error", "Error", right=True)),
        priority=("network", "error", "measured", "fitted", "macs"),
        caption=f"|error| on the fitted networks: median {middle:.1%}, worst {worst:.1%}")
