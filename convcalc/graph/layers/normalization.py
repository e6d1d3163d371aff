"""Normalisation: batch norm, local response norm, layer norm and layer scale."""

import math
from dataclasses import dataclass

from convcalc.errors import ConvcalcError
from convcalc.graph.layers.base import Layer, _positive
from convcalc.graph.shapes import Shape


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class BatchNorm(Layer):
    """Batch normalisation: params = 2 * c (scale and shift); other_ops = 2 per element."""

    kind: str = "batchnorm"

    def params(self, x: Shape) -> int:
        return 2 * x.c

    def other_ops(self, x: Shape) -> int:
        return 2 * x.elements


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
        for name in ("alpha", "beta", "k"):
            if not math.isfinite(getattr(self, name)):
                raise ConvcalcError(f"{name} {getattr(self, name)} must be a finite number")

    def other_ops(self, x: Shape) -> int:
        return (self.size + 3) * x.elements


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
class GroupNorm(Layer):
    """Group normalisation over ``groups`` groups of the channels (nn.GroupNorm): params = 2 * c;
    other_ops = 7 per element, as layer norm."""

    kind: str = "groupnorm"
    groups: int
    eps: float = 1e-5

    def __post_init__(self) -> None:
        _positive("groups", self.groups)
        if not 0 < self.eps < 1:
            raise ConvcalcError(f"eps {self.eps} must be above 0 and below 1")

    def out_shape(self, x: Shape) -> Shape:
        if x.c % self.groups:
            raise ConvcalcError(f"groups={self.groups} must divide the {x.c} channels of {x}")
        return x

    def params(self, x: Shape) -> int:
        return 2 * x.c

    def other_ops(self, x: Shape) -> int:
        return 7 * x.elements
