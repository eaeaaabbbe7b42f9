"""The board's status LEDs, simulated: RPi.GPIO lines or an NXP PCA9633/PCA9685 on the I2C bus.

Register face: ``SimRpiGpio`` has the function interface of the ``RPi.GPIO`` module (setmode,
setup, output, input, cleanup, BCM numbering, and the same errors for a pin used before
``setup``), and ``Pca9633``/``Pca9685`` are register models behind ``SimSMBus``. World face:
every output keeps a ``LevelTrace`` of its light over (virtual) time, and ``SimLeds`` names
them as the board definition does, so a test reads "ready is on" or "fault blinks at 2 Hz".
Fault face: ``power_glitch()`` (the chip resets itself and every LED goes dark); the chip's I2C
address can fail or return garbage through the bus's own faults.

Chip facts (reference/hardware.md; [V] Linux leds-pca963x and pwm-pca9685, reset values [M]):
- both chips wake with MODE1.SLEEP set: the oscillator is off and no output can light until
  the host clears SLEEP, and then only after the oscillator has run for 500 us;
- PCA9633: the first byte of a write is the control register, bits 7..5 the auto-increment
  flags and bits 3..0 the register; LEDOUT (0x08) holds 2 bits per output: 00 off, 01 fully
  on, 10 PWMx, 11 PWMx and the group dimmer/blinker; MODE2.INVRT inverts every output;
- PCA9685: LEDn_ON_L/H, LEDn_OFF_L/H at 0x06 + 4n; bit 4 of ON_H is "full on", bit 4 of
  OFF_H "full off" and wins over full on; reset leaves every output full off; MODE1.AI
  (bit 5) enables auto-increment of the register pointer; PRE_SCALE (0xFE) is writable only
  while SLEEP is set.
LEDs sit directly on the outputs (the outputs sink their current): an output "on" lights it.
"""

from __future__ import annotations

from collections.abc import Callable

OSCILLATOR_START_S = 0.0005  # both datasheets: 500 us after SLEEP is cleared

# ------------------------------------------------------------------------------------ traces


class LevelTrace:
    """One LED's light over time: a list of (time, lit) at every change, starting dark."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self.changes: list[tuple[float, bool]] = [(clock(), False)]

    def set(self, lit: bool, at_s: float | None = None) -> None:
        lit = bool(lit)
        if lit != self.changes[-1][1]:
            self.changes.append((self._clock() if at_s is None else at_s, lit))

    @property
    def lit(self) -> bool:
        return self.changes[-1][1]

    def at(self, when_s: float) -> bool:
        level = False
        for t, value in self.changes:
            if t > when_s:
                break
            level = value
        return level

    def flashes(self, since_s: float, until_s: float | None = None) -> list[tuple[float, float]]:
        """(start, length) of every lit interval that starts in [since_s, until_s)."""
        until_s = self._clock() if until_s is None else until_s
        out = []
        points = self.changes + [(until_s, False)]
        for (t, value), (t_next, _) in zip(points, points[1:]):
            if value and since_s <= t < until_s:
                out.append((t, min(t_next, until_s) - t))
        return out

    def blink_hz(self, since_s: float, until_s: float | None = None) -> float:
        """Lit flashes per second over the window (0 for a dark or steady light)."""
        until_s = self._clock() if until_s is None else until_s
        return len(self.flashes(since_s, until_s)) / (until_s - since_s)

    def lit_fraction(self, since_s: float, until_s: float | None = None) -> float:
        until_s = self._clock() if until_s is None else until_s
        total = 0.0
        points = self.changes + [(until_s, False)]
        for (t, value), (t_next, _) in zip(points, points[1:]):
            if value:
                total += max(0.0, min(t_next, until_s) - max(t, since_s))
        return total / (until_s - since_s)

    def steady(self, since_s: float, until_s: float | None = None) -> bool | None:
        """True/False when the light held that one level over the whole window, else None."""
        fraction = self.lit_fraction(since_s, until_s)
        return True if fraction == 1.0 else False if fraction == 0.0 else None


# ------------------------------------------------------------------------------------ RPi.GPIO


class SimRpiGpio:
    """The ``RPi.GPIO`` module's function interface, on simulated BCM lines with a trace each."""

    BCM, BOARD = 11, 10
    OUT, IN = 0, 1
    HIGH, LOW = 1, 0
    PUD_OFF, PUD_DOWN, PUD_UP = 20, 21, 22
    BCM_LINES = 54  # RPi.GPIO accepts BCM 0..53

    def __init__(self, clock: Callable[[], float], active_low: dict[int, bool] | None = None):
        self._clock = clock
        self._mode: int | None = None
        self._directions: dict[int, int] = {}
        self._levels: dict[int, int] = {}
        self._active_low = active_low or {}  # how each LED is wired: lit with the line low
        self.traces: dict[int, LevelTrace] = {}
        self.warnings = True
        self.cleanups = 0

    def _trace(self, pin: int) -> LevelTrace:
        if pin not in self.traces:
            self.traces[pin] = LevelTrace(self._clock)
        return self.traces[pin]

    # -- the module's functions
    def setwarnings(self, flag) -> None:
        self.warnings = bool(flag)

    def setmode(self, mode) -> None:
        if mode not in (self.BCM, self.BOARD):
            raise ValueError("An invalid mode was passed to setmode()")
        if self._mode is not None and mode != self._mode:
            raise ValueError("A different mode has already been set!")
        self._mode = mode

    def getmode(self):
        return self._mode

    def _channel(self, channel) -> int:
        if self._mode is None:
            raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or "
                               "GPIO.setmode(GPIO.BCM)")
        if self._mode != self.BCM:
            raise ValueError("The simulated board wires its LEDs in BCM numbering only")
        if not isinstance(channel, int) or isinstance(channel, bool) or not 0 <= channel < self.BCM_LINES:
            raise ValueError("The channel sent is invalid on a Raspberry Pi")
        return channel

    def setup(self, channel, direction, pull_up_down=PUD_OFF, initial=-1) -> None:
        for pin in _each(channel):
            pin = self._channel(pin)
            if direction not in (self.OUT, self.IN):
                raise ValueError("An invalid direction was passed to setup()")
            if direction == self.OUT and pull_up_down != self.PUD_OFF:
                raise ValueError("pull_up_down parameter is not valid for outputs")
            self._directions[pin] = direction
            if direction == self.OUT:
                self._drive(pin, self.LOW if initial == -1 else initial)

    def output(self, channel, value) -> None:
        pins = _each(channel)
        values = _each(value) if isinstance(value, (list, tuple)) else [value] * len(pins)
        if len(values) != len(pins):
            raise RuntimeError("Number of channels != number of values")
        for pin, level in zip(pins, values):
            pin = self._channel(pin)
            if self._directions.get(pin) != self.OUT:
                raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
            self._drive(pin, level)

    def input(self, channel) -> int:
        pin = self._channel(channel)
        if pin not in self._directions:
            raise RuntimeError("You must setup() the GPIO channel first")
        return self._levels.get(pin, self.LOW)

    def cleanup(self, channel=None) -> None:
        """Lines go back to inputs (the LEDs go dark, their drive gone)."""
        pins = list(self._directions) if channel is None else [int(p) for p in _each(channel)]
        for pin in pins:
            if pin in self._directions:
                del self._directions[pin]
                self._levels.pop(pin, None)
                self._trace(pin).set(False)
        if channel is None:
            self._mode = None
        self.cleanups += 1

    def _drive(self, pin: int, level) -> None:
        level = self.HIGH if level else self.LOW
        self._levels[pin] = level
        self._trace(pin).set(bool(level) != self._active_low.get(pin, False))

    # -- world face
    def lit(self, pin: int) -> bool:
        return pin in self.traces and self.traces[pin].lit


def _each(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# ------------------------------------------------------------------------------------ I2C chips


class _PcaChip:
    """What both NXP LED drivers share: MODE1/MODE2, the sleeping oscillator, traces per output."""

    CHANNELS = 0
    REGISTERS = 0
    MODE1, MODE2 = 0x00, 0x01
    SLEEP = 0x10
    INVRT = 0x10
    MODE1_RESET = 0x11  # SLEEP and ALLCALL [M]
    MODE2_RESET = 0x00

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self.regs = bytearray(self.REGISTERS)
        self._reset_registers()
        self._pointer = 0
        self._running_since: float | None = None  # oscillator started (SLEEP cleared) at
        self._updated_s = clock()
        self.traces = [LevelTrace(clock) for _ in range(self.CHANNELS)]
        self.bad_accesses = 0  # reads or writes of reserved registers

    def _reset_registers(self) -> None:
        self.regs[self.MODE1] = self.MODE1_RESET
        self.regs[self.MODE2] = self.MODE2_RESET

    # -- I2cChip
    def i2c_write(self, data: bytes) -> None:
        self._settle()
        if not data:
            return
        self._pointer = self._select(data[0])
        for value in data[1:]:
            self._store(self._pointer, value)
            self._pointer = self._next(self._pointer)
        self._update_outputs()

    def i2c_read(self, length: int) -> bytes:
        self._settle()
        out = []
        for _ in range(length):
            out.append(self._load(self._pointer))
            self._pointer = self._next(self._pointer)
        return bytes(out)

    # -- registers
    def _select(self, control: int) -> int:
        return control

    def _next(self, register: int) -> int:
        return register

    def _valid(self, register: int) -> bool:
        return 0 <= register < self.REGISTERS

    def _store(self, register: int, value: int) -> None:
        if not self._valid(register):
            self.bad_accesses += 1
            return
        if register == self.MODE1:
            was_asleep = self.regs[self.MODE1] & self.SLEEP
            if was_asleep and not value & self.SLEEP:
                self._running_since = self._clock()
            elif value & self.SLEEP:
                self._running_since = None
        self.regs[register] = value

    def _load(self, register: int) -> int:
        if not self._valid(register):
            self.bad_accesses += 1
            return 0x00
        return self.regs[register]

    # -- outputs
    @property
    def oscillator_running(self) -> bool:
        return self._running_since is not None and self._clock() >= self._running_since + OSCILLATOR_START_S

    def _settle(self) -> None:
        """Lazy time: outputs set while the oscillator was starting light once it runs."""
        self._update_outputs()

    def _update_outputs(self) -> None:
        """Registers are constant between two calls, so a light that comes on now without a
        write did so when the oscillator started running."""
        now = self._clock()
        lit_from = None if self._running_since is None else self._running_since + OSCILLATOR_START_S
        running = lit_from is not None and now >= lit_from
        at_s = lit_from if running and lit_from > self._updated_s else None
        invert = bool(self.regs[self.MODE2] & self.INVRT)
        for channel, trace in enumerate(self.traces):
            trace.set(running and self._output_on(channel) != invert, at_s=at_s)
        self._updated_s = now

    def _output_on(self, channel: int) -> bool:
        raise NotImplementedError

    def power_glitch(self) -> None:
        """The chip resets itself: registers back to their reset values, asleep, every LED dark."""
        self._settle()
        self._reset_registers()
        self._pointer = 0
        self._running_since = None
        self._update_outputs()

    def lit(self, channel: int) -> bool:
        self._settle()
        return self.traces[channel].lit

    def trace(self, channel: int) -> LevelTrace:
        self._settle()
        return self.traces[channel]


class Pca9633(_PcaChip):
    """NXP PCA9633: 4 outputs, registers 0x00..0x0C, auto-increment chosen per write."""

    CHANNELS = 4
    REGISTERS = 0x0D
    PWM0, GRPPWM, GRPFREQ, LEDOUT = 0x02, 0x06, 0x07, 0x08
    MODE2_RESET = 0x05  # OUTDRV (totem pole) and OUTNE = 01 [M]
    # auto-increment flags (control bits 7..5) -> the registers the pointer rolls over
    AUTO_INCREMENT = {0b100: (0x00, 0x0C), 0b101: (0x02, 0x05), 0b110: (0x06, 0x07), 0b111: (0x02, 0x07)}

    def _reset_registers(self) -> None:
        super()._reset_registers()
        self.regs[0x0C] = 0xE0  # ALLCALLADR: 0x70 in bits 7..1 [M]
        self._auto = 0

    def _select(self, control: int) -> int:
        flags = control >> 5
        self._auto = flags if flags in self.AUTO_INCREMENT else 0
        if flags not in self.AUTO_INCREMENT and flags != 0:
            self.bad_accesses += 1  # 001, 010, 011 are reserved combinations
        return control & 0x0F

    def _next(self, register: int) -> int:
        if not self._auto:
            return register
        low, high = self.AUTO_INCREMENT[self._auto]
        return low if register >= high or register < low else register + 1

    def _load(self, register: int) -> int:
        value = super()._load(register)
        if register == self.MODE1:
            value = (value & 0x1F) | (self._auto << 5)  # AI2..AI0 read back the current flags
        return value

    def _store(self, register: int, value: int) -> None:
        if register == self.MODE1:
            value &= 0x1F  # AI2..AI0 are read-only
        super()._store(register, value)

    def _output_on(self, channel: int) -> bool:
        mode = (self.regs[self.LEDOUT] >> (2 * channel)) & 0x3
        if mode == 0b01:
            return True
        if mode in (0b10, 0b11):
            return self.regs[self.PWM0 + channel] >= 0x80  # a LED dimmed over half counts as lit
        return False


class Pca9685(_PcaChip):
    """NXP PCA9685: 16 outputs with 12-bit on/off counters; reset leaves every output full off."""

    CHANNELS = 16
    REGISTERS = 0x100
    LED0_ON_L = 0x06
    ALL_LED_ON_L = 0xFA
    PRE_SCALE = 0xFE
    AI = 0x20
    FULL = 0x10  # bit 4 of ON_H / OFF_H
    MODE2_RESET = 0x04  # OUTDRV [M]
    PRE_SCALE_RESET = 0x1E  # 200 Hz [M]

    def _reset_registers(self) -> None:
        super()._reset_registers()
        for channel in range(self.CHANNELS):
            self.regs[self.LED0_ON_L + 4 * channel + 3] = self.FULL
        self.regs[self.ALL_LED_ON_L + 3] = self.FULL
        self.regs[self.PRE_SCALE] = self.PRE_SCALE_RESET

    def _valid(self, register: int) -> bool:
        return register <= 0x45 or register >= 0xFA

    def _next(self, register: int) -> int:
        if not self.regs[self.MODE1] & self.AI:
            return register
        return (register + 1) & 0xFF

    def _store(self, register: int, value: int) -> None:
        if register == self.PRE_SCALE and not self.regs[self.MODE1] & self.SLEEP:
            return  # the datasheet: PRE_SCALE can only be set while the oscillator is off
        if self.ALL_LED_ON_L <= register <= self.ALL_LED_ON_L + 3:
            for channel in range(self.CHANNELS):  # ALL_LED registers write every channel
                self.regs[self.LED0_ON_L + 4 * channel + register - self.ALL_LED_ON_L] = value
        if register == 0xFF:
            self.bad_accesses += 1  # the test mode register: never to be written
            return
        super()._store(register, value)

    def _output_on(self, channel: int) -> bool:
        base = self.LED0_ON_L + 4 * channel
        on_l, on_h, off_l, off_h = self.regs[base:base + 4]
        if off_h & self.FULL:
            return False
        if on_h & self.FULL:
            return True
        on, off = on_l | (on_h & 0x0F) << 8, off_l | (off_h & 0x0F) << 8
        return (off - on) % 4096 >= 2048  # PWM over half the period counts as lit


CHIPS = {"pca9633": Pca9633, "pca9685": Pca9685}


# ------------------------------------------------------------------------------------ the panel


class SimLeds:
    """The board's LED hardware as the configuration wires it, and its named lights.

    ``gpio`` is the RPi.GPIO stand-in (kind gpio), ``chip`` the I2C model and ``address`` where
    it answers (kind i2c). World face: ``trace(name)``, ``lit(name)``, ``lit_names()``.
    """

    def __init__(self, config, clock: Callable[[], float]):
        self.config = config
        self._clock = clock
        self.gpio: SimRpiGpio | None = None
        self.chip: _PcaChip | None = None
        self.address: int | None = None
        if config is None:
            return
        if config.kind == "gpio":
            self.gpio = SimRpiGpio(clock, {pin: config.active_low for pin in config.wiring().values()})
        else:
            self.chip = CHIPS[config.chip](clock)
            self.address = config.address

    @property
    def names(self) -> tuple[str, ...]:
        return self.config.names if self.config is not None else ()

    def i2c_chips(self) -> dict:
        return {self.address: self.chip} if self.chip is not None else {}

    def trace(self, name: str) -> LevelTrace:
        wire = self.config.wiring()[name] if self.config is not None and name in self.config.wiring() else None
        if wire is None:
            raise KeyError(f"no LED {name!r} on this board (it has {', '.join(self.names) or 'none'})")
        if self.gpio is not None:
            return self.gpio._trace(wire)
        return self.chip.trace(wire)

    def lit(self, name: str) -> bool:
        return self.trace(name).lit

    def lit_names(self) -> list[str]:
        return [name for name in self.names if self.lit(name)]

    def power_glitch(self) -> None:
        """The LED driver chip resets itself (nothing happens to LEDs on GPIO lines)."""
        if self.chip is not None:
            self.chip.power_glitch()
