"""``convcalc measure``: how long a design takes on a runtime people deploy, as the CSV
``convcalc calibrate`` reads.

A thin edge: the design is exported by the ONNX writer (seeded random weights), loaded into an
ONNX Runtime ``InferenceSession`` with every graph optimisation on (the fusions a deployment
gets), run ``warmup`` times, then timed ``repeat`` times on one seeded random input. A timing is
the median of the repeats, in wall-clock seconds and in the process's CPU seconds (with one
thread, CPU time is what other processes on a busy machine inflate least), with the fastest
repeat beside them. Needs the ``measure`` extra (onnx and onnxruntime).
"""

import csv
import io
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from convcalc.errors import ConvcalcError, require, suggestion
from convcalc.formats.measurements import MEASURE_COLUMNS
from convcalc.formats.onnx_writer import INPUT_NAME, write_onnx
from convcalc.graph.architecture import Architecture
from convcalc.graph.shapes import Shape
from convcalc.limits import MAX_MEASURE_REPEAT, MAX_MEASURE_THREADS

RUNTIMES = ("onnxruntime",)


@dataclass(frozen=True)
class Timing:
    """One measured design: what it was (source, input, width, batch), where it ran, and the
    median wall and CPU seconds of its repeats, with the fastest repeat's wall seconds."""

    arch: str
    input: Shape
    width: float
    batch: int
    runtime: str
    threads: int
    repeat: int
    seconds: float
    cpu_seconds: float
    min_seconds: float


def check_runtime(runtime: str) -> str:
    """``runtime`` if convcalc can measure on it, else the error naming the ones it can."""
    if runtime not in RUNTIMES:
        raise ConvcalcError(f"runtime '{runtime}' is not one convcalc measures on"
                            f"{suggestion(runtime, RUNTIMES)}; runtimes: {', '.join(RUNTIMES)}")
    return runtime


def check_settings(runtime: str, threads: int, repeat: int, warmup: int) -> None:
    """Nothing when convcalc can measure so; else the error naming what to change."""
    check_runtime(runtime)
    for name, value, least, most in (("threads", threads, 1, MAX_MEASURE_THREADS),
                                     ("repeat", repeat, 1, MAX_MEASURE_REPEAT),
                                     ("warmup", warmup, 0, MAX_MEASURE_REPEAT)):
        if not least <= value <= most:
            raise ConvcalcError(f"{name} {value} must be from {least} to {most:,}")


def measure(arch: Architecture, source: str, *, runtime: str = "onnxruntime", threads: int = 1,
            repeat: int = 15, warmup: int = 3, batch: int = 1, width: float = 1.0) -> Timing:
    """The timing of ``arch`` (loaded from ``source`` at ``width``; both only label the row)
    on ``runtime`` with ``threads`` threads, after ``warmup`` untimed runs."""
    check_settings(runtime, threads, repeat, warmup)
    ort = require("onnxruntime", "measure")
    model = write_onnx(arch, batch=batch)
    import numpy as np

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    dims = [batch, arch.input.c, *arch.input.hw]
    feed = {INPUT_NAME: np.random.default_rng(0).standard_normal(dims).astype(np.float32)}
    for _ in range(warmup):
        session.run(None, feed)
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        session.run(None, feed)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return Timing(arch=source, input=arch.input, width=width, batch=batch, runtime=runtime,
                  threads=threads, repeat=repeat, seconds=statistics.median(walls),
                  cpu_seconds=statistics.median(cpus), min_seconds=min(walls))


def measure_all(designs: Sequence[tuple[str, Architecture, float]], *,
                runtime: str = "onnxruntime", threads: int = 1, repeat: int = 15,
                warmup: int = 3, batch: int = 1,
                progress: Callable[[int, str], None] | None = None) -> list[Timing]:
    """The timing of every (source, architecture, width) in ``designs``, as ``measure`` times
    one; ``progress(i, source)`` is called before the i-th. An error names the source."""
    check_settings(runtime, threads, repeat, warmup)
    for module in ("onnxruntime", "onnx"):  # what is missing, before any design is exported
        require(module, "measure")
    timings = []
    for i, (source, arch, width) in enumerate(designs):
        if progress is not None:
            progress(i, source)
        try:
            timings.append(measure(arch, source, runtime=runtime, threads=threads,
                                   repeat=repeat, warmup=warmup, batch=batch, width=width))
        except ConvcalcError as e:
            raise e.located(file=source) from None
    return timings


def timings_csv(timings: Sequence[Timing]) -> str:
    """The CSV of ``timings``: a header of ``MEASURE_COLUMNS`` and one row per design, which
    ``convcalc calibrate`` reads (its ``seconds`` are the median wall-clock seconds)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MEASURE_COLUMNS)
    for t in timings:
        writer.writerow([t.arch, str(t.input), f"{t.width:g}", t.batch, f"{t.seconds:.6g}",
                         f"{t.cpu_seconds:.6g}", f"{t.min_seconds:.6g}", t.runtime, t.threads,
                         t.repeat])
    return out.getvalue()
