"""The ONNX reader's element-wise, normalisation and reduction handlers on small graphs built
with onnx.helper, each expected number worked out by hand in the test. No torch needed."""

from pathlib import Path

import pytest

pytest.importorskip("onnx")

from onnx import helper
from test_onnx_reader import counts, floats, ints, node, save, weight

from convcalc.analysis.report import analyze
from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_reader import read_onnx


def kinds(path: Path) -> list[tuple[str, str, list[int]]]:
    """(path, kind, output as [h, w, c]) of every row of a read model."""
    return [(r.path, r.kind, r.output.as_list()) for r in analyze(read_onnx(path)).rows]


# -- reductions ----------------------------------------------------------------------------------

def test_reductions_over_channels_and_positions(tmp_path: Path) -> None:
    # x 8x4x6: sum over channels (keepdims) -> 4x6x1; L2 over height and width -> 1x1x8;
    # max over width -> 4x1x8 (ONNX axes counted from the batch, convcalc's features last).
    path = save(tmp_path, [
        node("ReduceSum", ["x", "c"], ["s"], keepdims=1),
        node("ReduceL2", ["x", "hw"], ["l"], keepdims=1),
        node("ReduceMax", ["x", "w"], ["m"], keepdims=1),
        node("Mul", ["s", "l"], ["sl"]), node("Mul", ["sl", "m"], ["y"])],
        [ints("c", 1), ints("hw", -2, -1), ints("w", 3)], [1, 8, 4, 6], opset=18)
    assert kinds(path)[:3] == [("s", "reduce", [4, 6, 1]), ("l", "reduce", [1, 1, 8]),
                               ("m", "reduce", [4, 1, 8])]
    layers = {r.path: r.layer for r in analyze(read_onnx(path)).rows}
    assert [(layers[p].op, layers[p].axes) for p in "slm"] == [  # type: ignore[attr-defined]
        ("sum", (2,)), ("l2", (0, 1)), ("max", (1,))]
    assert counts(path) == (0, 0, [4, 6, 8])


def test_reduce_sum_to_a_vector_and_the_attribute_form(tmp_path: Path) -> None:
    # Opset 13's ReduceSum takes its axes as an input, ReduceL2 as an attribute until opset 18.
    path = save(tmp_path, [node("ReduceL2", ["x"], ["l"], axes=[1], keepdims=1),
                           node("ReduceSum", ["l", "hw"], ["y"], keepdims=0)],
                [ints("hw", 2, 3)], [1, 8, 4, 6], opset=13)
    assert kinds(path) == [("l", "reduce", [4, 6, 1]), ("y", "reduce", [1])]


@pytest.mark.parametrize(("axes", "keepdims", "message"), [
    ([0, 1], 1, r"ReduceSum over axes \[0, 1\] of dims \[1, 8, 4, 6\]; convcalc reduces the "
                r"axes after the batch"),
    ([1], 0, r"ReduceSum over axes \[1\] of dims \[1, 8, 4, 6\] without keepdims is not "
             r"supported"),
    ([], 1, r"ReduceSum over every axis, the batch too"),
], ids=["batch", "channels-without-keepdims", "every-axis"])
def test_unsupported_reductions(tmp_path: Path, axes: list[int], keepdims: int,
                                message: str) -> None:
    path = save(tmp_path, [node("ReduceSum", ["x", "a"], ["y"], keepdims=keepdims)],
                [ints("a", *axes)], [1, 8, 4, 6])
    with pytest.raises(ConvcalcError, match=r"layer 'y' \(ReduceSum\): " + message):
        read_onnx(path)


def test_empty_axes_with_noop_pass_the_tensor_on(tmp_path: Path) -> None:
    path = save(tmp_path, [node("ReduceSum", ["x"], ["s"], noop_with_empty_axes=1),
                           node("Relu", ["s"], ["y"])], [], [1, 8, 4, 6], opset=18)
    assert kinds(path) == [("y", "relu", [4, 6, 8])]


# -- normalisation -------------------------------------------------------------------------------

def test_grn_counts_its_gamma_and_beta(tmp_path: Path) -> None:
    # ConvNeXt-V2's GRN as TorchScript writes it: Gx = ||x|| over h, w; Nx = Gx / (mean_c Gx
    # + eps); gamma * (x * Nx) * 1 + beta + x. gamma and beta: 2 * 8 params, no MACs.
    path = save(tmp_path, [
        node("ReduceL2", ["x"], ["g"], axes=[2, 3], keepdims=1),
        node("ReduceMean", ["g"], ["m"], axes=[1], keepdims=1),
        node("Add", ["m", "eps"], ["me"]), node("Div", ["g", "me"], ["n"]),
        node("Mul", ["x", "n"], ["xn"]), node("Mul", ["gamma", "xn"], ["s"]),
        node("Mul", ["s", "one"], ["s1"]), node("Add", ["beta", "s1"], ["sb"]),
        node("Add", ["x", "sb"], ["y"])],
        [floats("eps", 1e-6), floats("one", 1.0), weight("gamma", 1, 8, 1, 1),
         weight("beta", 1, 8, 1, 1)], [1, 8, 4, 4])
    assert [k for _, k, _ in kinds(path)] == ["reduce", "reduce", "identity", "div", "mul",
                                              "batchnorm", "add"]
    assert counts(path) == (16, 0, [4, 4, 8])


def test_torch_groupnorm_pattern_is_one_groupnorm(tmp_path: Path) -> None:
    # GroupNorm(4, 8) as TorchScript writes it: Reshape to [0, 4, -1], InstanceNormalization
    # with scale 1 and shift 0 (no parameters), Reshape back to Shape(x), Mul by the weight,
    # Add the bias: one groupnorm of 4 groups with 2 * 8 params.
    path = save(tmp_path, [
        node("Reshape", ["x", "grouped"], ["r"]),
        node("InstanceNormalization", ["r", "ones", "zeros"], ["n"], name="/gn/Instance",
             epsilon=1e-5),
        node("Shape", ["x"], ["shape"]), node("Reshape", ["n", "shape"], ["b"]),
        node("Mul", ["b", "w"], ["m"]), node("Add", ["m", "bias"], ["y"])],
        [ints("grouped", 0, 4, -1), floats("ones", 1, 1, 1, 1), floats("zeros", 0, 0, 0, 0),
         weight("w", 8, 1, 1), weight("bias", 8, 1, 1)], [1, 8, 4, 4])
    report = analyze(read_onnx(path))
    assert [(r.path, r.kind, r.layer.groups) for r in report.rows] == [  # type: ignore[attr-defined]
        ("gn", "groupnorm", 4)]
    assert counts(path) == (16, 0, [4, 4, 8])


def test_instance_and_group_normalization(tmp_path: Path) -> None:
    path = save(tmp_path, [
        node("InstanceNormalization", ["x", "s1", "b1"], ["i"]),
        node("GroupNormalization", ["i", "s2", "b2"], ["y"], num_groups=2)],
        [weight("s1", 8), weight("b1", 8), weight("s2", 8), weight("b2", 8)], [1, 8, 4, 4],
        opset=21)
    report = analyze(read_onnx(path))
    assert [(r.kind, r.layer.groups) for r in report.rows] == [  # type: ignore[attr-defined]
        ("groupnorm", 8), ("groupnorm", 2)]
    assert counts(path) == (32, 0, [4, 4, 8])


def test_group_normalization_with_a_scale_per_group_is_an_error(tmp_path: Path) -> None:
    # Opset 18's GroupNormalization scales each group, unlike torch's GroupNorm.
    path = save(tmp_path, [node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=2)],
                [weight("s", 2), weight("b", 2)], [1, 8, 4, 4], opset=18)
    with pytest.raises(ConvcalcError, match=r"\(GroupNormalization\): 's' has dims \[2\]; "
                       r"convcalc reads one scale and one shift per channel \(8\)"):
        read_onnx(path)


# -- element-wise --------------------------------------------------------------------------------

def test_arithmetic_of_two_tensors(tmp_path: Path) -> None:
    # PoolFormer's pool(x) - x, a division by a broadcast 1x1 map, a power; no MACs.
    path = save(tmp_path, [
        node("AveragePool", ["x"], ["p"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Sub", ["p", "x"], ["s"]),
        node("GlobalAveragePool", ["s"], ["g"]), node("Div", ["s", "g"], ["d"]),
        node("Pow", ["d", "x"], ["y"])], [], [1, 8, 4, 4])
    assert [(p, k) for p, k, _ in kinds(path)] == [("p", "avgpool"), ("s", "sub"),
                                                    ("g", "global_avgpool"), ("d", "div"),
                                                    ("y", "mul")]
    assert counts(path) == (0, 0, [4, 4, 8])


@pytest.mark.parametrize("op", ["Sqrt", "Erf", "Sin", "Cos", "Exp", "Log", "Neg", "Abs",
                                "Reciprocal", "Floor", "Ceil"])
def test_unary_arithmetic_is_a_named_row_without_cost(tmp_path: Path, op: str) -> None:
    path = save(tmp_path, [node(op, ["x"], ["u"]), node("Pow", ["u", "two"], ["y"])],
                [floats("two", 2.0)], [1, 8, 4, 4])
    assert kinds(path) == [("u", "identity", [4, 4, 8]), ("y", "identity", [4, 4, 8])]


def test_stacked_sum_is_an_add(tmp_path: Path) -> None:
    # smp FPN's merge: torch.stack([a, b, c]).sum(0), an add of the three.
    path = save(tmp_path, [
        node("Relu", ["x"], ["a"]), node("Sigmoid", ["x"], ["b"]),
        node("Unsqueeze", ["a", "zero"], ["ua"]), node("Unsqueeze", ["b", "zero"], ["ub"]),
        node("Unsqueeze", ["x", "zero"], ["ux"]),
        node("Concat", ["ua", "ub", "ux"], ["st"], axis=0),
        node("ReduceSum", ["st", "zero"], ["y"], keepdims=0, name="/merge/ReduceSum")],
        [ints("zero", 0)], [1, 8, 4, 4])
    report = analyze(read_onnx(path))
    assert [(r.path, r.kind, len(r.inputs)) for r in report.rows][-1] == ("merge", "add", 3)
    assert report.rows[-1].output.as_list() == [4, 4, 8]


def test_sum_of_tensors(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Relu", ["x"], ["a"]), node("Sum", ["a", "x"], ["s"]),
                           node("Sum", ["s"], ["y"])], [], [1, 8, 4, 4])
    assert [k for _, k, _ in kinds(path)] == ["relu", "add"]


def test_expand_of_a_map_over_height_and_width(tmp_path: Path) -> None:
    # A 1x1 map broadcast to the image (a view in torch: no cost) and an Expand that keeps
    # the dims (nothing).
    path = save(tmp_path, [
        node("GlobalAveragePool", ["x"], ["g"]), node("Expand", ["g", "to"], ["e"]),
        node("Expand", ["e", "same"], ["f"]), node("Add", ["f", "x"], ["y"])],
        [ints("to", 1, 8, 4, 6), ints("same", 1, 1)], [1, 8, 4, 6])
    assert [(k, o) for _, k, o in kinds(path)] == [("global_avgpool", [1, 1, 8]),
                                                   ("upsample", [4, 6, 8]), ("add", [4, 6, 8])]


def test_expand_that_is_no_broadcast_is_an_error(tmp_path: Path) -> None:
    path = save(tmp_path, [node("Expand", ["x", "to"], ["y"])], [ints("to", 1, 8, 3, 6)],
                [1, 8, 4, 6])
    with pytest.raises(ConvcalcError, match=r"\(Expand\): Expand of dims \[1, 8, 4, 6\] to "
                       r"\[1, 8, 3, 6\] is not a broadcast"):
        read_onnx(path)


@pytest.mark.parametrize("mode", ["CRD", "DCR"])
def test_depth_to_space_and_back(tmp_path: Path, mode: str) -> None:
    # 16 channels at 4x6 -> 4 channels at 8x12 (factor 2) -> back to 16 at 4x6.
    path = save(tmp_path, [
        node("DepthToSpace", ["x"], ["d"], blocksize=2, mode=mode),
        node("SpaceToDepth", ["d"], ["y"], blocksize=2)], [], [1, 16, 4, 6])
    assert kinds(path) == [("d", "pixel_shuffle", [8, 12, 4]),
                           ("y", "space_to_depth", [4, 6, 16])]


@pytest.mark.parametrize("op", ["Erf", "InstanceNormalization", "ReduceSum"])
def test_a_pattern_start_without_inputs_is_a_located_error(tmp_path: Path, op: str) -> None:
    # The ops the fusions start from (GELU, GroupNorm, the stacked sum), read before the
    # arity check: without inputs (found by the arity fuzz) or outputs, still one line.
    for inputs, outputs, message in (([], ["o"], "has 0 inputs"), (["x"] * 3, [], "")):
        path = save(tmp_path, [helper.make_node(op, inputs, outputs, name="n"),
                               node("Relu", ["o" if outputs else "x"], ["y"])], [],
                    [1, 8, 4, 4])
        with pytest.raises(ConvcalcError, match=rf"layer 'n' \({op}\): {message}"):
            read_onnx(path)
