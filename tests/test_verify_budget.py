"""verify's memory and work budget (convcalc/reference/budget.py): hostile networks are refused
before anything is allocated or run, with the estimate, the layer and a hint; the estimate
follows the runner's liveness; and it bounds what a real run uses."""

import dataclasses
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import convcalc
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import parse
from convcalc.limits import (
    MAX_VERIFY_BYTES,
    MAX_VERIFY_ELEMENTWISE,
    MAX_VERIFY_MACS,
    VERIFY_CHUNK_BYTES,
)
from convcalc.reference import ACTIVATIONS, RUNNERS, budget, verify
from convcalc.reference.kernels import im2col_position_bytes, position_blocks


def _nested_skips(levels: int, size: str) -> str:
    """``levels`` residuals, each inside the previous one's main path (through a chain of
    blocks, since inline nesting would pass the YAML nesting limit): every level's input stays
    alive until its add, after the innermost layer has run."""
    blocks = [f"  n{levels}: {{layers: [relu]}}"]
    inner = "{{residual: {{shortcut: identity, layers: [n{}]}}}}"
    blocks += [f"  n{k}: {{layers: [relu, {inner.format(k + 1)}]}}"
               for k in range(levels - 1, 0, -1)]
    return (f"input: {size}\nblocks:\n" + "\n".join(blocks)
            + "\nlayers:\n  - residual: {shortcut: identity, layers: [n1]}\n")


# name -> (YAML, what the refusal must say). The figures are hand arithmetic:
HOSTILE = {
    # weights: 64 * 64 * 256 inputs x 100,000 units x 4 bytes = 390.6 GiB (plus the bias).
    "weights.yaml": ("input: 64x64x256\nlayers:\n  - flatten\n"
                     "  - dense: {name: fc, units: 100000}\n",
                     r"^weights\.yaml:4: layer 'fc' \(dense\): verify would need 390\.6 GiB at "
                     r"this layer \(4 MiB of tensors alive, 390\.6 GiB of weights\); it is capped "
                     r"at 2\.0 GiB: give the layer fewer filters or units, or use a smaller "
                     r"--input$"),
    # live tensors: at the innermost add, the input, the 24 relu outputs (23 wait for their adds,
    # the last is the add's operand) and the add's output, 1024 * 1024 * 64 * 4 bytes = 256 MiB
    # each, are alive: 26 * 0.25 GiB = 6.5 GiB, though no layer alone needs 1 GiB.
    "skips.yaml": (_nested_skips(24, "1024x1024x64"),
                   r"^skips\.yaml:\d+: layer '[.\d]+add' \(add\): verify would need 6\.5 GiB at "
                   r"this layer \(6\.5 GiB of tensors alive\); it is capped at 2\.0 GiB: use a "
                   r"smaller --input, e\.g\. --input 64$"),
    # multiplies: 256 * 256 positions x 256 filters x 51 * 51 taps x 256 channels = 11,171.2 G.
    "macs.yaml": ("input: 256x256x256\nlayers:\n"
                  "  - conv: {name: big, filters: 256, kernel: 51, padding: same}\n",
                  r"^macs\.yaml:3: layer 'big' \(conv\): verify would run 11,171\.2 GMACs, "
                  r"11,171\.2 GMACs in this layer alone; it is capped at 20\.0 GMACs \(a few "
                  r"seconds\): use a smaller --input, e\.g\. --input 64$"),
    # element-wise: 512 * 512 * 16 outputs x 255 * 255 window cells = 272.7 G.
    "pool.yaml": ("input: 512x512x16\nlayers:\n"
                  "  - maxpool: {name: wide, kernel: 255, stride: 1, padding: 127}\n",
                  r"^pool\.yaml:3: layer 'wide' \(maxpool\): verify would run 272\.7 G "
                  r"element-wise operations \(activations, pooling windows, depthwise taps\), "
                  r"272\.7 G in this layer alone; it is capped at 1\.0 G: use a smaller "
                  r"--input, e\.g\. --input 64$"),
    # depthwise: 1024 * 512 * 256 outputs x (9 taps + 1 bias addition) = 1.3 G element-wise
    # operations, though its 1.2 GMACs are far under the limit of matrix products.
    "depthwise.yaml": ("input: 1024x512x256\nlayers:\n"
                       "  - depthwise: {name: dw, kernel: 3, padding: 1}\n",
                       r"^depthwise\.yaml:3: layer 'dw' \(depthwise\): verify would run 1\.3 G "
                       r"element-wise operations \(activations, pooling windows, depthwise "
                       r"taps\), 1\.3 G in this layer alone; it is capped at 1\.0 G: use a "
                       r"smaller --input, e\.g\. --input 64$"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_networks_are_refused_with_estimate_layer_and_hint(name):
    text, message = HOSTILE[name]
    report = convcalc.analyze(parse(text, file=name), include_side=True)
    with pytest.raises(ConvcalcError) as caught:
        verify(report)
    assert "\n" not in str(caught.value)
    assert caught.value.path and caught.value.kind
    # The CLI adds the file; the library names the layer and its line.
    located = caught.value.located(file=name)
    assert re.match(message, str(located)), str(located)


PEAK = """
import sys
from convcalc.cli import main
try:
    main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        print(next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) // 1024,
              file=sys.stderr)
"""


def _verify_cli(path: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """``convcalc verify path`` in a fresh process: the process and its peak RSS in MiB."""
    package_root = str(Path(convcalc.__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", PEAK, "verify", path.name], cwd=path.parent,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": package_root})
    *lines, peak = done.stderr.splitlines()
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout,
                                       "\n".join(lines)), int(peak)


def test_refusals_exit_2_before_allocating(tmp_path):
    for name, (text, message) in HOSTILE.items():
        (tmp_path / name).write_text(text)
        done, peak_mib = _verify_cli(tmp_path / name)
        assert done.returncode == 2, done.stderr
        assert done.stdout == "" and done.stderr.count("\n") == 0
        assert re.match(message, done.stderr.removeprefix("Error: ")), done.stderr
        assert peak_mib < 200, (name, peak_mib)  # numpy and the loader, nothing the size of it


def test_one_output_row_wider_than_the_chunk_runs_in_chunks(tmp_path):
    # One output row's im2col: 300,000 positions x (2 * 32 taps * 16 channels + 2) * 4 bytes =
    # 1.2 GiB, over the 256 MiB chunk; the input is 38 MB, so chunks by output positions keep
    # the peak near 256 MiB + the input; chunks of whole rows would need 1.2 GiB.
    row = im2col_position_bytes(32, 16, 1, 4) * 300_000
    assert row > 4 * VERIFY_CHUNK_BYTES
    path = tmp_path / "row.yaml"
    path.write_text("input: 1x600000x16\nlayers:\n"
                    "  - conv: {name: wide, filters: 1, kernel: [1, 32], stride: [1, 2]}\n")
    done, peak_mib = _verify_cli(path)
    assert done.returncode == 0, done.stderr
    assert "all 1 layers match" in done.stdout
    assert peak_mib < 256 + 38 + 200, peak_mib


@pytest.mark.parametrize(("h", "w", "per_position", "cap"), [
    (5, 7, 10, 1000), (5, 7, 10, 70), (5, 7, 10, 69), (3, 7, 10, 25), (2, 9, 100, 1),
])
def test_position_blocks_cover_the_grid_once_within_the_cap(h, w, per_position, cap):
    seen = np.zeros((h, w), int)
    for rows, cols in position_blocks(h, w, per_position, cap):
        assert len(rows) * len(cols) * per_position <= max(cap, per_position)
        seen[rows.start:rows.stop, cols.start:cols.stop] += 1
    assert (seen == 1).all()


def test_live_tensors_follow_the_runner_by_hand():
    # conv a (4x4x2 = 32 values) feeds a residual: b (4x4x5 = 80), c (32), add (32), relu d
    # (32). Input 4x4x3 = 48, read by a only. float64 = 8 bytes a value.
    report = convcalc.analyze(convcalc.load(
        str(Path(__file__).parent / "data" / "liveness_residual.yaml")))
    assert [r.path for r in report.rows] == ["a", "res.b", "res.c", "res.add", "d"]
    # step a: input + a; b: a + b; c: a + b + c; add: a + c + add; d: add + d.
    expected = [(48 + 32) * 8, (32 + 80) * 8, (32 + 80 + 32) * 8, (32 + 32 + 32) * 8,
                (32 + 32) * 8]
    assert budget._live(report, 8) == expected


def test_estimate_adds_weights_and_scratch_at_the_peak_row():
    # One dense layer 1000 -> 3000: weights 3,000,000 + bias 3000, 4 bytes each; the tensors
    # are the 1000 input values and 3000 outputs; dense holds no scratch.
    report = convcalc.analyze(parse("input: 10x10x10\nlayers:\n  - flatten\n"
                                    "  - dense: {name: fc, units: 3000}\n"))
    cost = budget.estimate(report, 4)
    assert (cost.peak_row, cost.live_bytes, cost.weight_bytes, cost.scratch_bytes) == (
        1, (1000 + 3000) * 4, 3_003_000 * 4, 0)
    assert cost.peak_bytes == (1000 + 3000 + 3_003_000) * 4 + budget.BOOKKEEPING_BYTES
    assert cost.macs == 3_000_000


def test_limits_let_the_zoo_through_at_its_own_size():
    # vgg16 at 224 (15.5 GMACs, the largest network of the zoo) must stay within the limits.
    report = convcalc.analyze(convcalc.load("vgg16"), include_side=True)
    cost = budget.check(report, 4)
    assert cost.macs == report.totals.macs < MAX_VERIFY_MACS
    assert cost.elementwise < MAX_VERIFY_ELEMENTWISE and cost.peak_bytes < MAX_VERIFY_BYTES


GRAPH = """
input: 32x32x8
layers:
  - conv: {name: stem, filters: 16, kernel: 3, padding: 1}
  - global_avgpool: {name: squeeze}
  - conv: {name: fc1, filters: 4, kernel: 1}
  - relu
  - conv: {name: fc2, filters: 16, kernel: 1}
  - sigmoid: {name: gate}
  - mul: {name: scale, from: [stem, gate]}
  - lrn: {size: 5}
  - depthwise: {kernel: 3, stride: 2, padding: 1, multiplier: 2}
  - gelu
  - adaptive_avgpool: {size: 5}
"""


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "googlenet_torchvision", "alexnet",
                                  "graph", "graph_every_kind", "activations"])
def test_estimate_bounds_what_each_row_allocates(name):
    # tracemalloc sees numpy's buffers: the most allocated while a row runs (from progress(i)
    # to progress(i + 1)) must stay within the estimate for that row.
    if name == "activations":
        arch = parse("input: 128x128x16\nlayers: [" + ", ".join(ACTIVATIONS) + "]\n")
    elif name.startswith("graph"):
        # Large enough that the arrays, not the bookkeeping margin, decide.
        arch = (parse(GRAPH) if name == "graph" else convcalc.with_input(
            convcalc.load(str(Path(__file__).parent / "data" / f"{name}.yaml")),
            convcalc.Shape(160, 160, 8)))
    else:
        arch = convcalc.with_input(convcalc.load(name), convcalc.Shape(96, 96, 3))
    report = convcalc.analyze(arch, include_side=True)
    needs = budget.steps(report, 8)
    traced: list[int] = []

    def progress(i, row):
        traced.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.reset_peak()

    tracemalloc.start()
    try:
        verify(report, dtype="float64", progress=progress)
        traced.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
    over = [(row.path, peak, need) for row, peak, (need, _, _) in
            zip(report.rows, traced[1:], needs, strict=True) if peak > need]
    assert over == []
    # and not wildly above: the peak estimate within 3x the traced peak (conv chunks and the
    # element-wise allowance err on the safe side).
    assert max(n for n, _, _ in needs) < 3 * max(traced) + budget.BOOKKEEPING_BYTES


@pytest.mark.parametrize(("size", "expected"), [("512x512x3", "--input 64"),
                                              ("64x48x3", "--input 32"), ("1x1x3", "--input 1")])
def test_the_hint_names_a_smaller_input(size, expected):
    report = convcalc.analyze(parse(f"input: {size}\nlayers: [relu]\n"))
    assert budget.hint(report).endswith(expected)


def test_a_report_without_rows_is_refused():
    # The loader refuses an empty network; a report built by hand may still have no rows.
    report = convcalc.analyze(parse("input: 8x8x3\nlayers: [relu]\n"))
    with pytest.raises(ConvcalcError, match="no layers to verify"):
        verify(dataclasses.replace(report, rows=()))


def test_every_kind_but_the_activations_has_its_own_scratch_estimate():
    # The default (a few temporaries) is meant for element-wise formulas; a new kind gets an
    # estimate of its own, checked against tracemalloc by the test above.
    assert set(RUNNERS) - set(budget.SCRATCH) <= set(ACTIVATIONS)
