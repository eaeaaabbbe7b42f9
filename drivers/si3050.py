"""Driver for the Silicon Labs Si3050 + Si3019 voice DAA: one PSTN line (an FXO port).

It speaks registers only and knows nothing about calls: it reports rings, loop current,
polarity and line presence as events, and seizes or releases the line when told. Dialling is
DTMF audio in the PCM timeslot and busy tone is recognised in the received audio; both belong
to the channel above, not here.

Facts used (reference/hardware.md; sources named there): SPI framing ``0x20, reg, data`` for a
write and ``0x60, reg`` then one byte for a read, chip select raised between bytes [V S1, S9];
start-up order of DAHDI's wctdm_init_voicedaa (presence reg 2 = 0x03, soft reset, country
settings 16/26/30/31 from fxo_modes.h, PCM 33-37, line side on with reg 6 = 0, wait for reg 11
bits 7:4, on-hook monitor 5 = 0x08) [V S1, S3]; interrupt source bits are cleared by writing 0
[V Silicon Labs VDAA API]; reg 2 bit 7 enables the interrupt pin [V Realtek VDAA glue].

While in service the driver re-reads reg 2 every second: the interrupt-enable bit it set there
is gone after a reset, so a chip that reset itself (a power glitch) is noticed and initialised
again, and one that stops answering is reported as failed after a few reads in a row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ChipError

log = logging.getLogger(__name__)

# SPI
CONTROL_WRITE = 0x20
CONTROL_READ = 0x60

# Registers
REG_CONTROL1 = 1
REG_CONTROL2 = 2
REG_IRQ_MASK = 3
REG_IRQ_SOURCE = 4
REG_DAA_CONTROL = 5
REG_POWER = 6
REG_DEVICE_REVISION = 11
REG_INTERNATIONAL1 = 16
REG_DC_TERMINATION = 26
REG_LOOP_CURRENT = 28
REG_LINE_VOLTAGE = 29
REG_AC_TERMINATION = 30
REG_DAA_CONTROL5 = 31
REG_PCM_MODE = 33
REG_PCM_TX_LOW, REG_PCM_TX_HIGH, REG_PCM_RX_LOW, REG_PCM_RX_HIGH = 34, 35, 36, 37

PRESENCE_VALUE = 0x03  # reg 2 after reset
SOFT_RESET = 0x80
ISOLATION_LOOPBACK = 0x02  # reg 1 bit 1 (IDL): PCM received is sent back across the barrier [M]
INTERRUPT_PIN_ENABLE = 0x80  # reg 2 bit 7 (INTE), bit 6 left 0: active low
LINE_SIDE_ID_MASK = 0xF0  # reg 11 bits 7:4, non-zero once the isolation link is up
OFF_HOOK = 0x09  # reg 5: OH + ONHM
ON_HOOK_MONITOR = 0x08  # reg 5: ONHM, so caller ID between rings reaches the PCM slot
RING_STATUS_BITS = 0x60  # reg 5 RDTP/RDTN

IRQ_RING = 0x80
IRQ_DROP_OUT = 0x08
IRQ_LOOP_CURRENT = 0x04
IRQ_POLARITY = 0x01
IRQ_MASK = IRQ_RING | IRQ_DROP_OUT | IRQ_POLARITY

PCM_LAW_CODES = {"alaw": 0x20, "ulaw": 0x28}  # reg 33: enable + law [V S1]
PCM_CLOCKS_PER_SLOT = 8
MAX_PCM_START_COUNT = 0x3FF

# Timing
RESET_PULSE_S = 0.1
RESET_SETTLE_S = 0.1
SOFT_RESET_WAIT_S = 0.1  # wctdm waits HZ/10 after reg 1 = 0x80
LINK_TIMEOUT_S = 2.0  # wctdm gives the ISO-cap link 2 s
LINK_POLL_S = 0.02
RING_GAP_ENDS_BURST_S = 0.2  # ring indicator absent this long: the burst is over
RINGING_STOPPED_S = 6.5  # no burst for this long: the caller gave up (Italian pause is 4 s)
LOOP_DROP_DEBOUNCE_S = 0.1
LOOP_DROP_THRESHOLD_MA = 5.0
LOOP_CURRENT_MA_PER_CODE = 1.1  # reg 28 [M]
BATTERY_PRESENT_V = 3  # |reg 29| >= 3 V: a line is connected [V S1 battthresh]
LINE_LOST_AFTER_S = 1.0
POLARITY_DEBOUNCE_S = 0.04
MAX_IRQ_PASSES = 4
SANITY_EVERY_S = 1.0  # reg 2 read back this often while in service
SANITY_FAILURES_ALLOWED = 3  # reads in a row that are neither our value nor the reset default


@dataclass(frozen=True)
class CountryMode:
    """One row of fxo_modes.h: the bit fields that make up regs 16, 26, 30 and 31."""

    name: str
    ohs: int = 0
    ohs2: int = 0
    rz: int = 0
    rt: int = 0
    ilim: int = 0
    dcv: int = 0
    mini: int = 0
    acim: int = 0

    def registers(self) -> dict[int, int]:
        return {
            REG_INTERNATIONAL1: self.ohs << 6 | self.rz << 1 | self.rt,
            REG_DC_TERMINATION: self.dcv << 6 | self.mini << 4 | self.ilim << 1,
            REG_AC_TERMINATION: self.acim,
            REG_DAA_CONTROL5: 0xA3 | self.ohs2 << 3,
        }


# [V S3 fxo_modes.h]; TBR21 is the European default for countries without a row of their own.
COUNTRY_MODES = {mode.name: mode for mode in (
    CountryMode("ITALY", ohs2=1, ilim=1, dcv=3, acim=2),
    CountryMode("TBR21", ilim=1, dcv=3, acim=2),
    CountryMode("FCC", rt=1, dcv=3),
)}
DEFAULT_COUNTRY = "TBR21"


# ---------------------------------------------------------------------------------- events
@dataclass(frozen=True)
class RingStart:
    at_s: float


@dataclass(frozen=True)
class RingEnd:
    at_s: float
    first: bool  # after the first burst the caller ID burst follows


@dataclass(frozen=True)
class RingingStopped:
    at_s: float  # no ring for RINGING_STOPPED_S: the caller gave up


@dataclass(frozen=True)
class LoopCurrentDrop:
    at_s: float  # while off-hook: the far end released (or the line was cut)


@dataclass(frozen=True)
class PolarityReversal:
    at_s: float  # while off-hook


@dataclass(frozen=True)
class LineLost:
    at_s: float  # no line voltage while on-hook for LINE_LOST_AFTER_S


@dataclass(frozen=True)
class ChipRestored:
    at_s: float  # the DAA had reset itself and was initialised again (a call on it was lost)


@dataclass(frozen=True)
class ChipFailed:
    at_s: float
    problem: str  # the port cannot work any more: the channel marks it out of service


@dataclass(frozen=True)
class LineStatus:
    voltage_v: int
    polarity: int  # +1, -1, or 0 with no line
    loop_current_ma: float
    line_present: bool


class Si3050Daa:
    """One DAA behind SPI, an interrupt line and optionally its own reset line."""

    def __init__(self, spi, irq, reset=None, *, port: str, timeslot: int, law: str = "alaw",
                 country: str = "ITALY", clock: Callable[[], float] = time.monotonic):
        if law not in PCM_LAW_CODES:
            raise ValueError(f"{port}: law must be one of {sorted(PCM_LAW_CODES)}, got {law!r}")
        if not 0 <= timeslot * PCM_CLOCKS_PER_SLOT <= MAX_PCM_START_COUNT:
            raise ValueError(f"{port}: timeslot {timeslot} out of range 0..{MAX_PCM_START_COUNT // 8}")
        self._spi = spi
        self._irq = irq
        self._reset = reset
        self.port = port
        self.timeslot = timeslot
        self.law = law
        self.country = COUNTRY_MODES.get(country.upper(), COUNTRY_MODES[DEFAULT_COUNTRY])
        self._clock = clock
        self._off_hook = False
        self._started = False
        self._reset_state()
        self.restores = 0
        self._restoring: asyncio.Task | None = None
        self._failed: str | None = None
        self._failure_reported = False
        self._sanity_due_s = 0.0
        self._sanity_failures = 0
        self._news: list = []

    def _reset_state(self) -> None:
        self._ring_bursts = 0  # bursts in the current ringing episode
        self._in_burst = False
        self._last_ring_s: float | None = None
        self._low_current_since: float | None = None
        self._loop_dropped = False
        self._polarity_ref = 0
        self._polarity_candidate_since: float | None = None
        self._no_voltage_since: float | None = None
        self._line_lost = False

    # ------------------------------------------------------------------ start-up
    async def restart(self) -> None:
        """Set up again a DAA that failed while running (the port supervisor's retry): its reset
        line may be shared with the other chips, so a soft reset takes the hardware reset's place."""
        self._write(REG_CONTROL1, SOFT_RESET)
        await asyncio.sleep(SOFT_RESET_WAIT_S)
        await self.start(hard_reset=self._reset is not None)

    async def start(self, hard_reset: bool = True) -> None:
        """Reset, check presence, program country, PCM and interrupts, bring up the line side."""
        if hard_reset:
            await self._hardware_reset()
        presence = self._read(REG_CONTROL2)
        if presence != PRESENCE_VALUE:
            raise ChipError(self.port, f"no Si3050 DAA answers (expected 0x{PRESENCE_VALUE:02X})",
                            REG_CONTROL2, presence)
        self._write(REG_CONTROL1, SOFT_RESET)
        await asyncio.sleep(SOFT_RESET_WAIT_S)
        for reg, value in self.country.registers().items():
            self._write(reg, value)
        self._program_pcm()
        self._write(REG_POWER, 0x00)
        await self._wait_for_link()
        self._write(REG_IRQ_SOURCE, 0x00)
        self._write(REG_IRQ_MASK, IRQ_MASK)
        self._write(REG_CONTROL2, PRESENCE_VALUE | INTERRUPT_PIN_ENABLE)
        self._write(REG_DAA_CONTROL, ON_HOOK_MONITOR)
        self._off_hook = False
        self._reset_state()
        self._started = True
        self._failed, self._failure_reported, self._sanity_failures = None, False, 0
        self._sanity_due_s = self._clock() + SANITY_EVERY_S

    async def _hardware_reset(self) -> None:
        if self._reset is None:
            return
        self._reset.write(False)
        await asyncio.sleep(RESET_PULSE_S)
        self._reset.write(True)
        await asyncio.sleep(RESET_SETTLE_S)

    def _program_pcm(self) -> None:
        count = self.timeslot * PCM_CLOCKS_PER_SLOT
        self._write(REG_PCM_TX_LOW, count & 0xFF)
        self._write(REG_PCM_TX_HIGH, count >> 8)
        self._write(REG_PCM_RX_LOW, count & 0xFF)
        self._write(REG_PCM_RX_HIGH, count >> 8)
        self._write(REG_PCM_MODE, PCM_LAW_CODES[self.law])

    async def _wait_for_link(self) -> None:
        deadline = self._clock() + LINK_TIMEOUT_S
        while True:
            revision = self._read(REG_DEVICE_REVISION)
            if revision & LINE_SIDE_ID_MASK:
                return
            if self._clock() >= deadline:
                raise ChipError(self.port, f"line side did not link within {LINK_TIMEOUT_S:.1f} s "
                                "(Si3019 missing or isolation capacitors open)", REG_DEVICE_REVISION, revision)
            await asyncio.sleep(LINK_POLL_S)

    # ------------------------------------------------------------------ actions
    def seize(self) -> None:
        """Go off-hook: answer a ringing line or take it to dial out."""
        self._write(REG_DAA_CONTROL, OFF_HOOK)
        self._off_hook = True
        self._in_burst = False
        self._ring_bursts = 0
        self._last_ring_s = None
        self._low_current_since = None
        self._loop_dropped = False
        self._polarity_ref = 0
        self._polarity_candidate_since = None

    def release(self) -> None:
        """Back on-hook, still monitoring the line for rings and caller ID."""
        self._write(REG_DAA_CONTROL, ON_HOOK_MONITOR)
        self._off_hook = False
        self._reset_state()

    @property
    def off_hook(self) -> bool:
        return self._off_hook

    @property
    def irq_fd(self) -> int:
        return self._irq.fd

    def line_status(self) -> LineStatus:
        volts = self._line_voltage()
        present = abs(volts) >= BATTERY_PRESENT_V
        polarity = ((volts > 0) - (volts < 0)) if present else 0
        return LineStatus(voltage_v=volts, polarity=polarity, loop_current_ma=self._loop_current_ma(),
                          line_present=present)

    def close(self) -> None:
        """Leave the line on-hook with interrupts masked; the board closes the buses."""
        if self._restoring is not None:
            self._restoring.cancel()
            self._restoring = None
        if not self._started:
            return
        self._started = False
        try:
            self._write(REG_IRQ_MASK, 0x00)
            self._write(REG_DAA_CONTROL, 0x00)
        except OSError:
            pass  # closing after the bus went away: nothing more to do
        self._off_hook = False

    # ------------------------------------------------------------------ events
    def drain_interrupt(self) -> None:
        """Consume the IRQ line's pending edges without touching the chip (a port out of service)."""
        while self._irq.poll(0):
            self._irq.read_event()

    def handle_interrupt(self) -> list:
        """Drain the IRQ line's edge events, read and clear reg 4, turn its bits into events."""
        while self._irq.poll(0):
            self._irq.read_event()
        if self._restoring is not None or self._failed is not None or not self._started:
            return []
        events: list = []
        now = self._clock()
        for _ in range(MAX_IRQ_PASSES):
            source = self._read(REG_IRQ_SOURCE)
            if not source:
                break
            self._write(REG_IRQ_SOURCE, ~source & 0xFF)  # 0 clears the bits seen, 1 keeps the rest
            if source & IRQ_RING and not self._off_hook:
                events += self._ring_seen(now)
            if source & IRQ_POLARITY and self._off_hook:
                events += self._check_polarity(now, confirmed=True)
            if source & (IRQ_DROP_OUT | IRQ_LOOP_CURRENT) and self._off_hook:
                events += self._check_loop_current(now)
        return events

    def tick(self) -> list:
        """Every 20 ms: ring cadence, loop-current drop, polarity reversal, line presence."""
        if self._failed is not None:
            return self._report_failure()
        if not self._started or self._restoring is not None:
            return []
        now = self._clock()
        if now >= self._sanity_due_s:
            self._sanity_due_s = now + SANITY_EVERY_S
            if not self._check_sanity():
                return self._report_failure() if self._failed is not None else []
        if self._news:
            news, self._news = self._news, []
            return news
        if self._off_hook:
            return self._check_loop_current(now) + self._check_polarity(now)
        return self._check_ringing(now) + self._check_line_present(now)

    # ------------------------------------------------------------------ the running sanity check
    def _check_sanity(self) -> bool:
        """True when reg 2 still holds what start() wrote; starts a re-initialisation when the
        chip is back at its reset default, fails the port when it keeps answering nonsense."""
        value = self._read(REG_CONTROL2)
        if value == PRESENCE_VALUE | INTERRUPT_PIN_ENABLE:
            self._sanity_failures = 0
            return True
        if value == PRESENCE_VALUE:
            log.error("%s: the DAA reset itself; initialising it again", self.port)
            self._started = False
            self._restoring = asyncio.get_running_loop().create_task(self._restore(), name=f"{self.port}-restore")
            return False
        self._sanity_failures += 1
        if self._sanity_failures >= SANITY_FAILURES_ALLOWED:
            self._failed = (f"the DAA stopped answering: reg 2 read 0x{value:02X} {self._sanity_failures} times "
                            f"in a row (expected 0x{PRESENCE_VALUE | INTERRUPT_PIN_ENABLE:02X})")
        return False

    async def _restore(self) -> None:
        try:
            await self.start()
        except ChipError as err:
            self._failed = f"the DAA reset itself and could not be initialised again: {err}"
        else:
            self.restores += 1
            self._news.append(ChipRestored(self._clock()))
        finally:
            self._restoring = None

    def _report_failure(self) -> list:
        if self._failure_reported:
            return []
        self._failure_reported = True
        log.error("%s: %s", self.port, self._failed)
        return [ChipFailed(self._clock(), self._failed)]

    def set_digital_loopback(self, on: bool) -> None:
        """Reg 1 bit 1 (IDL): the PCM the DAA receives comes back in its own slot (bring-up test)."""
        self._write(REG_CONTROL1, ISOLATION_LOOPBACK if on else 0x00)

    def _ring_seen(self, now: float) -> list:
        self._last_ring_s = now
        if self._in_burst:
            return []
        self._in_burst = True
        self._ring_bursts += 1
        return [RingStart(now)]

    def _check_ringing(self, now: float) -> list:
        if self._read(REG_DAA_CONTROL) & RING_STATUS_BITS:
            return self._ring_seen(now)
        if self._last_ring_s is None:
            return []
        quiet_s = now - self._last_ring_s
        if self._in_burst and quiet_s > RING_GAP_ENDS_BURST_S:
            self._in_burst = False
            return [RingEnd(now, first=self._ring_bursts == 1)]
        if not self._in_burst and quiet_s > RINGING_STOPPED_S:
            self._ring_bursts = 0
            self._last_ring_s = None
            return [RingingStopped(now)]
        return []

    def _check_loop_current(self, now: float) -> list:
        if self._loop_current_ma() >= LOOP_DROP_THRESHOLD_MA:
            self._low_current_since = None
            self._loop_dropped = False
            return []
        if self._low_current_since is None:
            self._low_current_since = now
        if not self._loop_dropped and now - self._low_current_since >= LOOP_DROP_DEBOUNCE_S:
            self._loop_dropped = True
            return [LoopCurrentDrop(now)]
        return []

    def _check_polarity(self, now: float, confirmed: bool = False) -> list:
        volts = self._line_voltage()
        if abs(volts) < BATTERY_PRESENT_V:
            self._polarity_candidate_since = None  # an open loop is not a reversal
            return []
        sign = 1 if volts > 0 else -1
        if self._polarity_ref == 0 or sign == self._polarity_ref:
            self._polarity_ref = sign
            self._polarity_candidate_since = None
            return []
        if self._polarity_candidate_since is None:
            self._polarity_candidate_since = now
        if confirmed or now - self._polarity_candidate_since >= POLARITY_DEBOUNCE_S:
            self._polarity_ref = sign
            self._polarity_candidate_since = None
            return [PolarityReversal(now)]
        return []

    def _check_line_present(self, now: float) -> list:
        if abs(self._line_voltage()) >= BATTERY_PRESENT_V:
            self._no_voltage_since = None
            self._line_lost = False
            return []
        if self._no_voltage_since is None:
            self._no_voltage_since = now
        if not self._line_lost and now - self._no_voltage_since > LINE_LOST_AFTER_S:
            self._line_lost = True
            return [LineLost(now)]
        return []

    # ------------------------------------------------------------------ registers
    def _line_voltage(self) -> int:
        raw = self._read(REG_LINE_VOLTAGE)
        return raw - 256 if raw & 0x80 else raw

    def _loop_current_ma(self) -> float:
        return round(self._read(REG_LOOP_CURRENT) * LOOP_CURRENT_MA_PER_CODE, 1)

    def _write(self, reg: int, value: int) -> None:
        """Three chip-select windows: control, register, data."""
        for byte in (CONTROL_WRITE, reg, value & 0xFF):
            self._spi.transfer([byte])

    def _read(self, reg: int) -> int:
        """Two windows to address the register, a third clocks the value out."""
        self._spi.transfer([CONTROL_READ])
        self._spi.transfer([reg])
        return self._spi.transfer([0x00])[0] & 0xFF
