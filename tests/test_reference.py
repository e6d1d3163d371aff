"""The numpy reference against an independent naive loop convolution, hand arithmetic (the
lecture's edge example) and, when it is installed, PyTorch."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcalc.filters import EXAMPLES, FILTERS
from convcalc.graph.layers import LAYER_KINDS
from convcalc.graph.shapes import same_padding
from convcalc.reference import (
    RUNNERS,
    adaptive_avg_pool2d,
    conv2d,
    filter2d,
    local_response_norm,
    pool2d,
)


def naive_conv(x, w, b, *, stride, padding, dilation, groups):
    """Loops over every output value, tap and channel; counts each multiply it makes."""
    h, wd, _ = x.shape
    kh, kw, cg, filters = w.shape
    top, bottom, left, right = padding
    ho = (h + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((ho, wo, filters))
    multiplies = 0
    per_group = filters // groups
    for y in range(ho):
        for xx in range(wo):
            for f in range(filters):
                g = f // per_group
                total = 0.0 if b is None else float(b[f])
                for i in range(kh):
                    for j in range(kw):
                        yy = y * stride[0] + i * dilation[0] - top
                        xi = xx * stride[1] + j * dilation[1] - left
                        for k in range(cg):
                            multiplies += 1  # padding zeros are multiplied too
                            if 0 <= yy < h and 0 <= xi < wd:
                                total += x[yy, xi, g * cg + k] * w[i, j, k, f]
                out[y, xx, f] = total
    return out, multiplies


@st.composite
def conv_cases(draw):
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    groups = draw(st.integers(1, 3))
    cg = draw(st.integers(1, 3))  # cg = 1 with groups > 1 is depthwise
    multiplier = draw(st.integers(1, 3))  # filters per group: a depth multiplier when cg = 1
    if draw(st.booleans()):  # TensorFlow 'same', odd pixel bottom/right
        padding = (*same_padding(h, kernel[0], stride[0], dilation[0]),
                   *same_padding(w, kernel[1], stride[1], dilation[1]))
    else:
        padding = tuple(draw(st.integers(0, 3)) for _ in range(4))
    assume(h + padding[0] + padding[1] >= dilation[0] * (kernel[0] - 1) + 1)
    assume(w + padding[2] + padding[3] >= dilation[1] * (kernel[1] - 1) + 1)
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return h, w, kernel, stride, dilation, groups, cg, multiplier, padding, bias, seed


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_conv2d_matches_naive_loops(case):
    h, w, kernel, stride, dilation, groups, cg, multiplier, padding, bias, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, cg * groups))
    weight = rng.standard_normal((*kernel, cg, groups * multiplier))
    b = rng.standard_normal(groups * multiplier) if bias else None
    expected, multiplies = naive_conv(x, weight, b, stride=stride, padding=padding,
                                      dilation=dilation, groups=groups)
    out, macs = conv2d(x, weight, b, stride=stride, padding=padding, dilation=dilation,
                       groups=groups)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    assert macs == multiplies


@pytest.mark.parametrize("cap_bytes", [1, 4096, 1 << 30], ids=["row-by-row", "chunks", "whole"])
def test_conv2d_chunks_give_the_same_result(cap_bytes):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((9, 7, 4)), rng.standard_normal((3, 3, 2, 6))
    expected, multiplies = naive_conv(x, w, None, stride=(2, 1), padding=(1, 2, 0, 1),
                                      dilation=(1, 1), groups=2)
    out, macs = conv2d(x, w, None, stride=(2, 1), padding=(1, 2, 0, 1), groups=2,
                       cap_bytes=cap_bytes)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    assert macs == multiplies


def test_lecture_vertical_edge():
    # 6x6: 10s left half, 0s right; vertical filter -> 4x4, middle columns 30, outer 0.
    image = np.array(EXAMPLES["step"], float)[:, :, None]
    out = filter2d(image, np.array(FILTERS["vertical"], float), (0, 0, 0, 0), 1, (0,))
    assert out.tolist() == [[0, 30, 30, 0]] * 4


def test_lecture_rgb_filter_reads_only_its_channel():
    # The red channel holds the edge; a filter on green alone sees a flat image.
    image = np.zeros((6, 6, 3))
    image[:, :3, 0] = 10
    vertical = np.array(FILTERS["vertical"], float)
    assert filter2d(image, vertical, (0, 0, 0, 0), 1, (1,)).tolist() == [[0] * 4] * 4
    assert filter2d(image, vertical, (0, 0, 0, 0), 1, (0, 1, 2)).tolist() == [[0, 30, 30, 0]] * 4


def test_maxpool_by_hand():
    x = np.arange(16, dtype=float).reshape(4, 4, 1)
    out = pool2d(x, (2, 2), (2, 2), (0, 0, 0, 0), mode="max")
    assert out[:, :, 0].tolist() == [[5, 7], [13, 15]]


def test_avgpool_counts_padding_but_not_the_ceil_mode_overhang():
    # 2x2 ones, padding 1, kernel 2 stride 2: every window holds 1 real cell and 3 padding.
    padded = pool2d(np.ones((2, 2, 1)), (2, 2), (2, 2), (1, 1, 1, 1), mode="avg")
    assert padded[:, :, 0].tolist() == [[0.25, 0.25], [0.25, 0.25]]
    # 3x3 ones, kernel 2 stride 2, ceil_mode: the last window hangs past the input and is
    # divided by the 2 (or 1) cells it covers, so every average is 1.
    ceil = pool2d(np.ones((3, 3, 1)), (2, 2), (2, 2), (0, 0, 0, 0), ceil_mode=True, mode="avg")
    assert ceil[:, :, 0].tolist() == [[1, 1], [1, 1]]


def test_adaptive_avgpool_by_hand():
    # 5 -> 3: PyTorch's windows [0, 2), [1, 4), [3, 5).
    x = np.arange(5, dtype=float).reshape(1, 5, 1)
    out = adaptive_avg_pool2d(x, (1, 3))
    assert out[0, :, 0].tolist() == [0.5, 2.0, 3.5]


def test_every_layer_kind_has_a_runner():
    # 'separable' and 'split' never reach a row: the loader expands them into depthwise +
    # pointwise, and into channel slices.
    assert set(LAYER_KINDS) - {"separable", "split"} == set(RUNNERS)


# ---------------------------------------------------------------- PyTorch


def _nchw(torch, x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


def _hwc(t):
    return t[0].numpy().transpose(1, 2, 0)


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_matches_torch(case):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    h, w, kernel, stride, dilation, groups, cg, multiplier, padding, bias, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, cg * groups)).astype(np.float32)
    weight = rng.standard_normal((*kernel, cg, groups * multiplier)).astype(np.float32)
    b = rng.standard_normal(groups * multiplier).astype(np.float32) if bias else None
    out, _ = conv2d(x, weight, b, stride=stride, padding=padding, dilation=dilation,
                    groups=groups)
    top, bottom, left, right = padding
    xt = functional.pad(_nchw(torch, x), (left, right, top, bottom))
    wt = torch.from_numpy(np.ascontiguousarray(weight.transpose(3, 2, 0, 1)))
    expected = functional.conv2d(xt, wt, None if b is None else torch.from_numpy(b),
                                 stride=stride, dilation=dilation, groups=groups)
    np.testing.assert_allclose(out, _hwc(expected), rtol=1e-4, atol=1e-4)


@settings(max_examples=80, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3),
       p=st.integers(0, 2), ceil_mode=st.booleans(), seed=st.integers(0, 2**16))
def test_pooling_matches_torch(*, h, w, k, s, p, ceil_mode, seed):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    assume(p <= k // 2 and h + 2 * p >= k and w + 2 * p >= k)  # what PyTorch accepts
    x = np.random.default_rng(seed).standard_normal((h, w, 3)).astype(np.float32)
    xt = _nchw(torch, x)
    for mode, torch_pool in (("max", functional.max_pool2d), ("avg", functional.avg_pool2d)):
        out = pool2d(x, (k, k), (s, s), (p, p, p, p), ceil_mode=ceil_mode, mode=mode)
        expected = _hwc(torch_pool(xt, k, s, p, ceil_mode=ceil_mode))
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("h", "w", "size"), [(7, 7, (1, 1)), (5, 9, (3, 4)), (6, 6, (6, 6)),
                                             (4, 3, (7, 5))])
def test_adaptive_avgpool_matches_torch(h, w, size):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((h, w, 2)).astype(np.float32)
    expected = _hwc(torch.nn.functional.adaptive_avg_pool2d(_nchw(torch, x), size))
    np.testing.assert_allclose(adaptive_avg_pool2d(x, size), expected, rtol=1e-5, atol=1e-6)


def test_local_response_norm_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((4, 5, 7)).astype(np.float32)
    expected = _hwc(torch.nn.functional.local_response_norm(_nchw(torch, x), 5, 1e-2, 0.75, 2.0))
    np.testing.assert_allclose(local_response_norm(x, 5, 1e-2, 0.75, 2.0), expected,
                               rtol=1e-5, atol=1e-6)
