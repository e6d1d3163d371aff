"""The ONNX reader on network tensors of any rank (tokens, attention, YOLO's head), on graphs
built with onnx.helper, with the expected numbers worked out by hand in each test."""

from pathlib import Path

import pytest

pytest.importorskip("onnx")

from test_onnx_reader import counts, floats, ints, node, save, weight

from convcalc.analysis.report import analyze
from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_reader import read_onnx


def test_attention_over_tokens(tmp_path: Path) -> None:
    # A 4x4 patch embedding of 3x32x32 to 8 features: 64 tokens of 8; qkv by one [8, 24]
    # weight, 2 heads of 4, split along the leading axis of [3, 1, 2, 64, 4] as timm does.
    nodes = [
        node("Conv", ["x", "wp"], ["p"], kernel_shape=[4, 4], strides=[4, 4]),
        node("Reshape", ["p", "s1"], ["p1"]),
        node("Transpose", ["p1"], ["t"], perm=[0, 2, 1]),
        node("MatMul", ["t", "wqkv"], ["qkv"]),
        node("Reshape", ["qkv", "s2"], ["q5"]),
        node("Transpose", ["q5"], ["q5t"], perm=[2, 0, 3, 1, 4]),
        node("Split", ["q5t", "parts"], ["q1", "k1", "v1"], axis=0),
        node("Squeeze", ["q1", "zero"], ["q"]),
        node("Squeeze", ["k1", "zero"], ["k"]),
        node("Squeeze", ["v1", "zero"], ["v"]),
        node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        node("MatMul", ["q", "kt"], ["scores"]),
        node("Softmax", ["scores"], ["a"], axis=-1),
        node("MatMul", ["a", "v"], ["o"]),
        node("Transpose", ["o"], ["ot"], perm=[0, 2, 1, 3]),
        node("Reshape", ["ot", "s1t"], ["y"]),
    ]
    inits = [weight("wp", 8, 3, 4, 4), weight("wqkv", 8, 24), ints("s1", 1, 8, 64),
             ints("s2", 1, 64, 3, 2, 4), ints("parts", 1, 1, 1), ints("zero", 0),
             ints("s1t", 1, 64, 8)]
    path = save(tmp_path, nodes, inits, [1, 3, 32, 32])
    patch = 8 * 8 * 8 * 3 * 16  # 64 positions x 8 filters x 3x4x4
    qkv = 64 * 8 * 24
    products = 2 * (2 * 64 * 4 * 64)  # Q·Kᵀ and A·V, as torch's bmm: heads x 64 x 4 x 64 each
    assert counts(path) == (8 * 3 * 16 + 8 * 24, patch + qkv + products, [64, 8])
    kinds = [r.kind for r in analyze(read_onnx(path)).rows]
    assert kinds.count("matmul") == 2 and kinds.count("softmax") == 1


def test_yolo_distribution_focal_loss_head(tmp_path: Path) -> None:
    # YOLO's DFL on 16 positions: [1, 64, 16] -> [1, 4, 16, 16] -> bins first -> softmax over
    # the 16 bins (axis 1) -> a fixed 1x1 conv 16 -> 1 -> [1, 4, 16].
    nodes = [
        node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
        node("Reshape", ["c", "s1"], ["boxes"]),
        node("Reshape", ["boxes", "s2"], ["bins"]),
        node("Transpose", ["bins"], ["binst"], perm=[0, 2, 1, 3]),
        node("Softmax", ["binst"], ["p"], axis=1),
        node("Conv", ["p", "dfl"], ["d"], kernel_shape=[1, 1]),
        node("Reshape", ["d", "s3"], ["y"]),
    ]
    inits = [weight("w", 64, 3, 1, 1), weight("dfl", 1, 16, 1, 1), ints("s1", 1, 64, 16),
             ints("s2", 1, 4, 16, 16), ints("s3", 1, 4, 16)]
    path = save(tmp_path, nodes, inits, [1, 3, 4, 4])
    # 16 positions x 64 x 3, then 4 x 16 positions x 16 bins.
    assert counts(path) == (64 * 3 + 16, 16 * 64 * 3 + 4 * 16 * 16, [4, 16])
    rows = analyze(read_onnx(path)).rows
    softmax = next(r for r in rows if r.kind == "softmax")
    assert softmax.output.as_list()[softmax.layer.axis] == 16  # type: ignore[attr-defined]


def test_class_token_position_embedding_and_select(tmp_path: Path) -> None:
    # 4 patch tokens of 6, a class token before them, a position embedding, a layer norm, the
    # class token out (Gather of index 0 along the tokens) and a linear head to 10.
    nodes = [
        node("Conv", ["x", "wp"], ["p"], kernel_shape=[4, 4], strides=[4, 4]),
        node("Reshape", ["p", "s1"], ["p1"]),
        node("Transpose", ["p1"], ["t"], perm=[0, 2, 1]),
        node("Concat", ["cls", "t"], ["c"], axis=1),
        node("Add", ["c", "pos"], ["e"]),
        node("LayerNormalization", ["e", "g", "b"], ["n"], axis=-1),
        node("Gather", ["n", "first"], ["f"], axis=1),
        node("Gemm", ["f", "head", "hb"], ["y"], transB=1),
    ]
    inits = [weight("wp", 6, 3, 4, 4), ints("s1", 1, 6, 4), weight("cls", 1, 1, 6),
             weight("pos", 1, 5, 6), weight("g", 6), weight("b", 6),
             ints("first", 0, scalar=True), weight("head", 10, 6), weight("hb", 10)]
    path = save(tmp_path, nodes, inits, [1, 3, 8, 8])
    params = 6 * 3 * 16 + 6 + 5 * 6 + 2 * 6 + 10 * 6 + 10
    assert counts(path) == (params, 4 * 6 * 3 * 16 + 6 * 10, [10])
    kinds = [r.kind for r in analyze(read_onnx(path)).rows]
    assert {"class_token", "position_embedding", "select_token", "layernorm"} <= set(kinds)


def test_expand_that_repeats_values_is_an_error(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Expand", ["x", "to"], ["y"])], [ints("to", 2, 3, 4, 4)],
                [1, 3, 4, 4])
    with pytest.raises(ConvcalcError, match=r"\(Expand\): Expand of dims \[1, 3, 4, 4\] to "
                       r"\[2, 3, 4, 4\] repeats values"):
        read_onnx(path)


@pytest.mark.parametrize(("equation", "dims", "macs", "output"), [
    ("bhqd,bhkd->bhqk", [1, 2, 5, 4], 2 * 5 * 4 * 5, [2, 5, 5]),  # Q·Kᵀ: heads x q x d x k
    ("bnhd,bmhd->bhnm", [1, 2, 5, 4], 5 * 2 * 4 * 2, [5, 2, 2]),  # heads in the middle
    ("abcd,abed->abce", [2, 5, 2, 2], 2 * 5 * 2 * 2 * 2, [2, 5, 2, 2]),  # two batch letters
], ids=["qk", "heads-inside", "two-batch-letters"])
def test_einsum_of_two_tensors_counts_as_bmm(tmp_path: Path, equation: str, dims: list[int],
                                             macs: int, output: list[int]) -> None:
    path = save(tmp_path, [node("Reshape", ["x", "dims"], ["r"]),
                           node("Einsum", ["r", "r"], ["y"], equation=equation)],
                [ints("dims", *dims)], [1, 2, 5, 4])
    assert counts(path) == (0, macs, output)


def test_einsum_of_scores_and_values(tmp_path: Path) -> None:
    # [1, 2, 5, 4] -> scores [1, 2, 5, 5] (2·5·4·5), then A·V [1, 2, 5, 4] (2·5·5·4).
    path = save(tmp_path, [node("Einsum", ["x", "x"], ["s"], equation="bhqd,bhkd->bhqk"),
                           node("Einsum", ["s", "x"], ["y"], equation="bhqk,bhkd->bhqd")],
                [], [1, 2, 5, 4])
    assert counts(path) == (0, 200 + 200, [2, 5, 4])


def test_einsum_of_another_form_is_an_error(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Einsum", ["x"], ["y"], equation="bchw->bc")], [],
                [1, 2, 5, 4])
    with pytest.raises(ConvcalcError, match=r"\(Einsum\): Einsum 'bchw->bc' is not supported"):
        read_onnx(path)


def test_cumsum_and_where_cost_nothing(tmp_path: Path) -> None:
    # A 1x1 conv 3 -> 4 on 2x2 (4 positions x 4 x 3 MACs), a running sum along the width, a
    # mask keeping some values: neither adds MACs nor params.
    nodes = [node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
             node("CumSum", ["c", "axis"], ["s"]),
             node("Where", ["mask", "s", "zero"], ["y"])]
    inits = [weight("w", 4, 3, 1, 1), ints("axis", 3, scalar=True),
             ints("mask", 1, 0), floats("zero", 0.0)]
    path = save(tmp_path, nodes, inits, [1, 3, 2, 2])
    assert counts(path) == (12, 4 * 4 * 3, [2, 2, 4])


def test_layout_ops_along_positions(tmp_path: Path) -> None:
    # A 1x1 conv 3 -> 6 on 4x4 (16 positions x 6 x 3 MACs) as [1, 6, 16], two of them side
    # by side along the positions [1, 6, 32], positions 8..23 of that, a leading axis added,
    # channel 3 of the six [1, 1, 16], flattened from axis 2 to [1, 16].
    nodes = [node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
             node("Reshape", ["c", "flat"], ["f"]),
             node("Concat", ["f", "f"], ["two"], axis=2),
             node("Slice", ["two", "starts", "ends", "axes"], ["s"]),
             node("Unsqueeze", ["s", "zero"], ["u"]),
             node("Gather", ["u", "three"], ["g"], axis=2),
             node("Flatten", ["g"], ["y"], axis=2)]
    inits = [weight("w", 6, 3, 1, 1), ints("flat", 1, 6, 16), ints("starts", 8),
             ints("ends", 24), ints("axes", 2), ints("zero", 0), ints("three", 3, scalar=True)]
    path = save(tmp_path, nodes, inits, [1, 3, 4, 4])
    assert counts(path) == (18, 16 * 6 * 3, [16])
    rows = analyze(read_onnx(path)).rows
    assert [r.output.as_list() for r in rows if r.kind == "concat"] == [[32, 6]]


def test_gather_by_network_indices_is_an_error(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Gather", ["x", "x"], ["y"])], [], [1, 3, 4, 4])
    with pytest.raises(ConvcalcError, match=r"\(Gather\): Gather of a network tensor with dims "
                       r"\[1, 3, 4, 4\] by indices with dims \[\] is not supported"):
        read_onnx(path)
