"""Start-up and analysis speed of `convcalc analyze`, as medians of fresh processes.

    python benchmarks/bench_analyze.py [--runs 15] [--startup] [--against DIR]

Prints the bare-Python floor beside `convcalc analyze resnet50` (JSON and table), then the
analysis time of generated architectures of 100, 1,000 and 10,000 layers, to show linear growth.

--startup prints only the start-up figures, and adds instruction counts where valgrind is
installed: wall time on a shared machine varies by tens of percent from run to run, the count
of instructions executed by less than 1%. They are counted twice: without a bytecode cache
(PYTHONDONTWRITEBYTECODE=1 and no __pycache__ in the source tree, as in a checkout run with
PYTHONPATH=., where every convcalc module is compiled on each run), and with a warm one (a
throw-away PYTHONPYCACHEPREFIX, as a pip-installed convcalc runs). --against DIR adds a column
for another checkout, for example an older commit
(`git worktree add /tmp/old COMMIT && python benchmarks/bench_analyze.py --startup --against
/tmp/old`).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def median_seconds(command: list[str], runs: int, cwd: str | Path | None = None,
                   env: Mapping[str, str] | None = None) -> float:
    """Median wall time of a fresh process running ``command`` (output discarded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, cwd=cwd, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def instructions(command: list[str], cwd: str | Path | None = None,
                 env: Mapping[str, str] | None = None) -> int:
    """Instructions a fresh process running ``command`` executes, counted by valgrind's
    cachegrind (without its cache simulation)."""
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                           "--cachegrind-out-file=/dev/null", *command],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=True, cwd=cwd, env=env)
    line = next(line for line in done.stderr.splitlines() if "I   refs:" in line)
    return int(line.split("refs:")[1].replace(",", ""))


def generated(layers: int) -> str:
    """A plain stack of `layers` layers: conv, batchnorm, relu, repeated, plus a residual."""
    lines = ["name: generated", "input: 32x32x16", "layers:"]
    kinds = ["- conv: {filters: 16, kernel: 3, padding: 1, bias: false}", "- batchnorm", "- relu"]
    lines += [f"  {kinds[i % 3]}" for i in range(layers)]
    return "\n".join(lines) + "\n"


def startup_commands() -> list[tuple[str, list[str]]]:
    """(label, command) of the bare-Python floor, its imports and `analyze resnet50`."""
    py = sys.executable
    convcalc = [py, "-m", "convcalc", "analyze"]
    return [
        ("python -c pass", [py, "-c", "pass"]),
        ("import click, yaml", [py, "-c", "import click, yaml"]),
        ("import click, rich, yaml", [py, "-c", "import click, rich, yaml"]),
        ("import click, rich, yaml, numpy", [py, "-c", "import click, rich, yaml, numpy"]),
        ("import convcalc.cli", [py, "-c", "import convcalc.cli"]),
        ("convcalc analyze resnet50 --format json", [*convcalc, "resnet50", "--format", "json"]),
        ("convcalc analyze resnet50 --format table", [*convcalc, "resnet50", "--format", "table"]),
        ("convcalc analyze vit_b_16 --format json", [*convcalc, "vit_b_16", "--format", "json"]),
    ]


def startup(runs: int) -> list[tuple[str, float]]:
    """(label, median seconds) of ``startup_commands``."""
    return [(label, median_seconds(command, runs)) for label, command in startup_commands()]


def environments(tree: Path, cache: Path) -> dict[str, dict[str, str]]:
    """The environments start-up is measured in, for the checkout ``tree``: without a bytecode
    cache, and with a warm one in ``cache``."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    base["PYTHONPATH"] = str(tree)
    return {"no .pyc": base | {"PYTHONDONTWRITEBYTECODE": "1"},
            ".pyc": base | {"PYTHONPYCACHEPREFIX": str(cache)}}


def _figure(measure: Callable[[], float], scale: float) -> str:
    """``measure()`` times ``scale``, or "-" where the command fails (an older checkout
    without that architecture)."""
    try:
        return f"{measure() * scale:.{3 if scale == 1 else 1}f}"
    except subprocess.CalledProcessError:
        return "-"


def print_startup(runs: int, trees: list[Path]) -> None:
    """Start-up of each checkout in ``trees``, side by side: median wall time, and (where
    valgrind is installed) millions of instructions, without and with a bytecode cache."""
    counted = shutil.which("valgrind") is not None
    for tree in trees:
        if any((tree / "convcalc").rglob("__pycache__")):
            print(f"note: {tree}/convcalc holds __pycache__ folders: 'no .pyc' reads them")
    with tempfile.TemporaryDirectory() as tmp:
        envs = [environments(tree, Path(tmp) / str(i)) for i, tree in enumerate(trees)]
        for env in envs:  # warm the bytecode caches
            for _, command in startup_commands():
                subprocess.run(command, check=False, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env[".pyc"], cwd=tmp)
        names = [str(tree) if tree != ROOT else "this tree" for tree in trees]
        print("  ".join(f"[{i}] {name}" for i, name in enumerate(names)))
        kinds = ["no .pyc", ".pyc"]
        heads = [f"s {kind} [{i}]" for kind in kinds for i in range(len(trees))]
        if counted:
            heads += [f"M instr {kind} [{i}]" for kind in kinds for i in range(len(trees))]
        print(f"{'command':42}" + "".join(f"{h:>{max(len(h) + 2, 9)}}" for h in heads))
        for label, command in startup_commands():
            figures = [_figure(partial(median_seconds, command, runs, tmp, env[kind]), 1)
                       for kind in kinds for env in envs]
            if counted:
                figures += [_figure(partial(instructions, command, tmp, env[kind]), 1e-6)
                            for kind in kinds for env in envs]
            print(f"{label:42}" + "".join(f"{f:>{max(len(h) + 2, 9)}}"
                                          for f, h in zip(figures, heads, strict=True)))


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
    """Files at the loader's limits: 50,000 layers (a block of 20 repeated 2,500 times) and
    one concat of 49,000 branches."""
    deep = ["name: deep", "input: 8x8x4", "blocks:", "  b:", "    layers:"]
    deep += ["      - conv: {filters: 4, kernel: 3, padding: 1}", "      - relu"] * 10
    deep += ["layers:", "  - repeat: 2500", "    b: {}"]
    wide = ["name: wide", "input: 4x4x1", "layers:", "  - concat:", "      name: cat",
            "      branches:", *["        - [relu]"] * 49_000]
    return {"50,000 layers": "\n".join(deep) + "\n",
            "49,000-branch concat": "\n".join(wide) + "\n"}


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
    parser.add_argument("--startup", action="store_true",
                        help="only start-up, with instruction counts where valgrind is installed")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="with --startup: also measure the checkout in DIR")
    args = parser.parse_args()
    runs = args.runs
    if args.startup:
        print_startup(runs, [ROOT, *([args.against.resolve()] if args.against else [])])
        return
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
