"""Tensor shapes and the one output-size formula every windowed layer uses.

A ``Shape`` is the dims of one tensor of the batch, 1 to 6 of them, the features (channels)
always last. Three ranks have names: an image is [h, w, c] (the lecture's n_H x n_W x n_C), a
sequence of tokens is [n, d] and a flat vector (after ``flatten`` or ``select_token``) is [c].
Any other rank keeps the order its ``reshape`` or ``transpose`` gave it; rank 3 is always read
as an image. Padding is resolved to (top, bottom, left, right).
"""

from convcalc.errors import ConvcalcError
from convcalc.limits import MAX_DIM, MAX_RANK

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]


class Shape:
    """The dims of one tensor, features last: ``Shape(224, 224, 3)`` is an image,
    ``Shape(197, 768)`` tokens, ``Shape(1000)`` a flat vector. ``h`` and ``w`` are an image's
    height and width (None for any other rank); ``c`` is the last dim (channels, features)."""

    __slots__ = ("c", "dims", "h", "w")
    dims: tuple[int, ...]
    h: int | None
    w: int | None
    c: int

    def __init__(self, *dims: int) -> None:
        if not 1 <= len(dims) <= MAX_RANK:
            raise ConvcalcError(f"a tensor has 1 to {MAX_RANK} dims, not {len(dims)}")
        # Made by the API too: Shape(32.5, 32.5, 1) would count fractional positions.
        if any(isinstance(d, bool) or not isinstance(d, int) for d in dims):
            raise ConvcalcError("a shape's dims must be whole numbers, not "
                                + " x ".join(map(repr, dims)))
        image = len(dims) == 3
        set_ = object.__setattr__
        set_(self, "dims", dims)
        set_(self, "h", dims[0] if image else None)
        set_(self, "w", dims[1] if image else None)
        set_(self, "c", dims[-1])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Shape is immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shape) and self.dims == other.dims

    def __hash__(self) -> int:
        return hash(self.dims)

    def __repr__(self) -> str:
        return f"Shape{self.dims}" if len(self.dims) > 1 else f"Shape({self.dims[0]})"

    def __reduce__(self) -> tuple[type["Shape"], tuple[int, ...]]:
        return Shape, self.dims

    @classmethod
    def flat(cls, n: int) -> "Shape":
        """A flat vector of n values."""
        return cls(n)

    @property
    def rank(self) -> int:
        return len(self.dims)

    @property
    def is_flat(self) -> bool:
        """A flat vector [c]."""
        return len(self.dims) == 1

    @property
    def is_image(self) -> bool:
        """An image [h, w, c]."""
        return len(self.dims) == 3

    @property
    def is_tokens(self) -> bool:
        """A sequence of tokens [n, d]."""
        return len(self.dims) == 2

    @property
    def tokens(self) -> Pair:
        """(n, d) of a token sequence; any other rank is a user error."""
        if len(self.dims) != 2:
            raise ConvcalcError(f"needs tokens (n x d) but gets {self.described()}; "
                                + ("add 'tokens' before it" if self.is_image else
                                   "reshape it to n x d first"))
        return self.dims[0], self.dims[1]

    @property
    def hw(self) -> Pair:
        """(h, w) of an image; any other rank has no spatial size, so asking is a user error."""
        if self.h is None or self.w is None:
            raise ConvcalcError(
                f"needs a spatial input (h x w x c) but gets {self.described()}; "
                + ("remove the 'flatten' before it" if self.is_flat else
                   "add 'image' before it" if self.is_tokens else "reshape it to h x w x c")
            )
        return self.h, self.w

    @property
    def elements(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n

    def described(self) -> str:
        """The shape with its rank's name: 'the flat vector 10', 'tokens 197x768', ..."""
        name = {1: "the flat vector", 2: "tokens", 3: "the image"}.get(
            len(self.dims), f"the rank-{len(self.dims)} tensor")
        return f"{name} {self}"

    def as_list(self) -> list[int]:
        """The dims in order: [h, w, c], [n, d], [c], ...: the JSON form."""
        return list(self.dims)

    def __str__(self) -> str:
        return "x".join(map(str, self.dims))


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
    names = ("height", "width", "channels") if shape.is_image else (
        ("tokens", "features") if shape.is_tokens else ())
    for i, value in enumerate(shape.dims):
        if not 1 <= value <= MAX_DIM:
            name = names[i] if names else f"dim {i}"
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
