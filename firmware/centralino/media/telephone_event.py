"""RFC 4733 telephone-events for DTMF: the 4-byte payload, a sender and a receiver.

Why events rather than tones: G.711 carries DTMF well, but a jitter buffer's concealment or a
lossy hop can cut a tone, while an event survives loss (the end packet is sent three times) and
costs the receiver no detector. The sender is driven by the media clock: one call of ``next``
per 20 ms tick, so events interleave with the voice stream the way RFC 4733 section 2.5 wants
(the voice pauses, the timestamp of the event stays the one of its first packet).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from .frames import FRAME_SAMPLES, SAMPLE_RATE_HZ

EVENT_CODES = "0123456789*#ABCD"  # event codes 0..15 (RFC 4733 section 3.2)
EVENT_PAYLOAD_BYTES = 4
END_PACKETS = 3  # the final packet is sent three times (section 2.5.1.4)
DEFAULT_VOLUME_DBM0 = 10  # carried as -10 dBm0
MAX_DURATION_UNITS = 0xFFFF
INTER_DIGIT_GAP_TICKS = 2  # 40 ms of voice between two queued digits

_EVENT = struct.Struct("!BBH")


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One event payload: code, end bit, volume (-dBm0) and duration in timestamp units."""

    code: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        """The DTMF key this event stands for, or None for other events (flash, tones)."""
        return EVENT_CODES[self.code] if self.code < len(EVENT_CODES) else None

    def to_bytes(self) -> bytes:
        return _EVENT.pack(self.code, (0x80 if self.end else 0) | (self.volume & 0x3F),
                           min(self.duration, MAX_DURATION_UNITS))


def parse_event(payload: bytes) -> TelephoneEvent:
    """The first event of a payload (later ones are redundancy for older events)."""
    if len(payload) < EVENT_PAYLOAD_BYTES:
        raise ValueError(f"telephone-event payload of {len(payload)} bytes, need {EVENT_PAYLOAD_BYTES}")
    code, flags, duration = _EVENT.unpack_from(payload)
    return TelephoneEvent(code, bool(flags & 0x80), flags & 0x3F, duration)


def event_code(digit: str) -> int:
    """Event code of a DTMF key; ValueError names the bad key."""
    d = digit.upper() if isinstance(digit, str) else digit
    if not isinstance(d, str) or len(d) != 1 or d not in EVENT_CODES:
        raise ValueError(f"{digit!r} is not a DTMF key: expected one of {EVENT_CODES}")
    return EVENT_CODES.index(d)


@dataclass(frozen=True, slots=True)
class EventTick:
    """What the sender puts out on one tick: a packet, and whether it opens the event (marker)."""

    event: TelephoneEvent
    marker: bool


class EventSender:
    """Queue of digits turned into one event packet (or a few end packets) per tick.

    The caller owns the timestamp: ``next(timestamp)`` is given the tick's media timestamp and
    returns the packets for this tick with the timestamp they must carry (the event start), or
    None when no event is in progress and voice may flow.
    """

    def __init__(self):
        self._queue: deque[tuple[int, int]] = deque()  # (code, duration in ticks)
        self._code = -1
        self._ticks_total = 0
        self._ticks_done = 0
        self._start_ts = 0
        self._gap = 0

    @property
    def busy(self) -> bool:
        """True while an event or its trailing gap is in progress or digits wait."""
        return self._code >= 0 or bool(self._queue) or self._gap > 0

    def queue(self, digit: str, duration_ms: int) -> None:
        code = event_code(digit)
        if not 40 <= duration_ms <= 5000:
            raise ValueError(f"DTMF duration {duration_ms} ms outside 40..5000 ms")
        self._queue.append((code, max(1, round(duration_ms / (1000 * FRAME_SAMPLES / SAMPLE_RATE_HZ)))))

    def next(self, timestamp: int) -> tuple[int, list[EventTick]] | None:
        """Packets for the tick whose media timestamp is ``timestamp``; None: voice may flow."""
        if self._code < 0:
            if self._gap > 0:
                self._gap -= 1
                return None
            if not self._queue:
                return None
            self._code, self._ticks_total = self._queue.popleft()
            self._ticks_done = 0
            self._start_ts = timestamp
        self._ticks_done += 1
        duration = self._ticks_done * FRAME_SAMPLES
        marker = self._ticks_done == 1
        if self._ticks_done < self._ticks_total:
            return self._start_ts, [EventTick(TelephoneEvent(self._code, False, DEFAULT_VOLUME_DBM0, duration), marker)]
        final = TelephoneEvent(self._code, True, DEFAULT_VOLUME_DBM0, duration)
        self._code = -1
        self._gap = INTER_DIGIT_GAP_TICKS
        return self._start_ts, [EventTick(final, marker and i == 0) for i in range(END_PACKETS)]


class EventReceiver:
    """Reports each event once, keyed by its RTP timestamp, however many packets carry it."""

    REMEMBERED_EVENTS = 32

    def __init__(self):
        self._seen: deque[tuple[int, int]] = deque(maxlen=self.REMEMBERED_EVENTS)

    def reset(self) -> None:
        """Forget seen events (a new stream: new SSRC)."""
        self._seen.clear()

    def feed(self, ssrc: int, timestamp: int, payload: bytes) -> str | None:
        """The digit to report for this packet, or None (repeat, end of a known event, not a key)."""
        event = parse_event(payload)
        key = (ssrc, timestamp)
        if key in self._seen:
            return None
        self._seen.append(key)
        return event.digit
