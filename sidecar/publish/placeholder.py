"""A generated poster for titles the media server has no image for: a PNG with the rank in big digits.

Pure Python (zlib + struct), so no imaging library is needed. The colour comes from the title, so the
same title always gets the same poster and the bytes hash the same.
"""

from __future__ import annotations

import colorsys
import hashlib
import struct
import zlib

WIDTH, HEIGHT = 200, 300
_SCALE = 12
_DIGITS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _colour(seed: str) -> tuple[int, int, int]:
    hue = int(hashlib.sha256(seed.encode()).hexdigest()[:4], 16) / 0xFFFF
    r, g, b = colorsys.hsv_to_rgb(hue, 0.55, 0.45)
    return round(r * 255), round(g * 255), round(b * 255)


def placeholder_png(title: str, rank: int | None = None) -> bytes:
    """A WIDTH x HEIGHT RGB PNG: a flat colour from ``title`` with ``rank`` drawn in white."""
    background = bytes(_colour(title))
    white = b"\xff\xff\xff"
    rows = [bytearray(background * WIDTH) for _ in range(HEIGHT)]
    if rank is not None:
        text = str(rank)
        glyph_w, gap = 3 * _SCALE, _SCALE
        total_w = len(text) * glyph_w + (len(text) - 1) * gap
        x0 = max(0, (WIDTH - total_w) // 2)
        y0 = (HEIGHT - 5 * _SCALE) // 2
        for index, char in enumerate(text):
            left = x0 + index * (glyph_w + gap)
            for gy, line in enumerate(_DIGITS[char]):
                for gx, bit in enumerate(line):
                    if bit != "1":
                        continue
                    for y in range(y0 + gy * _SCALE, y0 + (gy + 1) * _SCALE):
                        start = (left + gx * _SCALE) * 3
                        end = min(start + _SCALE * 3, WIDTH * 3)
                        rows[y][start:end] = (white * _SCALE)[: end - start]
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    body = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body
