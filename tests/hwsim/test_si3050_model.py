"""The Si3050 model enforces what a driver must get right: framing, clear-by-writing-0, INTE."""

from __future__ import annotations

from centralino.hwsim.buses import GpioLine, SimSPI
from centralino.hwsim.pstn import PstnExchange
from centralino.hwsim.si3050 import IRQ_RING, LINK_TIME_S, Si3050


class _Rig:
    def __init__(self):
        self.now = 1000.0
        self.irq = GpioLine("GPIO24", lambda: self.now)
        self.chip = Si3050("fxo1", lambda: self.now, irq=self.irq)
        self.exchange = PstnExchange(lambda: self.now)
        self.line = self.exchange.line("fxo1", "0550001111")
        self.chip.attach(self.line)
        self.spi = SimSPI("/dev/spidev0.1", 3, 1e6, chip=self.chip)

    def write(self, reg, value):
        for byte in (0x20, reg, value):
            self.spi.transfer([byte])

    def read(self, reg):
        self.spi.transfer([0x60])
        self.spi.transfer([reg])
        return self.spi.transfer([0x00])[0]

    def link(self):
        self.write(6, 0x00)
        self.now += LINK_TIME_S


def test_presence_and_soft_reset_restore_defaults():
    rig = _Rig()
    assert rig.read(2) == 0x03 and rig.read(6) == 0x10 and rig.read(11) & 0xF0 == 0
    rig.link()
    rig.write(33, 0x20)
    assert rig.read(11) & 0xF0 and rig.chip.pcm_format() == ("alaw", 0, 0)
    rig.write(1, 0x80)
    assert rig.read(1) == 0 and rig.read(33) == 0 and rig.read(11) & 0xF0 == 0
    assert rig.chip.framing_errors == 0


def test_bad_framing_is_counted_ignored_and_reads_ff():
    rig = _Rig()
    assert rig.spi.transfer([0x60, 2, 0]) == [0xFF, 0xFF, 0xFF]
    rig.spi.transfer([0x42])  # not a control byte
    assert rig.chip.framing_errors == 2
    rig.spi.transfer([0x20])
    rig.spi.transfer([33, 0x20])  # register and data in one window: not applied
    assert rig.read(33) == 0x00
    assert rig.read(2) == 0x03, "a well-framed read after garbage works again"


def test_interrupt_source_clears_by_writing_zero_and_needs_inte_for_the_pin():
    rig = _Rig()
    rig.link()
    rig.write(3, IRQ_RING)
    rig.write(5, 0x08)
    rig.line._ring_from_s = rig.now  # ring voltage now, without an event loop
    rig.chip.refresh()
    assert rig.read(4) & IRQ_RING and rig.read(5) & 0x60
    assert rig.irq.level is True, "INTE clear: the pin stays idle"
    rig.write(2, 0x83)
    assert rig.irq.level is False
    rig.write(4, 0xFF)  # writing 1 leaves the bit set
    assert rig.read(4) & IRQ_RING and rig.irq.level is False
    rig.write(4, 0x00)
    assert rig.read(4) == 0 and rig.irq.level is True


def test_pcm_start_count_off_a_slot_boundary_reaches_no_slot():
    rig = _Rig()
    rig.link()
    rig.write(33, 0x28)
    rig.write(34, 16)
    rig.write(36, 13)
    law, tx, rx = rig.chip.pcm_format()
    assert law == "ulaw" and tx == 2 and rx > 127
    rig.write(33, 0x30)  # 16-bit linear: the 8-bit bus cannot carry it
    assert rig.chip.pcm_format() is None


def test_off_hook_needs_the_line_side_and_tells_the_line():
    rig = _Rig()
    rig.write(5, 0x09)
    assert not rig.chip.off_hook and not rig.line.off_hook
    rig.link()
    assert rig.chip.off_hook and rig.line.off_hook
    assert 20 <= rig.read(28) * 1.1 <= 30 and rig.read(29) == 8
    rig.write(5, 0x08)
    assert not rig.line.off_hook and rig.read(28) == 0 and rig.read(29) == 48
