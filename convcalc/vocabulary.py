"""One spelling table for the names every command and the Python API accept: output formats
and element types. ``md`` and ``markdown`` are one format, ``fp32`` and ``float32`` one type;
each command keeps its own canonical name and accepts every synonym of it."""

from collections.abc import Sequence

from convcalc.errors import ConvcalcError

# Groups of names for one thing; the code uses whichever of a group a command lists.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("markdown", "md"),
    ("tex", "latex"),
    ("fp64", "float64"),
    ("fp32", "float32"),
    ("fp16", "float16"),
    ("bf16", "bfloat16"),
)

# What ``variants.convert`` rewrites a network to; here, not in variants, so that the CLI can
# list them for --convert without importing variants on every start.
CONVERSIONS = ("separable", "standard")

# What a drawing (``convcalc graph``) can colour its boxes by, and the formats it is written in;
# here so that the CLI lists them without importing the drawing code on every start.
COLOR_METRICS = ("macs", "params", "seconds", "activations", "bytes_moved")
DRAWING_FORMATS = ("svg", "html", "dot")


def spellings(names: Sequence[str]) -> list[str]:
    """Every accepted spelling of ``names``: each name followed by its synonyms."""
    out: list[str] = []
    for name in names:
        group = next((g for g in SYNONYMS if name in g), (name,))
        out += [name, *(g for g in group if g != name and g not in names)]
    return out


def canonical(name: str, names: Sequence[str], what: str = "name") -> str:
    """The one of ``names`` that ``name`` spells: 'md' -> 'markdown' when 'markdown' is
    listed, 'float16' -> 'fp16'. An unknown name is a ConvcalcError listing the spellings."""
    if not isinstance(name, str):  # from the Python API: format=3
        raise ConvcalcError(f"{what} {name!r} must be one of {', '.join(spellings(names))}")
    name = name.strip().lower()
    if name in names:
        return name
    for group in SYNONYMS:
        if name in group:
            for candidate in group:
                if candidate in names:
                    return candidate
    raise ConvcalcError(f"{what} '{name}' must be one of {', '.join(spellings(names))}")
