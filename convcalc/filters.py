"""The lecture's edge-detection filters and its step image, as plain numbers (no numpy).

Filters are applied as deep-learning convolutions are: cross-correlation, the kernel not
flipped, so the vertical filter [[1, 0, -1]] * 3 turns a bright-left/dark-right edge positive.
"""

Matrix = tuple[tuple[float, ...], ...]

FILTERS: dict[str, Matrix] = {
    "vertical": ((1, 0, -1), (1, 0, -1), (1, 0, -1)),
    "horizontal": ((1, 1, 1), (0, 0, 0), (-1, -1, -1)),
    "sobel-x": ((1, 0, -1), (2, 0, -2), (1, 0, -1)),
    "sobel-y": ((1, 2, 1), (0, 0, 0), (-1, -2, -1)),
    "scharr-x": ((3, 0, -3), (10, 0, -10), (3, 0, -3)),
    "scharr-y": ((3, 10, 3), (0, 0, 0), (-3, -10, -3)),
    "laplacian": ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
}

# The lecture's 6x6 image: 10s on the left half, 0s on the right (one vertical edge).
EXAMPLES: dict[str, Matrix] = {
    "step": tuple((10, 10, 10, 0, 0, 0) for _ in range(6)),
}

CHANNELS = {"r": 0, "g": 1, "b": 2}
