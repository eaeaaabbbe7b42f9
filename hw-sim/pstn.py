"""The public exchange behind the FXO ports: subscriber lines, remote parties, tones, caller ID.

World face for scenarios and tests. Each ``PstnLine`` is wired to an Si3050 model with
``daa.attach(line)`` and gives it what a real line gives a DAA: DC voltage with a polarity, loop
current when the DAA is off-hook, ring voltage in the Italian cadence (1 s on, 4 s off), and audio.

- Incoming: ``await exchange.call_in(party, caller_id)`` rings the line; the caller-ID V.23 burst
  (ETSI EN 300 659-1) is sent in the pause after the first ring, where a DAA in on-hook monitor
  hears it. Seizing the line while it rings connects the call.
- Outgoing: seizing an idle line gives Italian dial tone; DTMF digits are detected in the audio
  from the switchboard. The number ends when it matches a directory entry exactly or after
  ``INTERDIGIT_TIMEOUT_S`` without a digit; then ringback until the party answers (after
  ``answer_after_s``, or when told to with ``line.far_end_answers()`` if that is None), busy tone
  for a busy party, congestion for an unreachable number or one nobody has (unless
  ``exchange.unknown_number`` makes a party for it).
- Connected: each remote party speaks its ``Voice`` and records what it hears (``party.heard()``).
- Far-end hang-up (``party.hang_up()``) is signalled the way the line is set up to
  (``line.hangup_signal``): ``"loop_drop"`` opens the loop for ``LOOP_OPEN_S`` (no voltage, no
  current), then the voltage returns but no loop current flows until the switchboard releases;
  ``"polarity"`` reverses the line polarity; ``"busy_tone"`` (the default, what most Italian
  exchanges give) plays busy tone until the switchboard releases. Releasing clears the call.

Time-based behaviour runs in asyncio tasks (ring cadence, answer delay, loop open) or is
computed lazily from ``clock()`` (whether ring voltage is present now); randomness is seeded.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from centralino.media import tones
from centralino.media.callerid import CallerId, encode_burst
from centralino.media.dtmf import DtmfDetector, generate as dtmf_tones
from centralino.media.frames import FRAME_SAMPLES

from .voices import Voice

HANGUP_SIGNALS = ("loop_drop", "polarity", "busy_tone")
DEFAULT_HANGUP_SIGNAL = "busy_tone"

RING_ON_S = 1.0
RING_OFF_S = 4.0
RING_PERIOD_S = RING_ON_S + RING_OFF_S
CALLER_ID_DELAY_S = 0.5  # after the end of the first ring [M: ETSI allows 0.5-2 s]
ON_HOOK_VOLTAGE_V = 48.0
OFF_HOOK_VOLTAGE_V = 8.0
LOOP_CURRENT_MA = 25.0
LOOP_CURRENT_JITTER_MA = 0.5
LOOP_OPEN_S = 0.6  # "loop_drop": how long the exchange opens the loop
INTERDIGIT_TIMEOUT_S = 4.0
FIRST_DIGIT_TIMEOUT_S = 15.0  # dial tone without any digit, then congestion
HEARD_HISTORY_S = 900.0  # what a party keeps of what it heard (a long-running world stays bounded)
HEARD_FRAMES = int(HEARD_HISTORY_S / 0.020)


@dataclass
class PstnCall:
    """One call through the exchange, as the remote party sees it."""

    direction: str  # "in" (to the switchboard) or "out" (from it)
    party: "RemoteParty | None"
    number: str
    started_at_s: float
    caller_id: CallerId | None = None
    answered: bool = False
    answered_at_s: float | None = None
    ended: bool = False
    ended_at_s: float | None = None
    ended_by: str | None = None  # "caller", "party", "switchboard"


class RemoteParty:
    """Somebody out on the public network: answers after a delay, speaks a voice, listens."""

    def __init__(self, exchange: "PstnExchange", number: str, voice: Voice, answer_after_s: float | None,
                 busy: bool, unreachable: bool):
        self.exchange = exchange
        self.number = number
        self.voice = voice
        self.answer_after_s = answer_after_s
        self.busy = busy
        self.unreachable = unreachable
        self.call: PstnCall | None = None
        self.line: "PstnLine | None" = None  # the line of the switchboard it is talking to
        self._heard: deque[tuple[float, np.ndarray]] = deque(maxlen=HEARD_FRAMES)

    @property
    def in_call(self) -> bool:
        return self.call is not None and not self.call.ended

    def heard(self, since_s: float | None = None) -> np.ndarray:
        """Everything the party heard while connected (int16), optionally from ``since_s``."""
        frames = [f for t, f in self._heard if since_s is None or t >= since_s]
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)

    def press(self, keys: str) -> None:
        """The party presses keys on their phone: DTMF goes down the line in place of their voice."""
        if self.line is None or not self.in_call:
            raise RuntimeError(f"{self.number} is not in a call: cannot press {keys!r}")
        self.line._queued = np.concatenate([self.line._queued, dtmf_tones(keys).astype(np.int16)])

    def hang_up(self) -> None:
        """The party puts the phone down; the exchange signals it on the line (a caller whose
        call still rings simply stops ringing)."""
        if self.line is not None and self.in_call:
            self.line._far_end_hung_up()

    def recent_frames(self, since_s: float) -> list[tuple[float, np.ndarray]]:
        """(time_s, frame) heard from ``since_s`` on, oldest first, without copying the rest."""
        recent = list(itertools.takewhile(lambda item: item[0] >= since_s, reversed(self._heard)))
        recent.reverse()
        return recent

    @property
    def heard_frames(self) -> list[tuple[float, np.ndarray]]:
        """(time_s, frame) of what it heard while connected (the last ``HEARD_HISTORY_S``)."""
        return list(self._heard)

    def _listen(self, at_s: float, frame: np.ndarray) -> None:
        self._heard.append((at_s, np.asarray(frame, dtype=np.int16).copy()))


class PstnLine:
    """One subscriber line of the exchange, ending at an FXO port of the switchboard."""

    def __init__(self, exchange: "PstnExchange", port: str, number: str,
                 hangup_signal: str = DEFAULT_HANGUP_SIGNAL):
        self.exchange = exchange
        self.port = port
        self.number = number
        self.hangup_signal = hangup_signal
        self.dialled_numbers: list[str] = []
        self.call: PstnCall | None = None
        self.state = "idle"  # idle, ringing, dialtone, routing, ringback, connected, busy,
        #                      congestion, far_end_gone
        self._clock = exchange.clock
        self._listeners: list[Callable[[], None]] = []
        self._off_hook = False
        self._plugged = True
        self._polarity = 1
        self._loop_open_until_s: float | None = None
        self._loop_dropped = False
        self._ring_from_s: float | None = None
        self._ring_until_s: float | None = None
        self._tone: tones.ToneGenerator | None = None
        self._queued = np.zeros(0, dtype=np.int16)
        self._dtmf: DtmfDetector | None = None
        self._digits = ""
        self._last_digit_s = 0.0
        self._tasks: set[asyncio.Task] = set()

    @property
    def hangup_signal(self) -> str:
        return self._hangup_signal

    @hangup_signal.setter
    def hangup_signal(self, value: str) -> None:
        if value not in HANGUP_SIGNALS:
            raise ValueError(f"line {self.port}: hangup_signal must be one of {HANGUP_SIGNALS}, got {value!r}")
        self._hangup_signal = value

    # ------------------------------------------------------------------ what the DAA sees
    @property
    def ringing(self) -> bool:
        """Ring voltage on the line right now (Italian cadence from the start of ringing)."""
        if self._ring_from_s is None or not self._plugged:
            return False
        now = self._clock()
        if now < self._ring_from_s or (self._ring_until_s is not None and now >= self._ring_until_s):
            return False
        return (now - self._ring_from_s) % RING_PERIOD_S < RING_ON_S

    @property
    def voltage_v(self) -> float:
        if not self._plugged or self._loop_open():
            return 0.0
        level = OFF_HOOK_VOLTAGE_V if self._off_hook and not self._loop_dropped else ON_HOOK_VOLTAGE_V
        return level * self._polarity

    @property
    def polarity(self) -> int:
        return self._polarity

    def loop_current_ma(self, off_hook: bool) -> float:
        if not off_hook or not self._plugged or self._loop_open() or self._loop_dropped:
            return 0.0
        jitter = self.exchange.rng.uniform(-LOOP_CURRENT_JITTER_MA, LOOP_CURRENT_JITTER_MA)
        return LOOP_CURRENT_MA + float(jitter)

    def on_hook_state(self, off_hook: bool) -> None:
        """The DAA closed (True) or opened (False) the loop."""
        if off_hook == self._off_hook:
            return
        self._off_hook = off_hook
        if off_hook:
            self._seized()
        else:
            self._released()
        self._notify()

    def to_line(self, frame: np.ndarray) -> None:
        """20 ms of audio from the switchboard (only while it is off-hook)."""
        now = self._clock()
        if self.state in ("dialtone", "collecting"):
            self._collect_digits(frame, now)
        elif self.state == "connected" and self.call is not None and self.call.party is not None:
            self.call.party._listen(now, frame)

    def from_line(self) -> np.ndarray:
        """20 ms of audio towards the switchboard."""
        self._check_timeouts()
        if self._queued.size:
            frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
            take = self._queued[:FRAME_SAMPLES]
            frame[: take.size] = take
            self._queued = self._queued[FRAME_SAMPLES:]
            return frame
        if self._tone is not None:
            return self._tone.frame()
        if self.state == "connected" and self.call is not None and self.call.party is not None:
            return self.call.party.voice.frame()
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Called whenever ringing, voltage or loop current change (the DAA model re-reads them)."""
        self._listeners.append(callback)

    # ------------------------------------------------------------------ world face
    def unplug(self) -> None:
        self._plugged = False
        self._notify()

    def plug(self) -> None:
        self._plugged = True
        self._notify()

    @property
    def off_hook(self) -> bool:
        return self._off_hook

    @property
    def plugged(self) -> bool:
        return self._plugged

    # ------------------------------------------------------------------ incoming
    def _start_ringing(self, call: PstnCall, give_up_after_s: float | None) -> None:
        now = self._clock()
        self.call = call
        self.state = "ringing"
        self._ring_from_s = now
        self._ring_until_s = None
        self._spawn(self._ring_cadence(call, give_up_after_s))
        self._notify()

    async def _ring_cadence(self, call: PstnCall, give_up_after_s: float | None) -> None:
        start = self._ring_from_s
        give_up_at = None if give_up_after_s is None else start + give_up_after_s
        cycle = 0
        while self.state == "ringing" and self.call is call:
            boundaries = [start + cycle * RING_PERIOD_S + RING_ON_S]
            if cycle == 0 and call.caller_id is not None:
                boundaries.append(boundaries[0] + CALLER_ID_DELAY_S)
            boundaries.append(start + (cycle + 1) * RING_PERIOD_S)
            for index, at in enumerate(boundaries):
                if give_up_at is not None and give_up_at <= at:
                    await self._sleep_until(give_up_at)
                    if self.state == "ringing" and self.call is call:
                        self._caller_gave_up(call)
                    return
                await self._sleep_until(at)
                if self.state != "ringing" or self.call is not call:
                    return
                if cycle == 0 and index == 1 and call.caller_id is not None:
                    self._queued = encode_burst(call.caller_id)
                self._notify()
            cycle += 1

    def _caller_gave_up(self, call: PstnCall) -> None:
        self._ring_until_s = self._clock()
        self._end_call(call, "caller")
        self.state = "idle"
        self._queued = np.zeros(0, dtype=np.int16)
        self._notify()

    # ------------------------------------------------------------------ hook changes
    def _seized(self) -> None:
        now = self._clock()
        if self.state == "ringing" and self.call is not None:
            self._ring_until_s = now  # ring trip: the ring voltage goes at once
            self._queued = np.zeros(0, dtype=np.int16)
            self.call.answered = True
            self.call.answered_at_s = now
            self.state = "connected"
            return
        self.state = "dialtone"
        self._tone = tones.ToneGenerator(tones.ITALY["dial"])
        self._dtmf = DtmfDetector()
        self._digits = ""
        self._last_digit_s = now

    def _released(self) -> None:
        if self.call is not None and not self.call.ended:
            self._end_call(self.call, "switchboard")
        self.state = "idle"
        self._tone = None
        self._dtmf = None
        self._polarity = 1
        self._loop_dropped = False
        self._loop_open_until_s = None
        self._ring_from_s = self._ring_until_s = None

    # ------------------------------------------------------------------ outgoing
    def _collect_digits(self, frame: np.ndarray, now: float) -> None:
        if self._dtmf is None:
            return
        for key in self._dtmf.feed(frame):
            self._digits += key.digit
            self._last_digit_s = now
            self._tone = None  # dial tone stops at the first digit
            self.state = "collecting"
            if self._digits in self.exchange.parties:
                self._route()
                return

    def _check_timeouts(self) -> None:
        now = self._clock()
        if self.state == "collecting" and now - self._last_digit_s >= INTERDIGIT_TIMEOUT_S:
            self._route()
        elif self.state == "dialtone" and now - self._last_digit_s >= FIRST_DIGIT_TIMEOUT_S:
            self._play("congestion")
            self.state = "congestion"

    def _route(self) -> None:
        number, self._digits, self._dtmf = self._digits, "", None
        self.dialled_numbers.append(number)
        self.exchange.dialled_numbers.append(number)
        party = self.exchange.parties.get(number)
        if party is None and self.exchange.unknown_number is not None:
            party = self.exchange.unknown_number(number)
        now = self._clock()
        self.call = PstnCall("out", party, number, now)
        if party is None or party.unreachable:
            self.state = "congestion"
            self._play("congestion")
        elif party.busy or party.in_call:
            self.state = "busy"
            self._play("busy")
        else:
            party.call, party.line = self.call, self
            self.state = "ringback"
            self._play("ringback")
            self._spawn(self._answer_later(self.call, party))

    async def _answer_later(self, call: PstnCall, party: "RemoteParty") -> None:
        if party.answer_after_s is None:
            return  # rings until someone calls far_end_answers()
        await asyncio.sleep(party.answer_after_s)
        if self.call is call:
            self.far_end_answers()

    def far_end_answers(self) -> bool:
        """The party the switchboard called through this line answers now (False: none rings)."""
        call = self.call
        if call is None or self.state != "ringback" or call.ended:
            return False
        call.answered = True
        call.answered_at_s = self._clock()
        self._tone = None
        self.state = "connected"
        return True

    # ------------------------------------------------------------------ far end
    def _far_end_hung_up(self) -> None:
        call = self.call
        if call is None or call.ended:
            return
        if self.state == "ringing":  # the caller gives up before the switchboard answers
            self._caller_gave_up(call)
            return
        self._end_call(call, "party")
        self.state = "far_end_gone"
        if self.hangup_signal == "loop_drop":
            self._loop_open_until_s = self._clock() + LOOP_OPEN_S
            self._loop_dropped = True
            self._spawn(self._loop_closes(self._loop_open_until_s))
        elif self.hangup_signal == "polarity":
            self._polarity = -self._polarity
        else:
            self._play("busy")
        self._notify()

    async def _loop_closes(self, at_s: float) -> None:
        await self._sleep_until(at_s)
        self._notify()  # voltage back (still no loop current until the switchboard releases)

    def _loop_open(self) -> bool:
        return self._loop_open_until_s is not None and self._clock() < self._loop_open_until_s

    # ------------------------------------------------------------------ helpers
    def _end_call(self, call: PstnCall, by: str) -> None:
        call.ended = True
        call.ended_at_s = self._clock()
        call.ended_by = by

    def _play(self, name: str) -> None:
        self._tone = tones.ToneGenerator(tones.ITALY[name])

    async def _sleep_until(self, at_s: float) -> None:
        delay = at_s - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


class PstnExchange:
    """The public network: a directory of remote parties and the switchboard's subscriber lines."""

    def __init__(self, clock: Callable[[], float], seed: int = 0):
        self.clock = clock
        self.rng = np.random.default_rng(seed)
        self.parties: dict[str, RemoteParty] = {}
        self.lines: dict[str, PstnLine] = {}
        self.dialled_numbers: list[str] = []
        # Called with a dialled number nobody has; returns a party for it, or None (congestion).
        self.unknown_number: Callable[[str], RemoteParty | None] | None = None

    def add_party(self, number: str, voice: Voice, answer_after_s: float | None = 3.0, busy: bool = False,
                  unreachable: bool = False) -> RemoteParty:
        if not number or not all(c in "0123456789*#" for c in number):
            raise ValueError(f"party number must be DTMF digits, got {number!r}")
        party = RemoteParty(self, number, voice, answer_after_s, busy, unreachable)
        self.parties[number] = party
        return party

    def line(self, port_name: str, number: str, hangup_signal: str = DEFAULT_HANGUP_SIGNAL) -> PstnLine:
        """The subscriber line ending at ``port_name`` (created on first use)."""
        if port_name not in self.lines:
            self.lines[port_name] = PstnLine(self, port_name, number, hangup_signal)
        return self.lines[port_name]

    async def call_in(self, from_party: RemoteParty, caller_id: CallerId | None = None,
                      give_up_after_s: float | None = None, *, line: PstnLine | str | None = None) -> PstnCall:
        """``from_party`` calls the switchboard: the line rings; returns the call at once."""
        target = self._pick_line(line)
        if target.state != "idle" or target.off_hook:
            raise RuntimeError(f"line {target.port} is busy ({target.state}); cannot ring it")
        call = PstnCall("in", from_party, target.number, self.clock(), caller_id=caller_id)
        from_party.call, from_party.line = call, target
        target._start_ringing(call, give_up_after_s)
        return call

    def _pick_line(self, line: PstnLine | str | None) -> PstnLine:
        if isinstance(line, PstnLine):
            return line
        if isinstance(line, str):
            for candidate in self.lines.values():
                if line in (candidate.port, candidate.number):
                    return candidate
            raise KeyError(f"no subscriber line with port or number {line!r}")
        for candidate in self.lines.values():
            if candidate.state == "idle" and not candidate.off_hook:
                return candidate
        raise RuntimeError("no idle subscriber line to ring")
