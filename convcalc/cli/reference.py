"""The commands that run the numpy reference: verify and the conv (edge filter) demo."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from convcalc.analysis.report import analyze
from convcalc.cli.base import (
    DTYPES,
    columns_option,
    complete_arch,
    depth_multiplier_option,
    examples,
    parse_padding,
    prepared,
    print_result,
)
from convcalc.errors import ConvcalcError

# What conv -o writes, by the output's extension (CSV without one).
MATRIX_FORMATS = (".csv", ".txt", ".npy", ".png")

if TYPE_CHECKING:
    pass


@click.command("verify", epilog=examples("convcalc verify resnet50 --input 64",
                                        "convcalc verify my_net.yaml --dtype fp64 --seed 1"))
@click.argument("arch", shell_complete=complete_arch)
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
    verify's memory or work limits (the Limits page of the docs) is refused, exit 2, before
    anything runs."""
    from rich.console import Console
    from rich.progress import Progress

    from convcalc import reference
    from convcalc.present.results import render_checks

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


@click.command("conv", epilog=examples("convcalc conv --example step --filter vertical",
                                      "convcalc conv image.csv --filter sobel-x --padding same"))
@click.argument("input_", metavar="[INPUT]", required=False)
@click.option("--example", type=click.Choice(["step"]),
              help="A built-in image instead of INPUT: 'step' is the lecture's 6x6 edge.")
@click.option("--filter", "filter_", default="vertical", show_default=True,
              metavar="NAME|FILE",
              help="vertical, horizontal, sobel-x, sobel-y, scharr-x, scharr-y, laplacian, or "
                   "a matrix file (CSV, whitespace text or .npy).")
@click.option("--padding", default="valid", show_default=True,
              help="valid, same, or P pixels on every side (valid, as the lecture's 6x6 -> "
              "4x4; compare's one layer pads 'same').")
@click.option("--stride", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="Step of the filter.")
@click.option("--rgb", is_flag=True, help="Treat a one-channel input as three equal channels.")
@click.option("--channel", type=click.Choice(["r", "g", "b", "all"]), default="all",
              show_default=True,
              help="The channel(s) the filter reads on a 3-channel input; the others' filter "
                   "slices are zero.")
@click.option("-o", "--output", "output_path", metavar="OUT",
              help="Also write the output matrix: .npy, .png (grey levels, the smallest value "
              "black and the largest white), else CSV (.csv, .txt or no extension).")
def conv_command(*, input_: str | None, example: str | None, filter_: str, padding: str,
                 stride: int, rgb: bool, channel: str, output_path: str | None) -> None:
    """Convolve a matrix (or an image's channels) with an edge filter, as in the lecture."""
    import numpy as np

    from convcalc import reference
    from convcalc.filters import EXAMPLES, FILTERS
    from convcalc.present.results import render_filter_run

    if (input_ is None) == (example is None):
        raise ConvcalcError("give either INPUT (a CSV, text or .npy matrix) or --example step")
    suffix = Path(output_path).suffix.lower() if output_path is not None else ""
    if suffix not in ("", *MATRIX_FORMATS):
        raise ConvcalcError(f"cannot tell the format of '{output_path}' from its extension; "
                            f"conv -o writes {' '.join(MATRIX_FORMATS)}")
    if filter_ not in FILTERS and not Path(filter_).suffix and not Path(filter_).exists():
        import difflib

        # Every close name, in FILTERS' order: 'sobel' is as near sobel-x as sobel-y.
        close = set(difflib.get_close_matches(filter_.lower(), FILTERS, n=len(FILTERS)))
        hint = " or ".join(f"'{name}'" for name in FILTERS if name in close)
        raise ConvcalcError(f"no built-in filter and no file named '{filter_}'"
                            f"{f'; did you mean {hint}? ' if hint else '; '}filters: "
                            f"{', '.join(FILTERS)}, or a matrix file (CSV, text or .npy)")
    image = np.array(EXAMPLES[example], float) if example else reference.read_matrix(input_ or "")
    kernel = (np.array(FILTERS[filter_], float) if filter_ in FILTERS
              else reference.read_matrix(filter_))
    run = reference.edge_filter(image, kernel, padding=parse_padding(padding), stride=stride,
                                channel=channel, rgb=rgb)
    if output_path is not None:  # before printing: a file that cannot be written leaves no output
        import io

        from convcalc.output import write_atomically

        buffer = io.BytesIO()
        if suffix == ".npy":
            np.save(buffer, run.output)
        elif suffix == ".png":
            from convcalc.formats.png import encode_png

            buffer.write(encode_png(reference.grey_levels(run.output)))
        else:
            np.savetxt(buffer, run.output, delimiter=",", fmt="%.10g")
        write_atomically(output_path, buffer.getvalue(),
                         inputs=[p for p in (input_, filter_) if p and p not in FILTERS])
    print_result(render_filter_run(run, filter_))
