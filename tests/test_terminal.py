"""What the listing commands print on an 80-column terminal: one line per architecture or
figure, no line over 80 characters; descriptions cut at a word with '…'."""

import pathlib

import yaml

import convcalc
from convcalc.formats.loader import catalogue_names, load
from convcalc.formats.profiles import devices
from convcalc.present.grid import Col, Grid
from convcalc.present.results import render_catalogue, render_devices

ARCHITECTURES = pathlib.Path(convcalc.__file__).parent.parent / "architectures"


def test_a_clipped_column_keeps_one_line_cut_at_a_word() -> None:
    grid = Grid("", (Col("name", "Name"), Col("text", "Text", wrap=True, clip=True)),
                [["a", "one two three four five six"], ["b", "short"]])
    # 20 columns: the name column is 4 wide ("Name"), the gap 2, leaving 14 for the text:
    # "one two three" (13) and the '…'
    assert grid.text(20).splitlines()[2:] == ["a     one two three…", "b     short"]
    assert "one two three four five six" in grid.text()  # whole when there is room


def test_list_fits_80_columns_one_line_per_architecture() -> None:
    archs = [load(n) for n in catalogue_names()]
    text = render_catalogue([(a, convcalc.analyze(a).totals) for a in archs]).text(80)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    rows = [line for line in lines if line.split() and line.split()[0] in catalogue_names()]
    assert len(rows) == len(archs)
    alexnet = yaml.safe_load((ARCHITECTURES / "alexnet.yaml").read_text())["description"]
    (row,) = [line for line in rows if line.startswith("alexnet ")]
    shown = row[row.index(alexnet.split()[0]):]
    assert shown.endswith("…") and alexnet.startswith(shown[:-1])
    # a header, rules between families and the hint about the hidden source column: the rest
    assert len(lines) < 2 * len(archs)


def test_devices_fit_80_columns() -> None:
    lines = render_devices(devices()).text(80).splitlines()
    assert max(map(len, lines)) <= 80
    a100 = yaml.safe_load((pathlib.Path(convcalc.__file__).parent.parent / "devices"
                           / "a100.yaml").read_text())
    assert any(line.split()[:3] == ["a100", "peak", f"({a100['dtype']})"] for line in lines)
