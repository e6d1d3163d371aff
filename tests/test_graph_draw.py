"""The layer-graph drawing: its geometry checked from the laid-out coordinates (no two boxes
overlap, no edge runs through a box, layers top to bottom, crossings counted from the routes
against hand counts), hostile names in SVG, HTML and DOT, and what each box says."""

import dataclasses
import itertools
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import DATA

import convcalc
from convcalc import Report, analyze, load
from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.graph.architecture import Architecture, rename_inputs
from convcalc.present.drawing import (
    Drawing,
    diagram,
    draw_report,
    render_dot,
    render_html,
    render_svg,
)
from convcalc.present.drawing.layout import Layout, Rect, layout

EPS = 1e-6
SVG = "{http://www.w3.org/2000/svg}"


def overlap(a: Rect, b: Rect) -> bool:
    """Whether the interiors of two rectangles meet."""
    return (a.x < b.right - EPS and b.x < a.right - EPS
            and a.y < b.bottom - EPS and b.y < a.bottom - EPS)


def spans(p: tuple[float, float], q: tuple[float, float]) -> Rect:
    """The rectangle two consecutive route points span: a vertical run is that line, and a
    curve between them (leaving and arriving vertically) stays inside it."""
    return Rect(min(p[0], q[0]), min(p[1], q[1]), abs(p[0] - q[0]), abs(p[1] - q[1]))


def touches_inside(segment: Rect, box: Rect) -> bool:
    """Whether a route piece reaches into a box's interior; a vertical line (zero width)
    counts when its x is strictly inside the box."""
    inside_x = (box.x + EPS < segment.x < box.right - EPS if segment.width == 0
                else segment.x < box.right - EPS and box.x < segment.x + segment.width - EPS)
    return inside_x and segment.y < box.bottom - EPS and box.y < segment.y + segment.height - EPS


def check_geometry(placed: Layout, edges: Sequence[tuple[int, int]]) -> None:
    boxes = placed.boxes
    by_top = sorted(range(len(boxes)), key=lambda i: boxes[i].y)
    for n, i in enumerate(by_top):  # boxes sorted by top: only later ones can meet it
        for j in by_top[n + 1:]:
            if boxes[j].y >= boxes[i].bottom:
                break
            assert not overlap(boxes[i], boxes[j]), (i, j, boxes[i], boxes[j])
    for (s, t), route in zip(edges, placed.routes, strict=True):
        assert (route.source, route.target) == (s, t)
        start, end = route.points[0], route.points[-1]
        # Forward edges leave the source's bottom and enter the target's top, which is lower.
        assert start[1] == pytest.approx(boxes[s].bottom)
        assert boxes[s].x <= start[0] <= boxes[s].right
        assert end[1] == pytest.approx(boxes[t].y)
        assert boxes[t].x <= end[0] <= boxes[t].right
        assert boxes[t].y > boxes[s].bottom
        for p, q in itertools.pairwise(route.points):
            assert p[0] == q[0] or p[1] < q[1]  # vertical, or downwards through a gap
            piece = spans(p, q)
            for k, box in enumerate(boxes):
                assert not touches_inside(piece, box), (s, t, k, p, q, box)


def geometric_crossings(placed: Layout) -> int:
    """Pairs of routes whose ends at the two sides of a gap between ranks come in opposite
    orders: two such curves (the same vertical profile) cross once there; a shared end is no
    crossing."""
    tops = sorted({b.y for b in placed.boxes})
    bottoms = [max(b.bottom for b in placed.boxes if b.y == top) for top in tops]
    gaps = list(zip(bottoms, tops[1:], strict=False))
    count = 0
    for y0, y1 in gaps:
        ends = []
        for route in placed.routes:
            for p, q in itertools.pairwise(route.points):
                if p[1] <= y0 + EPS and q[1] >= y1 - EPS:
                    ends.append((p[0], q[0]))
        for (a0, a1), (b0, b1) in itertools.combinations(ends, 2):
            if (a0 - b0) * (a1 - b1) < -EPS:
                count += 1
    return count


def graph_of(report: Report) -> tuple[list[tuple[float, float]], list[tuple[int, int]]]:
    d = diagram(report)
    return ([(b.width, b.height) for b in d.layout.boxes],
            [(link.source, link.target) for link in d.links])


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "inception_v3", "googlenet",
                                  "densenet121", "unet"])
def test_builtins_boxes_do_not_overlap_and_edges_avoid_boxes(name: str) -> None:
    report = analyze(load(name))
    d = diagram(report)
    # One box per row and one for the input; one edge per input a row reads.
    assert len(d.boxes) == len(report.rows) + 1
    assert len(d.links) == sum(len(r.inputs) for r in report.rows)
    check_geometry(d.layout, [(link.source, link.target) for link in d.links])
    assert geometric_crossings(d.layout) == d.layout.crossings


def test_folded_graph_is_laid_out_too() -> None:
    d = diagram(analyze(load("googlenet")), depth=1)
    check_geometry(d.layout, [(link.source, link.target) for link in d.links])
    names = [b.name for b in d.boxes]
    # Depth 1 folds every inception module into one box, and the side branches too.
    assert "inception3a" in names and "aux1" in names
    assert not any("." in n for n in names)


SQUARE = (44.0, 30.0)


@pytest.mark.parametrize(("edges", "fewest"), [
    # A tree: never a crossing.
    ([(0, 1), (0, 2), (1, 3), (1, 4), (2, 5), (2, 6)], 0),
    # Two diamonds in a row, drawn from a tangled node order: 0.
    ([(0, 2), (0, 1), (1, 4), (2, 3), (3, 5), (4, 5), (5, 6), (5, 7), (6, 8), (7, 8)], 0),
    # Sources listed against their targets' order: 0 -> 5, 1 -> 4, 2 -> 3 untangles to 0.
    ([(0, 5), (1, 4), (2, 3), (0, 3)], 0),
    # K2,2 between two ranks: one crossing whatever the order (C(2,2)·C(2,2)).
    ([(0, 2), (0, 3), (1, 2), (1, 3)], 1),
    # K3,3: C(3,2)·C(3,2) = 9 for any two-rank drawing.
    ([(a, b) for a in range(3) for b in range(3, 6)], 9),
])
def test_crossings_reach_the_hand_count(edges: list[tuple[int, int]], fewest: int) -> None:
    n = 1 + max(max(e) for e in edges)
    placed = layout([SQUARE] * n, edges)
    check_geometry(placed, edges)
    assert geometric_crossings(placed) == fewest
    assert placed.crossings == fewest


def test_long_edges_and_backward_edges() -> None:
    # 0 -> 3 spans three ranks; 4 -> 1 points backwards in the node order and is drawn from 4.
    edges = [(0, 1), (1, 2), (2, 3), (0, 3), (3, 4), (4, 1)]
    placed = layout([SQUARE] * 5, edges)
    route = placed.routes[3]
    assert len(route.points) > 2
    back = placed.routes[5]
    assert (back.source, back.target) == (4, 1)
    assert back.points[0][1] == pytest.approx(placed.boxes[1].bottom) or back.points[0][1] == (
        pytest.approx(placed.boxes[4].y))


def test_a_merge_shows_every_input() -> None:
    report = analyze(load("inception_module"))
    d = diagram(report)
    concat = next(i for i, b in enumerate(d.boxes) if b.kind == "concat")
    into = [(link, route) for link, route in zip(d.links, d.layout.routes, strict=True)
            if link.target == concat]
    assert len(into) == 4
    # Four separate ports, left to right, each labelled with its branch's shape.
    ends = sorted(route.points[-1][0] for _, route in into)
    assert all(b - a > 20 for a, b in itertools.pairwise(ends))
    assert sorted(link.shape for link, _ in into) == sorted(
        ["28x28x64", "28x28x128", "28x28x32", "28x28x32"])


def test_box_text_and_fill_follow_the_report() -> None:
    report = analyze(load("bottleneck_example"))
    d = diagram(report)
    names = [b.name for b in d.boxes]
    assert names == ["input", "bottleneck", "conv"]
    bottleneck, conv = d.boxes[1], d.boxes[2]
    # docs/lecture.md: 2,408,448 + 10,035,200 = 12,443,648 MACs; the 5x5 conv is the larger share.
    assert conv.share == pytest.approx(10_035_200 / 12_443_648)
    assert bottleneck.share == pytest.approx(2_408_448 / 12_443_648)
    assert conv.level == 5  # the largest share gets the darkest fill
    # 2,408,448 / 10,035,200 = 0.24: between an eighth and a quarter of the largest -> level 3
    assert bottleneck.level == 3
    assert conv.text == "MACs 10M · 80.6%"
    assert conv.shape == "28x28x32" and conv.kind == "conv 5x5/1 p2"
    assert d.boxes[0].output is False and conv.output is True


def test_side_branches_are_dashed() -> None:
    d = diagram(analyze(load("googlenet")))
    side = {b.name for b in d.boxes if b.side}
    assert side and all(n.startswith(("aux1", "aux2")) for n in side)
    svg = render_svg(d)
    dashed = re.findall(r'<rect class="box side[^"]*"', svg)
    assert len(dashed) == len(side)
    assert svg.count('class="edge side"') == sum(1 for link in d.links if link.side) > 0


def test_color_by_other_metrics_and_refusals() -> None:
    report = analyze(load("resnet18"))
    d = diagram(report, metric="params")
    fc = next(b for b in d.boxes if b.name == "fc")
    assert fc.value == 513_000  # 512·1000 + 1000 bias
    with pytest.raises(ConvcalcError, match=r"^colouring by seconds needs a device profile"):
        diagram(report, metric="seconds")
    with pytest.raises(ConvcalcError, match=r"did you mean 'macs'\?"):
        diagram(report, metric="mac")


def hostile_report() -> Report:
    arch = load(DATA / "liveness_residual.yaml")
    names = ['<script>alert("x")</script>', "a&b\x01\x1b[31m", "]]>\ufffe\uffff",
             "\u202eevil\"'", "line\nbreak\\N"]
    renamed = {n.path: names[i % len(names)] + str(i) for i, n in enumerate(arch.nodes)}
    nodes = tuple(dataclasses.replace(rename_inputs(n, renamed), path=renamed[n.path])
                  for n in arch.nodes)
    hostile = Architecture('<svg onload="x">&\x00\ufffe', arch.description, arch.source,
                           arch.input, nodes, arch.file,
                           outputs=tuple(renamed[p] for p in arch.outputs))
    return analyze(hostile)


XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def test_hostile_names_make_valid_svg() -> None:
    svg = render_svg(diagram(hostile_report()))
    assert not XML_FORBIDDEN.search(svg)
    root = ET.fromstring(svg)  # parses: every name escaped
    texts = "".join(root.itertext())
    assert '<script>alert("x")</script>0' in texts  # shown as text, not markup
    assert "\\x01" in texts and "\\ufffe" in texts and "\\u202e" in texts
    assert not root.findall(f".//{SVG}script")
    names = [g.get("data-name") for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    assert names[1] == '<script>alert("x")</script>0'


def test_hostile_names_in_html_and_dot() -> None:
    d = diagram(hostile_report())
    page = render_html(d)
    assert not XML_FORBIDDEN.search(page)
    assert "<script>alert" not in page and page.count("<script>") == 1
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    dot = render_dot(d)
    # Every quoted string ends where it should: no raw quote, newline or lone backslash.
    lines = dot.splitlines()
    assert len(lines) == 5 + len(d.boxes) + len(d.links) + 1  # one statement a line
    for line in lines:
        rest = re.sub(r'"((?:[^"\\]|\\.)*)"', "", line)
        assert '"' not in rest and "\\" not in rest, line
    assert '\\"x\\"' in dot  # the quote in alert("x")
    # The newline is spelled \n (two characters) and then escaped, as is the backslash of \N,
    # so dot breaks no line and substitutes no node name.
    assert "line\\\\nbreak\\\\N4" in dot


def test_html_fetches_nothing() -> None:
    page = render_html(diagram(analyze(load("resnet18")), depth=1))
    assert not re.search(r"\b(src|href)\s*=", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page
    # The only URL is the SVG namespace, which names and fetches nothing.
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count("<svg") == 1 and "<script>" in page


def test_dot_is_a_digraph_of_every_box_and_link() -> None:
    d = diagram(analyze(load("inception_module")))
    dot = render_dot(d)
    assert dot.startswith('digraph "inception_module')
    assert len(re.findall(r'^\s*"n\d+" \[label=', dot, re.MULTILINE)) == len(d.boxes)
    assert len(re.findall(r'^\s*"n\d+" -> "n\d+"', dot, re.MULTILINE)) == len(d.links)


def test_drawing_shows_itself_and_saves(tmp_path: pytest.TempPathFactory) -> None:
    drawing = draw_report(analyze(load("lenet5")), color="params")
    assert isinstance(drawing, Drawing)
    assert drawing._repr_svg_() == drawing.svg
    assert drawing.svg in drawing._repr_html_()
    for suffix in ("svg", "html", "dot"):
        path = tmp_path / f"lenet.{suffix}"  # type: ignore[operator]
        drawing.save(path)
        assert path.read_text(encoding="utf-8") == drawing.text(suffix)
    with pytest.raises(ConvcalcError,
                       match=r"^cannot tell the drawing format of .*lenet\.png. from its ext"):
        drawing.save(tmp_path / "lenet.png")  # type: ignore[operator]


def test_too_many_boxes_is_refused_with_a_depth_that_fits(tmp_path: pytest.TempPathFactory
                                                            ) -> None:
    # 3,400 residual blocks of conv, relu and add: 10,200 layers, 10,201 boxes with the input;
    # folded to depth 1, 3,401.
    block = ("  - residual: {name: r%d, layers: [{conv: {filters: 2, kernel: 1}}, relu], "
             "shortcut: identity}")
    text = "\n".join(["name: many", "input: 2x2x2", "layers:",
                      *(block % i for i in range(3400))]) + "\n"
    path = tmp_path / "many.yaml"  # type: ignore[operator]
    path.write_text(text, encoding="utf-8")
    report = analyze(load(path))
    assert len(report.rows) == 10_200
    with pytest.raises(ConvcalcError, match=r"^the drawing would have 10,201 boxes; it may have "
                       r"at most 10,000: fold the layers into blocks with --depth 1$"):
        diagram(report)
    assert len(diagram(report, depth=1).boxes) == 3_401


def test_blocks_that_read_each_other_are_drawn_with_the_edge_reversed() -> None:
    # a.x -> b.y -> a.z: folded to depth 1, block a reads block b and b reads a, a cycle; the
    # edge back is laid out reversed and drawn from b up to a.
    arch = load(DATA / "liveness_residual.yaml")
    chain = [n for n in arch.nodes if len(n.inputs) == 1][:3]
    renamed = dict(zip([n.path for n in chain], ["a.x", "b.y", "a.z"], strict=True))
    nodes = tuple(dataclasses.replace(rename_inputs(n, renamed), path=renamed[n.path])
                  for n in chain)
    report = analyze(Architecture("cycle", "", "", arch.input, nodes, arch.file))
    d = diagram(report, depth=1)
    assert [b.name for b in d.boxes] == ["input", "a", "b"]
    assert [(link.source, link.target) for link in d.links] == [(0, 1), (1, 2), (2, 1)]
    boxes = d.layout.boxes
    back = d.layout.routes[2]
    assert (back.source, back.target) == (2, 1)
    assert back.points[0][1] == pytest.approx(boxes[2].y)  # leaves b's top
    assert back.points[-1][1] == pytest.approx(boxes[1].bottom)  # arrives at a's bottom
    assert not overlap(boxes[1], boxes[2])
    ET.fromstring(render_svg(d))


# -- the public API and the command ---------------------------------------------------------------


def test_convcalc_draw_loads_analyzes_and_draws() -> None:
    drawing = convcalc.draw("resnet18", input=64, depth=1, color="params")
    assert isinstance(drawing, Drawing)
    assert drawing.diagram.title == "resnet18 @64 — input 64x64x3, folded to depth 1"
    assert drawing.diagram.metric == "params"
    report = analyze(load("resnet18"))
    assert len(convcalc.draw(report).diagram.boxes) == len(report.rows) + 1
    with pytest.raises(ConvcalcError, match=r"^a Report is drawn as it was analyzed"):
        convcalc.draw(report, width=0.5)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["graph", *args])


def test_cli_writes_each_format_by_extension(tmp_path: Path) -> None:
    for suffix in ("svg", "html", "dot"):
        target = tmp_path / f"g.{suffix}"
        result = run("inception_module", "-o", str(target))
        assert result.exit_code == 0, result.output
        assert result.output == ""
        assert target.read_text(encoding="utf-8") == convcalc.draw("inception_module").text(
            suffix)
    ET.parse(tmp_path / "g.svg")


def test_cli_stdout_is_svg_unless_format(tmp_path: Path) -> None:
    result = run("lenet5", "--depth", "1", "--color", "activations")
    assert result.exit_code == 0
    ET.fromstring(result.output)
    assert "fill: share of activations" in result.output
    dot = run("lenet5", "--format", "dot")
    assert dot.exit_code == 0 and dot.output.startswith('digraph "lenet5')
    # --format wins over the extension.
    target = tmp_path / "g.svg"
    assert run("lenet5", "--format", "dot", "-o", str(target)).exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("digraph")


def test_cli_device_and_seconds() -> None:
    result = run("mobilenet_v2", "--device", "raspberry_pi4", "--color", "seconds",
                 "--depth", "1")
    assert result.exit_code == 0, result.output
    assert "fill: share of time" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["lenet5", "--color", "seconds"], r"colouring by seconds needs a device profile"),
    (["lenet5", "-o", "{tmp}/g.png"], r"cannot tell the drawing format of '.*g\.png'"),
    (["no_such_net"], r"no_such_net"),
    (["lenet5", "--depth", "0"], r"--depth"),
    (["lenet5", "--color", "flops"], r"--color"),
], ids=["seconds-without-device", "extension", "unknown-arch", "depth-0", "color"])
def test_cli_refusals_exit_2_in_one_line(args: list[str], message: str, tmp_path: Path
                                        ) -> None:
    result = run(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.exit_code == 2
    assert re.search(message, result.output)
    assert result.output.strip().count("\n") == 0 or "Usage:" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_cli_help() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for option in ("-o, --output", "--format", "--depth", "--color", "--device", "--input",
                   "--width", "Examples:"):
        assert option in result.output
    assert "graph" in CliRunner().invoke(main, ["--help"]).output


def test_html_report_embeds_the_graph_folded_to_a_readable_depth() -> None:
    from convcalc.analysis.summary import summarize
    from convcalc.present.report_formats import render_report_html

    page = render_report_html([summarize(analyze(load("resnet50"))),
                               summarize(analyze(load("vgg16")))])
    # resnet50: depth 1 gives 10 boxes, depth 2 conv1, bn1, relu, maxpool, 16 bottlenecks,
    # avgpool, flatten and fc (23 boxes, 24 with the input), depth 3 all 175 layers: 2 is the
    # deepest under 80. vgg16's 40 layers fit unfolded.
    assert "<h3>Layer graph, folded to depth 2</h3>" in page
    assert "<h3>Layer graph</h3>" in page
    graphs = re.findall(r'<div class="graph">(<svg.*?</svg>)', page, re.DOTALL)
    assert len(graphs) == 2
    first = ET.fromstring(graphs[0])
    nodes = [g for g in first.iter(f"{SVG}g") if g.get("class") == "node"]
    assert len(nodes) == 24
    assert {"layer1.0", "layer4.2", "fc"} <= {g.get("data-name") for g in nodes}


def test_graph_needs_neither_numpy_nor_graphviz(tmp_path: Path) -> None:
    # The drawing is pure Python: a fresh `convcalc graph` imports no numpy and starts no
    # process (no Graphviz binary).
    code = ("import subprocess, sys\n"
            "def refuse(*a, **k):\n    raise AssertionError('started a process')\n"
            "subprocess.Popen = refuse\n"
            "from convcalc.cli import main\n"
            f"try:\n    main(['graph', 'googlenet', '-o', {str(tmp_path / 'g.html')!r}])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print(' '.join(sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    modules = set(done.stderr.split())
    assert "numpy" not in modules and "convcalc.present.drawing.layout" in modules
    assert (tmp_path / "g.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
