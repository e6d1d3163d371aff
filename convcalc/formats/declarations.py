"""What an architecture file declares besides its layers, read and checked before any layer is
expanded: the input shape, the per-kind ``defaults``, the ``blocks``, and the named scale asked
for (``Scale``: its width, depth, channel cap, input, and the block arguments it sets)."""

from collections.abc import Mapping
from typing import Any

from convcalc.errors import ConvcalcError, suggestion
from convcalc.formats.arguments import _near
from convcalc.formats.yaml_reader import YMap, as_mapping, check_keys
from convcalc.graph.expr import is_name
from convcalc.graph.layers import FAMILIAR_NAMES, LAYER_KINDS, yaml_keys
from convcalc.graph.shapes import Shape, checked_shape, parse_shape
from convcalc.limits import MAX_DEPTH_MULTIPLIER, MAX_DIM, MAX_WIDTH

BLOCK_KEYS = ("args", "layers", "shortcut", "after", "branches")


GRAPH_KINDS = ("residual", "concat", "side", "group")


RESERVED = ("input", "in")  # 'from:' words: the network input, the enclosing block's input


SCALE_KEYS = ("width", "depth", "max_channels", "input", "args")


def is_layer_name(name: str) -> bool:
    """Whether ``name`` may name a layer or group: a word other than the 'from:' words, or a
    whole number (``layer1.0.conv1``: the number of a copy, as exporters name modules)."""
    return (is_name(name) or (name.isdigit() and name.isascii())) and name not in RESERVED


class Scale:
    """A named scale's settings: the width multiplier, the depth multiplier, the channel cap
    (None: none), the input (None: the file's own), and per block name the arguments it gives
    every call of that block (a mapping that keeps each value's line). The file itself, with
    no scale asked for, is ``Scale()``. A plain class, like the expander's ``_Context``."""

    __slots__ = ("args", "cap", "depth", "input", "width")

    def __init__(self, width: float = 1.0, depth: float = 1.0, cap: int | None = None,
                 shape: Shape | None = None, args: Mapping[str, YMap] | None = None) -> None:
        self.width, self.depth, self.cap, self.input = width, depth, cap, shape
        self.args: Mapping[str, YMap] = args or {}


def read_scale(value: Any, line: int | None, name: str | None,
               blocks: Mapping[str, YMap]) -> Scale:
    """The settings of the scale ``name`` of a file's ``scales:`` (``Scale()`` for None).
    ``scales:`` maps names to {width, depth, max_channels, input, args}, as Ultralytics'
    [depth, width, max_channels]; each figure defaults to the file's own (no cap), and ``args``
    maps names of the file's ``blocks`` to arguments that override their calls' (as
    Ultralytics' parse_model makes every C3k2 a C3k at scales m, l and x)."""
    scales = as_mapping(value, "'scales'", line)
    if name is None:
        return Scale()
    if name not in scales:
        raise ConvcalcError(f"has no scale '{name}'{_near(name, scales)}"
                            + (f"; its scales: {', '.join(scales)}" if scales else
                               " (it declares no 'scales:')"), line=line)
    where = scales.key_lines[name]
    settings = as_mapping(scales[name], f"scale '{name}'", where)
    check_keys(settings, SCALE_KEYS, f"scale '{name}'")
    figures = {}
    for key, limit in (("width", MAX_WIDTH), ("depth", MAX_DEPTH_MULTIPLIER)):
        number = settings.get(key, 1.0)
        if isinstance(number, bool) or not isinstance(number, int | float) or not (
                0 < number <= limit):
            raise ConvcalcError(f"scale '{name}': {key} {number!r} must be a number above 0 "
                                f"and at most {limit:g}", line=settings.key_lines.get(key, where))
        figures[key] = float(number)
    cap = settings.get("max_channels")
    if cap is not None and (type(cap) is not int or not 1 <= cap <= MAX_DIM):
        raise ConvcalcError(f"scale '{name}': max_channels {cap!r} must be a whole number "
                            f"from 1 to {MAX_DIM:,}", line=settings.key_lines["max_channels"])
    shape = (read_input(settings["input"], settings.key_lines["input"])
             if "input" in settings else None)
    args = _scale_args(settings.get("args"), settings.key_lines.get("args", where), name,
                       blocks)
    return Scale(figures["width"], figures["depth"], cap, shape, args)


def _scale_args(value: Any, line: int, name: str,
                blocks: Mapping[str, YMap]) -> dict[str, YMap]:
    """A scale's ``args``: block names, each to the arguments the scale gives its calls;
    every name a block of the file, every argument one the block takes."""
    args = as_mapping(value, f"'args' of scale '{name}'", line)
    given = {}
    for block, raw in args.items():
        where = args.key_lines[block]
        if block not in blocks:
            raise ConvcalcError(f"scale '{name}' gives arguments to '{block}', which is no "
                                f"block of this file{_near(block, blocks)}", line=where)
        what = f"the arguments scale '{name}' gives block '{block}'"
        params = tuple(as_mapping(blocks[block].get("args"), "", None))
        if not params:
            raise ConvcalcError(f"scale '{name}' gives arguments to block '{block}', which "
                                "takes none", line=where)
        given[block] = as_mapping(raw, what, where)
        check_keys(given[block], params, what)
    return given


def read_input(value: Any, line: int) -> Shape:
    """An ``input:`` as a shape: ``[h, w, c]``, ``HxWxC``, or ``HxW`` and one size ``N`` for
    three channels, as ``--input`` reads an RGB image."""
    try:
        if isinstance(value, list) and len(value) == 3 and all(type(v) is int for v in value):
            return checked_shape(Shape(*value))
        return parse_shape(str(value), channels=3)
    except ConvcalcError as e:
        raise e.located(line=line) from None


def read_defaults(value: Any, line: int | None) -> dict[str, YMap]:
    """``defaults:``, per layer kind the settings its layers get unless they give their own."""
    defaults = as_mapping(value, "'defaults'", line)
    for kind, keys in defaults.items():
        if kind not in LAYER_KINDS:
            raise ConvcalcError(
                f"'defaults' names unknown layer kind '{kind}'"
                f"{suggestion(kind, LAYER_KINDS, FAMILIAR_NAMES)}",
                line=defaults.key_lines[kind])
        check_keys(as_mapping(keys, f"defaults for '{kind}'", defaults.key_lines[kind]),
                   yaml_keys(LAYER_KINDS[kind]), f"defaults for '{kind}'")
    return {kind: as_mapping(keys, "", None) for kind, keys in defaults.items()}


def read_blocks(value: Any, line: int | None) -> dict[str, YMap]:
    """``blocks:``, by name: each a layer sequence (a residual one with 'shortcut'), or
    parallel 'branches' joined by concat (an Inception module), with its 'args'."""
    blocks = as_mapping(value, "'blocks'", line)
    for name, raw in blocks.items():
        where = blocks.key_lines[name]
        if not is_name(name) or name in LAYER_KINDS or name in GRAPH_KINDS:
            raise ConvcalcError(f"block name '{name}' must be a word that is not a layer "
                                "kind", line=where)
        body = as_mapping(raw, f"block '{name}'", where)
        check_keys(body, BLOCK_KEYS, f"block '{name}'")
        if ("layers" in body) == ("branches" in body):
            raise ConvcalcError(f"block '{name}' needs 'layers' or 'branches' (not both)",
                                line=where)
        if "branches" in body and ("shortcut" in body or "after" in body):
            raise ConvcalcError(f"block '{name}' with 'branches' takes no 'shortcut' or "
                                "'after'", line=where)
        args = as_mapping(body.get("args"), f"'args' of block '{name}'", where)
        for arg in args:
            if not is_name(arg) or arg in RESERVED:
                raise ConvcalcError(f"block argument '{arg}' must be a word other than "
                                    f"{' and '.join(RESERVED)}", line=args.key_lines[arg])
    return dict(blocks)


def scaled_name(name: str, scale: str) -> str:
    """The name of a file's named scale, as its library spells it: NAME_SCALE (torchvision's
    efficientnet_b3), or NAMESCALE where the name ends in a digit and the scale is letters
    (Ultralytics' yolov8n, yolo11s)."""
    return f"{name}{scale}" if name[-1:].isdigit() and scale.isalpha() else f"{name}_{scale}"
