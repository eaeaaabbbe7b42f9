"""The simulated HAT and the world around it, built from the same configuration as the real one.

``SimBoard`` creates a chip model for every configured port (Si321x for fxs, Si3050 for fxo),
GPIO wires for their interrupt and reset lines, the HAT ID EEPROM and the PCM bus, and hands out
bus objects with the constructors' signatures of periphery and smbus2 (``spi(devpath, mode,
speed)``, ``gpio(chip, line, direction, edge=...)``, ``smbus(bus)``). Around it: an analog phone
on every FXS port and a PSTN exchange with one subscriber line per FXO port.
"""

from __future__ import annotations

import tempfile
import time

from centralino.drivers.hat_eeprom import encode_image

from .buses import GpioLine, SimGPIO, SimPcmBus, SimSMBus, SimSPI
from .eeprom import At24c32
from .leds import SimLeds
from .modem import ModemSim
from .modem_network import MobileNetwork
from .phone import AnalogPhone
from .pstn import PstnExchange
from .si321x import Si321x
from .si3050 import Si3050
from .voices import VOICE_FREQUENCIES_HZ, Voice

HAT_VENDOR = "centralino project"
HAT_UUID = "6f1c5d2e-8a44-4a43-9e1f-3b2a71c0de01"
HAT_PRODUCT_ID = 0x0108


class SimBoard:
    def __init__(self, settings, clock=None, seed: int = 0, hat_product: str | None = None,
                 faults: dict[str, str] | None = None):
        self.clock = clock or time.monotonic
        board = settings.board
        self.wires: dict[int, GpioLine] = {}
        self.chips: dict[str, object] = {}
        self._spi_chips: dict[str, object] = {}
        self.phones: dict[str, AnalogPhone] = {}
        self.lines: dict[str, object] = {}
        self.exchange = PstnExchange(self.clock, seed=seed)
        self.pcm = SimPcmBus(board.pcm_slots)
        voices = iter(VOICE_FREQUENCIES_HZ)
        line_numbers = {line.port: line.number for line in settings.lines}
        for port in board.ports:
            irq = self._wire(port.irq_gpio)
            reset = self._wire(port.reset_gpio) if port.reset_gpio is not None else None
            if port.kind == "fxs":
                chip = Si321x(port.name, self.clock, irq=irq, reset=reset, part=port.part or "Si3210")
                self.phones[port.name] = AnalogPhone(chip, Voice(next(voices)), self.clock)
            else:
                chip = Si3050(port.name, self.clock, irq=irq, reset=reset)
                line = self.exchange.line(port.name, line_numbers.get(port.name) or "")
                chip.attach(line)
                self.lines[port.name] = line
            self.chips[port.name] = chip
            self._spi_chips[port.spi] = chip
            self.pcm.attach(chip)
        for port_name, fault in (faults or {}).items():
            self.chips[port_name].inject_fault(fault)
        self.voices = iter(voices)  # the rest are for remote parties
        image = encode_image(HAT_VENDOR, hat_product or board.hat, HAT_PRODUCT_ID, 1, HAT_UUID)
        self.eeprom = At24c32(image)
        self.leds = SimLeds(getattr(board, "leds", None), self.clock)  # the status LEDs (world face: leds.lit("ready"))
        self.mobile_network = MobileNetwork()
        self.modem: ModemSim | None = None
        self._modem_dir: tempfile.TemporaryDirectory | None = None
        if settings.gsm is not None:
            # the modem's ports are ptys behind symlinks, as udev gives /dev/gsm-at on the Pi
            self._modem_dir = tempfile.TemporaryDirectory(prefix="centralino-modem-")
            self.modem = ModemSim(settings.gsm.dialect, self._modem_dir.name, self.mobile_network, seed=seed)

    async def start(self) -> None:
        if self.modem is not None:
            await self.modem.start()

    async def stop(self) -> None:
        if self.modem is not None:
            await self.modem.close()
            self._modem_dir.cleanup()
            self.modem = None

    def next_voice(self) -> Voice:
        return Voice(next(self.voices))

    def _wire(self, number: int) -> GpioLine:
        if number not in self.wires:
            self.wires[number] = GpioLine(f"GPIO{number}", self.clock)
        return self.wires[number]

    # -- constructors with the signatures of periphery.SPI, periphery.GPIO and smbus2.SMBus
    def spi(self, devpath: str, mode: int, max_speed: float, *args, **kwargs) -> SimSPI:
        return SimSPI(devpath, mode, max_speed, *args, chip=self._spi_chips.get(devpath), **kwargs)

    def gpio(self, path: str, line: int, direction: str = "in", **kwargs) -> SimGPIO:
        return SimGPIO(path, line, direction, wire=self.wires.get(line), **kwargs)

    def smbus(self, bus=None, force: bool = False) -> SimSMBus:
        return SimSMBus(bus, force, chips={0x50: self.eeprom, **self.leds.i2c_chips()})
