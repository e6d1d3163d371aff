"""Writes torch_kernels.json: PyTorch's outputs for small inputs of the reference kernels that
the graph language added, so tests/test_reference_kinds.py checks them without torch too. Run
it with torch installed, from the repository root:

    python tests/data/make_torch_kernels.py

Arrays are stored in convcalc's layout (h, w, c; transposed-convolution weights kh x kw x c_in x
filters / groups) as nested lists of float32 values; the inputs come from a seeded numpy
generator and are stored too, so the file does not depend on the generator's stream.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).parent
F = torch.nn.functional


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


def hwc(t: torch.Tensor) -> list[Any]:
    out: list[Any] = t[0].numpy().transpose(1, 2, 0).tolist()
    return out


def upsample_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    # (h, w, size or None, scale or None, mode): kept sizes, doubling, odd factors where 1/scale
    # and in/out disagree, shrinking.
    settings = [
        (3, 4, None, (2.0, 2.0), "nearest"), (3, 4, None, (2.0, 2.0), "bilinear"),
        (5, 3, None, (1.5, 2.1), "nearest"), (5, 3, None, (1.5, 2.1), "bilinear"),
        (4, 4, None, (1.7, 1.0), "bilinear"), (7, 5, (3, 9), None, "nearest"),
        (7, 5, (3, 9), None, "bilinear"), (2, 2, (7, 7), None, "bilinear"),
        (6, 6, None, (0.5, 0.33), "nearest"), (6, 6, None, (0.5, 0.33), "bilinear"),
        (5, 5, (10, 10), None, "nearest"), (1, 3, (4, 1), None, "bilinear"),
    ]
    cases = []
    for h, w, size, scale, mode in settings:
        x = rng.standard_normal((h, w, 2)).astype(np.float32)
        options: dict[str, Any] = {"mode": mode}
        if mode == "bilinear":
            options["align_corners"] = False
        if size is not None:
            out = F.interpolate(nchw(x), size=size, **options)
        else:
            out = F.interpolate(nchw(x), scale_factor=scale, **options)
        cases.append({"input": x.tolist(), "size": list(out.shape[2:]),
                      "scale": None if scale is None else list(scale), "mode": mode,
                      "output": hwc(out)})
    return cases


def conv_transpose_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    # (h, w, c_in, filters, kernel, stride, padding, output_padding, dilation, groups):
    # U-Net's 2x2/2, FCN-style 4x4/2 padding 1, odd output padding, dilation, groups.
    settings = [
        (3, 4, 4, 2, (2, 2), (2, 2), (0, 0), (0, 0), (1, 1), 1),
        (3, 3, 2, 3, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 1),
        (2, 3, 3, 2, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1),
        (3, 2, 4, 6, (3, 2), (1, 2), (0, 1), (0, 1), (2, 1), 2),
        (4, 4, 3, 3, (3, 3), (3, 3), (2, 0), (2, 0), (1, 2), 3),
    ]
    cases = []
    for h, w, c, f, k, s, p, op, d, g in settings:
        x = rng.standard_normal((h, w, c)).astype(np.float32)
        weight = rng.standard_normal((*k, c, f // g)).astype(np.float32)
        bias = rng.standard_normal(f).astype(np.float32)
        wt = torch.from_numpy(np.ascontiguousarray(weight.transpose(2, 3, 0, 1)))
        out = F.conv_transpose2d(nchw(x), wt, torch.from_numpy(bias), stride=s, padding=p,
                                 output_padding=op, groups=g, dilation=d)
        cases.append({"input": x.tolist(), "weight": weight.tolist(), "bias": bias.tolist(),
                      "stride": list(s), "padding": list(p), "output_padding": list(op),
                      "dilation": list(d), "groups": g, "output": hwc(out)})
    return cases


def main() -> None:
    rng = np.random.default_rng(2024)
    x = rng.standard_normal((3, 2, 6)).astype(np.float32)
    weight, bias = (rng.standard_normal(6).astype(np.float32) for _ in range(2))
    norm = F.layer_norm(torch.from_numpy(x), (6,), torch.from_numpy(weight),
                        torch.from_numpy(bias), 1e-6)
    pooled = rng.standard_normal((7, 5, 2)).astype(np.float32)
    shuffle = F.channel_shuffle(torch.arange(12.0).reshape(1, 12, 1, 1), 3)
    data = {
        "about": f"Made by tests/data/make_torch_kernels.py (torch {torch.__version__}); "
                 "arrays h x w x c, float32.",
        "upsample": upsample_cases(rng),
        "conv_transpose": conv_transpose_cases(rng),
        "layer_norm": {"input": x.tolist(), "weight": weight.tolist(), "bias": bias.tolist(),
                       "eps": 1e-6, "output": norm.numpy().tolist()},
        "adaptive_max_pool": {"input": pooled.tolist(), "size": [3, 4],
                              "output": hwc(F.adaptive_max_pool2d(nchw(pooled), (3, 4)))},
        "channel_shuffle": {"channels": 12, "groups": 3,
                            "order": [int(v) for v in shuffle.flatten().tolist()]},
    }
    (HERE / "torch_kernels.json").write_text(json.dumps(data) + "\n")


if __name__ == "__main__":
    main()
