"""Start-up and analysis speed of `convcalc analyze`, as medians of fresh processes.

    python benchmarks/bench_analyze.py [--runs 15]

Prints the bare-Python floor beside `convcalc analyze resnet50` (JSON and table), then the
analysis time of generated architectures of 100, 1,000 and 10,000 layers, to show linear growth.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_seconds(command: list[str], runs: int) -> float:
    """Median wall time of a fresh process running ``command`` (output discarded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def generated(layers: int) -> str:
    """A plain stack of `layers` layers: conv, batchnorm, relu, repeated, plus a residual."""
    lines = ["name: generated", "input: 32x32x16", "layers:"]
    kinds = ["- conv: {filters: 16, kernel: 3, padding: 1, bias: false}", "- batchnorm", "- relu"]
    lines += [f"  {kinds[i % 3]}" for i in range(layers)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    py = sys.executable
    convcalc = [py, "-m", "convcalc", "analyze"]
    floor = median_seconds([py, "-c", "pass"], runs)
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ("import click, rich, yaml", [py, "-c", "import click, rich, yaml"]),
        ("import click, rich, yaml, numpy", [py, "-c", "import click, rich, yaml, numpy"]),
        ("convcalc analyze resnet50 --format json", [*convcalc, "resnet50", "--format", "json"]),
        ("convcalc analyze resnet50 (table)", [*convcalc, "resnet50"]),
    ]
    print(f"{'command':45} {'median s':>9} {'x python':>9}")
    for label, command in rows:
        seconds = median_seconds(command, runs)
        print(f"{label:45} {seconds:9.3f} {seconds / floor:9.1f}")

    # Growth: the time each run adds over the 100-layer one, per 1,000 extra layers, should
    # stay flat if the analysis is linear in the number of layers.
    print(f"\n{'generated layers':>16} {'median s (JSON)':>16} {'s per 1,000 extra layers':>25}")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for count in (100, 1_000, 10_000):
            path = Path(tmp) / f"gen{count}.yaml"
            path.write_text(generated(count))
            seconds = median_seconds([*convcalc, str(path), "--format", "json"], max(3, runs // 3))
            growth = "" if base is None else f"{(seconds - base) / (count - 100) * 1000:25.3f}"
            base = seconds if base is None else base
            print(f"{count:16,} {seconds:16.3f} {growth}")


if __name__ == "__main__":
    main()
