"""``Architecture`` -> the source of a self-contained PyTorch module (``export --to pytorch``).

The file imports only torch and defines ``build() -> torch.nn.Module``. It is written from the
analysis rows, where every layer is concrete: padding resolved, channel counts known, shortcut
projections expanded. Each module is registered at its convcalc layer path, so
``model.get_submodule("layer1.0.conv1")`` is the row ``layer1.0.conv1`` of ``convcalc analyze``;
``forward`` replays the rows in order. torch's ``sum(p.numel())`` and ``FlopCounterMode`` // 2
equal convcalc's params and MACs (tests/test_torch_writer.py checks every built-in network).

Side branches (auxiliary classifiers) are left out: the module computes inference. ``TORCH``
maps each layer kind to the code of its module (``EXPRESSIONS`` to its forward expression);
tests/test_torch_writer.py checks every kind has one.

Tensors are torch's layout of convcalc's shapes, with the batch first: an image [h, w, c] is
NCHW, any other rank keeps convcalc's order (tokens [n, d] are [batch, n, d]). Kinds that
work on dims by number (reshape, transpose, matmul, reduce, broadcasting merges of mixed ranks)
run on the channels-last view of an image and permute back, which torch counts as free.

Text from the input (the network's name, layer paths) reaches the file only as a Python literal
written by ``repr``, never inside a docstring or a comment, so no name can end a string and run
code at import. Merges of many inputs are written as one call over a list (a chain of 3,000
``+`` nests too deep for CPython's compiler), and layer paths deeper than MAX_MODULE_DEPTH
scopes are registered under their first scopes (torch walks modules recursively).
"""

from collections.abc import Callable
from typing import Any

from convcalc.analysis.report import NETWORK_INPUT, LayerRow, analyze
from convcalc.errors import ConvcalcError
from convcalc.formats.walk import inference_rows, torch_dim
from convcalc.graph.architecture import Architecture
from convcalc.graph.layers import ACTIVATION_OPS, ConvTranspose, Pool
from convcalc.graph.layers.attention import Attention
from convcalc.graph.shapes import Shape, resolve_padding

# Inputs of a merge written as a chain of operators (``t1 + t2``); more are one call over a list.
MAX_CHAINED_INPUTS = 16
# Nesting of registered modules: torch's named_modules() recurses once per level.
MAX_MODULE_DEPTH = 64

ACTIVATION_MODULES = {
    "relu": "nn.ReLU()", "relu6": "nn.ReLU6()", "leaky_relu": "nn.LeakyReLU()",
    "elu": "nn.ELU()", "gelu": "nn.GELU()", "silu": "nn.SiLU()", "sigmoid": "nn.Sigmoid()",
    "tanh": "nn.Tanh()", "hardswish": "nn.Hardswish()", "hardsigmoid": "nn.Hardsigmoid()",
    "softmax": "nn.Softmax(dim=1)",
}
# Helper modules the generated file defines when a layer needs one.
HELPERS = {
    "LayerNorm2d": '''
class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of each position of an NCHW tensor (ConvNeXt's)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
''',
    "ClassToken": '''
class ClassToken(nn.Module):
    """``count`` learned tokens put before the sequence (ViT's class token)."""

    def __init__(self, count: int, features: int) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, count, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)
''',
    "PositionEmbedding": '''
class PositionEmbedding(nn.Module):
    """A learned tensor of the input's shape added to it."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.embedding = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.embedding
''',
    "SelfAttention": '''
class SelfAttention(nn.Module):
    """nn.MultiheadAttention over tokens [batch, n, d], or over the positions of an NCHW image."""

    def __init__(self, features: int, heads: int, bias: bool) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(features, heads, bias=bias, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.flatten(2).transpose(1, 2) if x.dim() == 4 else x
        out = self.attention(tokens, tokens, tokens, need_weights=False)[0]
        return out.transpose(1, 2).reshape(x.shape) if x.dim() == 4 else out
''',
    "WindowAttention": '''
class WindowAttention(nn.Module):
    """Multi-head self-attention of an NCHW image in windows of size x size positions: padded
    to whole windows and rolled by ``shift`` (Swin), or strided over the image (``grid``,
    MaxViT), with a learned relative position bias ('table') or Swin V2's bias MLP ('mlp')."""

    def __init__(self, features: int, heads: int, bias: bool, size: int, shift: int,
                 grid: bool, position_bias: str) -> None:
        super().__init__()
        self.heads, self.size, self.shift, self.grid = heads, size, shift, grid
        self.qkv = nn.Linear(features, 3 * features, bias=bias)
        self.proj = nn.Linear(features, features, bias=bias)
        self.position_bias = position_bias
        offsets = (2 * size - 1) ** 2
        if position_bias == "table":
            self.table = nn.Parameter(torch.zeros(offsets, heads))
        elif position_bias == "mlp":
            self.cpb = nn.Sequential(nn.Linear(2, 512), nn.ReLU(),
                                     nn.Linear(512, heads, bias=False))
            self.logit_scale = nn.Parameter(torch.zeros(heads, 1, 1))
            self.register_buffer("coords", torch.zeros(1, offsets, 2))
        pos = torch.stack(torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij"))
        rel = (pos.flatten(1)[:, :, None] - pos.flatten(1)[:, None, :]).permute(1, 2, 0) + size - 1
        self.register_buffer("index", rel[..., 0] * (2 * size - 1) + rel[..., 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        s = self.size
        x = x.permute(0, 2, 3, 1)
        if self.grid:
            parts = x.reshape(b, s, h // s, s, w // s, c).permute(0, 2, 4, 1, 3, 5)
            ph, pw = h, w
        else:
            ph, pw = -(-h // s) * s, -(-w // s) * s
            x = nn.functional.pad(x, (0, 0, 0, pw - w, 0, ph - h))
            if self.shift:
                x = torch.roll(x, (-self.shift, -self.shift), dims=(1, 2))
            parts = x.reshape(b, ph // s, s, pw // s, s, c).permute(0, 1, 3, 2, 4, 5)
        parts = parts.reshape(-1, s * s, c)
        q, k, v = self.qkv(parts).reshape(-1, s * s, 3, self.heads, c // self.heads).permute(
            2, 0, 3, 1, 4)
        scores = (q * (c // self.heads) ** -0.5).matmul(k.transpose(-2, -1))
        if self.position_bias == "table":
            scores = scores + self.table[self.index].permute(2, 0, 1)
        elif self.position_bias == "mlp":
            table = self.cpb(self.coords).reshape(-1, self.heads)
            scores = scores * self.logit_scale.exp() + 16 * torch.sigmoid(
                table[self.index].permute(2, 0, 1))
        out = self.proj(scores.softmax(-1).matmul(v).transpose(1, 2).reshape(-1, s * s, c))
        if self.grid:
            out = out.reshape(b, h // s, w // s, s, s, c).permute(0, 3, 1, 4, 2, 5)
        else:
            out = out.reshape(b, ph // s, pw // s, s, s, c).permute(0, 1, 3, 2, 4, 5)
        out = out.reshape(b, ph, pw, c)
        if not self.grid and self.shift:
            out = torch.roll(out, (self.shift, self.shift), dims=(1, 2))
        return out[:, :h, :w].permute(0, 3, 1, 2)
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """One learned factor per channel (ConvNeXt's layer scale)."""

    def __init__(self, channels: int, flat: bool = False) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels,) if flat else (channels, 1, 1), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale
''',
    "_on_features": '''
def _on_features(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module``, which reads channels at dim 1 (batch norm, group norm, LRN), on the last dim
    (the features) of a tensor that is not an image: [batch, ..., d] as [batch, d, positions]."""
    y = module(x.reshape(x.shape[0], -1, x.shape[-1]).transpose(1, 2))
    return y.transpose(1, 2).reshape(x.shape)
''',
    "_product": '''
def _product(xs: list[torch.Tensor]) -> torch.Tensor:
    """The product of the tensors, one after another."""
    result = xs[0]
    for x in xs[1:]:
        result = result * x
    return result
''',
}


def _padded(module: str, pads: tuple[int, int, int, int]) -> str:
    """``module`` with its padding: symmetric pads as its own argument, others as a ZeroPad2d
    in front (same shape, same multiplies)."""
    top, bottom, left, right = pads
    if top == bottom and left == right:
        return module.format(padding=f"padding=({top}, {left})")
    return (f"nn.Sequential(nn.ZeroPad2d(({left}, {right}, {top}, {bottom})), "
            f"{module.format(padding='padding=0')})")


def _conv(row: LayerRow) -> str:
    conv = row.layer.as_conv(row.input)  # type: ignore[union-attr]
    window = conv.window(row.input)
    dilation = f", dilation={window.dilation}" if window.dilation != (1, 1) else ""
    groups = f", groups={conv.groups}" if conv.groups != 1 else ""
    return _padded(f"nn.Conv2d({row.input.c}, {conv.filters}, kernel_size={conv.kernel}, "
                   f"stride={conv.stride}, {{padding}}{dilation}{groups}, bias={conv.bias})",
                   window.padding)


def _pool(row: LayerRow) -> str:
    pool: Pool = row.layer  # type: ignore[assignment]
    window = pool.window(row.input)
    top, bottom, left, right = window.padding
    for pad, k, d in ((max(top, bottom), window.kernel[0], window.dilation[0]),
                      (max(left, right), window.kernel[1], window.dilation[1])):
        # torch refuses pads above half the (dilated) window: "pad should be at most half of
        # effective kernel size"
        if 2 * pad > d * (k - 1) + 1:
            raise ConvcalcError(f"padding {pad} is more than half the {k}x{k} window; PyTorch's "
                                f"{'MaxPool2d' if row.kind == 'maxpool' else 'AvgPool2d'} "
                                "refuses it: pad at most half the kernel")
    name = "MaxPool2d" if row.kind == "maxpool" else "AvgPool2d"
    ceil = ", ceil_mode=True" if pool.ceil_mode else ""
    return _padded(f"nn.{name}(kernel_size={window.kernel}, stride={window.stride}, "
                   f"{{padding}}{ceil})", window.padding)


def _zeropad(row: LayerRow) -> str:
    top, bottom, left, right = resolve_padding(row.layer.padding,  # type: ignore[union-attr]
                                               row.input.hw, (1, 1), (1, 1), (1, 1))
    return f"nn.ZeroPad2d(({left}, {right}, {top}, {bottom}))"


def _field(row: LayerRow, name: str) -> Any:
    return getattr(row.layer, name)


def _conv_transpose(row: LayerRow) -> str:
    layer: ConvTranspose = row.layer  # type: ignore[assignment]
    padding = layer.padding if isinstance(layer.padding, int) else tuple(layer.padding)
    return (f"nn.ConvTranspose2d({row.input.c}, {layer.filters}, kernel_size={layer.kernel}, "
            f"stride={layer.stride}, padding={padding}, output_padding={layer.output_padding}, "
            f"groups={layer.groups}, bias={layer.bias}, dilation={layer.dilation})")


def _upsample(row: LayerRow) -> str:
    mode = _field(row, "mode")
    corners = ", align_corners=False" if mode == "bilinear" else ""
    return f"nn.Upsample(size=({row.output.h}, {row.output.w}), mode={mode!r}{corners})"


def _layernorm(row: LayerRow) -> str:
    name = "LayerNorm2d" if row.input.is_image else "nn.LayerNorm"
    return (f"{name}({row.input.c}, eps={_field(row, 'eps')}, "
            f"elementwise_affine={_field(row, 'affine')})")


def _last(var: str, shape: Shape, rank: int | None = None) -> str:
    """The tensor ``var`` channels last (an NCHW image permuted), with singleton dims after the
    batch up to ``rank`` dims (to broadcast as convcalc aligns dims, from the last)."""
    out = f"{var}.permute(0, 2, 3, 1)" if shape.is_image else var
    extra = (rank or shape.rank) - shape.rank
    return f"{out}[:, {'None, ' * extra}...]" if extra else out


def _back(expr: str, shape: Shape) -> str:
    """A channels-last result of ``shape`` in torch's layout (an image back to NCHW)."""
    return f"({expr}).permute(0, 3, 1, 2)" if shape.is_image else expr


def _arithmetic(symbol: str, reduce: str = "") -> Callable[[LayerRow, list[str]], str]:
    """An element-wise merge: plain torch broadcasting when every input has the output's rank
    (an NCHW image with a 1x1 gate; ``_merge`` for many inputs), else on channels-last views
    aligned from the last dim."""
    def write(row: LayerRow, xs: list[str]) -> str:
        if all(s.rank == row.output.rank for s in row.input_shapes):
            return _merge(symbol, reduce)(row, xs) if reduce else f" {symbol} ".join(xs)
        lifted = [_last(x, s, row.output.rank) for x, s in zip(xs, row.input_shapes, strict=True)]
        return _back(f" {symbol} ".join(lifted), row.output)
    return write


def _on_last(method: Callable[[LayerRow], str]) -> Callable[[LayerRow, list[str]], str]:
    """A kind written as a method call on the channels-last view of its input."""
    def write(row: LayerRow, xs: list[str]) -> str:
        return _back(f"{_last(xs[0], row.input)}{method(row)}", row.output)
    return write


def _matmul(row: LayerRow, xs: list[str]) -> str:
    """torch.matmul of the channels-last views, lifted to the output's rank so that their
    leading dims broadcast as convcalc's do, not against the batch."""
    a, b = row.input_shapes
    rank = row.output.rank
    return _back(f"torch.matmul({_last(xs[0], a, rank)}, {_last(xs[1], b, rank)})", row.output)


def _reduce(row: LayerRow) -> str:
    layer = row.layer
    axes = tuple(a + 1 for a in sorted(layer.reduced(row.input)))  # type: ignore[union-attr]
    keep, op = _field(row, "keepdims"), _field(row, "op")
    if op == "l2":
        return f".square().sum(dim={axes}, keepdim={keep}).sqrt()"
    return f".{'amax' if op == 'max' else op}(dim={axes}, keepdim={keep})"


def _reshape(row: LayerRow) -> str:
    return f".reshape(-1, {', '.join(map(str, row.output.dims))})"


def _permute(row: LayerRow) -> str:
    perm: tuple[int, ...] = _field(row, "perm")
    return f".permute(0, {', '.join(str(p + 1) for p in perm)})"


def _unsqueeze(row: LayerRow) -> str:
    axis: int = _field(row, "axis")
    return f".unsqueeze({axis % (row.input.rank + 1) + 1})"


def _stack(row: LayerRow, xs: list[str]) -> str:
    axis: int = _field(row, "axis")
    x = row.input
    lasts = ", ".join(_last(v, x) for v in xs)
    return _back(f"torch.stack([{lasts}], dim={axis % (x.rank + 1) + 1})", row.output)


def _attention(row: LayerRow) -> str:
    layer: Attention = row.layer  # type: ignore[assignment]
    d = row.input.c
    if not layer.window_size:
        return f"SelfAttention({d}, {layer.heads}, bias={layer.bias})"
    return (f"WindowAttention({d}, {layer.heads}, bias={layer.bias}, size={layer.window_size}, "
            f"shift={layer.shift_size}, grid={layer.grid}, "
            f"position_bias={layer.position_bias!r})")


def _channel_slice(row: LayerRow, xs: list[str]) -> str:
    start, stop = row.layer.bounds(row.input.c)  # type: ignore[union-attr]
    return f"{xs[0]}[:, {start}:{stop}]" if row.input.is_image or row.input.is_flat else (
        f"{xs[0]}[..., {start}:{stop}]")


def _crop(row: LayerRow, xs: list[str]) -> str:
    top, left = row.layer.offsets(row.input_shapes)  # type: ignore[union-attr]
    h, w = row.output.hw
    return f"{xs[0]}[:, :, {top}:{top + h}, {left}:{left + w}]"


def _channel_shuffle(row: LayerRow, xs: list[str]) -> str:
    groups = _field(row, "groups")
    if row.input.is_image:
        return f"{xs[0]}.unflatten(1, ({groups}, -1)).transpose(1, 2).flatten(1, 2)"
    return f"{xs[0]}.unflatten(-1, ({groups}, -1)).transpose(-2, -1).flatten(-2)"


TORCH: dict[str, Callable[[LayerRow], str]] = {
    **dict.fromkeys(("conv", "depthwise", "pointwise"), _conv),
    "maxpool": _pool,
    "avgpool": _pool,
    "global_avgpool": lambda row: "nn.AdaptiveAvgPool2d(1)",
    "adaptive_avgpool": lambda row: f"nn.AdaptiveAvgPool2d({_field(row, 'size')})",
    "batchnorm": lambda row: (f"nn.BatchNorm2d({row.input.c})" if row.input.is_image
                              else f"nn.BatchNorm1d({row.input.c})"),
    **dict.fromkeys(ACTIVATION_OPS, lambda row: ACTIVATION_MODULES[row.kind]),
    "lrn": lambda row: (f"nn.LocalResponseNorm({_field(row, 'size')}, alpha="
                        f"{_field(row, 'alpha')}, beta={_field(row, 'beta')}, "
                        f"k={_field(row, 'k')})"),
    "dropout": lambda row: f"nn.Dropout({_field(row, 'p')})",
    "flatten": lambda row: "nn.Flatten()",
    "zeropad": _zeropad,
    "dense": lambda row: (f"nn.Linear({row.input.c}, {_field(row, 'units')}, "
                          f"bias={_field(row, 'bias')})"),
    "adaptive_maxpool": lambda row: f"nn.AdaptiveMaxPool2d({_field(row, 'size')})",
    "conv_transpose": _conv_transpose,
    "upsample": _upsample,
    "layernorm": _layernorm,
    "layer_scale": lambda row: (f"LayerScale({row.input.c})" if row.input.is_image
                                else f"LayerScale({row.input.c}, flat=True)"),
    "softmax": lambda row: f"nn.Softmax(dim={torch_dim(row.input, _field(row, 'axis'))})",
    "groupnorm": lambda row: (f"nn.GroupNorm({_field(row, 'groups')}, {row.input.c}, "
                              f"eps={_field(row, 'eps')})"),
    "class_token": lambda row: f"ClassToken({_field(row, 'count')}, {row.input.c})",
    "position_embedding": lambda row: (
        f"PositionEmbedding({row.input.c}, {row.input.h}, {row.input.w})" if row.input.is_image
        else f"PositionEmbedding({', '.join(map(str, row.input.dims))})"),
    "attention": _attention,
    "pixel_shuffle": lambda row: f"nn.PixelShuffle({_field(row, 'factor')})",
    "space_to_depth": lambda row: f"nn.PixelUnshuffle({_field(row, 'factor')})",
    "identity": lambda row: "nn.Identity()",
    "stochastic_depth": lambda row: "nn.Identity()",  # the identity at inference
}
# Kinds whose torch module reads the channels at dim 1: on any tensor but an image they run
# on its features through the helper ``_on_features``.
ON_CHANNELS = ("batchnorm", "groupnorm", "lrn")


# Layers without a module: the forward expression over the inputs' variables.
def _merge(operator: str, reduce: str) -> Callable[[LayerRow, list[str]], str]:
    """A merge of its inputs by ``operator``: chained for a few, ``reduce([...])`` for more."""
    def write(row: LayerRow, xs: list[str]) -> str:
        if len(xs) <= MAX_CHAINED_INPUTS:
            return f" {operator} ".join(xs)
        return f"{reduce}([{', '.join(xs)}])"
    return write


EXPRESSIONS: dict[str, Callable[[LayerRow, list[str]], str]] = {
    "add": _arithmetic("+", "sum"),
    "mul": _arithmetic("*", "_product"),
    "sub": _arithmetic("-"),
    "div": _arithmetic("/"),
    "concat": lambda row, xs: (f"torch.cat([{', '.join(xs)}], "
                               f"dim={torch_dim(row.input, _field(row, 'axis'))})"),
    "tokens": lambda row, xs: f"{xs[0]}.flatten(2).transpose(1, 2)",
    "image": lambda row, xs: (f"{xs[0]}.transpose(1, 2).unflatten(2, "
                              f"({row.output.h}, {row.output.w}))"),
    "select_token": lambda row, xs: f"{xs[0]}[:, {_field(row, 'index')}]",
    "matmul": _matmul,
    "reshape": _on_last(_reshape),
    "transpose": _on_last(_permute),
    "unsqueeze": _on_last(_unsqueeze),
    "stack": _stack,
    "reduce": _on_last(_reduce),
    "channel_slice": _channel_slice,
    "channel_shuffle": _channel_shuffle,
    "crop": _crop,  # a second input gives only the size
}


def _variable(row: int) -> str:
    return "x" if row == NETWORK_INPUT else f"t{row}"


def write_torch(arch: Architecture) -> str:
    """The source of a PyTorch module computing ``arch`` (side branches left out) and returning
    its outputs."""
    report = analyze(arch)
    modules: list[str] = []
    forward: list[str] = []
    helpers: set[str] = set()
    for i, row in inference_rows(report):
        args = [_variable(source) for source in row.inputs]
        if row.kind in EXPRESSIONS:
            expression = EXPRESSIONS[row.kind](row, args)
            helpers.update(name for name in HELPERS if expression.startswith(name))
            forward.append(f"        t{i} = {expression}")
            continue
        try:
            code = TORCH[row.kind](row)
        except ConvcalcError as e:
            raise e.located(file=arch.file, line=row.line, path=row.path, kind=row.kind) from None
        helpers.update(name for name in HELPERS if code.startswith(name + "("))
        modules.append(f"            {row.path!r}: {code},")
        if row.kind == "upsample":
            args = args[:1]  # a second input gives only its size, which the module holds
        call = f"at[{row.path!r}]"
        if row.kind in ON_CHANNELS and not row.input.is_image:
            helpers.add("_on_features")
            call, args = "_on_features", [call, *args]
        forward.append(f"        t{i} = {call}({', '.join(args)})")
    results = [_variable(row) for row in report.outputs]
    shape = "x".join(str(d) for d in (1, report.input.c, *report.input.hw))
    return _TEMPLATE.format(
        name=repr(report.name), shape=shape, depth=MAX_MODULE_DEPTH,
        helpers="".join("\n\n" + HELPERS[h].strip("\n") + "\n" for h in sorted(helpers)),
        modules="\n".join(modules), forward="\n".join(forward),
        result=", ".join(results) if len(results) > 1 else results[0],
        input_shape=f"(1, {report.input.c}, {report.input.h}, {report.input.w})")


_TEMPLATE = '''"""The network NAME as a PyTorch module, written by `convcalc export --to pytorch`.

Input: {shape} (NCHW). Every module is registered at its convcalc layer path, so
model.get_submodule("PATH") is the row PATH of `convcalc analyze` (a path deeper than
{depth} scopes is registered under its first ones). build() returns the model.
"""

import torch
from torch import nn
{helpers}

NAME = {name}


def _register(parent: nn.Module, names: list[str], module: nn.Module) -> None:
    """Register ``module`` at the dotted path ``names`` under ``parent``, making containers on
    the way; a layer whose path is also a prefix of other layers' paths holds them."""
    if len(names) > {depth}:
        names = [*names[:{depth} - 1], "_".join(names[{depth} - 1:])]
    for name in names[:-1]:
        if parent._modules.get(name) is None:
            parent.add_module(_free(parent, name), nn.Module())
        parent = parent._modules[_free(parent, name)]
    name = _free(parent, names[-1])
    held = parent._modules.get(name)
    for child, inner in (held._modules.items() if held is not None else ()):
        module.add_module(_free(module, child), inner)
    parent.add_module(name, module)


def _free(parent: nn.Module, name: str) -> str:
    """``name``, or ``name_`` when it is an attribute of the module (such as 'weight')."""
    return name if name in parent._modules or not hasattr(parent, name) else name + "_"


class Network(nn.Module):
    """The network NAME: the layers of `convcalc analyze`, in its order."""

    def __init__(self) -> None:
        super().__init__()
        layers = {{
{modules}
        }}
        for path, module in layers.items():
            _register(self, path.split("."), module)
        self._layers_by_path = layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        at = self._layers_by_path
{forward}
        return {result}


def build() -> nn.Module:
    """The network, untrained."""
    return Network()


INPUT_SHAPE = {input_shape}
'''
