"""What the GSM modem driver reports: frozen event records and its one error type."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ChipError


class ModemError(ChipError):
    """A command that failed or timed out; names the command and what the modem said."""

    def __init__(self, port: str, command: str, problem: str, received: list[str] | None = None):
        self.command = command
        self.received = list(received or [])
        detail = f"{command!r}: {problem}"
        if received is not None:
            detail += f" (received {self.received!r})"
        super().__init__(port, detail)


@dataclass(frozen=True)
class IncomingCall:
    number: str | None  # None when the caller withholds it
    at_s: float


@dataclass(frozen=True)
class CallAlerting:
    """The far end of an outgoing call is ringing (``+CLCC`` stat 3)."""
    at_s: float


@dataclass(frozen=True)
class CallAnswered:
    at_s: float


@dataclass(frozen=True)
class CallEnded:
    reason: str  # "remote hangup", "local hangup", "busy", "no answer", "unreachable", "failed", "modem lost"
    at_s: float


@dataclass(frozen=True)
class Dtmf:
    digit: str
    at_s: float


@dataclass(frozen=True)
class SmsReceived:
    index: int
    sender: str
    text: str
    at_s: float


@dataclass(frozen=True)
class RegistrationChanged:
    registration: str  # home / roaming / searching / denied / none / unknown
    at_s: float


@dataclass(frozen=True)
class ModemLost:
    reason: str
    at_s: float


@dataclass(frozen=True)
class ModemRecovered:
    recovery_s: float
    recoveries: int
    at_s: float
