"""Every limit convcalc enforces, in one place, and the budget that every stage charges.

The limits keep a hostile or mistaken input from hanging convcalc or exhausting memory: each is
far above any real network and small enough that every command on an input within them
finishes in seconds. Stages do not check sizes case by case; they charge a ``Budget`` (work
that accumulates: YAML values, expanded layers) or call ``check_dim`` (a size that is derived),
and the budget raises the one located error.
"""

import operator

from convcalc.errors import ConvcalcError

# Reading files.
MAX_FILE_BYTES = 5 * 1024 * 1024      # an architecture file
MAX_ONNX_GRAPH_BYTES = 256 << 20       # an ONNX model with its weights left out
MAX_TEXT_BYTES = 4 << 20              # a text matrix for `conv`
# Constants an ONNX graph computes (shape arithmetic, in pure Python): one tensor, and all of
# them in one graph. Real exports make a few values each (YOLO's anchor grid, 8,400 x 2, is the
# largest seen); 4 million take a few seconds.
MAX_CONSTANT_ELEMENTS = 1 << 16
MAX_FOLDED_ELEMENTS = 1 << 22
# Parsing and expanding.
MAX_YAML_NODES = 200_000              # YAML values after aliases are expanded
MAX_NUMBER_CHARS = 100                # one number written in a file (Python refuses 4,300 digits)
MAX_NESTING = 64                      # YAML nesting, and block calls inside block calls
MAX_REPEAT = 10_000                   # one repeat count
# 50,000 layers (some 25x the largest zoo network) is what every command finishes in a few
# seconds on 2 cores; at 200,000, report, verify and --convert took 13-22 s.
MAX_LAYERS = 50_000                   # layers after expanding blocks and repeats (ONNX nodes)
# An ONNX node name: exporters write module scopes ('/layer1/layer1.0/conv1/Conv', under 300
# characters in the zoo's exports); a name of 40 million scopes took seconds to split.
MAX_NAME_CHARS = 10_000
MAX_RANK = 64                         # dims of one ONNX tensor (networks use up to 6)
MAX_ITEMS = 100_000                   # list items expanded (empty groups and sides included)
MAX_EXPRESSION_CHARS = 200            # one formula
MAX_MAGNITUDE = 10**15                # any value a formula computes
# Shapes: the largest height, width or channel count, given or derived.
MAX_DIM = 10_000_000
MAX_ELEMENTS = 10**18                 # values in one tensor (a flat vector's length included)
MAX_RANK = 6                          # dims of one tensor (torch's reshapes in vision nets use 5)
# Receptive-field positions one analysis builds (the periods of every field a row makes, added
# up; receptive.py): a few per layer for real networks, while a resize by 1.2345678901234
# repeats only every 1.4e15 positions. A million take about a second.
MAX_FIELD_POSITIONS = 1_000_000
# Rewrites, sweeps and the roofline.
MAX_WIDTH = 16.0
MAX_DEPTH_MULTIPLIER = 16.0           # --depth-multiplier and a scale's depth
MAX_SWEEP_CELLS = 1000
MAX_SWEEP_LAYERS = 200_000            # cells x layers: the analyses one sweep runs
# Networks one compare or report reads, and their layers in all (20 copies of a 50,000-layer
# file took minutes): checked as each is loaded.
MAX_ARCHS = 100
MAX_COMPARED_LAYERS = 100_000
MAX_BATCH = 1_000_000                 # images in one --batch
# A written ONNX model is one protobuf message, which cannot pass 2 GiB; its float32 weights
# are checked before any is drawn (vit_h_14's 632M take 2.5 GB).
MAX_ONNX_WEIGHT_BYTES = (2 << 30) - (64 << 20)  # room for the graph itself
MAX_CALIBRATION_ROWS = 1000           # measured networks in one calibrate CSV
# Device figures within physical bounds, so that every time computed from them is a finite
# float that JSON can hold (1e-300 MACs/s made times of 1e300 s and overflowed to inf): a
# microcontroller does some 1e6 MACs/s, the largest accelerators 1e15; no layer costs a second
# of fixed overhead. (least, most) of each figure of a profile, read or fitted.
DEVICE_FIGURES = {
    "macs_per_second": (1e3, 1e18),
    "bytes_per_second": (1e3, 1e18),
    "overhead_seconds": (0.0, 1.0),
}
MIN_EFFICIENCY = 1e-6                 # the least fraction of the peak a layer class reaches
MEASURED_SECONDS = (1e-9, 1e6)        # one measured latency in a calibrate CSV
MAX_MEASURE_REPEAT = 10_000           # timed (or warm-up) runs of one design in `measure`
MAX_MEASURE_THREADS = 1_024           # runtime threads in `measure`
# The numpy reference: the most memory one verify may need (tensors alive, weights and working
# memory at its peak layer), the multiplies and the element-wise operations it may run (a few
# seconds each on 2 cores: resnet50 at 224 is 4.1 GMACs, vgg16 15.5; see reference/budget.py),
# and the largest chunk one layer builds.
MAX_VERIFY_BYTES = 2 << 30               # with the interpreter, under 3 GiB of RSS
MAX_VERIFY_MACS = 20 * 10**9
MAX_VERIFY_ELEMENTWISE = 1 * 10**9
VERIFY_CHUNK_BYTES = 256 << 20
MAX_MATRIX_ELEMENTS = 1 << 22         # `conv`'s matrices (2048x2048)
# Boxes in one drawing (`graph`): laid out and written in about 3 s, some 8 MB of SVG, which
# browsers still pan smoothly; densenet201 unfolded is 708.
MAX_DRAWN_BOXES = 10_000

LIMITS = {
    "yaml_values": (MAX_YAML_NODES, "YAML values (after aliases are expanded)"),
    "layers": (MAX_LAYERS, "layers after expanding blocks and repeats"),
    "items": (MAX_ITEMS, "layer items after expanding blocks and repeats (empty ones too)"),
}


class Budget:
    """Work charged by the stages of one command; crossing a limit raises one error naming it."""

    def __init__(self) -> None:
        self.spent = dict.fromkeys(LIMITS, 0)

    def left(self, what: str) -> int:
        """How much more of ``what`` may be charged before its limit is crossed."""
        return LIMITS[what][0] - self.spent[what]

    def charge(self, what: str, amount: int = 1, line: int | None = None) -> None:
        """Add ``amount`` to the counter ``what``; a ConvcalcError once it passes its limit."""
        self.spent[what] += amount
        limit, text = LIMITS[what]
        if self.spent[what] > limit:
            raise ConvcalcError(f"has more than {limit:,} {text}", line=line)


def whole_number(name: str, value: object, least: int, most: int | None = None) -> int:
    """``value`` of the argument ``name`` when it is a whole number (not a bool, not 2.5)
    from ``least`` to ``most``; a ConvcalcError otherwise (the public API's arguments)."""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise ConvcalcError(f"{name} {value!r} must be a whole number")
    number = operator.index(value)  # type: ignore[arg-type]
    if number < least or (most is not None and number > most):
        bound = f"from {least:,} to {most:,}" if most is not None else f"at least {least:,}"
        raise ConvcalcError(f"{name} {number} must be {bound}")
    return number

