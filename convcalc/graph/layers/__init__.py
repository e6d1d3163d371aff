"""Every layer kind convcalc knows: the one place to add a layer kind.

Each kind is a frozen dataclass whose fields (apart from ``kind``) are its YAML keys, with
methods that are pure functions of the input shape: ``out_shape``, ``params``, ``macs``,
``other_ops``, for windowed layers ``window``, and ``reach`` (which input positions each output
position reads, for the receptive field) where a kind moves positions other than by a window.
``LAYER_KINDS`` below maps YAML names to classes. A new kind is a class in the module of its
family (``convolution``, ``pooling``, ``normalization``, ``elementwise``, ``tensor_ops``) and a
row in ``LAYER_KINDS``; the reference kernel goes in ``convcalc.reference`` and the PyTorch form in
``convcalc.formats.torch_writer``.

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

from dataclasses import fields

from convcalc.graph.layers.base import (
    Cost,
    Deferred,
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
)
from convcalc.graph.layers.normalization import BatchNorm, LayerNorm, LayerScale, LocalResponseNorm
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

__all__ = [
    "ACTIVATION_OPS",
    "FAMILIAR_NAMES",
    "LAYER_KINDS",
    "UPSAMPLE_MODES",
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
    "Dropout",
    "Flatten",
    "FloatPair",
    "GlobalAvgPool",
    "Identity",
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
    "Upsample",
    "WidthScale",
    "Window",
    "ZeroPad",
    "yaml_keys",
]
