"""How fast, and in how much memory, hostile files are refused (or, within the limits, read).

    python benchmarks/bench_hostile.py [--runs 3] [--baseline PATH]

Each file is given to `convcalc analyze --format json` in a fresh process; the table shows the
median wall time, the peak memory (VmHWM) and the exit status. With ``--baseline PATH`` (another
checkout of convcalc, e.g. a worktree of the previous release) the same files also run against
it, side by side.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1024 * 1024

PEAK = """
import sys
from convcalc.cli import main
try:
    main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")),
              file=sys.stderr)
"""


def files() -> dict[str, str]:
    """Name -> text of each file: beyond a limit, and just within the values limit."""
    bomb = ["a0: &a0 [relu, relu, relu, relu, relu, relu, relu, relu, relu, relu]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return {
        # 5 MiB of one-character flow scalars: 2.6 million values, 13 times the limit.
        "flow scalars (5 MiB)": "input: 8x8x3\nlayers: [" + ",".join(["1"] * (5 * MIB // 2 - 20))
                                + "]\n",
        "flow words (5 MiB)": "input: 8x8x3\nlayers: [" + ", ".join(
            ["relu"] * (5 * MIB // 6 - 10)) + "]\n",
        "alias bomb (10^9 values)": "\n".join(bomb) + "\ninput: 8x8x3\nlayers: *a8\n",
        "5,000-digit number": "input: 8x8x3\nlayers:\n  - conv: {filters: " + "9" * 5000
                              + ", kernel: 3}\n",
        "190,000 relu (within limits)": "input: 8x8x3\nlayers: [" + ", ".join(
            ["relu"] * 190_000) + "]\n",
    }


def run(root: Path, path: Path, runs: int) -> tuple[float, int, int]:
    """(median seconds, peak MiB, exit status) of `convcalc analyze path` from ``root``."""
    times, peaks, status = [], [], 0
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", PEAK, "analyze", str(path), "--format",
                               "json"], capture_output=True, text=True, check=False,
                              cwd=path.parent,  # not the checkout: -c puts the cwd first
                              env={**os.environ, "PYTHONPATH": str(root)})
        times.append(time.perf_counter() - start)
        # The peak is printed before a traceback (exit status 1), if there is one.
        peak = [int(line) for line in done.stderr.splitlines() if line.isdecimal()]
        if not peak:
            sys.exit(f"{path} under {root} printed no peak memory:\n{done.stderr[-2000:]}")
        peaks.append(peak[-1] // 1024)
        status = done.returncode
    return statistics.median(times), max(peaks), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another convcalc checkout to compare")
    args = parser.parse_args()
    roots = {"this": Path(__file__).resolve().parent.parent}
    if args.baseline:
        roots["baseline"] = args.baseline.resolve()
    header = f"{'file':32}" + "".join(f"{name + ' s':>12}{'MiB':>7}{'exit':>5}" for name in roots)
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files().items():
            path = Path(tmp) / "hostile.yaml"
            path.write_text(text)
            cells = [run(root, path, args.runs) for root in roots.values()]
            print(f"{name:32}" + "".join(f"{s:12.2f}{mib:7}{code:5}" for s, mib, code in cells))


if __name__ == "__main__":
    main()
