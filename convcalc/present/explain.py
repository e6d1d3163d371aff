# The formulas are printed with mathematical signs (minus, times, floor) on purpose.
# ruff: noqa: RUF001, RUF002
"""``--explain``: every layer's numbers written out as the formulas that give them.

The numbers come from the rows of a ``Report`` (the engine's shapes, window and counts) and the
output sizes are recomputed with ``shapes.output_size``, so what a student reads is what convcalc
counted. Plain text, one indented block per layer.
"""

from convcalc.analysis.report import LayerRow, Report
from convcalc.errors import ConvcalcError, plain, suggestion
from convcalc.graph.layers import (
    BatchNorm,
    Conv,
    ConvTranspose,
    Dense,
    GlobalAvgPool,
    Merge,
    Pool,
    Upsample,
    Window,
)
from convcalc.graph.shapes import output_size


def explain(report: Report, layer: str | None = None) -> str:
    """The explanation of every layer, or of the layer ``layer`` and the layers under it."""
    rows = report.rows
    if layer is not None:
        rows = tuple(r for r in rows if r.path == layer or r.path.startswith(layer + "."))
        if not rows:
            raise ConvcalcError(f"no layer '{layer}' in {report.name}"
                                f"{suggestion(layer, [r.path for r in report.rows])}")
    return "\n\n".join(explain_row(r) for r in rows) + "\n"


def explain_row(row: LayerRow) -> str:
    """One layer: a heading, then its output size, padding, parameters and multiplies."""
    lines = [f"{plain(row.path)} ({row.kind}): {row.input} -> {row.output}"]
    layer = row.layer
    if isinstance(layer, Conv) and row.window is not None:
        lines += _window_lines(row, row.window, getattr(layer, "padding", 0), ceil_mode=False)
        conv = layer.as_conv(row.input)
        per_group = row.input.c // conv.groups
        kh, kw = conv.kernel
        group_note = (f" ({conv.groups} groups: c_in per group is {per_group})"
                      if conv.groups > 1 else "")
        lines.append(f"params = f·f·c_in·filters + bias = {kh}·{kw}·{per_group}·{conv.filters} "
                     f"+ {conv.filters if conv.bias else 0} bias = {row.params:,}{group_note}")
        lines.append(f"macs = outputs × f·f·c_in = {_dims(row)} × {kh}·{kw}·{per_group} = "
                     f"{row.macs:,}")
    elif isinstance(layer, Pool) and row.window is not None:
        lines += _window_lines(row, row.window, layer.padding, ceil_mode=layer.ceil_mode)
        kh, kw = row.window.kernel
        lines.append(f"params = 0; other ops = outputs × window = {_dims(row)} × {kh}·{kw} = "
                     f"{row.other_ops:,}")
    elif isinstance(layer, GlobalAvgPool):
        h, w = row.input.hw
        lines.append(f"averages each channel over h·w: other ops = {h}·{w}·{row.input.c} = "
                     f"{row.other_ops:,}; params = 0")
    elif isinstance(layer, Dense):
        units, n = layer.units, row.input.c
        lines.append(f"params = inputs·units + bias = {n}·{units} + "
                     f"{units if layer.bias else 0} bias = {row.params:,}")
        lines.append(f"macs = inputs·units = {n}·{units} = {row.macs:,}")
    elif isinstance(layer, ConvTranspose):
        lines += _transposed_lines(row, layer)
    elif isinstance(layer, Upsample):
        lines.append(_upsample_line(row, layer))
        lines.append(f"no params or macs; other ops = {row.other_ops:,} ({layer.mode})")
    elif isinstance(layer, Merge):
        shapes = " and ".join(str(s) for s in row.input_shapes)
        lines.append(f"{layer.kind} of {shapes}: no params or macs; other ops = "
                     f"{row.other_ops:,}")
    elif isinstance(layer, BatchNorm):
        lines.append(f"params = 2·c (scale and shift) = 2·{row.input.c} = {row.params:,}; "
                     f"other ops = 2 per element = 2·{row.input.elements} = {row.other_ops:,}")
    else:
        lines.append(f"{row.params:,} params, {row.macs:,} macs, {row.other_ops:,} other ops")
    return "\n  ".join(lines)


def _transposed_lines(row: LayerRow, layer: ConvTranspose) -> list[str]:
    """out = (n − 1)·s − 2p + d·(f − 1) + output_padding + 1 per axis, then the counts."""
    lines = []
    pads = layer.padding if isinstance(layer.padding, tuple) else (layer.padding,) * 2
    for name, i in (("h", 0), ("w", 1)):
        n, out = row.input.hw[i], row.output.hw[i]
        f, s, d, extra = (layer.kernel[i], layer.stride[i], layer.dilation[i],
                          layer.output_padding[i])
        lines.append(f"output {name}: ({n} − 1)·{s} − 2·{pads[i]} + {d}·({f} − 1) + {extra} + 1 "
                     f"= {out}")
    kh, kw = layer.kernel
    per_group = layer.filters // layer.groups
    lines.append(f"params = c_in·(filters/groups)·f·f + bias = {row.input.c}·{per_group}·{kh}·"
                 f"{kw} + {layer.filters if layer.bias else 0} bias = {row.params:,}")
    h, w = row.input.hw
    lines.append(f"macs = inputs × (filters/groups)·f·f = {h}·{w}·{row.input.c} × "
                 f"{per_group}·{kh}·{kw} = {row.macs:,}")
    return lines


def _upsample_line(row: LayerRow, layer: Upsample) -> str:
    """Where an upsampled size comes from."""
    if len(row.input_shapes) == 2:
        return f"output {row.output.h}x{row.output.w}: the size of its second input"
    if layer.scale is not None:
        (h, w), (sh, sw) = row.input.hw, layer.scale
        return f"output: ⌊{h}·{sh:g}⌋ x ⌊{w}·{sw:g}⌋ = {row.output.h}x{row.output.w}"
    return f"output {row.output.h}x{row.output.w}: its 'size'"


def _dims(row: LayerRow) -> str:
    out = row.output
    return str(out.c) if out.is_flat else f"{out.h}·{out.w}·{out.c}"


def _window_lines(row: LayerRow, window: Window, padding: object, ceil_mode: bool) -> list[str]:
    """How the padding was chosen, then out = ⌊(n + 2p − f)/s⌋ + 1 per axis (once if equal)."""
    lines: list[str] = []
    n_h, n_w = row.input.hw
    out_h, out_w = row.output.hw
    top, bottom, left, right = window.padding
    axes = [("h", n_h, out_h, 0, top, bottom), ("w", n_w, out_w, 1, left, right)]
    if _same_axes(window, n_h, n_w):
        axes = [("h = w", *axes[0][1:])]
    floor = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    for name, n, out, i, before, after in axes:
        f, s, d = window.kernel[i], window.stride[i], window.dilation[i]
        if padding == "same":
            f_eff = d * (f - 1) + 1
            lines.append(f"'same' padding ({name}): output ⌈{n}/{s}⌉ = {out}; padding "
                         f"max(({out} − 1)·{s} + {f_eff} − {n}, 0) = {before + after}: "
                         f"{before} before, {after} after"
                         + (" (the odd one after, as TensorFlow)" if after > before else ""))
        value = output_size(n, f, s, before, after, d, ceil_mode)
        if d == 1 and before == after:
            inner = f"{n} + 2·{before} − {f}"
        else:
            inner = f"{n} + {before} + {after} − {d}·({f} − 1) − 1"
        lines.append(f"output {name}: {floor[0]}({inner})/{s}{floor[1]} + 1 = {value}")
    return lines


def _same_axes(window: Window, n_h: int, n_w: int) -> bool:
    top, bottom, left, right = window.padding
    return (n_h == n_w and window.kernel[0] == window.kernel[1]
            and window.stride[0] == window.stride[1] and window.dilation[0] == window.dilation[1]
            and (top, bottom) == (left, right))
