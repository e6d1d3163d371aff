"""``Architecture`` -> an editable convcalc YAML file (``convcalc import``, ``export --to yaml``).

The file is written from the analysis rows, where every layer is concrete (padding resolved,
shortcut projections expanded), so it analyzes to the same numbers. It reads like a hand-written
file: one line per layer with only the keys that differ from the kind's defaults, and ``from:``
only where the graph branches or merges (a layer that reads the one before it says nothing).
Layer paths keep their hierarchy: ``layer1.0.conv1`` is layer ``conv1`` in ``group: {name: 0}``
in ``group: {name: layer1}``, so the file reads back to the same paths and ``--depth`` folds it
as it folds the model. Repeated blocks are not folded into ``blocks:``; side branches are left
out.
"""

import dataclasses
import json
import re
from typing import Any

from convcalc.analysis.report import NETWORK_INPUT, LayerRow, analyze
from convcalc.errors import plain
from convcalc.formats.arguments import _candidates
from convcalc.formats.declarations import is_layer_name
from convcalc.graph.architecture import Architecture
from convcalc.graph.layers import ChannelSlice, Dims, Layer, Merge

_INDENT = "      "  # a group's layers go under its 'layers:' key
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_ .,:()/+×@-]*[A-Za-z0-9_.)]")  # ×@: variant names


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        if isinstance(value, tuple) and len(value) > 1 and len(set(value)) == 1:
            return _scalar(value[0])  # kernel: 3 for (3, 3)
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    text = str(value)
    special = text.lower() in ("true", "false", "null", "yes", "no", "on", "off")
    return text if _PLAIN.fullmatch(text) and not special and ": " not in text else (
        json.dumps(text, allow_nan=False))


def _name(word: str) -> str | int:
    """A path word as a YAML value: a copy's number as a number (``name: 0``)."""
    return int(word) if word.isdigit() and str(int(word)) == word else word


def layer_fields(layer: Layer | Merge) -> dict[str, Any]:
    """The YAML keys of a layer whose values differ from its kind's defaults."""
    hidden = ("kind", *getattr(type(layer), "yaml_hidden", ()))
    out = {}
    for f in dataclasses.fields(layer):
        if f.name in hidden:
            continue
        value = getattr(layer, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        # A list of dims (reshape's shape) is never shortened to one number, as [3, 3] is.
        out[f.name] = list(value) if f.type == Dims else value
    return out


def _concrete(row: LayerRow) -> Layer | Merge:
    """The row's layer with what it resolved from its input written out: a section of a
    ``split`` into equal parts as the channels it takes."""
    layer = row.layer
    if isinstance(layer, ChannelSlice) and (layer.parts or layer.total):
        start, stop = layer.bounds(row.input.c)
        return ChannelSlice(start=start, stop=stop)
    return layer


def _paths(rows: list[LayerRow], nested: bool) -> list[str]:
    """The path each row is written under: its own when ``nested`` and every dotted word of it
    may name a layer or group; else a word made of it ('layer1.0.conv1' -> 'layer1_0_conv1'),
    made unique."""
    paths: list[str] = []
    taken = {"input", "in"} | ({r.path for r in rows} if nested else set())
    for row in rows:
        if nested and all(is_layer_name(word) for word in row.path.split(".")):
            paths.append(row.path)
            continue
        name = re.sub(r"\W+", "_", row.path).strip("_") or row.kind
        if not _WORD.fullmatch(name):
            name = f"{row.kind}_{name}"
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        paths.append(name)
    return paths


class _Unreadable(Exception):
    """A 'from:' whose name the reader would resolve to another tensor (never raised for the
    files convcalc writes in practice; the writer then falls back on flat names)."""


def _reference(path: str, prefix: str, known: set[str], group_input: str) -> str:
    """The 'from:' name that the YAML reader, inside the group ``prefix``, resolves to ``path``:
    it tries the name inside the group first, then each group around it, then at the top; the
    group's input, where a name inside shadows it (a residual around a block), is 'in'."""
    for candidate_prefix in reversed(_candidates("", prefix)):  # the whole path first
        outer = candidate_prefix.rstrip(".")
        if outer and not path.startswith(outer + "."):
            continue
        name = path[len(outer) + 1:] if outer else path
        found = next((c for c in _candidates(name, prefix) if c in known), None)
        if found == path:
            return name
    if path == group_input:
        return "in"
    raise _Unreadable(path)


def write_yaml(arch: Architecture) -> str:
    """The YAML text of ``arch``: its layers in groups by their dotted paths, analyzing to the
    same totals."""
    report = analyze(arch)
    rows = [r for r in report.rows if not r.side]
    try:
        body, written, last = _layers(report.rows, rows, _paths(rows, nested=True))
    except _Unreadable:
        body, written, last = _layers(report.rows, rows, _paths(rows, nested=False))
    lines = [
        # plain: a name or producer an ONNX file holds may have controls YAML files may not
        f"name: {_scalar(plain(arch.name))}",
        f"description: {_scalar(plain(arch.description))}",
        f"source: {_scalar(plain(arch.source))}",
        f"input: {arch.input}",
        "layers:",
        *body,
    ]
    outputs = [written[row] for row in report.outputs]
    if outputs != [written[last]]:
        lines.append(f"outputs: [{', '.join(outputs)}]")
    return "\n".join(lines) + "\n"


def _layers(all_rows: tuple[LayerRow, ...], rows: list[LayerRow],
            paths: list[str]) -> tuple[list[str], dict[int, str], int]:
    """The lines of the layer list, the path written for each row (by its index in
    ``all_rows``) and the index of the last row written."""
    index = {id(r): i for i, r in enumerate(all_rows)}
    written = {NETWORK_INPUT: "input"}
    known: set[str] = set()
    lines: list[str] = []
    groups: list[str] = []  # the open groups, outermost first
    inputs: list[str] = []  # the tensor each open group reads
    previous = NETWORK_INPUT
    for row, path in zip(rows, paths, strict=True):
        *parents, leaf = path.split(".")
        shared = 0
        while shared < min(len(groups), len(parents)) and groups[shared] == parents[shared]:
            shared += 1
        while len(groups) > shared:  # a group's path then names its last tensor
            known.add(".".join(groups))
            groups.pop()
            inputs.pop()
        for word in parents[shared:]:
            pad = _INDENT * len(groups)
            lines += [f"{pad}  - group:", f"{pad}      name: {_name(word)}",
                      f"{pad}      layers:"]
            groups.append(word)
            inputs.append(written[previous])
        prefix = ".".join(groups)
        i = index[id(row)]
        fields = {"name": _name(leaf), **layer_fields(_concrete(row))}
        if row.inputs != (previous,):
            sources = [written[s] if s == NETWORK_INPUT else
                       _reference(written[s], prefix, known, inputs[-1] if inputs else "")
                       for s in row.inputs]
            fields["from"] = sources[0] if len(sources) == 1 else sources
        items = ", ".join(f"{k}: {_scalar(v)}" for k, v in fields.items())
        lines.append(f"{_INDENT * len(groups)}  - {row.kind}: {{{items}}}")
        written[i] = path
        known.add(path)
        previous = i
    return lines, written, previous
