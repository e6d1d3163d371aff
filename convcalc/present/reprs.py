"""The display of every result record: registered with ``convcalc.display`` so that ``print()``,
rich and Jupyter show tables, not dataclass dumps. Renderers are imported when first used, so
registering costs nothing at start-up."""

from typing import Any

from convcalc.analysis.report import Report
from convcalc.display import register


@register(Report, "text")
def _report_text(report: Report) -> str:
    """The per-layer table with every column, its totals and the exact totals."""
    from convcalc.present.table import render_table

    return str(render_table(report))


@register(Report, "rich")
def _report_rich(report: Report) -> Any:
    """The table for rich, laid out to the console's width."""
    from convcalc.present.table import render_table

    return render_table(report)


@register(Report, "markdown")
def _report_markdown(report: Report) -> str:
    from convcalc.present.table import render_markdown

    return render_markdown(report)


@register(Report, "html")
def _report_html(report: Report) -> str:
    from convcalc.present.report_formats import render_html_table

    return render_html_table(report)
