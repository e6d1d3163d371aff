"""Readers and writers of other formats: each turns its format into convcalc's graph or back.

ONNX is decoded here without the onnx package (onnx_proto, onnx_eval).
"""

from convcalc.graph.architecture import Architecture


def export(arch: Architecture, to: str, batch: int = 1, seed: int = 0) -> str | bytes:
    """``arch`` in the format ``to``: 'pytorch' (a module file), 'yaml' (text) or 'onnx' (the
    bytes of a model for ``batch`` images with random weights from ``seed``)."""
    if to == "onnx":
        from convcalc.formats.onnx_writer import write_onnx

        return write_onnx(arch, batch=batch, seed=seed)
    if to == "pytorch":
        from convcalc.formats.torch_writer import write_torch

        return write_torch(arch)
    from convcalc.formats.yaml_writer import write_yaml

    return write_yaml(arch)

