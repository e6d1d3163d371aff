"""Kinds that make, extend and read sequences of tokens [n, d]: ``tokens`` (from an image),
``image`` (back to one), ``class_token``, ``position_embedding`` and ``select_token``, as
torchvision's VisionTransformer builds them."""

import math
from dataclasses import dataclass
from typing import ClassVar

from convcalc.errors import ConvcalcError
from convcalc.graph.layers.base import Layer, _positive
from convcalc.graph.shapes import Shape
from convcalc.limits import MAX_DIM


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Tokens(Layer):
    """An image as tokens: [h, w, c] -> [h * w, c], positions row by row, as torch's
    ``x.flatten(2).transpose(1, 2)`` on NCHW. Costs nothing; each token keeps what its
    position saw (the receptive field)."""

    kind: str = "tokens"
    view: ClassVar[bool] = True

    def out_shape(self, x: Shape) -> Shape:
        if not x.is_image:
            raise ConvcalcError(f"reads an image (h x w x c) but gets {x.described()}"
                                + ("; drop it, its input is tokens already" if x.is_tokens
                                   else ""))
        h, w = x.hw
        return Shape(h * w, x.c)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Image(Layer):
    """Tokens back to an image: [n, d] -> [height, width, d] with n = height * width (row by
    row, the inverse of ``tokens``); without a size, a square one. Costs nothing."""

    kind: str = "image"
    view: ClassVar[bool] = True
    height: int = 0
    width: int = 0

    def __post_init__(self) -> None:
        if bool(self.height) != bool(self.width):
            raise ConvcalcError("needs both 'height' and 'width', or neither (a square)")
        if self.height:
            _positive("height", self.height)
            _positive("width", self.width)

    def out_shape(self, x: Shape) -> Shape:
        n, d = x.tokens
        h, w = self.height, self.width
        if not h:
            h = w = math.isqrt(n)
        if h * w != n:
            raise ConvcalcError(
                f"cannot lay {n} tokens out as {h}x{w}: "
                + (f"{n} is not a square; give 'height' and 'width'" if not self.height else
                   f"height x width must be {n}"))
        return Shape(h, w, d)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ClassToken(Layer):
    """``count`` learned tokens put before the sequence (ViT's class token): [n, d] ->
    [n + count, d]; params = count * d. Costs nothing else."""

    kind: str = "class_token"
    count: int = 1

    def __post_init__(self) -> None:
        _positive("count", self.count)

    def out_shape(self, x: Shape) -> Shape:
        n, d = x.tokens
        if n + self.count > MAX_DIM:
            raise ConvcalcError(f"makes {n + self.count:,} tokens, more than {MAX_DIM:,}")
        return Shape(n + self.count, d)

    def params(self, x: Shape) -> int:
        return self.count * x.tokens[1]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class PositionEmbedding(Layer):
    """A learned tensor of the input's shape added to it (ViT's [n, d] position embedding):
    params = elements; other_ops = elements (the additions)."""

    kind: str = "position_embedding"

    def out_shape(self, x: Shape) -> Shape:
        if x.is_flat:
            raise ConvcalcError(f"needs tokens or an image but gets {x.described()}")
        return x

    def params(self, x: Shape) -> int:
        return x.elements

    def other_ops(self, x: Shape) -> int:
        return x.elements


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class SelectToken(Layer):
    """One token as a flat vector (ViT's class token before the head, ``x[:, index]``):
    [n, d] -> [d]. Costs nothing."""

    kind: str = "select_token"
    view: ClassVar[bool] = True
    index: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.index < MAX_DIM:
            raise ConvcalcError(f"index {self.index} must be from 0 to {MAX_DIM - 1:,}")

    def out_shape(self, x: Shape) -> Shape:
        n, d = x.tokens
        if self.index >= n:
            raise ConvcalcError(f"index {self.index} is past the last of {n} tokens; "
                                f"use 0 to {n - 1}")
        return Shape(d)
