"""Tensor shapes and the one output-size formula every windowed layer uses.

Shapes are written height x width x channels (the lecture's n_H x n_W x n_C); a flat vector
(after ``flatten``) has no height or width. Padding is resolved to (top, bottom, left, right).
"""

from dataclasses import dataclass

from convcalc.errors import ConvcalcError
from convcalc.limits import MAX_DIM

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]


@dataclass(frozen=True)
class Shape:
    """An activation shape ``h x w x c``; a flat vector of ``c`` values has h = w = None."""

    h: int | None
    w: int | None
    c: int

    def __post_init__(self) -> None:
        # Made by the API too: Shape(32.5, 32.5, 1) would count fractional positions.
        dims = (self.c,) if self.h is None and self.w is None else (self.h, self.w, self.c)
        if any(isinstance(d, bool) or not isinstance(d, int) for d in dims):
            raise ConvcalcError(f"a shape's height, width and channels must be whole numbers, "
                                f"not {self.h!r} x {self.w!r} x {self.c!r}")

    @classmethod
    def flat(cls, n: int) -> "Shape":
        """A flat vector of n values."""
        return cls(None, None, n)

    @property
    def is_flat(self) -> bool:
        return self.h is None

    @property
    def hw(self) -> Pair:
        """(h, w); a flat vector has no spatial size, so asking for one is a user error."""
        if self.h is None or self.w is None:
            raise ConvcalcError(
                f"needs a spatial input (h x w x c) but gets the flat vector {self}; "
                "remove the 'flatten' before it"
            )
        return self.h, self.w

    @property
    def elements(self) -> int:
        return (self.h or 1) * (self.w or 1) * self.c

    def as_list(self) -> list[int]:
        """[h, w, c], or [n] for a flat vector: the JSON form."""
        return [self.c] if self.h is None or self.w is None else [self.h, self.w, self.c]

    def __str__(self) -> str:
        return str(self.c) if self.is_flat else f"{self.h}x{self.w}x{self.c}"


def parse_shape(text: str, channels: int | None = None) -> Shape:
    """'224x224x3' -> Shape(224, 224, 3). Given the current ``channels``, 'HxW' and a single
    'N' (N x N) are accepted too: the forms of ``--input``."""
    parts = str(text).lower().replace(" ", "").split("x")
    if channels is not None and len(parts) in (1, 2):
        parts = [parts[0], parts[-1], str(channels)]
    # isdecimal, not isdigit: int() rejects digits such as '²' that isdigit accepts.
    if len(parts) != 3 or not all(p.isdecimal() for p in parts):
        raise ConvcalcError(f"input '{text}' must be HxWxC, e.g. 224x224x3"
                            + (", HxW or one size N" if channels is not None else ""))
    h, w, c = (int(p) for p in parts)
    return checked_shape(Shape(h, w, c))


def checked_shape(shape: Shape) -> Shape:
    """The shape itself, once every dimension is between 1 and MAX_DIM."""
    for name, value in (("height", shape.h), ("width", shape.w), ("channels", shape.c)):
        if value is not None and not 1 <= value <= MAX_DIM:
            raise ConvcalcError(f"{name} {value} must be between 1 and {MAX_DIM:,}")
    return shape


def same_padding(n: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding for one axis: output ceil(n/s), the odd pixel bottom/right.

    With stride 1 this is (f - 1)/2 on each side for odd f, so the output keeps the input size.
    """
    out = -(-n // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def resolve_padding(padding: "int | str | tuple[int, ...]", hw: Pair, kernel: Pair,
                    stride: Pair, dilation: Pair) -> Pads:
    """A layer's padding spec as (top, bottom, left, right) for this input size."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        top, bottom = same_padding(hw[0], kernel[0], stride[0], dilation[0])
        left, right = same_padding(hw[1], kernel[1], stride[1], dilation[1])
        return top, bottom, left, right
    if isinstance(padding, int):
        return padding, padding, padding, padding
    if isinstance(padding, tuple) and len(padding) == 2:
        return padding[0], padding[0], padding[1], padding[1]
    if isinstance(padding, tuple) and len(padding) == 4:
        return padding[0], padding[1], padding[2], padding[3]
    raise ConvcalcError(f"padding {padding!r} must be a number, [h, w], "
                        "[top, bottom, left, right], 'same' or 'valid'")


def output_size(n: int, kernel: int, stride: int, pad_before: int, pad_after: int,
                dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of one axis: floor((n + p_before + p_after - d(f - 1) - 1) / s) + 1.

    With d = 1 and symmetric p this is the lecture's floor((n + 2p - f) / s) + 1. ceil_mode
    rounds up instead, except that (as PyTorch does) the last window must start inside the input
    or its left padding.
    """
    numbers = (n, kernel, stride, pad_before, pad_after, dilation)
    if any(isinstance(v, bool) or not hasattr(type(v), "__index__") for v in numbers):
        raise ConvcalcError(f"output_size takes whole numbers, not {numbers}")
    if min(n, kernel, stride, dilation) < 1:
        raise ConvcalcError(f"output_size needs n, kernel, stride and dilation of at least 1, "
                            f"not {numbers}")
    span = n + pad_before + pad_after - dilation * (kernel - 1) - 1
    if span < 0:
        raise ConvcalcError(
            f"kernel {kernel} (dilation {dilation}) is larger than the padded input "
            f"{n} + {pad_before + pad_after}; use a smaller kernel or more padding"
        )
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= n + pad_before:
        out -= 1
    return out
