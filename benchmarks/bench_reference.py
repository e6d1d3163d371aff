"""Throughput of the numpy reference against numpy's own GEMM and PyTorch (when importable),
and ``convcalc verify resnet50`` end to end. Prints ratios; times nothing in the test suite.

    python benchmarks/bench_reference.py    # reference, GEMM and verify's budget
    PYTHON_WITH_TORCH benchmarks/bench_reference.py   # also torch
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from convcalc.reference import conv2d
from convcalc.reference.kernels import conv_transpose2d, upsample

# (name, h, c_in, filters, kernel, stride, padding, groups)
SHAPES = [
    ("56x56x64->64 3x3", 56, 64, 64, 3, 1, 1, 1),
    ("28x28x192->32 5x5 same", 28, 192, 32, 5, 1, 2, 1),
    ("224x224x3->64 7x7/2", 224, 3, 64, 7, 2, 3, 1),
    ("112x112x32 depthwise 3x3", 112, 32, 32, 3, 1, 1, 32),
    ("112x112x96 depthwise 3x3/2", 112, 96, 96, 3, 2, 1, 96),  # mobilenet_v2's first stride 2
]


Statistic = Callable[[list[float]], float]


def best(run: Callable[[], object], repeat: int = 20, statistic: Statistic = min) -> float:
    """``statistic`` (min by default) of ``repeat`` timed calls after one warm-up call."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistic(times)


def gemm_gflops(repeat: int = 5, statistic: Statistic = min) -> float:
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    return 2 * 2048**3 / best(lambda: a @ a, repeat, statistic) / 1e9


def openblas_core() -> str:
    """The kernel numpy's bundled OpenBLAS runs (OPENBLAS_CORETYPE can force an older one)."""
    import ctypes
    import glob
    import os

    for lib in glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs",
                                      "*openblas*")):
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                     "openblas_get_corename64_", "openblas_get_corename"):
            get = getattr(ctypes.CDLL(lib), name, None)
            if get is not None:
                get.restype = ctypes.c_char_p
                return str(get().decode())
    return "unknown"


def measured(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process running ``command``."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                             cwd=Path(__file__).resolve().parent.parent)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, command)
    return time.perf_counter() - start, usage.ru_maxrss / 1024  # KiB on Linux


def verify_resnet50() -> tuple[float, float]:
    """Wall time and peak RSS of a fresh ``convcalc verify resnet50`` process (run before torch
    is imported, so the forked child does not inherit torch's memory)."""
    return measured([sys.executable, "-m", "convcalc", "verify", "resnet50"])


def reference_gflops(repeat: int = 20, statistic: Statistic = min
                     ) -> list[tuple[str, float, Callable[..., float]]]:
    """Per shape: name, the reference's GFLOP/s, and a function timing torch on the same data."""
    rng = np.random.default_rng(0)
    results = []
    for name, h, c, f, k, s, p, g in SHAPES:
        x = rng.standard_normal((h, h, c), dtype=np.float32)
        w = rng.standard_normal((k, k, c // g, f), dtype=np.float32)
        options = {"stride": (s, s), "padding": (p, p, p, p), "groups": g}
        _, macs = conv2d(x, w, None, **options)
        ours = 2 * macs / best(partial(conv2d, x, w, None, **options), repeat, statistic) / 1e9

        def torch_gflops(torch: Any, *, x: Any = x, w: Any = w, s: int = s, p: int = p, g: int = g,
                         macs: int = macs) -> float:
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
            wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
            with torch.no_grad():
                run = partial(torch.nn.functional.conv2d, xt, wt, stride=s, padding=p, groups=g)
                return 2 * macs / best(run, repeat, statistic) / 1e9

        results.append((name, ours, torch_gflops))
    return results


def print_convolutions(gemm: float, repeat: int = 20, statistic: Statistic = min) -> None:
    """The reference's GFLOP/s per shape beside numpy's GEMM and, when importable, torch's.
    All numpy runs come first, then all torch runs: interleaving them makes the two thread
    pools contend and slows both."""
    results = reference_gflops(repeat, statistic)
    try:
        import torch
    except ImportError:
        torch = None
    print(f"{'reference convolution':28} {'GFLOP/s':>8} {'vs GEMM':>8}"
          + (f" {'torch':>8} {'vs torch':>9}" if torch else "   (torch not importable)"))
    for name, ours, torch_gflops in results:
        line = f"{name:28} {ours:8.1f} {ours / gemm:8.2f}"
        if torch is not None:
            theirs = torch_gflops(torch)
            line += f" {theirs:8.1f} {ours / theirs:9.2f}"
        print(line)


# (name, h, c_in, filters, kernel, stride, padding, output_padding)
TRANSPOSED = [
    ("28x28x512->256 2x2/2 (U-Net up)", 28, 512, 256, 2, 2, 0, 0),
    ("14x14x256->128 4x4/2 p1 (FCN)", 14, 256, 128, 4, 2, 1, 0),
    ("56x56x64->64 3x3/2 p1 op1", 56, 64, 64, 3, 2, 1, 1),
]
# (name, h, c, output size, mode)
RESAMPLED = [
    ("bilinear 28x28x256 -> 56x56", 28, 256, 56, "bilinear"),
    ("bilinear 33x33x256 -> 257x257 (DeepLab)", 33, 256, 257, "bilinear"),
    ("nearest 28x28x256 -> 56x56 (FPN)", 28, 256, 56, "nearest"),
]


def new_kinds(repeat: int = 20, statistic: Statistic = min
              ) -> list[tuple[str, float, Callable[[Any], float]]]:
    """Per shape of the graph language's kernels: name, the reference's seconds, and a function
    timing torch's on the same data."""
    rng = np.random.default_rng(0)
    results = []
    for name, h, c, f, k, s, p, op in TRANSPOSED:
        x = rng.standard_normal((h, h, c), dtype=np.float32)
        w = rng.standard_normal((k, k, c, f), dtype=np.float32)
        options = {"stride": (s, s), "padding": (p, p), "output_padding": (op, op)}
        ours = best(partial(conv_transpose2d, x, w, None, **options), repeat, statistic)

        def torch_transposed(torch: Any, *, x: Any = x, w: Any = w, s: int = s, p: int = p,
                             op: int = op) -> float:
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
            wt = torch.from_numpy(np.ascontiguousarray(w.transpose(2, 3, 0, 1)))
            with torch.no_grad():
                return best(partial(torch.nn.functional.conv_transpose2d, xt, wt, stride=s,
                                    padding=p, output_padding=op), repeat, statistic)

        results.append((name, ours, torch_transposed))
    for name, h, c, size, mode in RESAMPLED:
        x = rng.standard_normal((h, h, c), dtype=np.float32)
        ours = best(partial(upsample, x, (size, size), mode), repeat, statistic)

        def torch_resampled(torch: Any, *, x: Any = x, size: int = size, mode: str = mode
                            ) -> float:
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
            extra = {"align_corners": False} if mode == "bilinear" else {}
            with torch.no_grad():
                return best(partial(torch.nn.functional.interpolate, xt, size=(size, size),
                                    mode=mode, **extra), repeat, statistic)

        results.append((name, ours, torch_resampled))
    return results


def print_new_kinds(repeat: int = 20, statistic: Statistic = min) -> None:
    """The transposed-convolution and upsampling kernels' milliseconds beside torch's (when
    importable); numpy runs first, as in ``print_convolutions``."""
    results = new_kinds(repeat, statistic)
    try:
        import torch
    except ImportError:
        torch = None
    print(f"{'reference kernel':40} {'ms':>8}" + (f" {'torch ms':>9} {'x torch':>8}" if torch
                                                  else "   (torch not importable)"))
    for name, ours, torch_seconds in results:
        line = f"{name:40} {ours * 1e3:8.2f}"
        if torch is not None:
            theirs = torch_seconds(torch)
            line += f" {theirs * 1e3:9.2f} {ours / theirs:8.1f}"
        print(line)


def budget_rows(names: tuple[str, ...] = ("resnet18", "resnet50", "mobilenet_v2", "vgg16")
                ) -> list[tuple[str, float, float, float, float]]:
    """Per zoo network at 224: GMACs, verify's estimated peak (MiB), the measured peak RSS of a
    fresh ``convcalc verify`` (MiB) and its wall seconds."""
    import convcalc
    from convcalc.reference import budget

    rows = []
    for name in names:
        report = convcalc.analyze(convcalc.load(name), include_side=True)
        estimated = budget.estimate(report, 4).peak_bytes / 2**20
        wall, peak = measured([sys.executable, "-m", "convcalc", "verify", name])
        rows.append((name, report.totals.macs / 1e9, estimated, peak, wall))
    return rows


def print_budget() -> None:
    """verify's memory estimate against the measured peak, and its seconds per GMAC (what
    MAX_VERIFY_MACS is sized by)."""
    print(f"{'verify at 224':14} {'GMACs':>6} {'estimate MiB':>13} {'peak RSS MiB':>13} "
          f"{'wall s':>7} {'s / GMAC':>9}")
    for name, gmacs, estimated, peak, wall in budget_rows():
        print(f"{name:14} {gmacs:6.2f} {estimated:13.0f} {peak:13.0f} {wall:7.2f} "
              f"{wall / gmacs:9.3f}")


def main() -> None:
    wall, peak = verify_resnet50()
    print(f"convcalc verify resnet50 (224x224): {wall:.2f} s end to end, peak RSS {peak:.0f} MiB")
    print_budget()
    gemm = gemm_gflops()
    print(f"numpy {np.__version__} float32 GEMM 2048^3: {gemm:.0f} GFLOP/s "
          "(GFLOP/s = 2 x MACs / s)")
    print_convolutions(gemm)
    print_new_kinds()


if __name__ == "__main__":
    main()
