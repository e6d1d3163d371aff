"""The display of every result record: registered with ``convcalc.display`` so that ``print()``,
rich and Jupyter show tables (with a chart where one helps), not dataclass dumps, and so that
``to_dict()`` and ``records()`` give plain data. Records are named, not imported, and renderers
are imported when first used, so registering costs nothing at start-up."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from convcalc.display import register

if TYPE_CHECKING:
    from convcalc.analysis.calibrate import Calibration
    from convcalc.analysis.report import Report
    from convcalc.analysis.roofline import Device, Devices
    from convcalc.analysis.summary import Summary
    from convcalc.analysis.variants import Comparison, LayerComparison, Sweep
    from convcalc.present.grid import Grid
    from convcalc.reference import Checks

REPORT = "convcalc.analysis.report.Report"
SUMMARY = "convcalc.analysis.summary.Summary"
COMPARISON = "convcalc.analysis.variants.Comparison"
DESIGNS = "convcalc.analysis.variants.LayerComparison"
SWEEP = "convcalc.analysis.variants.Sweep"
DEVICE = "convcalc.analysis.roofline.Device"
DEVICES = "convcalc.analysis.roofline.Devices"
CALIBRATION = "convcalc.analysis.calibrate.Calibration"
CHECKS = "convcalc.reference.runner.Checks"


# -- Report ----------------------------------------------------------------------------------

@register(REPORT, "text")
def _report_text(report: "Report") -> str:
    """The per-layer table with every column, its totals and the exact totals."""
    from convcalc.present.table import render_table

    return str(render_table(report))


@register(REPORT, "rich")
def _report_rich(report: "Report") -> Any:
    """The table for rich, laid out to the console's width."""
    from convcalc.present.table import render_table

    return render_table(report)


@register(REPORT, "markdown")
def _report_markdown(report: "Report") -> str:
    from convcalc.present.table import render_markdown

    return render_markdown(report)


@register(REPORT, "html")
def _report_html(report: "Report") -> str:
    from convcalc.present.report_formats import render_html_table

    return render_html_table(report)


@register(REPORT, "dict")
def _report_dict(report: "Report") -> dict[str, Any]:
    from convcalc.present.report_json import report_dict

    return report_dict(report)


@register(REPORT, "records")
def _report_records(report: "Report") -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = _report_dict(report)["layers"]
    return layers


# -- the records shown as one grid -----------------------------------------------------------

def _shown_as_grid(name: str, grid: Callable[[Any], "Grid"],
                   charts: Callable[[Any], list[str]] | None = None) -> None:
    """Register ``grid`` (record -> Grid) as the record's text, rich and HTML forms, the HTML
    followed by ``charts`` (record -> SVGs)."""
    register(name, "text")(lambda record: str(grid(record)))
    register(name, "rich")(grid)

    def html(record: Any) -> str:
        from convcalc.present.notebook import grid_html

        return grid_html(grid(record), charts(record) if charts is not None else ())
    register(name, "html")(html)


def _comparison_grid(comparison: "Comparison") -> "Grid":
    from convcalc.present.grid import Grid
    from convcalc.present.results import render_comparison

    grid = render_comparison(comparison, "text")
    assert isinstance(grid, Grid)
    return grid


def _comparison_charts(comparison: "Comparison") -> list[str]:
    from convcalc.analysis.summary import summarize
    from convcalc.present.report_formats import comparison_chart

    return [comparison_chart([summarize(r, by_type=False, top=0)
                              for r in comparison.reports]).svg]


_shown_as_grid(COMPARISON, _comparison_grid, _comparison_charts)


@register(COMPARISON, "dict")
def _comparison_dict(comparison: "Comparison") -> dict[str, Any]:
    from convcalc.present.results import comparison_dict

    return comparison_dict(comparison)


@register(COMPARISON, "records")
def _comparison_records(comparison: "Comparison") -> list[dict[str, Any]]:
    networks: list[dict[str, Any]] = _comparison_dict(comparison)["networks"]
    return networks


def _designs_grid(comparison: "LayerComparison") -> "Grid":
    from convcalc.present.grid import Grid
    from convcalc.present.results import render_designs

    grid = render_designs(comparison, "text")
    assert isinstance(grid, Grid)
    return grid


def _designs_charts(comparison: "LayerComparison") -> list[str]:
    from convcalc.analysis.summary import share
    from convcalc.present.charts import BLUE, bar_chart
    from convcalc.present.grid import human

    top = max(d.report.totals.macs for d in comparison.designs)
    return [bar_chart("MACs of each design", [
        (d.name, [(share(d.report.totals.macs, top), BLUE,
                   f"{human(d.report.totals.macs)} (×{comparison.ratio(d):.3g})")])
        for d in comparison.designs])]


_shown_as_grid(DESIGNS, _designs_grid, _designs_charts)


@register(DESIGNS, "dict")
def _designs_dict(comparison: "LayerComparison") -> dict[str, Any]:
    from convcalc.present.results import designs_dict

    return designs_dict(comparison)


@register(DESIGNS, "records")
def _designs_records(comparison: "LayerComparison") -> list[dict[str, Any]]:
    return [{k: v for k, v in design.items() if k != "parts"}
            for design in _designs_dict(comparison)["variants"]]


def _sweep_grid(result: "Sweep") -> "Grid":
    from convcalc.present.grid import Grid
    from convcalc.present.results import render_sweep

    grid = render_sweep(result, "text")
    assert isinstance(grid, Grid)
    return grid


def _sweep_charts(result: "Sweep") -> list[str]:
    from convcalc.present.results import render_sweep_chart

    return [render_sweep_chart(result)]


_shown_as_grid(SWEEP, _sweep_grid, _sweep_charts)


@register(SWEEP, "dict")
def _sweep_dict(result: "Sweep") -> dict[str, Any]:
    from convcalc.present.results import sweep_dict

    return sweep_dict(result)


@register(SWEEP, "records")
def _sweep_records(result: "Sweep") -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = _sweep_dict(result)["cells"]
    return cells


def _checks_grid(checks: "Checks") -> "Grid":
    from convcalc.present.results import render_checks

    return render_checks(checks)


_shown_as_grid(CHECKS, _checks_grid)


@register(CHECKS, "dict")
def _checks_dict(checks: "Checks") -> dict[str, Any]:
    from convcalc.present.results import checks_dict

    return checks_dict(checks)


@register(CHECKS, "records")
def _checks_records(checks: "Checks") -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = _checks_dict(checks)["layers"]
    return layers


def _devices_grid(devices: "Devices") -> "Grid":
    from convcalc.present.results import render_devices

    return render_devices(devices)


_shown_as_grid(DEVICES, _devices_grid)


@register(DEVICES, "dict")
def _devices_dict(devices: "Devices") -> dict[str, Any]:
    from convcalc.present.results import device_dict

    return {"devices": [device_dict(d) for d in devices]}


@register(DEVICES, "records")
def _devices_records(devices: "Devices") -> list[dict[str, Any]]:
    from convcalc.present.results import device_row

    return [device_row(d) for d in devices]


def _device_grid(device: "Device") -> "Grid":
    from convcalc.present.results import render_devices

    return render_devices([device])


_shown_as_grid(DEVICE, _device_grid)


@register(DEVICE, "dict")
def _device_dict(device: "Device") -> dict[str, Any]:
    from convcalc.present.results import device_dict

    return device_dict(device)


@register(DEVICE, "records")
def _device_records(device: "Device") -> list[dict[str, Any]]:
    from convcalc.present.results import device_row

    return [device_row(device)]


def _calibration_grid(calibration: "Calibration") -> "Grid":
    from convcalc.present.results import render_calibration

    return render_calibration(calibration)


_shown_as_grid(CALIBRATION, _calibration_grid)


@register(CALIBRATION, "dict")
def _calibration_dict(calibration: "Calibration") -> dict[str, Any]:
    from convcalc.present.results import calibration_dict

    return calibration_dict(calibration)


@register(CALIBRATION, "records")
def _calibration_records(calibration: "Calibration") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = _calibration_dict(calibration)["measurements"]
    return rows


# -- Summary -----------------------------------------------------------------------------------

@register(SUMMARY, "text")
def _summary_text(summary: "Summary") -> str:
    """The headline figures and each section's table."""
    from convcalc.present.report_formats import summary_text

    return summary_text(summary)


@register(SUMMARY, "rich")
def _summary_rich(summary: "Summary") -> Any:
    from rich.console import Group

    from convcalc.present.report_formats import report_parts

    return Group(*report_parts([summary]))


@register(SUMMARY, "html")
def _summary_html(summary: "Summary") -> str:
    from convcalc.present.report_formats import render_html_summary

    return render_html_summary(summary, charts=True)


@register(SUMMARY, "dict")
def _summary_dict(summary: "Summary") -> dict[str, Any]:
    from convcalc.present.report_formats import summary_dict

    return summary_dict(summary)


@register(SUMMARY, "records")
def _summary_records(summary: "Summary") -> list[dict[str, Any]]:
    """Every section's rows, each tagged with its section's id (as the CSV report is)."""
    from convcalc.present.report_formats import sections

    return [{"section": s.id, **dict(zip(s.ids, row, strict=True))}
            for s in sections(summary) for row in s.rows]
