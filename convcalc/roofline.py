"""Time from counts: each layer's memory traffic, and its latency on a device's roofline.

Pure functions of a row and a device profile; no files, no numpy.

- ``bytes_moved`` = (batch x (elements of every input tensor read + elements of the output
  written) + weight elements) x dtype bytes. A merge reads all its inputs; weights are read once
  per batch. Layers that move nothing at inference (``view`` layers: flatten and channel slices
  are views, dropout, stochastic depth and identity pass their input on) move 0 bytes.
- ``seconds`` = max(macs / (macs_per_second x efficiency), bytes_moved / bytes_per_second)
  + overhead_seconds, where ``efficiency`` is the fraction of the peak multiply rate the layer's
  class (``efficiency_class``) reaches, 1 unless the profile says otherwise (Williams, Waterman
  and Patterson, "Roofline", CACM 2009, with a per-kind ceiling).
- ``bound`` is 'compute' when the multiply term is the larger, else 'memory'.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from convcalc.errors import ConvcalcError
from convcalc.layers import Conv, Dense
from convcalc.limits import MAX_BATCH

if TYPE_CHECKING:
    from convcalc.analysis import LayerRow, Report
    from convcalc.shapes import Shape

# The classes a profile may give an efficiency: what kind of multiplies a layer does.
EFFICIENCY_CLASSES = ("conv", "pointwise", "depthwise", "grouped", "dense", "other")
BOUNDS = ("compute", "memory")


@dataclass(frozen=True)
class Device:
    """A device profile: its peak multiply rate and memory bandwidth at ``dtype``, an optional
    fixed cost per layer, and the efficiency (a fraction of the peak multiply rate) that some
    classes of layer reach. ``figures`` says what the numbers are: 'peak' (from datasheets,
    cited per figure in ``sources``) or 'calibrated' (fitted to measured latencies)."""

    name: str
    macs_per_second: float
    bytes_per_second: float
    dtype: str
    overhead_seconds: float = 0.0
    efficiency: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    figures: str = "peak"
    sources: Mapping[str, str] = field(default_factory=dict)


def efficiency_class(row: "LayerRow") -> str:
    """'conv', 'pointwise' (1x1), 'depthwise', 'grouped' or 'dense' for layers that multiply,
    'other' for the rest."""
    if isinstance(row.layer, Conv) and row.window is not None:
        groups = row.window.groups
        if groups > 1:
            return "depthwise" if groups == row.input.c else "grouped"
        return "pointwise" if row.window.kernel == (1, 1) else "conv"
    if isinstance(row.layer, Dense):
        return "dense"
    return "other"


def bytes_moved(row: "LayerRow", inputs: "Sequence[Shape]", batch: int, dtype_bytes: int) -> int:
    """The bytes a layer reads and writes: its input tensors and output per image, its weights
    once (see the module docstring)."""
    if row.layer.view:
        return 0
    activations = sum(s.elements for s in inputs) + row.output.elements
    return (batch * activations + row.params) * dtype_bytes


def layer_seconds(macs: int, moved: int, kind_class: str, device: Device) -> tuple[float, str]:
    """(seconds, bound) of one layer on ``device``: the slower of its two roofs, plus the
    per-layer overhead."""
    compute = macs / (device.macs_per_second * device.efficiency.get(kind_class, 1.0))
    memory = moved / device.bytes_per_second
    bound = "compute" if macs and compute >= memory else "memory"
    return max(compute, memory) + device.overhead_seconds, bound


def cost_rows(rows: "Sequence[LayerRow]", dtype_bytes: int, batch: int,
              device: Device | None) -> "tuple[LayerRow, ...]":
    """The rows of one image at ``batch`` images: multiplies, other ops and activations scaled,
    parameters not; each with its bytes moved and, given a device, its seconds and bound."""
    if not 1 <= batch <= MAX_BATCH:
        raise ConvcalcError(f"batch {batch} must be from 1 to {MAX_BATCH:,}")
    out = []
    for row in rows:
        moved = bytes_moved(row, row.input_shapes, batch, dtype_bytes)
        macs = row.macs * batch
        seconds, bound = (layer_seconds(macs, moved, efficiency_class(row), device)
                          if device is not None else (None, None))
        out.append(replace(row, batch=batch, macs=macs, other_ops=row.other_ops * batch,
                           bytes_moved=moved, seconds=seconds, bound=bound))
    return tuple(out)


def network_seconds(report: "Report", device: Device) -> float:
    """The seconds of a report's counted rows on ``device`` (whatever device it was analysed
    for): the sum of the layers' roofline times, one layer after another."""
    total = 0.0
    for row in report.counted():
        total += layer_seconds(row.macs, row.bytes_moved, efficiency_class(row), device)[0]
    return total

