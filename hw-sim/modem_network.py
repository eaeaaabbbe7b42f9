"""The mobile network around the simulated GSM modem: remote parties and the SMS centre.

World face for scenarios and tests. A ``Party`` is a mobile or fixed phone somewhere on the
network: it answers after a delay, is busy, or cannot be reached; once connected it speaks its
``Voice`` (a test tone) and records what it hears, can press DTMF digits and hang up. The
failover mobile of the switchboard is simply a party that answers and speaks a tone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .voices import Voice

FAILOVER_ANSWER_AFTER_S = 2.0
FAILOVER_TONE_HZ = 1050


@dataclass
class Sms:
    """One text message: who sent it, to whom, what it says."""

    sender: str
    to: str
    text: str


class Party:
    """A remote telephone on the mobile network.

    ``answer_after_s=None`` means it rings until the network gives up (NO ANSWER).
    """

    def __init__(self, number: str, voice: Voice | None = None, *, answer_after_s: float | None = 1.0,
                 busy: bool = False, unreachable: bool = False):
        self.number = number
        self.voice = voice
        self.answer_after_s = answer_after_s
        self.busy = busy
        self.unreachable = unreachable
        self.digits_heard: list[str] = []
        self._heard: list[np.ndarray] = []
        self.connected = False
        self.call = None  # the modem call this party is in, set by the modem model

    # -- what the party hears and says (called by the modem model)
    def hear(self, frame: np.ndarray) -> None:
        self._heard.append(np.asarray(frame, dtype=np.int16))

    def speak(self) -> np.ndarray:
        if self.voice is None:
            return np.zeros(160, dtype=np.int16)
        return self.voice.frame()

    # -- world face
    def heard(self, last_frames: int | None = None) -> np.ndarray:
        """Every sample heard so far (or only the last ``last_frames`` frames)."""
        frames = self._heard if last_frames is None else self._heard[-last_frames:]
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)

    def press(self, digits: str) -> None:
        """Press keys during a connected call; the modem reports each as a DTMF URC."""
        if self.call is None:
            raise RuntimeError(f"party {self.number} is not in a call")
        self.call.far_end_dtmf(digits)

    def hang_up(self) -> None:
        if self.call is not None:
            self.call.far_end_hangup()


@dataclass
class MobileNetwork:
    """The operator's network: parties by number, signal, operator name, the SMS centre."""

    operator: str = "I TIM"
    rssi: int = 20  # +CSQ units: -113 + 2*20 = -73 dBm
    parties: dict[str, Party] = field(default_factory=dict)
    sms_outbox: list[Sms] = field(default_factory=list)  # messages the modem sent

    def add_party(self, number: str, voice: Voice | None = None, *, answer_after_s: float | None = 1.0,
                  busy: bool = False, unreachable: bool = False) -> Party:
        party = Party(number, voice, answer_after_s=answer_after_s, busy=busy, unreachable=unreachable)
        self.parties[number] = party
        return party

    def add_failover_mobile(self, number: str, tone_hz: float = FAILOVER_TONE_HZ) -> Party:
        """The technician's mobile at the failover number: answers after 2 s, speaks a test tone."""
        return self.add_party(number, Voice(tone_hz), answer_after_s=FAILOVER_ANSWER_AFTER_S)

    def lookup(self, number: str) -> Party | None:
        return self.parties.get(number)
