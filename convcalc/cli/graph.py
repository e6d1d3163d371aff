"""The ``graph`` command: the layer graph drawn with each layer's cost."""

import click

from convcalc.analysis.report import analyze
from convcalc.cli.base import (
    DTYPE_HELP,
    DTYPES,
    complete_arch,
    depth_multiplier_option,
    device_and_dtype,
    examples,
    prepared,
    roofline_options,
    source_files,
)
from convcalc.vocabulary import COLOR_METRICS, DRAWING_FORMATS


@click.command("graph", short_help="The layer graph drawn with each layer's cost: SVG, an HTML "
               "page (pan, zoom, search) or Graphviz DOT.",
               epilog=examples("convcalc graph resnet50 -o resnet50.svg",
                               "convcalc graph densenet201 --depth 2 -o densenet201.html",
                               "convcalc graph model.onnx --color params -o model.dot",
                               "convcalc graph mobilenet_v2 --device raspberry_pi4 "
                               "--color seconds -o mobilenet_v2.html",
                               "convcalc graph vgg16 > vgg16.svg"))
@click.argument("arch", shell_complete=complete_arch)
@click.option("-o", "--output", "output_", type=click.Path(dir_okay=False),
              help="Write to this file (atomically); its extension picks the format: .svg "
                   ".html .dot. Without it the drawing goes to stdout, as SVG unless --format "
                   "says otherwise.")
@click.option("--format", "format_", type=click.Choice(DRAWING_FORMATS),
              help="Output format; default: from -o's extension, else svg.")
@click.option("--depth", type=click.IntRange(min=1), metavar="N",
              help="Fold the layers into blocks of up to N path components (layer1, "
              "layer1.0, ...): one box per block, with the sums of its layers.")
@click.option("--color", type=click.Choice(COLOR_METRICS), default="macs", show_default=True,
              help="Fill each box by its share of this figure (seconds needs --device).")
@click.option("--input", "input_", metavar="HxWxC",
              help="Input size instead of the file's: HxWxC, HxW or one size N (NxN).")
@click.option("--width", type=float, help="Width multiplier on channel counts, e.g. 0.5.")
@depth_multiplier_option
@click.option("--side", "include_side", is_flag=True,
              help="Count side branches (auxiliary classifiers) in the totals the shares are "
              "of; they are drawn, dashed, either way.")
@click.option("--dtype", type=DTYPES, help=DTYPE_HELP)
@roofline_options
def graph_command(*, arch: str, output_: str | None, format_: str | None, depth: int | None,
                  color: str, input_: str | None, width: float | None,
                  depth_multiplier: float | None, include_side: bool, dtype: str | None,
                  batch: int, device_name: str | None) -> None:
    """Draw ARCH (a built-in name, a YAML or an ONNX file) as its layer graph, top to bottom:
    a box per layer (or per block, with --depth) with its name, kind, output shape and the
    --color figure, filled by its share of the total; edges labelled with tensor shapes, a
    merge's every input apart, side branches dashed. convcalc lays it out itself: no Graphviz
    needed."""
    from convcalc.present.drawing import draw_report, format_of

    format_ = format_ or (format_of(output_) if output_ is not None else "svg")
    device, dtype_ = device_and_dtype(device_name, dtype)
    report = analyze(prepared(arch, input_, width, depth_multiplier), include_side=include_side,
                     dtype=dtype_, batch=batch, device=device)
    text = draw_report(report, depth=depth, color=color).text(format_)
    if output_ is None:
        click.echo(text, nl=False)
    else:
        from convcalc.output import write_atomically

        write_atomically(output_, text, inputs=source_files([arch]))
