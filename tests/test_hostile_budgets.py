"""Hostile input, round 3 (issue 24), budgets: the ARCH arguments of one compare or report are
bounded in number and in layers in all (20 copies of a 50,000-layer file took minutes), counted
as each is loaded; calibrate loads and analyses each distinct network once, however many rows
name it (1,000 rows of a 2,001-layer file took 30 s)."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_commands_fuzz import assert_refused

from convcalc.analysis import calibrate as fitting
from convcalc.cli import base, main
from convcalc.formats import measurements
from convcalc.limits import MAX_ARCHS, MAX_COMPARED_LAYERS


def relus(path: Path, layers: int) -> Path:
    path.write_text("input: 8x8x3\nlayers:\n" + "  - relu\n" * layers)
    return path


@pytest.mark.parametrize("command", [("compare",), ("report", "--format", "md")])
def test_more_architectures_than_the_limit(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, *["lenet5"] * (MAX_ARCHS + 1)])
    assert_refused(result, f"{MAX_ARCHS + 1} architectures given; one command takes at most "
                           f"{MAX_ARCHS}")


@pytest.mark.parametrize("command", [("compare",), ("report", "--format", "md")])
def test_layers_in_all_are_counted_as_each_is_loaded(command: tuple[str, ...], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The limit scaled down 100 times: 20 copies of a 400-layer file stop at the third
    # (1,200 > 1,000), before the other 17 are read.
    monkeypatch.setattr(base, "MAX_COMPARED_LAYERS", MAX_COMPARED_LAYERS // 100)
    big = relus(tmp_path / "big.yaml", 400)
    loads = []
    real = base.prepared
    monkeypatch.setattr(base, "prepared", lambda *a: loads.append(a) or real(*a))
    result = CliRunner().invoke(main, [*command, *[str(big)] * 20])
    assert_refused(result, "the first 3 architectures have 1,200 layers; one command takes at "
                           "most 1,000 in all")
    assert len(loads) == 3


def test_two_networks_within_the_limit_compare() -> None:
    result = CliRunner().invoke(main, ["compare", "lenet5", "alexnet", "--format", "json"])
    assert result.exit_code == 0, result.output


def test_calibrate_loads_and_analyses_a_repeated_network_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = tmp_path / "mid.yaml"
    net.write_text("input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 3, padding: 1}\n"
                   + "  - relu\n" * 2000)
    csv = tmp_path / "m.csv"
    csv.write_text("arch,seconds\n" + "".join(f"{net},{0.001 + i * 1e-6}\n"
                                              for i in range(1000)))
    counts = {"load": 0, "analyze": 0, "network_seconds": 0}

    def counted(module: object, name: str) -> None:
        real = getattr(module, name)

        def call(*args: object, **kwargs: object) -> object:
            counts[name] += 1
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, call)

    counted(measurements, "load")
    counted(measurements, "analyze")
    counted(fitting, "network_seconds")
    calibration = measurements.calibrate(csv)
    assert counts == {"load": 1, "analyze": 1, "network_seconds": 1}
    assert len(calibration.measurements) == len(calibration.errors) == 1000
    # one network, 1,000 times: the fit predicts one time t for all, and the relative errors
    # are t / s_i - 1 for the measured s_i = 0.001 + i * 1e-6
    predicted = (calibration.errors[0] + 1) * 0.001
    for i in (1, 500, 999):
        assert calibration.errors[i] == pytest.approx(predicted / (0.001 + i * 1e-6) - 1)


def test_rows_with_other_settings_are_analysed_apart(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("arch,seconds,input,width,batch\nlenet5,0.001,,,\nlenet5,0.002,,,2\n"
                   "lenet5,0.0011,,,\nlenet5,0.003,64,,\n")
    calibration = measurements.calibrate(csv)
    reports = [m.report for m in calibration.measurements]
    assert reports[0] is reports[2]
    assert len({id(r) for r in reports}) == 3
    # lenet5 at 32x32: 28*28*6*25 + 10*10*16*150 + 120*400 + 84*120 + 10*84 multiplies;
    # batch 2 doubles them
    lenet = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 120 * 400 + 84 * 120 + 10 * 84
    assert reports[0].totals.macs == lenet and reports[1].totals.macs == 2 * lenet
