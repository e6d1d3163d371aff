"""Readers and writers of other formats: each turns its format into convcalc's graph or back.

ONNX is decoded here without the onnx package (onnx_proto, onnx_eval).
"""

from convcalc.graph.architecture import Architecture


def export(arch: Architecture, to: str) -> str:
    """The text of ``arch`` in the format ``to``: 'pytorch' (a module file) or 'yaml'."""
    if to == "pytorch":
        from convcalc.formats.torch_writer import write_torch

        return write_torch(arch)
    from convcalc.formats.yaml_writer import write_yaml

    return write_yaml(arch)

