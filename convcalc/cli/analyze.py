"""``convcalc analyze``: one network's table. The commands that compare designs (compare, sweep,
list) are in ``designs``, imported only when one of them runs (start-up time)."""

import click

from convcalc.analysis.report import Report, analyze
from convcalc.cli.base import (
    DTYPE_HELP,
    DTYPES,
    FORMATS,
    Names,
    columns_option,
    complete_arch,
    conversion_options,
    converted,
    depth_multiplier_option,
    device_and_dtype,
    examples,
    explain_reports,
    output,
    prepared,
    print_result,
    roofline_options,
)
from convcalc.errors import ConvcalcError


@click.command("analyze", epilog=examples(
    "convcalc analyze resnet50",
    "convcalc analyze mobilenet_v1 --input 160 --width 0.5 --depth 1",
    "convcalc analyze my_net.yaml --format json > my_net.json"))
@click.argument("arch", shell_complete=complete_arch)
@click.option("--input", "input_", metavar="HxWxC",
              help="Input size instead of the file's: HxWxC, HxW or one size N (NxN).")
@click.option("--width", type=float, help="Width multiplier on channel counts, e.g. 0.5.")
@click.option("--format", "format_", type=Names(FORMATS), default="table",
              show_default=True, help="Output format.")
@click.option("--depth", type=click.IntRange(min=1), metavar="N",
              help="Fold the layers into blocks of up to N path components (layer1, "
              "layer1.0, ...), each with the sums of its layers.")
@columns_option
@click.option("--flops", is_flag=True, help="Add a FLOPs column (2 x MACs).")
@click.option("--side", "include_side", is_flag=True,
              help="Count side branches (auxiliary classifiers) in the totals.")
@click.option("--dtype", type=DTYPES, help=DTYPE_HELP)
@depth_multiplier_option
@conversion_options
@roofline_options
@click.option("--explain", is_flag=True,
              help="Print every layer's formulas with the numbers substituted, not the table.")
@click.option("--layer", help="Explain only this layer (a path) and the layers under it "
              "(implies --explain).")
def analyze_command(*, arch: str, input_: str | None, width: float | None,
                    format_: str, depth: int | None, columns: str | None, flops: bool,
                    include_side: bool, dtype: str | None, convert: str | None,
                    include_stem: bool, batch: int, device_name: str | None, explain: bool,
                    layer: str | None, depth_multiplier: float | None) -> None:
    """Per-layer shapes, parameters and multiplies of ARCH (a built-in name or a YAML file).

    With --device, each layer's roofline time and whether memory or compute bounds it. The
    table fits the terminal: on a narrow one it leaves out the least important columns
    and says which; piped, it prints every column."""
    if (explain or layer) and batch != 1:
        raise ConvcalcError("--explain writes out one image's formulas; drop --batch")
    device, dtype_ = device_and_dtype(device_name, dtype)
    loaded, conversion = converted(prepared(arch, input_, width, depth_multiplier), convert,
                                   include_stem)
    report = analyze(loaded, include_side=include_side, dtype=dtype_, batch=batch,
                     device=device)
    for note in report.notes:
        click.echo(f"{arch}: note: {note}", err=True)
    if explain or layer:
        explain_reports([report], format_, layer)
    elif depth is not None:
        folded(report, depth, format_, columns)
        if conversion is not None and format_ == "table":
            from convcalc.present.conversions import conversion_note

            click.echo(conversion_note(conversion))
    else:
        output(report, format_, flops, conversion, columns)


def folded(report: Report, depth: int, format_: str, columns: str | None) -> None:
    """Print --depth's table: the rows folded into blocks (``summary.fold``) with their sums."""
    from convcalc.analysis.summary import fold
    from convcalc.present.table import render_blocks

    print_result(render_blocks(report, fold(report, depth), depth, format_), columns)
