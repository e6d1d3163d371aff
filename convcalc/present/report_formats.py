"""The ``report`` command's documents: Markdown, CSV, JSON, HTML and LaTeX from summaries.

Every section is first built as a format-free ``Section`` (column ids, titles and typed values);
each format then draws the same sections, so the numbers cannot differ between formats. Counts
are exact integers everywhere; shares are fractions in CSV and JSON and percentages elsewhere.
Every text that comes from an input file (names, descriptions, sources, layer paths) goes
through the format's escape function.
"""

import csv
import html
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from convcalc.analysis.report import DTYPE_BYTES, LayerRow, Report
from convcalc.analysis.summary import Summary, compare_totals, compared, share, summarize
from convcalc.errors import ConvcalcError, one_line, plain
from convcalc.present.charts import AMBER, BLUE, GREEN, bar_chart
from convcalc.present.drawing.model import diagram, readable_depth
from convcalc.present.drawing.svg import render_svg
from convcalc.present.grid import (
    Col,
    Grid,
    column_indices,
    csv_cell,
    human,
    human_bytes,
    human_seconds,
    markdown_escape,
)
from convcalc.present.latex import PREAMBLE, TIMES, Cell, tex_escape, tex_paragraph, tex_table
from convcalc.present.notebook import notebook_html
from convcalc.present.report_json import report_dict
from convcalc.present.table import TITLES, Column, cell, input_text

SCHEMA = 1


class Share(float):
    """A fraction of a total: a percentage for people, the fraction itself in CSV and JSON."""


class Ratio(float):
    """A figure divided by the first architecture's, shown to people as a times sign and 0.52."""


class Seconds(float):
    """A roofline time: in ms or µs for people, seconds in CSV and JSON."""


Value = str | int | float | None  # floats: Share, Ratio, Seconds, or an intensity


LAYER_COLUMNS = (
    Column.NAME, Column.KIND, Column.INPUT, Column.OUTPUT, Column.WINDOW, Column.PARAMS,
    Column.MACS, Column.MACS_SHARE, Column.ACTIVATIONS, Column.ACTIVATION_BYTES,
    Column.RECEPTIVE_FIELD, Column.BYTES_MOVED, Column.INTENSITY,
)
TIMED_COLUMNS = (Column.SECONDS, Column.BOUND)
# The per-layer table of a LaTeX report, unless --columns says otherwise: what fits a page
# (the names, shapes and the headline numbers; the rest is in every other format). On a
# device, the time and its bound take the kernel's place.
TEX_LAYER_COLUMNS = (Column.NAME, Column.KIND, Column.OUTPUT, Column.WINDOW, Column.PARAMS,
                     Column.MACS, Column.MACS_SHARE)
TEX_TIMED_COLUMNS = (Column.NAME, Column.KIND, Column.OUTPUT, Column.PARAMS, Column.MACS,
                     Column.MACS_SHARE, Column.SECONDS, Column.BOUND)

# The one header of the CSV form: every section's column ids, in this order.
CSV_COLUMNS = (
    "architecture", "section", "name", "kind", "input", "output", "window", "receptive_field",
    "level", "layers", "params", "macs", "flops", "other_ops", "activations", "macs_share",
    "params_share", "param_bytes", "input_bytes", "activation_bytes", "peak_activation_bytes",
    "peak_at", "params_ratio", "macs_ratio", "flops_ratio", "param_bytes_ratio",
    "peak_activation_bytes_ratio", "activation_bytes_ratio", "bytes_moved", "intensity",
    "seconds", "bound", "seconds_ratio", "seconds_share",
)


@dataclass(frozen=True)
class Section:
    """One table of a report: ``ids`` name the columns (CSV and JSON), ``titles`` head them for
    people; ``levels`` indents rows of a tree (blocks); ``dim`` marks side-branch rows."""

    id: str
    title: str
    ids: tuple[str, ...]
    titles: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    levels: tuple[int, ...] = ()
    dim: tuple[bool, ...] = ()

    def level(self, index: int) -> int:
        return self.levels[index] if self.levels else 0

    def dimmed(self, index: int) -> bool:
        return bool(self.dim) and self.dim[index]


def _layer_value(summary: Summary, row: LayerRow, column: Column) -> Value:
    report = summary.report
    counted = report.include_side or not row.side
    if column is Column.MACS_SHARE:
        return Share(share(row.macs, report.totals.macs)) if counted else None
    if column is Column.ACTIVATION_BYTES:
        return DTYPE_BYTES[report.dtype] * row.activations
    if column is Column.INPUT:
        return input_text(report, row)
    if column is Column.SECONDS:
        return Seconds(row.seconds or 0.0)
    return cell(row, column)


def _chosen(section: Section, columns: Sequence[str] | None) -> Section:
    """``section`` with only the ``columns`` (ids, in that order; None: all of them)."""
    if columns is None:
        return section
    order = column_indices(section.ids, columns)
    return Section(section.id, section.title, tuple(section.ids[i] for i in order),
                   tuple(section.titles[i] for i in order),
                   tuple(tuple(row[i] for i in order) for row in section.rows),
                   section.levels, section.dim)


def sections(summary: Summary, columns: Sequence[str] | None = None) -> list[Section]:
    """The sections of one architecture, in reading order; ``columns`` picks the columns (ids)
    of the per-layer table, or of the blocks with a depth."""
    report, memory, totals = summary.report, summary.memory, summary.report.totals
    timed = report.device is not None and totals.seconds is not None
    layer_columns = LAYER_COLUMNS + (TIMED_COLUMNS if timed else ())
    out = [
        Section("total", "Totals" + (f" on {report.device.name} (roofline)"
                                     if report.device is not None else ""),
                ("params", "macs", "flops", "other_ops", "activations", "bytes_moved",
                 *(("seconds",) if timed else ())),
                ("Params", "MACs", "FLOPs", "Other ops", "Activations", "Bytes moved",
                 *(("Time",) if timed else ())),
                ((totals.params, totals.macs, totals.flops, totals.other_ops,
                  totals.activations, totals.bytes_moved,
                  *((Seconds(totals.seconds or 0.0),) if timed else ())),)),
        Section("memory", f"Memory at {report.dtype} (bytes)",
                ("param_bytes", "input_bytes", "activation_bytes", "peak_activation_bytes",
                 "peak_at"),
                ("Params", "Input", "Activations, plain sum", "Activations, peak (liveness)",
                 "Peak at layer"),
                ((memory.param_bytes, memory.input_bytes, memory.activation_sum_bytes,
                  memory.peak_bytes, memory.peak_at),)),
    ]
    if summary.by_kind is not None:
        out.append(Section(
            "kind", "By layer kind",
            ("kind", "layers", "macs", "macs_share", "params", "params_share",
             *(("seconds", "seconds_share") if timed else ())),
            ("Kind", "Layers", "MACs", "% of MACs", "Params", "% of params",
             *(("Time", "% of time") if timed else ())),
            tuple((k.kind, k.layers, k.macs, Share(k.macs_share), k.params,
                   Share(k.params_share),
                   *((Seconds(k.seconds or 0.0), Share(k.seconds_share or 0.0)) if timed
                     else ())) for k in summary.by_kind)))
    if summary.top is not None:
        out.append(Section(
            "top", f"Top {len(summary.top)} layers by MACs",
            ("name", "kind", "window", "macs", "macs_share", "params"),
            ("Layer", "Kind", "Kernel/stride", "MACs", "% of MACs", "Params"),
            tuple((r.path, r.kind, cell(r, Column.WINDOW), r.macs,
                   Share(share(r.macs, totals.macs)), r.params) for r in summary.top)))
    if summary.blocks is not None:
        out.append(_chosen(Section(
            "block", f"Blocks to depth {summary.depth}",
            ("name", "kind", "layers", "params", "macs", "macs_share", "activations"),
            ("Block", "Kind", "Layers", "Params", "MACs", "% of MACs", "Activations"),
            tuple((b.path, b.kind, b.layers, b.params, b.macs,
                   Share(share(b.macs, totals.macs)), b.activations)
                  for b in summary.blocks),
            levels=tuple(b.level - 1 for b in summary.blocks)), columns))
    else:
        if columns is not None:  # checked before any value is made: the table may be long
            layer_columns = tuple(layer_columns[i] for i in column_indices(
                [c.value for c in layer_columns], columns))
        out.append(Section(
            "layer", "Layers", tuple(c.value for c in layer_columns),
            tuple(TITLES[c] for c in layer_columns),
            tuple(tuple(_layer_value(summary, r, c) for c in layer_columns)
                  for r in report.rows),
            dim=tuple(r.side for r in report.rows)))
    return out


def comparison_section(summaries: Sequence[Summary]) -> Section:
    """Totals of several architectures with ratios to the first."""
    titles = {"params": "Params", "macs": "MACs", "flops": "FLOPs", "param_bytes": "Param bytes",
              "peak_bytes": "Peak activation bytes",
              "activation_sum_bytes": "Activation bytes (sum)", "seconds": "Time (roofline)"}
    ids = {"peak_bytes": "peak_activation_bytes", "activation_sum_bytes": "activation_bytes"}
    columns: list[tuple[str, str]] = [("name", "Architecture")]
    keys = compared(summaries)
    for key in keys:
        columns += [(ids.get(key, key), titles[key]), (f"{ids.get(key, key)}_ratio", "ratio")]
    rows = []
    for c in compare_totals(summaries):
        values: list[Value] = [c.name]
        for key in keys:
            ratio = c.ratios[key]
            value = getattr(c, key)
            values += [Seconds(value) if key == "seconds" else value,
                       None if ratio is None else Ratio(ratio)]
        rows.append(tuple(values))
    return Section("comparison", "Comparison", tuple(i for i, _ in columns),
                   tuple(t for _, t in columns), tuple(rows))


def headline(summary: Summary) -> str:
    """One sentence with the figures people quote, in human units."""
    t, m = summary.report.totals, summary.memory
    return (f"{human(t.params)} params ({human_bytes(m.param_bytes)} at {summary.report.dtype}), "
            f"{human(t.macs)} MACs; activation memory: peak {human_bytes(m.peak_bytes)} "
            f"(at {m.peak_at}), plain sum {human_bytes(m.activation_sum_bytes)}"
            + (f"; batch {summary.report.batch}" if summary.report.batch != 1 else "")
            + (f"; {human_seconds(t.seconds)} on {summary.report.device.name} (roofline)"
               if summary.report.device is not None and t.seconds is not None else ""))


def _human_value(value: Value) -> str:
    """A value for people: 1,234,567, 12.34%, a times sign and 0.52; text as it is (escaped
    later)."""
    if isinstance(value, Share):
        return f"{100 * value:.2f}%"
    if isinstance(value, Ratio):
        return f"{TIMES}{value:.2f}"
    if isinstance(value, Seconds):
        return human_seconds(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return value or ""


def _numeric(section: Section, column: int) -> bool:
    return any(isinstance(row[column], int | float) for row in section.rows)


# -- Markdown ------------------------------------------------------------------------------------

def markdown_text(text: str) -> str:
    """Text safe in a GitHub Markdown cell or paragraph: no table breaks, no HTML, no emphasis,
    no links or code spans."""
    text = markdown_escape(text.replace("&", "&amp;")).replace(">", "&gt;")
    return re.sub(r"([`*_\[\]~#$])", r"\\\1", text)


def _markdown_table(section: Section) -> list[str]:
    numeric = [_numeric(section, i) for i in range(len(section.ids))]
    lines = [f"### {markdown_text(section.title)}", "",
             "| " + " | ".join(section.titles) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    for index, row in enumerate(section.rows):
        cells = [markdown_text(_human_value(v)) for v in row]
        cells[0] = "&emsp;" * section.level(index) + cells[0]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def render_report_markdown(summaries: Sequence[Summary],
                           columns: Sequence[str] | None = None) -> str:
    """GitHub Markdown: a comparison table when there are several architectures, then each
    architecture's sections (``columns``: those of the per-layer table)."""
    lines = ["# convcalc report", ""]
    if len(summaries) > 1:
        lines += _markdown_table(comparison_section(summaries))
    for summary in summaries:
        report = summary.report
        lines += [f"## {markdown_text(report.name)}", ""]
        lines += [markdown_text(t) + "  " for t in (report.description,
                                                   f"Source: {report.source}" if report.source
                                                   else "") if t]
        lines += [f"Input {report.input}" + (f", width {report.width:g}"
                                             if report.width != 1 else "") + ". "
                  + markdown_text(headline(summary)) + ".", ""]
        for section in sections(summary, columns):
            lines += _markdown_table(section)
    return "\n".join(lines)


# -- CSV -----------------------------------------------------------------------------------------

def _csv_value(value: Value) -> str:
    if isinstance(value, Share | Ratio):
        return f"{value:.6f}"
    if isinstance(value, float):  # seconds and intensities
        return f"{value:.6g}"
    return "" if value is None else str(value)


def render_report_csv(summaries: Sequence[Summary],
                      columns: Sequence[str] | None = None) -> str:
    """Long CSV: one header row (``CSV_COLUMNS``); every row says which architecture and
    section it belongs to and fills the columns that section has, exact integers throughout."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    everything: list[tuple[str, Section]] = []
    if len(summaries) > 1:
        everything.append(("", comparison_section(summaries)))
    everything += [(s.report.name, section) for s in summaries
                   for section in sections(s, columns)]
    for name, section in everything:
        for index, row in enumerate(section.rows):
            record = {"architecture": name, "section": section.id}
            record |= {i: _csv_value(v) for i, v in zip(section.ids, row, strict=True)}
            if section.levels:
                record["level"] = str(section.level(index) + 1)
            writer.writerow({k: csv_cell(v) for k, v in record.items()})
    return out.getvalue()


# -- JSON ----------------------------------------------------------------------------------------

def summary_dict(summary: Summary) -> dict[str, Any]:
    """The analyze contract (``report_json.report_dict``) plus the summaries; a section left out of
    the report is null."""
    m = summary.memory
    data = report_dict(summary.report)
    data["memory"] = {"param_bytes": m.param_bytes, "input_bytes": m.input_bytes,
                      "activation_bytes": m.activation_sum_bytes,
                      "peak_activation_bytes": m.peak_bytes, "peak_at": m.peak_at}
    data["by_kind"] = None if summary.by_kind is None else [
        {"kind": k.kind, "layers": k.layers, "macs": k.macs, "macs_share": k.macs_share,
         "params": k.params, "params_share": k.params_share, "seconds": k.seconds,
         "seconds_share": k.seconds_share} for k in summary.by_kind]
    data["top"] = None if summary.top is None else [r.path for r in summary.top]
    data["blocks"] = None if summary.blocks is None else [
        {"name": b.path, "level": b.level, "kind": b.kind, "layers": b.layers,
         "params": b.params, "macs": b.macs, "activations": b.activations}
        for b in summary.blocks]
    return data


def render_report_json(summaries: Sequence[Summary]) -> str:
    """``{"schema": 1, "comparison": [...], "reports": [...]}``: the same shape for one
    architecture or several, so scripts need one code path."""
    comparison = [{"name": c.name, **{k: getattr(c, k) for k in compared(summaries)},
                   "ratios": c.ratios} for c in compare_totals(summaries)]
    return json.dumps({"schema": SCHEMA, "comparison": comparison,
                       "reports": [summary_dict(s) for s in summaries]}, indent=2,
                      allow_nan=False) + "\n"


# -- HTML ----------------------------------------------------------------------------------------

HTML_STYLE = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
       margin: 2em auto; max-width: 1360px; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #d0d7de; padding-bottom: .2em; }
h3 { font-size: 1.05em; margin-top: 1.6em; }
.meta { color: #57606a; margin: .2em 0; }
table { border-collapse: collapse; margin: .5em 0 1em; font-variant-numeric: tabular-nums;
        font-size: 12px; }
th, td { padding: .2em .4em; border-bottom: 1px solid #e5e8eb; text-align: left;
         white-space: nowrap; }
/* Titles wrap at their spaces so that numbers, not headings, set a column's width. */
th { border-bottom: 2px solid #8c959f; background: #f6f8fa; white-space: normal;
     vertical-align: bottom; }
td.num, th.num { text-align: right; }
td.wrap { white-space: normal; }
tr.dim td { color: #8c959f; }
svg { display: block; max-width: 100%; height: auto; }
.scroll { overflow-x: auto; }
.graph { max-height: 85vh; overflow: auto; border: 1px solid #d0d7de; }
.graph svg { max-width: none; }
@media print {
  body { margin: 0; max-width: none; font-size: 10px; }
  section { break-before: page; }
  tr, svg { break-inside: avoid; }
  .scroll, .graph { overflow: visible; max-height: none; border: 0; }
}
"""


def _esc(text: str) -> str:
    return html.escape(plain(text), quote=True)


def _html_table(section: Section) -> list[str]:
    numeric = [_numeric(section, i) for i in range(len(section.ids))]
    head = "".join(f'<th{" class=num" if n else ""} data-id="{_esc(i)}">{_esc(t)}</th>'
                   for i, t, n in zip(section.ids, section.titles, numeric, strict=True))
    lines = [f"<h3>{_esc(section.title)}</h3>", '<div class="scroll"><table>',
             f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for index, row in enumerate(section.rows):
        cells = []
        for column, value in enumerate(row):
            attrs = " class=num" if numeric[column] else ""
            if column == 0 and section.level(index):
                attrs += f' style="padding-left:{0.7 + 1.2 * section.level(index):g}em"'
            text = _esc(_human_value(value))
            if section.ids[column] == "input" and "+" in text:
                # A concat's inputs, 28x28x(64+128+32+32), may break after a '+' when the
                # table would otherwise not fit the page.
                attrs += " class=wrap"
                text = text.replace("+", "+<wbr>")
            cells.append(f"<td{attrs}>{text}</td>")
        dim = ' class="dim"' if section.dimmed(index) else ""
        lines.append(f"<tr{dim}>{''.join(cells)}</tr>")
    return [*lines, "</tbody></table></div>"]


@dataclass(frozen=True)
class Chart:
    """One chart of a report: ``id`` names its standalone file (``report --charts``), the
    heading it has on the page, and the SVG itself."""

    id: str
    heading: str
    svg: str


def _safe(name: str) -> str:
    """A file-name part from a network name: letters, digits, '_', '-' and '.' kept."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "network"


def architecture_charts(summary: Summary, index: int) -> list[Chart]:
    """The charts of one architecture: MACs per layer (and, analysed on a --device, each
    layer's roofline time beside them, for every layer that takes any), and the shares by
    layer kind."""
    name = summary.report.name
    stem = f"{index}-{_safe(name)}"
    device = summary.report.device
    if device is None:
        costly = [r for r in summary.report.counted() if r.macs]
        largest = max((r.macs for r in costly), default=0)
        out = [Chart(f"{stem}-macs-per-layer", "MACs per layer", bar_chart(
            f"MACs per layer of {name}",
            [(r.path, [(share(r.macs, largest), BLUE, human(r.macs))]) for r in costly]))]
    else:
        timed = [r for r in summary.report.counted() if r.macs or r.seconds]
        largest = max((r.macs for r in timed), default=0)
        slowest = max((r.seconds or 0.0 for r in timed), default=0.0)
        out = [Chart(f"{stem}-macs-per-layer", f"MACs and time per layer on {device.name}",
                     bar_chart(f"MACs and roofline time per layer of {name} on {device.name}", [
                         (r.path, [(share(r.macs, largest), BLUE, human(r.macs)),
                                   ((r.seconds or 0.0) / slowest if slowest else 0.0, GREEN,
                                    human_seconds(r.seconds or 0.0))])
                         for r in timed], legend=[("MACs", BLUE), ("time", GREEN)]))]
    if summary.by_kind:
        out.append(Chart(f"{stem}-by-kind", "Shares by layer kind", bar_chart(
            f"Shares of MACs and params by layer kind of {name}",
            [(k.kind, [(k.macs_share, BLUE, f"{100 * k.macs_share:.2f}% of MACs"),
                       (k.params_share, AMBER, f"{100 * k.params_share:.2f}% of params")])
             for k in summary.by_kind],
            legend=[("MACs", BLUE), ("params", AMBER)])))
    return out


def comparison_chart(summaries: Sequence[Summary]) -> Chart:
    """Params and MACs of several architectures side by side, each bar scaled to the largest
    of its kind and labelled with its value and its ratio to the first architecture."""
    rows = compare_totals(summaries)
    top = {key: max(getattr(c, key) for c in rows) for key in ("macs", "params")}

    def bar(c: Any, key: str, colour: str) -> tuple[float, str, str]:
        ratio = c.ratios[key]
        return (share(getattr(c, key), top[key]), colour,
                f"{human(getattr(c, key))} {key.replace('macs', 'MACs')}"
                + (f" ({TIMES}{ratio:.2f})" if ratio is not None else ""))

    timed = all(c.seconds is not None for c in rows)  # every network analysed on a --device
    slowest = max((c.seconds or 0.0 for c in rows), default=0.0)

    def time_bar(c: Any) -> list[tuple[float, str, str]]:
        if not timed:
            return []
        ratio = c.ratios.get("seconds")
        return [(c.seconds / slowest if slowest else 0.0, GREEN, human_seconds(c.seconds)
                 + (f" ({TIMES}{ratio:.2f})" if ratio is not None else ""))]

    return Chart("comparison", "Comparison chart", bar_chart(
        ("MACs, params and roofline time of " if timed else "MACs and params of ")
        + ", ".join(c.name for c in rows),
        [(c.name, [bar(c, "macs", BLUE), bar(c, "params", AMBER), *time_bar(c)])
         for c in rows],
        legend=[("MACs", BLUE), ("params", AMBER), *([("time", GREEN)] if timed else [])]))


def report_charts(summaries: Sequence[Summary]) -> list[Chart]:
    """Every chart of the HTML report, in page order."""
    out = [comparison_chart(summaries)] if len(summaries) > 1 else []
    for index, summary in enumerate(summaries, 1):
        out += architecture_charts(summary, index)
    return out


def _figure(chart: Chart) -> list[str]:
    return [f"<h3>{_esc(chart.heading)}</h3>", chart.svg]


def render_report_html(summaries: Sequence[Summary],
                       columns: Sequence[str] | None = None) -> str:
    """One self-contained HTML page: inline CSS and SVG, no scripts, nothing fetched
    (``columns``: those of the per-layer table)."""
    names = ", ".join(s.report.name for s in summaries)
    lines = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>convcalc report: {_esc(names)}</title>", f"<style>{HTML_STYLE}</style>",
             "</head>", "<body>", "<h1>convcalc report</h1>"]
    if len(summaries) > 1:
        lines += _html_table(comparison_section(summaries))
        lines += _figure(comparison_chart(summaries))
    for index, summary in enumerate(summaries, 1):
        report = summary.report
        lines += [f'<section id="architecture-{index}">', f"<h2>{_esc(report.name)}</h2>"]
        if report.description:
            lines.append(f'<p class="meta">{_esc(report.description)}</p>')
        if report.source:
            lines.append(f'<p class="meta">Source: {_esc(report.source)}</p>')
        lines.append(f"<p>Input {report.input}. {_esc(headline(summary))}.</p>")
        for section in sections(summary, columns):
            lines += _html_table(section)
            if section.id == "memory":
                for chart in architecture_charts(summary, index):
                    lines += _figure(chart)
                lines += _layer_graph(summary)
        lines.append("</section>")
    return "\n".join([*lines, "</body>", "</html>", ""])


def _layer_graph(summary: Summary) -> list[str]:
    """The layer graph, folded to the report's --depth or else to a depth that keeps it to a
    page's worth of boxes, in a box of its own that scrolls."""
    depth = summary.depth if summary.depth is not None else readable_depth(summary.report)
    drawn = diagram(summary.report, depth=depth)
    heading = "Layer graph" + (f", folded to depth {depth}" if depth is not None else "")
    return [f"<h3>{_esc(heading)}</h3>", f'<div class="graph">{render_svg(drawn)}</div>']


def render_html_summary(summary: Summary, charts: bool = False) -> str:
    """A summary as an HTML fragment for a notebook (``Summary._repr_html_``): the name, the
    headline figures and each section's table (with ``charts``, the report's charts after
    them), styled within its own element."""
    report = summary.report
    lines = [f"<h4>{_esc(report.name)} — input {report.input}</h4>",
             f"<p>{_esc(headline(summary))}.</p>"]
    for section in sections(summary):
        lines += _html_table(section)
    if charts:
        for chart in architecture_charts(summary, 1):
            lines += _figure(chart)
    return notebook_html(lines)


def render_html_table(report: Report) -> str:
    """A report as an HTML fragment for a notebook (``Report._repr_html_``): its name, the
    headline figures, totals, memory and the per-layer table."""
    return render_html_summary(summarize(report, by_type=False, top=0))


# -- text ----------------------------------------------------------------------------------------

def section_grid(section: Section) -> Grid:
    """One section as a terminal grid: numbers on the right, a tree's rows indented."""
    numeric = [_numeric(section, i) for i in range(len(section.ids))]
    return Grid(
        title=section.title,
        columns=tuple(Col(i, t, right=n) for i, t, n in
                      zip(section.ids, section.titles, numeric, strict=True)),
        rows=[["  " * section.level(index) + _human_value(row[0]),
               *(_human_value(v) for v in row[1:])] for index, row in enumerate(section.rows)],
        styles=["dim" if section.dimmed(i) else "" for i in range(len(section.rows))],
        priority=section.ids)


def report_parts(summaries: Sequence[Summary],
                 columns: Sequence[str] | None = None) -> list[str | Grid]:
    """The report for a terminal: the comparison's grid when there are several architectures,
    then each one's name and headline figures and its sections' grids (``columns``: those of
    the per-layer table)."""
    parts: list[str | Grid] = ([section_grid(comparison_section(summaries))]
                               if len(summaries) > 1 else [])
    for summary in summaries:
        report = summary.report
        # a name from a file name reaches the terminal without its control characters
        parts.append(one_line(f"{report.name}, input {report.input}"
                              + (f", width {report.width:g}" if report.width != 1 else "")
                              + f": {headline(summary)}."))
        parts += [section_grid(s) for s in sections(summary, columns)]
    return parts


def summary_text(summary: Summary) -> str:
    """A summary as plain text: the name, the headline figures and each section's grid."""
    return "\n\n".join(str(part).rstrip("\n") for part in report_parts([summary])) + "\n"


# -- LaTeX ---------------------------------------------------------------------------------------

def _tex_section(section: Section, caption: str) -> list[str]:
    """A section as a LaTeX table; a figure's ratio (the next column, ``ID_ratio``) goes
    under it in the figure's cell, which keeps a comparison of many figures to a page."""
    keep = [i for i, id_ in enumerate(section.ids)
            if not (i and id_ == f"{section.ids[i - 1]}_ratio")]
    rows: list[list[Cell]] = []
    for row in section.rows:
        cells: list[Cell] = []
        for i in keep:
            ratio = row[i + 1] if f"{section.ids[i]}_ratio" in section.ids[i + 1:i + 2] else None
            value = _human_value(row[i])
            cells.append((value, _human_value(ratio)) if ratio is not None else value)
        rows.append(cells)
    ratios = len(keep) < len(section.ids)
    return tex_table(caption + (" (under each figure, its ratio to the first)" if ratios else ""),
                     [section.titles[i] for i in keep], rows,
                     [_numeric(section, i) for i in keep],
                     [section.level(i) for i in range(len(section.rows))])


def render_report_tex(summaries: Sequence[Summary], columns: Sequence[str] | None = None) -> str:
    """LaTeX tables to \\input into a document whose preamble loads booktabs, longtable and
    array; every table fits the text width. Without ``columns``, the per-layer table has the
    columns that fit a page (``TEX_LAYER_COLUMNS``; ``TEX_TIMED_COLUMNS`` on a device)."""
    lines = [f"% convcalc report; needs {PREAMBLE} in the preamble", ""]
    if len(summaries) > 1:
        lines += _tex_section(comparison_section(summaries), "Comparison")
    for summary in summaries:
        report = summary.report
        chosen = columns
        if chosen is None and summary.blocks is None:
            timed = report.device is not None and report.totals.seconds is not None
            chosen = [c.value for c in (TEX_TIMED_COLUMNS if timed else TEX_LAYER_COLUMNS)]
        lines += [rf"\subsection*{{{tex_escape(report.name)}}}"]
        lines += [tex_paragraph(t) for t in (report.description, report.source and
                                             f"Source: {report.source}") if t]
        lines += [tex_paragraph(f"Input {report.input}. {headline(summary)}."), ""]
        for section in sections(summary, chosen):
            lines += _tex_section(section, f"{report.name}: {section.title}")
    return "\n".join(lines)


# The formats with a per-layer table; JSON (``render_report_json``) has every field instead.
RENDERERS: dict[str, Callable[[Sequence[Summary], Sequence[str] | None], str]] = {
    "md": render_report_markdown,
    "csv": render_report_csv,
    "html": render_report_html,
    "tex": render_report_tex,
}
EXTENSIONS = {".md": "md", ".markdown": "md", ".csv": "csv", ".json": "json", ".html": "html",
              ".htm": "html", ".tex": "tex"}


def render_report(summaries: Sequence[Summary], format_: str,
                  columns: Sequence[str] | None = None) -> str:
    """The whole report as JSON or in one of RENDERERS' formats; ``columns`` (ids) picks the
    columns of their per-layer table (of the blocks with a depth)."""
    if format_ != "json":
        return RENDERERS[format_](summaries, columns)
    if columns is not None:
        raise ConvcalcError("--columns picks the columns of the per-layer table; JSON has "
                            "every field of every layer: drop --columns")
    return render_report_json(summaries)
