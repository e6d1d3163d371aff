"""Pooling: max and average windows, global and adaptive averages."""

import math
from dataclasses import dataclass

from convcalc.graph.layers.base import Layer, Padding, Window, _non_negative_padding, _positive
from convcalc.graph.shapes import Pair, Shape, output_size, resolve_padding


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
