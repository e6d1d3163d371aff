"""Pure rewrites of an architecture (width multiplier, input resolution, separable <-> standard
convolutions) and comparisons of designs.

Each rewrite takes an ``Architecture`` and returns a new one; the analysis then counts it as
usual, so no cost is ever computed here.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from convcalc.analysis import Report, analyze
from convcalc.architecture import (
    Architecture,
    Leaf,
    Node,
    Residual,
    map_leaves,
    map_sequences,
)
from convcalc.errors import ConvcalcError, suggestion
from convcalc.layers import Activation, BatchNorm, Conv, Depthwise, Layer, Padding, Pointwise
from convcalc.limits import MAX_SWEEP_CELLS, MAX_WIDTH
from convcalc.roofline import Device
from convcalc.shapes import Shape, checked_shape


def make_divisible(value: float, divisor: int) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``), never
    more than 10% below ``value``: torchvision's ``_make_divisible`` for MobileNetV2."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def with_width(arch: Architecture, multiplier: float) -> Architecture:
    """Every scaled convolution's filters times ``multiplier``, rounded by the architecture's
    ``channel_divisor``. Depthwise layers follow their input; dense layers keep their units."""
    if not 0 < multiplier <= MAX_WIDTH:
        raise ConvcalcError(f"width {multiplier} must be above 0 and at most {MAX_WIDTH:g}")

    def scale(leaf: Leaf) -> tuple[Leaf]:
        layer = leaf.layer
        if not isinstance(layer, Conv) or not layer.filters or layer.scale is False or (
                layer.scale == "up" and multiplier <= 1):
            return (leaf,)
        filters = make_divisible(layer.filters * multiplier, arch.channel_divisor)
        return (replace(leaf, layer=replace(layer, filters=filters)),)

    return replace(arch, layers=map_leaves(arch.layers, scale), width=arch.width * multiplier)


def with_input(arch: Architecture, shape: Shape) -> Architecture:
    """The same network on another input size (the resolution multiplier)."""
    return replace(arch, input=checked_shape(shape))


# -- conversions ---------------------------------------------------------------------------------

CONVERSIONS = ("separable", "standard")


@dataclass(frozen=True)
class Conversion:
    """A converted architecture and, for each layer path it created, what it replaced
    ('conv' for the halves of a split convolution, 'depthwise+pointwise' for a fused pair)."""

    arch: Architecture
    changed: Mapping[str, str]


def convert(arch: Architecture, to: str, include_stem: bool = False) -> Conversion:
    """``arch`` rewritten to ``to``: 'separable' or 'standard' (see the two functions)."""
    if to == "separable":
        return to_separable(arch, include_stem)
    if to == "standard":
        return to_standard(arch)
    raise ConvcalcError(f"conversion '{to}' must be one of {', '.join(CONVERSIONS)}"
                        f"{suggestion(to, CONVERSIONS)}")


def _is_standard(layer: Layer) -> bool:
    """A plain, ungrouped convolution (not a depthwise or pointwise one)."""
    return type(layer) is Conv and layer.groups == 1


def _first_conv(nodes: tuple[Node, ...]) -> Leaf | None:
    found: list[Leaf] = []

    def note(leaf: Leaf) -> tuple[Leaf]:
        if not found and isinstance(leaf.layer, Conv):
            found.append(leaf)
        return (leaf,)

    map_leaves(nodes, note)
    return found[0] if found else None


def to_separable(arch: Architecture, include_stem: bool = False) -> Conversion:
    """Every standard k x k convolution with k > 1 becomes depthwise k x k (same stride, padding
    and dilation, no bias) + pointwise 1x1 (the filters, bias and width rule), as
    ``PATH.dw`` + ``PATH.pw``: the output shape is kept. The stem (the network's first
    convolution) stays unless ``include_stem``, as MobileNet keeps its first layer full."""
    stem = None if include_stem else _first_conv(arch.layers)
    changed: dict[str, str] = {}

    def split(leaf: Leaf) -> tuple[Leaf, ...]:
        layer = leaf.layer
        if leaf is stem or not _is_standard(layer) or not isinstance(layer, Conv) or (
                layer.kernel == (1, 1)):
            return (leaf,)
        dw = Depthwise(kernel=layer.kernel, stride=layer.stride, padding=layer.padding,
                       dilation=layer.dilation, bias=False)
        pw = Pointwise(filters=layer.filters, bias=layer.bias, scale=layer.scale)
        changed[f"{leaf.path}.dw"] = changed[f"{leaf.path}.pw"] = "conv"
        return (Leaf(f"{leaf.path}.dw", leaf.line, dw), Leaf(f"{leaf.path}.pw", leaf.line, pw))

    layers = map_leaves(arch.layers, split)
    return Conversion(replace(arch, name=f"{arch.name} (separable)", layers=layers), changed)


# Layers that may sit between a depthwise and its pointwise and vanish with the fusion: they act
# per channel on the depthwise output, which a full convolution does not produce.
_BETWEEN = (BatchNorm, Activation)


def to_standard(arch: Architecture) -> Conversion:
    """Every depthwise convolution followed, in the same sequence, by a pointwise one becomes one
    full convolution with the depthwise's kernel, stride, padding and dilation and the
    pointwise's filters, bias and width rule: the MobileNet paper's "full convolution" model.

    Batch norm and activations between the two are dropped: in MobileNet v1 a block is
    dw-bn-relu-pw-bn-relu and the full convolution model is conv-bn-relu, so what follows the
    pointwise stays and what normalised the depthwise output goes with it. A pair with anything
    else between them, or a pointwise given by 'expansion' or with a stride or groups, is left
    as it is. The fused layer is named after the pair's common prefix ('b1.dw' + 'b1.pw' ->
    'b1'), else 'DW+PW'."""
    changed: dict[str, str] = {}

    def fuse(nodes: tuple[Node, ...]) -> tuple[Node, ...]:
        out: list[Node] = []
        i = 0
        while i < len(nodes):
            node = nodes[i]
            j = i + 1
            while j < len(nodes) and isinstance(nodes[j], Leaf) and isinstance(
                    nodes[j].layer, _BETWEEN):  # type: ignore[union-attr]
                j += 1
            pw = nodes[j] if j < len(nodes) else None
            if (isinstance(node, Leaf) and isinstance(node.layer, Depthwise)
                    and isinstance(pw, Leaf) and type(pw.layer) is Pointwise
                    and pw.layer.filters and pw.layer.stride == (1, 1)
                    and pw.layer.groups == 1):
                dw = node.layer
                conv = Conv(filters=pw.layer.filters, kernel=dw.kernel, stride=dw.stride,
                            padding=dw.padding, dilation=dw.dilation, bias=pw.layer.bias,
                            scale=pw.layer.scale)
                path = _fused_path(node.path, pw.path)
                changed[path] = "depthwise+pointwise"
                out.append(Leaf(path, node.line, conv))
                i = j + 1
            else:
                out.append(node)
                i += 1
        return tuple(out)

    layers = map_sequences(arch.layers, fuse)
    return Conversion(replace(arch, name=f"{arch.name} (standard)", layers=layers), changed)


def _fused_path(dw: str, pw: str) -> str:
    dw_parent, _, dw_name = dw.rpartition(".")
    pw_parent, _, pw_name = pw.rpartition(".")
    if dw_parent and dw_parent == pw_parent and (dw_name, pw_name) == ("dw", "pw"):
        return dw_parent
    return f"{dw}+{pw}"


# -- comparisons -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """Several analysed networks side by side; ratios are to the first."""

    reports: tuple[Report, ...]

    def ratio(self, index: int, quantity: str) -> float:
        """reports[index]'s total ``quantity`` ('params', 'macs', 'seconds', ...) over the
        first's."""
        first: float = getattr(self.reports[0].totals, quantity) or 0
        value: float = getattr(self.reports[index].totals, quantity) or 0
        return value / first if first else float("nan")


def compare(archs: Sequence[Architecture], dtype: str = "fp32", batch: int = 1,
            device: Device | None = None) -> Comparison:
    """The networks analysed with the same settings, to be read side by side."""
    return Comparison(tuple(analyze(a, dtype=dtype, batch=batch, device=device)
                            for a in archs))


@dataclass(frozen=True)
class Design:
    """One way to build a layer: its name ('standard', 'separable', ...) and the analysis of the
    tiny network it is."""

    name: str
    report: Report

    @property
    def output(self) -> Shape:
        return self.report.rows[-1].output


@dataclass(frozen=True)
class LayerComparison:
    """Designs of one layer (input, f x f kernel, filters) side by side; the first is the
    standard convolution, which ratios are taken to."""

    input: Shape
    kernel: int
    filters: int
    designs: tuple[Design, ...]

    def ratio(self, design: Design) -> float:
        """The design's multiplies over the standard convolution's."""
        return design.report.totals.macs / self.designs[0].report.totals.macs

    def seconds_ratio(self, design: Design) -> float | None:
        """The design's roofline time over the standard convolution's (None without a
        device)."""
        first, value = self.designs[0].report.totals.seconds, design.report.totals.seconds
        return value / first if first and value is not None else None

    def closed_form(self) -> tuple[str, float]:
        """MobileNet's separable / standard ratio 1/N + 1/f^2, written out and evaluated."""
        n, f = self.filters, self.kernel
        return f"1/N + 1/f² = 1/{n} + 1/{f * f}", 1 / n + 1 / (f * f)


def compare_designs(input_: Shape, kernel: int, filters: int, *, padding: Padding = 0,
                    stride: int = 1, bottleneck: int | None = None,
                    expansion: float | None = None, bias: bool = False, batch: int = 1,
                    device: Device | None = None) -> LayerComparison:
    """One layer built as the standard f x f convolution, depthwise-separable, and (when asked)
    with a 1x1 bottleneck of ``bottleneck`` channels and as MobileNetV2's inverted residual
    with expansion ``expansion``; each is a tiny architecture counted by ``analyze``, so the
    numbers are the engine's. Only convolutions are built (no batch norm or activations): the
    comparison is about the multiplies of the convolutions. The inverted residual adds its
    input back when the shapes allow (one add per element, in other ops). Given a device,
    each design also gets its roofline time."""
    checked_shape(input_)
    if bottleneck is not None and bottleneck < 1:
        raise ConvcalcError(f"bottleneck {bottleneck} must be at least 1 channel")
    if expansion is not None and expansion <= 0:
        raise ConvcalcError(f"expansion {expansion:g} must be above 0")
    f, s = (kernel, kernel), (stride, stride)
    standard = Conv(filters=filters, kernel=f, stride=s, padding=padding, bias=bias)
    depthwise = Depthwise(kernel=f, stride=s, padding=padding, bias=False)
    designs: dict[str, tuple[Node, ...]] = {
        "standard": (Leaf("conv", None, standard),),
        "separable": (Leaf("dw", None, depthwise),
                      Leaf("pw", None, Pointwise(filters=filters, bias=bias))),
    }
    if bottleneck is not None:
        designs["bottleneck"] = (Leaf("reduce", None, Pointwise(filters=bottleneck, bias=bias)),
                                 Leaf("conv", None, standard))
    if expansion is not None:
        main = (Leaf("expand", None, Pointwise(expansion=expansion, bias=bias)),
                Leaf("dw", None, replace(depthwise, bias=bias)),
                Leaf("project", None, Pointwise(filters=filters, bias=bias)))
        designs["inverted-residual"] = (Residual("", None, main, "if_same", False, False),)
    return LayerComparison(input_, kernel, filters, tuple(
        Design(name, analyze(Architecture(name, "", "", input_, nodes, ""), batch=batch,
                             device=device))
        for name, nodes in designs.items()))




@dataclass(frozen=True)
class SweepCell:
    """The totals of one (width, input) combination."""

    width: float
    input: Shape
    params: int
    macs: int
    seconds: float | None = None


@dataclass(frozen=True)
class Sweep:
    """A network's parameters and multiplies over a grid of width multipliers and input sizes
    (the MobileNet papers' tables), width-major."""

    name: str
    cells: tuple[SweepCell, ...]


def sweep(arch: Architecture, widths: Sequence[float], inputs: Sequence[Shape], *,
          batch: int = 1, device: Device | None = None) -> Sweep:
    """``arch`` analysed at every width in ``widths`` and input in ``inputs``, each exactly as
    ``analyze`` counts ``with_width(with_input(arch, input), width)`` (for ``batch`` images, and
    timed on ``device`` when given)."""
    if len(widths) * len(inputs) > MAX_SWEEP_CELLS:
        raise ConvcalcError(f"{len(widths)} widths x {len(inputs)} inputs is more than "
                            f"{MAX_SWEEP_CELLS:,} combinations; sweep fewer values")
    cells = []
    for width in widths:
        for shape in inputs:
            totals = analyze(with_width(with_input(arch, shape), width), batch=batch,
                             device=device).totals
            cells.append(SweepCell(width, shape, totals.params, totals.macs, totals.seconds))
    return Sweep(arch.name, tuple(cells))
