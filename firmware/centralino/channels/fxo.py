"""FXO channel: a PSTN line on an Si3050 DAA (the town hall's public lines).

Incoming: ring detection, caller ID captured from the line audio after the first ring.
Outgoing: seize, wait for dial tone, dial in DTMF, then follow the call by its progress tones.
Far-end hang-up: loop-current drop, polarity reversal or Italian busy tone, whichever comes first
(Italian exchanges differ in which they give, so all three are watched).
"""

from __future__ import annotations

import numpy as np

from centralino.drivers import si3050
from centralino.media import dtmf
from centralino.media.callerid import CallerIdReceiver
from centralino.media.levels import power_dbm0
from centralino.media.progress import ProgressToneDetector

from . import events as ev
from .base import Channel
from .sources import SamplesSource

DIAL_TONE_WAIT_S = 3.0       # dial anyway when the exchange gives no recognisable dial tone
DIAL_TONE_MIN_S = 0.3        # a short pause after seizure before the first digit
DIAL_TONE_FRAMES = 5         # 100 ms of 425 Hz after seizure: the exchange is ready
# On hook at least this long between two calls, so the exchange sees the first one cleared
# before the line is seized again (Italian exchanges clear on a break of some hundreds of ms [M]).
RELEASE_GUARD_S = 1.0
REJECT_HOLD_S = 0.3          # off hook this long to take, then drop, a ringing call
SPEECH_LEVEL_DBM0 = -45.0    # a frame louder than this that is not a 425 Hz tone counts as speech
SPEECH_FRAMES_TO_ANSWER = 5  # 100 ms of speech after dialling: the far end answered
TONE_HZ = 425.0
HANGUP_SIGNALS = ("loop_drop", "polarity", "busy_tone")


_TONE_KERNEL = np.exp(-2j * np.pi * TONE_HZ * np.arange(160) / 8000.0)


def _tone_share(frame: np.ndarray) -> float:
    """Share of the frame's energy at 425 Hz, the frequency of every Italian progress tone."""
    x = frame.astype(np.float64)
    tone_power = abs(np.dot(x, _TONE_KERNEL[:x.size])) ** 2 * 2.0 / x.size
    return tone_power / max(float(np.dot(x, x)), 1e-9)


def _is_speech(frame: np.ndarray) -> bool:
    """Loud enough and not dominated by the progress-tone frequency."""
    return power_dbm0(frame) >= SPEECH_LEVEL_DBM0 and _tone_share(frame) < 0.5


def _is_tone(frame: np.ndarray) -> bool:
    return power_dbm0(frame) >= SPEECH_LEVEL_DBM0 and _tone_share(frame) >= 0.6


class FxoChannel(Channel):
    kind = "fxo"
    is_line = True

    def __init__(self, name: str, driver: si3050.Si3050Daa, clock, hangup_detect=HANGUP_SIGNALS):
        super().__init__(name, clock, driver)
        self.hangup_detect = frozenset(hangup_detect)
        # idle, ringing, rejecting, guard, seizing, dialling, outgoing, connected
        self.state = "idle"
        self._released_at = float("-inf")
        self._release_at = 0.0
        self._cid = CallerIdReceiver()
        self._cid_listening = False
        self._progress: ProgressToneDetector | None = None
        self._to_dial = ""
        self._seized_at = 0.0
        self._speech_frames = 0
        self._tone_frames = 0

    @property
    def idle(self) -> bool:
        return self.state == "idle" and self.in_service

    # -- actions
    def answer(self) -> None:
        """Take the ringing call: seize the line and listen for the far end hanging up."""
        self.driver.seize()
        self._cid_listening = False
        self.state = "connected"
        self._progress = ProgressToneDetector(names=("busy", "congestion"))

    def dial(self, number: str, emergency: bool = False) -> None:
        """Seize the line for an outgoing call and dial ``number`` once the exchange is ready.

        A line released less than RELEASE_GUARD_S ago waits on hook first, so that the new
        digits never go into the call the exchange has not yet cleared."""
        self._to_dial = number
        self._progress = None
        self._speech_frames = 0
        self._tone_frames = 0
        if self.state == "rejecting":
            return
        if self.clock() - self._released_at < RELEASE_GUARD_S:
            self.state = "guard"
        else:
            self._seize_for_dialling()

    def reject_incoming(self) -> None:
        """Take a ringing call off the line (answer, then drop it) to free the line at once."""
        self.driver.seize()
        self.state = "rejecting"
        self._release_at = self.clock() + REJECT_HOLD_S

    def _seize_for_dialling(self) -> None:
        self.driver.seize()
        self.state = "seizing"
        self._seized_at = self.clock()

    def hangup(self) -> None:
        self._release()
        self.peer = None
        self.source = None
        self._reset()

    def _release(self) -> None:
        if self.driver.off_hook:
            self.driver.release()
            self._released_at = self.clock()

    def _reset(self) -> None:
        self.state = "idle"
        self._cid.reset()
        self._cid_listening = False
        self._progress = None
        self._to_dial = ""

    # -- events
    def service_interrupt(self) -> None:
        self._handle(self.driver.handle_interrupt())

    def tick(self) -> None:
        self._handle(self.driver.tick())
        now = self.clock()
        if self.state == "rejecting" and now >= self._release_at:
            self._release()
            self.state = "guard" if self._to_dial else "idle"
        elif self.state == "guard" and now - self._released_at >= RELEASE_GUARD_S:
            self._seize_for_dialling()
        elif self.state == "seizing":
            waited = self.clock() - self._seized_at
            if waited >= DIAL_TONE_WAIT_S or (waited >= DIAL_TONE_MIN_S and self._tone_frames >= DIAL_TONE_FRAMES):
                self.state = "dialling"
                self.play(SamplesSource(dtmf.generate(self._to_dial), name="dialling"))
        elif self.state == "dialling" and self.source is None:
            self.state = "outgoing"
            self._progress = ProgressToneDetector(names=("busy", "congestion", "ringback"))

    def receive(self, frame: np.ndarray) -> None:
        super().receive(frame)
        now = self.clock()
        if self._cid_listening:
            cid = self._cid.feed(frame)
            if cid is not None:
                self._cid_listening = False
                self.emit(ev.CallerIdReceived(cid, now))
        if self.state == "seizing" and _is_tone(frame):
            self._tone_frames += 1
        if self._progress is None:
            return
        for heard in self._progress.feed(frame):
            if self.state == "outgoing":
                self.emit(ev.Progress(heard.tone, now))
            elif self.state == "connected" and heard.tone in ("busy", "congestion") \
                    and "busy_tone" in self.hangup_detect:
                self.emit(ev.RemoteHangup("busy_tone", now))
        if self.state == "outgoing":
            self._speech_frames = self._speech_frames + 1 if _is_speech(frame) else 0
            if self._speech_frames >= SPEECH_FRAMES_TO_ANSWER:
                self.state = "connected"
                self._progress = ProgressToneDetector(names=("busy", "congestion"))
                self.emit(ev.Answered(now))

    def _handle(self, driver_events) -> None:
        for event in driver_events:
            if isinstance(event, si3050.RingStart):
                if self.state == "idle":
                    self.state = "ringing"
                    self.emit(ev.Incoming(event.at_s))
            elif isinstance(event, si3050.RingEnd):
                if self.state == "ringing" and event.first:
                    self._cid.reset()
                    self._cid_listening = True
            elif isinstance(event, si3050.RingingStopped):
                if self.state == "ringing":
                    self._reset()
                    self.emit(ev.RingingStopped(event.at_s))
            elif isinstance(event, si3050.LoopCurrentDrop):
                self._far_end_gone("loop_drop", event.at_s)
            elif isinstance(event, si3050.PolarityReversal):
                self._far_end_gone("polarity", event.at_s)
            elif isinstance(event, si3050.ChipFailed):  # issue 18 hook: a chip lost for good
                self.mark_faulty(event.problem)

    def _far_end_gone(self, how: str, at_s: float) -> None:
        if how in self.hangup_detect and self.state in ("connected", "outgoing", "dialling", "seizing"):
            self.emit(ev.RemoteHangup(how, at_s))

    def status(self) -> dict:
        status = super().status()
        status["state"] = self.state
        if self.in_service:
            line = self.driver.line_status()
            status.update(line_voltage_v=line.voltage_v, loop_current_ma=line.loop_current_ma,
                          line_present=line.line_present)
        return status
