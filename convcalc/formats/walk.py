"""The walk the model writers share: the rows a written model computes, in order."""

from collections.abc import Iterator

from convcalc.analysis.report import LayerRow, Report
from convcalc.graph.shapes import Shape


def inference_rows(report: Report) -> Iterator[tuple[int, LayerRow]]:
    """(position in ``report.rows``, row) of every row that inference computes: side branches
    (auxiliary classifiers) are left out. Rows name their inputs by that position."""
    for i, row in enumerate(report.rows):
        if not row.side:
            yield i, row


def torch_dim(shape: Shape, axis: int) -> int:
    """The dim of convcalc's ``axis`` of ``shape`` in the layout both model writers use:
    the batch first, an image NCHW, any other rank in convcalc's order."""
    a = axis % shape.rank
    return (2, 3, 1)[a] if shape.is_image else a + 1
