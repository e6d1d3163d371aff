"""Charts: the sweep's MACs-against-params plot, the report's comparison chart, every chart
as a standalone SVG file, and (with Chromium) the HTML report and the SVG files measured in a
real browser at 1400 px: no table scrolls sideways, no label leaves its chart."""

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc import analyze, load
from convcalc.analysis.summary import summarize
from convcalc.analysis.variants import sweep
from convcalc.cli import main
from convcalc.present.report_formats import render_report_html, report_charts
from convcalc.present.results import render_sweep_chart

SVG = "{http://www.w3.org/2000/svg}"


def summaries(*names: str) -> list:  # type: ignore[type-arg]
    return [summarize(analyze(load(name))) for name in names]


def standalone(svg: str) -> ET.Element:
    """The parsed chart, checked to be a file on its own: sized, with its own fonts."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    width, height = int(root.get("width", "0")), int(root.get("height", "0"))
    assert root.get("viewBox") == f"0 0 {width} {height}" and width > 0 and height > 0
    style = root.find(f"{SVG}style")
    assert style is not None and "monospace" in (style.text or "")
    assert "href" not in svg and "url(" not in svg
    return root


def test_sweep_chart_plots_macs_against_params() -> None:
    arch = load("mobilenet_v1")
    shapes = [arch.input, arch.input.__class__(128, 128, 3)]
    root = standalone(render_sweep_chart(sweep(arch, [1.0, 0.5], shapes)))
    points = {c.find(f"{SVG}title").text: (float(c.get("cx", 0)), float(c.get("cy", 0)))  # type: ignore[union-attr]
              for c in root.iter(f"{SVG}circle")}
    assert sorted(points) == ["128x128x3 0.5x", "128x128x3 1x", "224x224x3 0.5x",
                              "224x224x3 1x"]
    # Howard et al. 2017, Tables 6-7: width 1 has 4.2M params against 1.3M at 0.5 (further
    # right); 224x224 costs 569M MACs against 186M at 128x128 (higher up, smaller y).
    assert points["224x224x3 1x"][0] > points["224x224x3 0.5x"][0]
    assert points["224x224x3 1x"][0] == points["128x128x3 1x"][0]  # params ignore resolution
    assert points["224x224x3 1x"][1] < points["128x128x3 1x"][1]


def test_multi_architecture_report_has_a_comparison_chart() -> None:
    page = render_report_html(summaries("googlenet", "mobilenet_v1"))
    assert "<h3>Comparison chart</h3>" in page
    # 568,740,352 / 1,582,671,872 = 0.359 and 4,231,976 / 6,998,552 = 0.605 (docs/architectures.md).
    assert "569M MACs (\N{MULTIPLICATION SIGN}0.36)" in page
    assert "4.23M params (\N{MULTIPLICATION SIGN}0.60)" in page
    single = render_report_html(summaries("googlenet"))
    assert "Comparison chart" not in single


def test_every_report_chart_is_a_standalone_file(tmp_path: Path) -> None:
    charts = report_charts(summaries("googlenet", "mobilenet_v1"))
    assert [c.id for c in charts] == ["comparison", "1-googlenet-macs-per-layer",
                                      "1-googlenet-by-kind", "2-mobilenet_v1-macs-per-layer",
                                      "2-mobilenet_v1-by-kind"]
    for chart in charts:
        standalone(chart.svg)
    result = CliRunner().invoke(main, ["report", "googlenet", "mobilenet_v1", "-o",
                                       str(tmp_path / "r.html"), "--charts",
                                       str(tmp_path / "charts")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert files == sorted(f"{c.id}.svg" for c in charts)
    page = (tmp_path / "r.html").read_text()
    for chart in charts:  # the same pictures as in the page
        assert (tmp_path / "charts" / f"{chart.id}.svg").read_text() in page


def test_sweep_chart_option(tmp_path: Path) -> None:
    out = tmp_path / "tradeoff.svg"
    result = CliRunner().invoke(main, ["sweep", "mobilenet_v1", "--width", "1,0.75,0.5,0.25",
                                       "--input", "224,192,160,128", "--chart", str(out)])
    assert result.exit_code == 0, result.output
    assert len(list(standalone(out.read_text()).iter(f"{SVG}circle"))) == 16
    assert "568,740,352" in result.stdout  # the table is printed as well


# -- in a real browser ----------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MEASURE = """<script>
const box = e => e.getBoundingClientRect();
const out = {page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
  scroll: [...document.querySelectorAll('.scroll')].map(d => [d.scrollWidth, d.clientWidth]),
  svg: [...document.querySelectorAll('svg')].map(s => {
    const r = box(s);
    const texts = [...s.querySelectorAll('text')].map(box);
    return [Math.min(...texts.map(t => t.left - r.left)),
            Math.max(...texts.map(t => t.right - r.left)), r.width,
            Math.max(...texts.map(t => t.bottom - r.top)), r.height];
  })};
document.documentElement.setAttribute('data-measure', JSON.stringify(out));
</script>"""


def measured(page: Path, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
             "--window-size=1400,900"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    found = re.search(r'data-measure="([^"]*)"', dom)
    assert found, dom[:500]
    data: dict = json.loads(found.group(1).replace("&quot;", '"'))  # type: ignore[type-arg]
    subprocess.run([*flags, f"--screenshot={page.with_suffix('.png')}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert page.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def inside(svgs: list) -> None:  # type: ignore[type-arg]
    for left, right, width, bottom, height in svgs:
        assert left >= 0 and right <= width + 0.5 and bottom <= height + 0.5


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_report_fits_1400_px_and_labels_stay_in_their_charts(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    # The zoo's longest layer names (googlenet_torchvision) and a three-way comparison.
    html = render_report_html(summaries("googlenet_torchvision", "mobilenet_v2", "resnet152"))
    page.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    data = measured(page, tmp_path)
    scroll_width, client_width = data["page"]
    assert scroll_width <= client_width
    assert all(inner <= outer for inner, outer in data["scroll"]), data["scroll"]
    assert len(data["svg"]) == 1 + 3 * 3  # the comparison, then two charts and a graph each
    inside(data["svg"])
    # With a device the layer table gains its time and bound columns, and still fits.
    timed = tmp_path / "timed.html"
    result = CliRunner().invoke(main, ["report", "googlenet_torchvision", "--device", "a100",
                                       "-o", str(timed)])
    assert result.exit_code == 0, result.output
    timed.write_text(timed.read_text().replace("</body>", MEASURE + "</body>"))
    data = measured(timed, tmp_path)
    assert all(inner <= outer for inner, outer in data["scroll"]), data["scroll"]
    inside(data["svg"])


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_standalone_svgs_keep_their_labels_inside(tmp_path: Path) -> None:
    arch = load("mobilenet_v1")
    charts = [c.svg for c in report_charts(summaries("googlenet", "mobilenet_v1"))]
    charts.append(render_sweep_chart(sweep(arch, [1.0, 0.75, 0.5, 0.25], [arch.input])))
    for index, svg in enumerate(charts):
        path = tmp_path / f"chart{index}.svg"
        # A script inside the SVG document measures it where it is opened on its own.
        path.write_text(svg.replace("</svg>", MEASURE.replace("<script>", "<script><![CDATA[")
                                    .replace("</script>", "]]></script>") + "</svg>"))
        inside(measured(path, tmp_path)["svg"])


def test_report_charts_show_device_time() -> None:
    from convcalc.formats.profiles import load_device
    from convcalc.present.grid import human_seconds

    device = load_device("raspberry_pi4")
    timed = [summarize(analyze(load(name), device=device))
             for name in ("mobilenet_v1", "resnet18")]
    comparison, per_layer, _, _, _ = report_charts(timed)
    first, second = (s.report.totals.seconds for s in timed)
    assert "MACs, params and roofline time of mobilenet_v1, resnet18" in comparison.svg
    assert (f"{human_seconds(second)} (\N{MULTIPLICATION SIGN}{second / first:.2f})"
            in comparison.svg)
    assert per_layer.heading == "MACs and time per layer on raspberry_pi4"
    for row in timed[0].report.counted():
        if row.macs:
            assert f">{human_seconds(row.seconds or 0.0)}</text>" in per_layer.svg
    standalone(comparison.svg)
    standalone(per_layer.svg)
    # Without a device the charts are as before: no time.
    assert "time" not in report_charts(summaries("mobilenet_v1", "resnet18"))[0].svg
