"""Time from counts: each layer's memory traffic, and its latency on a device's roofline.

Pure functions of a layer's figures and a device profile, which the analysis calls as it makes
each row; no files, no numpy.

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from convcalc.display import Shown
from convcalc.graph.layers import Conv, Dense

if TYPE_CHECKING:
    from convcalc.graph.layers import Layer, Merge, Window
    from convcalc.graph.shapes import Shape

# The classes a profile may give an efficiency: what kind of multiplies a layer does.
EFFICIENCY_CLASSES = ("conv", "pointwise", "depthwise", "grouped", "dense", "other")
BOUNDS = ("compute", "memory")


@dataclass(frozen=True)
class Device(Shown):
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


class Devices(Shown, tuple[Device, ...]):
    """Several device profiles (``convcalc.devices()``): a tuple that prints, and shows in a
    notebook, as ``convcalc devices``' table."""

    __slots__ = ()


def efficiency_class(layer: "Layer | Merge", window: "Window | None", input: "Shape") -> str:
    """'conv', 'pointwise' (1x1), 'depthwise', 'grouped' or 'dense' for layers that multiply,
    'other' for the rest; from a row's layer, window and (first) input."""
    if isinstance(layer, Conv) and window is not None:
        if window.groups > 1:
            return "depthwise" if window.groups == input.c else "grouped"
        return "pointwise" if window.kernel == (1, 1) else "conv"
    if isinstance(layer, Dense):
        return "dense"
    return "other"


def bytes_moved(layer: "Layer | Merge", inputs: "Sequence[Shape]", output: "Shape", params: int,
                batch: int, dtype_bytes: int) -> int:
    """The bytes a layer reads and writes: its input tensors and output per image, its weights
    once (see the module docstring)."""
    if layer.view:
        return 0
    activations = sum(s.elements for s in inputs) + output.elements
    return (batch * activations + params) * dtype_bytes


def layer_seconds(macs: int, moved: int, kind_class: str, device: Device) -> tuple[float, str]:
    """(seconds, bound) of one layer on ``device``: the slower of its two roofs, plus the
    per-layer overhead."""
    compute = macs / (device.macs_per_second * device.efficiency.get(kind_class, 1.0))
    memory = moved / device.bytes_per_second
    bound = "compute" if macs and compute >= memory else "memory"
    return max(compute, memory) + device.overhead_seconds, bound
