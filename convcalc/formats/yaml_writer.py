"""``Architecture`` -> an editable convcalc YAML file (``convcalc import``, ``export --to yaml``).

The file is written from the analysis rows, where every layer is concrete (padding resolved,
shortcut projections expanded), so it analyzes to the same numbers. It reads like a hand-written
file: one line per layer in a flat ``layers:`` list, each named after its layer path (dots become
underscores), with only the keys that differ from the kind's defaults, and ``from:`` only where
the graph branches or merges (a layer that reads the one before it says nothing). Repeated
blocks are not folded into ``blocks:``; side branches are left out.
"""

import dataclasses
import json
import re
from typing import Any

from convcalc.analysis.report import NETWORK_INPUT, LayerRow, analyze
from convcalc.errors import plain
from convcalc.graph.architecture import Architecture
from convcalc.graph.layers import ChannelSlice, Dims, Layer, Merge

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
    """The row's layer with its settings as the file must say them: a section of a split into
    equal parts (whose bounds hidden fields give) as its channels start .. stop."""
    layer = row.layer
    if isinstance(layer, ChannelSlice) and layer.parts:
        start, stop = layer.bounds(row.input.c)
        return ChannelSlice(start=start, stop=stop)
    return layer


def _names(rows: list[LayerRow]) -> list[str]:
    """A word per row, from its path: 'layer1.0.conv1' -> 'layer1_0_conv1', made unique."""
    names: list[str] = []
    taken = {"input", "in"}
    for row in rows:
        name = re.sub(r"\W+", "_", row.path).strip("_") or row.kind
        if not _WORD.fullmatch(name):
            name = f"{row.kind}_{name}"
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names.append(name)
    return names


def write_yaml(arch: Architecture) -> str:
    """The YAML text of ``arch``: a flat list of its layers that analyzes to the same totals."""
    report = analyze(arch)
    rows = [r for r in report.rows if not r.side]
    index = {id(r): i for i, r in enumerate(report.rows)}
    names = dict(zip((index[id(r)] for r in rows), _names(rows), strict=True))
    names[NETWORK_INPUT] = "input"
    lines = [
        # plain: a name or producer an ONNX file holds may have controls YAML files may not
        f"name: {_scalar(plain(arch.name))}",
        f"description: {_scalar(plain(arch.description))}",
        f"source: {_scalar(plain(arch.source))}",
        f"input: {arch.input}",
        "layers:",
    ]
    previous = NETWORK_INPUT
    for row in rows:
        i = index[id(row)]
        body = {"name": names[i], **layer_fields(_concrete(row))}
        if row.inputs != (previous,):
            sources = [names[s] for s in row.inputs]
            body["from"] = sources[0] if len(sources) == 1 else sources
        items = ", ".join(f"{k}: {_scalar(v)}" for k, v in body.items())
        lines.append(f"  - {row.kind}: {{{items}}}")
        previous = i
    outputs = [names[row] for row in report.outputs]
    if outputs != [names[previous]]:
        lines.append(f"outputs: [{', '.join(outputs)}]")
    return "\n".join(lines) + "\n"

