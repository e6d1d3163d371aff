"""Device profiles, --device and --batch on the command line, and calibrate: the fit recovers a
profile from timings it generated; bad profiles and CSVs are one located line, exit 2."""

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_cli import imported_after

from convcalc import analyze, load, with_input, with_width
from convcalc.analysis.calibrate import Measurement, fit, relative_errors
from convcalc.analysis.report import network_seconds
from convcalc.analysis.roofline import Device
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.formats.profiles import device_names, load_device, parse_device
from convcalc.graph.shapes import Shape


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


# -- profiles --------------------------------------------------------------------------------

def test_built_in_profiles_say_what_their_figures_are_with_a_source_each() -> None:
    peak = {"raspberry_pi4", "phone_cortex_x1", "jetson_orin_nano", "a100"}
    assert peak | {"torch_cpu_epyc_1thread"} <= set(device_names())
    for name in device_names():
        device = load_device(name)
        assert device.figures == ("peak" if name in peak else "calibrated")
        assert device.figures.replace("calibrated", "Calibrated") in device.description
        for figure in ("macs_per_second", "bytes_per_second", *(
                ["efficiency"] if device.efficiency else [])):
            assert len(device.sources.get(figure, "")) > 20, (name, figure)
    result = run("devices")
    assert result.exit_code == 0
    assert all(name in result.stdout for name in device_names())


def test_a_profile_reads_back_what_it_wrote(tmp_path: Path) -> None:
    from convcalc.formats.profiles import device_yaml

    device = Device("mine", 1.25e10, 3.5e9, "fp16", 7.5e-6, {"depthwise": 0.125},
                    "a \"quoted\" board: ok", "calibrated", {"macs_per_second": "fit"})
    assert parse_device(device_yaml(device, comment="two\nlines")) == device


PROFILE = "name: p\nmacs_per_second: 1e9\nbytes_per_second: 1e9\ndtype: fp32\n"


@pytest.mark.parametrize(("text", "message"), [
    ("name: p\nmacs_per_second: 1e9\ndtype: fp32\n",
     "bad.yaml:1: needs 'bytes_per_second'"),
    (PROFILE.replace("bytes_per_second: 1e9", "bytes_per_second: -1e9"),
     "bad.yaml:3: bytes_per_second '-1e9' must be a number above 0"),
    (PROFILE.replace("macs_per_second: 1e9", "macs_per_second: 0"),
     "bad.yaml:2: macs_per_second 0 must be a number above 0"),
    (PROFILE.replace("macs_per_second: 1e9", "macs_per_second: .nan"),
     "bad.yaml:2: macs_per_second nan must be a number above 0"),
    (PROFILE.replace("macs_per_second: 1e9", "macs_per_second: fast"),
     "bad.yaml:2: macs_per_second 'fast' must be a number above 0"),
    (PROFILE.replace("dtype: fp32", "dtype: fp8"),
     "bad.yaml:4: dtype 'fp8' must be one of fp64, fp32, fp16, bf16, int8"),
    (PROFILE + "overhead_seconds: -1\n",
     "bad.yaml:5: overhead_seconds -1 must be a number of 0 or more"),
    (PROFILE + "efficiency: {depthwise: 1.5}\n",
     "bad.yaml:5: efficiency depthwise 1.5 must be a fraction of the peak"),
    (PROFILE + "efficiency: {dephtwise: 0.5}\n",
     "bad.yaml:5: efficiency for unknown class 'dephtwise'; did you mean 'depthwise'?"),
    (PROFILE + "bandwith: 3\n",
     "bad.yaml:5: unknown key 'bandwith' in a device profile"),
    ("", "bad.yaml: is empty; a device profile needs name, macs_per_second"),
    ("- 1\n", "bad.yaml:1: must be a mapping: a device profile needs name"),
    ("name: !!python/object:os.system x\n", "bad.yaml:1: YAML tag"),
], ids=["missing", "negative", "zero", "nan", "text", "dtype", "overhead", "efficiency",
        "class", "key", "empty", "list", "tag"])
def test_a_bad_profile_is_one_located_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    result = run("analyze", "lenet5", "--device", str(tmp_path / "bad.yaml"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {tmp_path / 'bad.yaml'}"[:7])
    line = result.stderr.replace(str(tmp_path) + "/", "")
    assert line.startswith(f"Error: {message}"), line
    assert line.count("\n") == 1


def test_an_unknown_device_name_suggests_one() -> None:
    result = run("analyze", "lenet5", "--device", "raspbery_pi4")
    assert result.exit_code == 2
    assert result.stderr == ("Error: no file and no built-in device named 'raspbery_pi4'; did "
                             "you mean 'raspberry_pi4'? 'convcalc devices' shows the built-in "
                             "ones\n")


# -- --device and --batch on the commands --------------------------------------------------------

def test_analyze_with_a_device_marks_memory_bound_layers() -> None:
    result = run("analyze", "mobilenet_v1", "--device", "raspberry_pi4")
    assert result.exit_code == 0
    assert "Bound" in result.stdout and "memory" in result.stdout and "compute" in result.stdout
    assert "on raspberry_pi4 (peak figures, roofline)" in result.stdout
    data = json.loads(run("analyze", "mobilenet_v1", "--device", "raspberry_pi4", "--format",
                          "json").stdout)
    assert {layer["bound"] for layer in data["layers"]} == {"compute", "memory"}
    data = json.loads(run("analyze", "mobilenet_v1", "--device", "a100", "--format",
                          "json").stdout)
    assert data["dtype"] == "fp16"  # the profile's dtype when --dtype is not given
    assert data["layers"][0]["bytes_moved"] == (224 * 224 * 3 + 112 * 112 * 32 + 864) * 2


def test_the_lecture_layer_on_a_jetson_saves_less_time_than_multiplies() -> None:
    data = json.loads(run("compare", "--input", "28x28x192", "--kernel", "5", "--filters", "32",
                          "--device", "jetson_orin_nano", "--format", "json").stdout)
    standard, separable = data["variants"]
    # By hand, fp32, 640 GMAC/s and 68 GB/s:
    # standard: 120,422,400 MACs / 640e9 = 188.16 us; (150,528 + 25,088 + 153,600) x 4 bytes
    #   / 68e9 = 19.37 us: compute-bound, 188.16 us.
    # depthwise: 3,763,200 MACs / 640e9 = 5.88 us; (2 x 150,528 + 4,800) x 4 / 68e9 = 17.99 us.
    # pointwise: 4,816,896 / 640e9 = 7.53 us; (150,528 + 25,088 + 6,144) x 4 / 68e9 = 10.69 us.
    assert standard["macs"] == 120_422_400 and separable["macs"] == 3_763_200 + 4_816_896
    assert standard["seconds"] == pytest.approx(120_422_400 / 640e9)
    expected = (2 * 150_528 + 4_800) * 4 / 68e9 + (150_528 + 25_088 + 6_144) * 4 / 68e9
    assert separable["seconds"] == pytest.approx(expected)
    assert separable["seconds_ratio"] == pytest.approx(expected / (120_422_400 / 640e9))
    assert 1 / separable["ratio"] == pytest.approx(14.035, abs=1e-3)  # 14x fewer multiplies
    assert 1 / separable["seconds_ratio"] == pytest.approx(6.55, abs=0.01)  # 6.6x less time
    table = run("compare", "--input", "28x28x192", "--kernel", "5", "--filters", "32",
                "--device", "jetson_orin_nano", "--format", "markdown").stdout
    assert "Time / standard" in table and "| 0.1524 |" in table


def test_compare_networks_puts_time_ratios_beside_mac_ratios() -> None:
    data = json.loads(run("compare", "resnet18", "mobilenet_v2", "--device", "raspberry_pi4",
                          "--format", "json").stdout)
    first, second = data["networks"]
    assert second["seconds_ratio"] == pytest.approx(second["seconds"] / first["seconds"])
    assert first["seconds_ratio"] == 1.0 and "macs_ratio" in second


def test_batch_on_analyze_sweep_and_report() -> None:
    one = json.loads(run("analyze", "lenet5", "--format", "json").stdout)["totals"]
    eight = json.loads(run("analyze", "lenet5", "--batch", "8", "--format", "json").stdout)
    assert eight["batch"] == 8
    assert eight["totals"]["macs"] == 8 * one["macs"]
    assert eight["totals"]["activations"] == 8 * one["activations"]
    assert eight["totals"]["params"] == one["params"]
    weights = one["params"] * 4
    assert eight["totals"]["bytes_moved"] == 8 * (one["bytes_moved"] - weights) + weights
    cells = json.loads(run("sweep", "lenet5", "--batch", "8", "--device", "raspberry_pi4",
                           "--format", "json").stdout)["cells"]
    assert cells[0]["macs"] == 8 * one["macs"] and cells[0]["seconds"] > 0
    # sweep analyses at the profile's dtype, as analyze does: fp16 on the a100
    cell = json.loads(run("sweep", "lenet5", "--device", "a100", "--format", "json").stdout)
    timed = json.loads(run("analyze", "lenet5", "--device", "a100", "--format", "json").stdout)
    assert timed["dtype"] == "fp16"
    assert cell["cells"][0]["seconds"] == pytest.approx(timed["totals"]["seconds"])
    report = json.loads(run("report", "lenet5", "--batch", "2", "--device", "raspberry_pi4",
                            "--format", "json").stdout)["reports"][0]
    assert report["totals"]["macs"] == 2 * one["macs"]
    assert report["memory"]["input_bytes"] == 2 * 32 * 32 * 1 * 4
    assert report["layers"][0]["seconds"] > 0
    markdown = run("report", "lenet5", "--device", "raspberry_pi4", "--format", "md").stdout
    assert "(roofline)" in markdown and "| Bound |" in markdown


def test_report_compares_times_when_every_network_is_timed() -> None:
    data = json.loads(run("report", "resnet50", "mobilenet_v2", "--device", "raspberry_pi4",
                          "--format", "json").stdout)
    first, second = data["comparison"]
    seconds = [r["totals"]["seconds"] for r in data["reports"]]
    assert (first["seconds"], second["seconds"]) == tuple(seconds)
    assert second["ratios"]["seconds"] == pytest.approx(seconds[1] / seconds[0])
    untimed = json.loads(run("report", "resnet50", "mobilenet_v2", "--format", "json").stdout)
    assert "seconds" not in untimed["comparison"][0]


def test_report_by_kind_shares_the_time_too() -> None:
    report = json.loads(run("report", "mobilenet_v1", "--device", "raspberry_pi4", "--format",
                            "json").stdout)["reports"][0]
    kinds = {k["kind"]: k for k in report["by_kind"]}
    assert sum(k["seconds"] for k in kinds.values()) == pytest.approx(
        report["totals"]["seconds"])
    assert sum(k["seconds_share"] for k in kinds.values()) == pytest.approx(1.0)
    # batch norm does no multiplies but takes time; depthwise takes more time than MACs
    assert kinds["batchnorm"]["macs"] == 0 and kinds["batchnorm"]["seconds"] > 0
    depthwise = kinds["depthwise 3x3"]
    assert depthwise["seconds_share"] > depthwise["macs_share"]


def test_explain_refuses_a_batch() -> None:
    result = run("analyze", "lenet5", "--explain", "--batch", "2")
    assert result.exit_code == 2 and "drop --batch" in result.stderr


# -- calibrate ---------------------------------------------------------------------------------

TRUE = Device("true", macs_per_second=50e9, bytes_per_second=100e9, dtype="fp32",
              overhead_seconds=20e-6, efficiency={"pointwise": 0.8, "depthwise": 0.2})
NETWORKS = [("mobilenet_v1", 1.0, 224), ("mobilenet_v1", 0.5, 160), ("mobilenet_v2", 1.0, 224),
            ("mobilenet_v2", 0.5, 128), ("resnet18", 1.0, 224), ("resnet50", 1.0, 128),
            ("alexnet", 1.0, 224), ("lenet5", 1.0, 32)]


def synthetic() -> list[tuple[str, float, int, float]]:
    """(arch, width, size, seconds) with seconds from TRUE's roofline."""
    out = []
    for name, width, size in NETWORKS:
        arch = load(name)
        arch = with_width(with_input(arch, Shape(size, size, arch.input.c)), width)
        out.append((name, width, size, network_seconds(analyze(arch), TRUE)))
    return out


def test_fit_recovers_the_profile_that_made_the_timings() -> None:
    measurements = []
    for name, width, size, seconds in synthetic():
        arch = load(name)
        arch = with_width(with_input(arch, Shape(size, size, arch.input.c)), width)
        measurements.append(Measurement(name, analyze(arch), seconds))
    fitted = fit(measurements, efficiency=("pointwise", "depthwise"))
    assert fitted.macs_per_second == pytest.approx(50e9, rel=1e-6)
    assert fitted.bytes_per_second == pytest.approx(100e9, rel=1e-6)
    assert fitted.overhead_seconds == pytest.approx(20e-6, rel=1e-6)
    assert fitted.efficiency["pointwise"] == pytest.approx(0.8, rel=1e-6)
    assert fitted.efficiency["depthwise"] == pytest.approx(0.2, rel=1e-6)
    assert max(abs(e) for e in relative_errors(measurements, fitted)) < 1e-9


def test_calibrate_command_writes_a_profile_that_device_takes(tmp_path: Path) -> None:
    measured = tmp_path / "measured.csv"
    with measured.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["arch", "width", "input", "seconds"])
        for name, width, size, seconds in synthetic():
            writer.writerow([name, width, size, repr(seconds)])
    out = tmp_path / "mine.yaml"
    result = run("calibrate", str(measured), "-o", str(out), "--name", "mine",
                 "--efficiency", "all")
    assert result.exit_code == 0, result.output
    assert "median 0.0%" in result.stdout and "mobilenet_v1 ×0.5 @160" in result.stdout
    device = load_device(out)
    assert (device.name, device.figures) == ("mine", "calibrated")
    assert device.macs_per_second == pytest.approx(50e9, rel=1e-6)
    data = json.loads(run("analyze", "resnet18", "--device", str(out), "--format",
                          "json").stdout)
    assert data["totals"]["seconds"] == pytest.approx(synthetic()[4][3], rel=1e-6)


def test_a_network_measured_several_times_keeps_every_row(tmp_path: Path) -> None:
    # Errors used to be keyed by network name, so repeated runs of one network collapsed
    # into one and the table's zip of rows and errors failed.
    measured = tmp_path / "m.csv"
    measured.write_text("arch,seconds\nlenet5,0.001\nlenet5,0.002\nlenet5,0.003\n")
    result = run("calibrate", str(measured), "-o", str(tmp_path / "p.yaml"))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("lenet5") == 3
    # One network predicted once cannot match 1, 2 and 3 ms at the same time.
    assert "worst 0.0%" not in result.stdout


GOOD = "arch,seconds\nlenet5,0.001\n"


@pytest.mark.parametrize(("text", "message"), [
    ("arch,secs\nlenet5,0.1\n", "m.csv:1: unknown column 'secs'; did you mean 'seconds'?"),
    ("arch,input\nlenet5,32\n", "m.csv:1: needs a column 'seconds'"),
    (GOOD + "resnet18,-0.5\n", "m.csv:3: seconds '-0.5' must be a number from 1e-09 to 1e+06"),
    (GOOD + "resnet18,0\n", "m.csv:3: seconds '0' must be a number from 1e-09 to 1e+06"),
    (GOOD + "resnet18,nan\n", "m.csv:3: seconds 'nan' must be a number from 1e-09 to 1e+06"),
    (GOOD + "resnet18,fast\n", "m.csv:3: seconds 'fast' must be a number from 1e-09 to 1e+06"),
    (GOOD + "resnet99,0.1\n",
     "m.csv:3: no file and no built-in architecture named 'resnet99'"),
    (GOOD + "resnet18,0.1,3\n", "m.csv:3: has 3 values for the 2 columns arch,seconds"),
    ("arch,seconds,input\nlenet5,0.1,0x0\n", "m.csv:2: "),
    ("", "m.csv:1: is empty; a measurements CSV has a header row"),
    ("arch,seconds\n", "m.csv:2: has no measurements"),
], ids=["column", "missing", "negative", "zero", "nan", "text", "arch", "values", "input",
        "empty", "no-rows"])
def test_a_bad_csv_is_one_located_line_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.csv").write_text(text)
    result = run("calibrate", "m.csv", "-o", "out.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {message}"), result.stderr
    assert result.stderr.count("\n") == 1
    assert not Path("out.yaml").exists()


def test_by_default_only_depthwise_and_grouped_get_a_rate_of_their_own() -> None:
    # Timings where 1x1 and 3x3 convolutions run at one rate and depthwise at a fifth of it.
    truth = Device("t", 40e9, 200e9, "fp32", 10e-6, {"depthwise": 0.2})
    measurements = []
    for name, width, size, _ in synthetic():
        arch = load(name)
        arch = with_width(with_input(arch, Shape(size, size, arch.input.c)), width)
        report = analyze(arch)
        measurements.append(Measurement(name, report, network_seconds(report, truth)))
    fitted = fit(measurements)
    assert set(fitted.efficiency) == {"depthwise"}
    assert fitted.efficiency["depthwise"] == pytest.approx(0.2, rel=1e-6)
    assert fitted.macs_per_second == pytest.approx(40e9, rel=1e-6)
    with pytest.raises(ConvcalcError, match="efficiency class 'dephtwise' is not one of"):
        fit(measurements, efficiency=("dephtwise",))


def test_calibrate_csv_rows_can_name_input_width_and_batch(tmp_path: Path) -> None:
    from convcalc.formats.measurements import read_measurements

    path = tmp_path / "m.csv"
    path.write_text("arch,input,width,batch,seconds\nmobilenet_v2,160,0.5,4,0.02\n"
                    "lenet5,,,,0.001\n\n")
    first, second = read_measurements(path)
    assert first.report.input == Shape(160, 160, 3) and first.report.width == 0.5
    assert first.report.batch == 4 and first.seconds == 0.02
    assert second.report.input == Shape(32, 32, 1) and second.report.batch == 1
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == 2


def test_analyze_with_a_device_imports_no_numpy() -> None:
    modules = imported_after(["analyze", "resnet50", "--device", "raspberry_pi4", "--batch",
                              "4", "--format", "json"])
    assert "numpy" not in modules
    assert "convcalc.formats.profiles" in modules and "convcalc.analysis.calibrate" not in modules


def test_table_takes_a_device_and_a_batch() -> None:
    import convcalc

    text = convcalc.table("lenet5", device="a100", batch=4, format="json")
    data = json.loads(text)
    assert (data["device"], data["dtype"], data["batch"]) == ("a100", "fp16", 4)
    timed = analyze(load("lenet5"), device=load_device("a100"), batch=4, dtype="fp16")
    assert data["totals"]["seconds"] == pytest.approx(timed.totals.seconds)


def test_folded_blocks_carry_their_time() -> None:
    data = json.loads(run("analyze", "resnet18", "--depth", "1", "--device", "raspberry_pi4",
                          "--format", "json").stdout)
    top = [b for b in data["blocks"] if b["level"] == 1]
    assert sum(b["seconds"] for b in top) == pytest.approx(data["totals"]["seconds"])
    layer1 = [r["seconds"] for r in data["layers"] if r["name"].startswith("layer1.")]
    assert next(b for b in top if b["name"] == "layer1")["seconds"] == pytest.approx(sum(layer1))
    assert "Time" in run("analyze", "resnet18", "--depth", "1", "--device",
                         "raspberry_pi4").stdout


def test_calibrate_reads_the_benchmark_csv_and_names_the_columns_it_ignores(
        tmp_path: Path) -> None:
    measured = Path(__file__).parent.parent / "benchmarks" / "data" / "torch_cpu_1thread.csv"
    out = tmp_path / "fitted.yaml"
    result = run("calibrate", str(measured), "-o", str(out))
    assert result.exit_code == 0, result.output
    # min_seconds is one of the columns `convcalc measure` writes: not named
    assert result.stderr == (f"calibrate: ignored the column max_seconds of "
                             f"{measured} (it reads arch, seconds, input, width and batch)\n")
    assert load_device(str(out)).figures == "calibrated"


def test_a_misspelt_column_is_still_an_error(tmp_path: Path) -> None:
    measured = tmp_path / "m.csv"
    measured.write_text("arch,seconds,widht,notes\nresnet18,0.06,1,x\n")
    result = run("calibrate", str(measured), "-o", str(tmp_path / "p.yaml"))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {measured}:1: unknown column 'widht'; did you mean "
                             "'width'? columns: arch, seconds, input, width, batch\n")
