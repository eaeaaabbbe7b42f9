"""The board: which bus objects the drivers get.

On the Pi HAT they are ``periphery.SPI``/``periphery.GPIO``, ``smbus2.SMBus`` and the ALSA PCM
stream, opened on the device paths of the configuration; on the simulated board they are
hw-sim's objects with the same API, wired to chip models. Everything above the drivers receives a
``Board`` and cannot tell which it got.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from centralino.drivers.errors import ChipError
from centralino.drivers.hat_eeprom import HatInfo, read_hat_info

log = logging.getLogger("centralino.board")

SPI_MODE = 3  # ProSLIC and DAA: clock idle high, data sampled on the rising edge [M]
RESET_PULSE_S = 0.25  # wctdm holds reset low this long


@dataclass
class PortBuses:
    name: str
    kind: str
    spi: object
    irq: object
    reset: object | None  # only when the port has a reset line of its own


@dataclass
class Board:
    kind: str
    hat_bus: object
    pcm: object
    ports: dict[str, PortBuses]
    shared_resets: list = field(default_factory=list)
    world: object | None = None  # the simulator's world face (phones, exchange), None on the Pi
    hat: HatInfo | None = None
    hat_problem: str | None = None
    gsm_ports: tuple[str, str] | None = None  # (AT port, audio port): udev symlinks on the Pi
    gsm_power_key: object | None = None
    leds: object | None = None  # the status LEDs' bus: the RPi.GPIO module or an SMBus (board.leds)

    async def start(self) -> None:
        """Bring up what the board needs before the drivers (the simulated modem's ptys)."""
        if self.world is not None:
            await self.world.start()
            if self.world.modem is not None:
                self.gsm_ports = (self.world.modem.at_path, self.world.modem.audio_path)

    async def stop(self) -> None:
        self.close()
        if self.world is not None:
            await self.world.stop()

    async def reset_shared_lines(self) -> None:
        """Pulse reset lines wired to several chips once, before any driver starts."""
        for line in self.shared_resets:
            line.write(False)
        if self.shared_resets:
            await asyncio.sleep(RESET_PULSE_S)
            for line in self.shared_resets:
                line.write(True)
            await asyncio.sleep(RESET_PULSE_S)

    def check_hat(self, expected_product: str) -> None:
        """Read the HAT ID EEPROM; a missing or different HAT is reported, not fatal: ports that
        do not answer become faulty one by one, and emergency paths that work keep working."""
        try:
            self.hat = read_hat_info(self.hat_bus)
        except ChipError as err:
            self.hat_problem = str(err)
        else:
            if self.hat.product != expected_product:
                self.hat_problem = (f"HAT ID EEPROM says {self.hat.product!r}, the configuration "
                                    f"expects {expected_product!r} (board.hat)")
        if self.hat_problem:
            log.error("board: %s", self.hat_problem)

    def close(self) -> None:
        for port in self.ports.values():
            for bus in (port.spi, port.irq, port.reset):
                if bus is not None:
                    bus.close()
        for line in self.shared_resets:
            line.close()
        if self.gsm_power_key is not None:
            self.gsm_power_key.close()
        self.hat_bus.close()
        if self.leds is not None and hasattr(self.leds, "close"):  # an SMBus; RPi.GPIO is a module
            self.leds.close()
        close = getattr(self.pcm, "close", None)
        if close:
            close()


def open_board(settings, kind: str | None = None, clock=None, sim=None) -> Board:
    """Open the board the configuration names (``kind`` overrides it: ``--board sim``).

    ``sim`` is a ready ``SimBoard`` when a scenario wants to set up its world first."""
    kind = kind or settings.board.kind
    if kind == "sim":
        if sim is None:
            from centralino.hwsim.board import SimBoard

            sim = SimBoard(settings, clock=clock)
        board = _wire(settings, kind, sim.spi, sim.gpio, sim.smbus, sim.pcm)
        board.world = sim
        board.leds = _led_bus(settings, sim.smbus, lambda: sim.leds.gpio)
        return board
    if kind == "pi-hat":
        import periphery
        import smbus2

        from centralino.drivers.pcm_stream import PcmStream

        pcm = PcmStream(getattr(settings.board, "pcm_device", "hw:0"), settings.board.pcm_slots)
        board = _wire(settings, kind, periphery.SPI, periphery.GPIO, smbus2.SMBus, pcm)
        if settings.gsm is not None:
            board.gsm_ports = (settings.gsm.at_port, settings.gsm.audio_port)
            if settings.gsm.power_key_gpio is not None:
                board.gsm_power_key = periphery.GPIO(settings.board.gpiochip, settings.gsm.power_key_gpio,
                                                     "high", label="gsm-power-key")
        board.leds = _led_bus(settings, smbus2.SMBus, _import_rpi_gpio)
        return board
    raise ValueError(f"unknown board kind {kind!r}: expected 'sim' or 'pi-hat'")


def _wire(settings, kind, spi_class, gpio_class, smbus_class, pcm) -> Board:
    board_cfg = settings.board
    reset_users: dict[int, int] = {}
    for port in board_cfg.ports:
        if port.reset_gpio is not None:
            reset_users[port.reset_gpio] = reset_users.get(port.reset_gpio, 0) + 1
    shared = {line: gpio_class(board_cfg.gpiochip, line, "high", label="centralino-reset")
              for line, users in reset_users.items() if users > 1}
    ports = {}
    for port in board_cfg.ports:
        spi = spi_class(port.spi, SPI_MODE, board_cfg.spi_speed_hz)
        irq = gpio_class(board_cfg.gpiochip, port.irq_gpio, "in", edge="falling", label=f"{port.name}-irq")
        reset = None
        if port.reset_gpio is not None and port.reset_gpio not in shared:
            reset = gpio_class(board_cfg.gpiochip, port.reset_gpio, "high", label=f"{port.name}-reset")
        ports[port.name] = PortBuses(port.name, port.kind, spi, irq, reset)
    hat_bus = smbus_class(board_cfg.i2c_bus)
    return Board(kind=kind, hat_bus=hat_bus, pcm=pcm, ports=ports, shared_resets=list(shared.values()))


def _led_bus(settings, smbus_class, gpio_module):
    """The bus of ``board.leds``: the RPi.GPIO module (kind gpio) or an SMBus (kind i2c)."""
    leds = getattr(settings.board, "leds", None)
    if leds is None:
        return None
    return gpio_module() if leds.kind == "gpio" else smbus_class(settings.board.i2c_bus)


def _import_rpi_gpio():
    """RPi.GPIO imports only on a Pi (it probes the SoC), so only when the LEDs are on GPIO."""
    import RPi.GPIO

    return RPi.GPIO
