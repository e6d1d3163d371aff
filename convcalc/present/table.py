"""Formatting a ``Report``: the per-layer table, its blocks, CSV and Markdown (JSON is
``report_json``).

Column ids are one enum; their human titles live here and nowhere else. Machine formats (JSON,
CSV) carry exact integers; the terminal table uses K/M/G. rich is imported only to draw a table.
"""

import io
import json
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from convcalc.analysis.report import NETWORK_INPUT, LayerRow, Report
from convcalc.graph.layers import Conv, Window
from convcalc.present.grid import (
    Cells,
    Col,
    Grid,
    csv_cell,
    human,
    human_bytes,
    human_seconds,
    markdown_escape,
    render_grid,
)
from convcalc.present.report_json import Changed, report_dict

if TYPE_CHECKING:

    from convcalc.analysis.summary import Block


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
    MACS_SHARE = "macs_share"
    ACTIVATION_BYTES = "activation_bytes"


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
    Column.MACS_SHARE: "% of MACs",
    Column.ACTIVATION_BYTES: "Activation bytes",
}


NUMERIC = (Column.PARAMS, Column.MACS, Column.FLOPS, Column.OTHER_OPS, Column.ACTIVATIONS,
           Column.BYTES_MOVED, Column.INTENSITY, Column.SECONDS)


TOTALLED = (Column.PARAMS, Column.MACS, Column.FLOPS, Column.OTHER_OPS, Column.ACTIVATIONS,
            Column.BYTES_MOVED, Column.SECONDS)


# Optional columns: FLOPs on request; traffic (bytes moved, intensity) in the machine formats;
# the roofline's time and bound when a report was analysed for a device.
TRAFFIC = (Column.BYTES_MOVED, Column.INTENSITY)


TIMED = (Column.SECONDS, Column.BOUND)


# Columns of the report's per-layer table only (``report_formats``): each layer's share of the
# MACs, and its activations in bytes at the report's dtype.
REPORTED = (Column.MACS_SHARE, Column.ACTIVATION_BYTES)


def columns(flops: bool = False, traffic: bool = False, timed: bool = False) -> list[Column]:
    """The per-layer columns shown; FLOPs, traffic and time only on request."""
    wanted = ({Column.FLOPS: flops} | dict.fromkeys(TRAFFIC, traffic)
              | dict.fromkeys(TIMED, timed) | dict.fromkeys(REPORTED, False))
    return [c for c in Column if wanted.get(c, True)]


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
    if (all(s.is_image for s in shapes) or row.kind == "concat") and all(
            s.dims[:-1] == shapes[0].dims[:-1] for s in shapes):
        lead = "".join(f"{d}x" for d in shapes[0].dims[:-1])
        return f"{lead}(" + "+".join(str(s.c) for s in shapes) + ")"
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
        title=table_title(report),
        columns=tuple(Col(c.value, TITLES[c], right=c in NUMERIC) for c in shown),
        rows=rows, priority=tuple(c.value for c in PRIORITY), styles=[*styles, "bold"],
        rules=frozenset([len(report.rows)]), caption=_caption(report),
        kinds=frozenset([Column.KIND.value]))


def table_title(report: Report) -> str:
    """A report's name, input and width, as tables and drawings title it."""
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
    title = f"{table_title(report)}, folded to depth {depth}"
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
        writer.writerow([csv_cell(v) for v in (*values, str(row.side).lower(), *origin)])
    return out.getvalue()


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
