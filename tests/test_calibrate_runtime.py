"""`calibrate --runtime onnxruntime`: timings made from a known profile with ONNX Runtime's rules
(fusions, channel blocks, a slow path, compute + memory per layer) are fitted back to the
figures they were made with; the rules as profile data; bad runtimes, profiles and CSVs."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc.analysis.calibrate import Measurement, fit
from convcalc.analysis.report import Report, analyze
from convcalc.analysis.roofline import Device
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import load, parse
from convcalc.formats.measurements import calibrate
from convcalc.formats.profiles import device_yaml, parse_device
from convcalc.graph.layers import Conv

# The figures the synthetic timings are made with.
PEAK = 40e9          # multiplies per second
BANDWIDTH = 12e9     # bytes per second
OVERHEAD = 15e-6     # seconds per unfused layer
SLOW = 20.0          # slow path: n channels per group reach n / (n + SLOW) of PEAK
BLOCK = 8
FUSES = ("batchnorm", "relu", "relu6", "hardswish", "hardsigmoid", "add", "mul")
NETWORKS = ["resnet18", "mobilenet_v2", "shufflenet_v2_x1_0", "resnext50_32x4d",
            "mobilenet_v3_small", "squeezenet1_1", "regnet_y_400mf", "alexnet",
            "efficientnet_b0", "mnasnet0_5", "googlenet_torchvision", "densenet121"]


def naive_seconds(report: Report, block: int = BLOCK) -> float:
    """The time of a network under the rules above, written out plainly, apart from
    roofline.py: a fused layer costs nothing; a convolution runs its multiplies on channels
    padded to the block (the slow path when a group's channels are not whole blocks or a
    depthwise one's not a multiple of 4; unpadded when a plain convolution's are not a
    multiple of 4); every other layer moves its bytes."""
    rows = report.rows
    readers = [0] * len(rows)
    for r in rows:
        for i in r.inputs:
            if i >= 0 and not r.side:  # side branches (auxiliary heads) are not run
                readers[i] += 1
    conv_like: set[int] = set()
    total = 0.0
    for n, r in enumerate(rows):
        if r.side:
            continue
        if isinstance(r.layer, Conv):
            conv_like.add(n)
        elif r.kind == "mul":
            a, b = r.inputs
            if any(rows[g].kind == "sigmoid" and rows[g].inputs == (x,) and readers[g] == 1
                   for g, x in ((a, b), (b, a)) if g >= 0):
                continue  # x * sigmoid(x): one SiLU pass, the sigmoid's
        elif r.kind in FUSES and any(i in conv_like and readers[i] == 1 for i in r.inputs):
            conv_like.add(n)
            continue  # fused: no bytes, no overhead
        rate = PEAK
        macs = float(r.macs)
        if isinstance(r.layer, Conv):
            assert r.window is not None
            c_in, c_out, g = r.input.c, r.output.c, r.window.groups
            per_group = c_out // g  # output channels per group
            if g == c_in and g > 1:
                if c_in % 4:
                    rate = PEAK * per_group / (per_group + SLOW)
                else:
                    macs *= -(-c_out // block) * block / c_out
            elif g > 1:
                if (c_in // g) % block or per_group % block:
                    rate = PEAK * per_group / (per_group + SLOW)
            elif c_out % 4 or (c_in >= block and c_in % 4):
                pass  # plain kernels: unpadded, the usual rate
            else:
                padded_in = -(-c_in // block) * block if c_in >= block else c_in
                macs *= padded_in * (-(-c_out // block) * block) / (c_in * c_out)
        total += macs / rate + r.bytes_moved / BANDWIDTH + OVERHEAD
    return total


# SiLU written as two ops, as convcalc reads it from an ONNX export.
SILU_PAIRS = """
name: silu_pairs
input: 56x56x16
layers:
  - conv: {name: c1, filters: 32, kernel: 3, padding: 1}
  - sigmoid: {name: s1}
  - mul: {name: m1, from: [c1, s1]}
  - depthwise: {name: dw, kernel: 3, padding: 1}
  - sigmoid: {name: s2}
  - mul: {name: m2, from: [dw, s2]}
  - sigmoid: {name: gate, from: m1}
  - mul: {name: m3, from: [m2, gate]}
  - conv: {name: c2, filters: 24, kernel: 1}
"""


def synthetic() -> list[Measurement]:
    out = []
    for arch in [*(load(name) for name in NETWORKS), parse(SILU_PAIRS)]:
        report = analyze(arch)
        out.append(Measurement(arch.name, report, naive_seconds(report)))
    return out


def test_calibrate_recovers_the_figures_it_was_made_with() -> None:
    device = fit(synthetic(), name="ort", runtime="onnxruntime")
    assert device.channel_block == BLOCK
    assert device.fuses == FUSES and device.combine == "sum" and device.runtime == "onnxruntime"
    assert device.macs_per_second == pytest.approx(PEAK, rel=1e-6)
    assert device.bytes_per_second == pytest.approx(BANDWIDTH, rel=1e-6)
    assert device.overhead_seconds == pytest.approx(OVERHEAD, rel=1e-6)
    assert device.slow_channels == pytest.approx(SLOW, rel=1e-6)
    assert device.efficiency == {}


def test_a_profile_with_the_rules_predicts_the_naive_times() -> None:
    device = Device(name="ort", macs_per_second=PEAK, bytes_per_second=BANDWIDTH,
                    dtype="fp32", overhead_seconds=OVERHEAD, runtime="onnxruntime",
                    fuses=FUSES, channel_block=BLOCK, slow_channels=SLOW, combine="sum")
    for name in ("mobilenet_v3_large", "regnet_x_400mf", "resnet50"):
        arch = load(name)
        timed = analyze(arch, device=device)
        assert timed.totals.seconds == pytest.approx(naive_seconds(analyze(arch)), rel=1e-9)
        fused = [r for r in timed.rows if r.bound == "fused"]
        assert fused and all(r.seconds == 0 and r.bytes_moved == 0 for r in fused)
    # ResNet-50: each of its 53 convolutions is followed by a batch norm; 33 batch norms by a
    # ReLU (the stem's, and two in each of the 16 bottlenecks); each bottleneck's residual add
    # reads its last batch norm and is followed by a ReLU: 53 + 33 + 16 + 16 fused rows.
    assert len(fused) == 53 + 33 + 16 + 16


def test_rules_round_trip_through_the_profile_file() -> None:
    device = fit(synthetic(), name="ort", runtime="onnxruntime")
    again = parse_device(device_yaml(device))
    assert again == device


def test_torch_profiles_keep_their_rules_off() -> None:
    device = parse_device((Path(__file__).parent.parent / "devices" /
                           "torch_cpu_epyc_1thread.yaml").read_text())
    assert (device.fuses, device.channel_block, device.slow_channels, device.combine) == (
        (), 1, 0.0, "max")
    report = analyze(load("resnet50"), device=device)
    assert not [r for r in report.rows if r.bound == "fused"]


def test_silu_pairs_fuse_and_a_gate_does_not() -> None:
    device = Device(name="ort", macs_per_second=PEAK, bytes_per_second=BANDWIDTH,
                    dtype="fp32", runtime="onnxruntime", fuses=FUSES, channel_block=BLOCK,
                    combine="sum")
    rows = analyze(parse(SILU_PAIRS), device=device).rows
    # m1 and m2 are x * sigmoid(x); m3 multiplies m2 by the sigmoid of another tensor (a gate).
    assert [r.path for r in rows if r.bound == "fused"] == ["m1", "m2"]


@pytest.mark.parametrize(("line", "message"), [
    ("fuses: [batchnorm, reluu]", r"^p\.yaml:6: fuses 'reluu', which is not a kind a runtime "
     r"fuses into a convolution; did you mean 'relu'\?"),
    ("channel_block: 0", r"^p\.yaml:6: channel_block 0 must be a whole number from 1 to 1024"),
    ("slow_channels: -2", r"^p\.yaml:6: slow_channels -2 must be a number of 0 or more"),
    ("combine: add", r"^p\.yaml:6: combine 'add' must be one of max, sum"),
])
def test_bad_rules_in_a_profile(line: str, message: str) -> None:
    text = ("name: x\ndtype: fp32\nmacs_per_second: 1e9\nbytes_per_second: 1e9\n"
            f"runtime: onnxruntime\n{line}\n")
    with pytest.raises(ConvcalcError, match=message):
        parse_device(text, file="p.yaml")


def test_unknown_runtime_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ConvcalcError, match=r"^runtime 'onnxrt' is not one calibrate knows the "
                       r"rules of; did you mean 'onnxruntime'\?; runtimes: onnxruntime$"):
        fit(synthetic()[:1], runtime="onnxrt")
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("arch,seconds\nresnet18,0.03\n")
    result = CliRunner().invoke(main, ["calibrate", str(csv_file), "-o",
                                       str(tmp_path / "p.yaml"), "--runtime", "onnxrt"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: runtime 'onnxrt' is not one calibrate knows the rules of; did you mean "
        "'onnxruntime'?; runtimes: onnxruntime")
    assert not (tmp_path / "p.yaml").exists()


def test_measure_csv_columns_are_read(tmp_path: Path) -> None:
    csv_file = tmp_path / "measured.csv"
    csv_file.write_text(
        "arch,input,width,batch,seconds,cpu_seconds,min_seconds,runtime,threads,repeat,host\n"
        + "".join(f"{m.name},224x224x3,1,1,{m.seconds!r},{m.seconds!r},{m.seconds!r},"
                  "onnxruntime,1,15,lab\n" for m in synthetic()[:-1]))
    calibration = calibrate(csv_file, runtime="onnxruntime")
    assert calibration.device.channel_block == BLOCK
    assert max(abs(e) for e in calibration.errors) < 1e-6
    result = CliRunner().invoke(main, ["calibrate", str(csv_file), "--runtime", "onnxruntime",
                                       "--clock", "cpu", "-o", str(tmp_path / "p.yaml")])
    assert result.exit_code == 0, result.output
    # measure's own columns are not named; the message names the column --clock cpu reads
    assert result.stderr == (f"calibrate: ignored the column host of {csv_file} (it reads "
                             "arch, cpu_seconds, input, width and batch)\n")


def test_clock_cpu_fits_cpu_seconds_and_needs_the_column(tmp_path: Path) -> None:
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("arch,seconds,cpu_seconds\n" + "".join(
        f"{m.name},{2 * m.seconds!r},{m.seconds!r}\n" for m in synthetic()[:-1]))
    calibration = calibrate(csv_file, runtime="onnxruntime", clock="cpu")
    assert calibration.device.macs_per_second == pytest.approx(PEAK, rel=1e-6)
    wall_only = tmp_path / "wall.csv"
    wall_only.write_text("arch,seconds\nresnet18,0.03\n")
    with pytest.raises(ConvcalcError, match=rf"^{wall_only}:1: needs a column 'cpu_seconds'; "
                       r"the header is 'arch,seconds'$"):
        calibrate(wall_only, clock="cpu")
