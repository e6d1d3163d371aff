"""The ``convcalc`` command: each command parses its options, makes one library call and
renders the result. ``ConvcalcError`` becomes a one-line message and exit status 2 here, once."""

import gc

import click

from convcalc.cli.analyze import analyze_command, compare_command, list_command, sweep_command
from convcalc.cli.base import Commands, examples
from convcalc.cli.devices import calibrate_command, devices_command, measure_command
from convcalc.cli.files import export_command, import_command, report_command
from convcalc.cli.graph import graph_command
from convcalc.cli.reference import conv_command, verify_command


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]},
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


main.add_command(analyze_command)
main.add_command(compare_command)
main.add_command(sweep_command)
main.add_command(list_command)
main.add_command(devices_command)
main.add_command(calibrate_command)
main.add_command(measure_command)
main.add_command(report_command)
main.add_command(import_command)
main.add_command(export_command)
main.add_command(graph_command)
main.add_command(verify_command)
main.add_command(conv_command)
