"""``verify`` and ``convcalc verify``: the engine's shapes and MACs against the numpy reference."""

from dataclasses import replace

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import main
from convcalc.layers import Conv
from convcalc.reference import verify


def test_resnet50_reduced_resolution_matches():
    report = convcalc.analyze(convcalc.with_input(convcalc.load("resnet50"),
                                                  convcalc.Shape(64, 64, 3)))
    checks = verify(report)
    assert [c.path for c in checks if not c.ok] == []
    assert len(checks) == len(report.rows)
    # Independent of the engine: the published 4.09 GMACs at 224 scale with positions,
    # but at 64 the reference's own sum must at least equal the rows' sum exactly.
    assert sum(c.reference_macs for c in checks) == report.totals.macs


@pytest.mark.parametrize("name", convcalc.builtin_names())
def test_every_builtin_architecture_verifies(name):
    report = convcalc.analyze(convcalc.load(name), include_side=True)
    checks = verify(report, seed=1)
    assert [(c.path, c.engine_shape, c.reference_shape, c.engine_macs, c.reference_macs)
            for c in checks if not c.ok] == []


def test_verify_command_passes_and_exits_0():
    result = CliRunner().invoke(main, ["verify", "resnet50", "--input", "32"])
    assert result.exit_code == 0, result.output
    assert "all 175 layers match" in result.output


def test_wrong_engine_count_is_caught(monkeypatch):
    monkeypatch.setattr(Conv, "macs", lambda self, x: 7)
    checks = verify(convcalc.analyze(convcalc.with_input(convcalc.load("resnet50"),
                                                         convcalc.Shape(32, 32, 3))))
    wrong = [c for c in checks if not c.ok]
    assert {c.kind for c in wrong} == {"conv"}
    assert all(c.engine_macs == 7 != c.reference_macs for c in wrong)
    result = CliRunner().invoke(main, ["verify", "resnet50", "--input", "32"])
    assert result.exit_code == 1
    assert "✗" in result.output and "engine 7 ≠ reference" in result.output


def test_wrong_engine_shape_is_caught():
    report = convcalc.analyze(convcalc.load("resnet50"))
    conv1 = replace(report.rows[0], output=convcalc.Shape(113, 113, 64))
    (check,) = verify(replace(report, rows=(conv1,)))
    assert not check.ok
    # 224 + 2*3 - 7 = 223, floor(223 / 2) + 1 = 112 (He et al.'s conv1 output).
    assert check.reference_shape == convcalc.Shape(112, 112, 64)


def test_verify_float64_and_seed():
    report = convcalc.analyze(convcalc.with_input(convcalc.load("resnet50"),
                                                  convcalc.Shape(32, 32, 3)))
    assert all(c.ok for c in verify(report, seed=3, dtype="float64"))


@pytest.mark.parametrize(("args", "message"), [
    (["verify", "nosuchnet"], "nosuchnet"),
    (["verify", "resnet50", "--input", "axb"], "must be HxWxC"),
    (["verify", "resnet50", "--input", "64x64x0"], "channels 0 must be between"),
], ids=["unknown-arch", "bad-input", "too-small"])
def test_verify_bad_input_exits_2(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output
