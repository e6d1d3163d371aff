"""What every command shares: the one error boundary (``ConvcalcError`` -> one line, exit 2),
the option groups, loading an ARCH with its --input / --width / --depth-multiplier, and printing a
result in the chosen format."""

import contextlib
import errno
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from convcalc.analysis.report import DTYPE_BYTES, Report
from convcalc.errors import ConvcalcError, plain, suggestion
from convcalc.formats.loader import load, locate_scaled
from convcalc.graph.architecture import Architecture
from convcalc.graph.shapes import parse_shape
from convcalc.inputs import recording
from convcalc.limits import MAX_ARCHS, MAX_COMPARED_LAYERS
from convcalc.output import deferred
from convcalc.vocabulary import CONVERSIONS, canonical, spellings

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from convcalc.analysis.roofline import Device
    from convcalc.analysis.variants import Conversion


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
            # Every file the command reads is recorded, and its output files are written
            # only once it has succeeded, none of them over a file it read.
            with recording() as read, deferred(read):
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


class Commands(click.Group):
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


# The settings one network of a command line may carry after '@' (each overrides the option
# of the same name for that network): mobilenet_v2@width=0.5,input=160.
SETTINGS = {"width": "0.5", "input": "160", "depth-multiplier": "1.2"}  # name: an example


def split_settings(arch: str) -> tuple[str, dict[str, str]]:
    """'mobilenet_v2@width=0.5,input=160' -> ('mobilenet_v2', {'width': '0.5', 'input': '160'});
    an ARCH without '@NAME=VALUE,...' comes back as it is, without settings."""
    source, at, text = arch.rpartition("@")
    if not at or "=" not in text or not source:
        return arch, {}
    settings: dict[str, str] = {}
    for item in parse_list(text, f"the settings of '{arch}'"):
        key, equals, value = (t.strip() for t in item.partition("="))
        if key not in SETTINGS:
            hint = suggestion(key, list(SETTINGS))
            raise ConvcalcError(f"'{arch}': unknown setting '{key}'{hint}"
                                f"{' ' if hint else '; '}a network takes "
                                f"{', '.join(f'{k}=' for k in SETTINGS)}")
        if not equals or not value:
            raise ConvcalcError(f"'{arch}': setting '{key}' needs a value, e.g. "
                                f"{key}={SETTINGS[key]}")
        if key in settings:
            raise ConvcalcError(f"'{arch}': setting '{key}' is given twice")
        settings[key] = value
    return source, settings


def source_files(archs: "Iterable[str]") -> list[Path]:
    """The files the ARCHs read (a named scale's file, a path without its settings): the inputs
    an output file must never overwrite."""
    return [locate_scaled(split_settings(arch)[0])[0] for arch in archs]


def prepared_all(archs: Sequence[str], input_: str | None, width: float | None,
                 depth_multiplier: float | None = None) -> list[Architecture]:
    """Each ARCH ``prepared``: at most MAX_ARCHS of them, with MAX_COMPARED_LAYERS layers in
    all, counted as each is loaded (so the fifth of 20 copies of a 50,000-layer file stops
    the command before the rest are read)."""
    if len(archs) > MAX_ARCHS:
        raise ConvcalcError(f"{len(archs):,} architectures given; one command takes at most "
                            f"{MAX_ARCHS}")
    loaded: list[Architecture] = []
    layers = 0
    for arch in archs:
        loaded.append(prepared(arch, input_, width, depth_multiplier))
        layers += len(loaded[-1].nodes)
        if layers > MAX_COMPARED_LAYERS:
            raise ConvcalcError(f"the first {len(loaded)} architectures have {layers:,} layers; "
                                f"one command takes at most {MAX_COMPARED_LAYERS:,} in all")
    return loaded


def prepared(arch: str, input_: str | None, width: float | None,
             depth_multiplier: float | None = None) -> Architecture:
    """An architecture loaded by name or path, at the requested resolution, width and depth
    (the options, or the ARCH's own '@' settings, which take precedence), named after what
    was done to it: 'mobilenet_v2 ×0.5 @160'."""
    arch, settings = split_settings(arch)
    if "width" in settings:
        width = parse_width(settings["width"])
    if "depth-multiplier" in settings:
        depth_multiplier = parse_number(settings["depth-multiplier"], "depth multiplier")
    input_ = settings.get("input", input_)
    if input_ and arch.lower().endswith(".onnx"):
        # An ONNX graph's shape constants (Reshape, Resize sizes) follow its input: read it
        # at that size, which is also how a symbolic input gets one.
        from convcalc.formats.onnx_reader import read_onnx

        loaded = read_onnx(arch, input_)
        input_ = None
    else:
        loaded = load(arch, depth=1.0 if depth_multiplier is None else depth_multiplier)
    # variants is imported only when asked for: most runs need neither rule.
    if width is not None:
        from convcalc.analysis.variants import with_width

        loaded = with_width(loaded, width)
    if input_:
        from convcalc.analysis.variants import with_input

        loaded = with_input(loaded, parse_shape(input_, channels=loaded.input.c))
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


def _completer(names: "Callable[[], list[str]]") -> "Callable[..., list[CompletionItem]]":
    """A shell completion of a name or a file: the names starting with the word typed, the
    files of the current folder that do, and a 'file' item first, which tells bash to complete
    file names (paths, folders) when nothing else matches and zsh and fish to add them."""
    def complete(ctx: click.Context, param: click.Parameter,
                 incomplete: str) -> "list[CompletionItem]":
        import glob

        from click.shell_completion import CompletionItem

        items = [CompletionItem(incomplete, type="file")]
        if "/" not in incomplete and not incomplete.startswith("."):
            items += [CompletionItem(n) for n in names() if n.startswith(incomplete)]
            items += [CompletionItem(p.name) for p in sorted(Path().glob(
                glob.escape(incomplete) + "*")) if p.is_file()]
        return items
    return complete


def _arch_names() -> list[str]:
    from convcalc.formats.loader import catalogue_names

    return catalogue_names()


def _device_names() -> list[str]:
    from convcalc.formats.profiles import device_names

    return device_names()


complete_arch = _completer(_arch_names)
complete_device = _completer(_device_names)


def roofline_options(command: Any) -> Any:
    """--batch and --device, shared by analyze, compare, sweep and report."""
    command = click.option("--device", "device_name", metavar="PROFILE",
                           shell_complete=complete_device,
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
    from convcalc.formats.profiles import load_device

    device = load_device(device_name)
    return device, dtype or device.dtype


def converted(arch: Architecture, to: str | None,
              include_stem: bool) -> "tuple[Architecture, Conversion | None]":
    """``arch`` converted as --convert asks, and the ``Conversion`` (what each layer it created
    replaced, what it left alone and why); ``arch`` unchanged and None without --convert,
    which then does not import variants."""
    if to is None:
        if include_stem:
            raise ConvcalcError("--include-stem goes with --convert separable")
        return arch, None
    from convcalc.analysis.variants import convert

    conversion = convert(arch, to, include_stem)
    return conversion.arch, conversion


def explain_reports(reports: list[Report], format_: str, layer: str | None) -> None:
    """Print --explain's text for each report."""
    from convcalc.present.explain import explain

    if format_ != "table":
        raise ConvcalcError(f"--explain prints text; drop --format {format_}")
    for report in reports:
        click.echo(f"== {plain(report.name)} ==\n" + explain(report, layer))


def table_only(columns: str | None) -> None:
    """--columns is refused where no table is printed (--format json, markdown, csv)."""
    if columns:
        raise ConvcalcError("--columns picks the columns of the table; it does not go with "
                            "--format")


def print_result(result: Any, columns: str | None = None) -> None:
    """Echo a rendered string; lay out a text table (``grid.Grid``) to the terminal's width,
    or whole and plain when piped; print any other rich renderable at the terminal's width, or
    wide enough for any table when piped (so a file gets whole lines, without colour codes).
    ``columns`` is --columns: ids separated by commas."""
    from convcalc.present.grid import Grid

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
           conversion: "Conversion | None" = None, columns: str | None = None) -> None:
    """Print a report in one of FORMATS (none of them imports rich). After --convert, the
    layers the ``conversion`` created are marked, and what it did is a line under the table
    (the ``conversions`` key in JSON; CSV has the ``converted_from`` column only)."""
    changed = conversion.changed if conversion is not None else None
    note = ""
    if conversion is not None:
        from convcalc.present.conversions import conversion_note

        note = conversion_note(conversion)
    if format_ != "table":
        table_only(columns)
    if format_ == "json":  # the JSON writer alone: the table's modules cost start-up time
        from convcalc.present.report_json import render_json

        click.echo(render_json(report, changed, [conversion.to_dict()] if conversion else ()))
        return
    from convcalc.present import table

    if format_ == "csv":
        click.echo(table.render_csv(report, flops, changed), nl=False)
    elif format_ == "markdown":
        click.echo(table.render_markdown(report, flops, changed) + (f"\n{note}\n" if note
                                                                    else ""), nl=False)
    else:
        print_result(table.render_table(report, flops, changed), columns)
        if note:
            click.echo(note)


def parse_padding(text: str) -> int | str:
    """--padding: 'same', 'valid' or a number of pixels on every side."""
    if text in ("same", "valid"):
        return text
    if text.isdecimal():
        return int(text)
    raise ConvcalcError(f"padding '{text}' must be 'same', 'valid' or a number")


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


def parse_number(text: str, what: str) -> float:
    """One number given as text: '1.2'."""
    try:
        return float(text)
    except ValueError:
        raise ConvcalcError(f"{what} '{text}' must be a number such as 1.2") from None
