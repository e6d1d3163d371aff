"""Every result the public API returns prints as a table, shows as HTML in a notebook (text
columns on the left, numbers on the right) and turns into plain data; expected numbers are hand
arithmetic written here or figures read from the profile files with PyYAML."""

import json
import pathlib
from html.parser import HTMLParser

import pytest
import yaml

import convcalc
from convcalc import Shape, parse
from convcalc.analysis.calibrate import Calibration, Measurement
from convcalc.analysis.roofline import Device

# the repository's profiles (convcalc may be installed elsewhere, as in CI)
DEVICES = pathlib.Path(__file__).parent.parent / "devices"

# An 8x8x3 input through a 3x3 convolution of 16 filters without padding: 6x6x16 outputs of
# 3x3x3 windows, 6 * 6 * 16 * 27 = 15,552 multiplies and 16 * 27 + 16 = 448 params.
ONE_CONV = "input: 8x8x3\nlayers:\n  - conv: {filters: 16, kernel: 3}\n"
# The same with 32 filters: twice both.
TWO_CONV = "input: 8x8x3\nlayers:\n  - conv: {filters: 32, kernel: 3}\n"


class Cells(HTMLParser):
    """The <style> text and each <td>'s class and text, from an HTML fragment."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.style = ""
        self.cells: list[tuple[str, str]] = []
        self._in: str | None = None
        self._class = ""
        self.svgs = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "style"):
            self._in, self._class = tag, dict(attrs).get("class") or ""
            if tag == "td":
                self.cells.append((self._class, ""))
        self.svgs += tag == "svg"

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.style += data
        elif self._in == "td":
            cls, text = self.cells[-1]
            self.cells[-1] = (cls, text + data)


def check_html(result: object, text_cell: str, number_cell: str, charts: int = 0) -> None:
    """The fragment parses; ``text_cell`` is in a left-aligned cell and ``number_cell`` in a
    right-aligned one; it has ``charts`` SVG charts."""
    html = result._repr_html_()  # type: ignore[attr-defined]
    parsed = Cells(html)
    assert ".convcalc table td, .convcalc table th { text-align: left; }" in parsed.style
    assert ".convcalc table td.num, .convcalc table th.num { text-align: right; }" in parsed.style
    classes = {text: cls for cls, text in parsed.cells}
    assert "num" not in classes[text_cell].split()
    assert "num" in classes[number_cell].split()
    assert parsed.svgs == charts


def check_data(result: object) -> list[dict[str, object]]:
    """to_dict() survives JSON unchanged; records() is a list of flat dicts."""
    data = result.to_dict()  # type: ignore[attr-defined]
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    rows = result.records()  # type: ignore[attr-defined]
    assert rows and all(isinstance(r, dict) for r in rows)
    assert all(not isinstance(v, dict) for r in rows for v in r.values())
    return rows


def test_comparison() -> None:
    c = convcalc.compare([parse(ONE_CONV), parse(TWO_CONV)])
    text = str(c)
    assert "15,552" in text and "31,104" in text and "Params / first" in text
    check_html(c, "8x8x3", "31,104", charts=1)
    rows = check_data(c)
    assert [r["macs"] for r in rows] == [15_552, 31_104]
    assert rows[1]["macs_ratio"] == 2 and rows[1]["params_ratio"] == 896 / 448


def test_layer_comparison() -> None:
    c = convcalc.compare_designs(Shape(14, 14, 32), 3, 64)
    text = str(c)
    # standard: 12x12x64 outputs of 3x3x32 windows; separable: 12*12*32*9 + 12*12*32*64.
    assert f"{12 * 12 * 64 * 9 * 32:,}" == "2,654,208" and "2,654,208" in text
    assert f"{12 * 12 * 32 * 9 + 12 * 12 * 32 * 64:,}" in text
    check_html(c, "separable", "336,384", charts=1)
    rows = check_data(c)
    assert [r["name"] for r in rows] == ["standard", "separable"]
    assert rows[1]["macs"] == 336_384


def test_sweep() -> None:
    s = convcalc.sweep(parse(ONE_CONV), [0.5, 1.0], [Shape(8, 8, 3), Shape(10, 10, 3)])
    text = str(s)
    # width 0.5 gives 8 filters; a 10x10 input 8x8 outputs: 8 * 8 * 8 * 27 = 13,824.
    assert "13,824" in text and "7,776" in text
    check_html(s, "10x10x3", "13,824", charts=1)
    rows = check_data(s)
    assert [(r["width"], r["input"], r["macs"]) for r in rows] == [
        (0.5, [8, 8, 3], 6 * 6 * 8 * 27), (0.5, [10, 10, 3], 8 * 8 * 8 * 27),
        (1.0, [8, 8, 3], 6 * 6 * 16 * 27), (1.0, [10, 10, 3], 8 * 8 * 16 * 27)]


def test_summary() -> None:
    summary = convcalc.summarize(convcalc.analyze(parse(
        ONE_CONV + "  - relu: {}\n")))
    text = str(summary)
    assert "15,552" in text and "448" in text and "By layer kind" in text
    # the relu's input and output, 6 * 6 * 16 floats of 4 bytes each, are alive together.
    assert f"{2 * 6 * 6 * 16 * 4:,}" in text
    check_html(summary, "relu", "15,552", charts=2)
    rows = check_data(summary)
    kinds = [r for r in rows if r["section"] == "kind"]
    assert [(r["kind"], r["macs"]) for r in kinds] == [("conv 3x3", 15_552)]  # relu costs none


def test_verify_checks_stay_a_list() -> None:
    pytest.importorskip("numpy")
    from convcalc.reference import verify

    checks = verify(convcalc.analyze(parse(ONE_CONV)))
    assert isinstance(checks, list) and len(checks) == 1 and checks.ok
    assert checks[0].reference_macs == 15_552
    text = str(checks)
    assert "15,552" in text and "all 1 layers match" in text
    check_html(checks, "conv", "15,552")
    assert check_data(checks)[0]["engine_shape"] == [6, 6, 16]


def test_devices() -> None:
    devices = convcalc.devices()
    files = sorted(DEVICES.glob("*.yaml"))
    assert [d.name for d in devices] == [f.stem for f in files]
    raw = yaml.safe_load(files[0].read_text())
    rows = check_data(devices)
    assert rows[0]["name"] == raw["name"]
    assert rows[0]["macs_per_second"] == float(raw["macs_per_second"])
    assert raw["name"] in str(devices) and "Source" in str(devices)
    # a100's 156e12 multiply-accumulates per second, to three digits.
    assert raw["name"] == "a100" and float(raw["macs_per_second"]) == 156e12
    check_html(devices, "a100", "156T")
    one = devices[0]
    assert one.name in str(one) and "macs_per_second" in str(one)
    assert json.loads(json.dumps(one.to_dict()))["sources"] == one.sources


def test_calibration() -> None:
    report = convcalc.analyze(parse(ONE_CONV))
    device = Device("bench", 1e9, 1e9, "fp32", figures="calibrated")
    calibration = Calibration(device, (Measurement("one", report, 0.002),), (0.1,))
    text = str(calibration)
    # fitted = measured * (1 + error) = 2 ms * 1.1 = 2.2 ms
    assert "2 ms" in text and "2.2 ms" in text and "+10.0%" in text
    check_html(calibration, "one", "2.2 ms")
    rows = check_data(calibration)
    assert rows == [{"name": "one", "macs": 15_552, "measured_seconds": 0.002,
                     "fitted_seconds": pytest.approx(0.0022), "error": 0.1}]


def test_report_text_cells_are_left_aligned_and_it_has_records() -> None:
    report = convcalc.analyze(parse(ONE_CONV))
    check_html(report, "conv", "15,552")
    assert check_data(report)[0]["macs"] == 15_552
