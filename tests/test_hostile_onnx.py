"""Hostile input, round 3 (issue 24), ONNX: nodes with too few or too many inputs for their op
(an IndexError in 29 handlers), no output, a zero count (Split num_outputs=0), unknown types
(Cast to=999), constants that divide by zero or take sqrt(-4), and sizes past the limits (3
million nodes, 500,000 dims, a name of 4 million scopes). Each is one located line, exit 2."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_commands_fuzz import assert_ran_or_refused, assert_refused, invoke

from convcalc.formats import onnx_arity, onnx_eval, onnx_ops
from convcalc.limits import MAX_LAYERS, MAX_NAME_CHARS, MAX_RANK

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

SUPPORTED = sorted(set(onnx_ops.HANDLERS) | set(onnx_eval.OPS))


def save(path: Path, nodes: list, inits: tuple = (), opset: int = 18, **graph: object) -> Path:
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          list(inits))
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    path.write_bytes(model.SerializeToString())
    return path


def test_every_supported_op_has_an_arity() -> None:
    assert [op for op in SUPPORTED if op not in onnx_arity.ARITY] == []


ONE_LINE = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@ONE_LINE
@given(op=st.sampled_from(SUPPORTED), inputs=st.integers(0, 7), named=st.booleans(),
       outputs=st.integers(0, 2))
def test_any_number_of_inputs_and_outputs(op: str, inputs: int, named: bool, outputs: int,
                                          tmp_path: Path) -> None:
    # the node reads x (or nothing, ''), and feeds y through a Relu when it makes an output
    names = [("x" if named else "") for _ in range(inputs)]
    made = [f"o{i}" for i in range(outputs)]
    nodes = [helper.make_node(op, names, made, name="n")]
    nodes.append(helper.make_node("Relu", [made[0] if made else "x"], ["y"]))
    result = invoke("analyze", str(save(tmp_path / "m.onnx", nodes)), "--format", "json")
    assert_ran_or_refused(result)
    fewest, most = onnx_arity.ARITY[op]
    if inputs < fewest or (most is not None and inputs > most) or (fewest and not named):
        assert_refused(result, f"layer 'n' ({op}): has {inputs} input")


@pytest.mark.parametrize(("scales", "message"), [
    ([1.0, 1.0, 2.0, 2.0], None),  # 8x8 -> 16x16
    (None, "Resize scales [] must scale height and width only"),
])
def test_an_upsample_of_one_input_reads_its_scales_attribute(scales: list[float] | None,
                                                              message: str | None,
                                                              tmp_path: Path) -> None:
    # Opset 7's Upsample has one input and a 'scales' attribute (found by the fuzz above).
    extra = {} if scales is None else {"scales": scales}
    nodes = [helper.make_node("Upsample", ["x"], ["u"], name="n", **extra),
             helper.make_node("Relu", ["u"], ["y"])]
    result = invoke("analyze", str(save(tmp_path / "m.onnx", nodes, opset=7)), "--format", "json")
    if message is None:
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["layers"][0]["output"] == [16, 16, 3]
    else:
        assert_refused(result, message)


@pytest.mark.parametrize(("op", "given", "takes"), [
    ("Conv", 1, "Conv takes 2 to 3"), ("Add", 1, "Add takes 2"), ("Gemm", 4, "Gemm takes 2 to 3"),
    ("BatchNormalization", 3, "BatchNormalization takes 5"), ("Shape", 0, "Shape takes 1"),
    ("Concat", 0, "Concat takes 1 or more")])
def test_the_arity_error_names_the_node_and_what_the_op_takes(op: str, given: int, takes: str,
                                                              tmp_path: Path) -> None:
    nodes = [helper.make_node(op, ["x"] * given, ["o"], name="/stage/n"),
             helper.make_node("Relu", ["x"], ["y"])]
    path = save(tmp_path / "m.onnx", nodes)
    assert_refused(invoke("analyze", str(path)),
                   f"{path}: layer '/stage/n' ({op}): has {given} input")
    assert takes in invoke("analyze", str(path)).stderr


@pytest.mark.parametrize("outputs", [["y"], []], ids=["one-output", "none"])
def test_split_into_zero_outputs(outputs: list[str], tmp_path: Path) -> None:
    nodes = [helper.make_node("Split", ["x"], outputs or ["s"], name="s", axis=1,
                              num_outputs=0)]
    if not outputs:
        nodes.append(helper.make_node("Relu", ["s"], ["y"]))
    assert_refused(invoke("analyze", str(save(tmp_path / "m.onnx", nodes))),
                   "layer 's' (Split): num_outputs=0 must be a whole number of at least 1")


def test_cast_to_an_unknown_type(tmp_path: Path) -> None:
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Cast", ["s"], ["c"], to=999, name="c"),
             helper.make_node("Reshape", ["x", "c"], ["y"])]
    assert_refused(invoke("analyze", str(save(tmp_path / "m.onnx", nodes))), "(Cast)")


@pytest.mark.parametrize(("ops", "message"), [
    ("div0", "divides by zero"), ("sqrt", "(Sqrt)")])
def test_constants_that_divide_by_zero_or_take_a_negative_root(ops: str, message: str,
                                                               tmp_path: Path) -> None:
    zero = numpy_helper.from_array(np.array([0], np.int64), "z")
    minus4 = numpy_helper.from_array(np.array([-4.0], np.float32), "m")
    if ops == "div0":
        nodes = [helper.make_node("Shape", ["x"], ["s"]),
                 helper.make_node("Div", ["s", "z"], ["d"]),
                 helper.make_node("Reshape", ["x", "d"], ["y"])]
    else:
        nodes = [helper.make_node("Sqrt", ["m"], ["q"]),
                 helper.make_node("Cast", ["q"], ["i"], to=TensorProto.INT64),
                 helper.make_node("Reshape", ["x", "i"], ["y"])]
    result = invoke("analyze", str(save(tmp_path / "m.onnx", nodes, (zero, minus4))))
    assert_refused(result, message)
    assert "Warning" not in result.stderr


def test_more_nodes_than_the_limit_are_refused_while_decoding(tmp_path: Path) -> None:
    n = 3 * MAX_LAYERS  # 150,000 here; 3 million in the attack, refused at the same node
    nodes = [helper.make_node("Relu", ["x" if i == 0 else f"{i - 1}"],
                              [f"{i}" if i < n - 1 else "y"]) for i in range(n)]
    path = save(tmp_path / "m.onnx", nodes)
    assert_refused(invoke("analyze", str(path)),
                   f"{path}: has more than {MAX_LAYERS:,} nodes in one graph")


def test_a_tensor_of_500000_dims(tmp_path: Path) -> None:
    dims = TensorProto(name="d", data_type=TensorProto.INT64, dims=[1] * 500_000)
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    path = save(tmp_path / "m.onnx", nodes, (dims,))
    assert_refused(invoke("analyze", str(path)), f"has a tensor of more than {MAX_RANK} dims")


@pytest.mark.parametrize("scopes", [4_000_000, MAX_NAME_CHARS // 2 + 1])
def test_a_node_name_of_millions_of_scopes(scopes: int, tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="/a" * scopes)]
    path = save(tmp_path / "m.onnx", nodes)
    assert_refused(invoke("analyze", str(path)), f"names are limited to {MAX_NAME_CHARS:,}")


def test_a_long_name_within_the_limit_is_read(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="/a" * (MAX_NAME_CHARS // 2))]
    result = invoke("analyze", str(save(tmp_path / "m.onnx", nodes)), "--format", "json")
    assert result.exit_code == 0, result.output
