"""Register-level model of the Silicon Labs Si3050 + Si3019 voice DAA (one FXO port).

Written from reference/hardware.md and what DAHDI's wctdm.c / fxo_modes.h and the Silicon Labs
VDAA API rely on, never from centralino's driver, so that a driver bug shows up as a test failure.

Register face (what the driver sees through SimSPI and SimPcmBus):
- SPI: every byte is its own chip-select window. A write is three windows ``0x20, reg, data``;
  a read is ``0x60, reg`` and then a window that clocks the value out. A window with more than one
  byte, or a control byte other than 0x20/0x60, is garbage to the chip: it is counted in
  ``framing_errors``, not applied, the transaction starts over and MISO reads 0xFF.
- Reset: active-low reset pin and reg 1 bit 7 (soft reset, self-clearing) restore the defaults.
  Reg 2 reads 0x03 after reset (presence); its bit 7 (INTE) enables the interrupt pin [V Realtek
  VDAA glue: "enable INT pin" sets reg 2 bit 7], bit 6 (INTP) selects its polarity (0 = active low).
- Line side: powered down (reg 6 bit 4) until reg 6 is written 0; ``LINK_TIME_S`` later the
  isolation link is up and reg 11 bits 7:4 read the line-side device id [V S1 waits for them].
  Only then does the chip see the line (ring detect, loop current, line voltage, hook switch).
- Reg 3 mask / reg 4 source: 7 ring detect, 3 drop-out, 2 loop-current sense, 0 polarity
  reversal. Source bits are cleared by writing 0 to them; writing 1 leaves a bit as it is
  [V Silicon Labs Vdaa_GetInterrupts writes ``~seen`` to clear]. The IRQ pin is low while
  ``reg3 & reg4`` is non-zero and INTE is set.
- Reg 5: bit 0 OH (off-hook), bit 3 ONHM (on-hook line monitor); reads RDTP/RDTN (0x60) and RDT
  (0x04) while ring voltage is present. Reg 28 loop current (LOOP_CURRENT_MA_PER_CODE per LSB),
  reg 29 line voltage (signed, 1 V per LSB, sign = polarity).
- PCM: reg 33 bit 5 enables, bits 4:3 pick the law (0 A-law, 1 u-law, 2-3 linear, which the bus
  cannot carry); regs 34/35 TX and 36/37 RX start counts in PCM clocks, low/high byte
  [V S1 writes slot * 8 to 34 and 36, 0 to 35 and 37]. Audio flows to the line while off-hook,
  and from the line off-hook and on-hook with ONHM set (how caller ID reaches the host).

World face: ``attach(line)``, ``register(n)``, ``off_hook``, ``refresh()``; faults, settable while
running: ``inject_fault(name)``/``clear_fault(name)`` and ``power_glitch()`` (the DAA resets itself).
The line object provides ``ringing``, ``voltage_v``, ``loop_current_ma(off_hook)``,
``to_line(frame)``, ``from_line()`` and ``on_hook_state(off_hook)``; if it has ``subscribe(cb)`` the
model re-evaluates the line whenever it changes, so interrupts are raised without polling.
Everything else is computed lazily from ``clock()``: no threads, no timers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from centralino.media.frames import FRAME_SAMPLES

from .buses import GpioLine

FAULTS = ("absent", "line_side_never_links", "no_line", "pcm_dead")

# SPI control bytes [V S1, S9]
CONTROL_WRITE = 0x20
CONTROL_READ = 0x60
IDLE_MISO = 0xFF

# Registers (numbers as in the VDAA API's vdaa_registers.h)
REG_CONTROL1 = 1
REG_CONTROL2 = 2
REG_IRQ_MASK = 3
REG_IRQ_SOURCE = 4
REG_DAA_CONTROL = 5
REG_POWER = 6
REG_DEVICE_REVISION = 11
REG_LINE_SIDE_STATUS = 12
REG_LOOP_CURRENT = 28
REG_LINE_VOLTAGE = 29
REG_DAA_CONTROL5 = 31
REG_PCM_MODE = 33
REG_PCM_TX_LOW, REG_PCM_TX_HIGH, REG_PCM_RX_LOW, REG_PCM_RX_HIGH = 34, 35, 36, 37
REGISTER_COUNT = 60

SOFT_RESET = 0x80
ISOLATION_LOOPBACK = 0x02  # reg 1 bit 1, IDL: the PCM received goes back out across the barrier [M]
LVS_FORCED_ZERO_V = 3  # reg 29 reads 0 at 3 V or less unless LVFD (reg 31 bit 0) [V Si3050 datasheet 5.12.1]
LVFD = 0x01
INTE = 0x80  # reg 2: interrupt pin enable
INTP = 0x40  # reg 2: interrupt pin polarity (0 = active low)
LINE_SIDE_POWER_DOWN = 0x10  # reg 6 bit 4 [M]
OH = 0x01  # reg 5
ONHM = 0x08  # reg 5
RING_STATUS = 0x60 | 0x04  # reg 5 read-only: RDTP, RDTN, RDT
READ_ONLY_DAA_CONTROL = RING_STATUS

IRQ_RING = 0x80
IRQ_DROP_OUT = 0x08
IRQ_LOOP_CURRENT = 0x04
IRQ_POLARITY = 0x01

PCM_ENABLE = 0x20
PCM_LAW_SHIFT = 3
PCM_LAWS = {0: "alaw", 1: "ulaw"}
PCM_CLOCKS_PER_SLOT = 8
UNREACHABLE_SLOT = 1 << 20  # a start count that is not on a slot boundary hits no slot

RESET_DEFAULTS = {
    REG_CONTROL2: 0x03,  # presence value [V S1 wctdm_voicedaa_insane]
    REG_POWER: LINE_SIDE_POWER_DOWN,
    REG_DEVICE_REVISION: 0x05,  # bits 3:0 system-side revision [M], 7:4 zero until the link
}
LINE_SIDE_ID = 0x3  # reg 11 bits 7:4 once linked (any non-zero value satisfies S1) [M]

# Timing and analogue model (model choices within what the sources allow)
LINK_TIME_S = 0.1  # wctdm polls every 100 ms for up to 2 s
LOOP_CURRENT_MA_PER_CODE = 1.1  # reg 28 [M]
DROP_OUT_MA = 3.0  # loop current below this while off-hook is a drop-out [M]
BATTERY_PRESENT_V = 3  # |reg 29| >= this means a line is there [V S1 battthresh = 3]


class PstnLineFace(Protocol):
    """What the DAA needs from whatever is wired to tip and ring (a PstnLine)."""

    ringing: bool
    voltage_v: float

    def loop_current_ma(self, off_hook: bool) -> float: ...
    def to_line(self, frame: np.ndarray) -> None: ...
    def from_line(self) -> np.ndarray: ...
    def on_hook_state(self, off_hook: bool) -> None: ...


class Si3050:
    """One Si3050 + Si3019 DAA. See the module docstring for its two faces."""

    def __init__(self, port: str, clock: Callable[[], float], *, irq: GpioLine,
                 reset: GpioLine | None = None):
        self.port = port
        self._clock = clock
        self._irq = irq
        self._faults: set[str] = set()
        self._line: PstnLineFace | None = None
        self.framing_errors = 0
        self.soft_resets = 0
        self.power_glitches = 0
        self._in_reset = False
        self._hook_applied = False
        self._power_on_reset()
        if reset is not None:
            reset.watch(self._on_reset_pin)

    # ------------------------------------------------------------------ world face
    def attach(self, line: PstnLineFace) -> None:
        """Wire a subscriber line to tip and ring."""
        self._line = line
        subscribe = getattr(line, "subscribe", None)
        if subscribe is not None:
            subscribe(self.refresh)
        self.refresh()

    def inject_fault(self, name: str) -> None:
        if name not in FAULTS:
            raise ValueError(f"{self.port}: unknown fault {name!r}, expected one of {FAULTS}")
        self._faults.add(name)
        self.refresh()

    # -- fault face (at run time; the bus faults are the board's: SPI device, wires, PCM slot)
    def clear_fault(self, name: str) -> None:
        if name not in FAULTS:
            raise ValueError(f"{self.port}: unknown fault {name!r}, expected one of {FAULTS}")
        self._faults.discard(name)
        self.refresh()

    @property
    def faults(self) -> tuple[str, ...]:
        return tuple(sorted(self._faults))

    def power_glitch(self) -> None:
        """The DAA resets itself (a dip in its supply): registers back to their reset values,
        the line side powered down and unlinked, the hook switch open (the line is released)."""
        self.power_glitches += 1
        self._power_on_reset()

    def register(self, number: int) -> int:
        """A register as the chip holds it (for tests), without the SPI face."""
        self.refresh()
        return self._read(number)

    @property
    def off_hook(self) -> bool:
        """The hook switch actually closed on the line (OH set and the line side linked)."""
        self.refresh()
        return self._hook_applied

    @property
    def linked(self) -> bool:
        return (self._link_at_s is not None and self._clock() >= self._link_at_s
                and "line_side_never_links" not in self._faults)

    def refresh(self) -> None:
        """Look at the line: hook switch, ring detect, polarity and drop-out interrupts."""
        if self._in_reset:
            return
        self._apply_hook()
        if not self.linked or self._line is None:
            self._update_irq()
            return
        ringing = self._ring_voltage()
        if ringing and not self._was_ringing:
            self._raise(IRQ_RING)
        self._was_ringing = ringing
        volts = self._line_voltage()
        sign = (volts > 0) - (volts < 0) if abs(volts) >= BATTERY_PRESENT_V else 0
        if sign and self._last_sign and sign != self._last_sign:
            self._raise(IRQ_POLARITY)
        if sign:
            self._last_sign = sign
        current = self._loop_current()
        if self._hook_applied and self._last_current_ma >= DROP_OUT_MA > current:
            self._raise(IRQ_DROP_OUT)
        self._last_current_ma = current
        self._update_irq()

    # ------------------------------------------------------------------ SPI face
    def select(self) -> None:
        self._window: list[int] = []

    def exchange(self, byte: int) -> int:
        self._window.append(byte)
        if self._in_reset or "absent" in self._faults:
            return IDLE_MISO
        if len(self._window) == 1 and self._phase == "read_data":
            self.refresh()
            return self._read(self._address)
        return IDLE_MISO

    def deselect(self) -> None:
        if self._in_reset or "absent" in self._faults:
            return
        if len(self._window) != 1:
            self.framing_errors += 1
            self._phase = "control"
            return
        self._step(self._window[0])

    def _step(self, byte: int) -> None:
        if self._phase == "control":
            if byte == CONTROL_WRITE:
                self._phase = "write_address"
            elif byte == CONTROL_READ:
                self._phase = "read_address"
            else:
                self.framing_errors += 1
        elif self._phase == "write_address":
            self._address, self._phase = byte, "write_data"
        elif self._phase == "read_address":
            self._address, self._phase = byte, "read_data"
        elif self._phase == "write_data":
            self._phase = "control"
            self._write(self._address, byte)
        else:  # read_data: the value went out in exchange()
            self._phase = "control"

    # ------------------------------------------------------------------ PCM face
    def pcm_format(self) -> tuple[str, int, int] | None:
        if self._in_reset or "absent" in self._faults:
            return None
        mode = self._regs[REG_PCM_MODE]
        law = PCM_LAWS.get((mode >> PCM_LAW_SHIFT) & 0x03)
        if not mode & PCM_ENABLE or law is None:
            return None
        return law, self._slot(REG_PCM_TX_LOW, REG_PCM_TX_HIGH), self._slot(REG_PCM_RX_LOW, REG_PCM_RX_HIGH)

    def pcm_exchange(self, from_host: np.ndarray) -> np.ndarray:
        self.refresh()
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        if "pcm_dead" in self._faults:
            return silence
        if self._regs[REG_CONTROL1] & ISOLATION_LOOPBACK:
            return np.asarray(from_host, dtype=np.int16).copy()
        if self._line is None or not self.linked:
            return silence
        if self._hook_applied:
            self._line.to_line(np.asarray(from_host, dtype=np.int16))
        heard = self._line.from_line()  # the line's audio runs on whether or not anyone listens
        if self._hook_applied or self._regs[REG_DAA_CONTROL] & ONHM:
            return np.asarray(heard, dtype=np.int16)
        return silence

    def _slot(self, low: int, high: int) -> int:
        count = self._regs[low] | (self._regs[high] & 0x03) << 8
        if count % PCM_CLOCKS_PER_SLOT:
            return UNREACHABLE_SLOT
        return count // PCM_CLOCKS_PER_SLOT

    # ------------------------------------------------------------------ registers
    def _read(self, reg: int) -> int:
        if "absent" in self._faults or self._in_reset:
            return IDLE_MISO
        if not 0 <= reg < REGISTER_COUNT:
            return 0x00
        if reg == REG_DAA_CONTROL:
            value = self._regs[reg] & ~READ_ONLY_DAA_CONTROL & 0xFF
            if self.linked and self._ring_voltage():
                phase = int(self._clock() * 50) & 1  # 25 Hz: alternate positive/negative detector
                value |= 0x04 | (0x40 if phase else 0x20)
            return value
        if reg == REG_DEVICE_REVISION:
            value = self._regs[reg] & 0x0F
            return value | (LINE_SIDE_ID << 4 if self.linked else 0)
        if reg == REG_LOOP_CURRENT:
            return min(0xFF, int(round(self._loop_current() / LOOP_CURRENT_MA_PER_CODE)))
        if reg == REG_LINE_VOLTAGE:
            volts = self._line_voltage()
            if abs(volts) <= LVS_FORCED_ZERO_V and not self._regs[REG_DAA_CONTROL5] & LVFD:
                return 0
            return int(max(-128, min(127, round(volts)))) & 0xFF
        return self._regs[reg]

    def _write(self, reg: int, value: int) -> None:
        if not 0 <= reg < REGISTER_COUNT:
            return
        if reg == REG_CONTROL1 and value & SOFT_RESET:
            self.soft_resets += 1
            self._power_on_reset()
            return
        if reg == REG_IRQ_SOURCE:
            self._regs[reg] &= value  # write 0 to clear; a 1 leaves the bit as it is
        elif reg in (REG_DEVICE_REVISION, REG_LOOP_CURRENT, REG_LINE_VOLTAGE, REG_LINE_SIDE_STATUS):
            return  # read-only status
        else:
            self._regs[reg] = value & 0xFF
        if reg == REG_POWER:
            if value & LINE_SIDE_POWER_DOWN:
                self._link_at_s = None
            elif self._link_at_s is None:
                self._link_at_s = self._clock() + LINK_TIME_S
        self.refresh()

    def _raise(self, bits: int) -> None:
        self._regs[REG_IRQ_SOURCE] |= bits

    def _update_irq(self) -> None:
        control2 = self._regs[REG_CONTROL2]
        pending = bool(self._regs[REG_IRQ_MASK] & self._regs[REG_IRQ_SOURCE])
        active_low = bool(control2 & INTE) and not control2 & INTP and not self._in_reset
        self._irq.pull_low(self.port, pending and active_low)

    # ------------------------------------------------------------------ the line
    def _ring_voltage(self) -> bool:
        return (self._line is not None and "no_line" not in self._faults
                and not self._hook_applied and bool(self._line.ringing))

    def _line_voltage(self) -> float:
        if self._line is None or "no_line" in self._faults or not self.linked:
            return 0.0
        return float(self._line.voltage_v)

    def _loop_current(self) -> float:
        if self._line is None or "no_line" in self._faults or not self._hook_applied:
            return 0.0
        return max(0.0, float(self._line.loop_current_ma(True)))

    def _apply_hook(self) -> None:
        wanted = bool(self._regs[REG_DAA_CONTROL] & OH) and self.linked and not self._in_reset
        if wanted == self._hook_applied:
            return
        self._hook_applied = wanted
        if self._line is not None and "no_line" not in self._faults:
            self._line.on_hook_state(wanted)
        self._last_current_ma = self._loop_current()

    # ------------------------------------------------------------------ reset
    def _power_on_reset(self) -> None:
        self._regs = [0] * REGISTER_COUNT
        for reg, value in RESET_DEFAULTS.items():
            self._regs[reg] = value
        self._phase = "control"
        self._address = 0
        self._window = []
        self._link_at_s: float | None = None
        self._was_ringing = False
        self._last_sign = 0
        self._last_current_ma = 0.0
        self._apply_hook()
        self._update_irq()

    def _on_reset_pin(self, level: bool) -> None:
        if not level:
            self._in_reset = True
            self._power_on_reset()
        elif self._in_reset:
            self._in_reset = False
            self._power_on_reset()
