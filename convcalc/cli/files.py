"""The commands that write or read other files: report, import and export."""

from typing import TYPE_CHECKING

import click

from convcalc.analysis.report import analyze
from convcalc.cli.base import (
    DTYPE_HELP,
    DTYPES,
    Names,
    complete_arch,
    conversion_options,
    converted,
    depth_multiplier_option,
    device_and_dtype,
    examples,
    parse_list,
    prepared,
    prepared_all,
    print_result,
    roofline_options,
    source_files,
)
from convcalc.errors import ConvcalcError

if TYPE_CHECKING:
    from convcalc.analysis.summary import Summary


def write_charts(directory: str, summaries: "list[Summary]") -> None:
    """Write every chart of the report into ``directory`` (made if missing) as NAME.svg."""
    from convcalc.output import make_folder, write_atomically
    from convcalc.present.report_formats import report_charts

    folder = make_folder(directory)
    for chart in report_charts(summaries):
        write_atomically(folder / f"{chart.id}.svg", chart.svg)


REPORT_FORMATS = ("md", "csv", "json", "html", "tex")


@click.command("report", short_help="A report of one or more architectures in Markdown, CSV, "
              "JSON, HTML or LaTeX, with memory, cost by kind and charts.",
              epilog=examples("convcalc report resnet50 -o resnet50.html",
                              "convcalc report mobilenet_v1 resnet50 --depth 1 --format md",
                              "convcalc report resnet50 --columns name,output,macs -o r.tex"))
@click.argument("archs", nargs=-1, required=True, metavar="ARCH [ARCH ...]",
                shell_complete=complete_arch)
@click.option("-o", "--output", "output_", type=click.Path(dir_okay=False),
              help="Write to this file (atomically) instead of stdout; its extension picks "
                   "the format: .md .csv .json .html .tex.")
@click.option("--format", "format_", type=Names(REPORT_FORMATS),
              help="Output format; default: from -o's extension, else text tables for the "
                   "terminal.")
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
@depth_multiplier_option
@click.option("--side", "include_side", is_flag=True,
              help="Count side branches (auxiliary classifiers) in totals and memory.")
@click.option("--dtype", type=DTYPES, help=DTYPE_HELP)
@roofline_options
@click.option("--columns", metavar="ID,ID,...",
              help="The columns of the per-layer table (of the blocks with --depth), in this "
              "order, e.g. name,kind,output,params,macs,macs_share. [default: every column; "
              "LaTeX: the ones that fit a page]")
@click.option("--charts", "charts_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write each chart of the HTML report to DIR as a standalone SVG file.")
def report_command(*, archs: tuple[str, ...], output_: str | None, format_: str | None,
                   depth: int | None, by_type: bool, top: int, input_: str | None,
                   width: float | None, include_side: bool, dtype: str | None, batch: int,
                   device_name: str | None, charts_dir: str | None, columns: str | None,
                   depth_multiplier: float | None) -> None:
    """A report of one or more architectures (built-in names or YAML files) in Markdown, CSV,
    JSON, HTML or LaTeX: totals, memory (plain sum and liveness peak), cost by layer kind, the
    most expensive layers and the per-layer table; several architectures are compared first."""
    from pathlib import Path

    from convcalc.analysis.summary import summarize
    from convcalc.present.report_formats import EXTENSIONS, render_report

    if format_ is None and output_ is not None:
        suffix = Path(output_).suffix.lower()
        if suffix not in EXTENSIONS:
            raise ConvcalcError(f"cannot tell the format of '{output_}' from its extension; "
                                f"use one of {' '.join(EXTENSIONS)} or give --format")
        format_ = EXTENSIONS[suffix]
    chosen = parse_list(columns, "--columns") if columns else None
    device, dtype_ = device_and_dtype(device_name, dtype)
    summaries = [summarize(analyze(loaded, include_side=include_side, dtype=dtype_,
                                   batch=batch, device=device),
                           by_type=by_type, top=top, depth=depth)
                 for loaded in prepared_all(archs, input_, width, depth_multiplier)]
    if charts_dir:
        write_charts(charts_dir, summaries)
    if format_ is None and output_ is None:
        from convcalc.present.report_formats import report_parts

        for i, part in enumerate(report_parts(summaries, chosen)):
            if i:
                click.echo()
            print_result(part)
        return
    text = render_report(summaries, format_ or "md", chosen)
    if output_ is None:
        click.echo(text, nl=False)
    else:
        from convcalc.output import write_atomically

        write_atomically(output_, text, inputs=source_files(archs))


@click.command("import", epilog=examples("convcalc import model.onnx -o model.yaml",
                                        "convcalc import model.onnx --input 512x512 -o m.yaml"))
@click.argument("model", metavar="MODEL.onnx")
@click.option("-o", "--output", "output_", required=True, type=click.Path(dir_okay=False),
              help="The YAML file to write (atomically).")
@click.option("--input", "input_", metavar="HxW",
              help="Input size to read the model at; needed when its size is symbolic.")
def import_command(*, model: str, output_: str, input_: str | None) -> None:
    """Turn an ONNX model into an editable convcalc YAML file that analyzes to the same
    numbers (`from:` only where the graph branches)."""
    from convcalc.formats.onnx_reader import read_onnx
    from convcalc.formats.yaml_writer import write_yaml
    from convcalc.output import write_atomically

    write_atomically(output_, write_yaml(read_onnx(model, input_)), inputs=[model])
    click.echo(f"wrote {output_}")


EXPORT_FORMATS = ("pytorch", "yaml", "onnx")


@click.command("export", epilog=examples(
    "convcalc export resnet50 --to pytorch -o resnet50.py",
    "convcalc export mobilenet_v2 --width 0.5 --to pytorch -o mobilenet_half.py",
    "convcalc export model.onnx --to yaml -o model.yaml",
    "convcalc export mobilenet_v2 --to onnx --batch 8 -o mobilenet_v2.onnx"))
@click.argument("arch", shell_complete=complete_arch)
@click.option("--to", "to", type=click.Choice(EXPORT_FORMATS), required=True,
              help="pytorch: a self-contained module file with build(); yaml: a convcalc "
              "architecture file; onnx: a runnable ONNX model (opset 17, random weights; "
              "needs the onnx extra).")
@click.option("-o", "--output", "output_", type=click.Path(dir_okay=False),
              help="Write to this file (atomically) instead of stdout (onnx: required).")
@click.option("--input", "input_", metavar="HxWxC",
              help="Input size instead of the file's: HxWxC, HxW or one size N (NxN).")
@click.option("--width", type=float, help="Width multiplier on channel counts, e.g. 0.5.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="onnx: images per batch of the model's input.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="onnx: seed of the random weights.")
@depth_multiplier_option
@conversion_options
def export_command(*, arch: str, to: str, output_: str | None, input_: str | None,
                   width: float | None, batch: int, seed: int, depth_multiplier: float | None,
                   convert: str | None, include_stem: bool) -> None:
    """Write ARCH (a built-in name, a YAML or an ONNX file), as --input, --width,
    --depth-multiplier and --convert make it, as PyTorch source, convcalc YAML or a runnable
    ONNX model."""
    from convcalc.formats import export

    if to == "onnx" and output_ is None:
        raise ConvcalcError("--to onnx writes a binary file: give -o FILE.onnx")
    rewritten, conversion = converted(prepared(arch, input_, width, depth_multiplier), convert,
                                      include_stem)
    text = export(rewritten, to, batch=batch, seed=seed)
    if conversion is not None:  # on stderr: stdout may be the exported file
        from convcalc.present.conversions import conversion_note

        click.echo(conversion_note(conversion), err=True)
    if output_ is None:
        click.echo(text, nl=False)
    else:
        from convcalc.output import write_atomically

        write_atomically(output_, text, inputs=source_files([arch]))
