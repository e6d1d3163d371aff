"""The ``convcalc`` command: each command parses its options, makes one library call and
renders the result. ``ConvcalcError`` becomes a one-line message and exit status 2 here, once."""

import contextlib
import errno
import gc
import io
import os
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from convcalc import render
    from convcalc.roofline import Device
    from convcalc.summary import Summary

from convcalc.analysis import DTYPE_BYTES, Report, analyze
from convcalc.architecture import Architecture
from convcalc.errors import ConvcalcError
from convcalc.loader import catalogue_names, load, locate
from convcalc.shapes import parse_shape
from convcalc.vocabulary import CONVERSIONS, canonical, spellings

FORMATS = ("table", "json", "markdown", "csv")


class Names(click.Choice):  # type: ignore[type-arg]
    """A choice that takes every spelling of its names (``vocabulary``: md or markdown, fp16
    or float16) and passes on the command's own name for it."""

    def __init__(self, names: "tuple[str, ...] | list[str]") -> None:
        self.names = tuple(names)
        super().__init__(spellings(self.names), case_sensitive=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return canonical(str(super().convert(value, param, ctx)), self.names)


DTYPES = Names(list(DTYPE_BYTES))


def columns_option(command: Any) -> Any:
    """--columns, shared by every command that prints a table."""
    return click.option("--columns", metavar="ID,ID,...",
                        help="Show these columns, in this order (ids as in the hint under a "
                        "narrowed table, e.g. name,macs,params). Without it, a table fits the "
                        "terminal and says what it left out.")(command)


def examples(*lines: str) -> str:
    """An epilog of example command lines, kept as written by click's help formatter."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


class BadInput(click.ClickException):
    """Bad input from the user: one line on stderr, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        """Print the line; a standard error that cannot take it (``2> /dev/full``) still
        leaves exit status 2, the one signal left."""
        try:
            super().show(file)
            sys.stderr.flush()
        except OSError:
            _discard(sys.stderr)


@contextlib.contextmanager
def _boundary() -> Iterator[None]:
    """The error boundary: a ConvcalcError becomes a BadInput, and so does a standard output
    that cannot be written (a full disk, ``> /dev/full``, or closed, ``>&-``)."""
    if sys.stdout is None:  # closed: Python sets None, and click and rich would drop output
        sys.stdout = _ClosedStdout()
    try:
        try:
            yield
        finally:
            # Flushed inside the boundary, so a write that fails is reported below and not as
            # "Exception ignored" when the interpreter exits.
            sys.stdout.flush()
    except ConvcalcError as e:
        raise BadInput(str(e)) from None
    except OSError as e:
        # Files are read by convcalc.inputs and written by convcalc.output, which raise
        # ConvcalcError; an OSError without a file name is a failed write to stdout. EPIPE (the
        # reader has gone, as with `| head`) is left to click, which ends quietly.
        if e.filename is not None or e.errno == errno.EPIPE:
            raise
        _discard(sys.stdout)
        raise BadInput(f"cannot write the output: {e.strerror or e}") from None


class _Commands(click.Group):
    """Every command, and the top-level options (--help, --version), run inside the one error
    boundary."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        with _boundary():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _boundary():
            return super().invoke(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list with each command's first sentence whole (click would cut it to
        the width with '...'); the formatter wraps it instead."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                text = command.short_help or (command.help or "").split("\n\n")[0]
                first = " ".join(text.split()).split(". ")[0].rstrip(".") + "."
                rows.append((name, first))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class _ClosedStdout(io.TextIOBase):
    """Standard output when the process was started without one: writing is an error."""

    def write(self, text: str) -> int:
        """Refuse, as a write to a closed descriptor would."""
        raise OSError(errno.EBADF, "standard output is closed")


def _discard(stream: Any) -> None:
    """Point a standard stream that failed at /dev/null, so what is still buffered does not
    fail again when the interpreter exits (which would change the exit status to 120)."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=examples("convcalc analyze resnet50", "convcalc list",
                             "convcalc COMMAND --help    (each command's options and examples)")
             + "\n\n\b\nShell completion (bash; zsh_source and fish_source likewise):\n"
             "  eval \"$(_CONVCALC_COMPLETE=bash_source convcalc)\"")
@click.version_option(package_name="convcalc")
def main() -> None:
    """What a convolutional network costs before you train it: the output shape, parameters,
    multiplies and memory of every layer."""
    # One command is one short pass that builds many small records and no reference cycles;
    # the cyclic collector's repeated scans of them cost a third of the time of a
    # 200,000-layer table. Reference counting still frees everything as usual.
    gc.disable()


def prepared(arch: str, input_: str | None, width: float | None,
             depth_multiplier: float | None = None) -> Architecture:
    """An architecture loaded by name or path, at the requested resolution, width and depth."""
    if input_ and arch.lower().endswith(".onnx"):
        # An ONNX graph's shape constants (Reshape, Resize sizes) follow its input: read it
        # at that size, which is also how a symbolic input gets one.
        from convcalc.formats.onnx_reader import read_onnx

        loaded = read_onnx(arch, input_)
    else:
        loaded = load(arch, depth=1.0 if depth_multiplier is None else depth_multiplier)
    # variants is imported only when asked for: most runs need neither rule.
    if input_:
        from convcalc.variants import with_input

        loaded = with_input(loaded, parse_shape(input_, channels=loaded.input.c))
    if width is not None:
        from convcalc.variants import with_width

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


def roofline_options(command: Any) -> Any:
    """--batch and --device, shared by analyze, compare, sweep and report."""
    command = click.option("--device", "device_name", metavar="PROFILE",
                           help="Add each layer's roofline time and bound on a device: a "
                           "built-in profile ('convcalc devices') or a profile YAML file.")(
        command)
    return click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                        help="Images per batch: MACs and activations scale, weights are read "
                        "once.")(command)


DTYPE_HELP = "Element type for the byte figures.  [default: the --device profile's, else fp32]"


def device_and_dtype(device_name: str | None, dtype: str | None) -> "tuple[Device | None, str]":
    """The --device profile (None without one) and the dtype: --dtype, else the profile's."""
    if not device_name:
        return None, dtype or "fp32"
    from convcalc.profiles import load_device

    device = load_device(device_name)
    return device, dtype or device.dtype


def converted(arch: Architecture, to: str | None,
              include_stem: bool) -> "tuple[Architecture, Mapping[str, str] | None]":
    """``arch`` converted as --convert asks, and what each layer path it created replaced
    (``arch`` unchanged and None without --convert, which then does not import variants)."""
    if to is None:
        if include_stem:
            raise ConvcalcError("--include-stem goes with --convert separable")
        return arch, None
    from convcalc.variants import convert

    conversion = convert(arch, to, include_stem)
    return conversion.arch, conversion.changed


def explain_reports(reports: list[Report], format_: str, layer: str | None) -> None:
    """Print --explain's text for each report."""
    from convcalc.explain import explain

    if format_ != "table":
        raise ConvcalcError(f"--explain prints text; drop --format {format_}")
    for report in reports:
        click.echo(f"== {report.name} ==\n" + explain(report, layer))


def table_only(columns: str | None) -> None:
    """--columns is refused where no table is printed (--format json, markdown, csv)."""
    if columns:
        raise ConvcalcError("--columns picks the columns of the table; it does not go with "
                            "--format")


def print_result(result: Any, columns: str | None = None) -> None:
    """Echo a rendered string; lay out a text table (``render.Grid``) to the terminal's width,
    or whole and plain when piped; print any other rich renderable at the terminal's width, or
    wide enough for any table when piped (so a file gets whole lines, without colour codes).
    ``columns`` is --columns: ids separated by commas."""
    from convcalc.render import Grid

    if not isinstance(result, Grid):
        table_only(columns)
    if isinstance(result, Grid):
        tty = sys.stdout.isatty()
        chosen = parse_list(columns, "--columns") if columns else None
        import shutil  # here, not at the top: it imports bz2 and lzma, which JSON never needs

        width = shutil.get_terminal_size().columns if tty else None
        result = result.text(width, chosen, styled=tty)
    if isinstance(result, str):
        click.echo(result, nl=not result.endswith("\n"))
        return
    from rich.console import Console

    Console(width=None if sys.stdout.isatty() else 400).print(result)


def output(report: Report, format_: str, flops: bool,
           changed: "render.Changed | None" = None, columns: str | None = None) -> None:
    """Print a report in one of FORMATS (none of them imports rich). ``changed``
    marks the layers a conversion created."""
    from convcalc import render

    if format_ != "table":
        table_only(columns)
    if format_ == "json":
        click.echo(render.render_json(report, changed))
    elif format_ == "csv":
        click.echo(render.render_csv(report, flops, changed), nl=False)
    elif format_ == "markdown":
        click.echo(render.render_markdown(report, flops, changed), nl=False)
    else:
        print_result(render.render_table(report, flops, changed), columns)


@main.command("analyze", epilog=examples(
    "convcalc analyze resnet50",
    "convcalc analyze mobilenet_v1 --input 160 --width 0.5 --depth 1",
    "convcalc analyze my_net.yaml --format json > my_net.json"))
@click.argument("arch")
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
    loaded, changed = converted(prepared(arch, input_, width, depth_multiplier), convert,
                                include_stem)
    report = analyze(loaded, include_side=include_side, dtype=dtype_, batch=batch,
                     device=device)
    if explain or layer:
        explain_reports([report], format_, layer)
    elif depth is not None:
        folded(report, depth, format_, columns)
    else:
        output(report, format_, flops, changed, columns)


def folded(report: Report, depth: int, format_: str, columns: str | None) -> None:
    """Print --depth's table: the rows folded into blocks (``summary.fold``) with their sums."""
    from convcalc.render import render_blocks
    from convcalc.summary import fold

    print_result(render_blocks(report, fold(report, depth), depth, format_), columns)


def parse_padding(text: str) -> int | str:
    """--padding: 'same', 'valid' or a number of pixels on every side."""
    if text in ("same", "valid"):
        return text
    if text.isdecimal():
        return int(text)
    raise ConvcalcError(f"padding '{text}' must be 'same', 'valid' or a number")


@main.command("compare", short_help="Cheaper designs side by side: one layer as a standard, "
              "separable, bottleneck or inverted-residual convolution, or whole networks.",
              epilog=examples(
    "convcalc compare --input 28x28x192 --kernel 5 --filters 32 --bottleneck 16",
    "convcalc compare mobilenet_v1 resnet50 --convert standard"))
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
@click.option("--format", "format_", type=Names(FORMATS), default="table",
              show_default=True, help="Output format.")
@columns_option
@click.option("--dtype", type=DTYPES, help=DTYPE_HELP)
@roofline_options
@click.option("--explain", is_flag=True, help="Also print every layer's formulas.")
def compare_command(*, archs: tuple[str, ...], input_: str | None, kernel: int | None,
                    filters: int | None, padding: str | None, stride: int | None,
                    bottleneck: int | None, expansion: float | None, bias: bool,
                    width: float | None, convert: str | None, include_stem: bool,
                    format_: str, columns: str | None, dtype: str | None, batch: int,
                    device_name: str | None, explain: bool,
                    depth_multiplier: float | None) -> None:
    """Cheaper designs side by side: one layer (--input, --kernel, --filters) as a standard,
    depthwise-separable, bottleneck or inverted-residual convolution; or whole networks (ARCH
    names or files), with --convert adding each network's converted form after it. With
    --device, roofline times and their ratios stand beside the multiplies."""
    from convcalc.render import render_comparison, render_designs
    from convcalc.variants import compare, compare_designs

    device, dtype_ = device_and_dtype(device_name, dtype)
    layer_options = {"--kernel": kernel, "--filters": filters, "--padding": padding,
                     "--stride": stride, "--bottleneck": bottleneck, "--expansion": expansion,
                     "--bias": bias or None}
    if archs:
        given = [name for name, value in layer_options.items() if value is not None]
        if given:
            raise ConvcalcError(f"{', '.join(given)} "
                                f"{'describes' if len(given) == 1 else 'describe'} one layer; "
                                "give either ARCH "
                                "names or --input, --kernel and --filters")
        archs_ = []
        for arch in archs:
            loaded = prepared(arch, input_, width, depth_multiplier)
            archs_.append(loaded)
            if convert:
                archs_.append(converted(loaded, convert, include_stem)[0])
        comparison = compare(archs_, dtype=dtype_, batch=batch, device=device)
        if explain:
            explain_reports(list(comparison.reports), format_, None)
        print_result(render_comparison(comparison, format_), columns)
        return
    network_options = {"--width": width, "--convert": convert, "--include-stem":
                       include_stem or None, "--depth-multiplier": depth_multiplier}
    given = [name for name, value in network_options.items() if value is not None]
    if given:
        raise ConvcalcError(f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} "
                            "ARCH names; one layer takes --input, "
                            "--kernel, --filters and its own options")
    missing = [name for name, value in (("--input", input_), ("--kernel", kernel),
                                        ("--filters", filters)) if value is None]
    if len(missing) == 3:
        raise ConvcalcError("compare needs ARCH names, or --input, --kernel and --filters "
                            "for one layer, e.g. --input 28x28x192 --kernel 5 --filters 32")
    if missing or input_ is None or kernel is None or filters is None:
        raise ConvcalcError(f"one layer needs {' and '.join(missing)} too, e.g. --input "
                            "28x28x192 --kernel 5 --filters 32")
    designs = compare_designs(parse_shape(input_), kernel, filters,
                              padding=parse_padding("same" if padding is None else padding),
                              stride=1 if stride is None else stride,
                              bottleneck=bottleneck, expansion=expansion, bias=bias,
                              batch=batch, device=device)
    if explain:
        explain_reports([d.report for d in designs.designs], format_, None)
    print_result(render_designs(designs, format_), columns)


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


@main.command("sweep", epilog=examples(
    "convcalc sweep mobilenet_v1 --width 1,0.75,0.5,0.25 --input 224,192,160,128",
    "convcalc sweep mobilenet_v1 --width 1,0.5 --input 224,128 --chart tradeoff.svg"))
@click.argument("arch")
@click.option("--width", "widths", default="1", show_default=True, metavar="A,A,...",
              help="Width multipliers, separated by commas: 1,0.75,0.5,0.25.")
@click.option("--input", "inputs", metavar="N,N,...",
              help="Input sizes separated by commas (N, HxW or HxWxC): 224,192,160,128. "
              "[default: the network's own]")
@depth_multiplier_option
@conversion_options
@roofline_options
@click.option("--format", "format_", type=Names(FORMATS), default="table",
              show_default=True, help="Output format.")
@columns_option
@click.option("--chart", "chart", metavar="FILE.svg",
              help="Also write the grid as an SVG chart: MACs against params, one line per "
              "input size (as the MobileNet paper plots its trade-offs).")
def sweep_command(*, arch: str, widths: str, inputs: str | None, convert: str | None,
                  include_stem: bool, batch: int, device_name: str | None, format_: str,
                  columns: str | None, chart: str | None,
                  depth_multiplier: float | None) -> None:
    """Multiplies and parameters of ARCH for every width multiplier and input size (and the
    roofline time with --device)."""
    from convcalc.render import render_sweep
    from convcalc.variants import sweep

    loaded, _ = converted(prepared(arch, None, None, depth_multiplier), convert, include_stem)
    shapes = ([parse_shape(t, channels=loaded.input.c) for t in parse_list(inputs, "input")]
              if inputs else [loaded.input])
    device, dtype = device_and_dtype(device_name, None)
    result = sweep(loaded, [parse_width(t) for t in parse_list(widths, "width")], shapes,
                   batch=batch, device=device, dtype=dtype)
    if chart:
        from convcalc.output import write_atomically
        from convcalc.render import render_sweep_chart

        write_atomically(chart, render_sweep_chart(result))
    print_result(render_sweep(result, format_), columns)


@main.command("list", epilog=examples("convcalc list", "convcalc list --filter efficientnet",
                                      "convcalc list --columns name,params,macs,source"))
@click.option("--filter", "filter_", metavar="TEXT",
              help="Only the architectures whose name contains TEXT, e.g. efficientnet.")
@columns_option
def list_command(*, filter_: str | None, columns: str | None) -> None:
    """The built-in architectures, grouped by family, with their source and headline numbers."""
    from convcalc.render import render_catalogue

    names = [n for n in catalogue_names() if (filter_ or "").lower() in n.lower()]
    if not names:
        raise ConvcalcError(f"no built-in architecture name contains '{filter_}'; "
                            "'convcalc list' shows them all")
    archs = [load(name) for name in names]
    print_result(render_catalogue([(arch, analyze(arch).totals) for arch in archs]), columns)


@main.command("verify", epilog=examples("convcalc verify resnet50 --input 64",
                                        "convcalc verify my_net.yaml --dtype fp64 --seed 1"))
@click.argument("arch")
@click.option("--input", "input_", metavar="HxWxC",
              help="Input size instead of the file's: HxWxC, HxW or one size N (NxN).")
@click.option("--width", type=float, help="Width multiplier on channel counts, e.g. 0.5.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random input and weights.")
@click.option("--dtype", type=DTYPES, default="fp32", show_default=True,
              help="The network's element type, as on analyze. The numpy reference computes in "
              "float64 for fp64 and in float32 for every other type; shapes and multiply counts "
              "do not depend on it.")
@columns_option
@depth_multiplier_option
def verify_command(*, arch: str, input_: str | None, width: float | None, seed: int,
                   dtype: str, columns: str | None, depth_multiplier: float | None) -> None:
    """Run ARCH through the numpy reference and check every layer's output shape and MACs
    against the analysis. Exit status 0 when all match, 1 when any differs. A network over
    verify's memory or work limits (README: Limits) is refused, exit 2, before anything runs."""
    from rich.console import Console
    from rich.progress import Progress

    from convcalc import reference
    from convcalc.render import render_checks

    architecture = prepared(arch, input_, width, depth_multiplier)
    report = analyze(architecture, include_side=True, dtype=dtype)
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(report.name, total=len(report.rows))
        try:
            checks = reference.verify(report, seed=seed,
                                      dtype="float64" if dtype == "fp64" else "float32",
                                      progress=lambda i, row: bar.update(task, completed=i,
                                                                         description=row.path))
        except ConvcalcError as e:  # a refusal names its layer; add the file
            raise e.located(file=architecture.file) from None
    print_result(render_checks(checks), columns)
    if not all(c.ok for c in checks):
        sys.exit(1)


@main.command("conv", epilog=examples("convcalc conv --example step --filter vertical",
                                      "convcalc conv image.csv --filter sobel-x --padding same"))
@click.argument("input_", metavar="[INPUT]", required=False)
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
    if output_path is not None:  # before printing: a file that cannot be written leaves no output
        import io

        from convcalc.output import write_atomically

        buffer = io.BytesIO()
        if output_path.endswith(".npy"):
            np.save(buffer, run.output)
        else:
            np.savetxt(buffer, run.output, delimiter=",", fmt="%.10g")
        write_atomically(output_path, buffer.getvalue(),
                         inputs=[p for p in (input_, filter_) if p and p not in FILTERS])
    print_result(render_filter_run(run, filter_))


def write_charts(directory: str, summaries: "list[Summary]") -> None:
    """Write every chart of the report into ``directory`` (made if missing) as NAME.svg."""
    from pathlib import Path

    from convcalc.output import write_atomically
    from convcalc.report_formats import report_charts

    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConvcalcError(f"cannot make '{folder}': {e.strerror or e}") from None
    for chart in report_charts(summaries):
        write_atomically(folder / f"{chart.id}.svg", chart.svg)


REPORT_FORMATS = ("md", "csv", "json", "html", "tex")


@main.command("report", short_help="A report of one or more architectures in Markdown, CSV, "
              "JSON, HTML or LaTeX, with memory, cost by kind and charts.",
              epilog=examples("convcalc report resnet50 -o resnet50.html",
                              "convcalc report mobilenet_v1 resnet50 --depth 1 --format md"))
@click.argument("archs", nargs=-1, required=True, metavar="ARCH [ARCH ...]")
@click.option("-o", "--output", "output_", type=click.Path(dir_okay=False),
              help="Write to this file (atomically) instead of stdout; its extension picks "
                   "the format: .md .csv .json .html .tex.")
@click.option("--format", "format_", type=Names(REPORT_FORMATS),
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
@click.option("--dtype", type=DTYPES, help=DTYPE_HELP)
@roofline_options
@click.option("--charts", "charts_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write each chart of the HTML report to DIR as a standalone SVG file.")
def report_command(*, archs: tuple[str, ...], output_: str | None, format_: str | None,
                   depth: int | None, by_type: bool, top: int, input_: str | None,
                   width: float | None, include_side: bool, dtype: str | None, batch: int,
                   device_name: str | None, charts_dir: str | None,
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
    device, dtype_ = device_and_dtype(device_name, dtype)
    summaries = [summarize(analyze(prepared(a, input_, width, depth_multiplier),
                                   include_side=include_side, dtype=dtype_, batch=batch,
                                   device=device),
                           by_type=by_type, top=top, depth=depth)
                 for a in archs]
    text = render_report(summaries, format_ or "md")
    if charts_dir:
        write_charts(charts_dir, summaries)
    if output_ is None:
        click.echo(text, nl=False)
    else:
        from convcalc.output import write_atomically

        write_atomically(output_, text, inputs=[locate(a) for a in archs])


@main.command("import", epilog=examples("convcalc import model.onnx -o model.yaml",
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


@main.command("export", epilog=examples(
    "convcalc export resnet50 --to pytorch -o resnet50.py",
    "convcalc export mobilenet_v2 --width 0.5 --to pytorch -o mobilenet_half.py",
    "convcalc export model.onnx --to yaml -o model.yaml",
    "convcalc export mobilenet_v2 --to onnx --batch 8 -o mobilenet_v2.onnx"))
@click.argument("arch")
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
    designed = prepared(arch, input_, width, depth_multiplier)
    text = export(converted(designed, convert, include_stem)[0], to, batch=batch, seed=seed)
    if output_ is None:
        click.echo(text, nl=False)
    else:
        from convcalc.loader import locate
        from convcalc.output import write_atomically

        write_atomically(output_, text, inputs=[locate(arch)])


@main.command("devices", epilog=examples(
    "convcalc devices", "convcalc analyze mobilenet_v2 --device raspberry_pi4"))
def devices_command() -> None:
    """The built-in device profiles for --device: their peak figures and the datasheet each
    figure comes from."""
    from convcalc.profiles import device_names, load_device
    from convcalc.render import render_devices

    print_result(render_devices([load_device(name) for name in device_names()]))


@main.command("calibrate", epilog=examples(
    "convcalc calibrate measured.csv -o my_device.yaml --name my_device",
    "convcalc analyze mobilenet_v2 --device my_device.yaml"))
@click.argument("measured", metavar="MEASURED.csv")
@click.option("-o", "--output", "output_", required=True, type=click.Path(dir_okay=False),
              help="Write the fitted profile here (YAML, atomically); --device reads it.")
@click.option("--name", default="calibrated", show_default=True,
              help="The profile's name.")
@click.option("--dtype", type=DTYPES, default="fp32", show_default=True,
              help="Element type the networks ran in.")
@click.option("--efficiency", metavar="CLASS,...|all",
              help="Layer classes that get a multiply rate of their own (conv, pointwise, "
              "depthwise, grouped, dense, other); the rest share one.  [default: "
              "depthwise,grouped; with --runtime, the runtime's]")
@click.option("--runtime", metavar="NAME",
              help="Start from this runtime's rules (onnxruntime: what it fuses, compute + "
              "memory per layer) and fit its channel block and slow path too.")
def calibrate_command(*, measured: str, output_: str, name: str, dtype: str,
                      efficiency: str | None, runtime: str | None) -> None:
    """Fit a device profile to measured latencies of networks and write it.

    MEASURED.csv has the columns arch,seconds (and optionally input, width, batch), one row
    per network, as `convcalc measure` writes it; arch is anything ARCH accepts. Prints the
    fit's error per network."""
    from pathlib import Path

    from convcalc.calibrate import calibrate
    from convcalc.output import write_atomically
    from convcalc.profiles import device_yaml
    from convcalc.render import render_calibration
    from convcalc.roofline import EFFICIENCY_CLASSES

    classes = (None if efficiency is None else EFFICIENCY_CLASSES if efficiency == "all"
               else parse_list(efficiency, "efficiency"))
    calibration = calibrate(measured, name=name, dtype=dtype, efficiency=classes,
                            runtime=runtime)
    write_atomically(output_, device_yaml(
        calibration.device, comment=f"Fitted by `convcalc calibrate` to {Path(measured).name}: "
        "calibrated figures, not datasheet peaks."), inputs=[measured])
    print_result(render_calibration(calibration))


@main.command("measure", epilog=examples(
    "convcalc measure resnet18 mobilenet_v2 --runtime onnxruntime -o measured.csv",
    "convcalc measure my_net.yaml --width 0.5 --threads 4 --repeat 30 -o measured.csv",
    "convcalc calibrate measured.csv --runtime onnxruntime -o my_cpu.yaml"))
@click.argument("archs", metavar="ARCH...", nargs=-1, required=True)
@click.option("--runtime", default="onnxruntime", show_default=True,
              help="The runtime to time on (onnxruntime; needs the measure extra).")
@click.option("-o", "--output", "output_", required=True, type=click.Path(dir_okay=False),
              help="The CSV to write (atomically); `convcalc calibrate` reads it.")
@click.option("--threads", type=int, default=1, show_default=True,
              help="Threads the runtime computes one network with.")
@click.option("--repeat", type=int, default=15, show_default=True,
              help="Timed runs of each network; the median is kept.")
@click.option("--warmup", type=int, default=3, show_default=True,
              help="Untimed runs first.")
@click.option("--input", "input_", metavar="HxWxC",
              help="Input size instead of each file's: HxWxC, HxW or one size N (NxN).")
@click.option("--width", type=float, help="Width multiplier on channel counts, e.g. 0.5.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Images per run.")
def measure_command(*, archs: tuple[str, ...], runtime: str, output_: str, threads: int,
                    repeat: int, warmup: int, input_: str | None, width: float | None,
                    batch: int) -> None:
    """Time each ARCH (built-in, YAML or ONNX) on a runtime: convcalc's ONNX export of it,
    with random weights, after warm-up runs; writes the median wall and CPU seconds of the
    repeats as the CSV `convcalc calibrate` fits a profile to."""
    from rich.console import Console
    from rich.progress import Progress

    from convcalc.output import write_atomically
    from convcalc.reference.measure import check_settings, measure_all, timings_csv

    check_settings(runtime, threads, repeat, warmup)
    designs = [(arch, prepared(arch, input_, width)) for arch in archs]
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("measuring", total=len(designs))
        timings = measure_all(designs, runtime=runtime, threads=threads, repeat=repeat,
                              warmup=warmup, batch=batch, width=width or 1.0,
                              progress=lambda i, source: bar.update(
                                  task, completed=i, description=f"measuring {source}"))
    write_atomically(output_, timings_csv(timings), inputs=list(archs))
    click.echo(f"wrote {output_}: {len(timings)} network(s) on {runtime}, {threads} "
               f"thread(s), median of {repeat}")
