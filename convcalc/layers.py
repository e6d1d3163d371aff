"""Every layer kind convcalc knows: the one place to add a layer kind.

Each kind is a frozen dataclass whose fields (apart from ``kind``) are its YAML keys, with
methods that are pure functions of the input shape: ``out_shape``, ``params``, ``macs``,
``other_ops``, for windowed layers ``window``, and ``reach`` (which input positions each output
position reads, for the receptive field) where a kind moves positions other than by a window.
``LAYER_KINDS`` at the bottom maps YAML names to classes.

Layers that read several tensors (add, mul, concat, upsample) subclass ``Merge``, whose methods
take all the input shapes. The analysis calls one adapter on either base class, ``cost``, and
``resolve`` for the few layers that decide what they are by shape.

Counting convention, chosen to match PyTorch:
- ``macs`` counts multiplies, one multiply-accumulate each, of convolutions (transposed ones
  included) and dense layers only (what ``torch.utils.flop_counter`` reports, halved: it counts
  convolution and matrix products, never upsampling, mul or normalisation). FLOPs = 2 x macs.
- ``params`` is what ``sum(p.numel() for p in model.parameters())`` gives: weights and biases;
  batch norm's running statistics are buffers, not parameters.
- ``other_ops`` is everything else, never mixed into macs: bias additions (one per output
  element), batch norm (a multiply and an add per element), layer norm (7 per element),
  activations (one per element; softmax three), pooling (one per window element per output),
  LRN (size + 3 per element), element-wise adds and muls (one per output element and extra
  input), layer scale (one per element), bilinear upsampling (4 per output element). Dropout,
  stochastic depth, identity, flatten, padding, crop, concat, split, channel shuffle and
  nearest upsampling cost nothing.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar, NamedTuple

from convcalc.errors import ConvcalcError
from convcalc.limits import MAX_DIM
from convcalc.shapes import Pads, Pair, Shape, output_size, resolve_padding

Padding = int | str | tuple[int, ...]
FloatPair = tuple[float, float]
Sections = int | tuple[int, ...]
# How the width multiplier treats a layer's `filters`: True scales it, False keeps it, "up"
# scales it only for multipliers above 1 (MobileNetV2's last 1280-channel convolution).
WidthScale = bool | str

ACTIVATION_OPS = {
    "relu": 1, "relu6": 1, "leaky_relu": 1, "elu": 1, "gelu": 1, "silu": 1, "sigmoid": 1,
    "tanh": 1, "hardswish": 1, "hardsigmoid": 1, "softmax": 3,
}


@dataclass(frozen=True)
class Window:
    """The sliding-window geometry of a layer at one input size (what the table summarises)."""

    kernel: Pair
    stride: Pair
    padding: Pads
    dilation: Pair
    groups: int


def _positive(name: str, value: int | Pair, limit: int = MAX_DIM) -> None:
    for v in value if isinstance(value, tuple) else (value,):
        if not 1 <= v <= limit:
            raise ConvcalcError(f"{name} {v} must be between 1 and {limit:,}")


def _non_negative_padding(padding: Padding) -> None:
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ConvcalcError(f"padding '{padding}' must be a number, 'same' or 'valid'")
        return
    values = padding if isinstance(padding, tuple) else (padding,)
    if len(values) not in (1, 2, 4) or any(not 0 <= v <= MAX_DIM for v in values):
        raise ConvcalcError(
            f"padding {list(values) if isinstance(padding, tuple) else padding} must be one "
            "number, [h, w] or [top, bottom, left, right], each between 0 and "
            f"{MAX_DIM:,}, or 'same' / 'valid'"
        )


def _check_filter_window(layer: "Conv | ConvTranspose") -> None:
    """The checks of the fields a convolution and a transposed convolution share."""
    _positive("filters", layer.filters)
    _positive("kernel", layer.kernel)
    _positive("stride", layer.stride)
    _positive("dilation", layer.dilation)
    _positive("groups", layer.groups)
    _non_negative_padding(layer.padding)
    if layer.scale not in (True, False, "up"):
        raise ConvcalcError(f"scale {layer.scale!r} must be true, false or 'up'")


class Reach(NamedTuple):
    """Which input positions one output position reads along one axis, away from the borders:
    ``reads(o)`` = (first, last), and the input advances ``step`` = (num, den), num/den
    positions, per output position, so reads(o + k) = reads(o) + k * num/den whenever that is
    whole. The receptive field (receptive.py) follows these."""

    step: Pair
    reads: Callable[[int], Pair]


Reaches = tuple[Reach, Reach]  # along the height, then the width


def _window_reach(window: Window) -> Reaches:
    """A sliding window's reach: o reads o*s - p .. o*s - p + d(f - 1)."""
    def axis(f: int, s: int, p: int, d: int) -> Reach:
        return Reach((s, 1), lambda o: (o * s - p, o * s - p + d * (f - 1)))

    (fh, fw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    return axis(fh, sh, window.padding[0], dh), axis(fw, sw, window.padding[2], dw)


def _shift_reach(top: int, left: int) -> Reaches:
    """Output position o reads input position o + offset (a crop; minus a padding)."""
    return (Reach((1, 1), lambda o: (o + top, o + top)),
            Reach((1, 1), lambda o: (o + left, o + left)))


class Cost(NamedTuple):
    """What one layer produces and costs at given input shapes (one row of the table), and
    which input positions each output position reads (None: the same one)."""

    output: Shape
    window: Window | None
    params: int
    macs: int
    other_ops: int
    reach: Reaches | None


class _Value:
    """Equality, hashing and repr over a kind's fields, as a dataclass would generate them,
    written once: the kinds are declared with ``repr=False, eq=False`` and inherit these,
    because compiling the three methods anew for each of some thirty kinds took 7% of the
    instructions of ``convcalc analyze resnet50``."""

    __slots__ = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        values = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                           for f in fields(self))  # type: ignore[arg-type]
        return f"{type(self).__qualname__}({values})"


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Layer(_Value):
    """A layer with one input. Defaults: shape kept, nothing counted. ``view`` marks a layer
    that moves no data at inference (a view of its input, or its input passed on)."""

    kind: str
    view: ClassVar[bool] = False

    def out_shape(self, x: Shape) -> Shape:
        return x

    def params(self, x: Shape) -> int:
        return 0

    def macs(self, x: Shape) -> int:
        return 0

    def other_ops(self, x: Shape) -> int:
        return 0

    def window(self, x: Shape) -> Window | None:
        """Kernel, stride and padding at this input, for windowed layers only."""
        return None

    def reach(self, x: Shape, window: Window | None) -> Reaches | None:
        """Which input positions each output position reads (see ``Reach``): a windowed
        layer's window; None, the default, for a layer that keeps positions."""
        return None if window is None else _window_reach(window)

    def cost(self, inputs: tuple[Shape, ...]) -> Cost:
        """The adapter the analysis calls on every node: this layer at its one input."""
        if len(inputs) != 1:
            raise ConvcalcError(f"reads one tensor, not {len(inputs)}; only add, mul, concat "
                                "and upsample read several")
        x = inputs[0]
        window = self.window(x)
        return Cost(self.out_shape(x), window, self.params(x), self.macs(x), self.other_ops(x),
                    self.reach(x, window))

    def resolve(self, inputs: tuple[Shape, ...]) -> "Plan":
        """What the node computes at these input shapes: None for the layer itself (the
        default); the index of an input the node passes on unchanged (no row); or single-input
        layers with path suffixes, applied in turn to the first input (rows PATH.suffix).
        Layers that decide by shape (a residual's projection, formulas over ``in``) use it."""
        return None


Plan = int | tuple[tuple[str, Layer], ...] | None


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Merge(_Value):
    """A layer that reads several tensors (``min_inputs`` or more); its methods take all of
    their shapes, in the order of the node's inputs."""

    kind: str
    view: ClassVar[bool] = False
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int] = 1 << 30

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        raise NotImplementedError

    def params(self, inputs: tuple[Shape, ...]) -> int:
        return 0

    def macs(self, inputs: tuple[Shape, ...]) -> int:
        return 0

    def other_ops(self, inputs: tuple[Shape, ...]) -> int:
        return 0

    def cost(self, inputs: tuple[Shape, ...]) -> Cost:
        """The adapter the analysis calls on every node: this merge at all its inputs."""
        if not self.min_inputs <= len(inputs) <= self.max_inputs:
            wanted = (f"{self.min_inputs}" if self.min_inputs == self.max_inputs else
                      f"{self.min_inputs} or {self.max_inputs}"
                      if self.max_inputs == self.min_inputs + 1 else
                      f"at least {self.min_inputs}")
            raise ConvcalcError(f"reads {wanted} tensors, not {len(inputs)}; list them "
                                "with 'from: [a, b]'")
        return Cost(self.out_shape(inputs), None, self.params(inputs), self.macs(inputs),
                    self.other_ops(inputs), self.reach(inputs))

    def reach(self, inputs: tuple[Shape, ...]) -> Reaches | None:
        """None, the default: every input is read position by position (a 1x1 gate or a
        flat vector everywhere). A merge that reads only its first input's values (the others
        give a size) says which of its positions each output position reads."""
        return None

    def resolve(self, inputs: tuple[Shape, ...]) -> Plan:
        """What the node computes at these input shapes (see ``Layer.resolve``)."""
        return None


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Conv(Layer):
    """Convolution: out = floor((n + 2p - d(f-1) - 1)/s) + 1 per axis;
    macs = h_out * w_out * filters * f_h * f_w * c_in / groups;
    params = f_h * f_w * (c_in / groups) * filters (+ filters if bias)."""

    kind: str = "conv"
    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = 0
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    scale: WidthScale = True

    def __post_init__(self) -> None:
        _check_filter_window(self)

    def as_conv(self, x: Shape) -> "Conv":
        """The plain convolution this layer computes at input x (itself, for conv)."""
        return self

    def window(self, x: Shape) -> Window:
        conv = self.as_conv(x)
        padding = resolve_padding(conv.padding, x.hw, conv.kernel, conv.stride, conv.dilation)
        return Window(conv.kernel, conv.stride, padding, conv.dilation, conv.groups)

    def out_shape(self, x: Shape) -> Shape:
        conv = self.as_conv(x)
        if x.c % conv.groups or conv.filters % conv.groups:
            raise ConvcalcError(
                f"groups={conv.groups} must divide input channels {x.c} and filters "
                f"{conv.filters} (input {x})"
            )
        w = self.window(x)
        h, wd = x.hw
        return Shape(
            output_size(h, w.kernel[0], w.stride[0], w.padding[0], w.padding[1], w.dilation[0]),
            output_size(wd, w.kernel[1], w.stride[1], w.padding[2], w.padding[3], w.dilation[1]),
            conv.filters,
        )

    def params(self, x: Shape) -> int:
        conv = self.as_conv(x)
        weights = conv.kernel[0] * conv.kernel[1] * (x.c // conv.groups) * conv.filters
        return weights + (conv.filters if conv.bias else 0)

    def macs(self, x: Shape) -> int:
        conv = self.as_conv(x)
        out = self.out_shape(x)
        return out.elements * conv.kernel[0] * conv.kernel[1] * (x.c // conv.groups)

    def other_ops(self, x: Shape) -> int:
        return self.out_shape(x).elements if self.as_conv(x).bias else 0


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Depthwise(Conv):
    """Depthwise convolution: groups = input channels, filters = c_in * multiplier;
    macs = h_out * w_out * c_in * multiplier * f_h * f_w."""

    kind: str = "depthwise"
    filters: int = 0  # derived from the input; not a YAML key
    multiplier: int = 1
    scale: WidthScale = False

    yaml_hidden: ClassVar = ("filters", "groups", "scale")

    def __post_init__(self) -> None:
        _positive("multiplier", self.multiplier)
        _positive("kernel", self.kernel)
        _positive("stride", self.stride)
        _positive("dilation", self.dilation)
        _non_negative_padding(self.padding)

    def as_conv(self, x: Shape) -> Conv:
        return Conv(filters=x.c * self.multiplier, kernel=self.kernel, stride=self.stride,
                    padding=self.padding, dilation=self.dilation, groups=x.c, bias=self.bias)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Pointwise(Conv):
    """1x1 convolution (a bottleneck or projection): macs = h * w * c_in * filters.
    ``expansion: t`` instead of ``filters`` gives t * c_in filters (MobileNetV2's expansion)."""

    kind: str = "pointwise"
    filters: int = 0
    kernel: Pair = (1, 1)
    expansion: float = 0

    yaml_hidden: ClassVar = ("kernel", "padding", "dilation")

    def __post_init__(self) -> None:
        if bool(self.filters) == bool(self.expansion):
            raise ConvcalcError("needs exactly one of 'filters' and 'expansion'")
        if self.expansion:
            if not 0 < self.expansion <= 1000:
                raise ConvcalcError(f"expansion {self.expansion} must be above 0 and at most 1000")
            _positive("stride", self.stride)
            _positive("groups", self.groups)
        else:
            super().__post_init__()

    def as_conv(self, x: Shape) -> Conv:
        # torchvision's MobileNetV2: hidden_dim = int(round(inp * expand_ratio)).
        filters = self.filters or round(x.c * self.expansion)
        return Conv(filters=filters, kernel=(1, 1), stride=self.stride, groups=self.groups,
                    bias=self.bias)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Separable(Layer):
    """Shorthand for a depthwise f x f convolution followed by a pointwise 1x1 one; the loader
    expands it into the two layers ``NAME.dw`` and ``NAME.pw`` (bias on the pointwise only, as
    Keras's SeparableConv2D does)."""

    kind: str = "separable"
    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = 0
    dilation: Pair = (1, 1)
    multiplier: int = 1
    bias: bool = True
    scale: WidthScale = True

    def __post_init__(self) -> None:
        self.expand()  # both halves validate their own fields

    def expand(self) -> tuple[tuple[str, Layer], ...]:
        """The layers this shorthand stands for, with their path suffixes."""
        return (
            ("dw", Depthwise(kernel=self.kernel, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, multiplier=self.multiplier, bias=False)),
            ("pw", Pointwise(filters=self.filters, bias=self.bias, scale=self.scale)),
        )


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Pool(Layer):
    """Max or average pooling (kind 'maxpool' / 'avgpool'); stride defaults to the kernel, as in
    PyTorch; ceil_mode as PyTorch computes it. other_ops = f_h * f_w per output element."""

    kernel: Pair
    stride: Pair | None = None
    padding: Padding = 0
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        _positive("kernel", self.kernel)
        if self.stride is not None:
            _positive("stride", self.stride)
        _non_negative_padding(self.padding)

    def window(self, x: Shape) -> Window:
        stride = self.stride or self.kernel
        padding = resolve_padding(self.padding, x.hw, self.kernel, stride, (1, 1))
        return Window(self.kernel, stride, padding, (1, 1), x.c)

    def out_shape(self, x: Shape) -> Shape:
        w = self.window(x)
        h, wd = x.hw
        return Shape(
            output_size(h, w.kernel[0], w.stride[0], *w.padding[:2], ceil_mode=self.ceil_mode),
            output_size(wd, w.kernel[1], w.stride[1], *w.padding[2:], ceil_mode=self.ceil_mode),
            x.c,
        )

    def other_ops(self, x: Shape) -> int:
        return self.out_shape(x).elements * self.kernel[0] * self.kernel[1]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class GlobalAvgPool(Layer):
    """Average over all of h x w: h x w x c -> 1 x 1 x c; other_ops = h * w * c additions."""

    kind: str = "global_avgpool"

    def window(self, x: Shape) -> Window:
        return Window(x.hw, x.hw, (0, 0, 0, 0), (1, 1), x.c)

    def out_shape(self, x: Shape) -> Shape:
        x.hw  # noqa: B018 -- raises the flat-input error
        return Shape(1, 1, x.c)

    def other_ops(self, x: Shape) -> int:
        return x.elements


def _adaptive_windows(n: int, out: int) -> tuple[int, int]:
    """(sum, max) of the window lengths of PyTorch's adaptive pooling of n onto out, where
    window i covers [floor(i*n/out), ceil((i+1)*n/out)). In closed form, so a size of 10^7
    costs nothing: with g = gcd(n, out) the lengths sum to n + out - g, and the longest is
    ceil((n + out - g) / out) (window i is ceil((n + r)/out) long for r = i*n mod out, whose
    largest value is out - g)."""
    g = math.gcd(n, out)
    return n + out - g, -(-(n + out - g) // out)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class AdaptiveAvgPool(Layer):
    """Average or max pooling to a fixed output size (kind 'adaptive_avgpool' /
    'adaptive_maxpool'), with PyTorch's window boundaries floor(i*n/out) .. ceil((i+1)*n/out);
    other_ops = one addition (or comparison) per window element."""

    kind: str = "adaptive_avgpool"
    size: Pair

    def __post_init__(self) -> None:
        _positive("size", self.size)

    def window(self, x: Shape) -> Window:
        h, w = x.hw
        kernel = (_adaptive_windows(h, self.size[0])[1], _adaptive_windows(w, self.size[1])[1])
        return Window(kernel, (max(h // self.size[0], 1), max(w // self.size[1], 1)),
                      (0, 0, 0, 0), (1, 1), x.c)

    def out_shape(self, x: Shape) -> Shape:
        x.hw  # noqa: B018 -- raises the flat-input error
        return Shape(self.size[0], self.size[1], x.c)

    def other_ops(self, x: Shape) -> int:
        h, w = x.hw
        return _adaptive_windows(h, self.size[0])[0] * _adaptive_windows(w, self.size[1])[0] * x.c


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class BatchNorm(Layer):
    """Batch normalisation: params = 2 * c (scale and shift); other_ops = 2 per element."""

    kind: str = "batchnorm"

    def params(self, x: Shape) -> int:
        return 2 * x.c

    def other_ops(self, x: Shape) -> int:
        return 2 * x.elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Activation(Layer):
    """An element-wise non-linearity named by its kind (relu, relu6, sigmoid, ...)."""

    def other_ops(self, x: Shape) -> int:
        return ACTIVATION_OPS[self.kind] * x.elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class LocalResponseNorm(Layer):
    """Local response normalisation across ``size`` neighbouring channels (AlexNet, GoogLeNet);
    other_ops = size + 3 per element."""

    kind: str = "lrn"
    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    def __post_init__(self) -> None:
        _positive("size", self.size)

    def other_ops(self, x: Shape) -> int:
        return (self.size + 3) * x.elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Dropout(Layer):
    """Dropout: the identity at inference."""

    kind: str = "dropout"
    view: ClassVar[bool] = True
    p: float = 0.5

    def __post_init__(self) -> None:
        if not 0 <= self.p < 1:
            raise ConvcalcError(f"p {self.p} must be at least 0 and below 1")


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Flatten(Layer):
    """h x w x c -> a flat vector of h * w * c values."""

    kind: str = "flatten"
    view: ClassVar[bool] = True

    def out_shape(self, x: Shape) -> Shape:
        return Shape.flat(x.elements)

    def reach(self, x: Shape, window: Window | None) -> Reaches | None:
        """A flat vector sees all of a spatial input: one window of its whole size."""
        if x.is_flat:
            return None
        return _window_reach(Window(x.hw, x.hw, (0, 0, 0, 0), (1, 1), 1))


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ZeroPad(Layer):
    """Explicit zero padding: [h, w] on both sides, or [top, bottom, left, right]."""

    kind: str = "zeropad"
    padding: Padding

    def __post_init__(self) -> None:
        _non_negative_padding(self.padding)
        if isinstance(self.padding, str):
            raise ConvcalcError("zeropad needs numbers, not 'same' or 'valid'")

    def out_shape(self, x: Shape) -> Shape:
        h, w = x.hw
        top, bottom, left, right = resolve_padding(self.padding, (h, w), (1, 1), (1, 1), (1, 1))
        return Shape(h + top + bottom, w + left + right, x.c)

    def reach(self, x: Shape, window: Window | None) -> Reaches:
        top, _, left, _ = resolve_padding(self.padding, x.hw, (1, 1), (1, 1), (1, 1))
        return _shift_reach(-top, -left)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Dense(Layer):
    """Fully connected layer on a flat vector: macs = in * units; params = in * units (+ units)."""

    kind: str = "dense"
    units: int
    bias: bool = True

    def __post_init__(self) -> None:
        _positive("units", self.units)

    def out_shape(self, x: Shape) -> Shape:
        if not x.is_flat:
            raise ConvcalcError(f"needs a flat input but gets {x}; add 'flatten' before it")
        return Shape.flat(self.units)

    def params(self, x: Shape) -> int:
        return x.c * self.units + (self.units if self.bias else 0)

    def macs(self, x: Shape) -> int:
        self.out_shape(x)
        return x.c * self.units

    def other_ops(self, x: Shape) -> int:
        return self.units if self.bias else 0


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ConvTranspose(Layer):
    """Transposed convolution (PyTorch's ConvTranspose2d): per axis
    out = (n - 1)s - 2p + d(f - 1) + output_padding + 1;
    macs = h_in * w_in * c_in * (filters / groups) * f_h * f_w (every input value times every
    tap of its filters, as torch.utils.flop_counter counts it);
    params = c_in * (filters / groups) * f_h * f_w (+ filters if bias)."""

    kind: str = "conv_transpose"
    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = 0
    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    scale: WidthScale = True

    def __post_init__(self) -> None:
        _check_filter_window(self)
        if isinstance(self.padding, str) or (
                isinstance(self.padding, tuple) and len(self.padding) != 2):
            raise ConvcalcError(f"padding {self.padding!r} must be one number or [h, w]")
        for axis in (0, 1):
            limit = max(self.stride[axis], self.dilation[axis])
            if not 0 <= self.output_padding[axis] < limit:
                raise ConvcalcError(f"output_padding {self.output_padding[axis]} must be at "
                                    f"least 0 and below the stride or dilation ({limit}), as "
                                    "PyTorch requires")

    def _pads(self) -> Pair:
        p = self.padding
        return (p, p) if isinstance(p, int) else (int(p[0]), int(p[1]))

    def out_shape(self, x: Shape) -> Shape:
        if x.c % self.groups or self.filters % self.groups:
            raise ConvcalcError(f"groups={self.groups} must divide input channels {x.c} and "
                                f"filters {self.filters} (input {x})")
        sizes = []
        for n, f, s, p, d, extra in zip(x.hw, self.kernel, self.stride, self._pads(),
                                        self.dilation, self.output_padding, strict=True):
            size = (n - 1) * s - 2 * p + d * (f - 1) + extra + 1
            if size < 1:
                raise ConvcalcError(f"padding {p} leaves no output ({size}) for input size {n}; "
                                    "use less padding")
            sizes.append(size)
        return Shape(sizes[0], sizes[1], self.filters)

    def params(self, x: Shape) -> int:
        weights = x.c * (self.filters // self.groups) * self.kernel[0] * self.kernel[1]
        return weights + (self.filters if self.bias else 0)

    def macs(self, x: Shape) -> int:
        self.out_shape(x)
        return x.elements * (self.filters // self.groups) * self.kernel[0] * self.kernel[1]

    def other_ops(self, x: Shape) -> int:
        return self.out_shape(x).elements if self.bias else 0

    def reach(self, x: Shape, window: Window | None) -> Reaches:
        """Output o gets input i through tap j when i*s = o + p - j*d: it reads the inputs of
        its outermost taps (an output no tap reaches, with a kernel smaller than the stride,
        is counted at the input just before it)."""
        def axis(f: int, s: int, p: int, d: int) -> Reach:
            def reads(o: int) -> Pair:
                taps = [(o + p - j * d) // s for j in range(f) if (o + p - j * d) % s == 0]
                return (min(taps), max(taps)) if taps else ((o + p) // s,) * 2
            return Reach((1, s), reads)

        return (axis(self.kernel[0], self.stride[0], self._pads()[0], self.dilation[0]),
                axis(self.kernel[1], self.stride[1], self._pads()[1], self.dilation[1]))


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Upsample(Merge):
    """Upsampling by ``scale`` (out = floor(n * scale), PyTorch's rule), to a ``size``, or to
    the height and width of a second input read with 'from:' (its values are not read);
    ``mode`` 'nearest' or 'bilinear' (align_corners false). macs = 0 (torch's flop counter
    counts none); other_ops = 0 for nearest (a copy), 4 per output element for bilinear (one
    weighted neighbour each)."""

    kind: str = "upsample"
    scale: FloatPair | None = None
    size: Pair | None = None
    mode: str = "nearest"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int] = 2

    def __post_init__(self) -> None:
        if self.mode not in UPSAMPLE_MODES:
            raise ConvcalcError(f"mode '{self.mode}' must be one of {', '.join(UPSAMPLE_MODES)}")
        if self.scale is not None and self.size is not None:
            raise ConvcalcError("takes 'scale' or 'size', not both")
        if self.scale is not None and not all(0 < v <= MAX_DIM for v in self.scale):
            raise ConvcalcError(f"scale {list(self.scale)} must be above 0")
        if self.size is not None:
            _positive("size", self.size)

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        x = inputs[0]
        h, w = x.hw
        given = [k for k, v in (("scale", self.scale), ("size", self.size)) if v is not None]
        if len(inputs) == 2:
            if given:
                raise ConvcalcError(f"reads its size from a second input; drop '{given[0]}'")
            size = inputs[1].hw
        elif self.size is not None:
            size = self.size
        elif self.scale is not None:
            size = (math.floor(h * self.scale[0]), math.floor(w * self.scale[1]))
        else:
            raise ConvcalcError("needs 'scale', 'size' or a second input to take the size of "
                                "(from: [x, other])")
        if min(size) < 1:
            raise ConvcalcError(f"scale {self.scale} leaves no output for input {x}")
        return Shape(size[0], size[1], x.c)

    def other_ops(self, inputs: tuple[Shape, ...]) -> int:
        return 4 * self.out_shape(inputs).elements if self.mode == "bilinear" else 0

    def reach(self, inputs: tuple[Shape, ...]) -> Reaches:
        """PyTorch's source position, src = o * a/b with a/b = 1/scale when a scale is given
        and in/out otherwise: nearest reads floor(src); bilinear (align_corners false) reads
        floor(src') and the next one, src' = (o + 1/2) * a/b - 1/2, unless src' is whole.
        Every output of a 1-wide input reads its one position."""
        out = self.out_shape(inputs).hw

        def axis(axis: int) -> Reach:
            if inputs[0].hw[axis] == 1:  # every output reads the one position (a pooled branch)
                return Reach((0, 1), lambda o: (0, 0))
            if self.scale is not None:
                b, a = _simplest_ratio(self.scale[axis])
            else:
                a, b = inputs[0].hw[axis], out[axis]
            if self.mode == "nearest":
                return Reach((a, b), lambda o: (o * a // b,) * 2)

            def reads(o: int) -> Pair:
                first, part = divmod((2 * o + 1) * a - b, 2 * b)
                return first, first + (part != 0)
            return Reach((a, b), reads)

        return axis(0), axis(1)


UPSAMPLE_MODES = ("nearest", "bilinear")


def _simplest_ratio(scale: float) -> Pair:
    """(num, den) of the simplest fraction that is ``scale`` as a float: 13/10 for 1.3, whose
    float is 5854679515581645 / 2^52 exactly."""
    if scale == int(scale):
        return int(scale), 1
    from fractions import Fraction  # imported only here: it brings in decimal

    ratio = Fraction(scale).limit_denominator(1_000_000)
    return ratio.as_integer_ratio() if float(ratio) == scale else scale.as_integer_ratio()


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Crop(Merge):
    """Center crop to a ``size`` [h, w], or to the height and width of a second input read
    with 'from:' (the U-Net's cropped skip connections); the window starts at
    top = round((H - h) / 2), left = round((W - w) / 2), as torchvision's CenterCrop. Costs
    nothing."""

    kind: str = "crop"
    size: Pair | None = None
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int] = 2

    def __post_init__(self) -> None:
        if self.size is not None:
            _positive("size", self.size)

    def target(self, inputs: tuple[Shape, ...]) -> Pair:
        """(h, w) of the crop at these inputs."""
        if len(inputs) == 2:
            if self.size is not None:
                raise ConvcalcError("reads its size from a second input; drop 'size'")
            return inputs[1].hw
        if self.size is None:
            raise ConvcalcError("needs 'size' or a second input to take the size of "
                                "(from: [x, other])")
        return self.size

    def offsets(self, inputs: tuple[Shape, ...]) -> Pair:
        """(top, left) of the crop window in the first input."""
        (h, w), (oh, ow) = inputs[0].hw, self.target(inputs)
        return round((h - oh) / 2), round((w - ow) / 2)

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        x = inputs[0]
        (h, w), (oh, ow) = x.hw, self.target(inputs)
        if oh > h or ow > w:
            raise ConvcalcError(f"cannot crop {x} to {oh}x{ow}: the crop is larger than the "
                                "input")
        return Shape(oh, ow, x.c)

    def reach(self, inputs: tuple[Shape, ...]) -> Reaches:
        return _shift_reach(*self.offsets(inputs))


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ChannelSlice(Layer):
    """Channels start .. stop - 1 of the input (torch's x[:, start:stop]); costs nothing. A
    ``split`` is made of these, one per section."""

    kind: str = "channel_slice"
    view: ClassVar[bool] = True
    start: int = 0
    stop: int = 0
    # Set by split: the sections as a count of equal ones (parts, index) or their total.
    parts: int = 0
    index: int = 0
    total: int = 0

    yaml_hidden: ClassVar = ("parts", "index", "total")

    def __post_init__(self) -> None:
        if not self.parts and not 0 <= self.start < self.stop:
            raise ConvcalcError(f"start {self.start} and stop {self.stop} must satisfy "
                                "0 <= start < stop")

    def bounds(self, c: int) -> Pair:
        """(start, stop) of the channels taken from an input of c channels."""
        if self.parts:
            if c % self.parts:
                raise ConvcalcError(f"cannot split {c} channels into {self.parts} equal "
                                    "sections; give the sections as a list")
            size = c // self.parts
            return self.index * size, (self.index + 1) * size
        if self.total and self.total != c:
            raise ConvcalcError(f"split sections add up to {self.total} channels, but the "
                                f"input has {c}; make them add up to {c}")
        if self.stop > c:
            raise ConvcalcError(f"stop {self.stop} is past the input's {c} channels")
        return self.start, self.stop

    def out_shape(self, x: Shape) -> Shape:
        start, stop = self.bounds(x.c)
        return Shape(x.h, x.w, stop - start)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Split(Layer):
    """Shorthand for channel sections side by side (torch.split along channels): ``sections``
    is a list of channel counts, or a number of equal sections. The loader expands it into
    ``channel_slice`` layers PATH.0, PATH.1, ..., each read with 'from:'; sections that do not
    add up to the input channels are an error."""

    kind: str = "split"
    sections: Sections
    parallel: ClassVar[bool] = True

    def __post_init__(self) -> None:
        counts = self.sections if isinstance(self.sections, tuple) else (self.sections,)
        if not counts or any(not 1 <= v <= MAX_DIM for v in counts) or (
                isinstance(self.sections, int) and self.sections < 2):
            raise ConvcalcError(f"sections {self.sections!r} must be a list of channel counts "
                                "or a number of equal sections (at least 2)")

    def expand(self) -> tuple[tuple[str, Layer], ...]:
        """The sections, with their path suffixes '0', '1', ..."""
        if isinstance(self.sections, int):
            return tuple((str(i), ChannelSlice(parts=self.sections, index=i))
                         for i in range(self.sections))
        total, start, parts = sum(self.sections), 0, []
        for i, count in enumerate(self.sections):
            parts.append((str(i), ChannelSlice(start=start, stop=start + count, total=total)))
            start += count
        return tuple(parts)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle: c channels as groups x (c / groups), transposed; costs
    nothing (it moves data)."""

    kind: str = "channel_shuffle"
    groups: int

    def __post_init__(self) -> None:
        _positive("groups", self.groups)

    def out_shape(self, x: Shape) -> Shape:
        if x.c % self.groups:
            raise ConvcalcError(f"groups={self.groups} must divide the input's {x.c} channels")
        return x


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class LayerNorm(Layer):
    """Layer normalisation over the channels of each position (ConvNeXt's LayerNorm2d):
    params = 2 * c (scale and shift, when ``affine``); other_ops = 7 per element (mean 1,
    variance 3, normalise 1, scale and shift 2)."""

    kind: str = "layernorm"
    eps: float = 1e-5
    affine: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.eps < 1:
            raise ConvcalcError(f"eps {self.eps} must be above 0 and below 1")

    def params(self, x: Shape) -> int:
        return 2 * x.c if self.affine else 0

    def other_ops(self, x: Shape) -> int:
        return 7 * x.elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class LayerScale(Layer):
    """ConvNeXt's layer scale: each channel times a learned factor; params = c;
    other_ops = 1 per element."""

    kind: str = "layer_scale"

    def params(self, x: Shape) -> int:
        return x.c

    def other_ops(self, x: Shape) -> int:
        return x.elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class StochasticDepth(Layer):
    """Stochastic depth (drop path, EfficientNet and ConvNeXt): the identity at inference."""

    kind: str = "stochastic_depth"
    view: ClassVar[bool] = True
    p: float = 0.0
    mode: str = "row"

    def __post_init__(self) -> None:
        if not 0 <= self.p < 1:
            raise ConvcalcError(f"p {self.p} must be at least 0 and below 1")
        if self.mode not in ("row", "batch"):
            raise ConvcalcError(f"mode '{self.mode}' must be 'row' or 'batch'")


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Identity(Layer):
    """The identity (nn.Identity): a named point in the graph; costs nothing."""

    kind: str = "identity"
    view: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Add(Merge):
    """Element-wise sum of equal shapes (a residual connection); other_ops = (n - 1) additions
    per element for n inputs. ``optional`` (the residual shortcut 'if_same') passes the first
    input on unchanged, with no row, when the shapes differ (MobileNetV2)."""

    kind: str = "add"
    optional: bool = False

    yaml_hidden: ClassVar = ("optional",)

    def resolve(self, inputs: tuple[Shape, ...]) -> Plan:
        if self.optional and any(s != inputs[0] for s in inputs):
            return 0
        return None

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        first = inputs[0]
        for other in inputs[1:]:
            if other != first:
                raise ConvcalcError(
                    f"cannot add {first} and {other}: shapes differ; use 'shortcut: projection' "
                    "or make the main path keep the shape"
                )
        return first

    def other_ops(self, inputs: tuple[Shape, ...]) -> int:
        return (len(inputs) - 1) * inputs[0].elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Mul(Merge):
    """Element-wise product (squeeze-and-excitation's gate, spatial attention): equal shapes, or
    a 1x1xC gate or an HxWx1 map broadcast onto HxWxC, in either order;
    other_ops = (n - 1) multiplies per output element."""

    kind: str = "mul"

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        out = max(inputs, key=lambda s: s.elements)
        for shape in inputs:
            if shape == out:
                continue
            gate = not out.is_flat and shape.h == shape.w == 1 and shape.c == out.c
            spatial = not out.is_flat and shape.hw == out.hw and shape.c == 1
            if not (gate or spatial):
                raise ConvcalcError(
                    f"cannot multiply {out} by {shape}: mul takes equal shapes, a 1x1x{out.c} "
                    f"gate or a {'HxW' if out.is_flat else f'{out.h}x{out.w}'}x1 map")
        return out

    def other_ops(self, inputs: tuple[Shape, ...]) -> int:
        return (len(inputs) - 1) * self.out_shape(inputs).elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Concat(Merge):
    """Concatenation along channels (the Inception module, DenseNet); costs nothing."""

    kind: str = "concat"

    def out_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        first = inputs[0]
        for other in inputs[1:]:
            if other.is_flat != first.is_flat or (not first.is_flat and other.hw != first.hw):
                raise ConvcalcError(
                    f"cannot concatenate {first} and {other}: height and width differ; "
                    "give every branch the same stride and 'same' padding"
                )
        channels = sum(s.c for s in inputs)
        if channels > MAX_DIM:
            raise ConvcalcError(f"concatenates {channels:,} channels, more than {MAX_DIM:,}")
        return Shape(first.h, first.w, channels)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Shortcut(Merge):
    """A residual's shortcut onto the main path's output: reads (x, main) and passes x on when
    ``mode`` is 'auto' and the shapes agree; otherwise torchvision's downsample, a strided 1x1
    convolution (with ``bias``) onto main's shape, then batch norm when ``norm`` (rows
    PATH.0 and PATH.1). The loader creates it for 'shortcut: auto' and 'projection'."""

    kind: str = "shortcut"
    mode: str = "auto"
    bias: bool = True
    norm: bool = True

    def resolve(self, inputs: tuple[Shape, ...]) -> Plan:
        x, y = inputs
        if self.mode == "auto" and x == y:
            return 0
        (h, w), (oh, ow) = x.hw, y.hw
        stride = (-(-h // oh), -(-w // ow))
        if ((h - 1) // stride[0] + 1, (w - 1) // stride[1] + 1) != (oh, ow):
            raise ConvcalcError(
                f"no strided 1x1 projection maps {x} onto {y}; write the shortcut's layers "
                "under 'shortcut:'")
        conv = Conv(filters=y.c, kernel=(1, 1), stride=stride, bias=self.bias)
        return (("0", conv), ("1", BatchNorm())) if self.norm else (("0", conv),)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Deferred(Layer):
    """A layer whose settings read tensor shapes (``in.c``): ``build`` makes the layer parts
    (path suffix, layer) from the shapes of the node's inputs, the first being its data input;
    the loader creates it. ``kind`` is the kind it builds."""

    build: Callable[[tuple[Shape, ...]], tuple[tuple[str, Layer], ...]]

    def resolve(self, inputs: tuple[Shape, ...]) -> Plan:
        return self.build(inputs)


LAYER_KINDS: dict[str, type[Layer] | type[Merge]] = {
    "conv": Conv,
    "depthwise": Depthwise,
    "pointwise": Pointwise,
    "separable": Separable,
    "maxpool": Pool,
    "avgpool": Pool,
    "global_avgpool": GlobalAvgPool,
    "adaptive_avgpool": AdaptiveAvgPool,
    "adaptive_maxpool": AdaptiveAvgPool,
    "batchnorm": BatchNorm,
    **dict.fromkeys(ACTIVATION_OPS, Activation),
    "lrn": LocalResponseNorm,
    "dropout": Dropout,
    "flatten": Flatten,
    "zeropad": ZeroPad,
    "dense": Dense,
    "conv_transpose": ConvTranspose,
    "upsample": Upsample,
    "crop": Crop,
    "split": Split,
    "channel_slice": ChannelSlice,
    "channel_shuffle": ChannelShuffle,
    "layernorm": LayerNorm,
    "layer_scale": LayerScale,
    "stochastic_depth": StochasticDepth,
    "identity": Identity,
    "add": Add,
    "mul": Mul,
    "concat": Concat,
}

# Names people bring from PyTorch or Keras, for "did you mean" hints.
FAMILIAR_NAMES = {
    "conv2d": "conv", "bn": "batchnorm", "batch_norm": "batchnorm", "linear": "dense",
    "fc": "dense", "max_pool": "maxpool", "avg_pool": "avgpool", "gap": "global_avgpool",
    "dwconv": "depthwise", "pwconv": "pointwise", "sepconv": "separable",
    "out_channels": "filters", "kernel_size": "kernel", "out_features": "units",
    "hard_swish": "hardswish", "swish": "silu", "convtranspose2d": "conv_transpose",
    "deconv": "conv_transpose", "interpolate": "upsample", "layer_norm": "layernorm",
    "ln": "layernorm", "drop_path": "stochastic_depth", "multiply": "mul", "cat": "concat",
}


def yaml_keys(cls: type[Layer] | type[Merge]) -> tuple[str, ...]:
    """The keys a layer kind accepts in YAML: its fields, less ``kind`` and derived ones."""
    hidden = ("kind", *getattr(cls, "yaml_hidden", ()))
    return tuple(f.name for f in fields(cls) if f.name not in hidden)

