"""Measured ONNX Runtime CPU latency of torchvision built-ins and timm families beside
convcalc's prediction from a profile fitted on torchvision networks only.

    # 1. timm models as convcalc YAML (needs torch and timm; weights=None):
    PYTHONPATH=. python benchmarks/latency_vs_onnxruntime.py --export-timm
    # 2. measure every configuration with convcalc measure's code (needs onnx, onnxruntime):
    PYTHONPATH=. python benchmarks/latency_vs_onnxruntime.py --measure --passes 2 \\
        --save benchmarks/data/onnxruntime_cpu_1thread.csv
    # 3. fit and predict (numpy only):
    PYTHONPATH=. python benchmarks/latency_vs_onnxruntime.py \\
        --measured benchmarks/data/onnxruntime_cpu_1thread.csv
    # 4. the built-in profile, fitted to every torchvision configuration measured:
    PYTHONPATH=. python benchmarks/latency_vs_onnxruntime.py \\
        --measured benchmarks/data/onnxruntime_cpu_1thread.csv \\
        --profile devices/onnxruntime_cpu_1thread.yaml

Exporting: each timm model (``pretrained=False``, eval) is exported by ``torch.onnx.export``
(TorchScript exporter, opset 17, 224x224), read by convcalc's ONNX reader and written as YAML
to benchmarks/data/timm/, so the fit needs neither torch nor the exports.

Measuring: ``convcalc.reference.measure.measure`` on every configuration: convcalc's ONNX export
(seeded random weights) in ONNX Runtime with all graph optimisations, one intra-op thread,
batch 1, fp32; ``--warmup`` untimed runs, then the median of ``--repeat`` runs, in the
process's CPU seconds (which other processes on this shared machine inflate least) and wall
seconds. With ``--passes N`` every configuration is measured N times, passes apart, and the
lowest median is kept (a pass hit by a busy neighbour is the slower one); passes already in
the ``--save`` file count too, so measuring again adds passes.

Fitting: ``convcalc.calibrate.fit`` with ONNX Runtime's rules (``runtime='onnxruntime'``) on
the torchvision configurations in FIT; every timm family is held out and predicted from its
YAML, beside ``a x MACs + b`` fitted on the same networks (least squares on relative error).
"""

import argparse
import csv
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcalc import Report, analyze, load, with_input, with_width  # noqa: E402
from convcalc.graph.shapes import parse_shape  # noqa: E402

TIMM_DIR = Path(__file__).resolve().parent / "data" / "timm"
# torchvision configurations: (zoo name, width, input size).
TORCHVISION = [
    ("alexnet", 1, 224), ("vgg11", 1, 224), ("vgg16", 1, 224), ("squeezenet1_0", 1, 224),
    ("squeezenet1_1", 1, 224), ("resnet18", 1, 224), ("resnet18", 1, 160),
    ("resnet34", 1, 224), ("resnet50", 1, 224), ("resnet50", 1, 160), ("resnet101", 1, 224),
    ("wide_resnet50_2", 1, 224), ("resnext50_32x4d", 1, 224), ("densenet121", 1, 224),
    ("densenet169", 1, 224), ("googlenet_torchvision", 1, 224), ("inception_v3", 1, 299),
    ("mobilenet_v2", 1, 224), ("mobilenet_v2", 1, 160), ("mobilenet_v2", 0.5, 224),
    ("mobilenet_v2", 0.75, 224), ("mobilenet_v2", 1.4, 224), ("mobilenet_v3_large", 1, 224),
    ("mobilenet_v3_small", 1, 224), ("mnasnet0_5", 1, 224), ("mnasnet1_0", 1, 224),
    ("efficientnet_b0", 1, 224), ("efficientnet_b1", 1, 240), ("shufflenet_v2_x0_5", 1, 224),
    ("shufflenet_v2_x1_0", 1, 224), ("shufflenet_v2_x2_0", 1, 224), ("regnet_x_400mf", 1, 224),
    ("regnet_y_400mf", 1, 224), ("regnet_y_800mf", 1, 224), ("convnext_tiny", 1, 224),
]
# The fitting set: the twelve torchvision networks of issue 22's outside measurement.
FIT = {("alexnet", 1, 224), ("vgg16", 1, 224), ("squeezenet1_1", 1, 224),
       ("resnet18", 1, 224), ("resnet50", 1, 224), ("densenet121", 1, 224),
       ("mobilenet_v2", 1, 224), ("mobilenet_v3_large", 1, 224), ("efficientnet_b0", 1, 224),
       ("shufflenet_v2_x1_0", 1, 224), ("resnext50_32x4d", 1, 224), ("regnet_y_400mf", 1, 224)}
# Held-out timm models, grouped by family (none is a torchvision network).
TIMM = [
    "resnet10t", "resnet14t", "resnet26d", "resnet34d", "resnet50d", "seresnet50",
    "regnetx_002", "regnetx_004", "regnetx_006", "regnety_002", "regnety_004", "regnety_006",
    "mobilenetv3_large_100", "mobilenetv3_small_100", "mobilenetv2_050", "mobilenetv2_140",
    "efficientnet_lite0", "efficientnet_es", "mixnet_s", "mixnet_m", "ghostnet_100",
    "repghostnet_050", "repghostnet_100", "dla34", "dla46_c", "lcnet_050", "lcnet_100",
    "convnext_atto", "rexnet_100", "fbnetc_100", "mnasnet_100", "spnasnet_100",
    "hardcorenas_a", "tinynet_a", "ese_vovnet19b_dw", "cspresnet50", "gernet_s",
]
FIELDS = ("arch", "input", "width", "batch", "seconds", "cpu_seconds", "min_seconds",
          "runtime", "threads", "repeat")


def timm_path(name: str) -> Path:
    return TIMM_DIR / f"{name}.yaml"


def export_timm(names: list[str]) -> None:
    """Write each timm model as convcalc YAML under benchmarks/data/timm/."""
    import tempfile
    import warnings

    import timm
    import torch

    from convcalc.formats.onnx_reader import read_onnx
    from convcalc.formats.yaml_writer import write_yaml

    warnings.filterwarnings("ignore")
    TIMM_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            model = timm.create_model(name, pretrained=False).eval()
            onnx_file = Path(folder) / f"{name}.onnx"
            torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), str(onnx_file),
                              opset_version=17, dynamo=False, input_names=["input"])
            timm_path(name).write_text(write_yaml(read_onnx(onnx_file)))
            print(f"wrote {timm_path(name).relative_to(ROOT)}", file=sys.stderr)


def configurations() -> list[tuple[str, Any, float]]:
    """(arch column, architecture, width) of every configuration measured."""
    out = []
    for name, width, size in TORCHVISION:
        arch = load(name)
        if size != arch.input.h:
            arch = with_input(arch, parse_shape(str(size), channels=arch.input.c))
        out.append((name, with_width(arch, width) if width != 1 else arch, width))
    for name in TIMM:
        shown = str(timm_path(name).relative_to(ROOT))
        out.append((shown, load(timm_path(name)), 1.0))
    return out


def measure_all(passes: int, repeat: int, warmup: int, save: Path) -> None:
    """Measure every configuration ``passes`` times; keep each one's fastest pass (counting
    the passes already in ``save``, when it exists)."""
    from convcalc.reference.measure import Timing, measure, timings_csv

    configs = configurations()
    best: dict[int, Any] = {}
    if save.exists():  # earlier passes
        with save.open(newline="") as f:
            earlier = {(r["arch"], r["input"], float(r["width"])): r for r in csv.DictReader(f)}
        for i, (shown, arch, width) in enumerate(configs):
            r = earlier.get((shown, str(arch.input), width))
            if r is not None:
                best[i] = Timing(arch=shown, input=arch.input, width=width, batch=1,
                                 runtime=r["runtime"], threads=int(r["threads"]),
                                 repeat=int(r["repeat"]), seconds=float(r["seconds"]),
                                 cpu_seconds=float(r["cpu_seconds"]),
                                 min_seconds=float(r["min_seconds"]))
    for p in range(passes):
        for i, (shown, arch, width) in enumerate(configs):
            timing = measure(arch, shown, threads=1, repeat=repeat, warmup=warmup, width=width)
            if i not in best or timing.cpu_seconds < best[i].cpu_seconds:
                best[i] = timing
            print(f"pass {p + 1}/{passes} {i + 1}/{len(configs)} {shown}: "
                  f"{timing.cpu_seconds * 1e3:.2f} ms CPU, {timing.seconds * 1e3:.2f} ms wall"
                  f" (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    save.write_text(timings_csv([best[i] for i in range(len(configs))]))
    print(f"wrote {save}", file=sys.stderr)


def read(path: Path, clock: str) -> list[tuple[str, Report, float]]:
    """(label, report, seconds) of every row of a measured CSV."""
    column = "cpu_seconds" if clock == "cpu" else "seconds"
    rows = []
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            arch = load(ROOT / r["arch"] if r["arch"].endswith(".yaml") else r["arch"])
            shape = parse_shape(r["input"])
            if shape != arch.input:
                arch = with_input(arch, shape)
            width = float(r["width"])
            if width != 1:
                arch = with_width(arch, width)
            label = Path(r["arch"]).stem + (f" w{width:g}" if width != 1 else "") + (
                f" @{shape.h}" if shape.h != 224 else "")
            rows.append((label, analyze(arch), float(r[column])))
    return rows


def summary(errors: list[float]) -> str:
    absolute = [abs(e) for e in errors]
    within = sum(a <= 0.10 for a in absolute)
    return (f"median {statistics.median(absolute):5.1%}, worst {max(absolute):5.1%}, "
            f"within ±10% {within}/{len(absolute)} ({within / len(absolute):.0%})")


def evaluate(path: Path, clock: str) -> None:
    """Fit on FIT, predict the rest, print errors beside the MACs baseline."""
    from convcalc.analysis.calibrate import Measurement, fit, relative_errors
    from convcalc.analysis.report import network_seconds

    rows = read(path, clock)
    fit_labels = {name + (f" w{w:g}" if w != 1 else "") + (f" @{s}" if s != 224 else "")
                  for name, w, s in FIT}
    train = [Measurement(label, report, s) for label, report, s in rows if label in fit_labels]
    held = [Measurement(label, report, s) for label, report, s in rows
            if label not in fit_labels]
    profile = fit(train, name="onnxruntime_cpu_1thread", runtime="onnxruntime")
    # a x MACs + b, least squares on relative error: minimise sum ((a m + b) / t - 1)^2.
    import numpy as np

    design = np.array([[m.report.totals.macs / m.seconds, 1 / m.seconds] for m in train])
    (a, b), *_ = np.linalg.lstsq(design, np.ones(len(train)), rcond=None)
    print(f"measured: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
          f"({clock} seconds)")
    print(f"fitted on {len(train)} torchvision networks: {', '.join(m.name for m in train)}")
    print(profile_text(profile))
    fitted = relative_errors(train, profile)
    print(f"fit itself: {summary(list(fitted))}\n")
    print(f"{'held-out network':30} {'GMACs':>6} {'measured ms':>12} {'convcalc ms':>12} "
          f"{'error':>7} {'aMACs+b ms':>11} {'error':>7}")
    groups: dict[str, tuple[list[float], list[float]]] = {"timm": ([], []), "torchvision": ([], [])}
    for m in held:
        predicted = network_seconds(m.report, profile)
        line = a * m.report.totals.macs + b
        group = "timm" if m.name in TIMM else "torchvision"
        groups[group][0].append(predicted / m.seconds - 1)
        groups[group][1].append(line / m.seconds - 1)
        print(f"{m.name:30} {m.report.totals.macs / 1e9:6.2f} {m.seconds * 1e3:12.2f} "
              f"{predicted * 1e3:12.2f} {predicted / m.seconds - 1:+7.1%} {line * 1e3:11.2f} "
              f"{line / m.seconds - 1:+7.1%}")
    for group, (ours, baseline) in groups.items():
        if ours:
            print(f"\nheld-out {group} ({len(ours)}):\n  convcalc   {summary(ours)}\n"
                  f"  a*MACs+b   {summary(baseline)}")


def write_profile(path: Path, clock: str, out: Path) -> None:
    """The built-in profile: fitted with ONNX Runtime's rules to every torchvision row."""
    from convcalc.analysis.calibrate import Measurement, fit, relative_errors
    from convcalc.formats.profiles import device_yaml

    rows = [Measurement(label, report, s) for label, report, s in read(path, clock)
            if label not in TIMM]
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    source = (f"fitted by convcalc calibrate --runtime onnxruntime to the {len(rows)} "
              f"torchvision configurations of {shown} ({clock} seconds; "
              "benchmarks/latency_vs_onnxruntime.py --profile)")
    device = fit(rows, name="onnxruntime_cpu_1thread", runtime="onnxruntime", description=(
        "Calibrated, not peak: ONNX Runtime 1.32 on one CPU thread (fp32, all graph "
        "optimisations) on the 2-core AMD EPYC (AVX-512) machine convcalc's benchmarks ran on, "
        f"fitted to {len(rows)} torchvision configurations timed by convcalc measure"))
    device = replace(device, sources=dict.fromkeys(device.sources, source))
    out.write_text(device_yaml(device, comment=(
        f"Fitted by benchmarks/latency_vs_onnxruntime.py to {shown}: calibrated figures, "
        "not datasheet peaks.\nAn example of a calibrated profile; measure and calibrate your "
        "own (convcalc measure, convcalc calibrate --runtime onnxruntime).")))
    errors = [abs(e) for e in relative_errors(rows, device)]
    print(f"wrote {out}: {profile_text(device)}; |error| on its {len(rows)} networks: median "
          f"{statistics.median(errors):.1%}, worst {max(errors):.1%}")


def profile_text(profile: Any) -> str:
    """The fitted figures on a few lines."""
    efficiency = ", ".join(f"{k} {v:.2f}" for k, v in profile.efficiency.items()) or "none"
    return (f"fitted: {profile.macs_per_second / 1e9:.1f} GMAC/s, "
            f"{profile.bytes_per_second / 1e9:.1f} GB/s, "
            f"{profile.overhead_seconds * 1e6:.1f} us per layer, efficiency {efficiency}; "
            f"channel block {profile.channel_block}, slow path n/(n+{profile.slow_channels:.1f}), "
            f"{profile.combine} of compute and memory, fuses {', '.join(profile.fuses)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export-timm", action="store_true",
                        help="write the timm models as YAML (needs torch and timm)")
    parser.add_argument("--measure", action="store_true", help="measure every configuration")
    parser.add_argument("--passes", type=int, default=2, help="measurements of each (lowest)")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    parser.add_argument("--save", type=Path, help="where --measure writes its CSV")
    parser.add_argument("--measured", type=Path, help="fit and predict from this CSV")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="fit CPU seconds (default) or wall seconds")
    parser.add_argument("--profile", type=Path,
                        help="with --measured: write the profile fitted to every torchvision "
                        "configuration here instead of predicting")
    args = parser.parse_args()
    if args.export_timm:
        export_timm(TIMM)
    if args.measure:
        if args.save is None:
            parser.error("--measure needs --save FILE")
        measure_all(args.passes, args.repeat, args.warmup, args.save)
    if args.measured and args.profile:
        write_profile(args.measured, args.clock, args.profile)
    elif args.measured:
        evaluate(args.measured, args.clock)
    if not (args.export_timm or args.measure or args.measured):
        parser.error("give --export-timm, --measure or --measured FILE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
