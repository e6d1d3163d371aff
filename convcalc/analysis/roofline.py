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

A profile may also carry its runtime's rules (all off by default, as for PyTorch eager):
- ``fuses``: layer kinds the runtime runs inside the convolution before them (ONNX Runtime folds
  batch norm, ReLU/Clip/HardSwish/HardSigmoid and a residual add into it; a 'mul' of x by
  sigmoid(x) into the sigmoid, as one SiLU). A fused row moves no bytes and pays no overhead:
  its ``seconds`` are 0 and its ``bound`` is 'fused' (``fused_rows``).
- ``channel_block``: convolutions compute on channels padded to a multiple of it (ONNX Runtime's
  NCHWc layout: 16 with AVX-512, 8 with AVX2), so ``macs`` x padded / counted channels is what
  runs. A grouped convolution whose groups are not whole blocks, or a depthwise one whose
  channels are not a multiple of ALIGNMENT, runs on a slow path instead: one small matrix
  product per group, which with n output channels per group reaches n / (n + slow_channels)
  of the peak rate; a plain convolution whose channels are not a multiple of ALIGNMENT runs
  unblocked (unpadded) at the usual rate (``channel_path``).
- ``combine``: 'max' (the roofline) or 'sum' (compute plus memory time per layer).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from convcalc.display import Shown
from convcalc.errors import ConvcalcError
from convcalc.graph.layers import ACTIVATION_OPS, Conv, Dense
from convcalc.limits import DEVICE_FIGURES, MIN_EFFICIENCY

if TYPE_CHECKING:
    from convcalc.graph.layers import Layer, Merge, Window
    from convcalc.graph.shapes import Shape

# The classes a profile may give an efficiency: what kind of multiplies a layer does.
EFFICIENCY_CLASSES = ("conv", "pointwise", "depthwise", "grouped", "dense", "other")
BOUNDS = ("compute", "memory", "fused")
COMBINES = ("max", "sum")
# The kinds a profile may say its runtime fuses: element-wise layers after a convolution.
FUSABLE = ("batchnorm", *ACTIVATION_OPS, "add", "mul")
# Channel counts the blocked convolutions need: ONNX Runtime's NCHWc transformer leaves a
# convolution whose channels are not a multiple of 4 in its plain kernels.
ALIGNMENT = 4


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
    runtime: str = ""
    fuses: tuple[str, ...] = ()
    channel_block: int = 1
    slow_channels: float = 0.0
    combine: str = "max"

    def __post_init__(self) -> None:
        for key in DEVICE_FIGURES:
            check_figure(key, getattr(self, key))
        for kind, fraction in self.efficiency.items():
            check_efficiency(kind, fraction)


def check_figure(key: str, value: object) -> float:
    """``value`` of the device figure ``key`` ('macs_per_second', 'bytes_per_second',
    'overhead_seconds'), a ConvcalcError unless it is a number within its physical bounds
    (``limits.DEVICE_FIGURES``)."""
    least, most = DEVICE_FIGURES[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            least <= value <= most):  # NaN fails both comparisons
        raise ConvcalcError(f"{key} {value!r} must be a number from {least:g} to {most:g}")
    return float(value)


def check_efficiency(kind: str, fraction: object) -> float:
    """The efficiency of the layer class ``kind``: a ConvcalcError unless ``kind`` is one of
    EFFICIENCY_CLASSES and ``fraction`` a fraction of the peak from MIN_EFFICIENCY to 1."""
    if kind not in EFFICIENCY_CLASSES:
        raise ConvcalcError(f"efficiency for unknown class '{kind}'; classes: "
                            f"{', '.join(EFFICIENCY_CLASSES)}")
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not (
            MIN_EFFICIENCY <= fraction <= 1):
        raise ConvcalcError(f"efficiency {kind} {fraction!r} must be a fraction of the peak: "
                            f"from {MIN_EFFICIENCY:g} to 1")
    return float(fraction)


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


def _padded(channels: int, block: int) -> int:
    return -(-channels // block) * block


def channel_path(layer: "Layer | Merge", window: "Window | None", input: "Shape",
                 output: "Shape", block: int) -> tuple[float, int]:
    """(multiplies run per multiply counted, output channels per group on the slow path or 0)
    of a layer whose runtime blocks channels by ``block`` (see the module docstring); (1, 0)
    for layers that are not convolutions and for ``block`` 1.

    Measured with ONNX Runtime 1.32 on single-layer graphs (one AVX-512 thread): a depthwise
    3x3 on 96, 100 and 104 channels runs at the rate of 96, 112 and 112 (padded to blocks of
    16), on 98 channels 4x slower; grouped 3x3s with 8 groups of 8, 12, 24 channels at 0.33,
    0.45 and 0.63 of the rate of groups of 16, 32 and 48 (n / (n + 16)); a 1x1 or 3x3
    convolution with 98 channels near the normal rate (plain kernels, unpadded), with 100
    channels as 112."""
    if block == 1 or not isinstance(layer, Conv) or window is None:
        return 1.0, 0
    c_in, c_out, groups = input.c, output.c, window.groups
    if groups > 1 and groups == c_in:  # depthwise: its channels are blocked, padded
        if c_in % ALIGNMENT:
            return 1.0, c_out // groups
        return _padded(c_out, block) / c_out, 0
    if groups > 1:  # grouped: blocked only when each group is whole blocks
        whole = (c_in // groups) % block == 0 and (c_out // groups) % block == 0
        return 1.0, 0 if whole else c_out // groups
    if c_out % ALIGNMENT or (c_in >= block and c_in % ALIGNMENT):
        return 1.0, 0  # plain kernels: no padding, about the normal rate
    # An input narrower than the block (an RGB image) is read unpadded.
    padded_in = _padded(c_in, block) if c_in >= block else c_in
    return padded_in * _padded(c_out, block) / (c_in * c_out), 0


def layer_seconds(macs: int, moved: int, kind_class: str, device: Device, *,
                  padding: float = 1.0, slow: int = 0,
                  fused: bool = False) -> tuple[float, str]:
    """(seconds, bound) of one layer on ``device``: the slower of its two roofs (or their sum,
    as the profile combines them), plus the per-layer overhead; 0 for a fused layer.
    ``padding`` and ``slow`` (output channels per group on the slow path, or 0) come from
    ``channel_path``."""
    if fused:
        return 0.0, "fused"
    efficiency = (slow / (slow + device.slow_channels) if slow
                  else device.efficiency.get(kind_class, 1.0))
    compute = macs * padding / (device.macs_per_second * efficiency)
    memory = moved / device.bytes_per_second
    bound = "compute" if macs and compute >= memory else "memory"
    both = compute + memory if device.combine == "sum" else max(compute, memory)
    seconds = both + device.overhead_seconds
    if not math.isfinite(seconds):  # the figures' bounds keep it finite; a result never is inf
        raise ConvcalcError(f"takes {seconds} seconds on {device.name}")
    return seconds, bound
