"""The lecture's edge-detection demo behind ``convcalc conv``: read a small matrix, run one
filter over it with the reference convolution."""

from dataclasses import dataclass

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.filters import CHANNELS
from convcalc.graph.shapes import Pads, output_size, resolve_padding
from convcalc.inputs import open_input, read_input
from convcalc.limits import MAX_MATRIX_ELEMENTS, MAX_TEXT_BYTES
from convcalc.reference.kernels import Array, checked_arithmetic, conv2d

# `conv` is for looking at small matrices: its images, padded images and outputs are limited to
# MAX_MATRIX_ELEMENTS (32 MiB as float64), and text matrices to MAX_TEXT_BYTES, whose parsing
# into Python lists takes about 50 bytes of memory per byte of text.

def _check_elements(what: str, shape: tuple[int, ...]) -> None:
    elements = 1
    for n in shape:
        elements *= n
    if elements > MAX_MATRIX_ELEMENTS:
        raise ConvcalcError(f"{what} has {elements:,} elements "
                            f"({'x'.join(map(str, shape))}, {elements * 8 / 2**20:,.0f} MiB); "
                            f"conv takes at most {MAX_MATRIX_ELEMENTS:,} (2048x2048): crop or "
                            "downscale it, or use less padding")


def read_matrix(path: str) -> Array:
    """A matrix from a .npy file (h x w, or h x w x c) or a CSV / whitespace-separated text
    file (h x w), within MAX_MATRIX_ELEMENTS and MAX_TEXT_BYTES."""
    try:
        if path.endswith(".npy"):
            with open_input(path) as f:
                # The header first, so a huge file is refused before its values are read.
                major, _ = np.lib.format.read_magic(f)
                header = {1: np.lib.format.read_array_header_1_0,
                          2: np.lib.format.read_array_header_2_0}.get(major)
                if header is None:
                    raise ValueError(f".npy format version {major} is not read")
                shape, _, dtype = header(f)
                _check_elements(f"{path}:", shape)
                if not np.issubdtype(dtype, np.number):
                    raise ConvcalcError(f"{path}: needs an h x w (or h x w x c) matrix of "
                                        f"numbers, not {dtype} values")
                f.seek(0)
                a = np.load(f, allow_pickle=False)
        else:
            text = read_input(path, MAX_TEXT_BYTES, "text matrices",
                              hint="save a larger one as .npy").decode("utf-8")
            lines = [ln.replace(",", " ").split() for ln in text.splitlines() if ln.strip()]
            if not lines or len({len(ln) for ln in lines}) != 1:
                raise ConvcalcError(f"{path}: needs rows of equally many numbers")
            a = np.array(lines, dtype=np.float64)
    except OSError as e:
        raise ConvcalcError(f"{path}: cannot read: {e.strerror or e}") from None
    except ValueError as e:
        raise ConvcalcError(f"{path}: not a matrix of numbers: {e}") from None
    if a.ndim not in (2, 3) or 0 in a.shape or not np.issubdtype(a.dtype, np.number):
        raise ConvcalcError(f"{path}: needs an h x w (or h x w x c) matrix of numbers, "
                            f"not shape {a.shape}")
    matrix: Array = a.astype(np.float64)
    if not np.isfinite(matrix).all():
        raise ConvcalcError(f"{path}: holds a value that is not a finite number (inf or nan); "
                            "give finite numbers")
    return matrix


def filter2d(image: Array, kernel: Array, padding: Pads, stride: int,
             channels: tuple[int, ...]) -> Array:
    """The lecture's edge detection: image (h, w, c) convolved with one filter whose slices on
    ``channels`` are ``kernel`` and on the other channels zero; an h_out x w_out matrix."""
    h, w, c = image.shape
    top, bottom, left, right = padding
    _check_elements("the padded input", (h + top + bottom, w + left + right, c))
    weight = np.zeros((*kernel.shape, image.shape[2], 1))
    weight[:, :, list(channels), 0] = kernel[:, :, None]
    out, _ = conv2d(image, weight, None, stride=(stride, stride), padding=padding)
    return out[:, :, 0]


@dataclass(frozen=True)
class FilterRun:
    """One run of ``convcalc conv``: the image (h x w x c), the filter, the channels it reads,
    the resolved padding and stride, and the output matrix."""

    image: Array
    kernel: Array
    channels: tuple[int, ...]
    padding: Pads
    stride: int
    output: Array


def edge_filter(image: Array, kernel: Array, *, padding: int | str = "valid", stride: int = 1,
                channel: str = "all", rgb: bool = False) -> FilterRun:
    """``kernel`` run over ``image`` (h x w, or h x w x c) as in the lecture: on every channel,
    or on one of an RGB image's with the other channels' filter slices zero. ``rgb`` makes a
    one-channel image three equal channels."""
    if image.ndim == 2:
        image = image[:, :, None]
    if rgb and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    if kernel.ndim != 2:
        raise ConvcalcError(f"the filter needs an f x f matrix, not shape {kernel.shape}")
    if channel == "all":
        channels = tuple(range(image.shape[2]))
    elif image.shape[2] == 3 and channel in CHANNELS:
        channels = (CHANNELS[channel],)
    else:
        raise ConvcalcError(f"--channel {channel} needs a 3-channel input (or --rgb); the input "
                            f"has {image.shape[2]}")
    pads = resolve_padding(padding, image.shape[:2], kernel.shape, (stride, stride), (1, 1))
    # Refuses, with the lecture's formula, a filter larger than the padded image.
    output_size(image.shape[0], kernel.shape[0], stride, pads[0], pads[1])
    output_size(image.shape[1], kernel.shape[1], stride, pads[2], pads[3])
    with checked_arithmetic("the filtered image's"):
        out = filter2d(image, kernel, pads, stride, channels)
    return FilterRun(image, kernel, channels, pads, stride, out)


def grey_levels(matrix: Array) -> list[list[int]]:
    """A 2-D matrix as grey levels 0..255 for an image: the smallest value black (0), the
    largest white (255), linear between, rounded to the nearest level; a constant matrix is
    black."""
    if matrix.ndim != 2:
        raise ConvcalcError(f"an image needs an h x w matrix, not shape {matrix.shape}")
    low, high = float(matrix.min()), float(matrix.max())
    scale = 255 / (high - low) if high > low else 0.0
    return np.rint((matrix - low) * scale).astype(int).tolist()  # type: ignore[no-any-return]
