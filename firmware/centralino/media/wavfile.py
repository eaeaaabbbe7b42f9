"""Reading and writing 8 kHz mono WAV files: 16-bit PCM, A-law or u-law.

Written here rather than with the standard ``wave`` module because ``wave`` reads only PCM, and
prompts recorded for telephony are often A-law. Every problem is reported as ``WavError`` with the
file name and what was found versus what is expected, so a technician can fix the recording.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import g711
from .frames import SAMPLE_RATE_HZ

FORMAT_PCM = 1
FORMAT_IEEE_FLOAT = 3
FORMAT_ALAW = 6
FORMAT_ULAW = 7
FORMAT_EXTENSIBLE = 0xFFFE
_FORMAT_NAMES = {FORMAT_PCM: "PCM", FORMAT_IEEE_FLOAT: "IEEE float", FORMAT_ALAW: "A-law",
                 FORMAT_ULAW: "u-law", 2: "Microsoft ADPCM", 0x11: "IMA ADPCM", 0x55: "MP3"}
ENCODINGS = ("pcm16", "alaw", "ulaw")


class WavError(ValueError):
    """A WAV file that centralino cannot use; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass(frozen=True)
class WavInfo:
    """What a WAV header says."""

    format_tag: int
    channels: int
    sample_rate_hz: int
    bits_per_sample: int
    n_frames: int

    @property
    def format_name(self) -> str:
        return _FORMAT_NAMES.get(self.format_tag, f"format 0x{self.format_tag:04X}")


def _parse(path: str | Path, data: bytes) -> tuple[WavInfo, bytes]:
    if len(data) < 12:
        if data and b"RIFF".startswith(data[:4]):
            raise WavError(path, f"truncated header: only {len(data)} bytes, a WAV header needs at least 44")
        raise WavError(path, f"not a WAV file: {len(data)} bytes, no RIFF/WAVE header")
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(path, f"not a WAV file: starts with {data[:4]!r}, expected a RIFF/WAVE header")
    fmt = None
    payload = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise WavError(path, f"truncated header: fmt chunk has {len(body)} bytes, expected 16")
            fmt = struct.unpack_from("<HHIIHH", body, 0)
            if fmt[0] == FORMAT_EXTENSIBLE and len(body) >= 26:
                (sub_format,) = struct.unpack_from("<H", body, 24)
                fmt = (sub_format,) + fmt[1:]
        elif chunk_id == b"data":
            payload = body  # may be shorter than declared: a recording cut short is still usable
            break
        pos += 8 + size + (size & 1)
    if fmt is None:
        raise WavError(path, "truncated header: no 'fmt ' chunk before the end of the file")
    if payload is None:
        raise WavError(path, "truncated file: no 'data' chunk")
    format_tag, channels, rate, _byte_rate, block_align, bits = fmt
    block_align = block_align or max(1, channels * bits // 8)
    info = WavInfo(format_tag, channels, rate, bits, len(payload) // block_align if block_align else 0)
    return info, payload


def read_info(path: str | Path) -> WavInfo:
    """Header of a WAV file, without checking that centralino can play it."""
    return _parse(path, _read_bytes(path))[0]


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise WavError(path, "no such file") from None
    except IsADirectoryError:
        raise WavError(path, "is a directory, expected a WAV file") from None
    except PermissionError:
        raise WavError(path, "permission denied") from None


def read_wav(path: str | Path, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Samples of an 8 kHz mono WAV (16-bit PCM, A-law or u-law) as int16."""
    info, payload = _parse(path, _read_bytes(path))
    expected = "8000 Hz mono 16-bit PCM, A-law or u-law"
    if info.sample_rate_hz != sample_rate_hz:
        raise WavError(path, f"sample rate {info.sample_rate_hz} Hz, expected {sample_rate_hz} Hz ({expected})")
    if info.channels != 1:
        raise WavError(path, f"{info.channels} channels, expected mono ({expected})")
    if info.format_tag == FORMAT_PCM and info.bits_per_sample == 16:
        return np.frombuffer(payload[: len(payload) // 2 * 2], dtype="<i2").astype(np.int16)
    if info.format_tag == FORMAT_ALAW and info.bits_per_sample == 8:
        return g711.alaw_decode(payload)
    if info.format_tag == FORMAT_ULAW and info.bits_per_sample == 8:
        return g711.ulaw_decode(payload)
    raise WavError(path, f"{info.format_name} with {info.bits_per_sample} bits per sample, expected {expected}")


def write_wav(path: str | Path, samples: np.ndarray, encoding: str = "pcm16",
              sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
    """Write int16 samples as an 8 kHz mono WAV in ``encoding`` (pcm16, alaw or ulaw)."""
    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        raise TypeError(f"write_wav takes int16 samples, got {samples.dtype}")
    if encoding == "pcm16":
        tag, bits, body = FORMAT_PCM, 16, samples.astype("<i2").tobytes()
    elif encoding == "alaw":
        tag, bits, body = FORMAT_ALAW, 8, g711.alaw_encode(samples).tobytes()
    elif encoding == "ulaw":
        tag, bits, body = FORMAT_ULAW, 8, g711.ulaw_encode(samples).tobytes()
    else:
        raise ValueError(f"unknown WAV encoding {encoding!r}: expected one of {', '.join(ENCODINGS)}")
    block_align = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, sample_rate_hz, sample_rate_hz * block_align, block_align, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if tag != FORMAT_PCM:  # non-PCM formats carry a fact chunk with the sample count
        chunks += b"fact" + struct.pack("<II", 4, len(samples))
    chunks += b"data" + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
