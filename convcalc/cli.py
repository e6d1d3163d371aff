"""The ``convcalc`` command: each command parses its options, makes one library call and
renders the result. ``ConvcalcError`` becomes a one-line message and exit status 2 here, once."""

import sys
from typing import Any

import click

from convcalc.analysis import DTYPE_BYTES, Report, analyze
from convcalc.architecture import Architecture
from convcalc.errors import ConvcalcError
from convcalc.loader import builtin_names, load
from convcalc.shapes import parse_shape
from convcalc.variants import with_input, with_width

FORMATS = ("table", "json", "markdown", "csv")


class BadInput(click.ClickException):
    """Bad input from the user: one line on stderr, exit status 2."""

    exit_code = 2


class _Commands(click.Group):
    """The error boundary: every command's ConvcalcError ends as a BadInput."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConvcalcError as e:
            raise BadInput(str(e)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="convcalc")
def main() -> None:
    """What a convolutional network costs before you train it: the output shape, parameters,
    multiplies and memory of every layer."""


def prepared(arch: str, input_: str | None, width: float | None) -> Architecture:
    """An architecture loaded by name or path, at the requested resolution and width."""
    loaded = load(arch)
    if input_:
        loaded = with_input(loaded, parse_shape(input_, channels=loaded.input.c))
    if width is not None:
        loaded = with_width(loaded, width)
    return loaded


def output(report: Report, format_: str, flops: bool) -> None:
    """Print a report in one of FORMATS; rich is imported only for the table."""
    from convcalc import render

    if format_ == "json":
        click.echo(render.render_json(report))
    elif format_ == "csv":
        click.echo(render.render_csv(report, flops), nl=False)
    elif format_ == "markdown":
        click.echo(render.render_markdown(report, flops), nl=False)
    else:
        from rich.console import Console

        console = Console(width=None if sys.stdout.isatty() else 400)
        console.print(render.render_table(report, flops))


@main.command("analyze")
@click.argument("arch")
@click.option("--input", "input_", metavar="HxWxC",
              help="Input size instead of the file's: HxWxC, HxW or one size N (NxN).")
@click.option("--width", type=float, help="Width multiplier on channel counts, e.g. 0.5.")
@click.option("--format", "format_", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Output format.")
@click.option("--flops", is_flag=True, help="Add a FLOPs column (2 x MACs).")
@click.option("--side", "include_side", is_flag=True,
              help="Count side branches (auxiliary classifiers) in the totals.")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="fp32",
              show_default=True, help="Element type for the byte figures.")
def analyze_command(arch: str, input_: str | None, width: float | None, format_: str,
                    flops: bool, include_side: bool, dtype: str) -> None:
    """Per-layer shapes, parameters and multiplies of ARCH (a built-in name or a YAML file)."""
    report = analyze(prepared(arch, input_, width), include_side=include_side, dtype=dtype)
    output(report, format_, flops)


@main.command("list")
def list_command() -> None:
    """The built-in architectures, with their source and headline numbers."""
    from rich.console import Console
    from rich.table import Table

    from convcalc.render import human

    table = Table("Name", "Input", "Params", "MACs", "Description", "Source")
    for name in builtin_names():
        arch = load(name)
        totals = analyze(arch).totals
        table.add_row(name, str(arch.input), human(totals.params), human(totals.macs),
                      arch.description, arch.source)
    Console(width=None if sys.stdout.isatty() else 200).print(table)


REPORT_FORMATS = ("md", "csv", "json", "html", "tex")


@main.command("report")
@click.argument("archs", nargs=-1, required=True, metavar="ARCH [ARCH ...]")
@click.option("-o", "--output", "output_", type=click.Path(dir_okay=False),
              help="Write to this file (atomically) instead of stdout; its extension picks "
                   "the format: .md .csv .json .html .tex.")
@click.option("--format", "format_", type=click.Choice(REPORT_FORMATS),
              help="Output format; default: from -o's extension, else md.")
@click.option("--depth", type=click.IntRange(min=1), metavar="N",
              help="Fold the layers into blocks of N path components, with subtotals.")
@click.option("--by-type/--no-by-type", "by_type", default=True, show_default=True,
              help="The share of MACs and params of each layer kind (conv 1x1, depthwise "
                   "3x3, dense, ...).")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True, metavar="K",
              help="The K layers with the most MACs (0: none).")
@click.option("--input", "input_", metavar="HxWxC",
              help="Input size instead of the files': HxWxC, HxW or one size N (NxN).")
@click.option("--width", type=float, help="Width multiplier on channel counts, e.g. 0.5.")
@click.option("--side", "include_side", is_flag=True,
              help="Count side branches (auxiliary classifiers) in totals and memory.")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="fp32",
              show_default=True, help="Element type for the byte figures.")
def report_command(*, archs: tuple[str, ...], output_: str | None, format_: str | None,
                   depth: int | None, by_type: bool, top: int, input_: str | None,
                   width: float | None, include_side: bool, dtype: str) -> None:
    """A report of one or more architectures (built-in names or YAML files) in Markdown, CSV,
    JSON, HTML or LaTeX: totals, memory (plain sum and liveness peak), cost by layer kind, the
    most expensive layers and the per-layer table; several architectures are compared first."""
    from pathlib import Path

    from convcalc.report_formats import EXTENSIONS, render_report
    from convcalc.summary import summarize

    if format_ is None and output_ is not None:
        suffix = Path(output_).suffix.lower()
        if suffix not in EXTENSIONS:
            raise ConvcalcError(f"cannot tell the format of '{output_}' from its extension; "
                                f"use one of {' '.join(EXTENSIONS)} or give --format")
        format_ = EXTENSIONS[suffix]
    summaries = [summarize(analyze(prepared(a, input_, width), include_side=include_side,
                                   dtype=dtype), by_type=by_type, top=top, depth=depth)
                 for a in archs]
    text = render_report(summaries, format_ or "md")
    if output_ is None:
        click.echo(text, nl=False)
    else:
        from convcalc.output import write_atomically

        write_atomically(output_, text)
