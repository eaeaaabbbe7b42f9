"""The media clock: every 20 ms, one PCM frame for every port, out and in.

Each tick sends what every channel transmits, receives what every line sent, runs DTMF
detection for all ports in one call (``DtmfBank``), lets channels and the engine make their
time-based decisions, and records how late the tick started: the figure the benchmark reports and
the systemd watchdog will watch.

Every port's step runs inside that port's boundary (``Channel.guarded``): a chip whose SPI
transfer raises costs that port (marked faulty, its calls ended by the engine), never the tick,
so the other ports' audio and the watchdog's heartbeat go on. A PCM bus that fails costs the
HAT's ports their audio for that tick (logged once per outage); the modem's and SIP's own audio
go on. Only a clock that stalls stops the heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import numpy as np

from centralino.channels import events as ev
from centralino.channels.base import Channel
from centralino.media import g711
from centralino.media.dtmf import DtmfBank
from centralino.media.frames import FRAME_MS, FRAME_SAMPLES

log = logging.getLogger("centralino.media")

TICK_S = FRAME_MS / 1000.0
RESYNC_AFTER_S = 0.2  # this far behind, skip the missed ticks instead of racing to catch up
LATENESS_HISTORY = 3000  # one minute of ticks
# Ticks in a row that fail outside every port's boundary before the heartbeat stops (and the
# watchdog restarts the daemon): a one-off bug costs nothing, a tick that can never work again does.
FAILED_TICKS_BEFORE_STALL = 10  # 200 ms


class MediaLoop:
    def __init__(self, pcm, slots: int, ports: list[tuple[int, Channel]], clock: Callable[[], float],
                 law: str = "alaw", after_tick: Callable[[], None] | None = None,
                 own_audio: list[Channel] | None = None):
        self.pcm = pcm
        self.own_audio = own_audio or []  # channels with their own audio port (the GSM modem)
        self.slots = slots
        self.ports = ports
        self.clock = clock
        self.after_tick = after_tick or (lambda: None)
        self._encode, self._decode = g711.codec(law)
        self._silence_code = self._encode(np.zeros(1, dtype=np.int16))[0]
        self._slot_index = np.array([slot for slot, _ in ports], dtype=np.intp)
        self._dtmf = DtmfBank(max(1, len(ports)))
        self.ticks = 0
        self.overruns = 0
        self.heartbeats: list[Callable[[], None]] = []
        self._lateness = np.zeros(LATENESS_HISTORY)
        self._task: asyncio.Task | None = None
        self.pcm_failures = 0
        self._pcm_failing = False
        self.tick_failures = 0
        self._failing_in_a_row = 0

    def tick(self) -> None:
        channels = [channel for _, channel in self.ports]
        frames = np.stack([self._transmit(ch) for ch in channels]) if channels \
            else np.zeros((0, FRAME_SAMPLES), dtype=np.int16)
        received = self._exchange_pcm(frames)  # the bus is clocked even with no port on it
        if channels:
            for channel, frame in zip(channels, received):
                if channel.in_service:
                    channel.guarded("receive", channel.receive, frame)
            now = self.clock()
            for index, key in self._dtmf.feed(received):
                if channels[index].in_service:
                    channels[index].guarded("digit", channels[index].emit, ev.Digit(key.digit, "dtmf", now))
            for channel in channels:
                if channel.in_service:
                    channel.guarded("tick", channel.tick)
        for channel in self.own_audio:
            channel.guarded("audio", channel.exchange_audio)
        self.after_tick()
        self.ticks += 1

    @staticmethod
    def _transmit(channel: Channel) -> np.ndarray:
        frame = channel.guarded("transmit", channel.transmit) if channel.in_service else None
        return frame if frame is not None else np.zeros(FRAME_SAMPLES, np.int16)

    def _exchange_pcm(self, frames: np.ndarray) -> np.ndarray:
        """One PCM frame out and in; a bus that fails gives silence for this tick."""
        out = np.full((FRAME_SAMPLES, self.slots), self._silence_code, dtype=np.uint8)
        out[:, self._slot_index] = self._encode(frames).T
        try:
            raw = self.pcm.transfer(out.tobytes())
            data = np.frombuffer(raw, dtype=np.uint8).reshape(FRAME_SAMPLES, self.slots)
        except Exception as err:
            self.pcm_failures += 1
            if not self._pcm_failing:
                self._pcm_failing = True
                log.error("PCM bus failed (%s: %s): the HAT's ports get silence until it answers",
                          type(err).__name__, err)
            return np.zeros((len(self.ports), FRAME_SAMPLES), dtype=np.int16)
        if self._pcm_failing:
            self._pcm_failing = False
            log.warning("PCM bus answers again after %d failed ticks", self.pcm_failures)
        return self._decode(data[:, self._slot_index].T)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            # Always yield, even when late: on an overloaded CPU (a slow Pi, an emulator) ticks that
            # run back to back would otherwise starve every other task: ports still starting, the
            # control socket, the voce guida.
            await asyncio.sleep(max(0.0, due - loop.time()))
            late = loop.time() - due
            self._lateness[self.ticks % LATENESS_HISTORY] = max(late, 0.0)
            try:
                self.tick()
                self._failing_in_a_row = 0
            except Exception:  # a bug outside every port's boundary: logged, and the clock goes on
                self.tick_failures += 1
                self._failing_in_a_row += 1
                if self._failing_in_a_row <= 3 or self._failing_in_a_row % 500 == 0:
                    log.exception("media tick failed (%d in a row)", self._failing_in_a_row)
            # The heartbeat says the clock runs: one port's fault (caught inside the tick) must not
            # get the whole daemon restarted by the watchdog; a stalled loop, or a tick that fails
            # for seconds on end, stops it.
            if self._failing_in_a_row < FAILED_TICKS_BEFORE_STALL:
                for beat in self.heartbeats:
                    try:
                        beat()
                    except Exception:
                        log.exception("heartbeat %r failed", beat)
            due += TICK_S
            if loop.time() - due > RESYNC_AFTER_S:
                missed = int((loop.time() - due) / TICK_S)
                self.overruns += missed
                due += missed * TICK_S

    def start(self) -> asyncio.Task:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="media-loop")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def status(self) -> dict:
        n = min(self.ticks, LATENESS_HISTORY)
        recent = self._lateness[:n] if n else np.zeros(1)
        return {"ticks": self.ticks, "overruns": self.overruns, "pcm_failures": self.pcm_failures,
                "tick_failures": self.tick_failures,
                "lateness_p50_ms": round(float(np.percentile(recent, 50)) * 1000, 3),
                "lateness_p99_ms": round(float(np.percentile(recent, 99)) * 1000, 3),
                "lateness_max_ms": round(float(recent.max()) * 1000, 3)}
