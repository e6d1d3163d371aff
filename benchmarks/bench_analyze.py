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


def startup(runs: int) -> list[tuple[str, float]]:
    """(label, median seconds) of the bare-Python floor, its imports and `analyze resnet50`."""
    py = sys.executable
    convcalc = [py, "-m", "convcalc", "analyze"]
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ("import click, rich, yaml", [py, "-c", "import click, rich, yaml"]),
        ("import click, rich, yaml, numpy", [py, "-c", "import click, rich, yaml, numpy"]),
        ("convcalc analyze resnet50 --format json", [*convcalc, "resnet50", "--format", "json"]),
        ("convcalc analyze resnet50 --format table", [*convcalc, "resnet50", "--format", "table"]),
    ]
    return [(label, median_seconds(command, runs)) for label, command in rows]


def growth(runs: int, counts: tuple[int, ...] = (100, 1_000, 10_000)) -> list[tuple[int, float]]:
    """(layers, median seconds) of `analyze --format json` on generated architectures."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            path = Path(tmp) / f"gen{count}.yaml"
            path.write_text(generated(count))
            command = [sys.executable, "-m", "convcalc", "analyze", str(path), "--format", "json"]
            results.append((count, median_seconds(command, runs)))
    return results


def largest_files() -> dict[str, str]:
    """Files at the loader's limits: 200,000 layers (a block of 20 repeated 10,000 times) and
    one concat of 99,000 branches."""
    deep = ["name: deep", "input: 8x8x4", "blocks:", "  b:", "    layers:"]
    deep += ["      - conv: {filters: 4, kernel: 3, padding: 1}", "      - relu"] * 10
    deep += ["layers:", "  - repeat: 10000", "    b: {}"]
    wide = ["name: wide", "input: 4x4x1", "layers:", "  - concat:", "      name: cat",
            "      branches:", *["        - [relu]"] * 99_000]
    return {"200,000 layers": "\n".join(deep) + "\n",
            "99,000-branch concat": "\n".join(wide) + "\n"}


def largest(runs: int) -> list[tuple[str, str, float]]:
    """(file, format, median seconds) of `analyze` on ``largest_files``, JSON and the table as
    a pipe gets it (every column)."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, text in largest_files().items():
            path = Path(tmp) / "big.yaml"
            path.write_text(text)
            for format_ in ("json", "table"):
                command = [sys.executable, "-m", "convcalc", "analyze", str(path), "--format",
                           format_]
                results.append((label, format_, median_seconds(command, runs)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    rows = startup(runs)
    floor = rows[0][1]
    print(f"{'command':45} {'median s':>9} {'x python':>9}")
    for label, seconds in rows:
        print(f"{label:45} {seconds:9.3f} {seconds / floor:9.1f}")

    # Growth: the time each run adds over the 100-layer one, per 1,000 extra layers, should
    # stay flat if the analysis is linear in the number of layers.
    print(f"\n{'generated layers':>16} {'median s (JSON)':>16} {'s per 1,000 extra layers':>25}")
    (base_count, base), *rest = growth(max(3, runs // 3))
    print(f"{base_count:16,} {base:16.3f}")
    for count, seconds in rest:
        print(f"{count:16,} {seconds:16.3f} {(seconds - base) / (count - base_count) * 1000:25.3f}")

    print(f"\n{'largest files (aim: < 10 s)':34} {'format':>6} {'median s':>9}")
    for label, format_, seconds in largest(max(1, runs // 5)):
        print(f"{label:34} {format_:>6} {seconds:9.2f}")


if __name__ == "__main__":
    main()
