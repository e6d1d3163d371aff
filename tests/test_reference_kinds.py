"""The reference kernels of the graph language's kinds (transposed convolution, upsampling,
adaptive max pooling, channel shuffle, layer norm) against naive loops, hand arithmetic,
PyTorch's stored outputs (tests/data/torch_kernels.json, made by make_torch_kernels.py) and, when
it is installed, live PyTorch."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcalc.reference.kernels import (
    adaptive_max_pool2d,
    channel_shuffle,
    conv_transpose2d,
    layer_norm,
    upsample,
)

STORED = json.loads((Path(__file__).parent / "data" / "torch_kernels.json").read_text())


def naive_conv_transpose(x, w, b, *, stride, padding, output_padding, dilation, groups):
    """Scatters every input value times every tap and filter of its group; counts each
    multiply, including those that land in the cropped border."""
    h, wd, c = x.shape
    kh, kw, _, fg = w.shape
    cg = c // groups
    ho = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1
    wo = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1
    out = np.zeros((ho, wo, fg * groups))
    multiplies = 0
    for y in range(h):
        for xx in range(wd):
            for ci in range(c):
                g = ci // cg
                for i in range(kh):
                    for j in range(kw):
                        oy = y * stride[0] + i * dilation[0] - padding[0]
                        ox = xx * stride[1] + j * dilation[1] - padding[1]
                        for o in range(fg):
                            multiplies += 1
                            if 0 <= oy < ho and 0 <= ox < wo:
                                out[oy, ox, g * fg + o] += x[y, xx, ci] * w[i, j, ci, o]
    if b is not None:
        out += b
    return out, multiplies


@st.composite
def transpose_cases(draw):
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    # PyTorch: output_padding must be smaller than the stride or the dilation.
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation, strict=True))
    groups, cg, fg = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ho = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kernel[0] - 1) + output_padding[0]
    wo = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kernel[1] - 1) + output_padding[1]
    assume(ho >= 0 and wo >= 0)
    return (h, w, kernel, stride, padding, output_padding, dilation, groups, cg, fg,
            draw(st.booleans()), draw(st.integers(0, 2**16)))


def _arrays(case, dtype=np.float64):
    h, w, kernel, _, _, _, _, groups, cg, fg, bias, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, groups * cg)).astype(dtype)
    weight = rng.standard_normal((*kernel, groups * cg, fg)).astype(dtype)
    b = rng.standard_normal(groups * fg).astype(dtype) if bias else None
    return x, weight, b


def _options(case):
    _, _, _, stride, padding, output_padding, dilation, groups, *_ = case
    return {"stride": stride, "padding": padding, "output_padding": output_padding,
            "dilation": dilation, "groups": groups}


@settings(max_examples=120, deadline=None)
@given(transpose_cases())
def test_conv_transpose_matches_naive_loops(case):
    x, weight, b = _arrays(case)
    expected, multiplies = naive_conv_transpose(x, weight, b, **_options(case))
    out, macs = conv_transpose2d(x, weight, b, **_options(case))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    assert macs == multiplies


@pytest.mark.parametrize("cap_bytes", [1, 300, 1 << 30], ids=["position", "pieces", "whole"])
def test_conv_transpose_chunks_give_the_same_result(cap_bytes):
    case = (5, 7, (3, 2), (2, 3), (1, 0), (1, 2), (1, 1), 2, 2, 3, True, 7)
    x, weight, b = _arrays(case)
    expected, multiplies = naive_conv_transpose(x, weight, b, **_options(case))
    out, macs = conv_transpose2d(x, weight, b, cap_bytes=cap_bytes, **_options(case))
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    assert macs == multiplies


def test_conv_transpose_unet_upconv_by_hand():
    # A 2x2 stride-2 transposed convolution copies each input value, times the tap's weight,
    # into its own 2x2 cell: out = 2x2 blocks of x[y, x] * w.
    x = np.array([[[1.0], [2.0]], [[3.0], [4.0]]])
    w = np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(2, 2, 1, 1)
    out, macs = conv_transpose2d(x, w, None, stride=(2, 2))
    assert out[:, :, 0].tolist() == [[1, 10, 2, 20], [100, 1000, 200, 2000],
                                     [3, 30, 4, 40], [300, 3000, 400, 4000]]
    assert macs == 4 * 4  # h_in * w_in * c_in * filters * taps = 2 * 2 * 1 * 1 * 4


@pytest.mark.parametrize("case", range(len(STORED["conv_transpose"])))
def test_conv_transpose_matches_stored_torch(case):
    stored = STORED["conv_transpose"][case]
    x, weight = (np.array(stored[k], np.float32) for k in ("input", "weight"))
    options = {k: tuple(stored[k]) for k in ("stride", "padding", "output_padding", "dilation")}
    out, macs = conv_transpose2d(x, weight, np.array(stored["bias"], np.float32),
                                 groups=stored["groups"], **options)
    np.testing.assert_allclose(out, np.array(stored["output"]), rtol=1e-5, atol=1e-5)
    # torch.utils.flop_counter's count: h_in * w_in * c_in * (filters / groups) * taps.
    assert macs == math.prod(x.shape) * math.prod(weight.shape[:2]) * weight.shape[3]


# ---------------------------------------------------------------- upsampling


def test_nearest_doubling_by_hand():
    x = np.array([[[1.0], [2.0]]])
    assert upsample(x, (2, 4), "nearest", scale=(2.0, 2.0))[:, :, 0].tolist() == [
        [1, 1, 2, 2], [1, 1, 2, 2]]


def test_nearest_uses_one_over_the_scale_factor():
    # 5 columns to 8 (floor(5 * 1.7) = 8). With the factor, output j reads floor(j / 1.7):
    # 0 0 1 1 2 2 3 4; from the sizes alone, floor(j * 5 / 8): 0 0 1 1 2 3 3 4.
    x = np.arange(5.0).reshape(1, 5, 1)
    by_factor = upsample(x, (1, 8), "nearest", scale=(1.0, 1.7))[0, :, 0]
    by_size = upsample(x, (1, 8), "nearest")[0, :, 0]
    assert by_factor.tolist() == [0, 0, 1, 1, 2, 2, 3, 4]
    assert by_size.tolist() == [0, 0, 1, 1, 2, 3, 3, 4]


def test_bilinear_doubling_by_hand():
    # Half-pixel centres: output i samples input (i + 0.5) / 2 - 0.5 = -0.25 (clamped to 0),
    # 0.25, 0.75, 1.25 (the upper neighbour clamped to the last input).
    x = np.array([[[0.0], [4.0]]])
    assert upsample(x, (1, 4), "bilinear")[0, :, 0].tolist() == [0, 1, 3, 4]


@pytest.mark.parametrize("case", range(len(STORED["upsample"])))
def test_upsample_matches_stored_torch(case):
    stored = STORED["upsample"][case]
    scale = tuple(stored["scale"]) if stored["scale"] else None
    out = upsample(np.array(stored["input"], np.float32), tuple(stored["size"]),
                   stored["mode"], scale=scale)
    np.testing.assert_allclose(out, np.array(stored["output"]), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- pooling and channels


def test_adaptive_max_pool_matches_naive_windows():
    x = np.random.default_rng(3).standard_normal((7, 5, 3))
    out = adaptive_max_pool2d(x, (3, 4))
    for i in range(3):
        for j in range(4):
            # PyTorch's windows: floor(i n / o) .. ceil((i + 1) n / o).
            y0, y1 = i * 7 // 3, -(-(i + 1) * 7 // 3)
            x0, x1 = j * 5 // 4, -(-(j + 1) * 5 // 4)
            np.testing.assert_array_equal(out[i, j], x[y0:y1, x0:x1].max(axis=(0, 1)))


def test_adaptive_max_pool_matches_stored_torch():
    stored = STORED["adaptive_max_pool"]
    out = adaptive_max_pool2d(np.array(stored["input"], np.float32), tuple(stored["size"]))
    np.testing.assert_array_equal(out, np.array(stored["output"], np.float32))


def test_channel_shuffle_by_hand_and_stored_torch():
    # 6 channels in 2 groups of 3: (0 1 2)(3 4 5) -> 0 3 1 4 2 5.
    x = np.arange(6.0).reshape(1, 1, 6)
    assert channel_shuffle(x, 2)[0, 0].tolist() == [0, 3, 1, 4, 2, 5]
    stored = STORED["channel_shuffle"]
    flat = np.arange(float(stored["channels"]))
    assert channel_shuffle(flat, stored["groups"]).tolist() == stored["order"]


def test_layer_norm_by_hand_and_stored_torch():
    # [1, 3]: mean 2, biased variance 1, so (x - 2) / sqrt(1 + eps) = -1, 1 (eps 0).
    x = np.array([[[1.0, 3.0]]])
    out = layer_norm(x, np.array([2.0, 2.0]), np.array([0.5, 0.5]), 0.0)
    assert out[0, 0].tolist() == [-1.5, 2.5]
    stored = STORED["layer_norm"]
    out = layer_norm(*(np.array(stored[k], np.float32) for k in ("input", "weight", "bias")),
                     stored["eps"])
    np.testing.assert_allclose(out, np.array(stored["output"]), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- live PyTorch


def _nchw(torch, x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


def _hwc(t):
    return t[0].numpy().transpose(1, 2, 0)


@settings(max_examples=80, deadline=None)
@given(transpose_cases())
def test_conv_transpose_matches_torch(case):
    torch = pytest.importorskip("torch")
    x, weight, b = _arrays(case, np.float32)
    options = _options(case)
    wt = torch.from_numpy(np.ascontiguousarray(weight.transpose(2, 3, 0, 1)))
    expected = torch.nn.functional.conv_transpose2d(
        _nchw(torch, x), wt, None if b is None else torch.from_numpy(b), **options)
    out, _ = conv_transpose2d(x, weight, b, **options)
    np.testing.assert_allclose(out, _hwc(expected), rtol=1e-4, atol=1e-4)


@settings(max_examples=150, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9),
       factors=st.tuples(st.sampled_from([0.5, 0.7, 1.0, 1.3, 1.5, 1.7, 2.0, 2.1, 3.0, 4.0]),
                         st.sampled_from([0.5, 1.0, 1.9, 2.0, 2.5, 3.0])),
       size=st.none() | st.tuples(st.integers(1, 12), st.integers(1, 12)),
       mode=st.sampled_from(["nearest", "bilinear"]), double=st.booleans(),
       seed=st.integers(0, 2**16))
def test_upsample_matches_torch(*, h, w, factors, size, mode, double, seed):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(seed).standard_normal((h, w, 2))
    x = x if double else x.astype(np.float32)
    options = {"mode": mode} | ({"align_corners": False} if mode == "bilinear" else {})
    if size is None:
        assume(int(h * factors[0]) >= 1 and int(w * factors[1]) >= 1)
        expected = _hwc(torch.nn.functional.interpolate(_nchw(torch, x), scale_factor=factors,
                                                        **options))
        out = upsample(x, expected.shape[:2], mode, scale=factors)
    else:
        expected = _hwc(torch.nn.functional.interpolate(_nchw(torch, x), size=size, **options))
        out = upsample(x, size, mode)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("size", [(1, 1), (3, 4), (7, 5), (9, 2)])
def test_adaptive_max_pool_matches_torch(size):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((7, 5, 3)).astype(np.float32)
    expected = _hwc(torch.nn.functional.adaptive_max_pool2d(_nchw(torch, x), size))
    np.testing.assert_array_equal(adaptive_max_pool2d(x, size), expected)


def test_channel_shuffle_and_layer_norm_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 4, 12)).astype(np.float32)
    expected = _hwc(torch.nn.functional.channel_shuffle(_nchw(torch, x), 4))
    np.testing.assert_array_equal(channel_shuffle(x, 4), expected)
    weight, bias = np.linspace(0.5, 2, 12, dtype=np.float32), np.ones(12, np.float32)
    expected = torch.nn.functional.layer_norm(torch.from_numpy(x), (12,),
                                              torch.from_numpy(weight), torch.from_numpy(bias),
                                              1e-6).numpy()
    np.testing.assert_allclose(layer_norm(x, weight, bias, 1e-6), expected, rtol=1e-5,
                               atol=1e-5)
