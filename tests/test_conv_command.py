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


def _png_pixels(data: bytes) -> list[list[int]]:
    """An 8-bit grey PNG's pixels, decoded here from the specification (chunks with CRC-32,
    IHDR, zlib-compressed IDAT, filter type 0 per scanline) so the writer is not its own
    judge."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour, interlace) == (8, 0, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    lines = [raw[y * (width + 1):(y + 1) * (width + 1)] for y in range(height)]
    assert all(line[0] == 0 for line in lines) and b"IEND" in chunks
    return [list(line[1:]) for line in lines]


def test_png_output_is_a_real_grey_image(tmp_path):
    out = tmp_path / "edges.png"
    result = run("--example", "step", "-o", str(out))
    assert result.exit_code == 0, result.output
    # The lecture's output [[0, 30, 30, 0]] x 4: 0 is black, the largest (30) white.
    assert _png_pixels(out.read_bytes()) == [[0, 255, 255, 0]] * 4


def test_png_grey_levels_are_linear(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("0,0,0,0\n1,1,1,1\n2,2,2,2\n3,3,3,3\n4,4,4,4\n")
    out = tmp_path / "g.png"
    # The horizontal filter over rows 0..4: (row r) - (row r + 2) = -2 in every position, so
    # the output is constant: black.
    assert run(str(src), "--filter", "horizontal", "-o", str(out)).exit_code == 0
    assert _png_pixels(out.read_bytes()) == [[0, 0]] * 3
    kernel = tmp_path / "k.txt"
    kernel.write_text("1\n")
    # A 1x1 filter of 1 copies the input: 0..4 in steps of 1 -> 0, 63.75, 127.5, 191.25, 255,
    # rounded half to even.
    assert run(str(src), "--filter", str(kernel), "-o", str(out)).exit_code == 0
    assert _png_pixels(out.read_bytes()) == [[v] * 4 for v in (0, 64, 128, 191, 255)]


def test_png_opens_in_pillow(tmp_path):
    image = pytest.importorskip("PIL.Image")
    out = tmp_path / "edges.png"
    assert run("--example", "step", "-o", str(out)).exit_code == 0
    assert np.asarray(image.open(out)).tolist() == [[0, 255, 255, 0]] * 4


def test_an_output_it_cannot_write_is_refused_naming_the_formats(tmp_path):
    out = tmp_path / "edges.jpg"
    result = run("--example", "step", "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: cannot tell the format of '{out}' from its extension; "
                             "conv -o writes .csv .txt .npy .png\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "hint"), [
    ("sobel", "did you mean 'sobel-x' or 'sobel-y'? "),
    ("Laplace", "did you mean 'laplacian'? "),
    ("qqq", ""),
])
def test_an_unknown_filter_name_gets_the_nearest(name, hint):
    result = run("--example", "step", "--filter", name)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: no built-in filter and no file named '{name}'; {hint}filters: vertical, "
        "horizontal, sobel-x, sobel-y, scharr-x, scharr-y, laplacian, or a matrix file (CSV, "
        "text or .npy)\n")
