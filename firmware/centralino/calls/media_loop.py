"""The media clock: every 20 ms, one PCM frame for every port, out and in.

Each tick sends what every channel transmits, receives what every line sent, runs DTMF
detection for all ports in one call (``DtmfBank``), lets channels and the switchboard make their
time-based decisions, and records how late the tick started: the figure the benchmark reports and
the systemd watchdog will watch.
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

    def tick(self) -> None:
        channels = [channel for _, channel in self.ports]
        out = np.full((FRAME_SAMPLES, self.slots), self._silence_code, dtype=np.uint8)
        if channels:
            frames = np.stack([ch.transmit() if ch.in_service else np.zeros(FRAME_SAMPLES, np.int16)
                               for ch in channels])
            out[:, self._slot_index] = self._encode(frames).T
        raw = self.pcm.transfer(out.tobytes())
        if channels:
            received = self._decode(np.frombuffer(raw, dtype=np.uint8)
                                    .reshape(FRAME_SAMPLES, self.slots)[:, self._slot_index].T)
            for channel, frame in zip(channels, received):
                channel.receive(frame)
            now = self.clock()
            for index, key in self._dtmf.feed(received):
                if channels[index].in_service:
                    channels[index].emit(ev.Digit(key.digit, "dtmf", now))
            for channel in channels:
                if channel.in_service:
                    channel.tick()
        for channel in self.own_audio:
            channel.exchange_audio()
        self.after_tick()
        self.ticks += 1

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
            except Exception:  # a fault in one tick must not stop the media clock...
                log.exception("media tick failed")
            else:  # ...but only a tick that worked feeds the watchdog
                for beat in self.heartbeats:
                    beat()
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
        return {"ticks": self.ticks, "overruns": self.overruns,
                "lateness_p50_ms": round(float(np.percentile(recent, 50)) * 1000, 3),
                "lateness_p99_ms": round(float(np.percentile(recent, 99)) * 1000, 3),
                "lateness_max_ms": round(float(recent.max()) * 1000, 3)}
