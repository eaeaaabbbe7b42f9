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
from .base import Channel, port_boundary
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
# Italian ringback is 1 s of 425 Hz, busy 0.5 s, congestion 0.2 s and dial tone's longest burst
# 0.6 s: 0.8 s of unbroken tone after dialling can only be the far end ringing, said at once
# instead of after the two whole 5 s cadences the general detector needs.
RINGBACK_ON_FRAMES = 40
LOOP_CHECK_S = 0.3           # after seizure: no loop current by then means a dead line
LOOP_CURRENT_MIN_MA = 5.0    # below this the exchange is not feeding the loop (the DAA's drop threshold)
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
    restartable = True

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
        self._strict = False  # fail (DialFailed) without dial tone, instead of dialling blind
        self._tone_run = 0  # frames of unbroken 425 Hz while the call goes out
        self._ringback_said = False
        self._loop_checked = False

    @property
    def idle(self) -> bool:
        return self.state == "idle" and self.in_service

    def line_present(self) -> bool:
        """The exchange's battery is on the line (read now from the DAA; False when it cannot say)."""
        if not self.in_service:
            return False
        status = self.line_status()
        return bool(status is not None and status.line_present)

    @port_boundary
    def line_status(self):
        return self.driver.line_status()

    # -- actions
    @port_boundary
    def answer(self) -> None:
        """Take the ringing call: seize the line and listen for the far end hanging up."""
        self.driver.seize()
        self._cid_listening = False
        self.state = "connected"
        self._progress = ProgressToneDetector(names=("busy", "congestion"))

    @port_boundary
    def dial(self, number: str, emergency: bool = False, strict: bool = False) -> None:
        """Seize the line for an outgoing call and dial ``number`` once the exchange is ready.

        A line released less than RELEASE_GUARD_S ago waits on hook first, so that the new
        digits never go into the call the exchange has not yet cleared. A line that turns out
        dead (no loop current once seized) reports ``DialFailed``; with ``strict`` so does one that
        gives no dial tone (an emergency call that has another path to try), where an ordinary
        call dials blind after DIAL_TONE_WAIT_S (some exchanges give no recognisable tone)."""
        self._to_dial = number
        self._progress = None
        self._speech_frames = 0
        self._tone_frames = 0
        self._strict = strict
        self._loop_checked = False
        self._tone_run = 0
        self._ringback_said = False
        if self.state == "rejecting":
            return
        if self.clock() - self._released_at < RELEASE_GUARD_S:
            self.state = "guard"
        else:
            self._seize_for_dialling()

    @port_boundary
    def reject_incoming(self) -> None:
        """Take a ringing call off the line (answer, then drop it) to free the line at once."""
        self.driver.seize()
        self.state = "rejecting"
        self._release_at = self.clock() + REJECT_HOLD_S

    def _seize_for_dialling(self) -> None:
        self.driver.seize()
        self.state = "seizing"
        self._seized_at = self.clock()

    @port_boundary
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
            if not self._loop_checked and waited >= LOOP_CHECK_S:
                self._loop_checked = True
                if self.driver.line_status().loop_current_ma < LOOP_CURRENT_MIN_MA:
                    self._dial_failed("no loop current once seized: the line is dead", now)
                    return
            if self._strict and waited >= DIAL_TONE_WAIT_S and self._tone_frames < DIAL_TONE_FRAMES:
                self._dial_failed(f"no dial tone within {DIAL_TONE_WAIT_S:g} s", now)
                return
            if waited >= DIAL_TONE_WAIT_S or (waited >= DIAL_TONE_MIN_S and self._tone_frames >= DIAL_TONE_FRAMES):
                self.state = "dialling"
                self.play(SamplesSource(dtmf.generate(self._to_dial), name="dialling"))
        elif self.state == "dialling" and self.source is None:
            self.state = "outgoing"
            self._progress = ProgressToneDetector(names=("busy", "congestion", "ringback"))

    def _dial_failed(self, reason: str, now: float) -> None:
        self.hangup()
        self.emit(ev.DialFailed(reason, now))

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
            self._tone_run = self._tone_run + 1 if _is_tone(frame) else 0
            if self._tone_run == RINGBACK_ON_FRAMES and not self._ringback_said:
                self._ringback_said = True
                self.emit(ev.Progress("ringback", now))
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
            elif isinstance(event, si3050.ChipFailed):  # a chip lost for good: the port supervisor retries
                self.fail(event.problem)
            elif isinstance(event, si3050.ChipRestored) and self.state != "idle":
                # the DAA reset itself and was set up again on hook: whatever call it carried is gone
                state, self.state = self.state, "idle"
                self._reset()
                self.emit(ev.DialFailed("the DAA reset itself", event.at_s) if state in ("guard", "seizing", "dialling")
                          else ev.RemoteHangup("chip reset", event.at_s))

    def _far_end_gone(self, how: str, at_s: float) -> None:
        if how in self.hangup_detect and self.state in ("connected", "outgoing", "dialling", "seizing"):
            self.emit(ev.RemoteHangup(how, at_s))

    def status(self) -> dict:
        status = super().status()
        status["state"] = self.state
        line = self.line_status() if self.in_service else None
        if line is not None:
            status.update(line_voltage_v=line.voltage_v, loop_current_ma=line.loop_current_ma,
                          line_present=line.line_present)
        return status


def load_config(settings, board, clock) -> list[FxoChannel]:
    """One Si3050 driver and one channel per FXO port, each with its line's hang-up signals."""
    hangup = {line.port: tuple(line.hangup_detect) for line in settings.lines}
    channels = []
    for port in settings.board.ports:
        if port.kind == "fxo":
            buses = board.ports[port.name]
            driver = si3050.Si3050Daa(buses.spi, buses.irq, buses.reset, port=port.name, timeslot=port.timeslot,
                                      law="alaw", country=port.country or "ITALY", clock=clock)
            channels.append(FxoChannel(port.name, driver, clock, hangup_detect=hangup.get(port.name, HANGUP_SIGNALS)))
    return channels
