"""An ONNX file -> its ``onnx.ModelProto`` without the weight values: the graph, the small
constants and every initializer's dims and dtype.

``onnx.load`` reads the whole file and parses every weight, so its memory grows with the
model. Here the file is walked at the protobuf wire level with small positioned reads: the
model's fields and the graph's fields are copied as they are, except that the data fields of a
large initializer are skipped without being read, and only the slim bytes are parsed. (Not a
memory map: the kernel maps the pages around every touched byte, and those count as resident.)
A model saved with external data is read the same way; its data file is never opened.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from convcalc import limits
from convcalc.errors import ConvcalcError
from convcalc.inputs import open_input

# Field numbers from onnx.proto: ModelProto.graph, GraphProto.initializer, and the fields of
# TensorProto that hold values (float, int32, string, int64, raw, double, uint64 data).
MODEL_GRAPH = 7
GRAPH_INITIALIZER = 5
TENSOR_DATA = frozenset((4, 5, 6, 7, 9, 10, 11))
# Values above this many bytes are weights, never needed: only small constants (shapes, axes,
# scales) are read.
MAX_CONSTANT_BYTES = 4096
LENGTH_DELIMITED = 2


class _Malformed(Exception):
    """The bytes are not a protobuf message."""


class _TooBig(Exception):
    """The model without its weights is above MAX_ONNX_GRAPH_BYTES."""


class _FileBytes:
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
                raise _TooBig
            if self._cover(key.start, key.stop):
                return self.chunk[key.start - self.start:key.stop - self.start]
            return os.pread(self.fd, key.stop - key.start, key.start)
        if not self._cover(key, key + 1):
            raise _Malformed
        return self.chunk[key - self.start]


def _varint(buf: Any, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise _Malformed
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _Malformed


def _fields(buf: Any, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, start of its tag, start of its value, end) of each field in a message."""
    pos = start
    while pos < end:
        tag_start = pos
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Malformed
        if wire == 0:
            _, pos = _varint(buf, pos, end)
            value = tag_start
        elif wire == 1:
            value, pos = pos, pos + 8
        elif wire == LENGTH_DELIMITED:
            length, pos = _varint(buf, pos, end)
            value, pos = pos, pos + length
        elif wire == 5:
            value, pos = pos, pos + 4
        else:
            raise _Malformed
        if pos > end:
            raise _Malformed
        yield number, tag_start, value, pos


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | LENGTH_DELIMITED) + _encode_varint(len(payload)) + payload


def _slim_tensor(buf: Any, start: int, end: int) -> bytes:
    return b"".join(buf[tag:stop] for number, tag, value, stop in _fields(buf, start, end)
                    if number not in TENSOR_DATA or stop - value <= MAX_CONSTANT_BYTES)


def _slim_graph(buf: Any, start: int, end: int) -> bytes:
    return b"".join(
        _length_delimited(GRAPH_INITIALIZER, _slim_tensor(buf, value, stop))
        if number == GRAPH_INITIALIZER else buf[tag:stop]
        for number, tag, value, stop in _fields(buf, start, end))


def slim_model_bytes(buf: Any) -> bytes:
    """The serialized ModelProto in ``buf`` (bytes, or a file read on demand) with every large
    initializer's values left out."""
    return b"".join(
        _length_delimited(MODEL_GRAPH, _slim_graph(buf, value, stop))
        if number == MODEL_GRAPH else buf[tag:stop]
        for number, tag, value, stop in _fields(buf, 0, len(buf)))


def import_onnx() -> Any:
    """The onnx module, or the one-line error saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise ConvcalcError('reading ONNX files needs the onnx package: '
                            'pip install "convcalc[onnx]"') from None
    return onnx


def read_model(path: Path, shown: str) -> Any:
    """The ModelProto of the ONNX file at ``path`` without its weight values; ``shown`` is the
    name used in error messages."""
    onnx = import_onnx()
    from google.protobuf.message import (  # type: ignore[import-untyped, unused-ignore]
        DecodeError,
    )

    try:
        with open_input(path, shown=shown) as f:  # a regular file, or a located error
            buf = _FileBytes(f.fileno())
            if not len(buf):
                raise ConvcalcError("is empty; is it an ONNX file?", file=shown)
            data = slim_model_bytes(buf)
        model = onnx.ModelProto.FromString(data)
    except OSError as e:
        raise ConvcalcError(f"cannot read: {e.strerror or e}", file=shown) from None
    except _TooBig:
        raise ConvcalcError(f"has more than {limits.MAX_ONNX_GRAPH_BYTES:,} bytes besides its "
                            "weights; convcalc reads graphs, not data") from None
    except (_Malformed, DecodeError):
        raise ConvcalcError("is not a valid ONNX file (the protobuf is truncated or "
                            "corrupted); export it again", file=shown) from None
    if not model.HasField("graph") or not model.graph.node:
        raise ConvcalcError("is not an ONNX model: it has no graph of nodes", file=shown)
    return model
