"""Writes the receptive fields PyTorch's autograd measures, which convcalc's arithmetic is
checked against; run it with torch:

    python tests/data/make_receptive_torch.py

For each network in ``CASES`` (the U-Net, and small graphs of transposed convolutions,
upsampling, crops and merges) the model ``convcalc export --to pytorch`` writes is run with
positive random weights, max pools made average pools and activations made identities (so a
gradient reaches every pixel a position depends on; the geometry is unchanged). For every
output and every position along the middle row and the middle column, the input pixels with a
nonzero gradient are found; positions whose pixels touch the image border are left out (they
are clipped by it). The receptive field is the widest span left, per axis.

It writes receptive_torch.json next to itself: {case: [[h, w] per output]}.
tests/test_receptive.py imports ``CASES`` and ``measure`` to check a live torch too.
"""

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

# name: (YAML, width multiplier). The U-Net runs at 252x252 (its smallest input with a 68x68
# output, over four periods of its 16-position steps) and 1/16 of its channels: the geometry
# is the paper's.
CASES: dict[str, tuple[str, float]] = {
    "unet": ("unet:252x252x1", 1 / 16),
    "conv_transpose_2_2": ("""
        input: 48x48x1
        layers:
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - conv_transpose: {filters: 2, kernel: 2, stride: 2}
          - conv: {filters: 1, kernel: 3, padding: 1}
        """, 1.0),
    "conv_transpose_3_2_op1": ("""
        input: 48x48x1
        layers:
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - conv_transpose: {filters: 2, kernel: 3, stride: 2, padding: 1, output_padding: 1}
          - conv: {filters: 1, kernel: 3, padding: 1}
        """, 1.0),
    "conv_transpose_4_2_fcn": ("""
        input: 48x40x1
        layers:
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - conv_transpose: {filters: 2, kernel: 4, stride: 2, padding: 1}
          - conv_transpose: {filters: 1, kernel: 4, stride: 2, padding: 1}
        """, 1.0),
    "conv_transpose_5_2_dilated": ("""
        input: 32x32x1
        layers:
          - conv_transpose: {filters: 2, kernel: [5, 3], stride: 2, dilation: [3, 2]}
          - conv: {filters: 1, kernel: 3, padding: 1}
        """, 1.0),
    "conv_transpose_1_3": ("""
        input: 24x24x1
        layers:
          - conv_transpose: {filters: 2, kernel: 1, stride: 3}
          - conv: {filters: 1, kernel: 5, padding: 2}
        """, 1.0),
    "nearest_2_after_stride": ("""
        input: 48x48x1
        layers:
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - upsample: {scale: 2}
          - conv: {filters: 1, kernel: 3, padding: 1}
        """, 1.0),
    "nearest_image_2_then_2x2": ("""
        input: 24x24x1
        layers:
          - upsample: {scale: 2}
          - conv: {filters: 1, kernel: 2}
        """, 1.0),
    "nearest_3_then_3x3": ("""
        input: 24x24x1
        layers:
          - upsample: {scale: 3}
          - conv: {filters: 1, kernel: 3, padding: 1}
        """, 1.0),
    "nearest_1_3_then_3x3": ("""
        input: 40x40x1
        layers:
          - upsample: {scale: 1.3}
          - conv: {filters: 1, kernel: 3, padding: 1}
        """, 1.0),
    "bilinear_4_after_strides": ("""
        input: 64x64x1
        layers:
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - upsample: {scale: 4, mode: bilinear}
          - conv: {filters: 1, kernel: 3, padding: 1}
        """, 1.0),
    "bilinear_to_odd_size": ("""
        input: 39x39x1
        layers:
          - conv: {filters: 2, kernel: 3, stride: 3}
          - upsample: {size: [32, 29], mode: bilinear}
          - conv: {filters: 1, kernel: 3, padding: 1}
        """, 1.0),
    "fpn_top_down": ("""
        input: 64x64x1
        defaults:
          conv: {kernel: 3, stride: 2, padding: 1}
        layers:
          - conv: {name: c2, filters: 2}
          - conv: {name: c3, filters: 2}
          - conv: {name: c4, filters: 2}
          - conv: {name: lat4, from: c4, filters: 2, kernel: 1, stride: 1, padding: 0}
          - conv: {name: lat3, from: c3, filters: 2, kernel: 1, stride: 1, padding: 0}
          - upsample: {name: up4, from: lat4, scale: 2}
          - add: {name: p3, from: [lat3, up4]}
          - conv: {name: lat2, from: c2, filters: 2, kernel: 1, stride: 1, padding: 0}
          - upsample: {name: up3, from: [p3, lat2]}
          - add: {name: p2, from: [lat2, up3]}
          - conv: {name: out2, from: p2, filters: 1, stride: 1}
          - conv: {name: out3, from: p3, filters: 1, stride: 1}
        outputs: [out2, out3]
        """, 1.0),
    "unet_two_level_crop": ("""
        input: 92x92x1
        defaults:
          conv: {kernel: 3, filters: 2}
        layers:
          - conv: {name: e1a}
          - conv: {name: e1}
          - maxpool: {name: p1, kernel: 2}
          - conv: {name: e2a}
          - conv: {name: e2}
          - maxpool: {name: p2, kernel: 2}
          - conv: {name: m}
          - conv_transpose: {name: u2, filters: 2, kernel: 2, stride: 2}
          - crop: {name: k2, from: [e2, u2]}
          - concat: {name: c2, from: [k2, u2]}
          - conv: {name: d2a}
          - conv: {name: d2}
          - conv_transpose: {name: u1, filters: 2, kernel: 2, stride: 2}
          - crop: {name: k1, from: [e1, u1]}
          - concat: {name: c1, from: [k1, u1]}
          - conv: {name: d1}
        """, 1.0),
    "aspp_dilated_branches": ("""
        input: 96x96x1
        layers:
          - conv: {name: s, filters: 2, kernel: 3, stride: 2, padding: 1}
          - conv: {name: a1, from: s, filters: 2, kernel: 3, padding: 3, dilation: 3}
          - conv: {name: a2, from: s, filters: 2, kernel: 3, padding: 6, dilation: 6}
          - concat: {name: cat, from: [s, a1, a2]}
          - conv: {name: proj, filters: 2, kernel: 1}
          - upsample: {name: out, from: [proj, input], mode: bilinear}
        """, 1.0),
    "merge_of_two_periods": ("""
        input: 48x48x1
        layers:
          - conv: {name: a, filters: 2, kernel: 3, padding: 1}
          - conv: {name: d, from: a, filters: 2, kernel: 2, stride: 2}
          - conv_transpose: {name: u, filters: 2, kernel: 3, stride: 2, padding: 1,
                             output_padding: 1}
          - conv: {name: b, from: a, filters: 2, kernel: 5, padding: 2}
          - add: {name: m, from: [u, b]}
          - conv: {name: out, filters: 1, kernel: 3, padding: 1}
        """, 1.0),
}


def network(case: str) -> Any:
    """The convcalc architecture of a case, at its width."""
    import textwrap

    from convcalc.analysis.variants import with_input, with_width
    from convcalc.formats.loader import load, parse
    from convcalc.graph.shapes import parse_shape

    text, width = CASES[case]
    if ":" in text and "\n" not in text:
        name, size = text.split(":")
        arch = load(name)
        arch = with_input(arch, parse_shape(size))
    else:
        arch = parse(textwrap.dedent(text), f"{case}.yaml")
    return with_width(arch, width) if width != 1.0 else arch


def measure(case: str) -> list[list[int]]:
    """[h, w] receptive field of each output of a case, by autograd (see the docstring)."""
    import torch
    from torch import nn

    from convcalc.formats.torch_writer import write_torch

    arch = network(case)
    namespace: dict[str, Any] = {}
    exec(compile(write_torch(arch), f"{case}.py", "exec"), namespace)  # convcalc's export
    model = namespace["build"]().double().eval()
    layers = model._layers_by_path
    for path, module in layers.items():
        if isinstance(module, nn.MaxPool2d):
            layers[path] = nn.AvgPool2d(module.kernel_size, module.stride, module.padding,
                                        ceil_mode=module.ceil_mode)
        elif not any(isinstance(module, kind) for kind in (
                nn.Conv2d, nn.ConvTranspose2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                nn.BatchNorm2d, nn.Upsample, nn.Linear, nn.Flatten)):
            layers[path] = nn.Identity()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 + torch.rand(p.shape, generator=generator, dtype=p.dtype))
    _, c, h, w = namespace["INPUT_SHAPE"]
    x = (0.5 + torch.rand(1, c, h, w, generator=generator, dtype=torch.float64))
    outputs = model(x.requires_grad_())
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    fields = []
    for out in outputs:
        spans = []
        for axis in (2, 3):
            widest = 0
            for o in range(out.shape[axis]):
                at = [0, 0, out.shape[2] // 2, out.shape[3] // 2]
                at[axis] = o
                (grad,) = torch.autograd.grad(out[tuple(at)], x, retain_graph=True)
                seen = (grad[0].abs().sum(0) != 0).any(3 - axis).nonzero().flatten()
                first, last = int(seen.min()), int(seen.max())
                if first > 0 and last < x.shape[axis] - 1:  # not clipped by the border
                    widest = max(widest, last - first + 1)
            spans.append(widest)
        fields.append(spans)
    return fields


def main() -> None:
    data = {case: measure(case) for case in CASES}
    path = HERE / "receptive_torch.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {path}: {data}")


if __name__ == "__main__":
    main()
