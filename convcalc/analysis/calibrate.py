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

numpy is imported here only: this module is loaded by the calibrate command, never on the
analyze path.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from convcalc.analysis.report import Report, network_seconds
from convcalc.analysis.roofline import EFFICIENCY_CLASSES, Device
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
    """The per-layer figures of one measured network, as arrays."""

    macs: "np.ndarray"
    moved: "np.ndarray"
    kind: "np.ndarray"  # index into the fitted classes
    layers: int
    seconds: float


def fit(measurements: Sequence[Measurement], name: str = "calibrated", dtype: str = "fp32",
        description: str = "", efficiency: Sequence[str] = OWN_EFFICIENCY) -> Device:
    """The profile whose roofline best predicts the measured seconds (least squares on
    relative error; see the module docstring). The classes in ``efficiency`` get a multiply
    rate of their own; the others share one (a few networks cannot pin six rates)."""
    if not measurements:
        raise ConvcalcError("calibrate needs at least one measured network")
    for kind in efficiency:
        if kind not in EFFICIENCY_CLASSES:
            raise ConvcalcError(f"efficiency class '{kind}' is not one of "
                                f"{', '.join(EFFICIENCY_CLASSES)}"
                                f"{suggestion(kind, EFFICIENCY_CLASSES)}")
    rows = [list(m.report.counted()) for m in measurements]
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
        layers=len(rs), seconds=m.seconds) for m, rs in zip(measurements, rows, strict=True)]
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
    return Device(
        name=name, macs_per_second=1 / fastest, bytes_per_second=float(1 / x[-2]),
        dtype=dtype, overhead_seconds=float(x[-1]), efficiency=fractions,
        description=description, figures="calibrated",
        sources=dict.fromkeys(("macs_per_second", "bytes_per_second", "overhead_seconds",
                               *(["efficiency"] if fractions else [])), source),
    )


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


def relative_errors(measurements: Sequence[Measurement], device: Device) -> tuple[float, ...]:
    """Each measurement's predicted / measured - 1 on ``device``, in the same order (a network
    measured twice has two errors)."""
    return tuple(network_seconds(m.report, device) / m.seconds - 1 for m in measurements)


def _design(networks: list[_Network], compute: list["np.ndarray"], k: int) -> "np.ndarray":
    """One row per network: multiplies of its compute-bound layers per class, bytes of its
    memory-bound layers, its number of layers; divided by its seconds (relative error)."""
    a = np.zeros((len(networks), k + 2))
    for i, (n, bound) in enumerate(zip(networks, compute, strict=True)):
        for c in range(k):
            a[i, c] = n.macs[bound & (n.kind == c)].sum()
        a[i, k] = n.moved[~bound].sum()
        a[i, k + 1] = n.layers
        a[i] /= n.seconds
    return a


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
        total += (predicted / n.seconds - 1) ** 2
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
