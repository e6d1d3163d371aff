"""Every layer kind convcalc knows: the one place to add a layer kind.

Each kind is a frozen dataclass whose fields (apart from ``kind``) are its YAML keys, with
methods that are pure functions of the input shape: ``out_shape``, ``params``, ``macs``,
``other_ops``, for windowed layers ``window``, and ``reach`` (which input positions each output
position reads, for the receptive field) where a kind moves positions other than by a window.
``LAYER_KINDS`` below maps YAML names to classes. A new kind is a class in the module of its
family (``convolution``, ``pooling``, ``normalization``, ``elementwise``, ``tensor_ops``,
``tokens``, ``attention``, ``reshaping``) and a row in ``LAYER_KINDS``; the reference kernel
goes in ``convcalc.reference`` and the PyTorch form in ``convcalc.formats.torch_writer``.
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

from dataclasses import fields

from convcalc.graph.layers.attention import Attention, MatMul, Softmax
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
from convcalc.graph.layers.reshaping import (
    PixelShuffle,
    Reduce,
    Reshape,
    SpaceToDepth,
    Stack,
    Transpose,
    Unsqueeze,
)
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
from convcalc.graph.layers.tokens import (
    ClassToken,
    Image,
    PositionEmbedding,
    SelectToken,
    Tokens,
)

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
    "sub": Sub,
    "div": Sub,
    "groupnorm": GroupNorm,
    "softmax": Softmax,
    "tokens": Tokens,
    "image": Image,
    "class_token": ClassToken,
    "position_embedding": PositionEmbedding,
    "select_token": SelectToken,
    "attention": Attention,
    "matmul": MatMul,
    "reshape": Reshape,
    "transpose": Transpose,
    "unsqueeze": Unsqueeze,
    "stack": Stack,
    "reduce": Reduce,
    "pixel_shuffle": PixelShuffle,
    "space_to_depth": SpaceToDepth,
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
    "multiheadattention": "attention", "mha": "attention", "view": "reshape",
    "permute": "transpose", "bmm": "matmul", "subtract": "sub", "divide": "div",
    "group_norm": "groupnorm", "gn": "groupnorm", "pixel_unshuffle": "space_to_depth",
    "cls_token": "class_token", "pos_embedding": "position_embedding",
}


def yaml_keys(cls: type[Layer] | type[Merge]) -> tuple[str, ...]:
    """The keys a layer kind accepts in YAML: its fields, less ``kind`` and derived ones."""
    hidden = ("kind", *getattr(cls, "yaml_hidden", ()))
    return tuple(f.name for f in fields(cls) if f.name not in hidden)

__all__ = [
    "ACTIVATION_OPS",
    "FAMILIAR_NAMES",
    "LAYER_KINDS",
    "UPSAMPLE_MODES",
    "WHOLE_INPUT",
    "Activation",
    "AdaptiveAvgPool",
    "Add",
    "Attention",
    "BatchNorm",
    "ChannelShuffle",
    "ChannelSlice",
    "ClassToken",
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
    "Image",
    "Layer",
    "LayerNorm",
    "LayerScale",
    "LocalResponseNorm",
    "MatMul",
    "Merge",
    "Mul",
    "Padding",
    "PixelShuffle",
    "Plan",
    "Pointwise",
    "Pool",
    "PositionEmbedding",
    "Reach",
    "Reaches",
    "Reduce",
    "Reshape",
    "Sections",
    "SelectToken",
    "Separable",
    "Shortcut",
    "Softmax",
    "SpaceToDepth",
    "Split",
    "Stack",
    "StochasticDepth",
    "Sub",
    "Tokens",
    "Transpose",
    "Unsqueeze",
    "Upsample",
    "WidthScale",
    "Window",
    "ZeroPad",
    "yaml_keys",
]
