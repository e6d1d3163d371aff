"""Every convcalc benchmark in one run, each figure a median of several, with ratios that can be
compared across days: start-up, analysis growth, reference convolution speed, verify.

    python benchmarks/run.py [--runs N] [--quick]
    PYTHON_WITH_TORCH benchmarks/run.py   # adds the torch column

--quick: 3 runs per figure and only 100 / 1,000 generated layers, for a smoke test.
"""

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_analyze
import bench_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="3 runs, fewer sizes")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    np = bench_reference.np
    print(f"python {sys.version.split()[0]}, numpy {np.__version__} (OpenBLAS kernel "
          f"{bench_reference.openblas_core()}), median of {runs} runs")

    print(f"\n{'start-up (fresh process)':42} {'median s':>9} {'x python':>9}")
    rows = bench_analyze.startup(runs)
    floor = rows[0][1]
    for label, seconds in rows:
        print(f"{label:42} {seconds:9.3f} {seconds / floor:9.1f}")

    # Linear growth shows as a flat time per 1,000 layers beyond the smallest network.
    counts = (100, 1_000) if args.quick else (100, 1_000, 10_000)
    print(f"\n{'analyze generated layers':42} {'median s':>9} {'s / 1,000 extra layers':>23}")
    (base_count, base), *rest = bench_analyze.growth(runs, counts)
    print(f"{base_count:42,} {base:9.3f}")
    for count, seconds in rest:
        print(f"{count:42,} {seconds:9.3f} {(seconds - base) / (count - base_count) * 1000:23.3f}")

    if not args.quick:  # files at the limits: a table must not cost more than the analysis
        print(f"\n{'largest files (aim: < 10 s)':34} {'format':>6} {'median s':>9}")
        for label, format_, seconds in bench_analyze.largest(max(1, runs // 3)):
            print(f"{label:34} {format_:>6} {seconds:9.2f}")

    # verify before torch is imported, so its forked processes do not inherit torch's memory.
    verify = [bench_reference.verify_resnet50() for _ in range(runs)]
    wall = statistics.median(w for w, _ in verify)
    peak = statistics.median(p for _, p in verify)
    print(f"\nconvcalc verify resnet50 (224x224): {wall:.2f} s ({wall / floor:.0f}x python), "
          f"peak RSS {peak:.0f} MiB")
    if not args.quick:
        print()
        bench_reference.print_budget()

    gemm = bench_reference.gemm_gflops(runs, statistics.median)
    print(f"\nnumpy float32 GEMM 2048^3: {gemm:.0f} GFLOP/s (GFLOP/s = 2 x MACs / s)")
    bench_reference.print_convolutions(gemm, max(runs, 10), statistics.median)
    print()
    bench_reference.print_new_kinds(max(runs, 10), statistics.median)


if __name__ == "__main__":
    main()
