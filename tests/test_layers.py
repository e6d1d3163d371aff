"""Each layer kind's shape, parameters, multiplies and other ops, by hand arithmetic."""

import pytest

from convcalc.errors import ConvcalcError
from convcalc.graph.layers import (
    LAYER_KINDS,
    AdaptiveAvgPool,
    Add,
    BatchNorm,
    Concat,
    Conv,
    Dense,
    Depthwise,
    Flatten,
    GlobalAvgPool,
    Pointwise,
    Pool,
    Separable,
    ZeroPad,
)
from convcalc.graph.shapes import Shape


def test_lecture_5x5_conv_costs_120_million_multiplies() -> None:
    conv = Conv(filters=32, kernel=(5, 5), padding="same", bias=False)
    x = Shape(28, 28, 192)
    assert conv.out_shape(x) == Shape(28, 28, 32)
    assert conv.macs(x) == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert conv.params(x) == 5 * 5 * 192 * 32


def test_lecture_bottleneck_costs_12_4_million() -> None:
    x = Shape(28, 28, 192)
    squeeze = Conv(filters=16, kernel=(1, 1), bias=False)
    mid = squeeze.out_shape(x)
    conv = Conv(filters=32, kernel=(5, 5), padding="same", bias=False)
    assert squeeze.macs(x) == 28 * 28 * 16 * 192 == 2_408_448
    assert conv.macs(mid) == 28 * 28 * 32 * 5 * 5 * 16 == 10_035_200
    assert squeeze.macs(x) + conv.macs(mid) == 12_443_648


def test_bias_counts_as_parameters_and_other_ops() -> None:
    conv = Conv(filters=32, kernel=(5, 5), padding=2)
    x = Shape(28, 28, 192)
    assert conv.params(x) == 5 * 5 * 192 * 32 + 32
    assert conv.other_ops(x) == 28 * 28 * 32 == 25_088  # shared/reference bias_adds


def test_depthwise_3x3_on_112x112x32() -> None:
    dw = Depthwise(kernel=(3, 3), padding=1)
    x = Shape(112, 112, 32)
    assert dw.out_shape(x) == x
    assert dw.macs(x) == 112 * 112 * 32 * 9 == 3_612_672
    assert dw.params(x) == 9 * 32 + 32
    assert dw.other_ops(x) == 112 * 112 * 32 == 401_408


def test_depthwise_multiplier_multiplies_outputs() -> None:
    dw = Depthwise(kernel=(3, 3), multiplier=2, bias=False)
    x = Shape(10, 10, 8)
    assert dw.out_shape(x) == Shape(8, 8, 16)
    assert dw.macs(x) == 8 * 8 * 16 * 9
    assert dw.params(x) == 9 * 16


def test_grouped_conv_divides_the_contraction() -> None:
    conv = Conv(filters=64, kernel=(3, 3), groups=4, padding=1, bias=False)
    x = Shape(8, 8, 32)
    assert conv.macs(x) == 8 * 8 * 64 * 9 * (32 // 4)
    assert conv.params(x) == 9 * 8 * 64
    with pytest.raises(ConvcalcError, match=r"groups=5 must divide input channels 32"):
        Conv(filters=10, kernel=(3, 3), groups=5).out_shape(x)


def test_non_square_kernel_and_stride() -> None:
    conv = Conv(filters=4, kernel=(1, 7), stride=(1, 2), padding=(0, 3), bias=False)
    x = Shape(17, 17, 8)
    # height: floor((17 - 1)/1) + 1 = 17; width: floor((17 + 6 - 7)/2) + 1 = 9
    assert conv.out_shape(x) == Shape(17, 9, 4)
    assert conv.macs(x) == 17 * 9 * 4 * 7 * 8


def test_pointwise_expansion_follows_input_channels() -> None:
    pw = Pointwise(expansion=6, bias=False)
    x = Shape(56, 56, 24)
    assert pw.out_shape(x) == Shape(56, 56, 144)
    assert pw.macs(x) == 56 * 56 * 144 * 24
    with pytest.raises(ConvcalcError, match="exactly one of 'filters' and 'expansion'"):
        Pointwise(filters=8, expansion=2)


def test_separable_expands_to_depthwise_then_pointwise() -> None:
    (dw_name, dw), (pw_name, pw) = Separable(filters=5, kernel=(3, 3), bias=False).expand()
    x = Shape(6, 6, 3)
    assert (dw_name, pw_name) == ("dw", "pw")
    # The lecture-style example: 4x4x3 * 9 = 432, then 4x4x5 * 3 = 240.
    assert dw.macs(x) == 432
    assert pw.macs(dw.out_shape(x)) == 240


def test_pooling_costs_and_stride_default() -> None:
    pool = Pool(kind="maxpool", kernel=(2, 2))
    x = Shape(28, 28, 6)
    assert pool.out_shape(x) == Shape(14, 14, 6)
    assert pool.params(x) == 0 and pool.macs(x) == 0
    assert pool.other_ops(x) == 14 * 14 * 6 * 4


def test_global_and_adaptive_pooling() -> None:
    x = Shape(7, 7, 2048)
    assert GlobalAvgPool().out_shape(x) == Shape(1, 1, 2048)
    assert GlobalAvgPool().other_ops(x) == 7 * 7 * 2048
    # 14 -> 5: PyTorch windows [0,3) [2,6) [5,9) [8,12) [11,14): lengths 3+4+4+4+3 = 18
    pool = AdaptiveAvgPool(size=(5, 5))
    assert pool.out_shape(Shape(14, 14, 1)) == Shape(5, 5, 1)
    assert pool.other_ops(Shape(14, 14, 1)) == 18 * 18


def test_batchnorm_dense_flatten_zeropad() -> None:
    assert BatchNorm().params(Shape(56, 56, 64)) == 128
    assert Flatten().out_shape(Shape(5, 5, 16)) == Shape.flat(400)
    fc = Dense(units=120)
    assert fc.params(Shape.flat(400)) == 400 * 120 + 120 == 48_120
    assert fc.macs(Shape.flat(400)) == 48_000
    assert ZeroPad(padding=(0, 1, 0, 1)).out_shape(Shape(4, 4, 3)) == Shape(5, 5, 3)
    with pytest.raises(ConvcalcError, match=r"needs a flat input but gets 5x5x16; add 'flatten'"):
        fc.out_shape(Shape(5, 5, 16))


def test_merges() -> None:
    a = Shape(28, 28, 64)
    assert Add().out_shape((a, a)) == a
    assert Add().other_ops((a, a)) == a.elements
    with pytest.raises(ConvcalcError, match=r"cannot add 28x28x64 and 28x28x32"):
        Add().out_shape((a, Shape(28, 28, 32)))
    assert Concat().out_shape((a, Shape(28, 28, 32))) == Shape(28, 28, 96)
    with pytest.raises(ConvcalcError, match=r"cannot concatenate 28x28x64 and 14x14x32"):
        Concat().out_shape((a, Shape(14, 14, 32)))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv(filters=0, kernel=(3, 3)), r"filters 0 must be between 1"),
        (lambda: Conv(filters=8, kernel=(3, 3), stride=(0, 1)), r"stride 0 must be between 1"),
        (lambda: Conv(filters=8, kernel=(3, 3), padding="full"), r"padding 'full' must be"),
        (lambda: Conv(filters=8, kernel=(3, 3), padding=(-1, 0)), r"padding \[-1, 0\] must"),
    ],
    ids=["filters", "stride", "padding-word", "padding-negative"],
)
def test_invalid_fields_are_rejected(make: object, message: str) -> None:
    with pytest.raises(ConvcalcError, match=message):
        make()  # type: ignore[operator]


def test_every_kind_has_a_docstring() -> None:
    for kind, cls in LAYER_KINDS.items():
        assert cls.__doc__ and cls.__doc__.strip(), kind


# -- the graph kinds ---------------------------------------------------------------------------


def test_conv_transpose_by_hand() -> None:
    from convcalc.graph.layers import ConvTranspose

    up = ConvTranspose(filters=8, kernel=(4, 4), stride=(2, 2), padding=1, bias=True)
    x = Shape(16, 16, 24)
    # (16 - 1)*2 - 2*1 + 1*(4 - 1) + 0 + 1 = 32
    assert up.out_shape(x) == Shape(32, 32, 8)
    assert up.params(x) == 24 * 8 * 4 * 4 + 8 == 3080
    # every input value times every tap of its filters: 16*16*24 * 8 * 16
    assert up.macs(x) == 16 * 16 * 24 * 8 * 16 == 786_432
    assert up.other_ops(x) == 32 * 32 * 8  # the bias
    grouped = ConvTranspose(filters=6, kernel=(3, 3), stride=(2, 2), padding=1,
                            output_padding=(1, 1), groups=2, bias=False)
    # (7 - 1)*2 - 2 + 2 + 1 + 1 = 14; params 8 * (6/2) * 9 = 216
    assert grouped.out_shape(Shape(7, 7, 8)) == Shape(14, 14, 6)
    assert grouped.params(Shape(7, 7, 8)) == 216
    with pytest.raises(ConvcalcError, match=r"output_padding 2 must be at least 0 and below"):
        ConvTranspose(filters=4, kernel=(3, 3), stride=(2, 2), output_padding=(2, 2))
    with pytest.raises(ConvcalcError, match=r"padding 5 leaves no output"):
        ConvTranspose(filters=4, kernel=(1, 1), padding=5).out_shape(Shape(3, 3, 1))


def test_upsample_by_hand() -> None:
    from convcalc.graph.layers import Upsample

    x = Shape(7, 5, 3)
    assert Upsample(scale=(2.0, 2.0)).cost((x,)).output == Shape(14, 10, 3)
    # floor(7 * 1.5) = 10, floor(5 * 1.5) = 7
    assert Upsample(scale=(1.5, 1.5)).cost((x,)).output == Shape(10, 7, 3)
    assert Upsample(size=(9, 4)).cost((x,)).output == Shape(9, 4, 3)
    # the size of a second input; its channels do not matter
    bilinear = Upsample(mode="bilinear").cost((x, Shape(28, 20, 64)))
    assert bilinear.output == Shape(28, 20, 3)
    assert bilinear.other_ops == 4 * 28 * 20 * 3 and bilinear.macs == 0
    assert Upsample(scale=(2.0, 2.0)).cost((x,)).other_ops == 0  # nearest copies
    for bad, message in ((Upsample(), "needs 'scale', 'size' or a second input"),
                         (Upsample(size=(2, 2)), "reads its size from a second input; drop")):
        with pytest.raises(ConvcalcError, match=message):
            bad.cost((x, x) if bad.size else (x,))
    with pytest.raises(ConvcalcError, match=r"mode 'cubic' must be one of nearest, bilinear"):
        Upsample(scale=(2.0, 2.0), mode="cubic")


def test_split_and_channel_slices_by_hand() -> None:
    from convcalc.graph.layers import ChannelSlice, Split

    x = Shape(8, 8, 24)
    halves = [layer for _, layer in Split(sections=2).expand()]
    assert [h.out_shape(x) for h in halves] == [Shape(8, 8, 12)] * 2
    assert [h.bounds(24) for h in halves] == [(0, 12), (12, 24)]
    parts = [layer for _, layer in Split(sections=(4, 8, 12)).expand()]
    assert [p.bounds(24) for p in parts] == [(0, 4), (4, 12), (12, 24)]  # type: ignore[attr-defined]
    with pytest.raises(ConvcalcError, match=r"split sections add up to 24 channels, but the "
                                            r"input has 25; make them add up to 25"):
        parts[0].out_shape(Shape(8, 8, 25))
    assert ChannelSlice(start=3, stop=5).out_shape(x) == Shape(8, 8, 2)
    with pytest.raises(ConvcalcError, match=r"stop 30 is past the input's 24 channels"):
        ChannelSlice(start=3, stop=30).out_shape(x)
    with pytest.raises(ConvcalcError, match=r"sections 1 must be a list"):
        Split(sections=1)


def test_shuffle_norms_scale_and_free_kinds_by_hand() -> None:
    from convcalc.graph.layers import (
        ChannelShuffle,
        Identity,
        LayerNorm,
        LayerScale,
        StochasticDepth,
    )

    x = Shape(14, 14, 96)
    assert ChannelShuffle(groups=2).out_shape(x) == x
    with pytest.raises(ConvcalcError, match=r"groups=5 must divide the input's 96 channels"):
        ChannelShuffle(groups=5).out_shape(x)
    assert LayerNorm().params(x) == 2 * 96 and LayerNorm(affine=False).params(x) == 0
    assert LayerNorm().other_ops(x) == 7 * 14 * 14 * 96
    assert LayerScale().params(x) == 96 and LayerScale().other_ops(x) == 14 * 14 * 96
    for free in (StochasticDepth(p=0.2), Identity()):
        assert free.cost((x,)).output == x
        assert (free.params(x), free.macs(x), free.other_ops(x)) == (0, 0, 0)
    with pytest.raises(ConvcalcError, match=r"mode 'col' must be 'row' or 'batch'"):
        StochasticDepth(mode="col")


def test_adaptive_pooling_is_closed_form_and_agrees_with_the_windows() -> None:
    # The closed form against the windows listed one by one ([floor(i*n/o), ceil((i+1)*n/o))).
    from convcalc.graph.layers.pooling import _adaptive_windows

    for n in range(1, 40):
        for o in range(1, 40):
            lengths = [-(-(i + 1) * n // o) - (i * n // o) for i in range(o)]
            assert _adaptive_windows(n, o) == (sum(lengths), max(lengths)), (n, o)
    # 10^7 -> 9,999,999: n + o - gcd = 19,999,998 additions, at once
    big = AdaptiveAvgPool(size=(9_999_999, 1))
    assert big.other_ops(Shape(10_000_000, 1, 1)) == 19_999_998


def test_merges_read_several_inputs_and_layers_one() -> None:
    from convcalc.graph.layers import Merge, Mul

    assert issubclass(Add, Merge) and issubclass(Mul, Merge) and issubclass(Concat, Merge)
    with pytest.raises(ConvcalcError, match=r"reads one tensor, not 2"):
        Conv(filters=2, kernel=(1, 1)).cost((Shape(4, 4, 1), Shape(4, 4, 1)))
    assert Add().cost((Shape(4, 4, 2),) * 3).other_ops == 2 * 32


def test_crop_by_hand() -> None:
    from convcalc.graph.layers import Crop

    # the U-Net's first skip: 568x568x64 cropped to 392x392 (Ronneberger et al., Figure 1)
    big, small = Shape(568, 568, 64), Shape(392, 392, 128)
    crop = Crop()
    assert crop.cost((big, small)).output == Shape(392, 392, 64)
    assert crop.offsets((big, small)) == ((568 - 392) // 2, (568 - 392) // 2) == (88, 88)
    # odd margins round half to even, as torchvision's int(round((H - h) / 2.0)): 5 / 2 -> 2
    assert Crop(size=(4, 3)).offsets((Shape(9, 8, 1),)) == (round(2.5), round(2.5)) == (2, 2)
    cost = Crop(size=(4, 3)).cost((Shape(9, 8, 1),))
    assert cost.output == Shape(4, 3, 1) and (cost.params, cost.macs, cost.other_ops) == (0, 0, 0)
    with pytest.raises(ConvcalcError, match=r"cannot crop 9x8x1 to 10x3: the crop is larger"):
        Crop(size=(10, 3)).cost((Shape(9, 8, 1),))
    with pytest.raises(ConvcalcError, match=r"needs 'size' or a second input"):
        Crop().cost((Shape(9, 8, 1),))


def test_layers_are_values_compared_hashed_and_shown_by_their_fields() -> None:
    a = Conv(filters=8, kernel=(3, 3), stride=(2, 2))
    same = Conv(filters=8, kernel=(3, 3), stride=(2, 2))
    assert a == same and hash(a) == hash(same) and len({a, same}) == 1
    assert a != Conv(filters=8, kernel=(3, 3), stride=(1, 1))
    assert Add() != Concat() and Add() == Add()
    assert repr(a) == ("Conv(kind='conv', filters=8, kernel=(3, 3), stride=(2, 2), padding=0, "
                       "dilation=(1, 1), groups=1, bias=True, scale=True)")
    with pytest.raises(AttributeError):
        a.filters = 16  # type: ignore[misc]
