"""The RTP fixed header (RFC 3550 section 5.1): build and parse, nothing else.

Why a module of its own: the session, the jitter buffer and the tests all speak packets, and the
parser is the one place where bytes from the network become trusted values, so every malformed
datagram must end here as an ``RtpFormatError`` that names what is wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER_BYTES = 12
SEQ_MODULO = 1 << 16
TIMESTAMP_MODULO = 1 << 32
MAX_PAYLOAD_TYPE = 127
# RTCP packet types 200..204 land on payload types 72..76 with the marker bit set (RFC 5761):
# a stray RTCP packet on the RTP port must not be taken for audio.
RTCP_CONFLICT_PAYLOAD_TYPES = range(72, 77)

_HEADER = struct.Struct("!BBHII")


class RtpFormatError(ValueError):
    """A datagram that is not a usable RTP packet; ``problem`` says why."""

    def __init__(self, problem: str, length: int):
        super().__init__(f"not an RTP packet ({length} bytes): {problem}")
        self.problem = problem
        self.length = length


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet; ``payload`` excludes header, CSRCs, extension and padding."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()

    def to_bytes(self) -> bytes:
        """Wire form (no padding, no extension)."""
        if not 0 <= self.payload_type <= MAX_PAYLOAD_TYPE:
            raise ValueError(f"RTP payload type {self.payload_type} outside 0..{MAX_PAYLOAD_TYPE}")
        if len(self.csrcs) > 15:
            raise ValueError(f"RTP carries at most 15 CSRCs, got {len(self.csrcs)}")
        first = (RTP_VERSION << 6) | len(self.csrcs)
        second = (0x80 if self.marker else 0) | self.payload_type
        header = _HEADER.pack(first, second, self.sequence % SEQ_MODULO,
                              self.timestamp % TIMESTAMP_MODULO, self.ssrc & 0xFFFFFFFF)
        if self.csrcs:
            header += struct.pack(f"!{len(self.csrcs)}I", *self.csrcs)
        return header + self.payload


def build(payload_type: int, sequence: int, timestamp: int, ssrc: int, payload: bytes,
          marker: bool = False) -> bytes:
    """Wire form of a plain packet: the hot path, without building an ``RtpPacket`` first."""
    return _HEADER.pack(0x80, (0x80 if marker else 0) | payload_type, sequence & 0xFFFF,
                        timestamp & 0xFFFFFFFF, ssrc) + payload


def parse(data: bytes) -> RtpPacket:
    """Decode one datagram; raise ``RtpFormatError`` for anything RFC 3550 does not allow."""
    n = len(data)
    if n < HEADER_BYTES:
        raise RtpFormatError(f"shorter than the {HEADER_BYTES}-byte header", n)
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    version = first >> 6
    if version != RTP_VERSION:
        raise RtpFormatError(f"version {version}, expected {RTP_VERSION}", n)
    marker = bool(second & 0x80)
    payload_type = second & 0x7F
    if marker and payload_type in RTCP_CONFLICT_PAYLOAD_TYPES:
        raise RtpFormatError(f"RTCP packet type {second} on the RTP port", n)
    start = HEADER_BYTES + 4 * (first & 0x0F)
    if start > n:
        raise RtpFormatError(f"{first & 0x0F} CSRCs do not fit", n)
    csrcs = struct.unpack_from(f"!{first & 0x0F}I", data, HEADER_BYTES) if first & 0x0F else ()
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in 32-bit words
        if start + 4 > n:
            raise RtpFormatError("header extension truncated", n)
        (words,) = struct.unpack_from("!H", data, start + 2)
        start += 4 + 4 * words
        if start > n:
            raise RtpFormatError(f"header extension of {words} words does not fit", n)
    end = n
    if first & 0x20:  # padding: the last byte counts the padding bytes, itself included
        pad = data[-1]
        if pad == 0 or start + pad > n:
            raise RtpFormatError(f"padding count {pad} invalid", n)
        end = n - pad
    return RtpPacket(payload_type, sequence, timestamp, ssrc, bytes(data[start:end]), marker, tuple(csrcs))
