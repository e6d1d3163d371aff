"""A numpy reference for every layer kind, and ``verify``: run a report's rows on real arrays
and compare the shapes produced and the multiplies performed with the engine's numbers.

The only package that imports numpy; the CLI imports it inside ``verify`` and ``conv`` only.
Three jobs, one module each: ``kernels`` (pure array functions returning their multiplies),
``runner`` (``verify`` and the table from layer kind to kernel), ``edge`` (the ``conv`` demo).
"""

from convcalc.reference.edge import FilterRun, edge_filter, filter2d, read_matrix
from convcalc.reference.kernels import (
    ACTIVATIONS,
    adaptive_avg_pool2d,
    conv2d,
    local_response_norm,
    pad,
    pool2d,
)
from convcalc.reference.runner import DTYPES, RUNNERS, Check, run_row, shape_of, verify

__all__ = [
    "ACTIVATIONS",
    "DTYPES",
    "RUNNERS",
    "Check",
    "FilterRun",
    "adaptive_avg_pool2d",
    "conv2d",
    "edge_filter",
    "filter2d",
    "local_response_norm",
    "pad",
    "pool2d",
    "read_matrix",
    "run_row",
    "shape_of",
    "verify",
]
