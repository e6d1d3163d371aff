"""The report formats: each one parsed back and checked against the engine's own rows and
against hand counts; hostile names escaped in every format; HTML rendered by Chromium."""

import csv
import html
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import DATA

from convcalc import Report, analyze, load
from convcalc.analysis.summary import Summary, summarize
from convcalc.present.report_formats import (
    render_report,
    render_report_csv,
    render_report_html,
    render_report_json,
    render_report_markdown,
    render_report_tex,
    tex_escape,
)
from convcalc.present.report_json import report_dict

FORMATS = ("md", "csv", "json", "html", "tex")


def report_of(name: str, **options: bool | str) -> Report:
    source = DATA / f"{name}.yaml" if (DATA / f"{name}.yaml").exists() else name
    return analyze(load(source), **options)  # type: ignore[arg-type]


def summaries(*names: str, depth: int | None = None, top: int = 10) -> list[Summary]:
    return [summarize(report_of(n), depth=depth, top=top) for n in names]


def number(text: str) -> int:
    return int(text.replace(",", ""))


# -- Markdown ------------------------------------------------------------------------------------

def markdown_unescape(text: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", text.replace("&emsp;", "")))


def markdown_tables(text: str) -> list[tuple[str, list[list[str]]]]:
    """(title, rows of unescaped cells) of each '### title' table; the first row is the header."""
    tables: list[tuple[str, list[list[str]]]] = []
    for line in text.splitlines():
        if line.startswith("### "):
            tables.append((line[4:], []))
        elif line.startswith("|") and not line.startswith("|-") and "---" not in line:
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            tables[-1][1].append([markdown_unescape(c.strip()) for c in cells])
    for _, rows in tables:
        assert len({len(r) for r in rows}) == 1, rows  # no cell broke the table
    return tables


def test_markdown_layer_table_matches_the_engine_rows() -> None:
    (summary,) = summaries("resnet50")
    tables = dict(markdown_tables(render_report_markdown([summary])))
    header, *rows = tables["Layers"]
    assert header[:3] == ["Layer", "Kind", "Input"]
    report = summary.report
    assert len(rows) == len(report.rows)
    column = {title: i for i, title in enumerate(header)}
    for row, layer in zip(rows, report.rows, strict=True):
        assert row[column["Layer"]] == layer.path
        assert row[column["Output"]] == str(layer.output)
        assert number(row[column["Params"]]) == layer.params
        assert number(row[column["MACs"]]) == layer.macs
        assert number(row[column["Activation bytes"]]) == 4 * layer.activations
    # Each column adds up to the printed total.
    (total,) = tables["Totals"][1:]
    assert sum(number(r[column["Params"]]) for r in rows) == number(total[0])
    assert sum(number(r[column["MACs"]]) for r in rows) == number(total[1])
    shares = sum(float(r[column["% of MACs"]].rstrip("%")) for r in rows)
    assert shares == pytest.approx(100, abs=0.01 * len(rows))


def test_markdown_of_a_residual_block_by_hand() -> None:
    tables = dict(markdown_tables(render_report_markdown(summaries("liveness_residual"))))
    # params 3*2 + 2*5 + 5*2 = 26; MACs 16 * (6 + 10 + 10) = 416.
    assert tables["Totals"][1][:2] == ["26", "416"]
    memory = dict(zip(*tables["Memory at fp32 (bytes)"], strict=True))
    # 4 bytes each: params 26, input 48, plain sum 208, peak 144 (see test_summary).
    assert memory == {"Params": "104", "Input": "192", "Activations, plain sum": "832",
                      "Activations, peak (liveness)": "576", "Peak at layer": "res.c"}


def test_markdown_blocks_are_indented_by_level() -> None:
    text = render_report_markdown(summaries("liveness_inception", depth=3))
    assert "### Blocks to depth 3" in text
    assert "| &emsp;&emsp;mixed.b2.conv | conv | 1 | 216 | 3,456 |" in text
    assert "| &emsp;mixed.b2 |  | 2 | 228 | 3,648 |" in text
    assert "| mixed |  | 6 | 237 | 3,792 |" in text


# -- CSV -----------------------------------------------------------------------------------------

def read_csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(None not in r for r in rows)  # no row longer than the header
    return rows


def test_csv_has_one_header_and_exact_integers_from_the_engine() -> None:
    (summary,) = summaries("resnet50")
    text = render_report_csv([summary])
    assert text.count("architecture,section,") == 1
    rows = read_csv(text)
    layers = [r for r in rows if r["section"] == "layer"]
    assert [r["name"] for r in layers] == [row.path for row in summary.report.rows]
    for r, layer in zip(layers, summary.report.rows, strict=True):
        assert (int(r["params"]), int(r["macs"]), int(r["activations"])) == (
            layer.params, layer.macs, layer.activations)
        assert int(r["activation_bytes"]) == 4 * layer.activations
    (total,) = [r for r in rows if r["section"] == "total"]
    # ResNet-50: 25,557,032 params and 4,089,184,256 MACs (torchvision_counts.json).
    assert (int(total["params"]), int(total["macs"])) == (25_557_032, 4_089_184_256)
    assert sum(int(r["macs"]) for r in layers) == int(total["macs"])


def test_csv_sections_of_two_architectures() -> None:
    rows = read_csv(render_report_csv(summaries("liveness_residual", "liveness_inception",
                                                depth=1)))
    comparison = [r for r in rows if r["section"] == "comparison"]
    assert [(r["name"], r["params"], r["peak_activation_bytes"]) for r in comparison] == [
        ("liveness_residual", "26", str(4 * 144)), ("liveness_inception", "237", str(4 * 288))]
    assert float(comparison[1]["params_ratio"]) == pytest.approx(237 / 26, abs=1e-6)
    kinds = [(r["kind"], r["macs"], r["params"]) for r in rows
             if r["section"] == "kind" and r["architecture"] == "liveness_inception"]
    assert kinds == [("conv 3x3", "3456", "216"), ("conv 1x1", "336", "21")]
    blocks = [(r["name"], r["level"], r["layers"]) for r in rows
              if r["section"] == "block" and r["architecture"] == "liveness_inception"]
    assert blocks == [("mixed", "1", "6"), ("pool", "1", "1")]
    assert not [r for r in rows if r["section"] == "layer"]  # folded instead


# -- JSON ----------------------------------------------------------------------------------------

def test_json_keeps_the_analyze_contract_and_adds_the_summaries() -> None:
    (summary,) = summaries("liveness_inception", depth=1)
    data = json.loads(render_report_json([summary]))
    assert data["schema"] == 1
    (entry,) = data["reports"]
    added = ("memory", "by_kind", "top", "blocks")
    assert {k: v for k, v in entry.items() if k not in added} == json.loads(
        json.dumps(report_dict(summary.report)))
    assert entry["memory"] == {"param_bytes": 948, "input_bytes": 192,
                               "activation_bytes": 4 * 409,
                               "peak_activation_bytes": 4 * 288, "peak_at": "mixed.concat"}
    assert [(k["kind"], k["macs"]) for k in entry["by_kind"]] == [("conv 3x3", 3456),
                                                                  ("conv 1x1", 336)]
    assert entry["top"] == ["mixed.b2.conv", "mixed.b2.reduce", "mixed.b1.conv", "mixed.b3.proj"]
    assert [b["name"] for b in entry["blocks"]] == ["mixed", "pool"]
    assert data["comparison"][0]["ratios"]["macs"] == 1


def test_json_sections_left_out_are_null() -> None:
    summary = summarize(report_of("liveness_residual"), by_type=False, top=0)
    (entry,) = json.loads(render_report_json([summary]))["reports"]
    assert (entry["by_kind"], entry["top"], entry["blocks"]) == (None, None, None)


# -- HTML ----------------------------------------------------------------------------------------

class Page(HTMLParser):
    """Everything the tests look at in an HTML report."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.headings: dict[str, list[str]] = {"h2": [], "h3": [], "title": []}
        self.rects_per_svg: list[int] = []
        self.text: list[str] | None = None
        self.in_svg = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag == "svg":
            self.rects_per_svg.append(0)
            self.in_svg = True
        elif tag == "rect":
            self.rects_per_svg[-1] += 1
        elif tag in self.headings and not self.in_svg:
            self.text = []
        elif tag == "table":
            self.tables.append((self.headings["h3"][-1], []))
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self.text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.in_svg = False
        elif tag in self.headings and self.text is not None and not self.in_svg:
            self.headings[tag].append("".join(self.text))
            self.text = None
        elif tag in ("td", "th") and self.text is not None:
            self.tables[-1][1][-1].append("".join(self.text))
            self.text = None

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)


def parse_page(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def test_html_tables_and_chart_match_the_engine() -> None:
    (summary,) = summaries("mobilenet_v1")
    page = parse_page(render_report_html([summary]))
    tables = dict(page.tables)
    header, *rows = tables["Layers"]
    assert len(rows) == len(summary.report.rows)
    macs = header.index("MACs")
    assert [number(r[macs]) for r in rows] == [row.macs for row in summary.report.rows]
    # One bar per layer with multiplies: 1 conv + 13 depthwise + 13 pointwise + 1 dense.
    assert page.rects_per_svg[0] == 28
    kinds = {r[0]: r for r in tables["By layer kind"][1:]}
    assert kinds["conv 1x1"][3] == "94.86%"  # the paper's Table 2
    # Shares chart: two bars per kind plus two legend squares.
    assert page.rects_per_svg[1] == 2 * len(kinds) + 2


def test_html_is_self_contained() -> None:
    text = render_report_html(summaries("resnet50", "liveness_inception"))
    page = parse_page(text)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    for name, value in page.attrs:
        if name != "xmlns":  # it names the SVG namespace; nothing fetches it
            assert name not in ("src", "href")
            assert not (value or "").startswith(("http", "//"))
    assert "url(" not in text and "@import" not in text
    assert page.headings["h2"] == ["resnet50", "liveness_inception"]
    assert page.tables[0][0] == "Comparison"


# -- LaTeX ---------------------------------------------------------------------------------------

def tex_cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)&", line.removesuffix(r" \\"))


def test_tex_uses_booktabs_and_keeps_every_row_aligned() -> None:
    text = render_report_tex(summaries("resnet50", "liveness_inception", "hostile", depth=2))
    tables = text.count(r"\begin{longtable}")
    # The header is repeated on every page of a long table: two top and mid rules each.
    assert tables == text.count(r"\bottomrule") == text.count(r"\end{longtable}") == (
        text.count(r"\toprule") // 2) == text.count(r"\midrule") // 2
    assert r"\hline" not in text
    for block in text.split(r"\begin{longtable}")[1:]:
        # a first column of names takes what the others leave: p{\convcalcname}
        spec = re.match(r"\{@\{\}(>\{[^{}]*\}p\{\\convcalcname\})?([lr]*)@\{\}\}", block)
        assert spec is not None
        columns = bool(spec.group(1)) + len(spec.group(2))
        body = block.split(r"\endfoot")[1].split(r"\end{longtable}")[0]
        rows = [line for line in body.splitlines() if line.endswith(r"\\")]
        assert rows and all(len(tex_cells(r)) == columns for r in rows)
    assert r"\hspace*{1em}layer1.0 &" in text


# -- hostile names in every format ---------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile() -> Report:
    return report_of("hostile")


def test_hostile_names_are_what_the_file_says(hostile: Report) -> None:
    assert hostile.name.startswith('<script>alert("x")</script> & 100% $5 #1 _a_')
    assert [r.path for r in hostile.rows] == ["_x_", "a__b_", "pool_", "flat", "fc_1"]


def test_hostile_markdown(hostile: Report) -> None:
    text = render_report_markdown([summarize(hostile), summarize(hostile)])
    assert "<script" not in text and "<img" not in text
    heading = next(line for line in text.splitlines() if line.startswith("## "))
    assert markdown_unescape(heading[3:]) == hostile.name
    assert not re.search(r"(?<!\\)[|*_`\[\]$]", heading)
    tables = markdown_tables(text)
    comparison = tables[0][1]
    assert [row[0] for row in comparison[1:]] == [hostile.name, hostile.name]
    layers = next(rows for title, rows in tables if title == "Layers")
    assert [row[0] for row in layers[1:]] == ["_x_", "a__b_", "pool_", "flat", "fc_1"]
    lines = text.splitlines()
    assert markdown_unescape(lines[lines.index(heading) + 2].removesuffix("  ")) == (
        hostile.description)


def test_hostile_csv(hostile: Report) -> None:
    rows = read_csv(render_report_csv([summarize(hostile), summarize(hostile)]))
    assert {r["architecture"] for r in rows} == {"", hostile.name}
    assert [r["name"] for r in rows if r["section"] == "layer"][:5] == [
        "_x_", "a__b_", "pool_", "flat", "fc_1"]


def test_hostile_json(hostile: Report) -> None:
    (entry,) = json.loads(render_report_json([summarize(hostile)]))["reports"]
    assert (entry["name"], entry["description"], entry["source"]) == (
        hostile.name, hostile.description, hostile.source)


def test_hostile_html(hostile: Report) -> None:
    text = render_report_html([summarize(hostile), summarize(hostile)])
    assert "<script" not in text and "<img" not in text
    page = parse_page(text)
    assert "script" not in page.tags and "img" not in page.tags
    assert page.headings["h2"] == [hostile.name, hostile.name]
    assert page.headings["title"][0] == f"convcalc report: {hostile.name}, {hostile.name}"
    assert page.tables[0][1][1][0] == hostile.name
    layers = dict(page.tables)["Layers"]
    assert [r[0] for r in layers[1:]] == ["_x_", "a__b_", "pool_", "flat", "fc_1"]
    assert all("onerror" not in name for name, _ in page.attrs)


def test_tex_escape_by_hand() -> None:
    # < > | print as other glyphs in LaTeX's default OT1 encoding, so they are commands too.
    assert tex_escape(r"a\b & 100% $5 #1 _x_ {y} ~z ^w <s> |") == (
        r"a\textbackslash{}b \& 100\% \$5 \#1 \_x\_ \{y\} \textasciitilde{}z "
        r"\textasciicircum{}w \textless{}s\textgreater{} \textbar{}")


def test_hostile_tex(hostile: Report) -> None:
    text = render_report_tex([summarize(hostile), summarize(hostile)])
    assert rf"\subsection*{{{tex_escape(hostile.name)}}}" in text
    # layer paths may break after a '_' or '.' that a letter follows
    assert r"\_\penalty100{}x\_ &" in text and r"a\_\_\penalty100{}b\_ &" in text
    for line in text.splitlines():
        if line.startswith(("%", r"\ifdefined", r"\settowidth", r"\ifdim", r"\setlength",
                            r"\begingroup", r"\begin{longtable}")):
            continue  # the tables' own set-up, the same for every table
        # Once our own commands are removed, no special character is left unescaped.
        bare = re.sub(r"\\(begin|end|caption|subsection\*|hspace\*)\{[^{}]*\}"
                      r"(\[[tb]\]\{@\{\}[lr]@\{\}\})?|\$\\times\$|@\{\}|\\def\\convcalcmeasure\{|\\begin\{tabular\}\{[lr]*@\{\}\}|"
                      r"\\(toprule|midrule|bottomrule|endhead|endfirsthead|endfoot|endgroup|par|"
                      r"raggedright|allowbreak\{\}|penalty100\{\}|newline|textbackslash\{\}|"
                      r"textasciitilde\{\}|textasciicircum\{\}|textless\{\}|textgreater\{\}|"
                      r"textbar\{\})|\\caption\[\]", "", line)
        bare = re.sub(r"\\[&%$#_{}\\]", "", bare)
        measure = line.startswith(r"\def\convcalcmeasure")  # the widest cells, to measure
        if line.endswith(r" \\") or measure:  # rows: their column separators are meant
            bare = bare.replace(" & ", " ").removesuffix("}%" if measure else "")
        assert not re.search(r"[&%$#_^~<>|]", bare), line


@pytest.mark.parametrize("format_", FORMATS)
def test_every_format_renders_the_hostile_file(hostile: Report, format_: str) -> None:
    text = render_report([summarize(hostile, depth=1)], format_)
    assert "<script>" not in text or format_ in ("csv", "json")


# -- Chromium ------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_html_renders_in_headless_chromium(tmp_path: Path, hostile: Report) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report_html([summarize(report_of("mobilenet_v1")),
                                        summarize(hostile)]), encoding="utf-8")
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    rendered = parse_page(dom)
    assert rendered.headings["h2"] == ["mobilenet_v1", hostile.name]
    assert "script" not in rendered.tags
    # The comparison chart, then two charts and the layer graph per network.
    assert len(rendered.rects_per_svg) == 7
    shot = tmp_path / "report.png"
    subprocess.run([*flags, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
