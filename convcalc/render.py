"""Formatting a ``Report``: one function per format, each returning a string or a rich table.

Column ids are one enum; their human titles live here and nowhere else. Machine formats (JSON,
CSV) carry exact integers; the terminal table uses K/M/G. rich is imported only to draw a table.
"""

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from convcalc.analysis import NETWORK_INPUT, LayerRow, Report, Totals
from convcalc.layers import Conv, Window

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table

    from convcalc.architecture import Architecture
    from convcalc.reference import Check, FilterRun
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
}
NUMERIC = (Column.PARAMS, Column.MACS, Column.FLOPS, Column.OTHER_OPS, Column.ACTIVATIONS)
TOTALLED = (Column.PARAMS, Column.MACS, Column.FLOPS, Column.OTHER_OPS, Column.ACTIVATIONS)


def columns(flops: bool = False) -> list[Column]:
    """The per-layer columns shown; FLOPs only on request."""
    return [c for c in Column if flops or c is not Column.FLOPS]


def human(n: int) -> str:
    """9408 -> '9.41K', 4089184256 -> '4.09G': three significant digits."""
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.3g}{unit}" if value < 1000 else f"{value:,.0f}{unit}"
    return str(n)


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


def cell(row: LayerRow, column: Column, changed: Changed | None = None) -> str | int:
    """One row's value in a column: numbers as exact integers, the rest as text. A layer a
    conversion created shows what it replaced in its kind: 'depthwise (from conv)'."""
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
    value: int = getattr(row, column.value)
    return value


def _total(report: Report, column: Column) -> int:
    value: int = getattr(report.totals, column.value)
    return value


def _totals_label(report: Report) -> str:
    has_side = any(r.side for r in report.rows)
    return "total" + (" (side excluded)" if has_side and not report.include_side else "")


def render_table(report: Report, flops: bool = False,
                 changed: Changed | None = None) -> "Group":
    """A rich table with human units and a totals row, then the exact totals on one line."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    table = Table(
        title=f"{report.name} — input {report.input}"
        + (f", width {report.width:g}" if report.width != 1 else ""),
        box=box.SIMPLE_HEAD,
    )
    shown = columns(flops)
    for column in shown:
        table.add_column(TITLES[column], justify="right" if column in NUMERIC else "left",
                         no_wrap=column in (Column.NAME, Column.INPUT, Column.OUTPUT))
    for row in report.rows:
        values = [cell(row, c, changed) for c in shown]
        table.add_row(*(human(v) if isinstance(v, int) else v for v in values),
                      style="dim" if row.side else None)
    table.add_section()
    table.add_row(*(
        human(_total(report, c)) if c in TOTALLED else (_totals_label(report)
                                                         if c is Column.NAME else "")
        for c in shown), style="bold")
    return Group(table, _caption(report))


def _caption(report: Report) -> str:
    t = report.totals
    return (f"{t.params:,} params ({human_bytes(t.param_bytes)} at {report.dtype}), "
            f"{t.macs:,} MACs ({t.flops:,} FLOPs), {t.other_ops:,} other ops, "
            f"activations {t.activations:,} elements ({human_bytes(t.activation_bytes)})")


def report_dict(report: Report, changed: Changed | None = None) -> dict[str, Any]:
    """The JSON form of a report: the stable contract scripts rely on. After a conversion, the
    layers it created carry ``converted_from``."""
    names = [r.path for r in report.rows]
    layers = []
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
        }
        if changed and row.path in changed:
            entry["converted_from"] = changed[row.path]
        if row.window is not None:
            entry |= {
                "kernel": list(row.window.kernel),
                "stride": list(row.window.stride),
                "padding": list(row.window.padding),
                "dilation": list(row.window.dilation),
                "groups": row.window.groups,
            }
        layers.append(entry)
    t = report.totals
    return {
        "name": report.name,
        "description": report.description,
        "source": report.source,
        "input": report.input.as_list(),
        "width": report.width,
        "dtype": report.dtype,
        "include_side": report.include_side,
        "layers": layers,
        "totals": {
            "params": t.params, "macs": t.macs, "flops": t.flops, "other_ops": t.other_ops,
            "activations": t.activations, "param_bytes": t.param_bytes,
            "activation_bytes": t.activation_bytes,
        },
    }


def render_json(report: Report, changed: Changed | None = None) -> str:
    """One JSON object (see ``report_dict``), one layer per line: readable, and fast because
    only json's C encoder (no indent) is used."""
    items = []
    for key, value in report_dict(report, changed).items():
        if key == "layers":
            rows = ",\n".join(f"    {json.dumps(layer)}" for layer in value)
            items.append(f'  "layers": [\n{rows}\n  ]' if rows else '  "layers": []')
        else:
            items.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(items) + "\n}"


def render_csv(report: Report, flops: bool = False, changed: Changed | None = None) -> str:
    """One header row of column ids, then one row per layer with exact integers; the
    ``side`` column marks side-branch rows; after a conversion, ``converted_from`` says what
    each created layer replaced."""
    shown = columns(flops)
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
    shown = columns(flops)
    lines = [
        "| " + " | ".join(TITLES[c] for c in shown) + " |",
        "|" + "|".join("---:" if c in NUMERIC else "---" for c in shown) + "|",
    ]
    for row in report.rows:
        values = [cell(row, c, changed) for c in shown]
        lines.append("| " + " | ".join(
            f"{v:,}" if isinstance(v, int) else markdown_escape(v) for v in values) + " |")
    lines.append("| " + " | ".join(
        f"**{_total(report, c):,}**" if c in TOTALLED else (
            f"**{_totals_label(report)}**" if c is Column.NAME else "") for c in shown) + " |")
    return "\n".join(lines) + "\n"


# -- comparisons: single-layer designs, networks side by side, sweeps ---------------------------

Cells = list[list[str | int]]


def render_grid(title: str, headers: list[str], rows: Cells, format_: str,
                caption: str = "") -> "str | Table":
    """Rows of text and exact integers as a rich table, GitHub markdown or CSV (the caption is
    left out of CSV, whose first row is the headers)."""
    if format_ == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return out.getvalue()
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows)
               for i in range(len(headers))]
    if format_ == "markdown":
        lines = [f"**{markdown_escape(title)}**", "",
                 "| " + " | ".join(headers) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        lines += ["| " + " | ".join(f"{v:,}" if isinstance(v, int) else markdown_escape(v)
                                    for v in row) + " |" for row in rows]
        return "\n".join([*lines, *(["", markdown_escape(caption)] if caption else [])]) + "\n"
    from rich import box
    from rich.table import Table

    table = Table(title=title, caption=caption or None, box=box.SIMPLE_HEAD,
                  caption_justify="left")
    for header, is_number in zip(headers, numeric, strict=True):
        table.add_column(header, justify="right" if is_number else "left")
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else v for v in row))
    return table


def _ratio(value: float) -> str:
    return f"{value:.4g}"


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
            "parts": [{"name": r.path, "kind": r.kind, "output": r.output.as_list(),
                       "params": r.params, "macs": r.macs, "other_ops": r.other_ops}
                      for r in d.report.rows],
        } for d in comparison.designs],
        "closed_form": {"separable_over_standard": value},
    }


def render_designs(comparison: "LayerComparison", format_: str) -> "str | Table":
    """One row per design of a layer: output, params, multiplies and their parts, other ops
    (the inverted residual's skip adds), and the multiplies over the standard convolution's."""
    if format_ == "json":
        return json.dumps(designs_dict(comparison), indent=2)
    rows: Cells = []
    for d in comparison.designs:
        t = d.report.totals
        parts = " + ".join(f"{r.path} {r.macs:,}" for r in d.report.rows if r.macs)
        rows.append([d.name, str(d.output), t.params, t.macs, parts, t.other_ops,
                     _ratio(comparison.ratio(d))])
    title = (f"{comparison.kernel}x{comparison.kernel} convolution, {comparison.filters} "
             f"filters, on {comparison.input}")
    return render_grid(title, ["Design", "Output", "Params", "MACs", "MAC parts",
                               "Other ops", "MACs / standard"],
                       rows, format_, closed_form_text(comparison))


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
    } for i, r in enumerate(comparison.reports)]}


def render_comparison(comparison: "Comparison", format_: str) -> "str | Table":
    """One row per network: totals and the ratios of params and multiplies to the first."""
    if format_ == "json":
        return json.dumps(comparison_dict(comparison), indent=2)
    rows: Cells = []
    for i, r in enumerate(comparison.reports):
        t = r.totals
        rows.append([r.name, str(r.input) + (f" w{r.width:g}" if r.width != 1 else ""),
                     t.params, t.macs, t.activations, human_bytes(t.activation_bytes),
                     _ratio(comparison.ratio(i, "params")), _ratio(comparison.ratio(i, "macs"))])
    dtype = comparison.reports[0].dtype
    return render_grid("networks side by side (ratios to the first)",
                       ["Network", "Input", "Params", "MACs", "Activations",
                        f"Activation memory ({dtype})", "Params / first", "MACs / first"],
                       rows, format_)


def render_sweep(result: "Sweep", format_: str) -> "str | Table":
    """One row per (width, input) combination with its multiplies and parameters."""
    if format_ == "json":
        return json.dumps({"name": result.name, "cells": [
            {"width": c.width, "input": c.input.as_list(), "macs": c.macs, "params": c.params}
            for c in result.cells]}, indent=2)
    rows: Cells = [[f"{c.width:g}", str(c.input), c.macs, c.params] for c in result.cells]
    return render_grid(f"{result.name}: width x resolution", ["Width", "Input", "MACs",
                                                              "Params"], rows, format_)


# ---------------------------------------------------------------- verify and conv


def render_checks(checks: "Sequence[Check]") -> "Table":
    """``convcalc verify``'s table: each layer's ✓/✗, with both numbers where they differ."""
    from rich.table import Table

    table = Table("", "Layer", "Kind", "Shape", "MACs", show_edge=False)
    for c in checks:
        shape = (str(c.engine_shape) if c.engine_shape == c.reference_shape
                 else f"engine {c.engine_shape} ≠ reference {c.reference_shape}")
        macs = (f"{c.engine_macs:,}" if c.engine_macs == c.reference_macs
                else f"engine {c.engine_macs:,} ≠ reference {c.reference_macs:,}")
        table.add_row("[green]✓[/]" if c.ok else "[red]✗[/]", c.path, c.kind, shape, macs)
    bad = sum(not c.ok for c in checks)
    table.caption = (f"all {len(checks)} layers match" if not bad
                     else f"{bad} of {len(checks)} layers differ")
    return table


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


def render_catalogue(entries: "Sequence[tuple[Architecture, Totals]]") -> "Table":
    """``convcalc list``: each architecture's name, input, headline numbers and source, a
    section per family (in the order the families first appear)."""
    from rich.table import Table

    table = Table("Name", "Input", "Params", "MACs", "Description", "Source")
    families: dict[str, list[tuple[Architecture, Totals]]] = {}
    for arch, totals in entries:
        families.setdefault(family(arch.name), []).append((arch, totals))
    for members in families.values():
        for arch, totals in members:
            table.add_row(arch.name, str(arch.input), human(totals.params), human(totals.macs),
                          arch.description, arch.source)
        table.add_section()
    return table
