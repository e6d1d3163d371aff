"""A report as JSON: the stable contract scripts read (``report_dict``), written one layer per
line (``render_json``). Kept apart from the terminal table (``table``, ``grid``), so that
``convcalc analyze --format json`` does not load them (start-up time)."""

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from convcalc.analysis.report import NETWORK_INPUT, Report

# Layers a conversion created, by path, with what they replaced ('conv', 'depthwise+pointwise').
Changed = Mapping[str, str]


def _layer_entries(report: Report, changed: Changed | None) -> "Iterable[dict[str, Any]]":
    names = [r.path for r in report.rows]
    for row in report.rows:
        entry: dict[str, Any] = {
            "name": row.path,
            "kind": row.kind,
            "input": row.input.as_list(),
            "output": row.output.as_list(),
            "from": ["input" if i == NETWORK_INPUT else names[i] for i in row.inputs],
            "params": row.params,
            "macs": row.macs,
            "flops": row.flops,
            "other_ops": row.other_ops,
            "activations": row.activations,
            "receptive_field": list(row.receptive_field),
            "jump": list(row.jump),
            "side": row.side,
            "bytes_moved": row.bytes_moved,
            "intensity": row.intensity,
            "seconds": row.seconds,
            "bound": row.bound,
        }
        if changed and row.path in changed:
            entry["converted_from"] = changed[row.path]
        if row.window is not None:
            window = row.window
            entry["kernel"] = list(window.kernel)
            entry["stride"] = list(window.stride)
            entry["padding"] = list(window.padding)
            entry["dilation"] = list(window.dilation)
            entry["groups"] = window.groups
        yield entry


def report_dict(report: Report, changed: Changed | None = None,
                layers: bool = True) -> dict[str, Any]:
    """The JSON form of a report: the stable contract scripts rely on. After a conversion, the
    layers it created carry ``converted_from``. ``layers=False`` leaves the layer list empty
    (``render_json`` streams it)."""
    t = report.totals
    return {
        "name": report.name,
        "description": report.description,
        "source": report.source,
        "input": report.input.as_list(),
        "width": report.width,
        "dtype": report.dtype,
        "include_side": report.include_side,
        "batch": report.batch,
        "device": report.device.name if report.device is not None else None,
        "notes": list(report.notes),
        "layers": list(_layer_entries(report, changed)) if layers else [],
        "totals": {
            "params": t.params, "macs": t.macs, "flops": t.flops, "other_ops": t.other_ops,
            "activations": t.activations, "param_bytes": t.param_bytes,
            "activation_bytes": t.activation_bytes, "bytes_moved": t.bytes_moved,
            "seconds": t.seconds,
        },
    }


def render_json(report: Report, changed: Changed | None = None,
                conversions: Sequence[Mapping[str, Any]] = ()) -> str:
    """One JSON object (see ``report_dict``), one layer per line: readable, and fast because
    only json's C encoder (no indent) is used and each layer is encoded as it is made.
    ``conversions`` (``Conversion.to_dict()``: what --convert did) go under that key."""
    encode = json.JSONEncoder(check_circular=False, allow_nan=False).encode
    items = []
    document = report_dict(report, changed, layers=False)
    if conversions:
        document["conversions"] = list(conversions)
    for key, value in document.items():
        if key == "layers":
            rows = ",\n".join("    " + encode(e) for e in _layer_entries(report, changed))
            items.append(f'  "layers": [\n{rows}\n  ]' if rows else '  "layers": []')
        else:
            items.append(f"  {json.dumps(key, allow_nan=False)}: "
                         f"{json.dumps(value, allow_nan=False)}")
    return "{\n" + ",\n".join(items) + "\n}"
