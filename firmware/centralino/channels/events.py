"""What a channel tells the call engine. Plain frozen records; ``at_s`` is on the media clock."""

from __future__ import annotations

from dataclasses import dataclass

from centralino.media.callerid import CallerId


@dataclass(frozen=True)
class OffHook:
    at_s: float


@dataclass(frozen=True)
class OnHook:
    at_s: float


@dataclass(frozen=True)
class Flash:
    """Hook flash (the "R" key): the switchboard's transfer and hold key."""
    at_s: float


@dataclass(frozen=True)
class Digit:
    digit: str
    via: str  # "dtmf" or "pulse"
    at_s: float


@dataclass(frozen=True)
class Incoming:
    """A line started ringing. The caller ID may follow later (it comes after the first ring)."""
    at_s: float


@dataclass(frozen=True)
class CallerIdReceived:
    caller_id: CallerId
    at_s: float


@dataclass(frozen=True)
class RingingStopped:
    """The caller gave up before anyone answered."""
    at_s: float


@dataclass(frozen=True)
class Progress:
    """A call-progress tone heard from the far end on an outgoing call: ringback, busy, congestion."""
    tone: str
    at_s: float


@dataclass(frozen=True)
class Answered:
    """The far end of an outgoing line call answered (speech heard after dialling)."""
    at_s: float


@dataclass(frozen=True)
class RemoteHangup:
    """The far end hung up; ``how`` is loop_drop, polarity or busy_tone."""
    how: str
    at_s: float


@dataclass(frozen=True)
class DialFailed:
    """An outgoing call could not be placed on this line: no loop current after seizure (the line
    is dead), no dial tone, the modem's ``+CME ERROR``, a SIP 4xx/5xx or a timeout. The engine
    then tries the next path (an emergency call) or gives the caller congestion."""
    reason: str
    at_s: float


@dataclass(frozen=True)
class PortFaulty:
    """The port's hardware failed (a driver call raised): its calls end, the others go on."""
    reason: str
    at_s: float


@dataclass(frozen=True)
class PortRestored:
    """A faulty port was re-initialised and is back in service."""
    at_s: float


ChannelEvent = (OffHook | OnHook | Flash | Digit | Incoming | CallerIdReceived | RingingStopped
                | Progress | Answered | RemoteHangup | DialFailed | PortFaulty | PortRestored)
