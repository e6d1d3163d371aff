"""Formatting a ``Report``: one function per format, each returning a string or a rich table.

Column ids are one enum; their human titles live here and nowhere else. Machine formats (JSON,
CSV) carry exact integers; the terminal table uses K/M/G. rich is imported only to draw a table.
"""

import csv
import io
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from convcalc.analysis import NETWORK_INPUT, LayerRow, Report, Totals
from convcalc.layers import Conv, Window

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table

    from convcalc.architecture import Architecture
    from convcalc.calibrate import Calibration
    from convcalc.reference import Check, FilterRun
    from convcalc.roofline import Device
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
    shown = columns(flops, timed=report.device is not None)
    for column in shown:
        table.add_column(TITLES[column], justify="right" if column in NUMERIC else "left",
                         no_wrap=column in (Column.NAME, Column.INPUT, Column.OUTPUT))
    for row in report.rows:
        values = [cell(row, c, changed) for c in shown]
        table.add_row(*(_human(v, c) for v, c in zip(values, shown, strict=True)),
                      style="dim" if row.side else None)
    table.add_section()
    table.add_row(*(
        _human(_total(report, c), c) if c in TOTALLED else (_totals_label(report)
                                                            if c is Column.NAME else "")
        for c in shown), style="bold")
    return Group(table, _caption(report))


def _caption(report: Report) -> str:
    t = report.totals
    text = (f"{t.params:,} params ({human_bytes(t.param_bytes)} at {report.dtype}), "
            f"{t.macs:,} MACs ({t.flops:,} FLOPs), {t.other_ops:,} other ops, "
            f"activations {t.activations:,} elements ({human_bytes(t.activation_bytes)}), "
            f"{human_bytes(t.bytes_moved)} moved"
            + (f", batch {report.batch}" if report.batch != 1 else ""))
    if report.device is not None and t.seconds is not None:
        memory = sum(r.bound == "memory" for r in report.counted())
        text += (f"\n{human_seconds(t.seconds)} on {report.device.name} "
                 f"({report.device.figures} figures, roofline); {memory} of "
                 f"{len(report.counted())} layers memory-bound")
    return text


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
            "bytes_moved": row.bytes_moved,
            "intensity": row.intensity,
            "seconds": row.seconds,
            "bound": row.bound,
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
        "batch": report.batch,
        "device": report.device.name if report.device is not None else None,
        "layers": layers,
        "totals": {
            "params": t.params, "macs": t.macs, "flops": t.flops, "other_ops": t.other_ops,
            "activations": t.activations, "param_bytes": t.param_bytes,
            "activation_bytes": t.activation_bytes, "bytes_moved": t.bytes_moved,
            "seconds": t.seconds,
        },
    }


def render_json(report: Report, changed: Changed | None = None) -> str:
    """One JSON object (see ``report_dict``), one layer per line: readable, and fast because
    only json's C encoder (no indent) is used."""
    items = []
    for key, value in report_dict(report, changed).items():
        if key == "layers":
            rows = ",\n".join(f"    {json.dumps(layer, allow_nan=False)}"
                               for layer in value)
            items.append(f'  "layers": [\n{rows}\n  ]' if rows else '  "layers": []')
        else:
            items.append(f"  {json.dumps(key)}: {json.dumps(value, allow_nan=False)}")
    return "{\n" + ",\n".join(items) + "\n}"


def render_csv(report: Report, flops: bool = False, changed: Changed | None = None) -> str:
    """One header row of column ids, then one row per layer with exact integers; the
    ``side`` column marks side-branch rows; after a conversion, ``converted_from`` says what
    each created layer replaced. Traffic is always there, seconds and bound with a device."""
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


def render_designs(comparison: "LayerComparison", format_: str) -> "str | Table":
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
    return render_grid(title, ["Design", "Output", "Params", "MACs", "MAC parts",
                               "Other ops", "MACs / standard",
                               *_timed_headers(device, "standard")],
                       rows, format_, closed_form_text(comparison))


def _timed(seconds: float | None, ratio: float | None, report: Report,
           timed: bool) -> list[str | int]:
    """Time, its ratio and the share of memory-bound layers, for a table with a device."""
    if not timed:
        return []
    memory = sum(r.bound == "memory" for r in report.counted())
    return [human_seconds(seconds or 0.0), _ratio(ratio) if ratio is not None else "",
            f"{memory}/{len(report.counted())}"]


def _timed_headers(device: "Device | None", first: str) -> list[str]:
    if device is None:
        return []
    return [f"Time ({device.name})", f"Time / {first}", "Memory-bound layers"]


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


def render_comparison(comparison: "Comparison", format_: str) -> "str | Table":
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
    return render_grid("networks side by side (ratios to the first)",
                       ["Network", "Input", "Params", "MACs", "Activations",
                        f"Activation memory ({dtype})", "Params / first", "MACs / first",
                        *_timed_headers(device, "first")],
                       rows, format_)


def render_sweep(result: "Sweep", format_: str) -> "str | Table":
    """One row per (width, input) combination with its multiplies and parameters."""
    if format_ == "json":
        return json.dumps({"name": result.name, "cells": [
            {"width": c.width, "input": c.input.as_list(), "macs": c.macs, "params": c.params,
             "seconds": c.seconds} for c in result.cells]}, indent=2, allow_nan=False)
    timed = any(c.seconds is not None for c in result.cells)
    rows: Cells = [[f"{c.width:g}", str(c.input), c.macs, c.params,
                    *([human_seconds(c.seconds or 0.0)] if timed else [])] for c in result.cells]
    return render_grid(f"{result.name}: width x resolution",
                       ["Width", "Input", "MACs", "Params", *(["Time"] if timed else [])],
                       rows, format_)


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


def render_catalogue(entries: "Sequence[tuple[Architecture, Totals]]") -> "Table":
    """``convcalc list``: each architecture's name, input, headline numbers and source."""
    from rich.table import Table

    table = Table("Name", "Input", "Params", "MACs", "Description", "Source")
    for arch, totals in entries:
        table.add_row(arch.name, str(arch.input), human(totals.params), human(totals.macs),
                      arch.description, arch.source)
    return table


def render_devices(devices: "Sequence[Device]") -> "Table":
    """``convcalc devices``: each built-in profile's figures and where each figure comes
    from."""
    from rich.table import Table

    table = Table("Name", "Figures", "Peak MACs/s", "Peak bytes/s", "Efficiency", "Sources",
                  caption="Peak figures are datasheet maxima: real networks reach a fraction "
                  "of them; `convcalc calibrate` fits a profile to your own measurements.",
                  caption_justify="left")
    for d in devices:
        efficiency = ", ".join(f"{k} {v:.2g}" for k, v in d.efficiency.items())
        sources = "\n".join(f"{k}: {v}" for k, v in d.sources.items())
        table.add_row(f"{d.name}\n{d.description}", f"{d.figures} ({d.dtype})",
                      human(round(d.macs_per_second)), human(round(d.bytes_per_second)),
                      efficiency, sources)
    return table


def render_calibration(calibration: "Calibration") -> "Table":
    """``convcalc calibrate``: each network's measured and fitted seconds and the error."""
    from rich.table import Table

    d = calibration.device
    efficiency = ", ".join(f"{k} {v:.3g}" for k, v in d.efficiency.items()) or "none"
    table = Table("Network", "MACs", "Measured", "Fitted", "Error",
                  title=f"{d.name}: {human(round(d.macs_per_second))} MACs/s, "
                  f"{human(round(d.bytes_per_second))} bytes/s, "
                  f"{human_seconds(d.overhead_seconds)} per layer; efficiency {efficiency}",
                  caption_justify="left")
    for m, error in zip(calibration.measurements, calibration.errors, strict=True):
        table.add_row(m.name, human(m.report.totals.macs), human_seconds(m.seconds),
                      human_seconds(m.seconds * (1 + error)), f"{error:+.1%}")
    import statistics

    worst = max(abs(e) for e in calibration.errors)
    middle = statistics.median(abs(e) for e in calibration.errors)
    table.caption = f"|error| on the fitted networks: median {middle:.1%}, worst {worst:.1%}"
    return table
