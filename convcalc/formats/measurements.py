"""Measured latencies: the CSV ``convcalc calibrate`` reads (``read_measurements``), each row
analysed at its input, width and batch, and ``calibrate``, which reads one and fits a profile to
it with ``convcalc.analysis.calibrate.fit``."""

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from convcalc.analysis.calibrate import (
    Calibration,
    Measurement,
    check_runtime,
    fit,
    relative_errors,
)
from convcalc.analysis.report import Report, analyze
from convcalc.analysis.variants import with_input, with_width
from convcalc.errors import ConvcalcError, suggestion
from convcalc.formats.loader import load
from convcalc.formats.yaml_reader import read_text
from convcalc.graph.architecture import Architecture
from convcalc.graph.shapes import parse_shape
from convcalc.limits import MAX_BATCH, MAX_CALIBRATION_ROWS, MAX_WIDTH, MEASURED_SECONDS

COLUMNS = ("arch", "seconds", "input", "width", "batch")
# The column of seconds each clock fits: --clock cpu reads `convcalc measure`'s CPU time
# instead of the wall-clock seconds.
CLOCKS = {"wall": "seconds", "cpu": "cpu_seconds"}
# The columns `convcalc measure` writes (``reference.measure.timings_csv``): COLUMNS, the CPU
# time, and notes on how the time was taken (fastest run, runtime, threads, repeats), which
# calibrate does not read and does not name as ignored either.
MEASURE_COLUMNS = ("arch", "input", "width", "batch", "seconds", "cpu_seconds", "min_seconds",
                   "runtime", "threads", "repeat")


def calibrate(source: str | Path, name: str = "calibrated", dtype: str = "fp32",
              efficiency: Sequence[str] | None = None,
              runtime: str | None = None, clock: str = "wall") -> Calibration:
    """The profile fitted to the latencies of the CSV file ``source`` (see
    ``read_measurements``), with the fit's error per network; ``runtime`` starts from that
    runtime's rules (see ``convcalc.analysis.calibrate``)."""
    if runtime is not None:
        check_runtime(runtime)
    measurements = read_measurements(source, dtype, clock)
    device = fit(measurements, name=name, dtype=dtype,
                 description=f"fitted by convcalc calibrate to {len(measurements)} measured "
                 f"networks in {Path(source).name}", efficiency=efficiency, runtime=runtime)
    return Calibration(device, tuple(measurements),
                       relative_errors(measurements, device))


def read_measurements(source: str | Path, dtype: str = "fp32",
                      clock: str = "wall") -> list[Measurement]:
    """The rows of a CSV file with columns ``arch`` (anything ARCH accepts) and ``seconds``,
    and optionally ``input`` (as --input), ``width`` and ``batch``; each row analysed. With
    ``clock`` 'cpu' the seconds are the ``cpu_seconds`` column (``convcalc measure``'s CPU
    time of the process) instead. Other columns are ignored (``ignored_columns`` names
    them)."""
    if clock not in CLOCKS:
        raise ConvcalcError(f"clock '{clock}' must be one of {', '.join(CLOCKS)}")
    shown = str(source)
    text = read_text(Path(source), "measurement CSVs", shown, kind="CSV")
    try:
        return _measurements(text, dtype, CLOCKS[clock])
    except ConvcalcError as e:
        raise e.located(file=shown) from None


def ignored_columns(source: str | Path, clock: str = "wall") -> list[str]:
    """The columns of the CSV file ``source`` that ``read_measurements`` does not read at
    ``clock``, to be named to the user; those `convcalc measure` writes are not among them."""
    text = read_text(Path(source), "measurement CSVs", str(source), kind="CSV")
    try:
        return [c for c in _header(csv.reader(io.StringIO(text)))[1]
                if c not in MEASURE_COLUMNS]
    except ConvcalcError as e:
        raise e.located(file=str(source)) from None


def _header(reader: "Iterator[list[str]]") -> tuple[list[str], list[str]]:
    """The header row and the columns it has beyond COLUMNS, which are ignored; a column that
    looks like a misspelt one of COLUMNS absent from the header is an error instead."""
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ConvcalcError("is empty; a measurements CSV has a header row 'arch,seconds' "
                            "and one row per network", line=1) from None
    except csv.Error as e:
        raise ConvcalcError(f"is not CSV: {e}", line=1) from None
    ignored = []
    for column in header:
        if column in COLUMNS:
            continue
        hint = suggestion(column, [c for c in COLUMNS if c not in header])
        if hint:
            raise ConvcalcError(f"unknown column '{column}'{hint} columns: "
                                f"{', '.join(COLUMNS)}", line=1)
        ignored.append(column)
    return header, ignored


def _measurements(text: str, dtype: str, timed: str) -> list[Measurement]:
    reader = csv.reader(io.StringIO(text))
    header, _ = _header(reader)
    for column in ("arch", timed):
        if column not in header:
            raise ConvcalcError(f"needs a column '{column}'; the header is "
                                f"'{','.join(header)}'", line=1)
    loaded: dict[str, Architecture] = {}
    analysed: dict[tuple[str, str, float, int], Report] = {}
    out: list[Measurement] = []
    line = 1
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(out) >= MAX_CALIBRATION_ROWS:
                raise ConvcalcError(f"has more than {MAX_CALIBRATION_ROWS:,} measurements")
            if len(values) != len(header):
                raise ConvcalcError(f"has {len(values)} values for the {len(header)} columns "
                                    f"{','.join(header)}")
            out.append(_measurement(dict(zip(header, (v.strip() for v in values), strict=True)),
                                    loaded, analysed, dtype, timed))
    except csv.Error as e:
        raise ConvcalcError(f"is not CSV: {e}", line=reader.line_num) from None
    except ConvcalcError as e:
        raise e.located(line=line) from None
    if not out:
        raise ConvcalcError("has no measurements: one row per network after the header",
                            line=2)
    return out


def _measurement(row: dict[str, str], loaded: dict[str, Architecture],
                 analysed: dict[tuple[str, str, float, int], Report],
                 dtype: str, timed: str) -> Measurement:
    """One row, its network loaded once per ``arch`` (``loaded``) and analysed once per
    arch, input, width and batch (``analysed``): rows that repeat a network share its
    report; ``timed`` names the column of seconds."""
    arch_name = row["arch"]
    if not arch_name:
        raise ConvcalcError("arch is empty: give a built-in name or a YAML file")
    seconds = _number(row[timed], timed, float, *MEASURED_SECONDS)
    width = _number(row.get("width") or "1", "width", float, 0, MAX_WIDTH)
    batch = int(_number(row.get("batch") or "1", "batch", int, 1, MAX_BATCH))
    if arch_name not in loaded:
        loaded[arch_name] = load(arch_name)
    base = loaded[arch_name]
    shape = parse_shape(row["input"], channels=base.input.c) if row.get("input") else base.input
    key = (arch_name, str(shape), width, batch)
    if key not in analysed:
        # width first, then input, as the commands do: named 'mobilenet_v2 ×0.5 @160'
        arch = with_width(base, width) if width != 1 else base
        analysed[key] = analyze(with_input(arch, shape), dtype=dtype, batch=batch)
    report = analysed[key]
    return Measurement(report.name + (f", batch {batch}" if batch != 1 else ""), report,
                       seconds)


def _number(text: str, column: str, kind: type[float] | type[int], least: float,
            most: float) -> float:
    """The number ``text`` of ``column``, from ``least`` (excluded when 0) to ``most``; a
    whole number when ``kind`` is int. Compared before any conversion to float, so a batch of
    1 and 400 zeros is refused rather than overflowing."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not (least < value <= most if least == 0 else least <= value <= most):
        above = f"above 0 and at most {most:g}" if least == 0 else f"from {least:g} to {most:g}"
        raise ConvcalcError(f"{column} {_quoted(text)} must be a "
                            f"{'whole ' if kind is int else ''}number {above}")
    return value


def _quoted(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:40]) + "..."
