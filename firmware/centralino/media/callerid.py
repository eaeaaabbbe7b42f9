"""Caller ID on the analogue line: ETSI EN 300 659 messages carried by V.23 FSK.

Italian exchanges send the caller's number (and sometimes a name and the date) while the phone is
on hook, as a Multiple Data Message Format (MDMF) "call set-up" message (type 0x80):

    type, length, { parameter type, parameter length, value }..., checksum

where the checksum makes the sum of all bytes 0 modulo 256. Before it comes the channel seizure
(300 bits of 0101...) and the mark signal (180 bits of 1), so the receiver can lock on.

The decoder accepts what real exchanges and test gear send (no seizure, short mark leader, filler
bytes, unknown parameters, the Bellcore SDMF format) but rejects anything whose checksum or
framing is wrong: a wrong number on the switchboard display is worse than none. Every rejection is
a ``CallerIdError`` whose ``reason`` is a short code and whose message says what was found.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from . import v23
from .frames import FRAME_SAMPLES, SAMPLE_RATE_HZ
from .levels import power_dbm0

# Message types (EN 300 659-3; 0x04 is the Bellcore single data message format, SDMF).
MSG_CALL_SETUP = 0x80
MSG_MESSAGE_WAITING = 0x82
MSG_SDMF_CALL = 0x04
MESSAGE_TYPES = {MSG_CALL_SETUP: "call set-up", MSG_MESSAGE_WAITING: "message waiting indicator",
                 MSG_SDMF_CALL: "SDMF call set-up"}

# Parameter types of the call set-up message (EN 300 659-3).
PARAM_DATE_TIME = 0x01
PARAM_NUMBER = 0x02
PARAM_NUMBER_ABSENT = 0x04
PARAM_NAME = 0x07
PARAM_NAME_ABSENT = 0x08
PARAM_NAMES = {PARAM_DATE_TIME: "date and time", PARAM_NUMBER: "calling number",
               PARAM_NUMBER_ABSENT: "reason for absence of number", PARAM_NAME: "calling name",
               PARAM_NAME_ABSENT: "reason for absence of name"}

ABSENCE_REASONS = {"O": "unavailable", "P": "private"}
NUMBER_CHARS = frozenset("0123456789+*#")
MAX_NUMBER_DIGITS = 20
MAX_NAME_CHARS = 50
DATE_TIME_CHARS = 8  # MMDDhhmm, no year

# Burst layout (EN 300 659-1): channel seizure, mark signal, message.
SEIZURE_BITS = 300
MARK_BITS = 180
TAIL_BITS = 2  # mark after the checksum so the last stop bit ends cleanly
DEFAULT_LEVEL_DBM0 = -13.0
FILLER_BYTES = frozenset({0x55, 0xFF})  # seizure as 8N1 characters, and mark-hold fill
MAX_JUNK_BYTES = 2  # unexpected characters tolerated before the message type byte

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # no year on the wire: allow 29 Feb


class CallerIdError(ValueError):
    """A caller-ID signal or message that cannot be trusted; ``reason`` is a short code.

    Reasons: ``no_burst``, ``no_message``, ``truncated``, ``framing``, ``bad_checksum``,
    ``unknown_type``, ``overrun``, ``trailing_bytes``, ``invalid_value``.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# The decoded data


@dataclass(frozen=True)
class CallTime:
    """Month, day, hour and minute as the exchange sends them (``MMDDhhmm``: there is no year)."""

    month: int
    day: int
    hour: int
    minute: int

    def __post_init__(self):
        for name, value in (("month", self.month), ("day", self.day), ("hour", self.hour), ("minute", self.minute)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"when: {name} must be an integer, got {value!r}")
        if not 1 <= self.month <= 12:
            raise ValueError(f"when: month {self.month} outside 1..12")
        if not 1 <= self.day <= _DAYS_IN_MONTH[self.month - 1]:
            raise ValueError(f"when: day {self.day} outside 1..{_DAYS_IN_MONTH[self.month - 1]} for month {self.month}")
        if not 0 <= self.hour <= 23:
            raise ValueError(f"when: hour {self.hour} outside 0..23")
        if not 0 <= self.minute <= 59:
            raise ValueError(f"when: minute {self.minute} outside 0..59")

    @classmethod
    def from_datetime(cls, when: _dt.datetime) -> "CallTime":
        return cls(when.month, when.day, when.hour, when.minute)

    @classmethod
    def from_wire(cls, text: str) -> "CallTime":
        """Parse ``MMDDhhmm``; raises ValueError naming the problem."""
        if len(text) != DATE_TIME_CHARS or not text.isascii() or not text.isdigit():
            raise ValueError(f"date and time {text!r}: expected 8 digits MMDDhhmm")
        return cls(int(text[0:2]), int(text[2:4]), int(text[4:6]), int(text[6:8]))

    def wire(self) -> str:
        return f"{self.month:02d}{self.day:02d}{self.hour:02d}{self.minute:02d}"

    def to_datetime(self, year: int) -> _dt.datetime:
        """The call time in ``year`` (the caller supplies it: the line does not)."""
        return _dt.datetime(year, self.month, self.day, self.hour, self.minute)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d} {self.hour:02d}:{self.minute:02d}"


@dataclass
class CallerId:
    """What the exchange told us about a call.

    ``when`` may be given as a ``datetime`` (year and seconds are dropped) and is kept as a
    ``CallTime``. ``number_absent`` / ``name_absent`` hold the reason a field is missing:
    ``'O'`` unavailable, ``'P'`` private. ``extra`` keeps parameters this code does not know,
    by parameter type, so nothing the exchange sent is lost.
    """

    number: str | None = None
    name: str | None = None
    when: CallTime | None = None
    number_absent: str | None = None
    name_absent: str | None = None
    message_type: int = MSG_CALL_SETUP
    extra: dict[int, bytes] = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.when, _dt.datetime):
            self.when = CallTime.from_datetime(self.when)
        elif self.when is not None and not isinstance(self.when, CallTime):
            raise ValueError(f"when: expected a datetime or CallTime, got {type(self.when).__name__}")

    def to_dict(self) -> dict:
        """JSON-able form: ``when`` as ``"MM-DD hh:mm"`` (no year on the wire), absent fields None,
        unknown parameters as hex strings keyed by parameter type."""
        return {
            "message_type": self.message_type,
            "number": self.number,
            "name": self.name,
            "when": None if self.when is None else str(self.when),
            "number_absent": self.number_absent,
            "name_absent": self.name_absent,
            "extra": {f"0x{k:02X}": v.hex() for k, v in sorted(self.extra.items())},
        }


# ---------------------------------------------------------------------------------------------
# Message layer


def checksum(data: bytes) -> int:
    """The byte that makes ``sum(data) + checksum`` a multiple of 256 (two's complement of the sum)."""
    return -sum(data) & 0xFF


def _check_number(number: str) -> bytes:
    if not isinstance(number, str) or not number:
        raise ValueError(f"number: expected 1 to {MAX_NUMBER_DIGITS} digits, got {number!r}")
    if len(number) > MAX_NUMBER_DIGITS:
        raise ValueError(f"number: {len(number)} characters, at most {MAX_NUMBER_DIGITS} fit in the message")
    bad = sorted(set(number) - NUMBER_CHARS)
    if bad:
        raise ValueError(f"number {number!r}: characters {' '.join(map(repr, bad))} not allowed (digits, + * #)")
    return number.encode("ascii")


def _check_name(name: str) -> bytes:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected 1 to {MAX_NAME_CHARS} characters, got {name!r}")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"name: {len(name)} characters, at most {MAX_NAME_CHARS} allowed")
    bad = sorted({c for c in name if not (" " <= c <= "~")})
    if bad:
        raise ValueError(f"name {name!r}: characters {' '.join(map(repr, bad))} not allowed "
                         f"(printable ASCII only; codes above 0x7F are reserved for network operators)")
    return name.encode("ascii")


def _check_absent(field_name: str, reason: str) -> bytes:
    if reason not in ABSENCE_REASONS:
        raise ValueError(f"{field_name}: {reason!r} is not a reason for absence "
                         f"(expected 'O' unavailable or 'P' private)")
    return reason.encode("ascii")


def _parameters(cid: CallerId) -> list[tuple[int, bytes]]:
    params: list[tuple[int, bytes]] = []
    if cid.when is not None:
        params.append((PARAM_DATE_TIME, cid.when.wire().encode("ascii")))
    if cid.number is not None and cid.number_absent is not None:
        raise ValueError("number and number_absent: give one or the other, not both")
    if cid.name is not None and cid.name_absent is not None:
        raise ValueError("name and name_absent: give one or the other, not both")
    if cid.number is not None:
        params.append((PARAM_NUMBER, _check_number(cid.number)))
    if cid.number_absent is not None:
        params.append((PARAM_NUMBER_ABSENT, _check_absent("number_absent", cid.number_absent)))
    if cid.name is not None:
        params.append((PARAM_NAME, _check_name(cid.name)))
    if cid.name_absent is not None:
        params.append((PARAM_NAME_ABSENT, _check_absent("name_absent", cid.name_absent)))
    for ptype, value in sorted(cid.extra.items()):
        if not isinstance(ptype, int) or not 0 <= ptype <= 0xFF or ptype in PARAM_NAMES:
            raise ValueError(f"extra: parameter type {ptype!r} must be 0..255 and not one of the named fields")
        value = bytes(value)
        if len(value) > 0xFF:
            raise ValueError(f"extra: parameter 0x{ptype:02X} is {len(value)} bytes, at most 255")
        params.append((ptype, value))
    return params


def encode_message(cid: CallerId) -> bytes:
    """The message bytes for ``cid``: MDMF (0x80/0x82) or SDMF (0x04), checksum included.

    Raises ValueError naming the field for anything the exchange format cannot carry.
    """
    if cid.message_type == MSG_SDMF_CALL:
        if cid.when is None:
            raise ValueError("when: SDMF (message type 0x04) always carries the date and time")
        if cid.name is not None or cid.name_absent is not None or cid.extra:
            raise ValueError("name: SDMF (message type 0x04) carries only the date, time and number")
        if (cid.number is None) == (cid.number_absent is None):
            raise ValueError("number: SDMF needs exactly one of number and number_absent")
        if cid.number is not None:
            tail = _check_number(cid.number)
        else:
            tail = _check_absent("number_absent", cid.number_absent)
        body = cid.when.wire().encode("ascii") + tail
    elif cid.message_type in (MSG_CALL_SETUP, MSG_MESSAGE_WAITING):
        body = b"".join(bytes((ptype, len(value))) + value for ptype, value in _parameters(cid))
    else:
        raise ValueError(f"message_type: 0x{cid.message_type:02X} is not one of "
                         f"{', '.join(f'0x{t:02X}' for t in MESSAGE_TYPES)}")
    if len(body) > 0xFF:
        raise ValueError(f"message: {len(body)} bytes of parameters, at most 255 fit")
    head = bytes((cid.message_type, len(body))) + body
    return head + bytes((checksum(head),))


def message_length(data: bytes) -> int | None:
    """Total length (header, parameters, checksum) the message at the start of ``data`` declares."""
    return data[1] + 3 if len(data) >= 2 else None


def _text(ptype: int, value: bytes, offset: int) -> str:
    text = value.decode("latin-1")  # 0x80..0xFF are operator-defined; latin-1 keeps them visible
    bad = [c for c in text if not c.isprintable()]
    if bad:
        raise CallerIdError("invalid_value", f"{PARAM_NAMES[ptype]} at offset {offset}: control characters "
                                             f"{' '.join(f'0x{ord(c):02X}' for c in bad)} in {value!r}")
    return text


def _number(ptype: int, value: bytes, offset: int) -> str:
    text = _text(ptype, value, offset)
    bad = sorted(set(text) - NUMBER_CHARS)
    if not text or bad:
        raise CallerIdError("invalid_value", f"{PARAM_NAMES[ptype]} at offset {offset}: {value!r} is not a "
                                             f"number (digits, + * # expected)")
    return text


def _absent(ptype: int, value: bytes, offset: int) -> str:
    text = value.decode("latin-1")
    if text not in ABSENCE_REASONS:
        raise CallerIdError("invalid_value", f"{PARAM_NAMES[ptype]} at offset {offset}: {value!r}, "
                                             f"expected b'O' (unavailable) or b'P' (private)")
    return text


def _when(ptype: int, value: bytes, offset: int) -> CallTime:
    try:
        return CallTime.from_wire(value.decode("latin-1"))
    except ValueError as err:
        raise CallerIdError("invalid_value", f"{PARAM_NAMES[ptype]} at offset {offset}: {err}") from None


def decode_message(data: bytes) -> CallerId:
    """Decode exactly one message (type, length, parameters, checksum) into a ``CallerId``.

    The checksum is verified before anything is read. Unknown parameter types are kept in
    ``extra``; anything malformed raises ``CallerIdError`` saying what and where.
    """
    data = bytes(data)
    if not data:
        raise CallerIdError("truncated", "truncated message: no bytes at all")
    mtype = data[0]
    if mtype not in MESSAGE_TYPES:
        raise CallerIdError("unknown_type", f"unknown message type 0x{mtype:02X} (expected "
                                            f"{', '.join(f'0x{t:02X} {n}' for t, n in MESSAGE_TYPES.items())})")
    if len(data) < 3:
        raise CallerIdError("truncated", f"truncated message: {len(data)} bytes, a message has at least 3 "
                                         f"(type, length, checksum)")
    total = message_length(data)
    if len(data) < total:
        raise CallerIdError("truncated", f"truncated message: type 0x{mtype:02X} declares {data[1]} bytes of "
                                         f"parameters ({total} in all), only {len(data)} received")
    if len(data) > total:
        raise CallerIdError("trailing_bytes", f"{len(data) - total} bytes after the checksum: the message "
                                              f"declares {total} bytes, {len(data)} were given")
    expected, found = checksum(data[:-1]), data[-1]
    if expected != found:
        raise CallerIdError("bad_checksum", f"bad checksum: expected 0x{expected:02X}, found 0x{found:02X} "
                                            f"(message type 0x{mtype:02X}, {total} bytes)")
    body = data[2:-1]
    if mtype == MSG_SDMF_CALL:
        return _decode_sdmf(body)
    return _decode_mdmf(mtype, body)


def _decode_sdmf(body: bytes) -> CallerId:
    if len(body) < DATE_TIME_CHARS + 1:
        raise CallerIdError("invalid_value", f"SDMF message has {len(body)} bytes of data, needs the 8-digit "
                                             f"date and time and at least one character of number")
    when = _when(PARAM_DATE_TIME, body[:DATE_TIME_CHARS], 2)
    rest = body[DATE_TIME_CHARS:]
    if rest in (b"O", b"P"):
        return CallerId(when=when, number_absent=rest.decode("ascii"), message_type=MSG_SDMF_CALL)
    return CallerId(number=_number(PARAM_NUMBER, rest, 2 + DATE_TIME_CHARS), when=when, message_type=MSG_SDMF_CALL)


_PARSERS = {PARAM_DATE_TIME: ("when", _when), PARAM_NUMBER: ("number", _number),
            PARAM_NUMBER_ABSENT: ("number_absent", _absent), PARAM_NAME: ("name", _text),
            PARAM_NAME_ABSENT: ("name_absent", _absent)}


def _decode_mdmf(mtype: int, body: bytes) -> CallerId:
    fields: dict = {}
    extra: dict[int, bytes] = {}
    pos = 0
    while pos < len(body):
        offset = pos + 2  # offset in the whole message, for the error messages
        if pos + 2 > len(body):
            raise CallerIdError("overrun", f"parameter at offset {offset} has a type byte but no length byte "
                                           f"before the checksum")
        ptype, plen = body[pos], body[pos + 1]
        value = body[pos + 2: pos + 2 + plen]
        if len(value) < plen:
            name = PARAM_NAMES.get(ptype, f"parameter 0x{ptype:02X}")
            raise CallerIdError("overrun", f"{name} at offset {offset} declares {plen} bytes but only "
                                           f"{len(value)} remain before the checksum")
        if ptype in _PARSERS:
            attr, parse = _PARSERS[ptype]
            if attr in fields:
                raise CallerIdError("invalid_value", f"{PARAM_NAMES[ptype]} appears twice (again at offset {offset})")
            fields[attr] = parse(ptype, value, offset)
        elif ptype in extra:
            raise CallerIdError("invalid_value", f"parameter 0x{ptype:02X} appears twice (again at offset {offset})")
        else:
            extra[ptype] = bytes(value)
        pos += 2 + plen
    return CallerId(message_type=mtype, extra=extra, **fields)


# ---------------------------------------------------------------------------------------------
# The burst


def encode_burst(cid: CallerId, level_dbm0: float = DEFAULT_LEVEL_DBM0, seizure_bits: int = SEIZURE_BITS,
                 mark_bits: int = MARK_BITS, tail_bits: int = TAIL_BITS) -> np.ndarray:
    """The FSK burst an exchange sends for ``cid``: seizure 0101..., mark, message in 8N1, tail.

    One phase-continuous modulation of the whole bit string, so there is no click between the
    sections. No amplitude ramp: the burst starts at a zero crossing (phase 0) and the receiver
    needs none; ``len(result) == ceil((seizure + mark + 10 * bytes + tail) * 8000 / 1200)``.
    """
    for name, value in (("seizure_bits", seizure_bits), ("mark_bits", mark_bits), ("tail_bits", tail_bits)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name}: must be a whole number of bits >= 0, got {value!r}")
    bits = [i & 1 for i in range(seizure_bits)] + [1] * mark_bits
    bits += v23.frame_bytes_8n1(encode_message(cid)) + [1] * tail_bits
    return v23.modulate_bits(bits, level_dbm0)


@dataclass
class Burst:
    """One FSK burst found in a signal, and what came of decoding it."""

    start: int  # samples
    end: int
    level_dbm0: float
    baud: float
    data: bytes  # all 8N1 characters received, seizure included
    message: bytes | None = None  # the message bytes, when a type byte and length were found
    cid: CallerId | None = None
    error: CallerIdError | None = None

    @property
    def start_s(self) -> float:
        return self.start / SAMPLE_RATE_HZ


_ERROR_RANK = {"no_message": 0, "truncated": 1, "framing": 2, "unknown_type": 3, "trailing_bytes": 3,
               "overrun": 4, "invalid_value": 4, "bad_checksum": 5}


def _message_in(fsk: v23.FskBurst) -> tuple[bytes | None, CallerId | None, CallerIdError | None]:
    """Find and decode the message among the characters of one burst.

    The message type byte must be the first character that is neither filler (0x55 seizure,
    0xFF mark fill) nor one of a couple of junk characters at the carrier onset; type bytes
    further in are payload and are never tried, so a corrupted message cannot be replaced by a
    lucky fragment of itself.
    """
    chars = fsk.chars
    where = f"burst at {fsk.start / SAMPLE_RATE_HZ:.3f} s"
    first_error: CallerIdError | None = None
    junk = 0
    for i, c in enumerate(chars):
        if c.value in MESSAGE_TYPES and c.framing_ok:
            message_chars = chars[i: i + 3] if i + 1 >= len(chars) else chars[i: i + chars[i + 1].value + 3]
            message = bytes(m.value for m in message_chars)
            try:
                for k, m in enumerate(message_chars):
                    if not m.framing_ok:
                        raise CallerIdError("framing", f"framing error: character {k} (0x{m.value:02X}) of the "
                                                       f"message has no stop bit")
                return message, decode_message(message), None
            except CallerIdError as err:
                err = CallerIdError(err.reason, f"{where}: {err}")
                if err.reason != "truncated":
                    return message, None, err  # a whole message that is wrong: reject, look no further
                first_error = first_error or err
        elif c.value in FILLER_BYTES:
            continue
        junk += 1
        if junk > MAX_JUNK_BYTES:
            break
    if first_error:
        return None, None, first_error
    shown = " ".join(f"{c.value:02X}" for c in chars[:16]) + (" ..." if len(chars) > 16 else "")
    return None, None, CallerIdError("no_message", f"{where}: {len(chars)} characters but no message type byte "
                                                   f"(0x80, 0x82 or 0x04) where expected: {shown or 'none'}")


def find_bursts(samples: np.ndarray) -> list[Burst]:
    """Every FSK burst in ``samples`` with its decoded caller ID or the reason it was rejected."""
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be a 1-D signal, got shape {x.shape}")
    out = []
    for fsk in v23.demodulate(x):
        message, cid, error = _message_in(fsk)
        out.append(Burst(fsk.start, fsk.end, fsk.level_dbm0, fsk.baud, fsk.data, message, cid, error))
    return out


def decode_burst(samples: np.ndarray) -> CallerId:
    """The caller ID in a signal holding one burst anywhere (silence or noise around it is fine).

    Returns the first burst that decodes; otherwise raises ``CallerIdError`` with the most
    telling reason found (a bad checksum outranks a burst with no message at all).
    """
    bursts = find_bursts(samples)
    for burst in bursts:
        if burst.cid is not None:
            return burst.cid
    if not bursts:
        level = power_dbm0(np.asarray(samples))
        raise CallerIdError("no_burst", f"no FSK burst found in {len(samples) / SAMPLE_RATE_HZ:.3f} s of signal "
                                        f"at {level:.1f} dBm0 (no stretch with {v23.BAND_LOW_HZ:.0f}-"
                                        f"{v23.BAND_HIGH_HZ:.0f} Hz power above {v23.MIN_LEVEL_DBM0:.0f} dBm0 "
                                        f"and {v23.IN_BAND_RATIO_DB:.0f} dB above the rest of the spectrum)")
    worst = max((b.error for b in bursts), key=lambda e: _ERROR_RANK.get(e.reason, 0))
    raise worst


# ---------------------------------------------------------------------------------------------
# Streaming


class CallerIdReceiver:
    """Feed it the line's 20 ms frames between rings; it returns a ``CallerId`` once one is complete.

    Idle, it keeps only ``pre_roll_ms`` of audio and checks each frame for V.23 carrier (one
    160-point FFT). From the first frame with carrier it buffers everything, and when the carrier
    has been gone for ``hangover_ms`` (or ``max_seconds`` have piled up) it decodes the buffer once.
    A burst that fails is dropped and its error kept in ``last_error`` for diagnostics.
    """

    def __init__(self, pre_roll_ms: float = 60.0, hangover_ms: float = 60.0, max_seconds: float = 6.0):
        frame_ms = 1000.0 * FRAME_SAMPLES / SAMPLE_RATE_HZ
        self.pre_roll_frames = max(1, round(pre_roll_ms / frame_ms))
        self.hangover_frames = max(1, round(hangover_ms / frame_ms))
        self.max_samples = int(max_seconds * SAMPLE_RATE_HZ)
        self.last_error: CallerIdError | None = None
        self.reset()

    def reset(self) -> None:
        """Forget everything buffered (e.g. when the line goes off hook)."""
        self._frames: list[np.ndarray] = []
        self._buffered = 0
        self._active = False
        self._quiet_frames = 0
        self._pending: list[CallerId] = []

    def feed(self, frame: np.ndarray) -> CallerId | None:
        """Take one frame; return a caller ID completed by it (or an earlier one not yet returned)."""
        frame = np.asarray(frame, dtype=np.int16)
        self._frames.append(frame)
        self._buffered += frame.size
        if v23.frame_has_carrier(frame):
            self._active, self._quiet_frames = True, 0
        elif self._active:
            self._quiet_frames += 1
        if not self._active:
            if len(self._frames) > self.pre_roll_frames:
                del self._frames[: len(self._frames) - self.pre_roll_frames]
                self._buffered = sum(f.size for f in self._frames)
        elif self._quiet_frames >= self.hangover_frames or self._buffered >= self.max_samples:
            self._decode_buffer()
        return self._pending.pop(0) if self._pending else None

    def feed_all(self, samples: np.ndarray) -> Iterator[CallerId]:
        """Feed a whole signal frame by frame, yielding each caller ID as it completes."""
        for start in range(0, len(samples), FRAME_SAMPLES):
            cid = self.feed(samples[start:start + FRAME_SAMPLES])
            if cid is not None:
                yield cid
        while self._pending:
            yield self._pending.pop(0)

    def _decode_buffer(self) -> None:
        buffer = np.concatenate(self._frames)
        for burst in find_bursts(buffer):
            if burst.cid is not None:
                self._pending.append(burst.cid)
            else:
                self.last_error = burst.error
        keep = self._frames[-self.pre_roll_frames:] if self._quiet_frames < self.hangover_frames else []
        self._frames, self._buffered = list(keep), sum(f.size for f in keep)
        self._active, self._quiet_frames = False, 0
