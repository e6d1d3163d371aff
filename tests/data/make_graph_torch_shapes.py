"""Writes the PyTorch numbers the new graph kinds are checked against; run it with torch:

    python tests/data/make_graph_torch_shapes.py

It writes torch_graph_shapes.json next to itself:
- conv_transpose: for each case (input h, w, c and ConvTranspose2d's settings) the output
  shape from torch.nn.functional.conv_transpose2d, the parameters of nn.ConvTranspose2d and
  the MACs torch.utils.flop_counter counts (its total // 2);
- upsample: for each case (input h, w, scale or size, mode) the output height and width from
  torch.nn.functional.interpolate, and the flops the counter gives (0: it counts none);
- uncounted: the flop counter's total for mul, layer_norm and channel_shuffle (all 0), which
  is why convcalc gives those kinds no MACs.

tests/test_graph_torch.py imports ``CONV_TRANSPOSE`` and ``UPSAMPLE`` and the functions here to
check a live torch too.
"""

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

# (h, w, c_in, filters, kernel, stride, padding, output_padding, dilation, groups, bias)
CONV_TRANSPOSE = [
    (4, 4, 32, 16, 2, 2, 0, 0, 1, 1, False),       # the U-Net's up-convolution
    (7, 5, 8, 6, 3, 2, 1, 1, 1, 2, True),
    (9, 9, 4, 4, 4, 2, 1, 0, 1, 4, True),          # depthwise, FCN's bilinear-style kernel
    (5, 6, 6, 9, (3, 5), (2, 3), (1, 2), (1, 2), (2, 1), 3, False),
    (1, 1, 16, 8, 7, 1, 0, 0, 1, 1, True),
    (3, 3, 2, 2, 3, 3, 2, 2, 1, 1, True),
]
# (h, w, scale or None, size or None, mode)
UPSAMPLE = [
    (4, 4, 2.0, None, "nearest"),
    (7, 5, 2.0, None, "bilinear"),
    (7, 5, 1.5, None, "nearest"),
    (10, 6, (0.5, 3.0), None, "bilinear"),
    (13, 13, None, (32, 20), "bilinear"),
    (1, 1, None, (7, 7), "nearest"),
    (9, 7, 2.3, None, "nearest"),
]


def conv_transpose_case(case: tuple[Any, ...]) -> dict[str, Any]:
    """The torch figures of one ConvTranspose2d case."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    h, w, c, filters, kernel, stride, padding, output_padding, dilation, groups, bias = case
    layer = torch.nn.ConvTranspose2d(c, filters, kernel, stride, padding, output_padding,
                                     groups, bias, dilation)
    x = torch.zeros(1, c, h, w)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = layer(x)
    return {"case": list(case), "output": [out.shape[2], out.shape[3], out.shape[1]],
            "params": sum(p.numel() for p in layer.parameters()),
            "macs": counter.get_total_flops() // 2}


def upsample_case(case: tuple[Any, ...]) -> dict[str, Any]:
    """The torch figures of one interpolate case (align_corners false for bilinear)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    h, w, scale, size, mode = case
    x = torch.zeros(1, 3, h, w)
    options = {"align_corners": False} if mode == "bilinear" else {}
    with FlopCounterMode(display=False) as counter:
        out = torch.nn.functional.interpolate(
            x, scale_factor=scale, size=size, mode=mode, **options)
    return {"case": list(case), "output": [out.shape[2], out.shape[3]],
            "flops": counter.get_total_flops()}


def uncounted() -> dict[str, int]:
    """The flop counter's total for the kinds convcalc gives no MACs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x, gate = torch.zeros(1, 8, 5, 5), torch.zeros(1, 8, 1, 1)
    ops = {
        "mul": lambda: x * gate,
        "layer_norm": lambda: torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (8,)),
        "channel_shuffle": lambda: torch.nn.functional.channel_shuffle(x, 2),
        "upsample_bilinear": lambda: torch.nn.functional.interpolate(
            x, scale_factor=2, mode="bilinear", align_corners=False),
    }
    totals = {}
    for name, op in ops.items():
        with FlopCounterMode(display=False) as counter:
            op()
        totals[name] = counter.get_total_flops()
    return totals


def main() -> None:
    import torch

    data = {
        "torch": torch.__version__,
        "conv_transpose": [conv_transpose_case(c) for c in CONV_TRANSPOSE],
        "upsample": [upsample_case(c) for c in UPSAMPLE],
        "uncounted": uncounted(),
    }
    # One case per line, so a diff shows which case changed.
    lines = [f'{{"torch": {json.dumps(data["torch"])},']
    for key in ("conv_transpose", "upsample"):
        cases = ",\n  ".join(json.dumps(c) for c in data[key])
        lines.append(f' "{key}": [\n  {cases}\n ],')
    lines.append(f' "uncounted": {json.dumps(data["uncounted"])}}}')
    (HERE / "torch_graph_shapes.json").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
