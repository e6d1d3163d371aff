"""The output-size formula and padding rules, against the lecture's worked examples and
PyTorch's documented pooling rule."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcalc.errors import ConvcalcError
from convcalc.graph.shapes import Shape, output_size, parse_shape, resolve_padding, same_padding


@pytest.mark.parametrize(
    ("n", "f", "s", "p", "expected"),
    [
        (6, 3, 1, 0, 4),      # lecture: 6x6 * 3x3 -> 4x4
        (7, 3, 2, 0, 3),      # lecture: 7x7, 3x3, stride 2 -> 3x3
        (6, 3, 1, 1, 6),      # 'same' for f=3 is p=1
        (224, 7, 2, 3, 112),  # ResNet stem: floor((224 + 6 - 7)/2) + 1
        (39, 3, 1, 0, 37),    # lecture's example ConvNet, layer 1
        (37, 5, 2, 0, 17),    # ... layer 2
        (17, 5, 2, 0, 7),     # ... layer 3
    ],
    ids=["6-3", "7-3-s2", "6-3-p1", "resnet-stem", "convnet-1", "convnet-2", "convnet-3"],
)
def test_output_size_matches_lecture(n: int, f: int, s: int, p: int, expected: int) -> None:
    assert output_size(n, f, s, p, p) == expected


def test_dilation_widens_the_kernel() -> None:
    # A 3x3 kernel with dilation 2 covers 5 pixels: floor((10 - 5)/1) + 1 = 6.
    assert output_size(10, 3, 1, 0, 0, dilation=2) == 6


@pytest.mark.parametrize(
    ("n", "f", "s", "p", "floor_out", "ceil_out"),
    [
        (6, 3, 2, 0, 2, 3),        # ceil((6-3)/2) + 1 = 3
        (112, 3, 2, 0, 55, 56),    # GoogLeNet's ceil-mode max pool
        (5, 2, 2, 1, 3, 3),        # ceil gives 4, but window 4 would start in the right padding
    ],
    ids=["6-3-s2", "googlenet", "drops-window-in-padding"],
)
def test_ceil_mode_follows_pytorch(n: int, f: int, s: int, p: int, floor_out: int,
                                   ceil_out: int) -> None:
    assert output_size(n, f, s, p, p) == floor_out
    assert output_size(n, f, s, p, p, ceil_mode=True) == ceil_out


def test_kernel_larger_than_padded_input_is_an_error() -> None:
    with pytest.raises(ConvcalcError, match=r"kernel 7 \(dilation 1\) is larger than the padded "
                                            r"input 5 \+ 0"):
        output_size(5, 7, 1, 0, 0)


@given(n=st.integers(1, 300), f=st.integers(1, 11), s=st.integers(1, 4), d=st.integers(1, 3))
def test_same_padding_gives_ceil_n_over_s(n: int, f: int, s: int, d: int) -> None:
    top, bottom = same_padding(n, f, s, d)
    assert bottom - top in (0, 1)  # the odd pixel goes bottom/right, as TensorFlow does
    if n + top + bottom >= d * (f - 1) + 1:
        assert output_size(n, f, s, top, bottom, d) == -(-n // s)


def test_same_padding_for_stride_one_odd_kernel_is_half_the_kernel() -> None:
    assert same_padding(28, 5, 1, 1) == (2, 2)
    assert resolve_padding("same", (28, 28), (5, 5), (1, 1), (1, 1)) == (2, 2, 2, 2)
    assert resolve_padding("valid", (28, 28), (5, 5), (1, 1), (1, 1)) == (0, 0, 0, 0)
    # TensorFlow: 224 with 3x3 stride 2 pads 0 on top and 1 at the bottom.
    assert same_padding(224, 3, 2, 1) == (0, 1)


def test_parse_shape_forms() -> None:
    assert parse_shape("224x224x3") == Shape(224, 224, 3)
    assert parse_shape("160", channels=3) == Shape(160, 160, 3)
    assert parse_shape("120x160", channels=1) == Shape(120, 160, 1)
    with pytest.raises(ConvcalcError, match=r"input '224' must be HxWxC"):
        parse_shape("224")
    with pytest.raises(ConvcalcError, match=r"height 0 must be between 1 and"):
        parse_shape("0x5x3")


def test_shape_text_and_elements() -> None:
    assert str(Shape(56, 56, 64)) == "56x56x64"
    assert Shape(56, 56, 64).elements == 200_704
    assert Shape.flat(1000).as_list() == [1000]
    assert Shape(7, 5, 3).as_list() == [7, 5, 3]


def test_pooling_sizes_agree_with_torch() -> None:
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    for n in (5, 6, 7, 13, 14, 112):
        for f, s, p in ((2, 2, 0), (2, 2, 1), (3, 2, 0), (3, 2, 1), (3, 3, 1), (5, 3, 2)):
            x = torch.zeros(1, 1, n, n)
            for ceil in (False, True):
                expected = functional.max_pool2d(x, f, s, padding=p, ceil_mode=ceil).shape[-1]
                assert output_size(n, f, s, p, p, ceil_mode=ceil) == expected, (n, f, s, p, ceil)
