"""``convcalc conv``: the lecture's edge detection from the command line."""

import numpy as np
import pytest
from click.testing import CliRunner

from convcalc.cli import main


def run(*args):
    return CliRunner().invoke(main, ["conv", *args])


def test_step_example_prints_the_lecture_output():
    result = run("--example", "step")
    assert result.exit_code == 0, result.output
    assert "output 4x4" in result.output
    assert "floor((6 + 0 + 0 - 3) / 1) + 1 = 4" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_output_file_holds_the_lecture_matrix(tmp_path, suffix):
    out = tmp_path / f"edges{suffix}"
    result = run("--example", "step", "-o", str(out))
    assert result.exit_code == 0, result.output
    matrix = np.load(out) if suffix == ".npy" else np.loadtxt(out, delimiter=",")
    assert matrix.tolist() == [[0, 30, 30, 0]] * 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary left


def test_csv_input_same_padding_and_stride(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("\n".join(",".join(["10"] * 3 + ["0"] * 3) for _ in range(6)))
    out = tmp_path / "out.csv"
    result = run(str(src), "--padding", "same", "--stride", "2", "-o", str(out))
    assert result.exit_code == 0, result.output
    # 'same' with stride 2 on 6: output ceil(6/2) = 3, total padding 1 at the bottom/right.
    # Columns 0, 2, 4 of the padded image: x=0 reads cols 0..2 (all 10) -> 0,
    # x=2 reads cols 2..4 -> 10 - 0 = 10 per row, x=4 reads cols 4..6 -> 0.
    matrix = np.loadtxt(out, delimiter=",")
    assert matrix.tolist() == [[0, 30, 0], [0, 30, 0], [0, 20, 0]]


def test_rgb_channel_choice_and_filter_file(tmp_path):
    kernel = tmp_path / "k.txt"
    kernel.write_text("1 -1\n1 -1\n")
    out = tmp_path / "o.npy"
    result = run("--example", "step", "--rgb", "--channel", "g", "--filter", str(kernel),
                 "-o", str(out))
    assert result.exit_code == 0, result.output
    # Only green reads the 2x2 filter: 10 - 10 + 10 - 10 = 0 except across the edge (20).
    assert np.load(out).tolist() == [[0, 0, 20, 0, 0]] * 5


@pytest.mark.parametrize(("args", "message"), [
    ((), "give either INPUT"),
    (("missing.csv",), "cannot read"),
    (("--example", "step", "--channel", "r"), "needs a 3-channel input"),
    (("--example", "step", "--padding", "lots"), "padding 'lots'"),
    (("--example", "step", "--filter", "nosuch.npy"), "cannot read"),
], ids=["no-input", "missing-file", "channel-on-gray", "bad-padding", "missing-filter"])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "o.csv"
    result = run(*args, "-o", str(out))
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_ragged_text_matrix_is_refused(tmp_path):
    src = tmp_path / "ragged.txt"
    src.write_text("1 2 3\n4 5\n")
    result = run(str(src))
    assert result.exit_code == 2
    assert "equally many numbers" in result.output


@pytest.mark.parametrize("command", ["verify", "conv"])
def test_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
