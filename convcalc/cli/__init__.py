"""The ``convcalc`` command: each command parses its options, makes one library call and
renders the result. ``ConvcalcError`` becomes a one-line message and exit status 2 here, once."""

import gc
import importlib
from collections.abc import Iterator, MutableMapping

import click

from convcalc.cli.analyze import analyze_command
from convcalc.cli.base import Commands, examples


class _Commands(MutableMapping[str, click.Command]):
    """The commands by name, each imported from its module when it is first looked up, so that
    `convcalc analyze` does not compile the other commands' code at start-up (31 M of the 820 M
    instructions that importing this package took)."""

    def __init__(self, modules: dict[str, str]) -> None:
        self._modules = modules  # command name -> the module defining it as NAME_command
        self._commands: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._commands:
            module = importlib.import_module(self._modules[name])
            self._commands[name] = getattr(module, f"{name}_command")
        return self._commands[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._modules.setdefault(name, command.callback.__module__ if command.callback else "")
        self._commands[name] = command

    def __delitem__(self, name: str) -> None:
        del self._modules[name]
        self._commands.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]},
             commands=_Commands({
                 **dict.fromkeys(("devices", "calibrate", "measure"), "convcalc.cli.devices"),
                 **dict.fromkeys(("report", "import", "export"), "convcalc.cli.files"),
                 **dict.fromkeys(("compare", "sweep", "list"), "convcalc.cli.designs"),
                 "graph": "convcalc.cli.graph",
                 **dict.fromkeys(("verify", "conv"), "convcalc.cli.reference")}),
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
