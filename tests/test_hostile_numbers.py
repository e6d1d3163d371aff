"""Hostile input, round 3 (issue 24), numbers: device figures outside physical bounds (1e-300
MACs/s, 5e-324 bytes/s, an overhead of 1e308 s) are refused with their line, so every time is
finite, JSON never fails and tables never print inf; calibrate refuses a batch of 1 and 400
zeros and seconds of 1e-300 instead of overflowing; a tensor of 10^28 values is refused."""

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_commands_fuzz import assert_refused

from convcalc.analysis.report import analyze
from convcalc.analysis.roofline import Device
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.formats.loader import load, parse
from convcalc.formats.profiles import parse_device
from convcalc.present.report_json import render_json
from convcalc.present.table import render_table

PROFILE = "name: p\ndtype: fp32\nmacs_per_second: {macs}\nbytes_per_second: {bytes}\n"


def profile(macs: str = "1e9", bytes_: str = "1e9", extra: str = "") -> str:
    return PROFILE.format(macs=macs, bytes=bytes_) + extra


@pytest.mark.parametrize(("text", "message"), [
    (profile(macs="1e-300"), r"^dev\.yaml:3: macs_per_second 1e-300 must be a number from 1000 "
                             r"to 1e\+18$"),
    (profile(macs="5e-324"), r"^dev\.yaml:3: macs_per_second 5e-324 must be"),
    (profile(macs="1e308"), r"^dev\.yaml:3: macs_per_second 1e\+308 must be"),
    (profile(bytes_="5e-324"), r"^dev\.yaml:4: bytes_per_second 5e-324 must be"),
    (profile(bytes_="1e19"), r"^dev\.yaml:4: bytes_per_second 1e\+19 must be"),
    (profile(extra="overhead_seconds: 1e308\n"),
     r"^dev\.yaml:5: overhead_seconds 1e\+308 must be a number from 0 to 1$"),
    (profile(extra="efficiency: {depthwise: 5e-324}\n"),
     r"^dev\.yaml:5: efficiency depthwise 5e-324 must be a fraction of the peak: from 1e-06 "
     r"to 1$"),
    (profile(extra="efficiency: {depthwise: 1.5}\n"), r"^dev\.yaml:5: efficiency depthwise 1\.5"),
], ids=["macs-tiny", "macs-denormal", "macs-huge", "bytes-denormal", "bytes-huge",
        "overhead-huge", "efficiency-denormal", "efficiency-above-1"])
def test_figures_outside_physical_bounds_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConvcalcError, match=message):
        parse_device(text, file="dev.yaml")


def test_a_device_made_in_python_is_checked_too() -> None:
    with pytest.raises(ConvcalcError, match="macs_per_second 1e-300 must be"):
        Device("d", macs_per_second=1e-300, bytes_per_second=1e9, dtype="fp32")
    with pytest.raises(ConvcalcError, match="overhead_seconds nan must be"):
        Device("d", macs_per_second=1e9, bytes_per_second=1e9, dtype="fp32",
               overhead_seconds=math.nan)
    with pytest.raises(ConvcalcError, match="unknown class 'convs'"):
        Device("d", macs_per_second=1e9, bytes_per_second=1e9, dtype="fp32",
               efficiency={"convs": 0.5})


FIGURES = st.floats(min_value=1e3, max_value=1e18)


@settings(max_examples=40, deadline=None)
@given(macs=FIGURES, bytes_=FIGURES, overhead=st.floats(min_value=0, max_value=1),
       efficiency=st.floats(min_value=1e-6, max_value=1))
def test_any_profile_within_the_bounds_gives_finite_times(macs: float, bytes_: float,
                                                          overhead: float,
                                                          efficiency: float) -> None:
    device = parse_device(profile(repr(macs), repr(bytes_),
                                  f"overhead_seconds: {overhead!r}\n"
                                  f"efficiency: {{depthwise: {efficiency!r}}}\n"), "dev.yaml")
    report = analyze(load("mobilenet_v1"), device=device, batch=1000)
    seconds = [r.seconds for r in report.rows]
    assert all(s is not None and math.isfinite(s) for s in seconds)
    # the total is the sum of the layers' roofline times (module docstring of roofline.py)
    assert report.totals.seconds == pytest.approx(math.fsum(s for s in seconds if s))
    json.loads(render_json(report))  # allow_nan=False: "Out of range float" before
    assert "inf" not in str(render_table(report)).lower()


@pytest.mark.parametrize(("figure", "value"), [("macs", "1e-300"), ("bytes", "5e-324")])
def test_the_cli_refuses_such_a_profile_with_one_line(figure: str, value: str,
                                                      tmp_path: Path) -> None:
    device = tmp_path / "dev.yaml"
    device.write_text(profile(**{("macs" if figure == "macs" else "bytes_"): value}))
    for args in (("analyze", "lenet5", "--format", "json"), ("report", "lenet5"),
                 ("compare", "lenet5", "alexnet", "--format", "json")):
        assert_refused(CliRunner().invoke(main, [*args, "--device", str(device)]),
                       f"{device}:")


GOOD = "arch,seconds\nlenet5,0.001\n"


@pytest.mark.parametrize(("rows", "message"), [
    ("arch,seconds,batch\nlenet5,0.001,1" + "0" * 400 + "\n",
     "m.csv:2: batch '1000000000000000000000000000000000000000'... must be a whole number "
     "from 1 to 1e+06"),
    (GOOD + "lenet5,1e-300\n", "m.csv:3: seconds '1e-300' must be a number from 1e-09 to 1e+06"),
    (GOOD + "lenet5,1e308\n", "m.csv:3: seconds '1e308' must be a number from 1e-09 to 1e+06"),
    (GOOD + "lenet5,5e-324\n", "m.csv:3: seconds '5e-324' must be"),
    ("arch,seconds,width\nlenet5,0.001,1e308\n",
     "m.csv:2: width '1e308' must be a number above 0 and at most 16"),
], ids=["batch-1e400", "seconds-tiny", "seconds-huge", "seconds-denormal", "width-huge"])
def test_calibrate_refuses_numbers_that_overflow(rows: str, message: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.csv").write_text(rows)
    result = CliRunner().invoke(main, ["calibrate", "m.csv", "-o", "dev.yaml"])
    assert_refused(result, message)
    assert not Path("dev.yaml").exists()


def test_calibrate_fits_a_profile_within_the_bounds(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.csv").write_text("arch,seconds\nlenet5,0.0005\nalexnet,0.02\nresnet18,0.05\n")
    result = CliRunner().invoke(main, ["calibrate", "m.csv", "-o", "dev.yaml"])
    assert result.exit_code == 0, result.output
    assert "inf" not in result.stdout.lower() and result.stderr == ""
    device = parse_device(Path("dev.yaml").read_text(), "dev.yaml")  # reads back
    assert 1e3 <= device.macs_per_second <= 1e18


@pytest.mark.parametrize(("body", "kind"), [
    # 10^7 x 10^7 x 1 = 10^14 inputs to 10^7 units: 10^21 weights
    ("input: 10000000x10000000x1\nlayers:\n  - flatten: {}\n  - dense: {units: 10000000}\n",
     "dense"),
    # a 10^4 x 10^4 kernel on 10^7 channels to 10^7 filters: 10^22 weights
    ("input: 10000x10000x10000000\nlayers:\n  - relu: {}\n"
     "  - conv: {filters: 10000000, kernel: 10000}\n", "conv"),
], ids=["dense", "conv"])
def test_a_weight_past_10_to_the_18_values_is_refused(body: str, kind: str) -> None:
    with pytest.raises(ConvcalcError, match=rf"^big\.yaml:5: layer '1' \({kind}\): has "
                                            r"[\d,]+ weights; a tensor may have at most "
                                            r"1,000,000,000,000,000,000 values"):
        analyze(parse(f"name: big\n{body}", file="big.yaml"))


# ---------------------------------------------------------------- warnings at exit 0

@pytest.mark.parametrize(("matrix", "args", "message"), [
    ("1,inf,1\n0,0,0\n-1,-1,-1\n", ("--filter", "{m}"),
     "{m}: holds a value that is not a finite number (inf or nan)"),
    ("1,nan\n0,0\n", ("--filter", "{m}", "-o", "{o}"), "{m}: holds a value that is not a finite"),
    ("1e308,1e308,1e308\n" * 3, ("--filter", "{m}"),
     "the filtered image's values leave floating point (overflow"),
], ids=["filter-inf", "filter-nan-to-a-file", "overflow"])
def test_conv_refuses_what_it_cannot_compute(matrix: str, args: tuple[str, ...], message: str,
                                             tmp_path: Path) -> None:
    m, o = tmp_path / "m.csv", tmp_path / "o.csv"
    m.write_text(matrix)
    (tmp_path / "img.csv").write_text("1,2,3\n4,5,6\n7,8,9\n")
    result = CliRunner().invoke(main, ["conv", str(tmp_path / "img.csv"),
                                       *(a.format(m=m, o=o) for a in args)])
    assert_refused(result, message.format(m=m))
    assert not o.exists()


def test_verify_of_a_mul_of_5000_inputs_is_an_error_not_a_warning(tmp_path: Path) -> None:
    # the product of 5,000 seeded random values leaves float32 (numpy overflowed with a warning)
    net = tmp_path / "mul.yaml"
    net.write_text("name: m\ninput: 4x4x2\nlayers:\n  - conv: {name: c, filters: 2, kernel: 1}\n"
                   f"  - mul: {{name: m, from: [{', '.join(['c'] * 5000)}]}}\n")
    result = CliRunner().invoke(main, ["verify", str(net)])
    assert_refused(result, f"{net}:5: layer 'm' (mul): its values leave floating point")


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64),
                       min_size=9, max_size=9))
def test_conv_on_any_finite_filter_is_a_result_or_an_error_with_a_quiet_stderr(
        values: list[float]) -> None:
    import warnings

    import numpy as np

    from convcalc.reference import edge_filter

    kernel = np.array(values).reshape(3, 3)
    image = np.arange(25, dtype=float).reshape(5, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning fails the test
        try:
            run = edge_filter(image, kernel)
        except ConvcalcError:
            return
    assert np.isfinite(run.output).all()
