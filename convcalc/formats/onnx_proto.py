"""An ONNX file -> the messages convcalc reads, decoded from the protobuf wire format without the
onnx package: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto and ValueInfoProto.

The whole spec is Protocol Buffers' encoding (varints, tags, length-delimited fields) and the
field numbers of onnx.proto, written out below. The file is walked with small positioned reads:
a tensor's data field larger than MAX_CONSTANT_BYTES (a weight) is skipped without being read,
so memory stays flat in the file's size, and only its dims and type are kept. (Not a memory
map: the kernel maps the pages around every touched byte, and those count as resident.) A model
saved with external data is read the same way; its data file is never opened.

Every damaged file is one located error: bytes that are not a protobuf message, a field of the
wrong wire type, text that is not UTF-8, nesting deeper than MAX_NESTING.
"""

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcalc import limits
from convcalc.errors import ConvcalcError
from convcalc.inputs import open_input

# Values above this many bytes are weights, never needed: only small constants (shapes, axes,
# scales) are read.
MAX_CONSTANT_BYTES = 4096

# Wire types.
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5

# Field numbers from onnx.proto.
MODEL_PRODUCER_NAME, MODEL_PRODUCER_VERSION, MODEL_GRAPH, MODEL_OPSET_IMPORT = 2, 3, 7, 8
OPSET_DOMAIN, OPSET_VERSION = 1, 2
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO = 1, 5, 11, 12, 13
NODE_INPUT, NODE_OUTPUT, NODE_NAME, NODE_OP_TYPE, NODE_ATTRIBUTE, NODE_DOMAIN = 1, 2, 3, 4, 5, 7
NODE_METADATA_PROPS, ENTRY_KEY, ENTRY_VALUE = 9, 1, 2
# The node metadata convcalc reads (others, such as stack traces, are skipped undecoded): the
# dynamo exporter's module scopes of a node, "['', 'layer1', 'layer1.0', 'layer1.0.conv1',
# 'conv2d']", and their classes, "[..., 'torch.nn.modules.conv.Conv2d', 'aten.conv2d.default']".
NAME_SCOPES = "pkg.torch.onnx.name_scopes"
CLASS_HIERARCHY = "pkg.torch.onnx.class_hierarchy"
(ATTR_NAME, ATTR_F, ATTR_I, ATTR_S, ATTR_T, ATTR_G, ATTR_FLOATS, ATTR_INTS, ATTR_STRINGS,
 ATTR_TENSORS, ATTR_GRAPHS, ATTR_TYPE) = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 20
(TENSOR_DIMS, TENSOR_DATA_TYPE, TENSOR_FLOAT_DATA, TENSOR_INT32_DATA, TENSOR_STRING_DATA,
 TENSOR_INT64_DATA, TENSOR_NAME, TENSOR_RAW_DATA, TENSOR_DOUBLE_DATA, TENSOR_UINT64_DATA,
 TENSOR_DATA_LOCATION) = 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 14
TENSOR_DATA = frozenset((TENSOR_FLOAT_DATA, TENSOR_INT32_DATA, TENSOR_STRING_DATA,
                         TENSOR_INT64_DATA, TENSOR_RAW_DATA, TENSOR_DOUBLE_DATA,
                         TENSOR_UINT64_DATA))
VALUE_INFO_NAME, VALUE_INFO_TYPE = 1, 2
TYPE_TENSOR_TYPE, TENSOR_TYPE_ELEM_TYPE, TENSOR_TYPE_SHAPE = 1, 1, 2
SHAPE_DIM, DIM_VALUE, DIM_PARAM = 1, 1, 2
# AttributeProto.AttributeType values for lists: an empty list is known only by its type.
ATTRIBUTE_LISTS = {6: (), 7: (), 8: (), 9: (), 10: ()}
EXTERNAL = 1  # TensorProto.DataLocation

# TensorProto.DataType -> the struct code of one value in raw_data (little-endian), for the
# types a constant can have. FLOAT16 and BFLOAT16 are read as 16-bit patterns (below).
FLOAT, UINT8, INT8, UINT16, INT16, INT32, INT64, STRING, BOOL = 1, 2, 3, 4, 5, 6, 7, 8, 9
FLOAT16, DOUBLE, UINT32, UINT64, BFLOAT16 = 10, 11, 12, 13, 16
RAW_CODES = {FLOAT: "f", UINT8: "B", INT8: "b", UINT16: "H", INT16: "h", INT32: "i",
             INT64: "q", BOOL: "?", FLOAT16: "e", DOUBLE: "d", UINT32: "I", UINT64: "Q",
             BFLOAT16: "H"}
FLOAT_TYPES = frozenset((FLOAT, FLOAT16, DOUBLE, BFLOAT16))
# (bits, signed) of each integer type.
INT_TYPES = {INT8: (8, True), INT16: (16, True), INT32: (32, True), INT64: (64, True),
             UINT8: (8, False), UINT16: (16, False), UINT32: (32, False), UINT64: (64, False)}
# The types int32_data holds (16-bit floats as their bit patterns).
INT32_DATA_TYPES = frozenset((INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16, BFLOAT16))


@dataclass(frozen=True, slots=True)
class TensorProto:
    """A tensor's name, dims and ONNX data type, and its values (flat, row-major) when the
    message holds them in at most MAX_CONSTANT_BYTES; ``values`` is None for a weight whose
    values were left out, in external data, or of a type convcalc does not compute with."""

    name: str
    dims: tuple[int, ...]
    data_type: int
    values: tuple[Any, ...] | None
    external: bool = False


@dataclass(frozen=True, slots=True)
class ValueInfoProto:
    """A graph input, output or intermediate: its name and its dims (an int, a symbolic name,
    or '?' for each), None when the file records no shape."""

    name: str
    dims: tuple[int | str, ...] | None


@dataclass(frozen=True, slots=True)
class NodeProto:
    """One node: names, op type, its attributes as Python values (int, float, str, lists of
    them, a TensorProto or a GraphProto) and the metadata convcalc reads (NAME_SCOPES,
    CLASS_HIERARCHY)."""

    name: str
    op_type: str
    domain: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, Any]
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class GraphProto:
    """A graph's nodes, initializers, inputs, outputs and recorded intermediate shapes."""

    nodes: tuple[NodeProto, ...]
    initializers: tuple[TensorProto, ...]
    inputs: tuple[ValueInfoProto, ...]
    outputs: tuple[ValueInfoProto, ...]
    value_info: tuple[ValueInfoProto, ...]


@dataclass(frozen=True, slots=True)
class ModelProto:
    """A model: who made it, the opset of each domain, and its graph (None if it has none)."""

    producer_name: str
    producer_version: str
    opsets: dict[str, int]
    graph: GraphProto | None


class Malformed(Exception):
    """The bytes are not the message they should be."""


class NotText(Exception):
    """A string field is not UTF-8."""


class TooBig(Exception):
    """The model without its weights is above MAX_ONNX_GRAPH_BYTES."""


class FileBytes:
    """The bytes of an open file, read on demand: ``buf[i]`` and ``buf[a:b]`` as on bytes;
    the slices read in all may not pass MAX_ONNX_GRAPH_BYTES."""

    CHUNK = 16384

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = os.fstat(fd).st_size
        self.start, self.chunk = 0, b""
        self.copied = 0

    def __len__(self) -> int:
        return self.size

    def _cover(self, start: int, stop: int) -> bool:
        """Whether the chunk holds [start, stop), reading the chunk at ``start`` if that
        makes it so."""
        if self.start <= start and stop <= self.start + len(self.chunk):
            return True
        if stop - start <= self.CHUNK:
            self.start, self.chunk = start, os.pread(self.fd, self.CHUNK, start)
            return stop <= start + len(self.chunk)
        return False

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            self.copied += key.stop - key.start
            if self.copied > limits.MAX_ONNX_GRAPH_BYTES:
                raise TooBig
            if self._cover(key.start, key.stop):
                return self.chunk[key.start - self.start:key.stop - self.start]
            data = os.pread(self.fd, key.stop - key.start, key.start)
            if len(data) != key.stop - key.start:
                raise Malformed
            return data
        if not self._cover(key, key + 1):
            raise Malformed
        return self.chunk[key - self.start]


# -- the wire format ---------------------------------------------------------------------------

def _varint(buf: Any, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise Malformed
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise Malformed


def _fields(buf: Any, start: int, end: int) -> Any:
    """(field number, wire type, value, end) of each field of the message in buf[start:end]:
    the value is the number itself for a varint, and where the bytes start for the others."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Malformed
        if wire == VARINT:
            value, pos = _varint(buf, pos, end)
            yield number, wire, value, pos
            continue
        if wire == FIXED64:
            value, pos = pos, pos + 8
        elif wire == LENGTH_DELIMITED:
            length, pos = _varint(buf, pos, end)
            value, pos = pos, pos + length
        elif wire == FIXED32:
            value, pos = pos, pos + 4
        else:
            raise Malformed
        if pos > end:
            raise Malformed
        yield number, wire, value, pos


def _signed(value: int) -> int:
    """A varint as the int64 it encodes (negative numbers are ten bytes, two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _text(buf: Any, start: int, stop: int, wire: int) -> str:
    if wire != LENGTH_DELIMITED:
        raise Malformed
    try:
        text: str = bytes(buf[start:stop]).decode("utf-8")
    except UnicodeDecodeError:
        raise NotText from None
    return text


def _int(wire: int, value: int) -> int:
    if wire != VARINT:
        raise Malformed
    return _signed(value)


def _varints(buf: Any, wire: int, value: int, stop: int) -> list[int]:
    """The int64s of a repeated varint field: packed (length-delimited) or one."""
    if wire == VARINT:
        return [_signed(value)]
    if wire != LENGTH_DELIMITED:
        raise Malformed
    data, out, pos = bytes(buf[value:stop]), [], 0
    while pos < len(data):
        number, pos = _varint(data, pos, len(data))
        out.append(_signed(number))
    return out


def _fixed(buf: Any, wire: int, value: int, stop: int, code: str) -> list[float]:
    """The values of a repeated float ('f') or double ('d') field: packed or one."""
    size = struct.calcsize(code)
    one = FIXED32 if size == 4 else FIXED64
    if wire == one:
        return list(struct.unpack("<" + code, bytes(buf[value:value + size])))
    if wire != LENGTH_DELIMITED or (stop - value) % size:
        raise Malformed
    return list(struct.unpack(f"<{(stop - value) // size}{code}", bytes(buf[value:stop])))


# -- the messages ----------------------------------------------------------------------------------

def read_tensor(buf: Any, start: int, end: int) -> TensorProto:
    """The TensorProto in buf[start:end]; its data fields are read only when small."""
    name, dims, data_type, external = "", [], 0, False
    data: dict[int, list[Any]] = {}
    raw = b""
    size = 0
    for number, wire, value, stop in _fields(buf, start, end):
        if number == TENSOR_DIMS:
            dims += _varints(buf, wire, value, stop)
            if len(dims) > limits.MAX_RANK:
                raise ConvcalcError(f"has a tensor of more than {limits.MAX_RANK} dims")
        elif number == TENSOR_DATA_TYPE:
            data_type = _int(wire, value)
        elif number == TENSOR_NAME:
            name = _text(buf, value, stop, wire)
        elif number == TENSOR_DATA_LOCATION:
            external = _int(wire, value) == EXTERNAL
        elif number in TENSOR_DATA:
            size += stop - value if wire == LENGTH_DELIMITED else 8
            if size > MAX_CONSTANT_BYTES:
                data[0] = []  # left out: a weight
            elif number == TENSOR_RAW_DATA:
                if wire != LENGTH_DELIMITED:
                    raise Malformed
                raw = bytes(buf[value:stop])
            elif number == TENSOR_FLOAT_DATA:
                data.setdefault(number, []).extend(_fixed(buf, wire, value, stop, "f"))
            elif number == TENSOR_DOUBLE_DATA:
                data.setdefault(number, []).extend(_fixed(buf, wire, value, stop, "d"))
            elif number != TENSOR_STRING_DATA:
                data.setdefault(number, []).extend(_varints(buf, wire, value, stop))
    if external or 0 in data:
        values = None
    elif raw or data:
        values = _values(data_type, raw, data)
    else:  # no data field: a weight stripped from the file, or an empty tensor
        values = () if 0 in dims else None
    return TensorProto(name, tuple(dims), data_type, values, external)


def _values(data_type: int, raw: bytes, data: dict[int, list[Any]]) -> tuple[Any, ...] | None:
    """A tensor's values from raw_data or its typed field; None for types convcalc does not
    compute with (strings, complex numbers, 8-bit and 4-bit floats)."""
    code = RAW_CODES.get(data_type)
    if code is None:
        return None
    if raw:
        size = struct.calcsize(code)
        if len(raw) % size:
            raise ConvcalcError(f"a tensor's raw data has {len(raw)} bytes, not a whole number "
                                f"of {size}-byte values")
        values = list(struct.unpack(f"<{len(raw) // size}{code}", raw))
        if data_type == BFLOAT16:
            values = list(struct.unpack(f"<{len(values)}f", struct.pack(
                f"<{len(values)}I", *(v << 16 for v in values))))
        return tuple(values)
    if data_type in (FLOAT16, BFLOAT16):  # bit patterns in int32_data
        bits = [v & 0xFFFF for v in data.get(TENSOR_INT32_DATA, [])]
        return _values(data_type, struct.pack(f"<{len(bits)}H", *bits), {}) if bits else ()
    field = {FLOAT: TENSOR_FLOAT_DATA, DOUBLE: TENSOR_DOUBLE_DATA, INT64: TENSOR_INT64_DATA,
             UINT32: TENSOR_UINT64_DATA, UINT64: TENSOR_UINT64_DATA}.get(
                 data_type, TENSOR_INT32_DATA)
    values = data.get(field, [])
    if data_type == UINT64:
        values = [v & 0xFFFF_FFFF_FFFF_FFFF for v in values]
    elif data_type == BOOL:
        values = [bool(v) for v in values]
    return tuple(values)


def _value_info(buf: bytes, start: int, end: int) -> ValueInfoProto:
    name, dims = "", None
    for number, wire, value, stop in _fields(buf, start, end):
        if number == VALUE_INFO_NAME:
            name = _text(buf, value, stop, wire)
        elif number == VALUE_INFO_TYPE and wire == LENGTH_DELIMITED:
            for n, w, v, s in _fields(buf, value, stop):
                if n == TYPE_TENSOR_TYPE and w == LENGTH_DELIMITED:
                    dims = _tensor_type_dims(buf, v, s)
    return ValueInfoProto(name, dims)


def _tensor_type_dims(buf: bytes, start: int, end: int) -> tuple[int | str, ...] | None:
    dims: tuple[int | str, ...] | None = None
    for number, wire, value, stop in _fields(buf, start, end):
        if number == TENSOR_TYPE_SHAPE and wire == LENGTH_DELIMITED:
            dims = ()
            for n, w, v, s in _fields(buf, value, stop):
                if n == SHAPE_DIM and w == LENGTH_DELIMITED:
                    dim: int | str = "?"
                    for dn, dw, dv, ds in _fields(buf, v, s):
                        if dn == DIM_VALUE:
                            dim = _int(dw, dv)
                        elif dn == DIM_PARAM:
                            dim = _text(buf, dv, ds, dw) or "?"
                    dims += (dim,)
                    if len(dims) > limits.MAX_RANK:
                        raise ConvcalcError(f"has a tensor of more than {limits.MAX_RANK} dims")
    return dims


def _attribute(buf: bytes, start: int, end: int, depth: int) -> tuple[str, Any]:
    name, kind, found = "", 0, None
    lists: dict[int, list[Any]] = {}
    for number, wire, value, stop in _fields(buf, start, end):
        if number == ATTR_NAME:
            name = _text(buf, value, stop, wire)
        elif number == ATTR_TYPE:
            kind = _int(wire, value)
        elif number == ATTR_F:
            if wire != FIXED32:
                raise Malformed
            found = struct.unpack("<f", buf[value:value + 4])[0]
        elif number == ATTR_I:
            found = _int(wire, value)
        elif number == ATTR_S:
            found = _text(buf, value, stop, wire)
        elif number in (ATTR_T, ATTR_G, ATTR_TENSORS, ATTR_GRAPHS):
            if wire != LENGTH_DELIMITED:
                raise Malformed
            message = (read_tensor(buf, value, stop) if number in (ATTR_T, ATTR_TENSORS)
                       else _graph(buf, value, stop, depth + 1))
            if number in (ATTR_T, ATTR_G):
                found = message
            else:
                lists.setdefault(number, []).append(message)
        elif number == ATTR_FLOATS:
            lists.setdefault(number, []).extend(_fixed(buf, wire, value, stop, "f"))
        elif number == ATTR_INTS:
            lists.setdefault(number, []).extend(_varints(buf, wire, value, stop))
        elif number == ATTR_STRINGS:
            lists.setdefault(number, []).append(_text(buf, value, stop, wire))
    if found is None:
        found = next(iter(lists.values())) if lists else (
            [] if kind in ATTRIBUTE_LISTS else None)
    return name, found


def _node(buf: bytes, start: int, end: int, depth: int) -> NodeProto:
    name = op_type = domain = ""
    inputs: list[str] = []
    outputs: list[str] = []
    attributes: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    for number, wire, value, stop in _fields(buf, start, end):
        if number == NODE_INPUT:
            inputs.append(_text(buf, value, stop, wire))
        elif number == NODE_OUTPUT:
            outputs.append(_text(buf, value, stop, wire))
        elif number == NODE_NAME:
            if stop - value > limits.MAX_NAME_CHARS * 4:  # UTF-8: at most 4 bytes a character
                raise ConvcalcError(f"has a node name of {stop - value:,} bytes; names are "
                                    f"limited to {limits.MAX_NAME_CHARS:,} characters")
            name = _text(buf, value, stop, wire)
            if len(name) > limits.MAX_NAME_CHARS:
                raise ConvcalcError(f"has a node name of {len(name):,} characters; names are "
                                    f"limited to {limits.MAX_NAME_CHARS:,}")
        elif number == NODE_OP_TYPE:
            op_type = _text(buf, value, stop, wire)
        elif number == NODE_DOMAIN:
            domain = _text(buf, value, stop, wire)
        elif number == NODE_ATTRIBUTE:
            if wire != LENGTH_DELIMITED:
                raise Malformed
            key, found = _attribute(buf, value, stop, depth)
            attributes[key] = found
        elif number == NODE_METADATA_PROPS and wire == LENGTH_DELIMITED:
            entry = {n: (v, s, w) for n, w, v, s in _fields(buf, value, stop)}
            key = _text(buf, *entry[ENTRY_KEY]) if ENTRY_KEY in entry else ""
            if key in (NAME_SCOPES, CLASS_HIERARCHY):
                metadata[key] = _text(buf, *entry[ENTRY_VALUE]) if ENTRY_VALUE in entry else ""
    return NodeProto(name, op_type, domain, tuple(inputs), tuple(outputs), attributes, metadata)


def _graph(buf: Any, start: int, end: int, depth: int) -> GraphProto:
    """The GraphProto in buf[start:end]: initializers are read in place (their weights left
    out), every other field as its own bytes."""
    if depth > limits.MAX_NESTING:
        raise Malformed
    parts: dict[int, list[Any]] = {n: [] for n in (GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT,
                                                   GRAPH_OUTPUT, GRAPH_VALUE_INFO)}
    for number, wire, value, stop in _fields(buf, start, end):
        if number not in parts:
            continue
        if wire != LENGTH_DELIMITED:
            raise Malformed
        if number == GRAPH_INITIALIZER:
            parts[number].append(read_tensor(buf, value, stop))
            continue
        if number == GRAPH_NODE and len(parts[number]) == limits.MAX_LAYERS:
            # counted as they are decoded: 3 million nodes are refused before they are read
            raise ConvcalcError(f"has more than {limits.MAX_LAYERS:,} nodes in one graph")
        data = bytes(buf[value:stop])
        parts[number].append(_node(data, 0, len(data), depth) if number == GRAPH_NODE
                             else _value_info(data, 0, len(data)))
    return GraphProto(*(tuple(parts[n]) for n in (GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT,
                                                 GRAPH_OUTPUT, GRAPH_VALUE_INFO)))


def read_model_bytes(buf: Any) -> ModelProto:
    """The ModelProto in ``buf`` (bytes, or a file read on demand), its weights left out;
    Malformed, NotText or TooBig for bytes that are not one within the limits."""
    producer = version = ""
    opsets: dict[str, int] = {}
    graph = None
    for number, wire, value, stop in _fields(buf, 0, len(buf)):
        if number == MODEL_PRODUCER_NAME:
            producer = _text(buf, value, stop, wire)
        elif number == MODEL_PRODUCER_VERSION:
            version = _text(buf, value, stop, wire)
        elif number == MODEL_OPSET_IMPORT:
            if wire != LENGTH_DELIMITED:
                raise Malformed
            data = bytes(buf[value:stop])
            domain, opset = "", 0
            for n, w, v, s in _fields(data, 0, len(data)):
                if n == OPSET_DOMAIN:
                    domain = _text(data, v, s, w)
                elif n == OPSET_VERSION:
                    opset = _int(w, v)
            opsets[domain] = opset
        elif number == MODEL_GRAPH:
            if wire != LENGTH_DELIMITED:
                raise Malformed
            graph = _graph(buf, value, stop, 0)
    return ModelProto(producer, version, opsets, graph)


def read_model(path: Path, shown: str) -> ModelProto:
    """The ModelProto of the ONNX file at ``path`` without its weight values; ``shown`` is the
    name used in error messages."""
    try:
        with open_input(path, shown=shown) as f:  # a regular file, or a located error
            buf = FileBytes(f.fileno())
            if not len(buf):
                raise ConvcalcError("is empty; is it an ONNX file?", file=shown)
            model = read_model_bytes(buf)
    except OSError as e:
        raise ConvcalcError(f"cannot read: {e.strerror or e}", file=shown) from None
    except TooBig:
        raise ConvcalcError(f"has more than {limits.MAX_ONNX_GRAPH_BYTES:,} bytes besides its "
                            "weights; convcalc reads graphs, not data", file=shown) from None
    except Malformed:
        raise ConvcalcError("is not a valid ONNX file (the protobuf is truncated or "
                            "corrupted); export it again", file=shown) from None
    except NotText:
        raise ConvcalcError("is not a valid ONNX file (a name or other text in it is not "
                            "UTF-8: the file is corrupted); export it again",
                            file=shown) from None
    except ConvcalcError as e:
        raise e.located(file=shown) from None
    if model.graph is None or not model.graph.nodes:
        raise ConvcalcError("is not an ONNX model: it has no graph of nodes", file=shown)
    return model
