"""Every layer kind convcalc knows: the one place to add a layer kind.

Each kind is a frozen dataclass whose fields (apart from ``kind``) are its YAML keys, with
methods that are pure functions of the input shape: ``out_shape``, ``params``, ``macs``,
``other_ops``, for windowed layers ``window``, and ``reach`` (which input positions each output
position reads, for the receptive field) where a kind moves positions other than by a window.
``LAYER_KINDS`` below maps YAML names to classes. A new kind is a class in the module of its
family (``convolution``, ``pooling``, ``normalization``, ``elementwise``, ``tensor_ops``,
``tokens``, ``attention``, ``reshaping``) and a row ``"name": "family.Class"`` in
``LAYER_KINDS``; the reference kernel goes in ``convcalc.reference`` and the PyTorch form in
``convcalc.formats.torch_writer``. A family's module is imported on the first lookup of one of
its kinds; this package re-exports the classes of the families every convolutional network
uses, and the ``tokens``, ``attention`` and ``reshaping`` classes are imported from their
modules (a CNN never loads them).
Tensors of any rank flow between them (``graph.shapes``): tokens are made and read by
``tokens``, attention and matrix products by ``attention``, other layouts by ``reshaping``.

Layers that read several tensors (add, mul, concat, upsample) subclass ``Merge``, whose methods
take all the input shapes. The analysis calls one adapter on either base class, ``cost``, and
``resolve`` for the few layers that decide what they are by shape.

Counting convention, chosen to match PyTorch:
- ``macs`` counts multiplies, one multiply-accumulate each, of convolutions (transposed ones
  included) and dense layers, and products of two network tensors (what
  ``torch.utils.flop_counter`` reports, halved: it counts convolution and matrix products,
  never upsampling, mul or normalisation). FLOPs = 2 x macs. A product of two network tensors
  (``matmul``) counts as torch's bmm, batch * m * k * n; attention as ``nn.MultiheadAttention``
  with torch's ``sdpa_flop_count``: 4·n·d² for its projections plus 2·n·m·d for Q·Kᵀ and A·V
  (n queries each seeing m keys).
- ``params`` is what ``sum(p.numel() for p in model.parameters())`` gives: weights and biases;
  batch norm's running statistics are buffers, not parameters.
- ``other_ops`` is everything else, never mixed into macs: bias additions (one per output
  element), batch norm (a multiply and an add per element), layer norm (7 per element),
  activations (one per element; softmax three), attention's scaling (one per query element),
  softmax (three per score) and position bias (one per score), reductions (one per input
  element; l2 two), group norm (7 per element), pooling (one per window element per output),
  LRN (size + 3 per element), element-wise adds and muls (one per output element and extra
  input; sub and div one per output element), position embeddings (one add per element),
  layer scale (one per element), bilinear upsampling (4 per output element). Dropout,
  stochastic depth, identity, flatten, padding, crop, concat, split, channel shuffle, nearest
  upsampling, tokens, image, class tokens, select_token, reshape, transpose, unsqueeze, stack,
  pixel shuffle and space to depth cost nothing.
"""

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import fields

from convcalc.graph.layers.base import (
    WHOLE_INPUT,
    Cost,
    Deferred,
    Dims,
    FloatPair,
    Layer,
    Merge,
    Padding,
    Plan,
    Reach,
    Reaches,
    Sections,
    WidthScale,
    Window,
)
from convcalc.graph.layers.convolution import (
    Conv,
    ConvTranspose,
    Dense,
    Depthwise,
    Pointwise,
    Separable,
)
from convcalc.graph.layers.elementwise import (
    ACTIVATION_OPS,
    Activation,
    Add,
    Concat,
    Dropout,
    Identity,
    Mul,
    Shortcut,
    StochasticDepth,
    Sub,
)
from convcalc.graph.layers.normalization import (
    BatchNorm,
    GroupNorm,
    LayerNorm,
    LayerScale,
    LocalResponseNorm,
)
from convcalc.graph.layers.pooling import AdaptiveAvgPool, GlobalAvgPool, Pool
from convcalc.graph.layers.tensor_ops import (
    UPSAMPLE_MODES,
    ChannelShuffle,
    ChannelSlice,
    Crop,
    Flatten,
    Split,
    Upsample,
    ZeroPad,
)

Kind = type[Layer] | type[Merge]


class Kinds(Mapping[str, Kind]):
    """YAML names to layer classes, from rows ``name: "family.Class"``: a family's module is
    imported when one of its kinds is first looked up, so a convolutional network never loads
    the token, attention and reshaping families (start-up time). ``in`` and iterating the names
    import nothing; ``values()`` and ``items()`` import every family."""

    def __init__(self, rows: dict[str, str]) -> None:
        self._rows = rows
        self._classes: dict[str, Kind] = {}

    def __getitem__(self, name: str) -> Kind:
        cls = self._classes.get(name)
        if cls is None:
            family, _, class_name = self._rows[name].partition(".")
            cls = getattr(importlib.import_module(f"{__name__}.{family}"), class_name)
            self._classes[name] = cls
        return cls

    def __contains__(self, name: object) -> bool:
        return name in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


# The one table of kinds: a new kind is a class in its family's module and a row here.
LAYER_KINDS = Kinds({
    "conv": "convolution.Conv",
    "depthwise": "convolution.Depthwise",
    "pointwise": "convolution.Pointwise",
    "separable": "convolution.Separable",
    "maxpool": "pooling.Pool",
    "avgpool": "pooling.Pool",
    "global_avgpool": "pooling.GlobalAvgPool",
    "adaptive_avgpool": "pooling.AdaptiveAvgPool",
    "adaptive_maxpool": "pooling.AdaptiveAvgPool",
    "batchnorm": "normalization.BatchNorm",
    **dict.fromkeys(ACTIVATION_OPS, "elementwise.Activation"),
    "lrn": "normalization.LocalResponseNorm",
    "dropout": "elementwise.Dropout",
    "flatten": "tensor_ops.Flatten",
    "zeropad": "tensor_ops.ZeroPad",
    "dense": "convolution.Dense",
    "conv_transpose": "convolution.ConvTranspose",
    "upsample": "tensor_ops.Upsample",
    "crop": "tensor_ops.Crop",
    "split": "tensor_ops.Split",
    "channel_slice": "tensor_ops.ChannelSlice",
    "channel_shuffle": "tensor_ops.ChannelShuffle",
    "layernorm": "normalization.LayerNorm",
    "layer_scale": "normalization.LayerScale",
    "stochastic_depth": "elementwise.StochasticDepth",
    "identity": "elementwise.Identity",
    "add": "elementwise.Add",
    "mul": "elementwise.Mul",
    "concat": "elementwise.Concat",
    "sub": "elementwise.Sub",
    "div": "elementwise.Sub",
    "groupnorm": "normalization.GroupNorm",
    "softmax": "attention.Softmax",
    "tokens": "tokens.Tokens",
    "image": "tokens.Image",
    "class_token": "tokens.ClassToken",
    "position_embedding": "tokens.PositionEmbedding",
    "select_token": "tokens.SelectToken",
    "attention": "attention.Attention",
    "matmul": "attention.MatMul",
    "reshape": "reshaping.Reshape",
    "transpose": "reshaping.Transpose",
    "unsqueeze": "reshaping.Unsqueeze",
    "stack": "reshaping.Stack",
    "reduce": "reshaping.Reduce",
    "pixel_shuffle": "reshaping.PixelShuffle",
    "space_to_depth": "reshaping.SpaceToDepth",
})


# Names people bring from PyTorch or Keras, for "did you mean" hints.
FAMILIAR_NAMES = {
    "conv2d": "conv", "bn": "batchnorm", "batch_norm": "batchnorm", "linear": "dense",
    "fc": "dense", "max_pool": "maxpool", "avg_pool": "avgpool", "gap": "global_avgpool",
    "dwconv": "depthwise", "pwconv": "pointwise", "sepconv": "separable",
    "out_channels": "filters", "kernel_size": "kernel", "out_features": "units",
    "hard_swish": "hardswish", "swish": "silu", "convtranspose2d": "conv_transpose",
    "deconv": "conv_transpose", "interpolate": "upsample", "layer_norm": "layernorm",
    "ln": "layernorm", "drop_path": "stochastic_depth", "multiply": "mul", "cat": "concat",
    "multiheadattention": "attention", "mha": "attention", "view": "reshape",
    "permute": "transpose", "bmm": "matmul", "subtract": "sub", "divide": "div",
    "group_norm": "groupnorm", "gn": "groupnorm", "pixel_unshuffle": "space_to_depth",
    "cls_token": "class_token", "pos_embedding": "position_embedding",
}


_YAML_KEYS: dict[Kind, tuple[str, ...]] = {}


def yaml_keys(cls: Kind) -> tuple[str, ...]:
    """The keys a layer kind accepts in YAML: its fields, less ``kind`` and derived ones."""
    keys = _YAML_KEYS.get(cls)
    if keys is None:  # once per class: the loader asks for every layer
        hidden = ("kind", *getattr(cls, "yaml_hidden", ()))
        keys = _YAML_KEYS[cls] = tuple(f.name for f in fields(cls) if f.name not in hidden)
    return keys

__all__ = [
    "ACTIVATION_OPS",
    "FAMILIAR_NAMES",
    "LAYER_KINDS",
    "UPSAMPLE_MODES",
    "WHOLE_INPUT",
    "Activation",
    "AdaptiveAvgPool",
    "Add",
    "BatchNorm",
    "ChannelShuffle",
    "ChannelSlice",
    "Concat",
    "Conv",
    "ConvTranspose",
    "Cost",
    "Crop",
    "Deferred",
    "Dense",
    "Depthwise",
    "Dims",
    "Dropout",
    "Flatten",
    "FloatPair",
    "GlobalAvgPool",
    "GroupNorm",
    "Identity",
    "Kind",
    "Kinds",
    "Layer",
    "LayerNorm",
    "LayerScale",
    "LocalResponseNorm",
    "Merge",
    "Mul",
    "Padding",
    "Plan",
    "Pointwise",
    "Pool",
    "Reach",
    "Reaches",
    "Sections",
    "Separable",
    "Shortcut",
    "Split",
    "StochasticDepth",
    "Sub",
    "Upsample",
    "WidthScale",
    "Window",
    "ZeroPad",
    "yaml_keys",
]
