"""The roofline: bytes moved, seconds and bound of single layers, worked out by hand here."""

import json

import pytest

from convcalc import analyze, parse
from convcalc.analysis.roofline import Device
from convcalc.errors import ConvcalcError
from convcalc.present.report_json import render_json
from convcalc.present.table import render_csv

# A round device: 1 GMAC/s and 1 GB/s, so seconds read as (macs or bytes) / 1e9.
ONE = Device("one", macs_per_second=1e9, bytes_per_second=1e9, dtype="fp32")


def one_layer(layer: str, input_: str = "56x56x64", batch: int = 1,
              device: Device | None = ONE, dtype: str = "fp32"):  # type: ignore[no-untyped-def]
    arch = parse(f"input: {input_}\nlayers:\n  - {layer}\n")
    return analyze(arch, batch=batch, device=device, dtype=dtype)


def test_conv_is_compute_bound() -> None:
    report = one_layer("conv: {filters: 64, kernel: 3, padding: 1, bias: false}")
    row = report.rows[0]
    macs = 56 * 56 * 64 * 3 * 3 * 64  # outputs x f*f*c_in = 115,605,504
    weights = 3 * 3 * 64 * 64  # 36,864
    moved = (56 * 56 * 64 + 56 * 56 * 64 + weights) * 4  # input + output + weights at fp32
    assert (row.macs, row.bytes_moved) == (115_605_504, 1_753_088) == (macs, moved)
    assert row.intensity == pytest.approx(macs / moved)
    assert row.bound == "compute"
    assert row.seconds == pytest.approx(macs / 1e9)
    assert report.totals.seconds == pytest.approx(macs / 1e9)
    assert report.totals.bytes_moved == moved


def test_relu_is_memory_bound_and_pays_the_overhead() -> None:
    device = Device("slow", 1e9, 1e9, "fp32", overhead_seconds=5e-6)
    row = one_layer("relu", device=device).rows[0]
    moved = 2 * 56 * 56 * 64 * 4  # reads and writes 200,704 elements of 4 bytes
    assert (row.macs, row.bytes_moved, row.bound) == (0, 1_605_632, "memory") == (0, moved,
                                                                                  "memory")
    assert row.seconds == pytest.approx(moved / 1e9 + 5e-6)


def test_depthwise_efficiency_and_bandwidth_decide_the_bound() -> None:
    layer = "depthwise: {kernel: 3, padding: 1, bias: false}"
    macs = 56 * 56 * 64 * 9  # 1,806,336
    moved = (2 * 56 * 56 * 64 + 9 * 64) * 4  # 1,607,936
    # At peak, 1.81 ms of multiplies beat 1.61 ms of traffic: compute-bound.
    row = one_layer(layer).rows[0]
    assert (row.macs, row.bytes_moved, row.bound) == (macs, moved, "compute")
    # Half the bandwidth: 3.22 ms of traffic, memory-bound.
    row = one_layer(layer, device=Device("narrow", 1e9, 0.5e9, "fp32")).rows[0]
    assert row.bound == "memory" and row.seconds == pytest.approx(moved / 0.5e9)
    # Depthwise at a tenth of the peak: 18.1 ms.
    slow = Device("dw", 1e9, 0.5e9, "fp32", efficiency={"depthwise": 0.1})
    row = one_layer(layer, device=slow).rows[0]
    assert row.bound == "compute" and row.seconds == pytest.approx(macs / 1e8)


def test_batch_scales_activations_not_weights() -> None:
    single = one_layer("conv: {filters: 64, kernel: 3, padding: 1, bias: false}").rows[0]
    report = one_layer("conv: {filters: 64, kernel: 3, padding: 1, bias: false}", batch=8)
    row = report.rows[0]
    assert row.macs == 8 * 115_605_504
    assert row.params == 36_864
    assert row.activations == 8 * 56 * 56 * 64
    # Weights once, activations eight times: (8 x 401,408 + 36,864) x 4 = 12,992,512, which is
    # less than 8 x 1,753,088 = 14,024,704.
    assert row.bytes_moved == 12_992_512 < 8 * single.bytes_moved
    assert report.totals.params == 36_864 and report.totals.macs == 8 * 115_605_504


def test_batch_turns_a_dense_layer_compute_bound() -> None:
    layer = "flatten\n  - dense: {units: 1000}"
    # batch 1: 4,096,000 MACs; weights 4,096,000 + 1,000 bias read once; 4,096 in, 1,000 out.
    row = one_layer(layer, input_="1x1x4096").rows[1]
    assert row.bytes_moved == (4096 + 1000 + 4_097_000) * 4 == 16_408_384
    assert (row.macs, row.bound) == (4_096_000, "memory")
    assert row.seconds == pytest.approx(16_408_384 / 1e9)
    row = one_layer(layer, input_="1x1x4096", batch=64).rows[1]
    assert row.bytes_moved == (64 * (4096 + 1000) + 4_097_000) * 4 == 17_692_576
    assert (row.macs, row.bound) == (64 * 4_096_000, "compute")
    assert row.seconds == pytest.approx(64 * 4_096_000 / 1e9)


def test_a_merge_reads_all_its_inputs_and_views_move_nothing() -> None:
    arch = parse("input: 8x8x16\nlayers:\n  - residual:\n      layers: [relu]\n"
                 "  - flatten\n  - dropout: {p: 0.5}\n")
    report = analyze(arch, device=ONE)
    by_kind = {r.kind: r for r in report.rows}
    elements = 8 * 8 * 16
    assert by_kind["add"].bytes_moved == 3 * elements * 4  # two inputs read, one written
    assert by_kind["relu"].bytes_moved == 2 * elements * 4
    assert by_kind["flatten"].bytes_moved == 0 and by_kind["dropout"].bytes_moved == 0
    assert report.totals.bytes_moved == 5 * elements * 4
    assert report.totals.seconds == pytest.approx(5 * elements * 4 / 1e9)


def test_dtype_sets_the_bytes() -> None:
    fp16 = one_layer("relu", dtype="fp16").rows[0]
    assert fp16.bytes_moved == 2 * 56 * 56 * 64 * 2


def test_without_a_device_traffic_is_still_counted() -> None:
    report = one_layer("relu", device=None)
    assert report.rows[0].bytes_moved == 1_605_632
    assert report.rows[0].seconds is None and report.rows[0].bound is None
    assert report.totals.seconds is None


def test_machine_formats_carry_the_roofline_keys() -> None:
    report = one_layer("conv: {filters: 64, kernel: 3, padding: 1, bias: false}")
    data = json.loads(render_json(report))
    layer = data["layers"][0]
    assert (layer["bytes_moved"], layer["bound"]) == (1_753_088, "compute")
    assert layer["seconds"] == pytest.approx(0.115605504)
    assert data["totals"]["seconds"] == pytest.approx(0.115605504)
    assert (data["batch"], data["device"]) == (1, "one")
    header, row = render_csv(report).splitlines()
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert values["bytes_moved"] == "1753088" and values["bound"] == "compute"
    assert float(values["seconds"]) == pytest.approx(0.115605504)


def test_batch_outside_the_limit_is_refused() -> None:
    with pytest.raises(ConvcalcError, match="batch 0 must be from 1"):
        one_layer("relu", batch=0)
