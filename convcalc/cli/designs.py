"""The commands that compare designs: compare (one layer's alternatives, or whole networks),
sweep (width and input grids) and list (the built-in architectures with their headline
numbers)."""

import click

from convcalc.analysis.report import analyze
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
    parse_list,
    parse_padding,
    parse_width,
    prepared,
    prepared_all,
    print_result,
    roofline_options,
    split_settings,
)
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import catalogue_names, load
from convcalc.graph.shapes import parse_shape


@click.command("compare", short_help="Cheaper designs side by side: one layer as a standard, "
              "separable, bottleneck or inverted-residual convolution, or whole networks.",
              epilog=examples(
    "convcalc compare --input 28x28x192 --kernel 5 --filters 32 --bottleneck 16",
    "convcalc compare mobilenet_v1 resnet50 --convert standard",
    "convcalc compare mobilenet_v2 mobilenet_v2@width=0.5,input=160 --format tex > cmp.tex"))
@click.argument("archs", nargs=-1, metavar="[ARCH]...", shell_complete=complete_arch)
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
@click.option("--format", "format_", type=Names((*FORMATS, "tex")), default="table",
              show_default=True, help="Output format (tex: a LaTeX table that fits a page).")
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
    from convcalc.analysis.variants import compare, compare_designs
    from convcalc.present.results import render_comparison, render_designs

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
        conversions = []
        for loaded in prepared_all(archs, input_, width, depth_multiplier):
            archs_.append(loaded)
            rewritten, conversion = converted(loaded, convert, include_stem)
            if conversion is not None:
                archs_.append(rewritten)
                conversions.append(conversion)
        comparison = compare(archs_, dtype=dtype_, batch=batch, device=device)
        if explain:
            explain_reports(list(comparison.reports), format_, None)
        print_result(render_comparison(comparison, format_, conversions), columns)
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


@click.command("sweep", epilog=examples(
    "convcalc sweep mobilenet_v1 --width 1,0.75,0.5,0.25 --input 224,192,160,128",
    "convcalc sweep mobilenet_v1 --width 1,0.5 --input 224,128 --chart tradeoff.svg"))
@click.argument("arch", shell_complete=complete_arch)
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
    from convcalc.analysis.variants import sweep
    from convcalc.present.results import render_sweep

    varied = [key for key in ("width", "input") if key in split_settings(arch)[1]]
    if varied:
        raise ConvcalcError(f"'{arch}': sweep varies {' and '.join(varied)} itself; give the "
                            f"values with {', '.join(f'--{k}' for k in varied)}")
    loaded, conversion = converted(prepared(arch, None, None, depth_multiplier), convert,
                                   include_stem)
    shapes = ([parse_shape(t, channels=loaded.input.c) for t in parse_list(inputs, "input")]
              if inputs else [loaded.input])
    device, dtype = device_and_dtype(device_name, None)
    result = sweep(loaded, [parse_width(t) for t in parse_list(widths, "width")], shapes,
                   batch=batch, device=device, dtype=dtype)
    if chart:
        from convcalc.output import write_atomically
        from convcalc.present.results import render_sweep_chart

        write_atomically(chart, render_sweep_chart(result))
    print_result(render_sweep(result, format_), columns)
    if conversion is not None and format_ == "table":
        from convcalc.present.conversions import conversion_note

        click.echo(conversion_note(conversion))


@click.command("list", epilog=examples("convcalc list", "convcalc list --filter efficientnet",
                                      "convcalc list --columns name,params,macs,source"))
@click.option("--filter", "filter_", metavar="TEXT",
              help="Only the architectures whose name contains TEXT, e.g. efficientnet.")
@columns_option
def list_command(*, filter_: str | None, columns: str | None) -> None:
    """The built-in architectures, grouped by family, with their source and headline numbers."""
    from convcalc.present.results import render_catalogue

    names = [n for n in catalogue_names() if (filter_ or "").lower() in n.lower()]
    if not names:
        raise ConvcalcError(f"no built-in architecture name contains '{filter_}'; "
                            "'convcalc list' shows them all")
    archs = [load(name) for name in names]
    print_result(render_catalogue([(arch, analyze(arch).totals) for arch in archs]), columns)
