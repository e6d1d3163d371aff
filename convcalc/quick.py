"""One call from a name to a printed table or a drawing: ``convcalc.table("resnet50",
input=160)`` and ``convcalc.draw("resnet50", depth=2)`` load, analyze and render, with the
options of ``convcalc analyze`` and ``convcalc graph``."""

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from convcalc.analysis.report import DTYPE_BYTES, Report, analyze
from convcalc.analysis.roofline import Device
from convcalc.analysis.variants import with_input, with_width
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import load
from convcalc.formats.profiles import load_device
from convcalc.graph.architecture import Architecture
from convcalc.graph.shapes import Shape, parse_shape
from convcalc.limits import whole_number
from convcalc.vocabulary import canonical

if TYPE_CHECKING:
    from convcalc.present.drawing import Drawing

TABLE_FORMATS = ("table", "markdown", "csv", "json")


def table(arch: str | Path | Architecture, *, input: int | str | Shape | None = None,
          width: float | None = None, side: bool = False, dtype: str | None = None,
          depth: int | None = None, flops: bool = False, format: str = "table",
          columns: Sequence[str] | None = None, line_width: int | None = None,
          batch: int = 1, device: "str | Path | Device | None" = None) -> str:
    """The text ``convcalc analyze`` prints for ``arch`` (a built-in name, a YAML path or an
    ``Architecture``): at ``input`` (160, '160x120' or a Shape) and ``width``, side branches
    counted when ``side``, bytes at ``dtype`` (fp32/float32, fp16/float16, bf16, int8),
    folded to ``depth``; ``format`` is table, markdown (md), csv or json. The table has every
    column unless ``columns`` picks some or ``line_width`` asks it to fit that many characters.
    ``batch`` images, timed on ``device`` (a profile, its built-in name or file; its dtype
    unless ``dtype`` is given).
    """
    from convcalc.analysis.summary import fold
    from convcalc.present import grid, table
    from convcalc.present.report_json import render_json

    if line_width is not None:
        whole_number("line_width", line_width, 1)
    if columns is not None and (isinstance(columns, str) or not isinstance(columns, Sequence)
                                or not all(isinstance(c, str) for c in columns)):
        raise ConvcalcError(f"columns {columns!r} must be a list of column ids such as "
                            "['name', 'macs']")
    format_ = canonical(format, TABLE_FORMATS, "format")
    report = _report(arch, input, width, side, dtype, batch, device)
    result: str | grid.Grid
    if depth is not None:
        result = table.render_blocks(report, fold(report, depth), depth, format_)
    elif format_ == "json":
        result = render_json(report) + "\n"
    elif format_ == "csv":
        result = table.render_csv(report, flops)
    elif format_ == "markdown":
        result = table.render_markdown(report, flops)
    else:
        result = table.render_table(report, flops)
    if isinstance(result, grid.Grid):
        return result.text(line_width, columns, hint="columns")
    return result


def draw(arch: "str | Architecture | Report", *, input: int | str | Shape | None = None,
         width: float | None = None, side: bool = False, dtype: str | None = None,
         depth: int | None = None, color: str = "macs", batch: int = 1,
         device: "str | Device | None" = None) -> "Drawing":
    """The layer graph ``convcalc graph`` draws, as a ``Drawing``: a notebook shows it as its
    SVG; ``.svg``, ``.html`` and ``.dot`` are its texts and ``save(path)`` writes one. ``arch``
    is a built-in name, a YAML path, an ``Architecture`` (loaded and analyzed with the options
    of ``table``) or a ``Report``; ``depth`` folds it into blocks, ``color`` is the figure that
    fills the boxes: macs, params, seconds (with a device), activations or bytes_moved."""
    from convcalc.present.drawing import draw_report

    if isinstance(arch, Report):
        if (input, width, side, dtype, batch, device) != (None, None, False, None, 1, None):
            raise ConvcalcError("a Report is drawn as it was analyzed; give the architecture "
                                "to draw it with other options")
        report = arch
    else:
        report = _report(arch, input, width, side, dtype, batch, device)
    return draw_report(report, depth=depth, color=color)


def _report(arch: str | Path | Architecture, input: int | str | Shape | None,
            width: float | None, side: bool, dtype: str | None, batch: int,
            device: "str | Path | Device | None") -> Report:
    """``arch`` loaded, at ``input`` and ``width``, and analyzed as ``table`` and ``draw``
    describe."""
    if not isinstance(arch, str | Path | Architecture):
        raise ConvcalcError(f"arch {arch!r} must be a name, a path or an Architecture")
    if device is not None and not isinstance(device, str | Path | Device):
        raise ConvcalcError(f"device {device!r} must be a profile's name or path, or a Device")
    loaded = arch if isinstance(arch, Architecture) else load(arch)
    if input is not None:
        shape = input if isinstance(input, Shape) else parse_shape(str(input),
                                                                  channels=loaded.input.c)
        loaded = with_input(loaded, shape)
    if width is not None:
        loaded = with_width(loaded, width)
    profile = load_device(device) if isinstance(device, str | Path) else device
    dtype = dtype or (profile.dtype if profile is not None else "fp32")
    return analyze(loaded, include_side=side, dtype=canonical(dtype, list(DTYPE_BYTES), "dtype"),
                   batch=batch, device=profile)
