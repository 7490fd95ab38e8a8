"""Placeholder poster images: a small solid-colour PNG per item, built with zlib and struct."""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@functools.lru_cache(maxsize=512)
def solid_png(red: int, green: int, blue: int, width: int = 60, height: int = 90) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    row = b"\x00" + bytes((red, green, blue)) * width
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(row * height, 9)),
            _chunk(b"IEND", b""),
        )
    )


def placeholder_png(item_id: str, image_type: str = "Primary") -> bytes:
    digest = hashlib.sha256(f"{item_id}:{image_type}".encode()).digest()
    # Muted colours: 60-180 per channel.
    red, green, blue = (60 + b % 120 for b in digest[:3])
    wide = image_type.lower() in ("backdrop", "thumb", "banner")
    return solid_png(red, green, blue, 160 if wide else 60, 90)
