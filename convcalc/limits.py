"""Every limit convcalc enforces, in one place, and the budget that every stage charges.

The limits keep a hostile or mistaken input from hanging convcalc or exhausting memory: each is
far above any real network and small enough that every command on an input within them
finishes in seconds. Stages do not check sizes case by case; they charge a ``Budget`` (work
that accumulates: YAML values, expanded layers) or call ``check_dim`` (a size that is derived),
and the budget raises the one located error.
"""

from convcalc.errors import ConvcalcError

# Reading files.
MAX_FILE_BYTES = 5 * 1024 * 1024      # an architecture file
MAX_ONNX_GRAPH_BYTES = 256 << 20       # an ONNX model with its weights left out
MAX_TEXT_BYTES = 4 << 20              # a text matrix for `conv`
# Parsing and expanding.
MAX_YAML_NODES = 200_000              # YAML values after aliases are expanded
MAX_NUMBER_CHARS = 100                # one number written in a file (Python refuses 4,300 digits)
MAX_NESTING = 64                      # YAML nesting, and block calls inside block calls
MAX_REPEAT = 10_000                   # one repeat count
MAX_LAYERS = 200_000                  # layers after expanding blocks and repeats
MAX_ITEMS = 400_000                   # list items expanded (empty groups and sides included)
MAX_EXPRESSION_CHARS = 200            # one formula
MAX_MAGNITUDE = 10**15                # any value a formula computes
# Shapes: the largest height, width or channel count, given or derived.
MAX_DIM = 10_000_000
MAX_ELEMENTS = 10**18                 # values in one tensor (a flat vector's length included)
# Rewrites, sweeps and the roofline.
MAX_WIDTH = 16.0
MAX_DEPTH_MULTIPLIER = 16.0           # --depth-multiplier and a scale's depth
MAX_SWEEP_CELLS = 1000
MAX_BATCH = 1_000_000                 # images in one --batch
MAX_CALIBRATION_ROWS = 1000           # measured networks in one calibrate CSV
# The numpy reference: the most memory one verify may need (tensors alive, weights and working
# memory at its peak layer), the multiplies and other operations it may run (each about 10 s on
# 2 cores: resnet50 at 224 is 4.1 GMACs, vgg16 15.5), and the largest chunk one layer builds.
MAX_VERIFY_BYTES = 4 << 30
MAX_VERIFY_MACS = 20 * 10**9
MAX_VERIFY_OTHER_OPS = 1 * 10**9
VERIFY_CHUNK_BYTES = 256 << 20
MAX_MATRIX_ELEMENTS = 1 << 22         # `conv`'s matrices (2048x2048)

LIMITS = {
    "yaml_values": (MAX_YAML_NODES, "YAML values (after aliases are expanded)"),
    "layers": (MAX_LAYERS, "layers after expanding blocks and repeats"),
    "items": (MAX_ITEMS, "layer items after expanding blocks and repeats (empty ones too)"),
}


class Budget:
    """Work charged by the stages of one command; crossing a limit raises one error naming it."""

    def __init__(self) -> None:
        self.spent = dict.fromkeys(LIMITS, 0)

    def charge(self, what: str, amount: int = 1, line: int | None = None) -> None:
        """Add ``amount`` to the counter ``what``; a ConvcalcError once it passes its limit."""
        self.spent[what] += amount
        limit, text = LIMITS[what]
        if self.spent[what] > limit:
            raise ConvcalcError(f"has more than {limit:,} {text}", line=line)
