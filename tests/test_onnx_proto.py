"""The protobuf decoder (convcalc.formats.onnx_proto) against the onnx package's own parser: every
stored export decodes to the same nodes, attributes, initializers and shapes; tensors of every
type and field decode to numpy_helper's values; damaged bytes are one of three errors."""

import contextlib
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.errors import ConvcalcError
from convcalc.formats.onnx_proto import (
    MAX_CONSTANT_BYTES,
    Malformed,
    NotText,
    TensorProto,
    read_model,
    read_model_bytes,
    read_tensor,
)

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from onnx import helper, numpy_helper  # noqa: E402

FIXTURES = sorted(p.name for p in (DATA / "onnx").glob("*.onnx"))


def _dims(value_info: Any) -> tuple[int | str, ...] | None:
    if not value_info.type.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                 for d in value_info.type.tensor_type.shape.dim)


def _attribute(a: Any) -> Any:
    if a.type == onnx.AttributeProto.TENSOR:
        return ("tensor", tuple(a.t.dims), a.t.data_type)
    value = helper.get_attribute_value(a)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else v for v in value]
    return value


def _decoded_attribute(value: Any) -> Any:
    if isinstance(value, TensorProto):
        return ("tensor", value.dims, value.data_type)
    return value


@pytest.mark.parametrize("name", FIXTURES)
def test_stored_exports_decode_as_onnx_parses_them(name: str) -> None:
    path = DATA / "onnx" / name
    expected = onnx.load(str(path), load_external_data=False)
    model = read_model(path, name)
    assert model.graph is not None
    graph, g = model.graph, expected.graph
    assert (model.producer_name, model.producer_version) == (expected.producer_name,
                                                             expected.producer_version)
    assert model.opsets == {o.domain: o.version for o in expected.opset_import}
    assert [(n.name, n.op_type, n.domain, n.inputs, n.outputs) for n in graph.nodes] == [
        (n.name, n.op_type, n.domain, tuple(n.input), tuple(n.output)) for n in g.node]
    assert [{k: _decoded_attribute(v) for k, v in n.attributes.items()} for n in graph.nodes] \
        == [{a.name: _attribute(a) for a in n.attribute} for n in g.node]
    assert [(t.name, t.dims, t.data_type) for t in graph.initializers] == [
        (t.name, tuple(t.dims), t.data_type) for t in g.initializer]
    for ours, theirs in zip(graph.initializers, g.initializer, strict=True):
        if ours.values is not None:  # the small ones: exactly numpy_helper's values
            assert ours.values == tuple(numpy_helper.to_array(theirs).reshape(-1).tolist())
        else:
            assert theirs.ByteSize() > MAX_CONSTANT_BYTES or not any(
                (theirs.raw_data, theirs.float_data, theirs.int64_data, theirs.int32_data))
    for ours_list, theirs_list in ((graph.inputs, g.input), (graph.outputs, g.output),
                                   (graph.value_info, g.value_info)):
        assert [(v.name, v.dims) for v in ours_list] == [(v.name, _dims(v)) for v in theirs_list]


TYPES = [("float32", 1), ("uint8", 2), ("int8", 3), ("uint16", 4), ("int16", 5), ("int32", 6),
         ("int64", 7), ("bool", 9), ("float16", 10), ("float64", 11), ("uint32", 12),
         ("uint64", 13)]


@pytest.mark.parametrize(("dtype", "code"), TYPES, ids=[t for t, _ in TYPES])
@pytest.mark.parametrize("raw", [True, False], ids=["raw_data", "typed_field"])
def test_tensors_of_every_type_decode_to_their_values(dtype: str, code: int, raw: bool) -> None:
    values = np.array([[0, 1, 3], [7, 100, 5]]).astype(dtype)
    if dtype in ("int8", "int16", "int32", "int64", "float32", "float16", "float64"):
        values[0, 0] = -2
    if raw:
        tensor = numpy_helper.from_array(values, "t")
    else:
        field = {"float32": "float_data", "float64": "double_data", "int64": "int64_data",
                 "uint32": "uint64_data", "uint64": "uint64_data"}.get(dtype, "int32_data")
        flat = (values.view(np.uint16) if dtype == "float16" else values).reshape(-1).tolist()
        tensor = onnx.TensorProto(name="t", data_type=code, dims=values.shape)
        getattr(tensor, field).extend(int(v) if dtype == "bool" else v for v in flat)
    assert (tensor.HasField("raw_data")) == raw
    data = tensor.SerializeToString()
    decoded = read_tensor(data, 0, len(data))
    assert (decoded.name, decoded.dims, decoded.data_type) == ("t", (2, 3), code)
    assert decoded.values == tuple(numpy_helper.to_array(tensor).reshape(-1).tolist())


def test_bfloat16_and_external_and_large_tensors() -> None:
    tensor = helper.make_tensor("b", onnx.TensorProto.BFLOAT16, [2], [1.5, -3.0])
    data = tensor.SerializeToString()
    assert read_tensor(data, 0, len(data)).values == (1.5, -3.0)
    big = numpy_helper.from_array(np.ones(MAX_CONSTANT_BYTES, np.float32), "w")
    data = big.SerializeToString()
    assert read_tensor(data, 0, len(data)) == TensorProto("w", (MAX_CONSTANT_BYTES,), 1, None)
    external = onnx.TensorProto(name="e", data_type=onnx.TensorProto.FLOAT, dims=[3])
    external.data_location = onnx.TensorProto.EXTERNAL
    external.external_data.add(key="location", value="w.bin")
    data = external.SerializeToString()
    assert read_tensor(data, 0, len(data)) == TensorProto("e", (3,), 1, None, external=True)


def test_subgraphs_and_lists_in_attributes(tmp_path: Path) -> None:
    then = helper.make_graph([helper.make_node("Identity", ["a"], ["b"], name="inner")], "t",
                             [], [helper.make_tensor_value_info("b", 1, [1])])
    node = helper.make_node("If", ["c"], ["y"], name="if", then_branch=then, else_branch=then,
                            floats=[0.5, 2.0], strings=["x", "yz"], names="n")
    node.attribute.append(helper.make_attribute("empty_ints", [],
                                                attr_type=onnx.AttributeProto.INTS))
    model = helper.make_model(helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("c", 9, [])],
        [helper.make_tensor_value_info("y", 1, ["N", 3])]))
    path = tmp_path / "if.onnx"
    path.write_bytes(model.SerializeToString())
    graph = read_model(path, "if.onnx").graph
    assert graph is not None
    attrs = graph.nodes[0].attributes
    assert attrs["then_branch"].nodes[0].name == "inner"
    assert (attrs["floats"], attrs["strings"], attrs["names"], attrs["empty_ints"]) == (
        [0.5, 2.0], ["x", "yz"], "n", [])
    assert graph.outputs[0].dims == ("N", 3)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field, encoded by hand."""
    out = bytearray()
    for number_or_length in (number << 3 | 2, len(payload)):
        value = number_or_length
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out) + payload


def test_subgraphs_nested_past_the_limit_are_refused() -> None:
    # GraphProto.node (1) -> NodeProto.attribute (5) -> AttributeProto.g (6), 200 deep (the
    # onnx package's own parser refuses this too): an error, not Python's recursion limit.
    graph = b""
    for _ in range(200):
        graph = _field(1, _field(5, _field(6, graph)))
    with pytest.raises(Malformed):
        read_model_bytes(_field(7, graph))


def test_text_that_is_not_utf8_and_empty_and_truncated(tmp_path: Path) -> None:
    model = helper.make_model(helper.make_graph([], "g", [], []), producer_name="pytorch")
    data = bytearray(model.SerializeToString())
    data[data.index(b"pytorch")] = 0xF0
    with pytest.raises(NotText):
        read_model_bytes(bytes(data))
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(ConvcalcError, match=r"empty\.onnx: is empty"):
        read_model(path, "empty.onnx")
    whole = (DATA / "onnx" / FIXTURES[0]).read_bytes()
    path.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(ConvcalcError, match=r"^empty\.onnx: is not a valid ONNX file \(the "
                       r"protobuf is truncated or corrupted\); export it again$"):
        read_model(path, "empty.onnx")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_refused(data: bytes) -> None:
    with contextlib.suppress(Malformed, NotText, ConvcalcError):
        read_model_bytes(data)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(["alexnet.torchscript.onnx", "resnet18.dynamo.onnx"]),
       where=st.integers(0, 10**6), flip=st.integers(0, 7))
def test_a_flipped_bit_decodes_or_is_refused(name: str, where: int, flip: int) -> None:
    data = bytearray((DATA / "onnx" / name).read_bytes())
    data[where % len(data)] ^= 1 << flip
    with contextlib.suppress(Malformed, NotText, ConvcalcError):
        read_model_bytes(bytes(data))
