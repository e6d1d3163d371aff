"""`convcalc analyze MODEL.onnx` against a bare Python and against onnx-tool, side by side, each in
a fresh process as a user runs it; from the repository root, in an environment with onnx and
onnx-tool installed (convcalc itself needs neither):

    python benchmarks/bench_onnx.py [--repeat N] [--all]

The models are the stored exports in tests/data/onnx (both PyTorch exporters), with their
stripped weights put back as zeros (onnx-tool computes with the values), so each file is as big
as the real model. Three commands per model, each timed as a whole process (best of N):
- ``python``: ``python -c "import click, yaml"``, the floor for any Python CLI of this kind;
- ``convcalc``: ``python -m convcalc analyze MODEL.onnx --format json``;
- ``onnx-tool``: ``onnx_tool.model_profile(MODEL.onnx)`` (shape inference and per-node MACs).
Peak memory is each process's maximum resident set (from wait4). The aims (issue 21):
convcalc within 3x the bare Python, and at least 5x faster than onnx-tool, on every model.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "onnx"
DEFAULT = ("resnet50.torchscript", "resnet50.dynamo", "mobilenet_v3_large.torchscript",
           "efficientnet_b0.dynamo", "convnext_tiny.torchscript", "densenet121.torchscript",
           "deeplabv3_resnet50.dynamo")
ONNX_TOOL = ("import contextlib, io, sys, onnx_tool\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    onnx_tool.model_profile(sys.argv[1])")
COMMANDS = {
    "python": lambda path: [sys.executable, "-c", "import click, yaml"],
    "convcalc": lambda path: [sys.executable, "-m", "convcalc", "analyze", str(path),
                              "--format", "json"],
    "onnx-tool": lambda path: [sys.executable, "-c", ONNX_TOOL, str(path)],
}


# Run in a child: Linux keeps a process's peak memory across exec, so this one stays small
# (it never imports onnx) and its children's peaks are their own.
FILL = """import sys, numpy as np, onnx
from onnx import helper, numpy_helper
model = onnx.load(sys.argv[1], load_external_data=False)
for i, t in enumerate(model.graph.initializer):
    if t.data_location == onnx.TensorProto.EXTERNAL or not (
            t.raw_data or t.float_data or t.int64_data or t.int32_data):
        dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
        model.graph.initializer[i].CopyFrom(
            numpy_helper.from_array(np.zeros(tuple(t.dims), dtype), t.name))
onnx.save(model, sys.argv[2])
"""
# Children may write bytecode caches, as an installed package has them.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def with_weights(source: Path, folder: Path) -> Path:
    """``source`` with every stripped initializer given zeros of its size, saved in ``folder``."""
    path = folder / source.name
    subprocess.run([sys.executable, "-c", FILL, str(source), str(path)], check=True)
    return path


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak MiB) of one process; a failing one stops the script with its error."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             cwd=ROOT, env=ENV)
    assert child.stderr is not None
    error = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        sys.exit(f"{command[2:]} failed: {error.decode().strip().splitlines()[-1:]}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--all", action="store_true", help="every stored export")
    args = parser.parse_args()
    names = sorted(p.stem for p in FIXTURES.glob("*.onnx")) if args.all else DEFAULT
    print(f"{'model':<34} {'MB':>4} {'python s':>8} {'convcalc s':>10} {'onnx-tool s':>11}  "
          f"{'MiB convcalc':>12} {'onnx-tool':>9}  convcalc / python, onnx-tool / convcalc")
    worst = [0.0, float("inf")]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = with_weights(FIXTURES / f"{name}.onnx", Path(tmp))
            for command in COMMANDS.values():
                run(command(path))  # warm: bytecode caches written, file in the page cache
            # Interleaved, so a change in the machine's load hits the three alike.
            runs = [{tool: run(command(path)) for tool, command in COMMANDS.items()}
                    for _ in range(args.repeat)]
            best = {tool: (min(r[tool][0] for r in runs), min(r[tool][1] for r in runs))
                    for tool in COMMANDS}
            over_python = best["convcalc"][0] / best["python"][0]
            faster = best["onnx-tool"][0] / best["convcalc"][0]
            worst = [max(worst[0], over_python), min(worst[1], faster)]
            print(f"{name:<34} {path.stat().st_size / 1e6:4.0f} {best['python'][0]:8.3f} "
                  f"{best['convcalc'][0]:10.3f} {best['onnx-tool'][0]:11.3f}  "
                  f"{best['convcalc'][1]:12.0f} {best['onnx-tool'][1]:9.0f}  "
                  f"{over_python:5.2f}x {faster:6.1f}x")
    print(f"worst: convcalc {worst[0]:.2f}x the bare python (aim: at most 3x), "
          f"{worst[1]:.1f}x faster than onnx-tool (aim: at least 5x)")


if __name__ == "__main__":
    main()
