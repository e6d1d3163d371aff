"""Formatting the other results: layer designs, comparisons, sweeps, verify's checks, the edge demo,
the catalogue, device profiles and calibrations; each as a grid, or as JSON, CSV or Markdown."""

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from convcalc.analysis.report import Report, Totals
from convcalc.present.grid import Cells, Col, Grid, human, human_bytes, human_seconds, render_grid

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table

    from convcalc.analysis.calibrate import Calibration
    from convcalc.analysis.roofline import Device
    from convcalc.analysis.variants import Comparison, Conversion, LayerComparison, Sweep
    from convcalc.graph.architecture import Architecture
    from convcalc.reference import Check, FilterRun


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
             f"filters, on {comparison.input}" + _timed_title(device))
    headers = [Col("design", "Design"), Col("output", "Output"), Col("params", "Params"),
               Col("macs", "MACs"), Col("mac_parts", "MAC parts", wrap=True, breaks=" + "),
               Col("other_ops", "Other ops"),
               Col("ratio", "MACs / standard", right=True, under="macs"),
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


def _timed_title(device: "Device | None") -> str:
    """What a table's title says of the device its times are on."""
    return "" if device is None else f"; roofline time on {device.name}"


def _timed_headers(device: "Device | None", first: str) -> list[Col]:
    if device is None:
        return []
    return [Col("seconds", "Time", right=True),
            Col("seconds_ratio", f"Time / {first}", right=True, under="seconds"),
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


def render_comparison(comparison: "Comparison", format_: str,
                      conversions: "Sequence[Conversion]" = ()) -> "str | Grid":
    """One row per network: totals and the ratios of params and multiplies to the first.
    ``conversions`` (what --convert did to each network) are a line under the table, and the
    ``conversions`` list in JSON."""
    from convcalc.present.conversions import conversion_note

    if format_ == "json":
        document = comparison_dict(comparison)
        if conversions:
            document["conversions"] = [c.to_dict() for c in conversions]
        return json.dumps(document, indent=2, allow_nan=False)
    rows: Cells = []
    device = comparison.reports[0].device
    for i, r in enumerate(comparison.reports):
        t = r.totals
        rows.append([r.name, str(r.input),
                     t.params, t.macs, t.activations, human_bytes(t.activation_bytes),
                     _ratio(comparison.ratio(i, "params")), _ratio(comparison.ratio(i, "macs")),
                     *_timed(t.seconds, comparison.ratio(i, "seconds"), r, device is not None)])
    dtype = comparison.reports[0].dtype
    headers = [Col("network", "Network"), Col("input", "Input"), Col("params", "Params"),
               Col("macs", "MACs"), Col("activations", "Activations"),
               Col("activation_memory", f"Activation memory ({dtype})", right=True),
               Col("params_ratio", "Params / first", right=True, under="params"),
               Col("macs_ratio", "MACs / first", right=True, under="macs"),
               *_timed_headers(device, "first")]
    return render_grid("networks side by side (ratios to the first)" + _timed_title(device),
                       headers, rows, format_,
                       caption=" ".join(conversion_note(c) for c in conversions),
                       priority=("network", "macs", "macs_ratio", "seconds", "seconds_ratio",
                                 "params", "params_ratio", "memory_bound", "input",
                                 "activation_memory", "activations"))


def sweep_dict(result: "Sweep") -> dict[str, Any]:
    """The JSON form of a sweep: one cell per (width, input)."""
    return {"name": result.name, "cells": [
        {"width": c.width, "input": c.input.as_list(), "macs": c.macs, "params": c.params,
         "seconds": c.seconds} for c in result.cells]}


def render_sweep(result: "Sweep", format_: str) -> "str | Grid":
    """One row per (width, input) combination with its multiplies and parameters."""
    if format_ == "json":
        return json.dumps(sweep_dict(result), indent=2, allow_nan=False)
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
    from convcalc.present.charts import scatter_chart

    inputs: dict[str, list[tuple[float, float, str]]] = {}
    for c in sorted(result.cells, key=lambda c: (-c.input.elements, c.width)):
        inputs.setdefault(str(c.input), []).append((c.params, c.macs, f"{c.width:g}x"))
    return scatter_chart(f"{result.name}: MACs against params, width x resolution",
                         list(inputs.items()),
                         "params (log scale); labels: width multiplier",
                         "MACs (log scale), one line per input size",
                         lambda v: human(round(v)))


def checks_dict(checks: "Sequence[Check]") -> dict[str, Any]:
    """verify's result as data: whether every layer matches, and each layer's numbers."""
    return {"ok": all(c.ok for c in checks), "layers": [
        {"name": c.path, "kind": c.kind, "line": c.line, "ok": c.ok,
         "engine_shape": c.engine_shape.as_list(), "reference_shape": c.reference_shape.as_list(),
         "engine_macs": c.engine_macs, "reference_macs": c.reference_macs} for c in checks]}


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
    """``convcalc list``: each architecture's name, input, headline numbers, description and
    source, the families together (in the order they first appear), a rule between families.
    A description or source the row above has (a family's scales) is not repeated. One line
    per architecture on a narrow terminal: the prose wraps in lines of at least 30 (40)
    characters, or is left out, saying how to show it."""
    families: dict[str, list[tuple[Architecture, Totals]]] = {}
    for arch, totals in entries:
        families.setdefault(family(arch.name), []).append((arch, totals))
    rows = []
    for members in families.values():
        above = ("", "")
        for arch, totals in members:
            prose = (arch.description, arch.source)
            rows.append([arch.name, str(arch.input), human(totals.params), human(totals.macs),
                         *("" if text == before else text for text, before in zip(
                             prose, above, strict=True))])
            above = prose
    starts = [0]
    for members in families.values():
        starts.append(starts[-1] + len(members))
    return Grid(
        title="", rows=rows,
        columns=(Col("name", "Name"), Col("input", "Input"), Col("params", "Params", right=True),
                 Col("macs", "MACs", right=True),
                 Col("description", "Description", wrap=True, least=30),
                 Col("source", "Source", wrap=True, least=40)),
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


def _rules(d: "Device") -> list[tuple[str, str, str]]:
    """(rule, value, what it means) of each runtime rule a profile sets."""
    rules = [("runtime", d.runtime), ("fuses", f"{len(d.fuses)} kinds" if d.fuses else ""),
             ("channel_block", str(d.channel_block) if d.channel_block != 1 else ""),
             ("slow_channels", f"{d.slow_channels:.3g}" if d.slow_channels else ""),
             ("combine", d.combine if d.combine != "max" else "")]
    out = []
    for key, value in rules:
        if value:
            out.append((key, value, RULE_MEANINGS[key]
                        + (f" ({', '.join(d.fuses)})" if key == "fuses" else "")))
    return out


def device_dict(device: "Device") -> dict[str, Any]:
    """A profile as data: its figures, efficiencies and sources (the profile file's keys)."""
    return {"name": device.name, "description": device.description, "figures": device.figures,
            "dtype": device.dtype, "macs_per_second": device.macs_per_second,
            "bytes_per_second": device.bytes_per_second,
            "overhead_seconds": device.overhead_seconds, "efficiency": dict(device.efficiency),
            "sources": dict(device.sources), "runtime": device.runtime,
            "fuses": list(device.fuses), "channel_block": device.channel_block,
            "slow_channels": device.slow_channels, "combine": device.combine}


def device_row(device: "Device") -> dict[str, Any]:
    """A profile as one flat row: its figures, one ``efficiency_CLASS`` column per class."""
    data = device_dict(device)
    del data["sources"], data["efficiency"]
    data["fuses"] = ", ".join(device.fuses)
    return {**data, **{f"efficiency_{k}": v for k, v in device.efficiency.items()}}


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
        rules = _rules(d)
        rows += [["", figure, value, d.sources.get(key, "")] for figure, value, key in figures]
        rows += [["", key, value, meaning] for key, value, meaning in rules]
        styles += ["bold"] + [""] * (len(figures) + len(rules))
    return Grid(
        title="", rows=rows, styles=styles,
        columns=(Col("name", "Profile"), Col("figure", "Figure"),
                 Col("value", "Value", right=True), Col("source", "Source", wrap=True)),
        priority=("name", "figure", "value", "source"),
        caption="Peak figures are datasheet maxima: real networks reach a fraction of them; "
        "`convcalc calibrate` fits a profile to your own measurements.")


def calibration_dict(calibration: "Calibration") -> dict[str, Any]:
    """A calibration as data: the fitted profile and each measured network's error."""
    return {"device": device_dict(calibration.device), "measurements": [
        {"name": m.name, "macs": m.report.totals.macs, "measured_seconds": m.seconds,
         "fitted_seconds": m.seconds * (1 + error), "error": error}
        for m, error in zip(calibration.measurements, calibration.errors, strict=True)]}


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
        f"{human_seconds(d.overhead_seconds)} per layer; efficiency {efficiency}"
        + (f"; {d.runtime} rules: channel block {d.channel_block}, slow path n / (n + "
           f"{d.slow_channels:.3g}), {d.combine} of compute and memory" if d.runtime else ""),
        rows=rows,
        columns=(Col("network", "Network"), Col("macs", "MACs", right=True),
                 Col("measured", "Measured", right=True), Col("fitted", "Fitted", right=True),
                 Col("error", "Error", right=True)),
        priority=("network", "error", "measured", "fitted", "macs"),
        caption=f"|error| on the fitted networks: median {middle:.1%}, worst {worst:.1%}")
