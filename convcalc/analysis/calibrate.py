"""The fit behind ``convcalc calibrate``: a device profile fitted to measured network latencies.

The model is the roofline of roofline.py summed over a network's layers:

    seconds = sum over layers of max(macs / (P x efficiency[class]), bytes_moved / B)
              + layers x overhead

Once it is known which roof binds each layer, the time is linear in 1 / (P x efficiency) of each
class, 1 / B and the overhead, so those are fitted by non-negative least squares on the relative
error (each network's error counts alike, whatever its size). Which roof binds depends on the
fit, so the fit alternates the two: start from a guess of the bound layers (several guesses,
from "every layer with multiplies is compute-bound" to "every layer is memory-bound"), fit,
re-decide each layer's bound with the fitted figures, refit, until nothing changes; the best fit
of all guesses wins. The fastest class defines P (efficiency 1); the others get their fraction.

A handful of networks cannot pin six rates, one per class, plus B and the overhead: the fit then
finds rates that explain the calibration networks and nothing else. So by default only the
depthwise and grouped convolutions (``OWN_EFFICIENCY``) get a rate of their own and the other
classes share one; ``efficiency=`` (``--efficiency``) names other classes, or all of them.

With a runtime (``runtime='onnxruntime'``, ``--runtime``) the fit starts from that runtime's
known rules (``RUNTIMES``: what it fuses into the convolution before, that compute and memory
time add up per layer) and fits five figures: the multiply rate, the slow path's channels
(``slow_channels``), the bandwidth, the overhead and the channel block. Compute plus memory is
linear in the first four, so one non-negative least-squares solve fits them; it is done for
each channel block the runtime may use, and the block that fits the measurements best is kept.

numpy is imported here only: this module is loaded by the calibrate command, never on the
analyze path.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from convcalc.analysis.report import Report, fused_rows, network_seconds
from convcalc.analysis.roofline import EFFICIENCY_CLASSES, Device, channel_path
from convcalc.display import Shown
from convcalc.errors import ConvcalcError, suggestion

# Bounds that keep every fitted figure a usable one: at most 1e18 MACs and 1e16 bytes per second.
SLOWEST_MACS = 1e-18


SLOWEST_BYTES = 1e-16


RIDGE_GUESSES = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, math.inf)


MAX_ROUNDS = 30


# The classes whose multiply rate is fitted on its own by default: the two the MobileNet and
# ShuffleNet papers single out as slower than their multiplies suggest.
OWN_EFFICIENCY = ("depthwise", "grouped")


@dataclass(frozen=True)
class Rules:
    """What is known of a runtime before fitting: the kinds it fuses into the convolution before
    them, how a layer's compute and memory time combine, the channel blocks it may use and the
    classes that get a multiply rate of their own."""

    fuses: tuple[str, ...]
    combine: str
    blocks: tuple[int, ...]
    own: tuple[str, ...]


# ONNX Runtime on CPUs (issue 22, from single-layer graphs and its profiler): batch norm,
# ReLU / Clip / HardSwish / HardSigmoid and residual adds run inside the convolution, SiLU
# written as Sigmoid and Mul runs as one op (its optimised graph has QuickGelu); the NCHWc
# layout blocks channels by 16 (AVX-512), 8 (AVX2) or 4; blocked grouped convolutions run at the
# normal rate, and depthwise ones are slow by their bytes: one multiply rate for all.
RUNTIMES = {
    "onnxruntime": Rules(fuses=("batchnorm", "relu", "relu6", "hardswish", "hardsigmoid", "add",
                                "mul"),
                         combine="sum", blocks=(4, 8, 16), own=()),
}


@dataclass(frozen=True)
class Measurement:
    """One measured network: a label, its analysis (at the measured input, width and batch)
    and the seconds it took."""

    name: str
    report: Report
    seconds: float


@dataclass(frozen=True)
class Calibration(Shown):
    """A fitted profile, the measurements it was fitted to and each one's relative error
    (predicted / measured - 1)."""

    device: Device
    measurements: tuple[Measurement, ...]
    errors: tuple[float, ...]


@dataclass(frozen=True)
class _Network:
    """The per-layer figures of one measured network, as arrays, with each of its measured
    times: rows of the CSV that share an analysis share one (1,000 rows of a 2,001-layer file
    are one network of 1,000 times, not 2 million layers)."""

    macs: "np.ndarray"
    moved: "np.ndarray"
    kind: "np.ndarray"  # index into the fitted classes
    layers: int
    seconds: "np.ndarray"  # every time measured for this analysis (one network, many rows)


def check_runtime(runtime: str) -> Rules:
    """The known rules of ``runtime``; an error naming the runtimes calibrate knows."""
    if runtime not in RUNTIMES:
        raise ConvcalcError(f"runtime '{runtime}' is not one calibrate knows the rules of"
                            f"{suggestion(runtime, RUNTIMES)}; runtimes: {', '.join(RUNTIMES)}")
    return RUNTIMES[runtime]


def fit(measurements: Sequence[Measurement], name: str = "calibrated", dtype: str = "fp32",
        description: str = "", efficiency: Sequence[str] | None = None,
        runtime: str | None = None) -> Device:
    """The profile whose roofline best predicts the measured seconds (least squares on
    relative error; see the module docstring). The classes in ``efficiency`` get a multiply
    rate of their own (default: depthwise and grouped, or the runtime's); the others share
    one (a few networks cannot pin six rates). ``runtime`` fits with its rules."""
    if not measurements:
        raise ConvcalcError("calibrate needs at least one measured network")
    rules = check_runtime(runtime) if runtime is not None else None
    if efficiency is None:
        efficiency = rules.own if rules is not None else OWN_EFFICIENCY
    for kind in efficiency:
        if kind not in EFFICIENCY_CLASSES:
            raise ConvcalcError(f"efficiency class '{kind}' is not one of "
                                f"{', '.join(EFFICIENCY_CLASSES)}"
                                f"{suggestion(kind, EFFICIENCY_CLASSES)}")
    if rules is not None and runtime is not None:
        return _fit_runtime(measurements, runtime, rules, efficiency, Device(
            name=name, macs_per_second=1e9, bytes_per_second=1e9, dtype=dtype,
            description=description, figures="calibrated"))  # the figures are fitted
    times: dict[int, list[float]] = {}
    reports: dict[int, Report] = {}
    for m in measurements:
        times.setdefault(id(m.report), []).append(m.seconds)
        reports[id(m.report)] = m.report
    rows = [list(report.counted()) for report in reports.values()]
    present = [c for c in EFFICIENCY_CLASSES
               if any(r.macs and r.efficiency_class == c for rs in rows for r in rs)]
    shared = [c for c in present if c not in efficiency]
    groups = ([shared] if shared else []) + [[c] for c in present if c in efficiency]
    group = {c: i for i, members in enumerate(groups) for c in members}
    k = len(groups)  # one fitted seconds per multiply for each group of classes
    networks = [_Network(
        macs=np.array([r.macs for r in rs], float),
        moved=np.array([r.bytes_moved for r in rs], float),
        kind=np.array([group[r.efficiency_class] if r.macs else -1 for r in rs]),
        layers=len(rs), seconds=np.array(times[key])) for key, rs in zip(reports, rows,
                                                                            strict=True)]
    best: tuple[float, np.ndarray] | None = None
    for ridge in RIDGE_GUESSES:
        compute = [(n.macs > 0) & (n.macs >= ridge * n.moved) if ridge < math.inf
                   else np.zeros(len(n.macs), bool) for n in networks]
        for _ in range(MAX_ROUNDS):
            x = _solve(networks, compute, k)
            error = _objective(networks, x, k)
            if best is None or error < best[0]:
                best = (error, x)
            updated = [_compute_bound(n, x, k) for n in networks]
            if all((u == c).all() for u, c in zip(updated, compute, strict=True)):
                break
            compute = updated
    assert best is not None  # RIDGE_GUESSES is not empty
    x = best[1]
    per_mac = _settle_unbound(networks, x, k)
    fastest = float(per_mac.min()) if groups else SLOWEST_MACS
    fractions = {c: float(fastest / per_mac[group[c]]) for c in present
                 if per_mac[group[c]] > fastest}
    source = "fitted by convcalc calibrate to measured latencies"
    try:
        return Device(
            name=name, macs_per_second=1 / fastest, bytes_per_second=float(1 / x[-2]),
            dtype=dtype, overhead_seconds=float(x[-1]), efficiency=fractions,
            description=description, figures="calibrated",
            sources=dict.fromkeys(("macs_per_second", "bytes_per_second", "overhead_seconds",
                                   *(["efficiency"] if fractions else [])), source),
        )
    except ConvcalcError as e:  # a figure outside its physical bounds
        raise ConvcalcError(f"the fitted profile has {e.message}: no device within physical "
                            "bounds explains these seconds; check the seconds column") from None


def _settle_unbound(networks: list[_Network], x: "np.ndarray", k: int) -> "np.ndarray":
    """The seconds per multiply of each class, where a class whose layers are all memory-bound
    in the fit (so any rate slow enough to keep them so fits as well) gets the fastest bound
    class's rate (efficiency 1), or the slowest rate that keeps its layers memory-bound if
    that is faster still."""
    per_mac = x[:k].copy()
    bound = [_compute_bound(n, x, k) for n in networks]
    has_bound = [any((b & (n.kind == c)).any() for n, b in zip(networks, bound, strict=True))
                 for c in range(k)]
    known = [per_mac[c] for c in range(k) if has_bound[c]]
    reference = min(known) if known else math.inf
    for c in range(k):
        if not has_bound[c]:
            caps = [n.moved[n.kind == c] * x[k] / n.macs[n.kind == c] for n in networks]
            cap = float(np.concatenate(caps).min())
            per_mac[c] = min(reference, cap)
    return per_mac


def _fit_runtime(measurements: Sequence[Measurement], runtime: str, rules: Rules,
                 efficiency: Sequence[str], named: Device) -> Device:
    """The profile with ``rules`` whose compute-plus-memory time best predicts the measured
    seconds, at the channel block that fits best (``named`` gives the name and texts).

    A slow-path layer with n output channels per group takes macs / P x (n + h) / n: its
    multiplies count at the shared rate 1 / P, and macs / n in a column of its own whose
    figure is h / P, so the model stays linear."""
    best: tuple[float, Device] | None = None
    for block in rules.blocks:
        # Per network: multiplies run at each rate (the classes that share one rate, each
        # class with its own), the slow path's macs / n, bytes, unfused layers.
        groups: dict[str, int] = {"shared": 0}
        members: dict[str, set[str]] = {"shared": set()}  # the classes of each group
        rows_of = []
        for m in measurements:
            rows = m.report.rows
            fused = fused_rows(rows, rules.fuses)
            kept = [r for i, r in enumerate(rows)
                    if i not in fused and (m.report.include_side or not r.side)]
            macs: dict[str, float] = {}
            slow_part = 0.0
            for r in kept:
                if not r.macs:
                    continue
                padding, slow = channel_path(r.layer, r.window, r.input, r.output, block)
                group = "shared" if slow or r.efficiency_class not in efficiency \
                    else r.efficiency_class
                groups.setdefault(group, len(groups))
                members.setdefault(group, set()).add(r.efficiency_class)
                macs[group] = macs.get(group, 0.0) + r.macs * padding
                slow_part += r.macs / slow if slow else 0.0
            rows_of.append((macs, slow_part, float(sum(r.bytes_moved for r in kept)),
                            len(kept)))
        k = len(groups)
        a = np.zeros((len(measurements), k + 3))
        for i, ((macs, slow_part, moved, layers), m) in enumerate(
                zip(rows_of, measurements, strict=True)):
            for group, count in macs.items():
                a[i, groups[group]] = count
            a[i, k:] = slow_part, moved, layers
            a[i] /= m.seconds
        lower = np.array([SLOWEST_MACS] * k + [0.0, SLOWEST_BYTES, 0.0])
        scale = np.linalg.norm(a, axis=0)
        scale[scale == 0] = 1.0
        x = lower + _nnls(a / scale, 1.0 - a @ lower) / scale
        error = float(((a @ x - 1) ** 2).sum())
        # Seconds per multiply of each group. A rate the fit left at its bound explains no
        # time (its multiplies hidden by its bytes): it gets the shared one.
        shared = float(x[0]) if x[0] > 2 * SLOWEST_MACS else 1 / 1e12
        rates = {g: float(x[i]) if x[i] > 2 * SLOWEST_MACS else shared
                 for g, i in groups.items()}
        fastest = min(rates.values())
        source = f"fitted by convcalc calibrate with {runtime}'s rules to measured latencies"
        try:
            device = replace(
                named, macs_per_second=1 / fastest, bytes_per_second=float(1 / x[k + 1]),
                overhead_seconds=float(x[k + 2]),
                efficiency={c: fastest / v for g, v in sorted(rates.items())
                            if v > fastest for c in sorted(members[g])},
                runtime=runtime, fuses=rules.fuses, channel_block=block,
                combine=rules.combine, slow_channels=float(x[k] / shared),
                sources=dict.fromkeys(("macs_per_second", "bytes_per_second",
                                       "overhead_seconds",
                                       *(["efficiency"] if any(v > fastest
                                                               for v in rates.values())
                                         else []), "channel_block", "slow_channels"), source))
        except ConvcalcError:  # a figure outside its physical bounds: no usable fit
            continue
        if best is None or error < best[0]:
            best = (error, device)
    if best is None:
        raise ConvcalcError("no device within physical bounds explains these seconds; check "
                            "the seconds column")
    return best[1]


def relative_errors(measurements: Sequence[Measurement], device: Device) -> tuple[float, ...]:
    """Each measurement's predicted / measured - 1 on ``device``, in the same order (a network
    measured twice has two errors)."""
    predicted: dict[int, float] = {}  # measurements of one analysis share its prediction
    for m in measurements:
        if id(m.report) not in predicted:
            predicted[id(m.report)] = network_seconds(m.report, device)
    return tuple(predicted[id(m.report)] / m.seconds - 1 for m in measurements)


def _design(networks: list[_Network], compute: list["np.ndarray"], k: int) -> "np.ndarray":
    """One row per measurement: multiplies of its network's compute-bound layers per class,
    bytes of its memory-bound layers, its number of layers; divided by its seconds (relative
    error)."""
    blocks = []
    for n, bound in zip(networks, compute, strict=True):
        row = np.zeros(k + 2)
        for c in range(k):
            row[c] = n.macs[bound & (n.kind == c)].sum()
        row[k] = n.moved[~bound].sum()
        row[k + 1] = n.layers
        blocks.append(row[None, :] / n.seconds[:, None])  # one row per measured time
    return np.vstack(blocks)


def _solve(networks: list[_Network], compute: list["np.ndarray"], k: int) -> "np.ndarray":
    """Non-negative least squares of the design against 1, with each figure at least its
    slowest bound: x = lower + y, y >= 0."""
    a = _design(networks, compute, k)
    lower = np.array([SLOWEST_MACS] * k + [SLOWEST_BYTES, 0.0])
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    x: np.ndarray = lower + _nnls(a / scale, 1.0 - a @ lower) / scale
    return x


def _per_layer(n: _Network, x: "np.ndarray", k: int) -> tuple["np.ndarray", "np.ndarray"]:
    per_mac = np.where(n.kind >= 0, x[np.clip(n.kind, 0, None)], 0.0)
    return n.macs * per_mac, n.moved * x[k]


def _compute_bound(n: _Network, x: "np.ndarray", k: int) -> "np.ndarray":
    compute, memory = _per_layer(n, x, k)
    return (n.macs > 0) & (compute >= memory)


def _objective(networks: list[_Network], x: "np.ndarray", k: int) -> float:
    """The sum of squared relative errors of the true (max) model."""
    total = 0.0
    for n in networks:
        compute, memory = _per_layer(n, x, k)
        predicted = np.maximum(compute, memory).sum() + n.layers * x[k + 1]
        total += float(((predicted / n.seconds - 1) ** 2).sum())
    return total


def _nnls(a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
    """argmin ||a x - b|| subject to x >= 0 (Lawson and Hanson, Solving Least Squares
    Problems, 1974, chapter 23)."""
    n = a.shape[1]
    x = np.zeros(n)
    passive = np.zeros(n, bool)
    tolerance = 10 * np.finfo(float).eps * np.abs(a).sum(axis=0).max() * max(a.shape)
    for _ in range(3 * n + 3):
        gradient = a.T @ (b - a @ x)
        if passive.all() or gradient[~passive].max() <= tolerance:
            break
        passive[np.argmax(np.where(passive, -np.inf, gradient))] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > tolerance).all():
                x = z
                break
            shrinking = passive & (z <= tolerance)
            step = np.min(x[shrinking] / (x[shrinking] - z[shrinking]))
            x = x + step * (z - x)
            passive &= x > tolerance
    return x
