"""Register-level model of the Silicon Labs Si3210/Si3215 ProSLIC (one FXS port).

Written from the datasheet facts in reference/hardware.md and from what DAHDI's wctdm.c and
proslic.h rely on, never from centralino's driver, so that a driver bug shows up as a test failure.

Register face (what the driver sees through SimSPI and SimPcmBus):
- SPI: one byte per chip-select window. ``reg | 0x80`` asks for a read (the data comes out in
  the next window), ``reg & 0x7F`` announces a write (the data goes in the next window). A window
  with more than one byte is garbage to the real chip: it is counted in ``framing_errors``, not
  applied, and reads back 0xFF.
- Reset defaults (0: ID, 8 = 0x02, 11 = 0x33, 64 = 0x00, 14 = 0x10 DC-DC off), an active-low reset
  pin, indirect registers through 28/29/30 with 31 busy for a while after each access, battery
  ramp after the DC-DC converter is switched on, self-clearing calibration, tip/ring/battery
  voltages and loop current that follow the linefeed and the hook, write-1-to-clear interrupt
  status 18-20 with enables 21-23 driving an open-drain IRQ line, ring trip with auto ring-trip.
- PCM: reg 1 (enable and law) and regs 2-5 (TX/RX start counts in PCM clocks, slot = count / 8).

World face (scenarios and tests): ``attach(phone)``, ``set_off_hook``, ``linefeed``, ``ringing``,
``ring_bursts``, ``ring_frequency_hz``, ``register(n)``, ``indirect(n)``; faults, settable while
running: ``inject_fault(name)``/``clear_fault(name)`` and ``power_glitch()`` (the chip resets itself).

Everything time-based is computed lazily from ``clock()``: no threads, no timers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from centralino.media.frames import FRAME_SAMPLES

from .buses import GpioLine

PARTS = ("Si3210", "Si3215")
FAULTS = ("absent", "wrong_id", "calibration_stuck", "no_battery",
          "power_leak", "dcdc_miscalibrated", "pcm_dead")  # board faults the bring-up probe must find

# Direct registers (numbers as in DAHDI's proslic.h)
REG_ID = 0
REG_PCM_MODE = 1
REG_PCM_TX_LOW, REG_PCM_TX_HIGH, REG_PCM_RX_LOW, REG_PCM_RX_HIGH = 2, 3, 4, 5
REG_LOOPBACK = 8
REG_HYBRID = 11
REG_POWER_DOWN = 14
REG_IRQ_STATUS = (18, 19, 20)
REG_IRQ_ENABLE = (21, 22, 23)
REG_IND_DATA_LOW, REG_IND_DATA_HIGH, REG_IND_ADDRESS, REG_IND_STATUS = 28, 29, 30, 31
REG_RING_OSC_CONTROL = 34
REG_LINEFEED = 64
REG_AUTO_STATE = 67
REG_LOOP_STATUS = 68
REG_LOOP_CURRENT_LIMIT = 71
REG_ON_HOOK_VOLTAGE = 72
REG_COMMON_MODE_VOLTAGE = 73
REG_BATTERY_HIGH = 74
REG_LOOP_CURRENT = 79
REG_TIP_VOLTAGE, REG_RING_VOLTAGE, REG_BATTERY_VOLTAGE = 80, 81, 82
REG_DCDC = 93
REG_CALIBRATION_1, REG_CALIBRATION_2 = 96, 97
REG_DCDC_CALIBRATION = 107
REGISTER_COUNT = 128

RESET_DEFAULTS = {
    REG_LOOPBACK: 0x02,  # digital loopback on until the driver clears it [V S1 sanity check]
    REG_HYBRID: 0x33,  # [V S1 sanity check]
    REG_POWER_DOWN: 0x10,  # DC-DC converter off [M]; wctdm writes 0x10 itself before anything else
    REG_LINEFEED: 0x00,  # open [V S1 sanity check]
    REG_ON_HOOK_VOLTAGE: 0x20,  # 48 V at 1.5 V/LSB [M]
    REG_COMMON_MODE_VOLTAGE: 0x02,  # 3 V at 1.5 V/LSB [M]
    REG_BATTERY_HIGH: 0x32,  # 75 V at 1.5 V/LSB; wctdm calls 0x32 the default [V S1]
}
DEFAULT_REVISION = 5

PCM_ENABLE = 0x20
PCM_FORMAT_SHIFT = 3
PCM_LAWS = {0: "alaw", 1: "ulaw"}  # bits 4:3; 3 would be 16-bit linear, which the bus cannot carry
SI3215_FLAG = 0x80  # reg 1 bit 7 reads 1 on an Si3215 [V S1]

# Linefeed codes (reg 64 low 3 bits; the upper nibble reads back the state actually applied)
LF_OPEN, LF_FORWARD_ACTIVE, LF_FORWARD_OHT, LF_TIP_OPEN = 0, 1, 2, 3
LF_RINGING, LF_REVERSE_ACTIVE, LF_REVERSE_OHT, LF_RING_OPEN = 4, 5, 6, 7
TALKING_STATES = frozenset({LF_FORWARD_ACTIVE, LF_FORWARD_OHT, LF_REVERSE_ACTIVE, LF_REVERSE_OHT})
OHT_STATES = frozenset({LF_FORWARD_OHT, LF_REVERSE_OHT})
REVERSE_STATES = frozenset({LF_REVERSE_ACTIVE, LF_REVERSE_OHT})

# Interrupt bits
IRQ2_RING_TRIP = 0x01  # reg 19 bit 0 [V brief]
IRQ2_LOOP_CLOSURE = 0x02  # reg 19 bit 1, LCIP [V S1/hardware.md: 22 bit1 loop closure]
LOOP_STATUS_OFF_HOOK = 0x01  # reg 68 bit 0 [V S1 check_hook]
LOOP_STATUS_RING_TRIP = 0x02  # reg 68 bit 1 [M]
AUTO_RING_TRIP = 0x04  # reg 67 bit 2: leave ringing for active on ring trip [M]; wctdm writes 0x07
AUTO_POWER_ALARM = 0x01  # reg 67 bit 0: open the line on a power alarm [M]; wctdm writes 0x07
DIGITAL_LOOPBACK = 0x02  # reg 8 bit 1, set at reset: PCM received goes back out [V wctdm, reset value]
DCDC_CALIBRATE = 0x80  # reg 93 bit 7: DC-DC calibration, self-clearing [M]
DCDC_CALIBRATED = 0x08  # what reg 107 reads after a good DC-DC calibration (wctdm accepts 2..13)

# Indirect registers: the ring oscillator lives at different addresses on the two parts [V S1 table]
RING_COEFFICIENT_ADDRESS = {"Si3210": 20, "Si3215": 7}
RING_AMPLITUDE_ADDRESS = {"Si3210": 21, "Si3215": 8}
SI3215_INDIRECT_MAX = 66  # the Si3215 has no DTMF block; its indirect map is shorter [D]
INDIRECT_COUNT = 256

# Timing of the chip (model choices within what the datasheet allows)
INDIRECT_BUSY_S = 0.0002
BATTERY_RAMP_S = 0.2  # time to ramp from 0 V to the full high battery
CALIBRATION_S = 0.25
BATTERY_FOR_LINEFEED_CODE = 0x40  # below ~24 V the linefeed cannot be applied: it reads open
# With the DC-DC converter off the battery capacitor discharges through the board: slowly on a
# good board (wctdm's leak test wants it above 2.3 V after 500 ms), at once through a short.
BATTERY_DISCHARGE_TAU_S = 5.0
BATTERY_LEAK_TAU_S = 0.03

# Analogue model of the loop
VOLTS_PER_CODE = 0.376  # regs 80-82 [V S1: "* 376" mV]
VOLTS_PER_STEP = 1.5  # regs 72-74 [D: 0x3F = 94.5 V]
LOOP_CURRENT_MA_PER_CODE = 1.1  # reg 79 [M]
PHONE_LOOP_OHM = 300.0  # off-hook phone plus a short line
FEED_OHM = 200.0
RING_COEFFICIENT_FULL_SCALE = 32768.0
RING_COEFFICIENT_RATE_HZ = 1000.0  # RCO = round(32768 * cos(2 pi f / 1000)) [D: 0x7E6C at 25 Hz]
RING_FULL_SCALE_V = 96.0  # RNGX = 1/4 sqrt((1-c)/(1+c)) Vpk/96 V 2^15 [V Si3210 datasheet]
RING_OVERHEAD_V = 3.0  # the ring signal clips this close to the battery rail [M]


class FxsLine(Protocol):
    """What the chip needs from whatever is wired to tip and ring (an AnalogPhone)."""

    def earpiece(self, frame: np.ndarray) -> None: ...
    def mouthpiece(self) -> np.ndarray: ...


@dataclass(frozen=True)
class RingBurst:
    start_s: float
    end_s: float
    frequency_hz: float
    vrms: float = float("nan")  # open-circuit ring voltage between tip and ring


def ring_peak_from_registers(amplitude: int, coefficient: int) -> float:
    """Peak ring voltage the oscillator makes for RNGX and RCO, by the datasheet's equation."""
    c = coefficient / RING_COEFFICIENT_FULL_SCALE
    if not 0.0 < c < 1.0:
        return float("nan")
    return amplitude / (0.25 * math.sqrt((1 - c) / (1 + c)) * RING_COEFFICIENT_FULL_SCALE) * RING_FULL_SCALE_V


def ring_frequency_from_coefficient(coefficient: int) -> float:
    """Frequency in Hz the ring oscillator runs at for an RCO value (NaN when not a cosine)."""
    ratio = coefficient / RING_COEFFICIENT_FULL_SCALE
    if not 0.0 < ratio <= 1.0:
        return float("nan")
    return math.acos(ratio) * RING_COEFFICIENT_RATE_HZ / (2 * math.pi)


class Si321x:
    """One ProSLIC. See the module docstring for its two faces."""

    def __init__(self, port: str, clock: Callable[[], float], *, irq: GpioLine,
                 reset: GpioLine | None = None, part: str = "Si3210", revision: int = DEFAULT_REVISION,
                 seed: int = 0):
        if part not in PARTS:
            raise ValueError(f"{port}: part must be one of {PARTS}, got {part!r}")
        if not 1 <= revision <= 14:
            raise ValueError(f"{port}: revision must be 1..14, got {revision}")
        self.port = port
        self.part = part
        self.revision = revision
        self._clock = clock
        self._irq = irq
        self._rng = np.random.default_rng(seed)
        self._faults: set[str] = set()
        self._line: FxsLine | None = None
        self._phone_off_hook = False
        self.framing_errors = 0
        self.indirect_errors = 0  # accesses to 28-30 while 31 was busy (the real chip corrupts them)
        self._ring_bursts: list[RingBurst] = []
        self.power_glitches = 0
        self._in_reset = False
        self._power_on_reset()
        if reset is not None:
            reset.watch(self._on_reset_pin)

    # ------------------------------------------------------------------ world face
    def attach(self, line: FxsLine) -> None:
        """Wire a phone (anything with ``earpiece`` and ``mouthpiece``) to tip and ring."""
        self._line = line

    def set_off_hook(self, off_hook: bool) -> None:
        """The phone closes (True) or opens (False) the loop."""
        self._phone_off_hook = bool(off_hook)
        if off_hook and self._actual_linefeed() == LF_RINGING:
            self._ring_trip()
        self._refresh()

    def inject_fault(self, name: str) -> None:
        if name not in FAULTS:
            raise ValueError(f"{self.port}: unknown fault {name!r}, expected one of {FAULTS}")
        self._faults.add(name)
        self._refresh()

    # -- fault face (at run time; the bus faults are the board's: SPI device, wires, PCM slot)
    def clear_fault(self, name: str) -> None:
        """The fault goes away (a chip reseated, a battery back); registers are not restored."""
        if name not in FAULTS:
            raise ValueError(f"{self.port}: unknown fault {name!r}, expected one of {FAULTS}")
        self._faults.discard(name)
        self._refresh()

    @property
    def faults(self) -> tuple[str, ...]:
        return tuple(sorted(self._faults))

    def power_glitch(self) -> None:
        """The chip resets itself (a dip in its supply): every register back to its reset value,
        PCM off, the line open, as after power-on; the driver has to notice and start it again."""
        self._end_burst(self._clock())
        self._power_on_reset()
        self.power_glitches += 1

    @property
    def off_hook(self) -> bool:
        return self._phone_off_hook

    @property
    def linefeed(self) -> int:
        """The linefeed state actually applied to the line (0..7, as in reg 64)."""
        self._refresh()
        return self._actual_linefeed()

    @property
    def ringing(self) -> bool:
        self._refresh()
        return self._burst_start is not None

    @property
    def ring_bursts(self) -> list[RingBurst]:
        """Completed ring bursts: (start_s, end_s, frequency_hz)."""
        self._refresh()
        return list(self._ring_bursts)

    @property
    def ring_frequency_hz(self) -> float:
        """The frequency the ring oscillator is programmed for."""
        return ring_frequency_from_coefficient(self._indirect[RING_COEFFICIENT_ADDRESS[self.part]])

    @property
    def ring_peak_v(self) -> float:
        """The peak ring voltage the oscillator is programmed for, clipped below the battery."""
        peak = ring_peak_from_registers(self._indirect[RING_AMPLITUDE_ADDRESS[self.part]],
                                        self._indirect[RING_COEFFICIENT_ADDRESS[self.part]])
        battery_v = self._regs[REG_BATTERY_HIGH] * VOLTS_PER_STEP
        return min(peak, max(0.0, battery_v - RING_OVERHEAD_V)) if not math.isnan(peak) else peak

    @property
    def ring_vrms(self) -> float:
        return self.ring_peak_v / math.sqrt(2)

    def power_alarm(self) -> None:
        """A transistor of the line feed overheats (a shorted or leaking line): with automatic power
        alarm enabled in reg 67 the chip opens the line by itself, as the datasheet has it."""
        if self._regs[REG_AUTO_STATE] & AUTO_POWER_ALARM:
            self._regs[REG_LINEFEED] = LF_OPEN
            self._refresh()

    @property
    def calibrated(self) -> bool:
        self._refresh()
        return self._calibrated

    def register(self, number: int) -> int:
        """What a read of direct register ``number`` returns now (no side effects)."""
        self._refresh()
        return self._read_value(number)

    def indirect(self, address: int) -> int:
        return self._indirect[address]

    # ------------------------------------------------------------------ SPI (SpiChip protocol)
    def select(self) -> None:
        self._window: list[int] = []

    def exchange(self, byte: int) -> int:
        self._window.append(byte)
        if "absent" in self._faults or self._in_reset:
            return 0xFF
        if len(self._window) > 1:
            return 0xFF  # garbage: the chip expects chip select to rise after every byte
        if self._pending is not None and self._pending[0] == "read":
            self._refresh()
            return self._read_value(self._pending[1])
        return 0xFF

    def deselect(self) -> None:
        window, self._window = self._window, []
        if "absent" in self._faults or self._in_reset or not window:
            return
        if len(window) > 1:
            self.framing_errors += 1
            self._pending = None
            return
        byte = window[0]
        pending, self._pending = self._pending, None
        if pending is None:
            self._pending = ("read", byte & 0x7F) if byte & 0x80 else ("write", byte & 0x7F)
        elif pending[0] == "write":
            self._refresh()
            self._write(pending[1], byte)
            self._refresh()

    # ------------------------------------------------------------------ PCM (PcmChip protocol)
    def pcm_format(self) -> tuple[str, int, int] | None:
        if self._in_reset or "absent" in self._faults:
            return None
        mode = self._regs[REG_PCM_MODE]
        law = PCM_LAWS.get((mode >> PCM_FORMAT_SHIFT) & 0x3)
        if not mode & PCM_ENABLE or law is None:
            return None
        return law, self._tx_count() // 8, self._rx_count() // 8

    def pcm_exchange(self, from_host: np.ndarray) -> np.ndarray:
        self._refresh()
        if "pcm_dead" in self._faults:
            return np.zeros(FRAME_SAMPLES, dtype=np.int16)
        if self._regs[REG_LOOPBACK] & DIGITAL_LOOPBACK:
            return np.asarray(from_host, dtype=np.int16).copy()  # the line is not involved
        state = self._actual_linefeed()
        if self._rx_count() % 8:
            from_host = self._noise()  # the chip samples across two slots
        to_host = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        line = self._line
        if line is not None and state in TALKING_STATES:
            if self._phone_off_hook:
                line.earpiece(np.asarray(from_host, dtype=np.int16))
                to_host = np.asarray(line.mouthpiece(), dtype=np.int16)
            elif state in OHT_STATES:
                line.earpiece(np.asarray(from_host, dtype=np.int16))  # on-hook transmission: caller ID
        if self._tx_count() % 8:
            to_host = self._noise()
        return to_host

    def _tx_count(self) -> int:
        return self._regs[REG_PCM_TX_LOW] | (self._regs[REG_PCM_TX_HIGH] & 0x03) << 8

    def _rx_count(self) -> int:
        return self._regs[REG_PCM_RX_LOW] | (self._regs[REG_PCM_RX_HIGH] & 0x03) << 8

    def _noise(self) -> np.ndarray:
        return self._rng.integers(-12000, 12000, FRAME_SAMPLES).astype(np.int16)

    # ------------------------------------------------------------------ reset
    def _power_on_reset(self) -> None:
        now = self._clock()
        self._regs = bytearray(REGISTER_COUNT)
        for reg, value in RESET_DEFAULTS.items():
            self._regs[reg] = value
        self._regs[REG_ID] = self.revision  # part bits 5:4 are 0 for both parts [M]
        self._indirect = [0] * INDIRECT_COUNT
        self._pending: tuple[str, int] | None = None
        self._window = []
        self._indirect_busy_until = now
        self._indirect_written = False
        self._battery_from_code = 0.0
        self._battery_t0 = now
        self._calibration_until: float | None = None
        self._calibrated = False
        self._loop_closed = False
        self._burst_start: float | None = None
        self._burst_frequency = float("nan")
        self._burst_vrms = float("nan")
        self._update_irq()

    def _on_reset_pin(self, level: bool) -> None:
        if not level:  # active low: hold everything at its default
            self._end_burst(self._clock())
            self._in_reset = True
            self._power_on_reset()
        else:
            self._in_reset = False
            self._power_on_reset()

    # ------------------------------------------------------------------ register semantics
    def _read_value(self, reg: int) -> int:
        reg &= 0x7F
        now = self._clock()
        if reg == REG_ID:
            return 0x01 if "wrong_id" in self._faults else self._regs[REG_ID]
        if reg == REG_PCM_MODE:
            return self._regs[reg] | (SI3215_FLAG if self.part == "Si3215" else 0)
        if reg == REG_IND_STATUS:
            return 0x01 if now < self._indirect_busy_until else 0x00
        if reg == REG_LINEFEED:
            return (self._actual_linefeed() << 4) | (self._regs[reg] & 0x07)
        if reg == REG_LOOP_STATUS:
            value = LOOP_STATUS_OFF_HOOK if self._loop_closed else 0
            if self._phone_off_hook and self._actual_linefeed() == LF_RINGING:
                value |= LOOP_STATUS_RING_TRIP
            return value
        if reg == REG_CALIBRATION_1:
            return self._regs[reg] if self._calibration_until is not None else 0
        if reg in (REG_TIP_VOLTAGE, REG_RING_VOLTAGE, REG_BATTERY_VOLTAGE, REG_LOOP_CURRENT):
            return self._analogue_code(reg)
        return self._regs[reg]

    def _write(self, reg: int, value: int) -> None:
        now = self._clock()
        if reg in REG_IRQ_STATUS:
            self._regs[reg] &= ~value & 0xFF  # write 1 to clear
        elif reg in (REG_IND_DATA_LOW, REG_IND_DATA_HIGH, REG_IND_ADDRESS):
            self._write_indirect_port(reg, value, now)
        elif reg == REG_IND_STATUS or reg == REG_ID:
            return  # read-only
        elif reg == REG_POWER_DOWN:
            self._snapshot_battery(now)
            self._regs[reg] = value
        elif reg == REG_BATTERY_HIGH:
            self._snapshot_battery(now)
            self._regs[reg] = value
        elif reg == REG_CALIBRATION_1:
            self._regs[reg] = value
            if value and "calibration_stuck" in self._faults:
                self._calibration_until = math.inf
            elif value:
                self._calibration_until = now + CALIBRATION_S
        elif reg == REG_LINEFEED:
            self._regs[reg] = value & 0x07
        elif reg == REG_DCDC:
            self._regs[reg] = value & ~DCDC_CALIBRATE & 0xFF  # the calibration is over at once
            if value & DCDC_CALIBRATE:
                self._regs[REG_DCDC_CALIBRATION] = 0x00 if "dcdc_miscalibrated" in self._faults else DCDC_CALIBRATED
        else:
            self._regs[reg] = value
        self._update_irq()

    def _write_indirect_port(self, reg: int, value: int, now: float) -> None:
        if now < self._indirect_busy_until:
            self.indirect_errors += 1  # the real chip mangles an access made while busy
            return
        if reg != REG_IND_ADDRESS:
            self._regs[reg] = value
            self._indirect_written = True
            return
        self._regs[reg] = value
        if self._indirect_exists(value):
            if self._indirect_written:
                self._indirect[value] = self._regs[REG_IND_DATA_LOW] | self._regs[REG_IND_DATA_HIGH] << 8
            else:
                data = self._indirect[value]
                self._regs[REG_IND_DATA_LOW], self._regs[REG_IND_DATA_HIGH] = data & 0xFF, data >> 8
        self._indirect_written = False
        self._indirect_busy_until = now + INDIRECT_BUSY_S

    def _indirect_exists(self, address: int) -> bool:
        return self.part == "Si3210" or address <= SI3215_INDIRECT_MAX

    # ------------------------------------------------------------------ time-based state
    def _refresh(self) -> None:
        """Bring every lazily computed state up to ``clock()`` and raise the interrupts it causes."""
        now = self._clock()
        if self._calibration_until is not None and now >= self._calibration_until:
            self._calibration_until = None
            self._regs[REG_CALIBRATION_1] = 0
            self._calibrated = True
        closed = (self._phone_off_hook and not self._in_reset
                  and self._actual_linefeed() in TALKING_STATES)
        if closed != self._loop_closed:
            self._loop_closed = closed
            self._regs[REG_IRQ_STATUS[1]] |= IRQ2_LOOP_CLOSURE
        self._track_ringing(now)
        self._update_irq()

    def _battery_target_code(self) -> float:
        if self._in_reset or "no_battery" in self._faults or self._regs[REG_POWER_DOWN] & 0x10:
            return 0.0
        return min(255.0, self._regs[REG_BATTERY_HIGH] * VOLTS_PER_STEP / VOLTS_PER_CODE)

    def _battery_code(self, now: float | None = None) -> float:
        """The DC-DC converter charges the battery at a steady rate; off, the capacitor discharges
        through the board (through a short at once: the fault ``power_leak``)."""
        now = self._clock() if now is None else now
        target = self._battery_target_code()
        start = self._battery_from_code
        elapsed = now - self._battery_t0
        if target >= start:
            return min(target, start + 255.0 * elapsed / BATTERY_RAMP_S)
        tau = BATTERY_LEAK_TAU_S if "power_leak" in self._faults else BATTERY_DISCHARGE_TAU_S
        return target + (start - target) * math.exp(-elapsed / tau)

    def _snapshot_battery(self, now: float) -> None:
        self._battery_from_code = self._battery_code(now)
        self._battery_t0 = now

    def _actual_linefeed(self) -> int:
        if self._in_reset or self._battery_code() < BATTERY_FOR_LINEFEED_CODE:
            return LF_OPEN
        return self._regs[REG_LINEFEED] & 0x07

    def _ring_trip(self) -> None:
        self._regs[REG_IRQ_STATUS[1]] |= IRQ2_RING_TRIP
        if self._regs[REG_AUTO_STATE] & AUTO_RING_TRIP:
            self._regs[REG_LINEFEED] = LF_FORWARD_ACTIVE  # the chip leaves ringing on its own

    def _track_ringing(self, now: float) -> None:
        amplitude = self._indirect[RING_AMPLITUDE_ADDRESS[self.part]]
        frequency = self.ring_frequency_hz
        ringing = (self._actual_linefeed() == LF_RINGING and amplitude > 0 and not math.isnan(frequency))
        if ringing and self._burst_start is None:
            self._burst_start, self._burst_frequency, self._burst_vrms = now, frequency, self.ring_vrms
        elif not ringing:
            self._end_burst(now)

    def _end_burst(self, now: float) -> None:
        if self._burst_start is not None:
            self._ring_bursts.append(RingBurst(self._burst_start, now, self._burst_frequency, self._burst_vrms))
            self._burst_start = None

    def _update_irq(self) -> None:
        pending = any(self._regs[s] & self._regs[e] for s, e in zip(REG_IRQ_STATUS, REG_IRQ_ENABLE))
        self._irq.pull_low(self.port, pending and not self._in_reset and "absent" not in self._faults)

    # ------------------------------------------------------------------ analogue measurements
    def _analogue_code(self, reg: int) -> int:
        battery = self._battery_code()
        if reg == REG_BATTERY_VOLTAGE:
            return int(round(battery))
        tip_v, ring_v, current_ma = self._loop_state(battery * VOLTS_PER_CODE)
        if reg == REG_LOOP_CURRENT:
            return min(0x3F, int(round(current_ma / LOOP_CURRENT_MA_PER_CODE)))
        volts = tip_v if reg == REG_TIP_VOLTAGE else ring_v
        return min(255, int(round(volts / VOLTS_PER_CODE)))

    def _loop_state(self, battery_v: float) -> tuple[float, float, float]:
        """(|tip| V, |ring| V, loop mA) for the linefeed and hook, all below ground in forward."""
        state = self._actual_linefeed()
        if state == LF_OPEN:
            return 0.0, 0.0, 0.0
        common_v = self._regs[REG_COMMON_MODE_VOLTAGE] * VOLTS_PER_STEP
        open_v = min(self._regs[REG_ON_HOOK_VOLTAGE] * VOLTS_PER_STEP, battery_v - common_v)
        if state == LF_RINGING:
            return battery_v / 2, battery_v / 2, 0.0  # the average of the ring signal on each lead
        current_ma = 0.0
        loop_v = open_v
        if self._loop_closed:
            limit_ma = 20.0 + 3.0 * (self._regs[REG_LOOP_CURRENT_LIMIT] & 0x07)
            current_ma = min(limit_ma, 1000.0 * open_v / (PHONE_LOOP_OHM + FEED_OHM))
            loop_v = current_ma * PHONE_LOOP_OHM / 1000.0
        near_v = common_v + (open_v - loop_v) / 2
        far_v = near_v + loop_v
        if state == LF_TIP_OPEN:
            return 0.0, far_v, 0.0
        if state == LF_RING_OPEN:
            return near_v, 0.0, 0.0
        if state in REVERSE_STATES:
            return far_v, near_v, current_ma
        return near_v, far_v, current_ma
