"""``Report`` -> the source of a self-contained PyTorch module (``convcalc export --to pytorch``).

The file imports only torch and defines ``build() -> torch.nn.Module``. It is written from the
analysis rows, where every layer is concrete: padding resolved, channel counts known, shortcut
projections expanded. Each module is registered at its convcalc layer path, so
``model.get_submodule("layer1.0.conv1")`` is the row ``layer1.0.conv1`` of ``convcalc analyze``;
``forward`` replays the rows in order. torch's ``sum(p.numel())`` and ``FlopCounterMode`` // 2
equal convcalc's params and MACs (tests/test_torch_writer.py checks every built-in network).

Side branches (auxiliary classifiers) are left out: the module computes inference. ``TORCH``
maps each layer kind to the code of its module; a kind without an entry cannot be exported.
"""

from collections.abc import Callable

from convcalc.analysis import NETWORK_INPUT, LayerRow, analyze
from convcalc.architecture import Architecture
from convcalc.errors import ConvcalcError
from convcalc.formats import output_row
from convcalc.layers import ACTIVATION_OPS, Pool
from convcalc.shapes import resolve_padding

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
    """Layer norm over the channels of an NCHW tensor (ConvNeXt's LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """One learned factor per channel (ConvNeXt's layer scale)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels, 1, 1), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale
''',
}


def _padded(module: str, pads: tuple[int, int, int, int], extra: str = "") -> str:
    """``module`` with its padding: symmetric pads as its own argument, others as a ZeroPad2d
    in front (same shape, same multiplies)."""
    top, bottom, left, right = pads
    if top == bottom and left == right:
        return module.format(padding=f"padding=({top}, {left}){extra}")
    return (f"nn.Sequential(nn.ZeroPad2d(({left}, {right}, {top}, {bottom})), "
            f"{module.format(padding='padding=0' + extra)})")


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
    name = "MaxPool2d" if row.kind == "maxpool" else "AvgPool2d"
    ceil = ", ceil_mode=True" if pool.ceil_mode else ""
    return _padded(f"nn.{name}(kernel_size={window.kernel}, stride={window.stride}, "
                   f"{{padding}}{ceil})", window.padding)


def _zeropad(row: LayerRow) -> str:
    top, bottom, left, right = resolve_padding(row.layer.padding,  # type: ignore[union-attr]
                                               row.input.hw, (1, 1), (1, 1), (1, 1))
    return f"nn.ZeroPad2d(({left}, {right}, {top}, {bottom}))"


def _field(row: LayerRow, name: str) -> object:
    return getattr(row.layer, name)


TORCH: dict[str, Callable[[LayerRow], str]] = {
    **dict.fromkeys(("conv", "depthwise", "pointwise"), _conv),
    "maxpool": _pool,
    "avgpool": _pool,
    "global_avgpool": lambda row: "nn.AdaptiveAvgPool2d(1)",
    "adaptive_avgpool": lambda row: f"nn.AdaptiveAvgPool2d({_field(row, 'size')})",
    "batchnorm": lambda row: (f"nn.BatchNorm1d({row.input.c})" if row.input.is_flat
                              else f"nn.BatchNorm2d({row.input.c})"),
    **dict.fromkeys(ACTIVATION_OPS, lambda row: ACTIVATION_MODULES[row.kind]),
    "lrn": lambda row: (f"nn.LocalResponseNorm({_field(row, 'size')}, alpha="
                        f"{_field(row, 'alpha')}, beta={_field(row, 'beta')}, "
                        f"k={_field(row, 'k')})"),
    "dropout": lambda row: f"nn.Dropout({_field(row, 'p')})",
    "flatten": lambda row: "nn.Flatten()",
    "zeropad": _zeropad,
    "dense": lambda row: (f"nn.Linear({row.input.c}, {_field(row, 'units')}, "
                          f"bias={_field(row, 'bias')})"),
}
# Layers without a module: the forward expression over the inputs' variables.
EXPRESSIONS: dict[str, Callable[[LayerRow, list[str]], str]] = {
    "add": lambda row, xs: " + ".join(xs),
    "mul": lambda row, xs: " * ".join(xs),
    "concat": lambda row, xs: f"torch.cat([{', '.join(xs)}], dim=1)",
}


def _variable(row: int) -> str:
    return "x" if row == NETWORK_INPUT else f"t{row}"


def write_torch(arch: Architecture) -> str:
    """The source of a PyTorch module computing ``arch`` (side branches left out) and returning
    its outputs."""
    report = analyze(arch)
    outputs = arch.outputs
    rows = [r for r in report.rows if not r.side]
    index = {id(r): i for i, r in enumerate(report.rows)}
    modules: list[str] = []
    forward: list[str] = []
    helpers: set[str] = set()
    for row in rows:
        i = index[id(row)]
        args = [_variable(source) for source in row.inputs]
        if row.kind in EXPRESSIONS:
            forward.append(f"        t{i} = {EXPRESSIONS[row.kind](row, args)}")
            continue
        build = TORCH.get(row.kind)
        if build is None:
            raise ConvcalcError(f"layer kind '{row.kind}' cannot be exported to PyTorch yet",
                                path=row.path, kind=row.kind)
        code = build(row)
        helpers.update(name for name in HELPERS if code.startswith(name))
        modules.append(f"            {row.path!r}: {code},")
        forward.append(f"        t{i} = at[{row.path!r}]({', '.join(args)})")
    results = [_variable(output_row(report.rows, path)) for path in outputs]
    shape = "x".join(str(d) for d in (1, report.input.c, *report.input.hw))
    return _TEMPLATE.format(
        name=report.name, shape=shape, helpers="".join(HELPERS[h] for h in sorted(helpers)),
        modules="\n".join(modules), forward="\n".join(forward),
        result=", ".join(results) if len(results) > 1 else results[0],
        input_shape=f"(1, {report.input.c}, {report.input.h}, {report.input.w})")


_TEMPLATE = '''"""{name} as a PyTorch module, written by `convcalc export --to pytorch`.

Input: {shape} (NCHW). Every module is registered at its convcalc layer path, so
model.get_submodule("PATH") is the row PATH of `convcalc analyze`. build() returns the model.
"""

import torch
from torch import nn
{helpers}

class Network(nn.Module):
    """{name}: the layers of `convcalc analyze`, in its order."""

    def __init__(self) -> None:
        super().__init__()
        layers = {{
{modules}
        }}
        for path, module in layers.items():
            parent: nn.Module = self
            *scopes, name = path.split(".")
            for scope in scopes:
                if scope not in parent._modules:
                    parent.add_module(scope, nn.Module())
                parent = parent._modules[scope]
            parent.add_module(name, module)
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
