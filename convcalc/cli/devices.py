"""The commands about devices: devices (the profiles) and calibrate (a profile fitted to
measured timings)."""

from typing import TYPE_CHECKING

import click

from convcalc.cli.base import DTYPES, examples, parse_list, print_result

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
    "convcalc analyze mobilenet_v2 --device my_device.yaml"))
@click.argument("measured", metavar="MEASURED.csv")
@click.option("-o", "--output", "output_", required=True, type=click.Path(dir_okay=False),
              help="Write the fitted profile here (YAML, atomically); --device reads it.")
@click.option("--name", default="calibrated", show_default=True,
              help="The profile's name.")
@click.option("--dtype", type=DTYPES, default="fp32", show_default=True,
              help="Element type the networks ran in.")
@click.option("--efficiency", default="depthwise,grouped", show_default=True,
              metavar="CLASS,...|all",
              help="Layer classes that get a multiply rate of their own (conv, pointwise, "
              "depthwise, grouped, dense, other); the rest share one.")
def calibrate_command(*, measured: str, output_: str, name: str, dtype: str,
                      efficiency: str) -> None:
    """Fit a device profile to measured latencies of networks and write it.

    MEASURED.csv has the columns arch,seconds (and optionally input, width, batch), one row
    per network; arch is anything ARCH accepts. Other columns are ignored and named on
    stderr. Prints the fit's error per network."""
    from pathlib import Path

    from convcalc.analysis.roofline import EFFICIENCY_CLASSES
    from convcalc.formats.measurements import calibrate, ignored_columns
    from convcalc.formats.profiles import device_yaml
    from convcalc.output import write_atomically
    from convcalc.present.results import render_calibration

    classes = EFFICIENCY_CLASSES if efficiency == "all" else parse_list(efficiency, "efficiency")
    calibration = calibrate(measured, name=name, dtype=dtype, efficiency=classes)
    ignored = ignored_columns(measured)
    if ignored:
        click.echo(f"calibrate: ignored the column{'s' if len(ignored) > 1 else ''} "
                   f"{', '.join(ignored)} of {measured} (it reads arch, seconds, input, width "
                   "and batch)", err=True)
    write_atomically(output_, device_yaml(
        calibration.device, comment=f"Fitted by `convcalc calibrate` to {Path(measured).name}: "
        "calibrated figures, not datasheet peaks."), inputs=[measured])
    print_result(render_calibration(calibration))
