"""The constant evaluator (convcalc.formats.onnx_eval) against onnx's reference evaluator, op by op,
and its refusals: division by zero, square roots of negative numbers, overflow, indices out of
range and the element budget are one ConvcalcError each."""

import itertools
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc import limits
from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_eval import Const, Evaluator, output_dims

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from onnx import helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

I64, F32 = np.int64, np.float32


def a(values: Any, dtype: Any = I64) -> Any:
    return np.array(values, dtype=dtype)


# (op, inputs, attributes): each is run by onnx's reference evaluator and by convcalc's.
CASES: list[tuple[str, list[Any], dict[str, Any]]] = [
    ("Gather", [a([1, 3, 224, 224]), a([2, 3])], {}),
    ("Gather", [a([[1, 2], [3, 4], [5, 6]]), a([[0, -1]])], {"axis": 0}),
    ("Gather", [a([[1, 2, 3], [4, 5, 6]]), a(1)], {"axis": 1}),
    ("Slice", [a([1, 2, 3, 4, 5]), a([1]), a([-1])], {}),
    ("Slice", [a([[1, 2, 3], [4, 5, 6]]), a([2, 0]), a([-10, 9 * 10**18]), a([1, 0]),
               a([-1, 2])], {}),
    ("Slice", [a(np.arange(24).reshape(2, 3, 4)), a([0, 1]), a([2, 3]), a([0, -1])], {}),
    ("Concat", [a([1, 3]), a([5]), a([7, 8])], {"axis": 0}),
    ("Concat", [a([[1, 2]]), a([[3, 4], [5, 6]])], {"axis": 0}),
    ("Concat", [a([[1], [2]]), a([[3, 4], [5, 6]])], {"axis": -1}),
    ("Unsqueeze", [a([4, 5]), a([0, -1])], {}),
    ("Squeeze", [a([[[4], [5]]]), a([0, -1])], {}),
    ("Squeeze", [a([[[4], [5]]])], {}),
    ("Cast", [a([1.7, -1.7, 2.0], F32)], {"to": onnx.TensorProto.INT64}),
    ("Cast", [a([3, 0, -2])], {"to": onnx.TensorProto.FLOAT}),
    ("Cast", [a([3, 0, -2])], {"to": onnx.TensorProto.BOOL}),
    ("Clip", [a([-3.0, 0.5, 9.0], F32), a(0.0, F32), a(6.0, F32)], {}),
    ("Clip", [a([-3, 5, 900]), a(-1)], {}),
    ("Identity", [a([[1, 2]])], {}),
    ("Add", [a([[1], [2]]), a([10, 20, 30])], {}),
    ("Sub", [a([1.5, 2.25], F32), a(0.5, F32)], {}),
    ("Mul", [a([224, 224]), a([2])], {}),
    ("Mul", [a([224.0, 223.0], F32), a(0.5, F32)], {}),
    ("Div", [a([7, -7, 7, -7]), a([2, 2, -2, -2])], {}),
    ("Div", [a([1.0, 7.0], F32), a([3.0, 2.0], F32)], {}),
    ("Mod", [a([7, -7, 7, -7]), a([3, 3, -3, -3])], {}),
    ("Mod", [a([7.5, -7.5], F32), a([2.0, 2.0], F32)], {"fmod": 1}),
    ("Mod", [a([7, -7]), a([3, 3])], {"fmod": 1}),
    ("Floor", [a([-1.5, 1.5, 2.0], F32)], {}),
    ("Ceil", [a([-1.5, 1.5, 2.0], F32)], {}),
    ("Sqrt", [a([0.0, 2.0, 9.0], F32)], {}),
    ("Pow", [a([2.0, 3.0], F32), a([0.5, 2.0], F32)], {}),
    ("Pow", [a([2, 3]), a([10, 3])], {}),
    ("Neg", [a([1, -2])], {}),
    ("Abs", [a([1.5, -2.5], F32)], {}),
    ("Min", [a([1, 5, 3]), a([4, 2, 6]), a(2)], {}),
    ("Max", [a([1.0, 5.0], F32), a([[4.0], [2.0]], F32)], {}),
    ("Range", [a(0), a(10), a(3)], {}),
    ("Range", [a(10), a(1), a(-4)], {}),
    ("Range", [a(0.0, F32), a(1.0, F32), a(0.25, F32)], {}),
    ("ConstantOfShape", [a([2, 3])], {}),
    ("ConstantOfShape", [a([3])], {"value": numpy_helper.from_array(a([7]))}),
    ("Expand", [a([[1], [2]]), a([2, 3])], {}),
    ("Expand", [a([1, 2, 3]), a([2, 1, 1])], {}),
    ("Reshape", [a(np.arange(12)), a([3, -1])], {}),
    ("Reshape", [a(np.arange(24).reshape(2, 3, 4)), a([0, 2, -1])], {}),
    ("Reshape", [a(np.arange(8).reshape(1, 8, 1)), a([0, 4, -1])], {}),
    ("Transpose", [a(np.arange(24).reshape(2, 3, 4))], {"perm": [2, 0, 1]}),
    ("Transpose", [a(np.arange(6).reshape(2, 3))], {}),
    ("Equal", [a([1, 2, 3]), a([1, 0, 3])], {}),
    ("Less", [a([1, 2, 3]), a(2)], {}),
    ("Greater", [a([1.0, 2.0], F32), a(1.5, F32)], {}),
    ("Not", [a([True, False], bool)], {}),
    ("Where", [a([[True], [False]], bool), a([1, 2]), a(0)], {}),
    ("ReduceProd", [a([[1, 2, 3], [4, 5, 6]]), a([1])], {}),
    ("ReduceSum", [a([[1, 2, 3], [4, 5, 6]])], {"keepdims": 0}),
    ("ReduceSum", [a([[1, 2, 3], [4, 5, 6]]), a([0])], {"keepdims": 1}),
    ("ReduceMin", [a([[1, 2, 3], [4, 5, 0]]), a([-1])], {"keepdims": 0}),
    ("ReduceMax", [a(np.arange(24).reshape(2, 3, 4)), a([0, 2])], {}),
    ("ReduceMean", [a([[1.0, 2.0], [4.0, 8.0]], F32), a([1])], {}),
    ("Shape", [a(np.zeros((1, 3, 5, 7)))], {}),
    ("Shape", [a(np.zeros((1, 3, 5, 7)))], {"start": -2}),
    ("Shape", [a(np.zeros((1, 3, 5, 7)))], {"start": 1, "end": -1}),
    ("Size", [a(np.zeros((2, 3)))], {}),
    ("Flatten", [a(np.arange(24).reshape(2, 3, 4))], {"axis": 2}),
]


def _const(array: Any) -> Const:
    return Const(tuple(array.shape), tuple(array.reshape(-1).tolist()),
                 helper.np_dtype_to_tensor_dtype(array.dtype))


def _reference(op: str, inputs: list[Any], attrs: dict[str, Any]) -> Any:
    names = [f"i{k}" for k in range(len(inputs))]
    graph = helper.make_graph(
        [helper.make_node(op, names, ["y"], **attrs)], "g",
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
         for n, x in zip(names, inputs, strict=True)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.UNDEFINED, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return np.asarray(ReferenceEvaluator(model).run(None, dict(zip(names, inputs,
                                                                   strict=True)))[0])


@pytest.mark.parametrize(("op", "inputs", "attrs"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_op_computes_what_onnx_reference_computes(op: str, inputs: list[Any],
                                                   attrs: dict[str, Any]) -> None:
    expected = _reference(op, inputs, attrs)
    ours_attrs = {k: (_decoded(v) if isinstance(v, onnx.TensorProto) else v)
                  for k, v in attrs.items()}
    got = Evaluator().run(op, ours_attrs, [_const(x) for x in inputs])
    assert got.dims == expected.shape
    assert got.dtype == helper.np_dtype_to_tensor_dtype(expected.dtype)
    if expected.dtype.kind == "f":
        assert np.allclose(np.array(got.values, dtype=expected.dtype), expected.reshape(-1),
                           rtol=0, atol=0)
    else:
        assert list(got.values) == expected.reshape(-1).tolist()
    # Dims alone (a weight known only by its dims): the same dims.
    dims = output_dims(op, ours_attrs, [x.shape if k == 0 else _const(x)
                                        for k, x in enumerate(inputs)])
    assert dims is None or dims == expected.shape


def _decoded(tensor: Any) -> Any:
    from convcalc.formats.onnx_proto import read_tensor

    data = tensor.SerializeToString()
    return read_tensor(data, 0, len(data))


def test_shape_of_a_network_tensor_and_a_constant_node() -> None:
    assert Evaluator().run("Shape", {}, [(1, 3, 224, 224)]) == Const((4,), (1, 3, 224, 224))
    assert Evaluator().run("Constant", {"value_ints": [2, 3]}, []) == Const((2,), (2, 3))
    assert Evaluator().run("Constant", {"value_float": 0.1}, []).values == (
        float(np.float32(0.1)),)


REFUSED = [
    ("Div", [a([4]), a([0])], {}, "divides by zero"),
    ("Div", [a([4.0], F32), a([0.0], F32)], {}, "divides by zero"),
    ("Mod", [a([4]), a([0])], {}, r"divides by zero \(Mod by 0\)"),
    ("Sqrt", [a([-4.0], F32)], {}, "square root of the negative number -4.0"),
    ("Pow", [a([3]), a([100])], {}, "3 to the power 100 overflows"),
    ("Pow", [a([3]), a([-1])], {}, "negative power"),
    ("Mul", [a([2**62]), a([4])], {}, "overflows its 64-bit integers"),
    ("Gather", [a([1, 2]), a([2])], {}, "Gather index 2 is out of range for 2 entries"),
    ("Range", [a(0), a(5), a(0)], {}, "Range with a delta of 0"),
    ("Slice", [a([1, 2]), a([0]), a([2]), a([0]), a([0])], {}, "step of 0"),
    ("Reshape", [a([1, 2, 3]), a([-1, -1])], {}, r"cannot reshape dims \[3\] to \[-1, -1\]"),
    ("Add", [a([1, 2, 3]), a([1, 2])], {}, r"cannot broadcast dims \(3,\) and \(2,\)"),
    ("Cast", [a([float("inf")], F32)], {"to": 7}, "cannot make inf an integer"),
    ("ConstantOfShape", [a([1 << 31])], {}, "makes a constant of 2,147,483,648 values"),
    ("Range", [a(0), a(10**9), a(1)], {}, "makes a constant of 1,000,000,000 values"),
]


@pytest.mark.parametrize(("op", "inputs", "attrs", "message"), REFUSED,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(REFUSED)])
def test_refusals_are_one_error(op: str, inputs: list[Any], attrs: dict[str, Any],
                                message: str) -> None:
    with pytest.raises(ConvcalcError, match=message):
        Evaluator().run(op, attrs, [_const(x) for x in inputs])


def test_the_budget_of_one_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_FOLDED_ELEMENTS", 10)
    evaluator = Evaluator()
    evaluator.run("Range", {}, [_const(a(0)), _const(a(6)), _const(a(1))])
    with pytest.raises(ConvcalcError, match="constants add up to more than 10 values"):
        evaluator.run("Range", {}, [_const(a(0)), _const(a(6)), _const(a(1))])


@st.composite
def _arrays(draw: st.DrawFn) -> tuple[Any, Any]:
    """Two int64 arrays of up to 3 axes whose dims broadcast (each dim of b is a's or 1)."""
    dims = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    other = [draw(st.sampled_from([d, 1])) for d in dims][draw(st.integers(0, len(dims) - 1)):]
    values = st.integers(-50, 50)
    a_ = np.array(draw(st.lists(values, min_size=math.prod(dims), max_size=math.prod(dims))),
                  dtype=I64).reshape(dims)
    b_ = np.array(draw(st.lists(values, min_size=math.prod(other), max_size=math.prod(other))),
                  dtype=I64).reshape(other)
    return a_, b_


@settings(max_examples=60, deadline=None)
@given(arrays=_arrays(), op=st.sampled_from(["Add", "Sub", "Mul", "Min", "Max", "Equal",
                                             "Less", "Greater"]),
       perm_seed=st.integers(0, 5))
def test_broadcast_arithmetic_and_transpose_match_onnx(arrays: tuple[Any, Any], op: str,
                                                       perm_seed: int) -> None:
    x, y = arrays
    got = Evaluator().run(op, {}, [_const(x), _const(y)])
    expected = _reference(op, [x, y], {})
    assert (got.dims, list(got.values)) == (expected.shape, expected.reshape(-1).tolist())
    perm = list(itertools.permutations(range(x.ndim)))[perm_seed % math.factorial(x.ndim)]
    got = Evaluator().run("Transpose", {"perm": list(perm)}, [_const(x)])
    assert list(got.values) == np.transpose(x, perm).reshape(-1).tolist()
