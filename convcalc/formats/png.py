"""A grey-scale image as PNG bytes, with zlib and struct only (the PNG specification, ISO/IEC
15948: signature, IHDR, one IDAT of filter-type-0 scanlines, IEND; each chunk with its CRC-32)."""

import struct
import zlib
from collections.abc import Sequence

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(rows: Sequence[Sequence[int]]) -> bytes:
    """An 8-bit grey-scale PNG of ``rows`` (h rows of w values from 0 to 255)."""
    height, width = len(rows), len(rows[0]) if rows else 0
    if not height or not width or any(len(r) != width for r in rows):
        raise ValueError("a PNG needs rows of equally many pixels")
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey, no interlace
    raw = b"".join(b"\x00" + bytes(row) for row in rows)  # filter type 0 (None) per scanline
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))
