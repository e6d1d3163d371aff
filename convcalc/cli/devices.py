"""The commands about devices: devices (the profiles), measure (timings on a runtime) and
calibrate (a profile fitted to measured timings)."""

from typing import TYPE_CHECKING

import click

from convcalc.cli.base import (
    DTYPES,
    complete_arch,
    examples,
    parse_list,
    parse_width,
    prepared,
    print_result,
    source_files,
    split_settings,
)
from convcalc.errors import ConvcalcError

if TYPE_CHECKING:
    pass


@click.command("devices", epilog=examples(
    "convcalc devices", "convcalc analyze mobilenet_v2 --device raspberry_pi4"))
def devices_command() -> None:
    """The built-in device profiles for --device: their peak figures and the datasheet each
    figure comes from."""
    from convcalc.formats.profiles import devices
    from convcalc.present.results import render_devices

    print_result(render_devices(devices()))


@click.command("calibrate", epilog=examples(
    "convcalc calibrate measured.csv -o my_device.yaml --name my_device",
    "convcalc analyze mobilenet_v2 --device my_device.yaml",
    "convcalc calibrate measured.csv --runtime onnxruntime -o my_cpu.yaml"))
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
@click.option("--clock", type=click.Choice(("wall", "cpu")), default="wall", show_default=True,
              help="Fit the seconds column (wall-clock) or cpu_seconds (the CPU time `convcalc "
              "measure` records: one thread's time on a busy machine).")
def calibrate_command(*, measured: str, output_: str, name: str, dtype: str,
                      efficiency: str | None, runtime: str | None, clock: str) -> None:
    """Fit a device profile to measured latencies of networks and write it.

    MEASURED.csv has the columns arch,seconds (and optionally input, width, batch), one row
    per network, as `convcalc measure` writes it (--clock cpu reads its cpu_seconds instead
    of seconds); arch is anything ARCH accepts. Columns neither read nor written by
    `convcalc measure` are ignored and named on stderr. Prints the fit's error per network."""
    from pathlib import Path

    from convcalc.analysis.roofline import EFFICIENCY_CLASSES
    from convcalc.formats.measurements import CLOCKS, calibrate, ignored_columns
    from convcalc.formats.profiles import device_yaml
    from convcalc.output import write_atomically
    from convcalc.present.results import render_calibration

    classes = (None if efficiency is None else EFFICIENCY_CLASSES if efficiency == "all"
               else parse_list(efficiency, "efficiency"))
    calibration = calibrate(measured, name=name, dtype=dtype, efficiency=classes,
                            runtime=runtime, clock=clock)
    ignored = ignored_columns(measured, clock)
    if ignored:
        click.echo(f"calibrate: ignored the column{'s' if len(ignored) > 1 else ''} "
                   f"{', '.join(ignored)} of {measured} (it reads arch, {CLOCKS[clock]}, "
                   "input, width and batch)", err=True)
    write_atomically(output_, device_yaml(
        calibration.device, comment=f"Fitted by `convcalc calibrate` to {Path(measured).name}: "
        "calibrated figures, not datasheet peaks."), inputs=[measured])
    print_result(render_calibration(calibration))


@click.command("measure", epilog=examples(
    "convcalc measure resnet18 mobilenet_v2 --runtime onnxruntime -o measured.csv",
    "convcalc measure my_net.yaml --width 0.5 --threads 4 --repeat 30 -o measured.csv",
    "convcalc calibrate measured.csv --runtime onnxruntime -o my_cpu.yaml"))
@click.argument("archs", metavar="ARCH...", nargs=-1, required=True, shell_complete=complete_arch)
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
    designs = []
    for arch in archs:
        source, settings = split_settings(arch)
        if "depth-multiplier" in settings:
            raise ConvcalcError(f"'{arch}': the CSV records each network's width and input, "
                                "not a depth multiplier; measure a YAML file with the repeats "
                                "you want instead")
        own = parse_width(settings["width"]) if "width" in settings else width
        designs.append((source, prepared(arch, input_, width), own or 1.0))
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("measuring", total=len(designs))
        timings = measure_all(designs, runtime=runtime, threads=threads, repeat=repeat,
                              warmup=warmup, batch=batch,
                              progress=lambda i, source: bar.update(
                                  task, completed=i, description=f"measuring {source}"))
    write_atomically(output_, timings_csv(timings), inputs=source_files(archs))
    click.echo(f"wrote {output_}: {len(timings)} network(s) on {runtime}, {threads} "
               f"thread(s), median of {repeat}")
