"""Readers and writers of other formats: each turns its format into convcalc's graph or back.

Only these modules import a format library (onnx), and only when they are used.
"""

from convcalc.analysis import NETWORK_INPUT, LayerRow
from convcalc.architecture import Architecture


def export(arch: Architecture, to: str) -> str:
    """The text of ``arch`` in the format ``to``: 'pytorch' (a module file) or 'yaml'."""
    if to == "pytorch":
        from convcalc.formats.torch_writer import write_torch

        return write_torch(arch)
    from convcalc.formats.yaml_writer import write_yaml

    return write_yaml(arch)


def output_row(rows: tuple[LayerRow, ...], path: str) -> int:
    """The index of the row holding the tensor of the node ``path``: its own row, else the
    last row it resolved into (PATH.suffix), else the network input."""
    for i in range(len(rows) - 1, -1, -1):
        if rows[i].path == path:
            return i
    for i in range(len(rows) - 1, -1, -1):
        if rows[i].path.startswith(path + "."):
            return i
    return NETWORK_INPUT
