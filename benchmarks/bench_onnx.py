"""convcalc on ONNX files against onnx-tool's profile, side by side; run from the repository root
in an environment with torch, torchvision, onnx and onnx-tool:

    python benchmarks/bench_onnx.py [--repeat N]

It exports resnet50, mobilenet_v3_large and efficientnet_b0 from torchvision WITH their weights
(untrained, TorchScript exporter, opset 17) into a temporary folder, then runs each tool in a
fresh process per run, so every time includes Python's start-up and imports, as a user sees
it:
- ``import onnx``: a bare ``python -c "import onnx"``, the floor for anything that reads ONNX;
- ``convcalc``: ``convcalc analyze MODEL.onnx --format json``;
- ``onnx-tool``: ``onnx_tool.model_profile(MODEL.onnx)`` (shape inference and per-node MACs).
Times are the best of N runs: the whole process, and the work after the imports; memory is the
process's peak resident set (ru_maxrss). The aims
(issue 12): convcalc at least 3x faster than onnx-tool and under a third of its memory, and
within about 2x of ``import onnx``.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = ("resnet50", "mobilenet_v3_large", "efficientnet_b0")
# tool -> (imports, the work timed inside the process)
TOOLS = {
    "import onnx": ("import onnx", "pass"),
    "convcalc": ("import onnx\nimport convcalc.formats.onnx_ops\nfrom convcalc.cli import main",
                 "main(['analyze', {path!r}, '--format', 'json'], standalone_mode=False)"),
    "onnx-tool": ("import contextlib, io, onnx_tool",
                  "with contextlib.redirect_stdout(io.StringIO()):\n"
                  "    onnx_tool.model_profile({path!r})"),
}
CHILD = """import time
{setup}
start = time.perf_counter()
{work}
work = time.perf_counter() - start
import resource, sys
print(work, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""
EXPORT = """import sys, torch, torchvision
model = getattr(torchvision.models, sys.argv[1])(weights=None).eval()
with torch.no_grad():
    torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), sys.argv[2], dynamo=False,
                      opset_version=17)
"""


def export(name: str, folder: Path) -> Path:
    """torchvision's model, untrained, exported with its weights (100 MB for resnet50), in a
    child process: this one stays small, so its children's peak memory is their own."""
    path = folder / f"{name}.onnx"
    subprocess.run([sys.executable, "-c", EXPORT, name, str(path)], check=True,
                   capture_output=True)
    return path


def run(tool: str, path: Path) -> tuple[float, float, float]:
    """(process seconds, seconds of the work after the imports, peak MiB) of one fresh Python
    process running ``tool`` on ``path``; a tool that fails stops the script with its error."""
    setup, work = TOOLS[tool]
    code = CHILD.format(setup=setup, work=work.format(path=str(path)))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{tool} failed on {path.name}: {done.stderr.strip().splitlines()[-1]}")
    inner, peak = done.stderr.split()[-2:]
    return seconds, float(inner), int(peak) / 1024


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    print(f"{'model':<19} {'MB':>4}  {'tool':<11} {'process s':>9} {'work s':>7} "
          f"{'peak MiB':>8}   convcalc vs onnx-tool: work, memory; process vs import onnx")
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            path = export(name, Path(tmp))
            size = path.stat().st_size / 1e6
            best = {}
            for tool in TOOLS:
                runs = [run(tool, path) for _ in range(repeat)]
                best[tool] = (min(r[0] for r in runs), min(r[1] for r in runs),
                              min(r[2] for r in runs))
            for tool, (seconds, work, peak) in best.items():
                note = ""
                if tool == "convcalc":
                    other = best["onnx-tool"]
                    note = (f"{other[1] / work:5.1f}x faster, {peak / other[2]:4.2f}x memory; "
                            f"{seconds / best['import onnx'][0]:4.2f}x import onnx")
                print(f"{name:<19} {size:4.0f}  {tool:<11} {seconds:9.3f} {work:7.3f} "
                      f"{peak:8.0f}   {note}")


if __name__ == "__main__":
    main()
