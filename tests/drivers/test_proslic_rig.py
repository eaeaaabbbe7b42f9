"""Shared rig (no tests here): the real ProSlic driver on an Si321x model with a phone.

Everything runs on the virtual clock: build a ``Rig`` inside a coroutine given to ``with_rig``.
The rig wires the buses as the board would, registers the IRQ descriptor with the loop the way
the engine does, and ticks the driver every 20 ms, collecting (emitted_at, event) pairs.
"""

from __future__ import annotations

import asyncio

import numpy as np

from centralino.drivers.proslic import ProSlic
from centralino.hwsim.buses import GpioLine, SimGPIO, SimPcmBus, SimSPI
from centralino.hwsim.clock import run
from centralino.hwsim.phone import AnalogPhone
from centralino.hwsim.si321x import Si321x
from centralino.hwsim.voices import Voice
from centralino.media import g711
from centralino.media.frames import FRAME_SAMPLES

TICK_S = 0.02
PORT = "fxs1"


class Rig:
    def __init__(self, *, part: str = "Si3210", timeslot: int = 3, slots: int = 8, law: str = "alaw",
                 voice_hz: float = 500, driver_class=ProSlic, faults: tuple[str, ...] = ()):
        self.loop = asyncio.get_running_loop()
        self.clock = self.loop.time
        self.irq_wire = GpioLine("irq", self.clock)
        self.reset_wire = GpioLine("reset", self.clock)
        self.chip = Si321x(PORT, self.clock, irq=self.irq_wire, reset=self.reset_wire, part=part)
        for fault in faults:
            self.chip.inject_fault(fault)
        self.spi = SimSPI("/dev/spidev0.0", 0, 1_000_000, chip=self.chip)
        self.irq = SimGPIO("/dev/gpiochip0", 24, "in", edge="falling", wire=self.irq_wire)
        self.reset = SimGPIO("/dev/gpiochip0", 25, "high", wire=self.reset_wire)
        self.phone = AnalogPhone(self.chip, Voice(voice_hz), self.clock)
        self.pcm = SimPcmBus(slots, [self.chip])
        self.law = law
        self.driver = driver_class(self.spi, self.irq, self.reset, port=PORT, timeslot=timeslot, law=law,
                                   clock=self.clock)
        self.emitted: list[tuple[float, object]] = []
        self._ticker: asyncio.Task | None = None

    async def start(self) -> None:
        await self.driver.start()
        self.loop.add_reader(self.driver.irq_fd, self._on_irq)
        self._ticker = asyncio.create_task(self._tick_forever())

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self.loop.remove_reader(self.driver.irq_fd)
            self._ticker = None
        self.irq.close()
        self.reset.close()

    def _on_irq(self) -> None:
        now = self.clock()
        self.emitted.extend((now, event) for event in self.driver.handle_interrupt())

    async def _tick_forever(self) -> None:
        while True:
            now = self.clock()
            self.emitted.extend((now, event) for event in self.driver.tick())
            await asyncio.sleep(TICK_S)

    def events(self, kind=object) -> list:
        return [event for _, event in self.emitted if isinstance(event, kind)]

    # --- the engine's side of the PCM bus
    def exchange(self, slot_audio: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """One 20 ms PCM frame: int16 audio per slot out, every slot's audio back."""
        encode, decode = g711.codec(self.law)
        out = np.full((FRAME_SAMPLES, self.pcm.slots), SimPcmBus.IDLE_BYTE, dtype=np.uint8)
        for slot, samples in slot_audio.items():
            out[:, slot] = encode(np.asarray(samples, dtype=np.int16))
        back = np.frombuffer(self.pcm.transfer(out.tobytes()), dtype=np.uint8).reshape(FRAME_SAMPLES, -1)
        return {slot: decode(back[:, slot].copy()) for slot in range(self.pcm.slots)}

    async def stream(self, slot: int, samples: np.ndarray) -> list[np.ndarray]:
        """Send ``samples`` in ``slot`` frame by frame on the 20 ms media clock; return what came back."""
        back = []
        for start in range(0, len(samples), FRAME_SAMPLES):
            frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
            chunk = samples[start:start + FRAME_SAMPLES]
            frame[:len(chunk)] = chunk
            back.append(self.exchange({slot: frame})[slot])
            await asyncio.sleep(TICK_S)
        return back


def with_rig(body, **options):
    """Run ``await body(rig)`` on the virtual clock with a started rig; return its result."""
    async def main():
        rig = Rig(**options)
        await rig.start()
        try:
            return await body(rig)
        finally:
            rig.stop()
    return run(main)
