"""Device profiles: YAML files -> ``roofline.Device``, and a ``Device`` back to YAML.

A profile is a name, two rates and a dtype, with optional extras::

    name: raspberry_pi4
    description: ...
    figures: peak                # or 'calibrated'
    dtype: fp32                  # the element type the figures are for
    macs_per_second: 28.8e9      # peak multiply-accumulates per second
    bytes_per_second: 12.8e9     # peak memory bandwidth
    overhead_seconds: 0          # optional: fixed cost of every layer
    efficiency: {depthwise: 0.5} # optional: fraction of macs_per_second a class reaches
    sources: {macs_per_second: "datasheet ...", ...}
    # optional: the runtime's rules (roofline.py), all off unless given
    runtime: onnxruntime         # what the rules are for
    fuses: [batchnorm, relu]     # kinds run inside the convolution before them
    channel_block: 16            # convolutions compute on channels padded to this
    slow_channels: 16            # the slow path with n channels per group: n / (n + 16)
    combine: sum                 # 'max' (roofline) or 'sum': compute + memory per layer

Built-in profiles are the files of devices/, shipped in the wheel like architectures/ and found
by name the same way. Files are read by ``loader.read_text`` with the loader's safe YAML reader,
so errors carry ``file:line`` like an architecture's.
"""

import math
from pathlib import Path
from typing import Any

from convcalc.analysis.report import DTYPE_BYTES
from convcalc.analysis.roofline import (
    COMBINES,
    EFFICIENCY_CLASSES,
    FUSABLE,
    Device,
    Devices,
    check_efficiency,
    check_figure,
)
from convcalc.errors import ConvcalcError, suggestion
from convcalc.formats.loader import builtin_dirs, builtin_names, locate
from convcalc.formats.yaml_reader import (
    YMap,
    as_mapping,
    as_sequence,
    check_keys,
    read_text,
    read_yaml,
)
from convcalc.limits import Budget

FOLDER = "devices"
REQUIRED = ("name", "macs_per_second", "bytes_per_second", "dtype")
RULES = ("runtime", "fuses", "channel_block", "slow_channels", "combine")
KEYS = (*REQUIRED, "description", "figures", "overhead_seconds", "efficiency", "sources",
        *RULES)
MAX_CHANNEL_BLOCK = 1024
FIGURES = ("peak", "calibrated")
NUMBERS = ("macs_per_second", "bytes_per_second", "overhead_seconds")


def device_names() -> list[str]:
    """Names of the built-in device profiles."""
    return builtin_names(FOLDER)


def devices() -> Devices:
    """Every built-in device profile, in name order: prints as ``convcalc devices``."""
    return Devices(load_device(name) for name in device_names())


def load_device(source: str | Path) -> Device:
    """A device profile from a YAML file or by built-in name ('raspberry_pi4')."""
    path = locate(source, FOLDER, "device", "convcalc devices")
    shown = path.name if path.parent in builtin_dirs(FOLDER) else str(source)
    return parse_device(read_text(path, "device profiles", shown), file=shown)


def parse_device(text: str, file: str = "<string>") -> Device:
    """A ``Device`` from the YAML text of a profile; ``file`` is the name used in errors."""
    try:
        doc = read_yaml(text, Budget(), needs=f"a device profile needs {', '.join(REQUIRED)}")
        return _device(doc)
    except ConvcalcError as e:
        raise e.located(file=file) from None


def _device(doc: YMap) -> Device:
    check_keys(doc, KEYS, "a device profile")
    for key in REQUIRED:
        if key not in doc:
            raise ConvcalcError(f"needs '{key}'; a device profile has {', '.join(REQUIRED)}",
                                line=1)
    line = doc.key_lines
    texts = {key: doc.get(key, "") for key in ("name", "description", "runtime")}
    for key, value in texts.items():
        if not isinstance(value, str):
            raise ConvcalcError(f"'{key}' must be text", line=line[key])
    if not texts["name"]:
        raise ConvcalcError("'name' must not be empty", line=line["name"])
    dtype = doc["dtype"]
    if dtype not in DTYPE_BYTES:
        raise ConvcalcError(f"dtype {dtype!r} must be one of {', '.join(DTYPE_BYTES)}"
                            f"{suggestion(str(dtype), DTYPE_BYTES)}", line=line["dtype"])
    figures = doc.get("figures", "peak")
    if figures not in FIGURES:
        raise ConvcalcError(f"figures {figures!r} must be one of {', '.join(FIGURES)}",
                            line=line["figures"])
    numbers = {key: _number(doc[key], key, line[key], zero=key == "overhead_seconds")
               for key in NUMBERS if key in doc}
    for key, number in numbers.items():
        try:
            check_figure(key, number)  # within physical bounds: 1e-300 MACs/s is refused
        except ConvcalcError as e:
            raise e.located(line=line[key]) from None
    efficiency = as_mapping(doc.get("efficiency"), "'efficiency'", line.get("efficiency"))
    for kind, value in efficiency.items():
        where = efficiency.key_lines[kind]
        if kind not in EFFICIENCY_CLASSES:
            raise ConvcalcError(f"efficiency for unknown class '{kind}'"
                                f"{suggestion(kind, EFFICIENCY_CLASSES)}; classes: "
                                f"{', '.join(EFFICIENCY_CLASSES)}", line=where)
        try:
            check_efficiency(kind, _number(value, f"efficiency {kind}", where, zero=False))
        except ConvcalcError as e:
            raise e.located(line=where) from None
    sources = as_mapping(doc.get("sources"), "'sources'", line.get("sources"))
    for key, value in sources.items():
        if key not in NUMBERS and key not in ("efficiency", "dtype", *RULES):
            raise ConvcalcError(f"a source for unknown figure '{key}'"
                                f"{suggestion(key, NUMBERS)}", line=sources.key_lines[key])
        if not isinstance(value, str):
            raise ConvcalcError(f"the source of {key} must be text", line=sources.key_lines[key])
    return Device(
        **_rules(doc),
        name=texts["name"], description=" ".join(texts["description"].split()),
        macs_per_second=numbers["macs_per_second"],
        bytes_per_second=numbers["bytes_per_second"], dtype=dtype,
        overhead_seconds=numbers.get("overhead_seconds", 0.0),
        efficiency={k: float(v) for k, v in efficiency.items()}, figures=figures,
        sources={k: " ".join(v.split()) for k, v in sources.items()},
    )


def _rules(doc: YMap) -> dict[str, Any]:
    """The runtime rules a profile gives (roofline.py): fuses, channel_block, slow_channels
    and combine, each checked; the runtime's name is read with the other texts."""
    line = doc.key_lines
    rules: dict[str, Any] = {"runtime": doc.get("runtime", "")}
    if "fuses" in doc:
        fuses = as_sequence(doc["fuses"], "'fuses'", line["fuses"])
        for kind in fuses:
            if kind not in FUSABLE:
                raise ConvcalcError(f"fuses '{kind}', which is not a kind a runtime fuses into "
                                    f"a convolution{suggestion(str(kind), FUSABLE)}; kinds: "
                                    f"{', '.join(FUSABLE)}", line=line["fuses"])
        rules["fuses"] = tuple(str(k) for k in fuses)
    if "channel_block" in doc:
        block = doc["channel_block"]
        if isinstance(block, bool) or not isinstance(block, int) or not (
                1 <= block <= MAX_CHANNEL_BLOCK):
            raise ConvcalcError(f"channel_block {block!r} must be a whole number from 1 to "
                                f"{MAX_CHANNEL_BLOCK} (1: channels are not blocked)",
                                line=line["channel_block"])
        rules["channel_block"] = block
    if "slow_channels" in doc:
        rules["slow_channels"] = _number(doc["slow_channels"], "slow_channels",
                                         line["slow_channels"], zero=True)
    if "combine" in doc:
        if doc["combine"] not in COMBINES:
            raise ConvcalcError(f"combine {doc['combine']!r} must be one of "
                                f"{', '.join(COMBINES)}", line=line["combine"])
        rules["combine"] = doc["combine"]
    return rules


def _number(value: Any, key: str, line: int, zero: bool) -> float:
    """A finite number above 0 (or at least 0 when ``zero``); YAML reads '1e9' as text."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float) or not (
            math.isfinite(number) and (number >= 0 if zero else number > 0)):
        least = "of 0 or more" if zero else "above 0"
        raise ConvcalcError(f"{key} {value!r} must be a number {least}", line=line)
    return float(number)


def device_yaml(device: Device, comment: str = "") -> str:
    """A profile file that ``load_device`` reads back as ``device``; ``comment`` lines go at
    the top."""
    import json  # a JSON string is a YAML string: quoted and escaped safely

    lines = [f"# {c}" for c in comment.splitlines()]
    lines += [f"name: {json.dumps(device.name, allow_nan=False)}"]
    if device.description:
        lines.append(f"description: {json.dumps(device.description, allow_nan=False)}")
    lines += [f"figures: {device.figures}", f"dtype: {device.dtype}",
              f"macs_per_second: {device.macs_per_second!r}",
              f"bytes_per_second: {device.bytes_per_second!r}",
              f"overhead_seconds: {device.overhead_seconds!r}"]
    if device.efficiency:
        lines.append("efficiency:")
        lines += [f"  {k}: {v!r}" for k, v in device.efficiency.items()]
    if device.runtime:
        lines.append(f"runtime: {json.dumps(device.runtime, allow_nan=False)}")
    if device.fuses:
        lines.append(f"fuses: [{', '.join(device.fuses)}]")
    if device.channel_block != 1:
        lines.append(f"channel_block: {device.channel_block}")
    if device.slow_channels:
        lines.append(f"slow_channels: {device.slow_channels!r}")
    if device.combine != "max":
        lines.append(f"combine: {device.combine}")
    if device.sources:
        lines.append("sources:")
        lines += [f"  {k}: {json.dumps(v, allow_nan=False)}"
                  for k, v in device.sources.items()]
    return "\n".join(lines) + "\n"
