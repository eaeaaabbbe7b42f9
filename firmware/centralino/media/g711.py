"""ITU-T G.711 A-law (used in Italy) and u-law, encode and decode.

The 16-bit input is first reduced to the codec's uniform grid (13 bits for A-law, 14 for u-law) by
truncation, as the ITU-T G.191 reference tools do, then quantised with the G.711 segment tables.
The code tables are built once at import; encoding and decoding are then one numpy lookup, so a
frame costs about a microsecond.
"""

from __future__ import annotations

import numpy as np

ALAW_SILENCE = 0xD5  # A-law code of linear 0 (with the even bits inverted)
ULAW_SILENCE = 0xFF

_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)
_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159


def _alaw_encode_reference(linear16: np.ndarray) -> np.ndarray:
    """A-law code for each 16-bit value, computed from the segment tables (slow path)."""
    v = linear16.astype(np.int32) >> 3  # 13-bit, truncated toward minus infinity
    positive = v >= 0
    magnitude = np.where(positive, v, -v - 1)  # A-law takes negatives as one's complement
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude)
    clipped = segment >= 8
    seg = np.minimum(segment, 7)
    shift = np.where(seg < 2, 1, seg)
    code = (seg << 4) | ((magnitude >> shift) & 0x0F)
    code = np.where(clipped, 0x7F, code)
    return (code ^ np.where(positive, 0xD5, 0x55)).astype(np.uint8)


def _ulaw_encode_reference(linear16: np.ndarray) -> np.ndarray:
    """u-law code for each 16-bit value, computed from the segment tables (slow path)."""
    v = linear16.astype(np.int32) >> 2  # 14-bit, truncated toward minus infinity
    positive = v >= 0
    magnitude = np.minimum(np.abs(v), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude)
    clipped = segment >= 8
    seg = np.minimum(segment, 7)
    code = (seg << 4) | ((magnitude >> (seg + 1)) & 0x0F)
    code = np.where(clipped, 0x7F, code)
    return (code ^ np.where(positive, 0xFF, 0x7F)).astype(np.uint8)


def _alaw_decode_reference(codes: np.ndarray) -> np.ndarray:
    a = codes.astype(np.int32) ^ 0x55
    mantissa = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, mantissa + 8, (mantissa + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


def _ulaw_decode_reference(codes: np.ndarray) -> np.ndarray:
    u = ~codes.astype(np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


# Tables indexed by the int16 sample reinterpreted as uint16 (0..65535).
_ALL_LINEAR = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16)
_ALAW_ENCODE = _alaw_encode_reference(_ALL_LINEAR)
_ULAW_ENCODE = _ulaw_encode_reference(_ALL_LINEAR)
_ALL_CODES = np.arange(256, dtype=np.uint8)
_ALAW_DECODE = _alaw_decode_reference(_ALL_CODES)
_ULAW_DECODE = _ulaw_decode_reference(_ALL_CODES)


def _as_int16(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        raise TypeError(f"G.711 encoding takes int16 samples, got {samples.dtype}")
    return samples


def alaw_encode(samples: np.ndarray) -> np.ndarray:
    """16-bit linear samples to A-law codes (uint8)."""
    return _ALAW_ENCODE[_as_int16(samples).view(np.uint16)]


def ulaw_encode(samples: np.ndarray) -> np.ndarray:
    """16-bit linear samples to u-law codes (uint8)."""
    return _ULAW_ENCODE[_as_int16(samples).view(np.uint16)]


def alaw_decode(codes: np.ndarray | bytes) -> np.ndarray:
    """A-law codes (uint8 array or bytes) to 16-bit linear samples."""
    return _ALAW_DECODE[np.frombuffer(codes, dtype=np.uint8) if isinstance(codes, (bytes, bytearray)) else np.asarray(codes, dtype=np.uint8)]


def ulaw_decode(codes: np.ndarray | bytes) -> np.ndarray:
    """u-law codes (uint8 array or bytes) to 16-bit linear samples."""
    return _ULAW_DECODE[np.frombuffer(codes, dtype=np.uint8) if isinstance(codes, (bytes, bytearray)) else np.asarray(codes, dtype=np.uint8)]


CODECS = {
    "alaw": (alaw_encode, alaw_decode),
    "ulaw": (ulaw_encode, ulaw_decode),
}


def codec(name: str):
    """(encode, decode) functions for ``"alaw"`` or ``"ulaw"``."""
    try:
        return CODECS[name]
    except KeyError:
        raise ValueError(f"unknown G.711 law {name!r}: expected one of {sorted(CODECS)}") from None
