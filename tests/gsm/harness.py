"""Shared rig: the real driver on the simulated modem's ptys, on the virtual clock."""

from __future__ import annotations

import asyncio
import tempfile

from centralino.drivers.gsm_modem import GsmModem
from centralino.hwsim.buses import SimGPIO
from centralino.hwsim.clock import run
from centralino.hwsim.modem import ModemSim
from centralino.hwsim.modem_network import MobileNetwork


class Rig:
    def __init__(self, sim: ModemSim, modem: GsmModem, network: MobileNetwork):
        self.sim, self.modem, self.network = sim, modem, network
        self.events: list[object] = []

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_event(self, kind, timeout_s: float = 20.0, count: int = 1):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self.of(kind)) < count:
            if loop.time() > deadline:
                raise AssertionError(f"no {kind.__name__} within {timeout_s} s; events: {self.events}")
            await asyncio.sleep(0.05)
        return self.of(kind)[count - 1]

    async def wait_until(self, condition, timeout_s: float = 20.0, what: str = "condition"):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"{what} not reached within {timeout_s} s; events: {self.events}")
            await asyncio.sleep(0.05)

    async def collect_audio(self, seconds: float, send=None) -> list:
        """Run the engine's 20 ms media tick: write ``send()`` frames, gather received frames."""
        frames = []
        for _ in range(int(seconds / 0.02)):
            if send is not None:
                self.modem.write_frame(send())
            frame = self.modem.read_frame()
            if frame is not None:
                frames.append(frame)
            await asyncio.sleep(0.02)
        return frames


def scenario(body, *, dialect: str = "sim7600", prepare=None, start: bool = True, power_key: bool = False,
             **modem_kw):
    """Run ``await body(rig)`` with a started modem; ``prepare(sim, network)`` runs before start.

    ``power_key`` wires the driver to the model's PWRKEY through a ``periphery.GPIO``-like output.
    """

    async def main():
        with tempfile.TemporaryDirectory() as directory:
            network = MobileNetwork()
            sim = ModemSim(dialect, directory, network)
            await sim.start()
            loop = asyncio.get_running_loop()
            if power_key:
                modem_kw["power_key"] = SimGPIO("/dev/gpiochip0", 23, "high", wire=sim.power_key)
            modem = GsmModem(sim.at_path, dialect=dialect, audio_path=sim.audio_path, clock=loop.time, **modem_kw)
            rig = Rig(sim, modem, network)
            modem.set_listener(rig.events.append)
            if prepare is not None:
                prepare(sim, network)
            try:
                if start:
                    await modem.start()
                return await body(rig)
            finally:
                await modem.close()
                await sim.close()

    return run(main)
