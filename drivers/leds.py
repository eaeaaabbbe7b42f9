"""Status LEDs: on/off per named LED, on GPIO lines (RPi.GPIO) or an NXP PCA9633/PCA9685.

Both drivers offer the same small interface: ``await start()`` (set up the lines or wake the
chip and check it answers), ``set(name, on)`` and ``close()`` (everything dark). ``set`` is on
the media tick's path, so it writes only when a LED changes: a steady light costs nothing and
a blinking one one bus write per edge.

The GPIO driver receives the RPi.GPIO module itself (the board imports it lazily: it cannot be
imported off a Pi) and uses BCM numbering. The I2C driver receives an ``smbus2.SMBus``; the
chip facts it relies on are in reference/hardware.md ([V] Linux leds-pca963x, pwm-pca9685):
MODE1 0x00 (SLEEP bit 4, set at power-up: nothing lights until it is cleared, then the
oscillator needs 500 us), MODE2 0x01 (INVRT bit 4, OUTDRV bit 2); PCA9633 LEDOUT 0x08 with
2 bits per output (00 off, 01 fully on); PCA9685 LEDn_ON_H/OFF_H at 0x07/0x09 + 4n, bit 4 of
each meaning full on / full off (full off wins).
"""

from __future__ import annotations

import asyncio

from .errors import ChipError

REG_MODE1 = 0x00
REG_MODE2 = 0x01
MODE1_SLEEP = 0x10
MODE1_ALLCALL = 0x01
MODE2_INVRT = 0x10
MODE2_OUTDRV = 0x04  # totem-pole outputs
OSCILLATOR_WAIT_S = 0.001  # the datasheets ask for 500 us after SLEEP is cleared; twice that

PCA9633_CHANNELS = 4
PCA9633_LEDOUT = 0x08
PCA9633_MODE2_OUTNE = 0x01  # the reset value's OUTNE bits (LEDs off while OE is high)
LEDOUT_OFF, LEDOUT_ON = 0b00, 0b01

PCA9685_CHANNELS = 16
PCA9685_LED0_ON_H = 0x07
PCA9685_LED0_OFF_H = 0x09
PCA9685_FULL = 0x10
PCA9685_ALL_LED_OFF_H = 0xFD


class GpioLeds:
    """LEDs on Raspberry Pi GPIO lines through the RPi.GPIO module (BCM numbering)."""

    def __init__(self, gpio, pins: dict[str, int], port: str = "leds", active_low: bool = False):
        self._gpio = gpio
        self.pins = dict(pins)
        self.port = port
        self._on_level, self._off_level = (gpio.LOW, gpio.HIGH) if active_low else (gpio.HIGH, gpio.LOW)
        self._state: dict[str, bool] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.pins)

    async def start(self) -> None:
        gpio = self._gpio
        mode = gpio.getmode()
        if mode not in (None, gpio.BCM):
            raise ChipError(self.port, "RPi.GPIO is already set to BOARD numbering; the LED lines are BCM")
        gpio.setwarnings(False)  # a line left as an output by the last run is expected, not a warning
        gpio.setmode(gpio.BCM)
        for name, pin in self.pins.items():
            try:
                gpio.setup(pin, gpio.OUT, initial=self._off_level)
            except (RuntimeError, ValueError) as err:
                raise ChipError(self.port, f"LED {name}: cannot set up GPIO {pin} as an output: {err}",
                                register=pin) from None
            self._state[name] = False

    def set(self, name: str, on: bool) -> None:
        on = bool(on)
        if self._state.get(name) == on:
            return
        pin = self._pin(name)
        try:
            self._gpio.output(pin, self._on_level if on else self._off_level)
        except (RuntimeError, ValueError) as err:
            raise ChipError(self.port, f"LED {name}: GPIO {pin}: {err}", register=pin) from None
        self._state[name] = on

    def close(self) -> None:
        """Dark, and the lines given back (cleanup only the LED lines: nothing else is ours)."""
        if not self._state:
            return
        for name in list(self._state):
            try:
                self.set(name, False)
            except ChipError:
                pass
        self._gpio.cleanup(list(self.pins.values()))
        self._state.clear()

    def _pin(self, name: str) -> int:
        try:
            return self.pins[name]
        except KeyError:
            raise ChipError(self.port, f"no LED {name!r} (this board has {', '.join(self.pins)})") from None


class _PcaLeds:
    """What the PCA9633 and PCA9685 drivers share: waking the chip and checking it answers."""

    CHIP = ""
    CHANNELS = 0

    def __init__(self, bus, address: int, channels: dict[str, int], port: str = "leds"):
        for name, channel in channels.items():
            if not 0 <= channel < self.CHANNELS:
                raise ValueError(f"{port}: LED {name}: channel {channel} does not exist on a {self.CHIP} "
                                 f"(expected 0..{self.CHANNELS - 1})")
        self._bus = bus
        self.address = address
        self.channels = dict(channels)
        self.port = port
        self._state: dict[str, bool] = {}
        self._started = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.channels)

    async def start(self) -> None:
        """Check the chip keeps MODE1 as a PCA96xx does, set every output off, then wake it."""
        self._write(REG_MODE1, MODE1_SLEEP)  # asleep while the outputs are set up
        mode1 = self._read(REG_MODE1)
        if mode1 & 0x1F != MODE1_SLEEP:  # bits 7..5 are status (auto-increment, restart, clock)
            raise ChipError(self.port, f"MODE1 does not keep what was written: is the chip at "
                                       f"0x{self.address:02x} a {self.CHIP}?", register=REG_MODE1, value=mode1)
        self._all_off()
        self._write(REG_MODE2, self._mode2())
        self._write(REG_MODE1, 0x00)  # awake; all-call address off (as Linux's leds-pca963x)
        await asyncio.sleep(OSCILLATOR_WAIT_S)
        self._state = {name: False for name in self.channels}
        self._started = True

    def set(self, name: str, on: bool) -> None:
        on = bool(on)
        if self._state.get(name) == on:
            return
        if not self._started:
            raise ChipError(self.port, f"LED {name}: the {self.CHIP} is not started")
        try:
            channel = self.channels[name]
        except KeyError:
            raise ChipError(self.port, f"no LED {name!r} (this board has {', '.join(self.channels)})") from None
        self._light(channel, on)
        self._state[name] = on

    def close(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            self._all_off()
            self._write(REG_MODE1, MODE1_SLEEP | MODE1_ALLCALL)  # back to sleep, as after reset
        except ChipError:
            pass
        self._state.clear()

    # -- bus access with the errors a technician can act on
    def _read(self, register: int) -> int:
        try:
            return self._bus.read_byte_data(self.address, register)
        except OSError as err:
            raise ChipError(self.port, f"no answer from the {self.CHIP} at I2C 0x{self.address:02x}: "
                                       f"{err.strerror or err}", register=register) from None

    def _write(self, register: int, value: int) -> None:
        try:
            self._bus.write_byte_data(self.address, register, value)
        except OSError as err:
            raise ChipError(self.port, f"writing the {self.CHIP} at I2C 0x{self.address:02x} failed: "
                                       f"{err.strerror or err}", register=register, value=value) from None

    def _mode2(self) -> int:
        raise NotImplementedError

    def _all_off(self) -> None:
        raise NotImplementedError

    def _light(self, channel: int, on: bool) -> None:
        raise NotImplementedError


class Pca9633Leds(_PcaLeds):
    """PCA9633: four outputs, each fully on or off through its two bits of LEDOUT."""

    CHIP = "pca9633"
    CHANNELS = PCA9633_CHANNELS

    def _mode2(self) -> int:
        return MODE2_OUTDRV | PCA9633_MODE2_OUTNE  # not inverted: the LEDs sit on the outputs

    def _all_off(self) -> None:
        self._ledout = 0x00
        self._write(PCA9633_LEDOUT, self._ledout)

    def _light(self, channel: int, on: bool) -> None:
        shift = 2 * channel
        self._ledout = (self._ledout & ~(0b11 << shift)) | ((LEDOUT_ON if on else LEDOUT_OFF) << shift)
        self._write(PCA9633_LEDOUT, self._ledout)


class Pca9685Leds(_PcaLeds):
    """PCA9685: sixteen outputs; on = the full-on bit with full-off cleared, off = full off."""

    CHIP = "pca9685"
    CHANNELS = PCA9685_CHANNELS

    def _mode2(self) -> int:
        return MODE2_OUTDRV

    def _all_off(self) -> None:
        self._write(PCA9685_ALL_LED_OFF_H, PCA9685_FULL)

    def _light(self, channel: int, on: bool) -> None:
        if on:
            self._write(PCA9685_LED0_ON_H + 4 * channel, PCA9685_FULL)
            self._write(PCA9685_LED0_OFF_H + 4 * channel, 0x00)  # full off wins: clear it last
        else:
            self._write(PCA9685_LED0_OFF_H + 4 * channel, PCA9685_FULL)


I2C_DRIVERS = {"pca9633": Pca9633Leds, "pca9685": Pca9685Leds}


def open_leds(config, bus, port: str = "leds"):
    """The driver the board's ``leds`` section names, on ``bus`` (the RPi.GPIO module or an SMBus)."""
    if config.kind == "gpio":
        return GpioLeds(bus, config.wiring(), port, active_low=config.active_low)
    return I2C_DRIVERS[config.chip](bus, config.address, config.wiring(), port)
