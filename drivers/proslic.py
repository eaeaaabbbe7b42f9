"""FXS driver for the Silicon Labs Si3210/Si3215 ProSLIC, driven the way DAHDI's wctdm.c drives it.

The driver turns the chip's registers into a few line events (off-hook, on-hook, flash, pulse
digits, the caller-ID window) and actions (ring with the Italian cadence, set the linefeed). It
knows nothing about calls. It takes its buses from the board: a ``periphery.SPI``-like object,
the IRQ line as a ``periphery.GPIO``-like input with falling-edge events, and optionally the
active-low reset line as an output.

Two rules shape the code:
- Every SPI byte is its own ``transfer()``: the ProSLIC needs chip select raised between bytes
  (a write is ``[reg & 0x7F]`` then ``[data]``; a read is ``[reg | 0x80]`` then one byte clocked in).
- ``start()`` is async and waits with ``asyncio.sleep`` in bounded polling loops (so a simulated
  chip on a virtual clock runs it in no real time); ``handle_interrupt()`` and ``tick()`` are
  plain synchronous calls for the engine's hot path.

Hook timing (Italian decadic dialling is 10 pulses/s, 60 ms break / 40 ms make): a break of
30-75 ms is a dial pulse, a make of 150 ms after pulses ends the digit, a break of 76-600 ms
followed by a make is a hook flash, a break longer than 600 ms is a hang-up.

The steps wctdm takes and this driver takes too [V wctdm.c]: the power-leak test between two
power-ups (DC-DC off, the battery must not collapse within 500 ms: a short on the board), the
DC-DC converter's calibration (reg 93 = 0x99, reg 107 must read 2..13, else 8 is written), the
calibration registers 96-107 kept for a fast restore, and the running sanity check of
``wctdm_proslic_recheck_sanity``: when the linefeed reads back open although the driver set it,
reg 8 (digital loopback) tells a chip that reset itself (its reset default 0x02 is back: the
driver re-initialises it) from a power alarm (the chip opened the line to protect its
transistors: the linefeed is restored, at most ``MAX_POWER_ALARMS`` times in a row).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ChipError

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- direct registers
REG_ID = 0
REG_PCM_MODE = 1
REG_PCM_TX_START_LOW, REG_PCM_TX_START_HIGH = 2, 3
REG_PCM_RX_START_LOW, REG_PCM_RX_START_HIGH = 4, 5
REG_LOOPBACK = 8
REG_HYBRID = 11
REG_POWER_DOWN = 14
REG_IRQ_STATUS_1, REG_IRQ_STATUS_2, REG_IRQ_STATUS_3 = 18, 19, 20
REG_IRQ_ENABLE_1, REG_IRQ_ENABLE_2, REG_IRQ_ENABLE_3 = 21, 22, 23
REG_INDIRECT_DATA_LOW, REG_INDIRECT_DATA_HIGH = 28, 29
REG_INDIRECT_ADDRESS, REG_INDIRECT_STATUS = 30, 31
REG_RING_OSC_CONTROL = 34
REG_RING_ACTIVE_TIMER_LOW, REG_RING_ACTIVE_TIMER_HIGH = 48, 49
REG_RING_INACTIVE_TIMER_LOW, REG_RING_INACTIVE_TIMER_HIGH = 50, 51
REG_LINEFEED = 64
REG_BATTERY_FEED = 66
REG_AUTO_STATE = 67
REG_LOOP_STATUS = 68
REG_LOOP_CURRENT_LIMIT = 71
REG_BATTERY_HIGH = 74
REG_LOOP_CURRENT = 79
REG_TIP_VOLTAGE, REG_RING_VOLTAGE, REG_BATTERY_VOLTAGE = 80, 81, 82
REG_DCDC_PWM_OFF = 92
REG_DCDC = 93
REG_CALIBRATION_1, REG_CALIBRATION_2 = 96, 97
REG_REVISION_C_OPTIMISATION = 108

# Reset defaults that prove a live, freshly reset Si321x answers [V wctdm proslic_insane]
SANITY_DEFAULTS = {REG_LOOPBACK: 0x02, REG_HYBRID: 0x33, REG_LINEFEED: 0x00}
ID_REVISION_MASK = 0x0F
ID_PART_SHIFT = 4
MIN_REVISION = 2  # wctdm refuses older parts
SI3215_FLAG = 0x80  # reg 1 bit 7

# Values written during start-up [V wctdm init_proslic / powerup_proslic / calibrate]
POWER_DOWN_DCDC_OFF = 0x10
POWER_DOWN_NONE = 0x00
REVISION_C_OPTIMISATION = 0xEB
AUTO_STATE = 0x07  # auto power alarm, loop closure, ring trip; automatic battery switching off
BATTERY_FEED_Q7_OFF = 0x01
DCDC_PWM_PERIOD = 0xFF
DCDC_ENGAGE = 0x19
CALIBRATE_ALL = 0x1F  # reg 97
CALIBRATE_START = 0x5F  # reg 96
BATTERY_READY_CODE = 0xC0  # reg 82 in 376 mV steps: about 72 V
LOOP_CURRENT_LIMIT_MA = 20  # 20 + 3n mA, n in reg 71
BATTERY_HIGH_75V = 0x32  # reg 74, 1.5 V steps

PCM_ALAW = 0x20  # reg 1: PCM on, A-law
PCM_ULAW = 0x28  # reg 1: PCM on, u-law
PCM_MODES = {"alaw": PCM_ALAW, "ulaw": PCM_ULAW}
PCM_CLOCKS_PER_SLOT = 8
MAX_TIMESLOT = 127  # 10-bit start count

IRQ2_RING_TRIP = 0x01
IRQ2_LOOP_CLOSURE = 0x02
LOOP_STATUS_OFF_HOOK = 0x01
DIGITAL_LOOPBACK = 0x02  # reg 8 bit 1, on at reset [V wctdm "clear digital loopback" writes 0]

# Ringing: Italy rings at 25 Hz, 1 s on / 4 s off [hardware.md, M]. The amplitude RNGX depends
# on the frequency [V Si3210 datasheet, sinusoidal ringing]:
#   RNGX = 1/4 * sqrt((1 - coeff) / (1 + coeff)) * Vpeak / 96 V * 2^15, coeff = RCO / 2^15.
# wctdm's 0x160 is its 20 Hz value (64 V peak); at 25 Hz it gives 52 V peak, 37 Vrms, too little
# for the 45-50 Vrms an Italian phone expects [hardware.md, M]. wctdm's own 25 Hz value 0x1B9
# ("fastringer") gives 65.7 V peak, 46.5 Vrms open circuit, under the 75 V battery (VBATH).
RING_FREQUENCY_HZ = 25.0
RING_ON_S = 1.0
RING_OFF_S = 4.0
RING_PEAK_V = 65.7
RING_FULL_SCALE_V = 96.0
RING_OFFSET = 0x0000  # indirect RNGY, initial phase
RING_TRIP_THRESHOLD = 0x3600  # indirect RPTP [V wctdm]
RING_OSC_CONTROL_SINE = 0x00  # continuous sine; the cadence is timed in software
RING_TIMERS = ((REG_RING_ACTIVE_TIMER_LOW, 0xE0), (REG_RING_ACTIVE_TIMER_HIGH, 0x01),
               (REG_RING_INACTIVE_TIMER_LOW, 0xF0), (REG_RING_INACTIVE_TIMER_HIGH, 0x05))

# Measurements
VOLTS_PER_CODE = 0.376  # regs 80-82 [V wctdm "* 376" mV]
LOOP_CURRENT_MA_PER_CODE = 1.1  # reg 79 [M, still unverified: docs/hardware.md]

# The power-leak test, the DC-DC calibration and the running checks [V wctdm]
LEAK_TEST_S = 0.5  # the battery, DC-DC off, must stay above LEAK_FLOOR_CODE this long
LEAK_FLOOR_CODE = 0x06  # 2.3 V
DCDC_CALIBRATE = 0x99  # reg 93: DC-DC engaged plus its calibration (bit 7)
REG_DCDC_CALIBRATION = 107
DCDC_CALIBRATION_RANGE = range(0x02, 0x0E)  # 2..13 [V wctdm]
DCDC_CALIBRATION_DEFAULT = 0x08  # written when the chip's own result is out of range [V wctdm]
CALIBRATION_REGISTERS = range(96, 108)  # kept after calibrating, restored by a fast re-init [V wctdm]
MAX_POWER_ALARMS = 10  # restore the linefeed this often, then give up [V wctdm MAX_ALARMS]
POWER_ALARM_FORGIVE_S = 10.0  # one alarm is forgotten every 10 s [V wctdm]
SANITY_EVERY_TICKS = 10  # read the linefeed back every 200 ms (with the loop status)

# Timing of start-up waits (seconds)
RESET_LOW_S = 0.005
RESET_SETTLE_S = 0.010
INDIRECT_POLL_S = 0.0005
INDIRECT_TIMEOUT_S = 0.05
BATTERY_POLL_S = 0.010
BATTERY_TIMEOUT_S = 0.5  # wctdm gives the DC-DC converter 500 ms
CALIBRATION_POLL_S = 0.010
CALIBRATION_TIMEOUT_S = 1.0
EDGE_CLOCK_TOLERANCE_S = 1.0  # an edge stamp further than this from clock() is on another clock
MAX_EDGES_PER_CALL = 32
LOOP_RECHECK_TICKS = 10  # re-read the loop status every 200 ms in case an edge was lost


def _edge_time(stamp_s: float, now: float) -> float:
    """An interrupt edge's time on our clock. periphery's cdev2 has the kernel stamp edges with
    CLOCK_REALTIME, so a stamp is taken as ours when it is near ``now`` (a line stamped on our
    clock), else converted from the wall clock; one that fits neither (a clock step) is ``now``."""
    if abs(stamp_s - now) <= EDGE_CLOCK_TOLERANCE_S:
        return stamp_s
    converted = stamp_s - (time.time() - now)
    return converted if abs(converted - now) <= EDGE_CLOCK_TOLERANCE_S else now


# ----------------------------------------------------------------------------- indirect registers
@dataclass(frozen=True)
class IndirectRegister:
    """One indirect register: its Si3210 address, its Si3215 address (None: absent there), value."""
    name: str
    address: int
    si3215_address: int | None
    value: int


# The start-up table of wctdm.c (values are the chip's documented settings); the Si3215 has no
# DTMF decoder and no pulse metering, so those entries do not exist on it.
INDIRECT_TABLE = tuple(IndirectRegister(*row) for row in (
    ("DTMF_ROW_0_PEAK", 0, None, 0x55C2), ("DTMF_ROW_1_PEAK", 1, None, 0x51E6),
    ("DTMF_ROW_2_PEAK", 2, None, 0x4B85), ("DTMF_ROW_3_PEAK", 3, None, 0x4937),
    ("DTMF_COL_1_PEAK", 4, None, 0x3333), ("DTMF_FWD_TWIST", 5, None, 0x0202),
    ("DTMF_RVS_TWIST", 6, None, 0x0202), ("DTMF_ROW_RATIO", 7, None, 0x0198),
    ("DTMF_COL_RATIO", 8, None, 0x0198), ("DTMF_ROW_2ND_HARM", 9, None, 0x0611),
    ("DTMF_COL_2ND_HARM", 10, None, 0x0202), ("DTMF_PWR_MIN", 11, None, 0x00E5),
    ("DTMF_HOT_LIMIT", 12, None, 0x0A1C),
    ("OSC1_COEF", 13, 0, 0x7B30), ("OSC1X", 14, 1, 0x0063), ("OSC1Y", 15, 2, 0x0000),
    ("OSC2_COEF", 16, 3, 0x7870), ("OSC2X", 17, 4, 0x007D), ("OSC2Y", 18, 5, 0x0000),
    ("RING_V_OFF", 19, 6, 0x0000), ("RING_OSC", 20, 7, 0x7EF0), ("RING_X", 21, 8, 0x0160),
    ("RING_Y", 22, 9, 0x0000),
    ("PULSE_ENVEL", 23, None, 0x2000), ("PULSE_X", 24, None, 0x2000), ("PULSE_Y", 25, None, 0x0000),
    ("RECV_DIGITAL_GAIN", 26, 13, 0x2000), ("XMIT_DIGITAL_GAIN", 27, 14, 0x4000),
    ("LOOP_CLOSE_THRESH", 28, 15, 0x1000), ("RING_TRIP_THRESH", 29, 16, 0x3600),
    ("COMMON_MIN_THRESH", 30, 17, 0x1000), ("COMMON_MAX_THRESH", 31, 18, 0x0200),
    ("PWR_ALARM_Q1Q2", 32, 19, 0x07C0), ("PWR_ALARM_Q3Q4", 33, 20, 0x2600),
    ("PWR_ALARM_Q5Q6", 34, 21, 0x1B80), ("LOOP_CLOSURE_FILTER", 35, 22, 0x8000),
    ("RING_TRIP_FILTER", 36, 23, 0x0320), ("THERM_LP_POLE_Q1Q2", 37, 24, 0x008C),
    ("THERM_LP_POLE_Q3Q4", 38, 25, 0x0100), ("THERM_LP_POLE_Q5Q6", 39, 26, 0x0010),
    ("CM_BIAS_RINGING", 40, 27, 0x0C00), ("DCDC_MIN_V", 41, 64, 0x0C00),
    ("DCDC_XTRA", 42, None, 0x1000), ("LOOP_CLOSE_THRESH_LOW", 43, 66, 0x1000),
))
_SI3215_ADDRESS = {reg.address: reg.si3215_address for reg in INDIRECT_TABLE}
IND_RING_COEFFICIENT = 20
IND_RING_AMPLITUDE = 21
IND_RING_OFFSET = 22
IND_RING_TRIP_THRESHOLD = 29


def ring_coefficient(frequency_hz: float) -> int:
    """RCO for a ring frequency: round(32768 * cos(2 pi f / 1000)); 25 Hz gives 0x7E6C."""
    return int(round(32768 * math.cos(2 * math.pi * frequency_hz / 1000.0)))


def ring_amplitude(peak_v: float, frequency_hz: float) -> int:
    """RNGX for a peak ring voltage at a frequency (the datasheet's equation, see RING_PEAK_V)."""
    coeff = math.cos(2 * math.pi * frequency_hz / 1000.0)
    return int(round(0.25 * math.sqrt((1 - coeff) / (1 + coeff)) * peak_v / RING_FULL_SCALE_V * 32768))


RING_AMPLITUDE = ring_amplitude(RING_PEAK_V, RING_FREQUENCY_HZ)  # 0x1B9, wctdm's 25 Hz value


# ----------------------------------------------------------------------------- public types
class Linefeed(enum.IntEnum):
    """Reg 64 low 3 bits."""
    OPEN = 0
    FORWARD_ACTIVE = 1
    FORWARD_OHT = 2
    TIP_OPEN = 3
    RINGING = 4
    REVERSE_ACTIVE = 5
    REVERSE_OHT = 6
    RING_OPEN = 7


@dataclass(frozen=True)
class HookTiming:
    """Hook-switch timing in seconds (Italian decadic dialling: 60 ms break, 40 ms make)."""
    pulse_break_min_s: float = 0.030  # shorter breaks are contact bounce
    pulse_break_max_s: float = 0.075
    interdigit_make_s: float = 0.150  # a make this long after pulses ends the digit
    flash_max_s: float = 0.600  # longer breaks are a hang-up

    def __post_init__(self):
        if not 0 < self.pulse_break_min_s < self.pulse_break_max_s < self.flash_max_s:
            raise ValueError(f"hook timing must satisfy 0 < pulse_break_min_s < pulse_break_max_s "
                             f"< flash_max_s, got {self}")
        if self.interdigit_make_s <= 0:
            raise ValueError(f"interdigit_make_s must be > 0, got {self.interdigit_make_s}")


@dataclass(frozen=True)
class OffHook:
    at_s: float


@dataclass(frozen=True)
class OnHook:
    at_s: float  # when the loop opened (reported once the break outlasted a flash)


@dataclass(frozen=True)
class Flash:
    at_s: float


@dataclass(frozen=True)
class PulseDigit:
    digit: str
    at_s: float  # end of the last pulse


@dataclass(frozen=True)
class CallerIdWindow:
    at_s: float  # the first ring burst ended and the line is in on-hook transmission


@dataclass(frozen=True)
class RingTrip:
    at_s: float  # the phone was picked up during a ring burst (an OffHook follows)


@dataclass(frozen=True)
class PowerAlarm:
    at_s: float
    count: int  # alarms not yet forgiven; at MAX_POWER_ALARMS the driver gives up (ChipFailed)


@dataclass(frozen=True)
class ChipRestored:
    at_s: float  # the chip had reset itself and was initialised again


@dataclass(frozen=True)
class ChipFailed:
    at_s: float
    problem: str  # the port cannot work any more: the channel marks it out of service


LineEvent = OffHook | OnHook | Flash | PulseDigit | CallerIdWindow | RingTrip | PowerAlarm | ChipRestored | ChipFailed


@dataclass(frozen=True)
class LineDiagnostics:
    """Volts relative to ground (negative: the ProSLIC feeds below ground), loop current in mA."""
    tip_v: float
    ring_v: float
    battery_v: float
    loop_current_ma: float


# ----------------------------------------------------------------------------- hook decoding
class HookDecoder:
    """Turns raw loop open/close transitions (with their times) into hook events.

    Pure timing logic, no chip access: ``loop_changed`` at every transition, ``poll`` on every
    tick for the decisions that need time to pass (end of a digit, a confirmed hang-up).
    """

    def __init__(self, timing: HookTiming):
        self.timing = timing
        self.off_hook = False  # the reported state
        self.loop_closed = False  # the raw state
        self._break_at: float | None = None
        self._pulses = 0
        self._last_make_at = 0.0

    def loop_changed(self, closed: bool, at: float) -> list[LineEvent]:
        if closed == self.loop_closed:
            return []
        self.loop_closed = closed
        if not closed:
            if self.off_hook:
                self._break_at = at
            return []
        if not self.off_hook:
            self.off_hook, self._pulses = True, 0
            return [OffHook(at)]
        break_at, self._break_at = self._break_at, None
        if break_at is None:
            return []
        length = at - break_at
        if length < self.timing.pulse_break_min_s:
            return []  # bounce
        if length <= self.timing.pulse_break_max_s:
            self._pulses += 1
            self._last_make_at = at
            return []
        events = self._finish_digit()
        if length <= self.timing.flash_max_s:
            return events + [Flash(at)]
        # the hang-up was never confirmed by poll(): report it late rather than never
        self._pulses = 0
        return [OnHook(break_at), OffHook(at)]

    def poll(self, now: float) -> list[LineEvent]:
        if self.off_hook and self._break_at is not None and now - self._break_at > self.timing.flash_max_s:
            at, self._break_at = self._break_at, None
            self.off_hook, self._pulses = False, 0
            return [OnHook(at)]
        if self._pulses and self.loop_closed and now - self._last_make_at >= self.timing.interdigit_make_s:
            return self._finish_digit()
        return []

    def _finish_digit(self) -> list[LineEvent]:
        count, self._pulses = self._pulses, 0
        if not count:
            return []
        if count > 10:
            log.warning("dropped a pulse train of %d pulses (at most 10 make a digit)", count)
            return []
        return [PulseDigit("0" if count == 10 else str(count), self._last_make_at)]


# ----------------------------------------------------------------------------- the driver
class ProSlic:
    """One FXS port on an Si3210/Si3215."""

    def __init__(self, spi, irq, reset=None, *, port: str, timeslot: int, law: str = "alaw",
                 clock: Callable[[], float] = time.monotonic, timing: HookTiming = HookTiming()):
        if not 0 <= timeslot <= MAX_TIMESLOT:
            raise ValueError(f"{port}: PCM timeslot must be 0..{MAX_TIMESLOT}, got {timeslot}")
        if law not in PCM_MODES:
            raise ValueError(f"{port}: law must be one of {sorted(PCM_MODES)}, got {law!r}")
        self.port = port
        self.timeslot = timeslot
        self.law = law
        self.part: str | None = None
        self.revision: int | None = None
        self._spi = spi
        self._irq = irq
        self._reset = reset
        self._clock = clock
        self._hook = HookDecoder(timing)
        self._ticks = 0
        self._linefeed = Linefeed.OPEN
        self._ringing = False
        self._ring_on = False
        self._phase_end_s = 0.0
        self._caller_id_window_pending = False
        self.warnings: list[str] = []  # what start-up found wrong but could work around
        self._calibration: dict[int, int] | None = None  # regs 96-107 after the full calibration
        self._alarms = 0
        self._alarm_forgiven_s = 0.0
        self.power_alarms = 0  # in all
        self.restores = 0  # times the chip reset itself and was initialised again
        self._restoring: asyncio.Task | None = None
        self._failed: str | None = None
        self._failure_reported = False
        self._news: list[LineEvent] = []  # events of the background restore, handed out by tick()

    # --------------------------------------------------------------- properties
    @property
    def irq_fd(self) -> int:
        return self._irq.fd

    @property
    def off_hook(self) -> bool:
        return self._hook.off_hook

    @property
    def ringing(self) -> bool:
        return self._ringing

    @property
    def linefeed(self) -> Linefeed:
        return self._linefeed

    # --------------------------------------------------------------- register access
    def _write(self, reg: int, value: int) -> None:
        self._spi.transfer([reg & 0x7F])
        self._spi.transfer([value & 0xFF])

    def _read(self, reg: int) -> int:
        self._spi.transfer([reg | 0x80])
        return self._spi.transfer([0x00])[0]

    def _indirect_address(self, address: int) -> int | None:
        """The chip address of an indirect register (the Si3215 numbers them differently)."""
        if self.part == "Si3215" and address in _SI3215_ADDRESS:
            return _SI3215_ADDRESS[address]
        return address

    async def _wait_indirect(self) -> None:
        deadline = self._clock() + INDIRECT_TIMEOUT_S
        while (status := self._read(REG_INDIRECT_STATUS)) != 0:
            if self._clock() >= deadline:
                raise ChipError(self.port, f"indirect register access still busy after "
                                f"{INDIRECT_TIMEOUT_S * 1000:.0f} ms", REG_INDIRECT_STATUS, status)
            await asyncio.sleep(INDIRECT_POLL_S)

    async def _write_indirect(self, address: int, value: int) -> None:
        chip_address = self._indirect_address(address)
        if chip_address is None:
            return  # the register does not exist on this part
        await self._wait_indirect()
        self._write(REG_INDIRECT_DATA_LOW, value & 0xFF)
        self._write(REG_INDIRECT_DATA_HIGH, (value >> 8) & 0xFF)
        self._write(REG_INDIRECT_ADDRESS, chip_address)

    async def _read_indirect(self, address: int) -> int | None:
        chip_address = self._indirect_address(address)
        if chip_address is None:
            return None
        await self._wait_indirect()
        self._write(REG_INDIRECT_ADDRESS, chip_address)
        await self._wait_indirect()
        return self._read(REG_INDIRECT_DATA_LOW) | self._read(REG_INDIRECT_DATA_HIGH) << 8

    # --------------------------------------------------------------- start-up
    async def restart(self) -> None:
        """Set up again a chip that failed while running (the port supervisor's retry). With a
        reset line of its own it is reset and started as at power-up; on a shared reset line
        (the reference HAT's) pulsing it would reset every other SLIC mid-call, so the chip is
        identified by its ID register alone and every register is written afresh."""
        await self.start(fresh=self._reset is not None)

    async def start(self, fast: bool = False, fresh: bool = True) -> None:
        """Reset, identify, power up, calibrate and configure the chip; leave the line idle.

        ``fast`` (a chip that reset itself while in service): no reset pulse, no leak test and no
        calibration, the calibration registers saved by the full start are written back instead,
        and the hook state is kept. Raises ChipError naming the register and value when the chip
        does not behave.
        """
        if not fast:
            self._hook = HookDecoder(self._hook.timing)  # a restart forgets the old line state
            self.warnings = []
            await self._reset_pulse()
        self._ringing = False
        self._check_presence(fresh=fresh)
        self._write(REG_POWER_DOWN, POWER_DOWN_DCDC_OFF)
        await self._load_indirect_table()
        self._write(REG_LOOPBACK, 0x00)
        self._write(REG_REVISION_C_OPTIMISATION, REVISION_C_OPTIMISATION)
        self._write(REG_AUTO_STATE, AUTO_STATE)
        self._write(REG_BATTERY_FEED, BATTERY_FEED_Q7_OFF)
        await self._power_up()
        if fast and self._calibration is not None:
            for reg, value in self._calibration.items():
                self._write(reg, value)
        else:
            await self._check_power_leak()
            await self._power_up()
            await self._calibrate()
            self._check_dcdc_calibration()
            self._calibration = {reg: self._read(reg) for reg in CALIBRATION_REGISTERS}
        await self._verify_indirect_table()
        self._configure_pcm()
        self._clear_interrupts()
        await self._setup_ringing()
        self._write(REG_IRQ_ENABLE_1, 0x00)
        self._write(REG_IRQ_ENABLE_2, IRQ2_RING_TRIP | IRQ2_LOOP_CLOSURE)
        self._write(REG_IRQ_ENABLE_3, 0x00)
        self._apply_linefeed(Linefeed.FORWARD_ACTIVE)  # a phone already off hook shows on the first tick
        self._alarms, self._alarm_forgiven_s = 0, self._clock()
        self._failed, self._failure_reported = None, False
        log.info("%s: %s revision %d ready, timeslot %d, %s", self.port, self.part, self.revision,
                 self.timeslot, self.law)

    async def _reset_pulse(self) -> None:
        if self._reset is None:
            return
        self._reset.write(False)
        await asyncio.sleep(RESET_LOW_S)
        self._reset.write(True)
        await asyncio.sleep(RESET_SETTLE_S)

    def _check_presence(self, fresh: bool = True) -> None:
        ident = self._read(REG_ID)
        revision = ident & ID_REVISION_MASK
        if revision in (0x0, 0xF):
            raise ChipError(self.port, "no ProSLIC answers: the ID register reads an empty bus "
                            "(revision 0 or 15)", REG_ID, ident)
        if revision < MIN_REVISION:
            raise ChipError(self.port, f"unsupported ProSLIC: revision {revision} "
                            f"(expected {MIN_REVISION} or later)", REG_ID, ident)
        for reg, expected in (SANITY_DEFAULTS.items() if fresh else ()):
            value = self._read(reg)
            if value != expected:
                raise ChipError(self.port, f"not a freshly reset ProSLIC: expected the reset "
                                f"default 0x{expected:02X}", reg, value)
        self.revision = revision
        self.part = "Si3215" if self._read(REG_PCM_MODE) & SI3215_FLAG else "Si3210"

    async def _load_indirect_table(self) -> None:
        for entry in INDIRECT_TABLE:
            await self._write_indirect(entry.address, entry.value)

    async def _verify_indirect_table(self) -> None:
        for entry in INDIRECT_TABLE:
            value = await self._read_indirect(entry.address)
            if value is not None and value != entry.value:
                raise ChipError(self.port, f"indirect register {entry.address} ({entry.name}) reads "
                                f"0x{value:04X}, expected 0x{entry.value:04X}", REG_INDIRECT_ADDRESS,
                                self._indirect_address(entry.address))

    async def _power_up(self) -> None:
        self._write(REG_DCDC_PWM_OFF, DCDC_PWM_PERIOD)
        self._write(REG_POWER_DOWN, POWER_DOWN_NONE)
        deadline = self._clock() + BATTERY_TIMEOUT_S
        while (battery := self._read(REG_BATTERY_VOLTAGE)) < BATTERY_READY_CODE:
            if self._clock() >= deadline:
                raise ChipError(self.port, f"battery did not reach {BATTERY_READY_CODE * VOLTS_PER_CODE:.0f} V "
                                f"within {BATTERY_TIMEOUT_S} s (DC-DC converter or its supply), "
                                f"read {battery * VOLTS_PER_CODE:.1f} V", REG_BATTERY_VOLTAGE, battery)
            await asyncio.sleep(BATTERY_POLL_S)
        self._write(REG_LOOP_CURRENT_LIMIT, (LOOP_CURRENT_LIMIT_MA - 20) // 3)
        self._write(REG_DCDC, DCDC_ENGAGE)

    async def _check_power_leak(self) -> None:
        """DC-DC off for LEAK_TEST_S: a battery that collapses meanwhile leaks into a short.

        wctdm reports it and carries on, and so does this driver (the port may still work): the
        finding is kept in ``warnings`` for the console and ``centralino hat probe``."""
        self._write(REG_LINEFEED, Linefeed.OPEN)
        self._write(REG_POWER_DOWN, POWER_DOWN_DCDC_OFF)
        started = self._clock()
        while (battery := self._read(REG_BATTERY_VOLTAGE)) > LEAK_FLOOR_CODE:
            if self._clock() - started >= LEAK_TEST_S:
                return
            await asyncio.sleep(BATTERY_POLL_S)
        elapsed_ms = (self._clock() - started) * 1000
        problem = (f"excessive leakage: the battery fell to {battery * VOLTS_PER_CODE:.1f} V within "
                   f"{elapsed_ms:.0f} ms with the DC-DC converter off (check the board for a short circuit)")
        self.warnings.append(problem)
        log.warning("%s: %s", self.port, problem)

    def _check_dcdc_calibration(self) -> None:
        """Calibrate the DC-DC converter; a result outside 2..13 in reg 107 is replaced by 8 [V wctdm]."""
        self._write(REG_DCDC, DCDC_CALIBRATE)
        value = self._read(REG_DCDC_CALIBRATION)
        if value not in DCDC_CALIBRATION_RANGE:
            problem = (f"DC-DC calibration read 0x{value:02X} in reg {REG_DCDC_CALIBRATION} (expected "
                       f"0x02..0x0D); 0x{DCDC_CALIBRATION_DEFAULT:02X} written instead")
            self.warnings.append(problem)
            log.warning("%s: %s", self.port, problem)
            self._write(REG_DCDC_CALIBRATION, DCDC_CALIBRATION_DEFAULT)

    async def _calibrate(self) -> None:
        self._write(REG_CALIBRATION_2, CALIBRATE_ALL)
        self._write(REG_CALIBRATION_1, CALIBRATE_START)
        deadline = self._clock() + CALIBRATION_TIMEOUT_S
        while (status := self._read(REG_CALIBRATION_1)) != 0:
            if self._clock() >= deadline:
                raise ChipError(self.port, f"calibration did not finish within {CALIBRATION_TIMEOUT_S} s",
                                REG_CALIBRATION_1, status)
            await asyncio.sleep(CALIBRATION_POLL_S)

    def _configure_pcm(self) -> None:
        count = self.timeslot * PCM_CLOCKS_PER_SLOT
        self._write(REG_PCM_MODE, PCM_MODES[self.law])
        self._write(REG_PCM_TX_START_LOW, count & 0xFF)
        self._write(REG_PCM_TX_START_HIGH, count >> 8)
        self._write(REG_PCM_RX_START_LOW, count & 0xFF)
        self._write(REG_PCM_RX_START_HIGH, count >> 8)

    def _clear_interrupts(self) -> None:
        for reg in (REG_IRQ_STATUS_1, REG_IRQ_STATUS_2, REG_IRQ_STATUS_3):
            self._write(reg, 0xFF)

    async def _setup_ringing(self) -> None:
        self._write(REG_RING_OSC_CONTROL, RING_OSC_CONTROL_SINE)
        for reg, value in RING_TIMERS:
            self._write(reg, value)
        await self._write_indirect(IND_RING_OFFSET, RING_OFFSET)
        await self._write_indirect(IND_RING_TRIP_THRESHOLD, RING_TRIP_THRESHOLD)
        self._write(REG_BATTERY_HIGH, BATTERY_HIGH_75V)
        await self._write_indirect(IND_RING_COEFFICIENT, ring_coefficient(RING_FREQUENCY_HZ))
        await self._write_indirect(IND_RING_AMPLITUDE, RING_AMPLITUDE)

    # --------------------------------------------------------------- hot path
    def handle_interrupt(self) -> list[LineEvent]:
        """Call when ``irq_fd`` is readable: read and clear the chip's interrupts, decode the hook."""
        now = self._clock()
        stamps = self._drain_edges(now)
        if self._restoring is not None or self._failed is not None:
            return []  # the chip is being initialised again, or is lost
        at = stamps[-1] if stamps else now
        status = []
        for reg in (REG_IRQ_STATUS_1, REG_IRQ_STATUS_2, REG_IRQ_STATUS_3):
            value = self._read(reg)
            if value:
                self._write(reg, value)  # write 1 to clear exactly what we saw
            status.append(value)
        events: list[LineEvent] = []
        if status[1] & IRQ2_RING_TRIP and self._ringing:
            self._ringing = False
            self._apply_linefeed(Linefeed.FORWARD_ACTIVE)
            events.append(RingTrip(at))
        return events + self._check_loop(at)

    def tick(self) -> list[LineEvent]:
        """Call every 20 ms: catches missed edges, ends digits, confirms hang-ups, times the ringing.

        The loop status is read back only every LOOP_RECHECK_TICKS ticks: the interrupt carries
        every hook change, and the SPI reads add up to thousands a second on a full board."""
        if self._failed is not None:
            return self._report_failure()
        if self._restoring is not None:
            self._drain_edges(self._clock())
            return []
        events: list[LineEvent] = self._news
        self._news = []
        if self._irq.poll(0):
            events += self.handle_interrupt()
        now = self._clock()
        self._ticks += 1
        if self._ticks % SANITY_EVERY_TICKS == 0:
            sanity = self._recheck_sanity(now)
            if sanity is not None:
                return events + sanity
        if self._ticks % LOOP_RECHECK_TICKS == 0:
            events += self._check_loop(now)
        events += self._after_hook(self._hook.poll(now))
        events += self._run_cadence(now)
        return events

    # --------------------------------------------------------------- the running sanity check
    def _recheck_sanity(self, now: float) -> list[LineEvent] | None:
        """wctdm_proslic_recheck_sanity: a linefeed that reads back open although we set another
        one means the chip reset itself (reg 8 back at its default) or a power alarm opened it.
        Returns the events when something was found, None when all is well."""
        if now - self._alarm_forgiven_s >= POWER_ALARM_FORGIVE_S:
            self._alarm_forgiven_s = now
            self._alarms = max(0, self._alarms - 1)
        if self._linefeed == Linefeed.OPEN or self._read(REG_LINEFEED) != 0:
            return None
        if self._read(REG_LOOPBACK):
            log.error("%s: the chip reset itself; initialising it again", self.port)
            self._restoring = asyncio.get_running_loop().create_task(self._restore(), name=f"{self.port}-restore")
            return []
        self._alarms += 1
        self.power_alarms += 1
        if self._alarms >= MAX_POWER_ALARMS:
            self._failed = (f"{self._alarms} power alarms in a row: the chip keeps opening the line "
                            "(a short or a leak on the line?); no longer restored")
            return self._report_failure()
        restored = Linefeed.FORWARD_ACTIVE if self._linefeed == Linefeed.RINGING else self._linefeed
        log.warning("%s: power alarm %d, the chip opened the line; linefeed %s restored", self.port,
                    self._alarms, restored.name.lower())
        if self._linefeed == Linefeed.RINGING:
            self._ringing = False
        self._apply_linefeed(restored)
        return [PowerAlarm(now, self._alarms)]

    async def _restore(self) -> None:
        try:
            await self.start(fast=True)
        except ChipError as err:
            self._failed = f"the chip reset itself and could not be initialised again: {err}"
        else:
            self.restores += 1
            self._news.append(ChipRestored(self._clock()))
        finally:
            self._restoring = None

    def _report_failure(self) -> list[LineEvent]:
        if self._failure_reported:
            return []
        self._failure_reported = True
        log.error("%s: %s", self.port, self._failed)
        return [ChipFailed(self._clock(), self._failed)]

    def drain_interrupt(self) -> None:
        """Consume the IRQ line's pending edges without touching the chip (a port out of service)."""
        self._drain_edges(self._clock())

    def _drain_edges(self, now: float) -> list[float]:
        stamps = []
        while len(stamps) < MAX_EDGES_PER_CALL and self._irq.poll(0):
            stamps.append(_edge_time(self._irq.read_event().timestamp / 1e9, now))
        return stamps

    def _check_loop(self, at: float) -> list[LineEvent]:
        closed = bool(self._read(REG_LOOP_STATUS) & LOOP_STATUS_OFF_HOOK)
        return self._after_hook(self._hook.loop_changed(closed, at))

    def _after_hook(self, events: list[LineEvent]) -> list[LineEvent]:
        """An answer stops the ringing and takes the line out of on-hook transmission."""
        if any(isinstance(event, OffHook) for event in events):
            self._ringing = False
            if self._linefeed in (Linefeed.RINGING, Linefeed.FORWARD_OHT):
                self._apply_linefeed(Linefeed.FORWARD_ACTIVE)
            elif self._linefeed == Linefeed.REVERSE_OHT:
                self._apply_linefeed(Linefeed.REVERSE_ACTIVE)
        return events

    # --------------------------------------------------------------- ringing
    def ring(self) -> None:
        """Start the Italian cadence: 1 s of ringing, 4 s of on-hook transmission, repeating."""
        if self._hook.off_hook:
            log.warning("%s: not ringing, the phone is off hook", self.port)
            return
        self._ringing, self._ring_on = True, True
        self._caller_id_window_pending = True
        self._phase_end_s = self._clock() + RING_ON_S
        self._apply_linefeed(Linefeed.RINGING)

    def stop_ringing(self) -> None:
        self._ringing = False
        self._apply_linefeed(Linefeed.FORWARD_ACTIVE)

    def _run_cadence(self, now: float) -> list[LineEvent]:
        if not self._ringing or now < self._phase_end_s:
            return []
        events: list[LineEvent] = []
        self._ring_on = not self._ring_on
        if self._ring_on:
            self._apply_linefeed(Linefeed.RINGING)
            self._phase_end_s += RING_ON_S
        else:
            self._apply_linefeed(Linefeed.FORWARD_OHT)
            self._phase_end_s += RING_OFF_S
            if self._caller_id_window_pending:
                self._caller_id_window_pending = False
                events.append(CallerIdWindow(now))
        if self._phase_end_s <= now:  # ticks stopped for a whole phase: restart the schedule
            self._phase_end_s = now + (RING_ON_S if self._ring_on else RING_OFF_S)
        return events

    # --------------------------------------------------------------- line control and status
    def set_linefeed(self, state: Linefeed) -> None:
        """Put the line in ``state``; this ends any ringing cadence."""
        self._ringing = False
        self._apply_linefeed(Linefeed(state))

    def _apply_linefeed(self, state: Linefeed) -> None:
        self._write(REG_LINEFEED, state)
        self._linefeed = state

    def status(self) -> dict:
        """Plain state for the console and the LEDs (no chip access)."""
        return {"port": self.port, "part": self.part, "revision": self.revision,
                "timeslot": self.timeslot, "law": self.law, "linefeed": self._linefeed.name.lower(),
                "off_hook": self._hook.off_hook, "ringing": self._ringing, "warnings": list(self.warnings),
                "restores": self.restores, "power_alarms": self.power_alarms}

    def set_digital_loopback(self, on: bool) -> None:
        """Reg 8 bit 1: the chip returns the PCM it receives in its own transmit slot (a bring-up
        test of the PCM path that needs no phone)."""
        self._write(REG_LOOPBACK, DIGITAL_LOOPBACK if on else 0x00)

    def read_dcdc_calibration(self) -> int:
        return self._read(REG_DCDC_CALIBRATION)

    def diagnostics(self) -> LineDiagnostics:
        tip, ring, battery = (self._read(reg) for reg in (REG_TIP_VOLTAGE, REG_RING_VOLTAGE,
                                                           REG_BATTERY_VOLTAGE))
        current = self._read(REG_LOOP_CURRENT)
        return LineDiagnostics(tip_v=-tip * VOLTS_PER_CODE, ring_v=-ring * VOLTS_PER_CODE,
                               battery_v=-battery * VOLTS_PER_CODE,
                               loop_current_ma=current * LOOP_CURRENT_MA_PER_CODE)

    def close(self) -> None:
        """Leave the line safe: interrupts off, linefeed open, DC-DC converter off.

        The bus objects belong to the board, which closes them.
        """
        self._ringing = False
        if self._restoring is not None:
            self._restoring.cancel()
            self._restoring = None
        for reg in (REG_IRQ_ENABLE_1, REG_IRQ_ENABLE_2, REG_IRQ_ENABLE_3):
            self._write(reg, 0x00)
        self._apply_linefeed(Linefeed.OPEN)
        self._write(REG_POWER_DOWN, POWER_DOWN_DCDC_OFF)
