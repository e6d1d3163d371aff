"""The ``convcalc`` command: each command parses its options, makes one library call and
renders the result. ``ConvcalcError`` becomes a one-line message and exit status 2 here, once."""

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from convcalc import render

from convcalc.analysis import DTYPE_BYTES, Report, analyze
from convcalc.architecture import Architecture
from convcalc.errors import ConvcalcError
from convcalc.loader import builtin_names, load
from convcalc.shapes import parse_shape
from convcalc.variants import CONVERSIONS, Conversion, convert, with_input, with_width

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


def prepared(arch: str, input_: str | None, width: float | None,
             depth_multiplier: float | None = None) -> Architecture:
    """An architecture loaded by name or path, at the requested resolution, width and depth."""
    loaded = load(arch, depth=1.0 if depth_multiplier is None else depth_multiplier)
    if input_:
        loaded = with_input(loaded, parse_shape(input_, channels=loaded.input.c))
    if width is not None:
        loaded = with_width(loaded, width)
    return loaded


def depth_multiplier_option(command: Any) -> Any:
    """--depth-multiplier, EfficientNet's compound depth scaling (named apart from `--depth`,
    which folds tables into blocks)."""
    return click.option("--depth-multiplier", type=float, metavar="D",
                        help="Scale every repeat count n to ceil(n x D) (EfficientNet's "
                             "depth rule), e.g. 1.2.")(command)


def conversion_options(command: Any) -> Any:
    """--convert and --include-stem, shared by analyze, compare and sweep."""
    command = click.option("--include-stem", is_flag=True,
                           help="With --convert separable: convert the first convolution too.")(
        command)
    return click.option("--convert", type=click.Choice(CONVERSIONS),
                        help="Rewrite the network first: standard convolutions to depthwise + "
                        "pointwise ('separable'), or depthwise + pointwise pairs to one "
                        "convolution ('standard').")(command)


def converted(arch: Architecture, to: str | None, include_stem: bool) -> Conversion:
    """``arch`` converted as --convert asks (unchanged without it)."""
    if to is None:
        if include_stem:
            raise ConvcalcError("--include-stem goes with --convert separable")
        return Conversion(arch, {})
    return convert(arch, to, include_stem)


def explain_reports(reports: list[Report], format_: str, layer: str | None) -> None:
    """Print --explain's text for each report."""
    from convcalc.explain import explain

    if format_ != "table":
        raise ConvcalcError(f"--explain prints text; drop --format {format_}")
    for report in reports:
        click.echo(f"== {report.name} ==\n" + explain(report, layer))


def print_result(result: Any) -> None:
    """Echo a rendered string, or print a rich renderable: at the terminal's width, or wide
    enough for any table when piped (so a file gets whole lines, without colour codes)."""
    if isinstance(result, str):
        click.echo(result, nl=not result.endswith("\n"))
        return
    from rich.console import Console

    Console(width=None if sys.stdout.isatty() else 400).print(result)


def output(report: Report, format_: str, flops: bool,
           changed: "render.Changed | None" = None) -> None:
    """Print a report in one of FORMATS; rich is imported only for the table. ``changed``
    marks the layers a conversion created."""
    from convcalc import render

    if format_ == "json":
        click.echo(render.render_json(report, changed))
    elif format_ == "csv":
        click.echo(render.render_csv(report, flops, changed), nl=False)
    elif format_ == "markdown":
        click.echo(render.render_markdown(report, flops, changed), nl=False)
    else:
        print_result(render.render_table(report, flops, changed))


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
@depth_multiplier_option
@conversion_options
@click.option("--explain", is_flag=True,
              help="Print every layer's formulas with the numbers substituted, not the table.")
@click.option("--layer", help="Explain only this layer (a path) and the layers under it "
              "(implies --explain).")
def analyze_command(*, arch: str, input_: str | None, width: float | None,
                    format_: str, flops: bool, include_side: bool, dtype: str, convert: str | None,
                    include_stem: bool, explain: bool, layer: str | None,
                    depth_multiplier: float | None) -> None:
    """Per-layer shapes, parameters and multiplies of ARCH (a built-in name or a YAML file)."""
    conversion = converted(prepared(arch, input_, width, depth_multiplier), convert,
                           include_stem)
    report = analyze(conversion.arch, include_side=include_side, dtype=dtype)
    if explain or layer:
        explain_reports([report], format_, layer)
    else:
        output(report, format_, flops, conversion.changed if convert else None)


def parse_padding(text: str) -> int | str:
    """--padding: 'same', 'valid' or a number of pixels on every side."""
    if text in ("same", "valid"):
        return text
    if text.isdecimal():
        return int(text)
    raise ConvcalcError(f"padding '{text}' must be 'same', 'valid' or a number")


@main.command("compare")
@click.argument("archs", nargs=-1, metavar="[ARCH]...")
@click.option("--input", "input_", metavar="HxWxC",
              help="One layer's input (with --kernel and --filters), or the networks' input size.")
@click.option("--kernel", type=int, help="One layer: the f of its f x f convolution.")
@click.option("--filters", type=int, help="One layer: its number of filters (output channels).")
@click.option("--padding", help="One layer: 'same', 'valid' or a number.  [default: same]")
@click.option("--stride", type=int, help="One layer: the stride.  [default: 1]")
@click.option("--bottleneck", type=int, metavar="K",
              help="One layer: add the design with a 1x1 reduction to K channels first.")
@click.option("--expansion", type=float, metavar="T",
              help="One layer: add MobileNetV2's inverted residual with expansion T.")
@click.option("--bias", is_flag=True, help="One layer: count biases in the parameters.")
@click.option("--width", type=float, help="Networks: width multiplier on channel counts.")
@depth_multiplier_option
@conversion_options
@click.option("--format", "format_", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Output format.")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="fp32",
              show_default=True, help="Element type for the activation memory.")
@click.option("--explain", is_flag=True, help="Also print every layer's formulas.")
def compare_command(*, archs: tuple[str, ...], input_: str | None, kernel: int | None,
                    filters: int | None, padding: str | None, stride: int | None,
                    bottleneck: int | None, expansion: float | None, bias: bool,
                    width: float | None, convert: str | None, include_stem: bool,
                    format_: str, dtype: str, explain: bool,
                    depth_multiplier: float | None) -> None:
    """Cheaper designs side by side: one layer (--input, --kernel, --filters) as a standard,
    depthwise-separable, bottleneck or inverted-residual convolution; or whole networks (ARCH
    names or files), with --convert adding each network's converted form after it."""
    from convcalc.render import render_comparison, render_designs
    from convcalc.variants import compare, compare_designs

    layer_options = {"--kernel": kernel, "--filters": filters, "--padding": padding,
                     "--stride": stride, "--bottleneck": bottleneck, "--expansion": expansion,
                     "--bias": bias or None}
    if archs:
        given = [name for name, value in layer_options.items() if value is not None]
        if given:
            raise ConvcalcError(f"{', '.join(given)} describe one layer; give either ARCH "
                                "names or --input, --kernel and --filters")
        archs_ = []
        for arch in archs:
            loaded = prepared(arch, input_, width, depth_multiplier)
            archs_.append(loaded)
            if convert:
                archs_.append(converted(loaded, convert, include_stem).arch)
        comparison = compare(archs_, dtype=dtype)
        if explain:
            explain_reports(list(comparison.reports), format_, None)
        print_result(render_comparison(comparison, format_))
        return
    network_options = {"--width": width, "--convert": convert, "--include-stem":
                       include_stem or None, "--depth-multiplier": depth_multiplier}
    given = [name for name, value in network_options.items() if value is not None]
    if given:
        raise ConvcalcError(f"{', '.join(given)} need ARCH names; one layer takes --input, "
                            "--kernel, --filters and its own options")
    if input_ is None or kernel is None or filters is None:
        raise ConvcalcError("compare needs ARCH names, or --input, --kernel and --filters "
                            "for one layer, e.g. --input 28x28x192 --kernel 5 --filters 32")
    designs = compare_designs(parse_shape(input_), kernel, filters,
                              padding=parse_padding("same" if padding is None else padding),
                              stride=1 if stride is None else stride,
                              bottleneck=bottleneck, expansion=expansion, bias=bias)
    if explain:
        explain_reports([d.report for d in designs.designs], format_, None)
    print_result(render_designs(designs, format_))


def parse_list(text: str, what: str) -> list[str]:
    """'1,0.75,0.5' -> ['1', '0.75', '0.5']."""
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        raise ConvcalcError(f"{what} '{text}' must be values separated by commas")
    return items


def parse_width(text: str) -> float:
    """One width multiplier."""
    try:
        return float(text)
    except ValueError:
        raise ConvcalcError(f"width '{text}' must be a number such as 0.75") from None


@main.command("sweep")
@click.argument("arch")
@click.option("--width", "widths", default="1", show_default=True, metavar="A,A,...",
              help="Width multipliers, separated by commas: 1,0.75,0.5,0.25.")
@click.option("--input", "inputs", metavar="N,N,...",
              help="Input sizes separated by commas (N, HxW or HxWxC): 224,192,160,128. "
              "[default: the network's own]")
@depth_multiplier_option
@conversion_options
@click.option("--format", "format_", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Output format.")
def sweep_command(*, arch: str, widths: str, inputs: str | None, convert: str | None,
                  include_stem: bool, format_: str, depth_multiplier: float | None) -> None:
    """Multiplies and parameters of ARCH for every width multiplier and input size."""
    from convcalc.render import render_sweep
    from convcalc.variants import sweep

    loaded = converted(prepared(arch, None, None, depth_multiplier), convert, include_stem).arch
    shapes = ([parse_shape(t, channels=loaded.input.c) for t in parse_list(inputs, "input")]
              if inputs else [loaded.input])
    result = sweep(loaded, [parse_width(t) for t in parse_list(widths, "width")], shapes)
    print_result(render_sweep(result, format_))


@main.command("list")
@click.option("--filter", "filter_", metavar="TEXT",
              help="Only the architectures whose name contains TEXT, e.g. efficientnet.")
def list_command(*, filter_: str | None) -> None:
    """The built-in architectures, grouped by family, with their source and headline numbers."""
    from convcalc.render import render_catalogue

    names = [n for n in builtin_names() if (filter_ or "").lower() in n.lower()]
    if not names:
        raise ConvcalcError(f"no built-in architecture name contains '{filter_}'; "
                            "'convcalc list' shows them all")
    archs = [load(name) for name in names]
    print_result(render_catalogue([(arch, analyze(arch).totals) for arch in archs]))


@main.command("verify")
@click.argument("arch")
@click.option("--input", "input_", metavar="HxWxC",
              help="Input size instead of the file's: HxWxC, HxW or one size N (NxN).")
@click.option("--width", type=float, help="Width multiplier on channel counts, e.g. 0.5.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random input and weights.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32",
              show_default=True, help="Element type the reference computes in.")
def verify_command(*, arch: str, input_: str | None, width: float | None, seed: int,
                   dtype: str) -> None:
    """Run ARCH through the numpy reference and check every layer's output shape and MACs
    against the analysis. Exit status 0 when all match, 1 when any differs."""
    from rich.console import Console
    from rich.progress import Progress

    from convcalc import reference
    from convcalc.render import render_checks

    report = analyze(prepared(arch, input_, width), include_side=True)
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(report.name, total=len(report.rows))
        checks = reference.verify(report, seed=seed, dtype=dtype,
                                  progress=lambda i, row: bar.update(task, completed=i,
                                                                     description=row.path))
    print_result(render_checks(checks))
    if not all(c.ok for c in checks):
        sys.exit(1)


@main.command("conv")
@click.argument("input_", metavar="INPUT", required=False)
@click.option("--example", type=click.Choice(["step"]),
              help="A built-in image instead of INPUT: 'step' is the lecture's 6x6 edge.")
@click.option("--filter", "filter_", default="vertical", show_default=True,
              metavar="NAME|FILE",
              help="vertical, horizontal, sobel-x, sobel-y, scharr-x, scharr-y, laplacian, or "
                   "a matrix file (CSV, whitespace text or .npy).")
@click.option("--padding", default="valid", show_default=True,
              help="valid, same, or P pixels on every side.")
@click.option("--stride", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="Step of the filter.")
@click.option("--rgb", is_flag=True, help="Treat a one-channel input as three equal channels.")
@click.option("--channel", type=click.Choice(["r", "g", "b", "all"]), default="all",
              show_default=True,
              help="The channel(s) the filter reads on a 3-channel input; the others' filter "
                   "slices are zero.")
@click.option("-o", "--output", "output_path", metavar="OUT",
              help="Also write the output matrix: .npy, else CSV.")
def conv_command(*, input_: str | None, example: str | None, filter_: str, padding: str,
                 stride: int, rgb: bool, channel: str, output_path: str | None) -> None:
    """Convolve a matrix (or an image's channels) with an edge filter, as in the lecture."""
    import numpy as np

    from convcalc import reference
    from convcalc.filters import EXAMPLES, FILTERS
    from convcalc.render import render_filter_run

    if (input_ is None) == (example is None):
        raise ConvcalcError("give either INPUT (a CSV, text or .npy matrix) or --example step")
    image = np.array(EXAMPLES[example], float) if example else reference.read_matrix(input_ or "")
    kernel = (np.array(FILTERS[filter_], float) if filter_ in FILTERS
              else reference.read_matrix(filter_))
    run = reference.edge_filter(image, kernel, padding=parse_padding(padding), stride=stride,
                                channel=channel, rgb=rgb)
    if output_path:  # before printing, so a file that cannot be written leaves no output
        import io

        from convcalc.output import write_atomically

        buffer = io.BytesIO()
        if output_path.endswith(".npy"):
            np.save(buffer, run.output)
        else:
            np.savetxt(buffer, run.output, delimiter=",", fmt="%.10g")
        write_atomically(output_path, buffer.getvalue())
    print_result(render_filter_run(run, filter_))


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
@depth_multiplier_option
@click.option("--side", "include_side", is_flag=True,
              help="Count side branches (auxiliary classifiers) in totals and memory.")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="fp32",
              show_default=True, help="Element type for the byte figures.")
def report_command(*, archs: tuple[str, ...], output_: str | None, format_: str | None,
                   depth: int | None, by_type: bool, top: int, input_: str | None,
                   width: float | None, include_side: bool, dtype: str,
                   depth_multiplier: float | None) -> None:
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
    summaries = [summarize(analyze(prepared(a, input_, width, depth_multiplier),
                                   include_side=include_side, dtype=dtype),
                           by_type=by_type, top=top, depth=depth)
                 for a in archs]
    text = render_report(summaries, format_ or "md")
    if output_ is None:
        click.echo(text, nl=False)
    else:
        from convcalc.output import write_atomically

        write_atomically(output_, text)
