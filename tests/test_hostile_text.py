"""Hostile input, round 3 (issue 24), text from inputs: names, layer paths, descriptions and
sources holding terminal controls (ESC [2J, OSC title sequences), newlines, characters XML
forbids (U+FFFE, U+0000) or spreadsheet formulas (=, +, -, @) reach no output raw. One sanitiser
(``errors.plain``) is applied by every renderer: the terminal table, --explain, Markdown, CSV,
HTML, LaTeX, SVG charts and the YAML writer; each document keeps the structure it has for a
plain name."""

import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.analysis.report import analyze
from convcalc.analysis.summary import summarize
from convcalc.cli import main
from convcalc.errors import plain
from convcalc.formats.loader import parse
from convcalc.formats.yaml_writer import write_yaml
from convcalc.graph.architecture import Architecture
from convcalc.present.explain import explain
from convcalc.present.grid import csv_cell
from convcalc.present.report_formats import render_report, report_charts
from convcalc.present.table import render_csv, render_markdown, render_table

PIECES = ["\x1b[2J", "\x1b]0;owned\x07", "\x1b]8;;http://x\x1b\\", "\n", "\r", "\t", "\x00",
          "\x08", "\x85", "\u202e", "\ufffe", "\uffff", "\udcff", "=HYPERLINK(1)", "+1", "-2+3",
          "@SUM(A1)", "}", "{", "\\", "#", "|", "<b>", "&", "x"]
TEXT = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)
# Characters a terminal obeys or XML forbids; newline and tab are checked per format.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\ufffe\uffff\ud800-\udfff]")

BASE = parse("name: net\ninput: 8x8x3\nlayers:\n  - conv: {name: c, filters: 4, kernel: 3}\n"
             "  - relu: {name: r}\n", file="net.yaml")


def hostile(name: str, path: str = "r") -> Architecture:
    """The small network with ``name`` as its name, description and source, and its second
    layer at ``path`` (an ONNX file can carry any of them)."""
    nodes = (BASE.nodes[0], replace(BASE.nodes[1], path=path))
    return replace(BASE, name=name, description=name, source=name, nodes=nodes,
                   outputs=(path,))


def documents(arch: Architecture) -> dict[str, str]:
    report = analyze(arch)
    summary = summarize(report)
    out = {f: render_report([summary], f) for f in ("md", "csv", "html", "tex", "json")}
    out |= {f"chart{i}": c.svg for i, c in enumerate(report_charts([summary]))}
    out |= {"table": str(render_table(report)), "layers.csv": render_csv(report),
            "layers.md": render_markdown(report), "explain": explain(report)}
    return out


PLAIN = documents(hostile("net", "r.s"))


@settings(max_examples=40, deadline=None)
@given(name=TEXT, path=TEXT)
def test_every_renderer_sanitises_text_from_inputs(name: str, path: str) -> None:
    docs = documents(hostile(name, "r.s" + path))
    for kind, text in docs.items():
        assert not FORBIDDEN.search(text), (kind, FORBIDDEN.search(text))
        if kind not in ("json", "html", "csv", "layers.csv") and not kind.startswith("chart"):
            # line structure as for a plain name: no heading, caption or row broken in two
            assert text.count("\n") == PLAIN[kind].count("\n"), kind
    for kind in ("csv", "layers.csv"):
        rows = list(csv.reader(io.StringIO(docs[kind])))
        assert len(rows) == len(list(csv.reader(io.StringIO(PLAIN[kind])))), kind
        for row in rows:
            for value in row:
                assert "\n" not in value and "\t" not in value
                if value[:1] in ("=", "+", "-", "@"):
                    float(value)  # only numbers may start like a formula
    for kind, svg in docs.items():
        if kind.startswith("chart"):
            ET.fromstring(svg)  # well-formed XML
    # the Markdown heading and the LaTeX subsection stay on one line each
    assert re.search(r"^## .*$", docs["md"], re.MULTILINE)
    subsection = re.search(r"\\subsection\*\{(.*)\}$", docs["tex"], re.MULTILINE)
    assert subsection is not None
    assert re.sub(r"\\[{}]", "", subsection.group(1)).count("{") == re.sub(
        r"\\[{}]", "", subsection.group(1)).count("}")
    # the YAML writer's file reads back, and names the network by the sanitised text
    assert parse(write_yaml(hostile(name)), file="again.yaml").name == plain(name)


def test_plain_escapes_what_it_must_and_keeps_the_rest() -> None:
    assert plain("a\x1b[2Jb\n\t\ufffe\x00") == "a\\x1b[2Jb\\n\\t\\ufffe\\x00"
    assert plain("plain, é, 日本, <&>") == "plain, é, 日本, <&>"


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+2", "'+1+2"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("-1.5", "-1.5"), ("+3", "+3"),
    ("conv", "conv"), (12, 12), ("=\n", "'=\\n")])
def test_csv_cells_that_would_be_formulas(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def onnx_with_hostile_strings(path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    np = pytest.importorskip("numpy")

    weight = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="\x1b[2J/conv\x1b]0;t\x07/Conv",
                            kernel_shape=[3, 3])
    graph = helper.make_graph(
        [node], "\x1b[2Jgraph", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                               [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="\x1b]0;owned\x07\x1b[2J",
                              producer_version="=1+2\n\ufffe")
    onnx.save(model, path)


@pytest.mark.parametrize("args", [
    ("report", "{m}"), ("report", "{m}", "--format", "csv"), ("report", "{m}", "--format", "tex"),
    ("report", "{m}", "--format", "html"), ("analyze", "{m}", "--explain"), ("analyze", "{m}"),
    ("export", "{m}", "--to", "yaml"), ("export", "{m}", "--to", "pytorch")],
    ids=["md", "csv", "tex", "html", "explain", "table", "yaml", "pytorch"])
def test_strings_of_an_onnx_file_reach_no_output_raw(args: tuple[str, ...],
                                                     tmp_path: Path) -> None:
    model = tmp_path / "m\x1b[7m.onnx"
    onnx_with_hostile_strings(model)
    result = CliRunner().invoke(main, [a.format(m=model) for a in args])
    assert result.exit_code == 0, result.output
    assert not FORBIDDEN.search(result.stdout), FORBIDDEN.search(result.stdout)


def test_an_imported_onnx_file_analyzes(tmp_path: Path) -> None:
    model = tmp_path / "m\x1b[7m.onnx"
    onnx_with_hostile_strings(model)
    out = tmp_path / "m.yaml"
    runner = CliRunner()
    assert runner.invoke(main, ["import", str(model), "-o", str(out)]).exit_code == 0
    result = runner.invoke(main, ["analyze", str(out)])  # it refused the YAML it was given
    assert result.exit_code == 0, result.output
