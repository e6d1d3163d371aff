"""Pure rewrites of an architecture (width multiplier, input resolution, separable <-> standard
convolutions) and comparisons of designs.

Each rewrite takes an ``Architecture`` and returns a new one; the analysis then counts it as
usual, so no cost is ever computed here.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from convcalc.analysis.report import Report, analyze
from convcalc.analysis.roofline import Device
from convcalc.display import Shown
from convcalc.errors import ConvcalcError, suggestion
from convcalc.graph.architecture import Architecture, Node, chain, rename_inputs
from convcalc.graph.expr import make_divisible
from convcalc.graph.layers import (
    Activation,
    Add,
    BatchNorm,
    Conv,
    ConvTranspose,
    Deferred,
    Dense,
    Depthwise,
    GlobalAvgPool,
    Layer,
    Merge,
    Mul,
    Padding,
    Pointwise,
)
from convcalc.graph.shapes import Shape, checked_shape
from convcalc.limits import MAX_DIM, MAX_SWEEP_CELLS, MAX_SWEEP_LAYERS, MAX_WIDTH
from convcalc.vocabulary import CONVERSIONS


def with_width(arch: Architecture, multiplier: float,
               max_channels: int | None = None) -> Architecture:
    """Every scaled convolution's (and transposed convolution's) filters, and every scaled dense
    layer's units, times ``multiplier``, rounded by the architecture's ``channel_divisor``
    (torchvision's _make_divisible); with ``max_channels``, each count is first capped there
    (Ultralytics' make_divisible(min(c, max_channels) * width, 8)). A layer's ``scale`` says
    whether it scales: convolutions do unless ``scale: false``, dense layers only with
    ``scale: true``, and ``scale: up`` only for multipliers above 1 (MobileNetV2's last 1280
    channels). Depthwise layers, and layers whose settings are formulas over ``in.c``, follow
    their input; split sections given as channel counts do not scale (give a number of equal
    sections). The result is named after the multiplier: 'mobilenet_v2 ×0.5'."""
    if isinstance(multiplier, bool) or not isinstance(multiplier, int | float) or not (
            0 < multiplier <= MAX_WIDTH):  # NaN fails the comparison
        raise ConvcalcError(f"width {multiplier!r} must be above 0 and at most {MAX_WIDTH:g}")
    cap = max_channels or MAX_DIM

    def scale(node: Node) -> Node:
        layer = node.layer
        if isinstance(layer, Dense):
            field, count = "units", layer.units
        elif isinstance(layer, Conv | ConvTranspose) and layer.filters:
            field, count = "filters", layer.filters
        else:
            return node
        if layer.scale is False or (layer.scale == "up" and multiplier <= 1):
            return node
        scaled = make_divisible(min(count, cap) * multiplier, arch.channel_divisor)
        if scaled > MAX_DIM:
            raise ConvcalcError(f"{field} {count} x width {multiplier:g} = {scaled:,} "
                                f"is more than {MAX_DIM:,}; use a smaller --width",
                                file=arch.file, line=node.line, path=node.path,
                                kind=layer.kind)
        resized = (replace(layer, units=scaled) if isinstance(layer, Dense)
                   else replace(layer, filters=scaled))
        return replace(node, layer=resized)

    return replace(arch, name=f"{arch.name} ×{multiplier:g}",
                   nodes=tuple(scale(n) for n in arch.nodes), width=arch.width * multiplier)


def with_input(arch: Architecture, shape: Shape) -> Architecture:
    """The same network on another input size (the resolution multiplier), named after it:
    'mobilenet_v2 @160' for 160x160 with the channels kept, else '@HxW' or '@HxWxC'. The same
    size keeps the name."""
    shape = checked_shape(shape)
    if shape == arch.input:
        return arch
    size = (str(shape.h) if shape.h == shape.w else f"{shape.h}x{shape.w}"
            ) if shape.c == arch.input.c and not shape.is_flat else str(shape)
    return replace(arch, name=f"{arch.name} @{size}", input=shape)


# -- conversions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Skipped:
    """A layer a conversion left as it was (a standard convolution, or a depthwise one and its
    would-be pointwise partner), and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Conversion:
    """A converted architecture; for each layer path it created, what it replaced ('conv' for
    the halves of a split convolution, 'depthwise+pointwise' for a fused pair); what it was
    asked for (``to``); the layers it left alone and why; and how many fused pairs had a
    squeeze-and-excitation gate between them (``gated``, which then gates the fused
    convolution's input)."""

    arch: Architecture
    changed: Mapping[str, str]
    to: str = ""
    skipped: tuple[Skipped, ...] = ()
    gated: int = 0

    @property
    def converted(self) -> int:
        """How many rewrites were made: convolutions split, or pairs fused."""
        return sum(1 for origin in self.changed.values() if origin != "conv") + sum(
            1 for path, origin in self.changed.items()
            if origin == "conv" and path.endswith(".pw"))

    def to_dict(self) -> dict[str, Any]:
        """The plain record: the ``conversions`` entries of the JSON output."""
        return {"network": self.arch.name, "to": self.to, "converted": self.converted,
                "across_gates": self.gated,
                "left_alone": [{"path": k.path, "reason": k.reason} for k in self.skipped]}


def convert(arch: Architecture, to: str, include_stem: bool = False) -> Conversion:
    """``arch`` rewritten to ``to``: 'separable' or 'standard' (see the two functions)."""
    if to == "separable":
        return to_separable(arch, include_stem)
    if to == "standard":
        return to_standard(arch)
    raise ConvcalcError(f"conversion '{to}' must be one of {', '.join(CONVERSIONS)}"
                        f"{suggestion(to, CONVERSIONS)}")


def _is_standard(layer: Layer | Merge) -> bool:
    """A plain, ungrouped convolution (not a depthwise or pointwise one)."""
    return type(layer) is Conv and layer.groups == 1


def _first_conv(nodes: tuple[Node, ...]) -> Node | None:
    return next((n for n in nodes if isinstance(n.layer, Conv | Deferred)
                 and n.layer.kind == "conv"), None)


def _taken(arch: Architecture) -> set[str]:
    """Every path a rewrite must not create again: the nodes' and their resolved rows'."""
    return {n.path for n in arch.nodes}


def to_separable(arch: Architecture, include_stem: bool = False) -> Conversion:
    """Every standard k x k convolution with k > 1 becomes depthwise k x k (same stride, padding
    and dilation, no bias) + pointwise 1x1 (the filters, bias and width rule), as
    ``PATH.dw`` + ``PATH.pw``: the output shape is kept; layers that read PATH read PATH.pw.
    The stem (the network's first convolution) stays unless ``include_stem``, as MobileNet
    keeps its first layer full. A convolution whose halves' paths are taken stays as it is, and
    so does one sized by formulas over ``in.c`` (it is only built at analysis time); each is
    named in ``skipped``."""
    stem = None if include_stem else _first_conv(arch.nodes)
    changed: dict[str, str] = {}
    renamed: dict[str, str] = {}
    skipped: list[Skipped] = []
    taken = _taken(arch)
    nodes: list[Node] = []
    for original in arch.nodes:
        node = rename_inputs(original, renamed)
        layer = node.layer
        dw_path, pw_path = f"{node.path}.dw", f"{node.path}.pw"
        reason = None
        if isinstance(layer, Deferred) and layer.kind == "conv":
            reason = ("sized by a formula over in.c, built only at analysis time (its kernel "
                      "is not known here)")
        elif not _is_standard(layer) or not isinstance(layer, Conv) or layer.kernel == (1, 1):
            nodes.append(node)
            continue
        elif original is stem:
            reason = "the stem; --include-stem splits it too"
        elif dw_path in taken or pw_path in taken:
            reason = f"'{dw_path}' or '{pw_path}' is already a layer"
        if reason is not None or not isinstance(layer, Conv):
            skipped.append(Skipped(node.path, reason or ""))
            nodes.append(node)
            continue
        dw = Depthwise(kernel=layer.kernel, stride=layer.stride, padding=layer.padding,
                       dilation=layer.dilation, bias=False)
        pw = Pointwise(filters=layer.filters, bias=layer.bias, scale=layer.scale)
        changed[dw_path] = changed[pw_path] = "conv"
        taken |= {dw_path, pw_path}
        nodes += [Node(dw_path, node.line, dw, node.inputs, node.side),
                  Node(pw_path, node.line, pw, (dw_path,), node.side)]
        renamed[node.path] = pw_path
    outputs = tuple(renamed.get(p, p) for p in arch.outputs)
    return Conversion(replace(arch, name=f"{arch.name} (separable)", nodes=tuple(nodes),
                              outputs=outputs), changed, "separable", tuple(skipped))


# Layers that may sit between a depthwise and its pointwise and vanish with the fusion: they act
# per channel on the depthwise output, which a full convolution does not produce.
_BETWEEN = (BatchNorm, Activation)


def _pointwise_problem(layer: Layer | Merge) -> str | None:
    """Why ``layer`` cannot be the pointwise half of a pair (None when it can): a pointwise, or a
    1x1 convolution with stride 1, no padding, dilation 1 and groups 1, with its filters given."""
    if isinstance(layer, Deferred) and layer.kind in ("conv", "pointwise"):
        return "is sized by a formula over in.c (built only at analysis time)"
    if type(layer) is Pointwise:
        if not layer.filters:
            return "is sized by 'expansion'"
        if layer.stride != (1, 1) or layer.groups != 1:
            return "has a stride or groups"
        return None
    if type(layer) is Conv and layer.kernel == (1, 1):
        unpadded = layer.padding in (0, "same", "valid") or (
            isinstance(layer.padding, tuple) and not any(layer.padding))
        if layer.stride != (1, 1) or layer.groups != 1 or layer.dilation != (1, 1) or (
                not unpadded):
            return "has a stride, padding, dilation or groups"
        return None
    return f"is a '{layer.kind}', not a pointwise (1x1) convolution"


def to_standard(arch: Architecture) -> Conversion:
    """Every depthwise convolution followed, in the same sequence, by a pointwise one (or a 1x1
    convolution with stride 1) becomes one full convolution with the depthwise's kernel, stride,
    padding and dilation and the pointwise's filters, bias and width rule: the MobileNet paper's
    "full convolution" model.

    Batch norm and activations between the two are dropped: in MobileNet v1 a block is
    dw-bn-relu-pw-bn-relu and the full convolution model is conv-bn-relu, so what follows the
    pointwise stays and what normalised the depthwise output goes with it.

    A squeeze-and-excitation gate between them (MobileNetV3's and EfficientNet's depthwise ->
    SE -> project: a global average pool, single-input layers, and a 'mul' of the gate with the
    depthwise output, nothing else reading any of it) moves before the fused convolution and
    gates its input: channel c of the gate scales channel c, and a depthwise convolution is
    linear in each channel alone, so scaling its input channels scales its output channels
    alike. The gate keeps its layers, channels, params and MACs; it now pools the block's input
    instead of the activated depthwise output, and its multiply runs at the input's size.

    A pair with anything else between them, a layer between them that anything else reads, or
    a pointwise given by 'expansion', with a stride or groups, is left as it is and named in
    ``skipped`` with the reason. The fused layer is named after the pair's common prefix
    ('b1.dw' + 'b1.pw' -> 'b1'), else 'DW+PW'. One pass over the nodes."""
    nodes = arch.nodes
    readers: dict[str, list[str]] = {}
    for node in nodes:
        for source in node.inputs:
            readers.setdefault(source, []).append(node.path)
    for name in arch.outputs:
        readers.setdefault(name, []).append("the network's output")
    taken = _taken(arch)

    def only_next(i: int) -> bool:
        """Node i is read by node i + 1 alone, as its only input."""
        return (i + 1 < len(nodes) and len(readers.get(nodes[i].path, ())) == 1
                and nodes[i + 1].inputs == (nodes[i].path,))

    def gate_end(j: int) -> tuple[int | None, str | None]:
        """The index of the 'mul' of a squeeze-and-excitation gate that starts at node j and
        reads node j - 1 (pool ... mul(x, gate)), else None, and why not when nodes j... look
        like a gate but are not one. Inside the gate each layer reads the one before it (and,
        sized by a formula such as 'in.c', may read other tensors' shapes); nothing outside the
        gate reads any of it or x."""
        x = nodes[j - 1].path
        if not isinstance(nodes[j].layer, GlobalAvgPool) or nodes[j].inputs != (x,):
            return None, None
        m = j
        while (m + 1 < len(nodes) and isinstance(nodes[m + 1].layer, Layer)
               and nodes[m + 1].inputs[0] == nodes[m].path
               and readers.get(nodes[m].path) == [nodes[m + 1].path]):
            m += 1
        mul = m + 1
        if not (mul < len(nodes) and isinstance(nodes[mul].layer, Mul)
                and sorted(nodes[mul].inputs) == sorted((x, nodes[m].path))
                and readers.get(nodes[m].path) == [nodes[mul].path]
                and all(n.side == nodes[j].side for n in nodes[j:mul + 1])):
            return None, (f"'{nodes[j].path}' starts no squeeze-and-excitation gate (global "
                          "pool, layers each reading the one before, a 'mul' of the gate "
                          f"with '{x}', read by nothing else)")
        inside = {n.path for n in nodes[j:mul + 1]}
        outside = [u for u in readers.get(x, ()) if u not in inside]
        if outside:
            return None, f"'{x}' is also read by '{outside[0]}', outside the gate"
        return mul, None

    def pair_problem(node: Node, last: int, gate: int | None, pw: Node | None) -> str | None:
        """Why the depthwise ``node`` and ``pw``, which reads node ``last`` (the depthwise's
        batch norm or activation, or a gate's 'mul'), cannot fuse; None when they can."""
        if pw is None:
            return "nothing follows it"
        if gate is None and not only_next(last):
            users = [u for u in readers.get(nodes[last].path, ()) if u != pw.path]
            return (f"'{nodes[last].path}' is also read by '{users[0]}'" if users else
                    f"'{pw.path}' ({pw.layer.kind}) reads more than '{nodes[last].path}'")
        if gate is not None and (len(readers.get(nodes[gate].path, ())) != 1
                                 or pw.inputs != (nodes[gate].path,)):
            return f"the gate's '{nodes[gate].path}' is read by more than '{pw.path}'"
        if (problem := _pointwise_problem(pw.layer)) is not None:
            return f"'{pw.path}' {problem}"
        if pw.side != node.side:
            return f"'{pw.path}' is in another branch"
        return None

    changed: dict[str, str] = {}
    renamed: dict[str, str] = {}
    skipped: list[Skipped] = []
    gated = 0
    out: list[Node] = []
    i = 0
    while i < len(nodes):
        node = rename_inputs(nodes[i], renamed)
        if not isinstance(node.layer, Depthwise):
            out.append(node)
            i += 1
            continue
        j = i + 1
        while (j < len(nodes) and isinstance(nodes[j].layer, _BETWEEN) and only_next(j - 1)):
            j += 1
        gate, reason = gate_end(j) if j < len(nodes) else (None, None)
        last = j - 1 if gate is None else gate       # the node the pointwise must read
        pw = nodes[last + 1] if last + 1 < len(nodes) else None
        reason = reason or pair_problem(node, last, gate, pw)
        if reason is None and pw is not None and isinstance(pw.layer, Conv):
            dw = node.layer
            conv = Conv(filters=pw.layer.filters, kernel=dw.kernel, stride=dw.stride,
                        padding=dw.padding, dilation=dw.dilation, bias=pw.layer.bias,
                        scale=pw.layer.scale)
            path = _fused_path(node.path, pw.path)
            if path not in taken or path in (node.path, pw.path):
                source = node.inputs[0]
                if gate is not None:  # the gate moves before the convolution: it reads its input
                    moved = {nodes[j - 1].path: source}
                    out += [rename_inputs(rename_inputs(n, renamed), moved)
                            for n in nodes[j:gate + 1]]
                    source = nodes[gate].path
                    gated += 1
                changed[path] = "depthwise+pointwise"
                out.append(Node(path, node.line, conv, (source,), node.side))
                renamed[pw.path] = path
                taken.add(path)
                i = last + 2
                continue
            reason = f"the fused layer's path '{path}' is already a layer"
        skipped.append(Skipped(node.path, reason or ""))
        out.append(node)
        i += 1
    outputs = tuple(renamed.get(p, p) for p in arch.outputs)
    return Conversion(replace(arch, name=f"{arch.name} (standard)", nodes=tuple(out),
                              outputs=outputs), changed, "standard", tuple(skipped), gated)


def _fused_path(dw: str, pw: str) -> str:
    dw_parent, _, dw_name = dw.rpartition(".")
    pw_parent, _, pw_name = pw.rpartition(".")
    if dw_parent and dw_parent == pw_parent and (dw_name, pw_name) == ("dw", "pw"):
        return dw_parent
    return f"{dw}+{pw}"


# -- comparisons -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison(Shown):
    """Several analysed networks side by side; ratios are to the first."""

    reports: tuple[Report, ...]

    def ratio(self, index: int, quantity: str) -> float | None:
        """reports[index]'s total ``quantity`` ('params', 'macs', 'seconds', ...) over the
        first's; None where the first's is zero or missing (JSON has no NaN)."""
        first: float | None = getattr(self.reports[0].totals, quantity)
        value: float | None = getattr(self.reports[index].totals, quantity)
        return value / first if first and value is not None else None


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
class LayerComparison(Shown):
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
        "standard": chain([("conv", standard)]),
        "separable": chain([("dw", depthwise), ("pw", Pointwise(filters=filters, bias=bias))]),
    }
    if bottleneck is not None:
        designs["bottleneck"] = chain([("reduce", Pointwise(filters=bottleneck, bias=bias)),
                                       ("conv", standard)])
    if expansion is not None:
        main: list[tuple[str, Layer | Merge]] = [
            ("expand", Pointwise(expansion=expansion, bias=bias)),
            ("dw", replace(depthwise, bias=bias)),
            ("project", Pointwise(filters=filters, bias=bias))]
        # MobileNetV2's shortcut: the input is added back only where the shapes agree.
        designs["inverted-residual"] = (*chain(main),
                                        Node("add", None, Add(optional=True),
                                             ("project", "input")))
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
class Sweep(Shown):
    """A network's parameters and multiplies over a grid of width multipliers and input sizes
    (the MobileNet papers' tables), width-major."""

    name: str
    cells: tuple[SweepCell, ...]


def sweep(arch: Architecture, widths: Sequence[float], inputs: Sequence[Shape], *,
          batch: int = 1, device: Device | None = None, dtype: str = "fp32") -> Sweep:
    """``arch`` analysed at every width in ``widths`` and input in ``inputs``, each exactly as
    ``analyze`` counts ``with_width(with_input(arch, input), width)`` (for ``batch`` images, and
    timed on ``device`` when given)."""
    if len(widths) * len(inputs) > MAX_SWEEP_CELLS:
        raise ConvcalcError(f"{len(widths)} widths x {len(inputs)} inputs is more than "
                            f"{MAX_SWEEP_CELLS:,} combinations; sweep fewer values")
    if len(widths) * len(inputs) * len(arch.nodes) > MAX_SWEEP_LAYERS:
        raise ConvcalcError(f"{len(widths)} widths x {len(inputs)} inputs of {len(arch.nodes):,} "
                            f"layers is more than {MAX_SWEEP_LAYERS:,} layers to analyse; sweep "
                            "fewer values")
    cells = []
    for width in widths:
        for shape in inputs:
            totals = analyze(with_width(with_input(arch, shape), width), batch=batch,
                             device=device, dtype=dtype).totals
            cells.append(SweepCell(width, shape, totals.params, totals.macs, totals.seconds))
    return Sweep(arch.name, tuple(cells))
