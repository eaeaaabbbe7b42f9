"""A test rig for the FXO side: the real Si3050 driver on simulated buses, the DAA model, a PSTN line.

Used by the driver tests and the exchange tests. It plays the engine's part: a 20 ms loop that
moves one PCM frame through SimPcmBus, services the interrupt line when its fd has an edge waiting,
and calls the driver's tick. Must run inside ``centralino.hwsim.clock.run`` (virtual time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from centralino.drivers.si3050 import Si3050Daa
from centralino.hwsim.buses import GpioLine, SimGPIO, SimPcmBus, SimSPI
from centralino.hwsim.pstn import PstnExchange
from centralino.hwsim.si3050 import Si3050
from centralino.media import g711
from centralino.media.frames import FRAME_SAMPLES

FRAME_S = 0.02
PORT = "fxo1"
LINE_NUMBER = "0550001111"


class FxoRig:
    def __init__(self, *, timeslot: int = 2, slots: int = 4, hangup_signal: str = "busy_tone",
                 faults: tuple[str, ...] = (), driver_class: type = Si3050Daa, seed: int = 1):
        self.clock = asyncio.get_running_loop().time
        self.timeslot = timeslot
        self.slots = slots
        self.irq_wire = GpioLine("GPIO24", self.clock)
        self.reset_wire = GpioLine("GPIO25", self.clock)
        self.chip = Si3050(PORT, self.clock, irq=self.irq_wire, reset=self.reset_wire)
        for fault in faults:
            self.chip.inject_fault(fault)
        self.exchange = PstnExchange(self.clock, seed=seed)
        self.line = self.exchange.line(PORT, LINE_NUMBER, hangup_signal)
        self.chip.attach(self.line)
        self.pcm = SimPcmBus(slots, [self.chip])
        self.spi = SimSPI("/dev/spidev0.1", 3, 1_000_000, chip=self.chip)
        self.irq = SimGPIO("/dev/gpiochip0", 24, "in", edge="falling", wire=self.irq_wire)
        self.reset = SimGPIO("/dev/gpiochip0", 25, "high", wire=self.reset_wire)
        self.daa = driver_class(self.spi, self.irq, self.reset, port=PORT, timeslot=timeslot,
                                law="alaw", country="ITALY", clock=self.clock)
        self.events: list = []
        self.rx: list[tuple[float, np.ndarray]] = []
        self.interrupts_serviced = 0
        self._tx = np.zeros(0, dtype=np.int16)
        self._tx_source: Callable[[], np.ndarray] | None = None

    def send(self, samples: np.ndarray) -> None:
        """Queue audio for the line (what the engine would write to this port's timeslot)."""
        self._tx = np.concatenate([self._tx, np.asarray(samples, dtype=np.int16)])

    def send_continuously(self, source: Callable[[], np.ndarray] | None) -> None:
        """Send ``source()`` every frame once the queue is empty (e.g. a Voice's ``frame``)."""
        self._tx_source = source

    def _next_tx_frame(self) -> np.ndarray:
        if self._tx.size:
            frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
            take = self._tx[:FRAME_SAMPLES]
            frame[: take.size] = take
            self._tx = self._tx[FRAME_SAMPLES:]
            return frame
        if self._tx_source is not None:
            return self._tx_source()
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)

    def step(self) -> list:
        """One media tick: PCM frame, interrupt service, driver tick."""
        host = np.full((FRAME_SAMPLES, self.slots), g711.ALAW_SILENCE, dtype=np.uint8)
        host[:, self.timeslot] = g711.alaw_encode(self._next_tx_frame())
        back = np.frombuffer(self.pcm.transfer(host.tobytes()), dtype=np.uint8).reshape(FRAME_SAMPLES, self.slots)
        self.rx.append((self.clock(), g711.alaw_decode(back[:, self.timeslot].copy())))
        new = []
        if self.irq.poll(0):
            self.interrupts_serviced += 1
            new += self.daa.handle_interrupt()
        new += self.daa.tick()
        self.events += new
        return new

    async def run_for(self, seconds: float) -> list:
        new = []
        for _ in range(int(round(seconds / FRAME_S))):
            new += self.step()
            await asyncio.sleep(FRAME_S)
        return new

    async def run_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        deadline = self.clock() + timeout_s
        while self.clock() < deadline:
            if predicate():
                return True
            self.step()
            await asyncio.sleep(FRAME_S)
        return predicate()

    def rx_audio(self, since_s: float | None = None, until_s: float | None = None) -> np.ndarray:
        frames = [f for t, f in self.rx if (since_s is None or t >= since_s) and (until_s is None or t < until_s)]
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)

    def events_of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def close(self) -> None:
        self.daa.close()
        for bus in (self.spi, self.irq, self.reset):
            bus.close()
