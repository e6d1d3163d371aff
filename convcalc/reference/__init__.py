"""A numpy reference for every layer kind, and ``verify``: run a report's rows on real arrays
and compare the shapes produced and the multiplies performed with the engine's numbers.

The only package that imports numpy; the CLI imports it inside ``verify`` and ``conv`` only.
Three jobs, one module each: ``kernels`` (pure array functions returning their multiplies),
``runner`` (``verify`` and the table from layer kind to kernel), ``edge`` (the ``conv`` demo);
``budget`` estimates what a verify needs and refuses it, before anything runs, when that is over
the limits.
"""

from convcalc.reference.edge import FilterRun, edge_filter, filter2d, grey_levels, read_matrix
from convcalc.reference.kernels import (
    ACTIVATIONS,
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    center_crop,
    channel_shuffle,
    conv2d,
    conv_transpose2d,
    layer_norm,
    local_response_norm,
    pad,
    pool2d,
    upsample,
)
from convcalc.reference.runner import DTYPES, RUNNERS, Check, Checks, run_row, shape_of, verify

__all__ = [
    "ACTIVATIONS",
    "DTYPES",
    "RUNNERS",
    "Check",
    "Checks",
    "FilterRun",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "center_crop",
    "channel_shuffle",
    "conv2d",
    "conv_transpose2d",
    "edge_filter",
    "filter2d",
    "grey_levels",
    "layer_norm",
    "local_response_norm",
    "pad",
    "pool2d",
    "read_matrix",
    "run_row",
    "shape_of",
    "upsample",
    "verify",
]
