"""YAML architecture files -> ``Architecture``: the only reader of files.

``load`` finds and reads a file (a path, the name of a built-in architecture, or a named
scale: 'efficientnet_b3'); ``parse`` turns its text into an ``Architecture``: it keeps the line
of every key, checks keys against the layer dataclasses, expands blocks, repeats (scaled by the
depth multiplier) and conditions, evaluates formulas, names every layer with a dotted path and
resolves what each reads ('from:'), compiling residuals, concat branches, side branches and
splits into plain graph nodes. Formulas over the block input's shape (``in.c``) become layers
that are built at analysis time. The expansion counts its nesting across blocks and charges
every item to the budget, so no file can exhaust the stack or run unbounded. YAML is read with
PyYAML's safe loader only.
"""

import re
from dataclasses import replace
from pathlib import Path

from convcalc.errors import ConvcalcError, suggestion
from convcalc.formats.declarations import scaled_name
from convcalc.formats.expand import _Expander
from convcalc.formats.yaml_reader import as_mapping, read_text, read_yaml
from convcalc.graph.architecture import Architecture
from convcalc.graph.expr import is_name
from convcalc.limits import (
    MAX_DEPTH_MULTIPLIER,
    Budget,
)


def builtin_dirs(folder: str = "architectures") -> list[Path]:
    """Where built-in architectures (or another shipped folder of YAML files, such as
    devices/) live: inside the installed package (the wheel carries the folder there), or
    beside the package in a source checkout."""
    package = Path(__file__).resolve().parent.parent
    return [package / folder, package.parent / folder]


def builtin_names(folder: str = "architectures") -> list[str]:
    """Names of the built-in architectures (or of another shipped folder's files), in natural
    order (resnet18 before resnet101)."""
    names = {p.stem for d in builtin_dirs(folder) if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names, key=_natural)


def catalogue_names() -> list[str]:
    """The names ``convcalc list`` shows: each built-in architecture's in natural order, or
    for a file with named ``scales:`` one name per scale, in the file's order (efficientnet_b0
    ... efficientnet_b7, torchvision's names; yolov8n, s, m, l, x, Ultralytics' names and
    order; see ``scaled_name``) instead of the file's own. ``builtin_names`` stays
    one name per file, so that the tests and tools going over every file read each once."""
    return [scaled_name(name, scale) if scale else name
            for name in sorted(builtin_names(), key=_natural)
            for scale in scale_names(locate(name)) or ("",)]


def scale_names(path: Path) -> tuple[str, ...]:
    """The names of a YAML file's ``scales:``, in the file's order (none without them),
    without expanding its layers."""
    shown = path.name if path.parent in builtin_dirs() else str(path)
    try:
        doc = read_yaml(read_text(path, "architecture files", shown), Budget())
        return tuple(as_mapping(doc.get("scales"), "'scales'", doc.key_lines.get("scales")))
    except ConvcalcError as e:
        raise e.located(file=shown) from None


def _natural(name: str) -> list[int | str]:
    """Sort key of natural order: the digits as numbers (resnet18 before resnet101)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def locate(source: str | Path, folder: str = "architectures", what: str = "architecture",
           listing: str = "convcalc list") -> Path:
    """The file for a path, or for the name of a built-in architecture (or of a file in
    another shipped ``folder``, a ``what`` that the command ``listing`` shows)."""
    path = Path(source)
    try:
        if path.suffix in (".yaml", ".yml", ".onnx") or path.exists() or len(path.parts) > 1:
            return path
        for directory in builtin_dirs(folder):
            if (directory / f"{source}.yaml").is_file():
                return directory / f"{source}.yaml"
    except OSError as e:  # a name longer than the file system allows: Path.exists raises
        raise ConvcalcError(f"cannot read: {e.strerror or e}", file=str(source)) from None
    hint = suggestion(str(source), builtin_names(folder))
    raise ConvcalcError(f"no file and no built-in {what} named '{source}'{hint}"
                        f"{' ' if hint else '; '}'{listing}' shows the built-in ones")


def locate_scaled(source: str | Path) -> tuple[Path, str | None]:
    """The file and named scale for a source: 'efficientnet_b3' is efficientnet.yaml's scale
    'b3' when no efficientnet_b3.yaml exists, 'yolov8n' yolov8.yaml's scale 'n' when that file
    declares it; 'nets/effnet.yaml:b3' names a file's scale."""
    text = str(source)
    base, _, scale = text.rpartition(":")
    if not isinstance(source, Path) and Path(base).suffix in (".yaml", ".yml") and is_name(scale):
        return Path(base), scale
    try:
        return locate(source), None
    except ConvcalcError:
        stem, _, scale = text.rpartition("_")
        if stem and scale and len(Path(text).parts) == 1:
            for directory in builtin_dirs():
                if (directory / f"{stem}.yaml").is_file():
                    return directory / f"{stem}.yaml", scale
        joined = re.fullmatch(r"(\w*\d)([a-zA-Z]+)", text)  # yolov8n: yolov8.yaml's scale n
        if joined:
            for directory in builtin_dirs():
                path = directory / f"{joined[1]}.yaml"
                if path.is_file() and joined[2] in scale_names(path):
                    return path, joined[2]
        raise


def load(source: str | Path, *, depth: float = 1.0) -> Architecture:
    """Read an architecture from a YAML file, an ONNX file or by built-in name ('resnet50', or
    a named scale such as 'efficientnet_b3'); ``depth`` multiplies every scaled repeat count
    (and the name says so: 'efficientnet_b0 depth×1.4')."""
    path, scale = locate_scaled(source)
    shown = path.name if path.parent in builtin_dirs() else str(
        source if scale is None else path)
    if path.suffix == ".onnx":  # the ONNX reader, behind the optional onnx extra
        from convcalc.formats.onnx_reader import read_onnx

        if depth != 1.0:
            raise ConvcalcError("--depth-multiplier scales the repeat counts of a YAML file; "
                                "an ONNX graph has none", file=shown)
        return read_onnx(path, shown=shown)
    arch = parse(read_text(path, "architecture files", shown), file=shown, depth=depth,
                 scale=scale)
    # Named after what was done to it, as the width and input variants are.
    return arch if depth == 1.0 else replace(arch, name=f"{arch.name} depth×{depth:g}")


def parse(text: str, file: str = "<string>", *, depth: float = 1.0,
          scale: str | None = None) -> Architecture:
    """An ``Architecture`` from YAML text; ``file`` is the name used in error messages.
    ``depth`` multiplies repeat counts (rounded up: EfficientNet's compound scaling) and
    ``scale`` picks one of the file's named ``scales:`` (its width, depth and input)."""
    if not 0 < depth <= MAX_DEPTH_MULTIPLIER:
        raise ConvcalcError(f"depth multiplier {depth:g} must be above 0 and at most "
                            f"{MAX_DEPTH_MULTIPLIER:g}")
    try:
        budget = Budget()
        doc = read_yaml(text, budget)
        return _Expander(doc, file, budget, depth, scale).architecture()
    except ConvcalcError as e:
        raise e.located(file=file) from None
