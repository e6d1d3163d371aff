"""Measured torch CPU latency of zoo networks beside convcalc's roofline prediction. Needs torch
and torchvision for measuring (not with --measured):

    PYTHONPATH=. python benchmarks/latency_vs_torch.py [--runs 15] [--save FILE]
    PYTHONPATH=. python benchmarks/latency_vs_torch.py --measured benchmarks/data/torch_cpu.csv

Measuring: torchvision models without weights, eval mode, torch.inference_mode, one image
(batch 1), torch.set_num_threads(--threads, default 2); 3 warm-up runs each, then --runs rounds
that time every network once per round (so a busy moment on a shared machine hits all networks
alike); a network's latency is the median of its rounds. On a machine other processes keep
busy, wall-clock time measures the contention more than the network: ``--threads 1 --clock
cpu`` times the process's CPU seconds instead, which other processes do not inflate.

Fitting: the configurations are ordered by MACs and dealt alternately into a calibration half and
a held-out half. ``convcalc.analysis.calibrate.fit`` fits a profile on the first half; the
held-out half is predicted with it, beside a MACs-proportional estimate (seconds = k * macs, k
fitted on the same half by least squares on relative error).
"""

import argparse
import csv
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcalc import Report, analyze, load, with_input, with_width  # noqa: E402
from convcalc.analysis.calibrate import Measurement, fit, relative_errors  # noqa: E402
from convcalc.analysis.report import network_seconds  # noqa: E402
from convcalc.analysis.roofline import EFFICIENCY_CLASSES  # noqa: E402
from convcalc.formats.loader import catalogue_names  # noqa: E402
from convcalc.graph.shapes import Shape  # noqa: E402


@dataclass(frozen=True)
class Config:
    """One measured configuration: a zoo name at a width and input size, and its torch model."""

    arch: str
    width: float
    size: int
    builder: str
    kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return (self.arch + (f" w{self.width:g}" if self.width != 1 else "")
                + (f" @{self.size}" if self.size != 224 else ""))


GOOGLENET = (("aux_logits", False), ("init_weights", False))
CONFIGS = [
    Config("alexnet", 1, 224, "alexnet"),
    Config("vgg16", 1, 224, "vgg16"),
    Config("resnet18", 1, 224, "resnet18"),
    Config("resnet18", 1, 160, "resnet18"),
    Config("resnet34", 1, 224, "resnet34"),
    Config("resnet50", 1, 224, "resnet50"),
    Config("resnet50", 1, 160, "resnet50"),
    Config("resnet101", 1, 224, "resnet101"),
    Config("resnet152", 1, 224, "resnet152"),
    Config("googlenet_torchvision", 1, 224, "googlenet", GOOGLENET),
    Config("mobilenet_v2", 1, 224, "mobilenet_v2"),
    Config("mobilenet_v2", 1, 160, "mobilenet_v2"),
    Config("mobilenet_v2", 0.35, 224, "mobilenet_v2", (("width_mult", 0.35),)),
    Config("mobilenet_v2", 0.5, 224, "mobilenet_v2", (("width_mult", 0.5),)),
    Config("mobilenet_v2", 0.75, 224, "mobilenet_v2", (("width_mult", 0.75),)),
    Config("mobilenet_v2", 1.4, 224, "mobilenet_v2", (("width_mult", 1.4),)),
    # Zoo files of the modern-zoo issue; a configuration without a zoo file is measured but
    # not predicted.
    Config("mobilenet_v3_small", 1, 224, "mobilenet_v3_small"),
    Config("mobilenet_v3_large", 1, 224, "mobilenet_v3_large"),
    Config("shufflenet_v2_x0_5", 1, 224, "shufflenet_v2_x0_5"),
    Config("shufflenet_v2_x1_0", 1, 224, "shufflenet_v2_x1_0"),
    Config("shufflenet_v2_x2_0", 1, 224, "shufflenet_v2_x2_0"),
    Config("efficientnet_b0", 1, 224, "efficientnet_b0"),
    Config("squeezenet1_1", 1, 224, "squeezenet1_1"),
    Config("mnasnet1_0", 1, 224, "mnasnet1_0"),
    Config("densenet121", 1, 224, "densenet121"),
    Config("resnext50_32x4d", 1, 224, "resnext50_32x4d"),
    Config("regnet_y_400mf", 1, 224, "regnet_y_400mf"),
]
FIELDS = ("arch", "width", "input", "seconds", "min_seconds", "max_seconds")


def measure(configs: list[Config], runs: int, threads: int = 2,
            clock: str = "wall") -> dict[Config, list[float]]:
    """Every configuration's latency in each of ``runs`` rounds (after 3 warm-up runs), in
    wall-clock seconds or (with one thread) the process's CPU seconds."""
    import torch
    import torchvision

    torch.set_num_threads(threads)
    now = time.perf_counter if clock == "wall" else time.process_time
    models, inputs = {}, {}
    for c in configs:
        models[c] = getattr(torchvision.models, c.builder)(weights=None, **dict(c.kwargs)).eval()
        inputs[c] = torch.randn(1, 3, c.size, c.size, generator=torch.Generator().manual_seed(0))
    times: dict[Config, list[float]] = {c: [] for c in configs}
    with torch.inference_mode():
        for c in configs:
            for _ in range(3):
                models[c](inputs[c])
        for round_ in range(runs):
            for c in configs:
                start = now()
                models[c](inputs[c])
                times[c].append(now() - start)
            print(f"round {round_ + 1}/{runs}", file=sys.stderr)
    return times


def save(path: Path, times: dict[Config, list[float]]) -> None:
    """The measurements as CSV: `convcalc calibrate` reads the arch, width, input and seconds
    columns."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(FIELDS)
        for c, seconds in times.items():
            writer.writerow([c.arch, f"{c.width:g}", c.size, f"{statistics.median(seconds):.6g}",
                             f"{min(seconds):.6g}", f"{max(seconds):.6g}"])


def read(path: Path, statistic: str) -> dict[Config, float]:
    """Seconds per configuration from a CSV written by ``save``: the median ('seconds') or
    the fastest round ('min_seconds')."""
    by_key = {(c.arch, c.width, c.size): c for c in CONFIGS}
    column = "seconds" if statistic == "median" else "min_seconds"
    with path.open(newline="") as f:
        return {by_key[r["arch"], float(r["width"]), int(r["input"])]: float(r[column])
                for r in csv.DictReader(f)}


def report_of(c: Config) -> Report:
    """convcalc's analysis of a configuration."""
    arch = load(c.arch)
    if c.size != arch.input.h:
        arch = with_input(arch, Shape(c.size, c.size, arch.input.c))
    return analyze(with_width(arch, c.width) if c.width != 1 else arch)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed rounds (median)")
    parser.add_argument("--measured", type=Path, help="read measurements from this CSV "
                        "instead of measuring")
    parser.add_argument("--save", type=Path, help="write the measurements to this CSV")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall-clock seconds, or CPU seconds of the process (--threads 1)")
    parser.add_argument("--efficiency", default="depthwise,grouped",
                        help="classes with a rate of their own, as calibrate's --efficiency "
                        "(or 'all')")
    parser.add_argument("--statistic", choices=("median", "min"), default="median",
                        help="a network's latency: the median of its rounds, or the fastest "
                        "(less hurt by other processes on a busy machine)")
    args = parser.parse_args()
    if args.measured:
        seconds = read(args.measured, args.statistic)
        print(f"measurements from {args.measured}")
    else:
        try:
            import torch
            import torchvision  # noqa: F401
        except ImportError:
            print("this benchmark measures with torch and torchvision, which are not "
                  "importable here; give --measured FILE to fit saved measurements")
            return 1
        if args.clock == "cpu" and args.threads != 1:
            parser.error("--clock cpu measures one thread's latency: give --threads 1")
        before = os.getloadavg()[0]
        times = measure(CONFIGS, args.runs, args.threads, args.clock)
        print(f"torch {torch.__version__}, {args.threads} thread(s), {args.clock} clock, "
              f"{args.runs} rounds; load average {before:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after")
        if args.save:
            save(args.save, times)
        pick = statistics.median if args.statistic == "median" else min
        seconds = {c: pick(t) for c, t in times.items()}
    known = set(catalogue_names())
    missing = [c.label for c in seconds if c.arch not in known]
    if missing:
        print(f"measured but without a zoo file (not predicted): {', '.join(missing)}")
    reports = {c: report_of(c) for c in seconds if c.arch in known}
    ordered = sorted(reports, key=lambda c: reports[c].totals.macs)
    train, held = ordered[0::2], ordered[1::2]
    own = EFFICIENCY_CLASSES if args.efficiency == "all" else tuple(args.efficiency.split(","))
    profile = fit([Measurement(c.label, reports[c], seconds[c]) for c in train],
                  name="torch-cpu", efficiency=own)
    # MACs-proportional: seconds = k * macs, least squares on relative error:
    # minimise sum (k m/t - 1)^2  ->  k = sum(m/t) / sum((m/t)^2).
    ratios = [reports[c].totals.macs / seconds[c] for c in train]
    k = sum(ratios) / sum(r * r for r in ratios)
    print(f"a network's latency: the {args.statistic} of its rounds")
    print(f"calibrated on {len(train)}: {', '.join(c.label for c in train)}")
    print(profile_text(profile))
    print(f"\n{'held-out network':28} {'MACs':>8} {'measured ms':>12} {'roofline ms':>12} "
          f"{'error':>7} {'MACs-prop ms':>13} {'error':>7}")
    ours, theirs = [], []
    for c in held:
        predicted = network_seconds(reports[c], profile)
        proportional = k * reports[c].totals.macs
        ours.append(predicted / seconds[c] - 1)
        theirs.append(proportional / seconds[c] - 1)
        print(f"{c.label:28} {reports[c].totals.macs / 1e9:7.2f}G {seconds[c] * 1e3:12.2f} "
              f"{predicted * 1e3:12.2f} {ours[-1]:+7.0%} {proportional * 1e3:13.2f} "
              f"{theirs[-1]:+7.0%}")
    for label, errors in (("roofline", ours), ("MACs-proportional", theirs)):
        absolute = [abs(e) for e in errors]
        print(f"{label:18} held-out |error|: median {statistics.median(absolute):.0%}, "
              f"worst {max(absolute):.0%}")
    fitted = relative_errors([Measurement(c.label, reports[c], seconds[c]) for c in train],
                             profile)
    print("fit on the calibration half: median |error| "
          f"{statistics.median(abs(e) for e in fitted):.0%}")
    return 0


def profile_text(profile: Any) -> str:
    """The fitted figures on a few lines."""
    efficiency = ", ".join(f"{k} {v:.2f}" for k, v in profile.efficiency.items())
    return (f"fitted: {profile.macs_per_second / 1e9:.1f} GMAC/s, "
            f"{profile.bytes_per_second / 1e9:.1f} GB/s, "
            f"{profile.overhead_seconds * 1e6:.1f} us per layer; efficiency {efficiency}")


if __name__ == "__main__":
    sys.exit(main())
