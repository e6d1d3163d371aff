"""A ``Report`` as a diagram to draw: one box per layer (or per block, folded with
``summary.fold``), one link per tensor a box reads from another, the text each carries and
the share of the chosen metric that fills it, laid out by ``layout``. Formatting only: every
number comes from the report's rows and the fold's blocks."""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from convcalc.analysis.report import NETWORK_INPUT, LayerRow, Report
from convcalc.analysis.summary import Block, fold
from convcalc.errors import ConvcalcError, one_line, suggestion
from convcalc.graph.layers import Conv
from convcalc.limits import MAX_DRAWN_BOXES
from convcalc.present.drawing.layout import Layout, layout
from convcalc.present.grid import human, human_bytes, human_seconds
from convcalc.present.table import input_text, table_title, window_text
from convcalc.vocabulary import COLOR_METRICS

METRICS = COLOR_METRICS
METRIC_TITLES = {"macs": "MACs", "params": "params", "seconds": "time",
                 "activations": "activations", "bytes_moved": "bytes moved"}

FONT_PX = 11.0  # the box's first line; the others and the edge labels are SMALL_PX
SMALL_PX = 10.0
CHAR = 0.62  # advance of a monospace character, in em (DejaVu Sans Mono 0.602, Menlo 0.602)
LINE_PX = 14.0
PAD_PX = 7.0
BOX_HEIGHT = 3 * LINE_PX + 2 * PAD_PX - 2
NAME_CHARS = 44  # a longer name keeps its end, which tells layers apart
LABEL_GAP_PX = 6.0  # around an edge label on a box's top

# Fill by share of the metric: white for none, then five steps of the largest share's halves.
FILLS = ("#ffffff", "#fdf0dc", "#fbdcb0", "#f9c27f", "#f5a04d", "#ec7f2a")


@dataclass(frozen=True)
class Box:
    """One drawn box: a layer, a block of layers or the network input."""

    name: str
    kind: str  # the layer kind with its window ('conv 7x7/2 p3'), 'N layers' or 'input'
    shape: str  # the output shape
    value: float | None  # the metric (None for the network input)
    text: str  # the metric as shown
    share: float  # of the metric's total
    level: int  # index into FILLS
    side: bool
    output: bool  # a tensor the network returns
    details: tuple[tuple[str, str], ...]  # for a tooltip: every figure of the layer or block


@dataclass(frozen=True)
class Link:
    """An edge: the tensor ``source`` produces, read by ``target``."""

    source: int
    target: int
    shape: str
    side: bool


@dataclass(frozen=True)
class Diagram:
    """A network ready to draw: its boxes and links, laid out, with what colours them."""

    title: str
    metric: str
    total: str  # the metric's total, as shown in the legend
    boxes: tuple[Box, ...]
    links: tuple[Link, ...]
    layout: Layout
    legend: tuple[tuple[str, str], ...]  # (fill, what it means)


def text_px(text: str, size: float = SMALL_PX) -> float:
    """Width of ``text`` in the drawing's monospace font at ``size`` pixels."""
    return len(text) * CHAR * size


def visible(text: str) -> str:
    """A name as it may be drawn: characters that are not printable (controls, bidirectional
    overrides, U+FFFE and the others XML forbids) spelled as Python escapes, so that nothing
    from a file can break the markup or hide text."""
    return one_line(text)


def shortened(name: str) -> str:
    """A name of at most NAME_CHARS characters, its start left out when longer."""
    return name if len(name) <= NAME_CHARS else "…" + name[-(NAME_CHARS - 1):]


def metric_text(metric: str, value: float) -> str:
    if metric == "seconds":
        return human_seconds(value)
    if metric == "bytes_moved":
        return human_bytes(int(value))
    return human(int(value))


def check_metric(metric: str, report: Report) -> None:
    """Refuse a metric that is not one of METRICS, and time without a device."""
    if metric not in METRICS:
        raise ConvcalcError(f"colour metric '{metric}' must be one of {', '.join(METRICS)}"
                            + suggestion(metric, METRICS))
    if metric == "seconds" and report.totals.seconds is None:
        raise ConvcalcError("colouring by seconds needs a device profile: give --device "
                            "PROFILE (see 'convcalc devices')")


def diagram(report: Report, *, depth: int | None = None, metric: str = "macs") -> Diagram:
    """The diagram of ``report``: every row a box, or with ``depth`` the rows folded into
    blocks of up to that many path components; boxes filled by their share of ``metric``."""
    check_metric(metric, report)
    rows = report.rows
    # The box of each row: itself, or the block of its path's first ``depth`` components.
    if depth is None:
        keys = [row.path for row in rows]
        blocks: dict[str, Block] = {}
    else:
        # Side branches fold too (they are drawn, dashed, whether or not they are counted).
        folded = fold(dataclasses.replace(report, include_side=True), depth)
        blocks = {b.path: b for b in folded}
        keys = [".".join(row.path.split(".")[:depth]) for row in rows]
    index: dict[str, int] = {}
    members: list[list[LayerRow]] = []
    for row, key in zip(rows, keys, strict=True):
        if key not in index:
            index[key] = len(members) + 1  # box 0 is the network input
            members.append([])
        members[index[key] - 1].append(row)
    if len(members) >= MAX_DRAWN_BOXES:
        fits = readable_depth(report, MAX_DRAWN_BOXES - 1)
        hint = (f"fold the layers into blocks with --depth {fits}"
                if fits and fits != depth and _boxes(report, fits) < MAX_DRAWN_BOXES
                else "draw a smaller network")
        raise ConvcalcError(f"the drawing would have {len(members) + 1:,} boxes; it may have "
                            f"at most {MAX_DRAWN_BOXES:,}: {hint}")
    box_of = [index[key] for key in keys]
    total = _total(report, metric)
    values = [_value(report, group, blocks.get(key), metric)
              for key, group in zip(index, members, strict=True)]
    largest = max(values, default=0.0)
    outputs = {box_of[r] if r != NETWORK_INPUT else 0 for r in report.outputs}

    links: list[Link] = []
    seen: set[tuple[int, int]] = set()
    for position, row in enumerate(rows):
        target = box_of[position]
        for source_row in row.inputs:
            source = 0 if source_row == NETWORK_INPUT else box_of[source_row]
            if source == target or (depth is not None and (source_row, target) in seen):
                continue  # inside one block, or a tensor the block already reads
            seen.add((source_row, target))
            shape = report.input if source_row == NETWORK_INPUT else rows[source_row].output
            side = row.side or (source_row != NETWORK_INPUT and rows[source_row].side)
            links.append(Link(source, target, str(shape), side))

    boxes = [Box("input", "input", str(report.input), None, "", 0.0, 0, False, 0 in outputs,
                 (("input", str(report.input)),))]
    for key, group, value in zip(index, members, values, strict=True):
        boxes.append(_box(report, key, group, blocks.get(key), metric, value, total, largest,
                          index[key] in outputs))
    into: list[list[Link]] = [[] for _ in boxes]
    for link in links:
        into[link.target].append(link)
    sizes = [_size(box, links_in) for box, links_in in zip(boxes, into, strict=True)]
    placed = layout(sizes, [(link.source, link.target) for link in links])
    title = table_title(report) + (f", folded to depth {depth}" if depth is not None else "")
    return Diagram(visible(title), metric, metric_text(metric, total), tuple(boxes),
                   tuple(links), placed, _legend(largest, total))


READABLE_BOXES = 80  # a page's worth of boxes: about how many a report can show legibly


def readable_depth(report: Report, most: int = READABLE_BOXES) -> int | None:
    """The deepest folding that draws at most ``most`` boxes (1 if even that draws more), or
    None when every layer fits unfolded."""
    deepest = max((row.path.count(".") + 1 for row in report.rows), default=1)
    chosen = 1
    for depth in range(1, deepest + 1):
        if _boxes(report, depth) > most:
            break
        chosen = depth
    else:
        return None
    return chosen


def _boxes(report: Report, depth: int) -> int:
    """How many blocks the rows fold into at ``depth``."""
    return len({tuple(row.path.split(".")[:depth]) for row in report.rows})


def _total(report: Report, metric: str) -> float:
    return float(getattr(report.totals, metric) or 0)


def _value(report: Report, rows: Sequence[LayerRow], block: Block | None, metric: str) -> float:
    """The metric of one box: the row's, or the block's sum from ``summary.fold``."""
    if block is None:
        return float(getattr(rows[0], metric) or 0)
    return float(getattr(block, metric) or 0)


def _level(value: float, largest: float) -> int:
    """FILLS index: 0 for nothing, 5 for over half the largest share, 4 for over a quarter..."""
    if value <= 0 or largest <= 0:
        return 0
    level = len(FILLS) - 1
    bound = largest / 2
    while level > 1 and value <= bound:
        level -= 1
        bound /= 2
    return level


def _legend(largest: float, total: float) -> tuple[tuple[str, str], ...]:
    """What each fill means, as shares of the total."""
    if largest <= 0 or total <= 0:
        return ((FILLS[0], "0%"),)

    def percent(value: float) -> str:
        return f"{100 * value / total:.3g}%"

    items = [(FILLS[0], "0%")]
    bound = largest / 2 ** (len(FILLS) - 2)
    items.append((FILLS[1], f"up to {percent(bound)}"))
    for level in range(2, len(FILLS)):
        items.append((FILLS[level], f"{percent(bound)} to {percent(2 * bound)}"))
        bound *= 2
    return tuple(items)


def _box(report: Report, key: str, rows: Sequence[LayerRow], block: Block | None, metric: str,
         value: float, total: float, largest: float, output: bool) -> Box:
    last = rows[-1]
    if len(rows) == 1 and rows[0].path == key:
        row = rows[0]
        kind = row.kind + (f" {window_text(row.window, groups=isinstance(row.layer, Conv))}"
                           if row.window else "")
        inputs = input_text(report, row)
        figures = [("kind", kind), ("input", inputs), ("output", str(row.output)),
                   ("params", f"{row.params:,}"), ("MACs", f"{row.macs:,}"),
                   ("activations", f"{row.activations:,}"),
                   ("bytes moved", f"{row.bytes_moved:,}")]
        if row.seconds is not None:
            figures.append(("time", human_seconds(row.seconds)))
    else:
        kind = f"{len(rows):,} layers"
        figures = [("layers", f"{len(rows):,}"), ("output", str(last.output))]
        if block is not None:
            figures += [("params", f"{block.params:,}"), ("MACs", f"{block.macs:,}"),
                        ("activations", f"{block.activations:,}"),
                        ("bytes moved", f"{block.bytes_moved:,}")]
            if block.seconds is not None:
                figures.append(("time", human_seconds(block.seconds)))
    share = value / total if total else 0.0
    text = f"{METRIC_TITLES[metric]} {metric_text(metric, value)}" + (
        f" · {100 * share:.3g}%" if value and total else "")
    side = all(r.side for r in rows)
    if side:
        figures.append(("side branch", "not counted" if not report.include_side else "counted"))
    name = visible(key)
    return Box(name, visible(kind), str(last.output), value, text, share,
               _level(value, largest), side, output,
               tuple((label, visible(v)) for label, v in [("name", key), *figures]))


def _size(box: Box, into: Sequence[Link]) -> tuple[float, float]:
    """A box wide enough for its three lines and for every incoming edge's label on its top."""
    lines = max(text_px(shortened(box.name), FONT_PX),
                text_px(f"{box.kind} · {box.shape}"), text_px(box.text))
    width = lines + 2 * PAD_PX
    if len(into) == 1:  # the label sits right of the edge, from the middle of the top
        width = max(width, 2 * (text_px(into[0].shape) + 2 * LABEL_GAP_PX))
    elif into:  # one section of the top per edge, its label centred on it
        width = max(width, len(into) * (max(text_px(link.shape) for link in into)
                                        + 2 * LABEL_GAP_PX))
    return round(width, 1), BOX_HEIGHT
