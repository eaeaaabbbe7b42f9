"""The Si321x model enforces what a driver relies on: framing, busy bits, ramps, self-clearing."""

from __future__ import annotations

import numpy as np
import pytest

from centralino.hwsim.buses import GpioLine, SimPcmBus, SimSPI
from centralino.hwsim.si321x import Si321x, ring_frequency_from_coefficient
from centralino.media.frames import FRAME_SAMPLES


class ManualClock:
    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A stand-in phone that records what reaches it."""

    def __init__(self):
        self.frames: list[np.ndarray] = []

    def earpiece(self, frame):
        self.frames.append(frame)

    def mouthpiece(self):
        return np.full(FRAME_SAMPLES, 1000, dtype=np.int16)


@pytest.fixture
def bench():
    clock = ManualClock()
    irq = GpioLine("irq", clock)
    reset = GpioLine("reset", clock)
    chip = Si321x("fxs1", clock, irq=irq, reset=reset)
    return clock, chip, SimSPI("/dev/spidev0.0", 0, 1e6, chip=chip), irq, reset


def write(spi, reg, value):
    spi.transfer([reg & 0x7F])
    spi.transfer([value])


def read(spi, reg):
    spi.transfer([reg | 0x80])
    return spi.transfer([0])[0]


def test_reset_defaults_and_id(bench):
    _, chip, spi, _, _ = bench
    assert read(spi, 0) == 0x05
    assert [read(spi, r) for r in (8, 11, 64, 14)] == [0x02, 0x33, 0x00, 0x10]
    assert read(spi, 1) & 0x80 == 0


def test_si3215_flags_itself_in_reg_1():
    clock = ManualClock()
    chip = Si321x("fxs2", clock, irq=GpioLine("irq", clock), part="Si3215")
    spi = SimSPI("/dev/spidev0.0", 0, 1e6, chip=chip)
    assert read(spi, 1) & 0x80


def test_multi_byte_window_is_a_framing_error_and_is_not_applied(bench):
    _, chip, spi, _, _ = bench
    assert spi.transfer([0x08, 0x00]) == [0xFF, 0xFF]
    assert spi.transfer([0x80 | 0x0B, 0x00]) == [0xFF, 0xFF]
    assert chip.framing_errors == 2
    assert read(spi, 8) == 0x02  # the write did not happen
    write(spi, 8, 0x00)
    assert read(spi, 8) == 0x00 and chip.framing_errors == 2


def test_indirect_access_is_busy_for_a_while(bench):
    clock, chip, spi, _, _ = bench
    write(spi, 28, 0x34)
    write(spi, 29, 0x12)
    write(spi, 30, 21)
    assert chip.indirect(21) == 0x1234
    assert read(spi, 31) != 0
    write(spi, 28, 0x99)  # too early: mangled on a real chip, refused here
    assert chip.indirect_errors == 1
    clock.now += 0.001
    assert read(spi, 31) == 0
    write(spi, 30, 21)  # no data written since: a read
    clock.now += 0.001
    assert read(spi, 28) | read(spi, 29) << 8 == 0x1234


def test_battery_ramps_only_with_the_dcdc_on(bench):
    clock, chip, spi, _, _ = bench
    clock.now += 1.0
    assert read(spi, 82) == 0  # DC-DC off after reset
    write(spi, 14, 0x00)
    clock.now += 0.05
    partial = read(spi, 82)
    assert 0 < partial < 0xC0
    clock.now += 0.3
    assert 0xC0 <= read(spi, 82) <= 0xCA  # 75 V from reg 74's default
    write(spi, 14, 0x10)
    clock.now += 0.5
    assert 0xA0 <= read(spi, 82) < 0xC0  # DC-DC off: the capacitor discharges slowly (wctdm's leak test)
    chip.inject_fault("power_leak")
    clock.now += 0.5
    assert read(spi, 82) <= 0x06  # through a short it collapses: the leak test's finding


def test_no_battery_fault_never_ramps(bench):
    clock, chip, spi, _, _ = bench
    chip.inject_fault("no_battery")
    write(spi, 14, 0x00)
    clock.now += 2.0
    assert read(spi, 82) == 0


def test_calibration_self_clears(bench):
    clock, chip, spi, _, _ = bench
    write(spi, 97, 0x1F)
    write(spi, 96, 0x5F)
    assert read(spi, 96) == 0x5F and not chip.calibrated
    clock.now += 0.1
    assert read(spi, 96) != 0
    clock.now += 0.2
    assert read(spi, 96) == 0 and chip.calibrated


def test_reset_pin_holds_the_chip_and_restores_defaults(bench):
    _, chip, spi, _, reset = bench
    write(spi, 8, 0x00)
    write(spi, 64, 0x01)
    reset.drive(False)
    assert read(spi, 0) == 0xFF  # in reset nothing answers
    reset.drive(True)
    assert read(spi, 8) == 0x02 and read(spi, 64) == 0x00


def power_up(clock, spi, slot_count=24):
    write(spi, 14, 0x00)
    clock.now += 0.3
    write(spi, 8, 0x00)  # digital loopback is on at reset, as on the chip: drivers clear it
    write(spi, 1, 0x20)
    for reg in (2, 4):
        write(spi, reg, slot_count)
    write(spi, 64, 0x01)


def test_pcm_slot_from_start_count_and_noise_when_misaligned(bench):
    clock, chip, spi, _, _ = bench
    phone = Recorder()
    chip.attach(phone)
    chip.set_off_hook(True)
    power_up(clock, spi, slot_count=24)
    assert chip.pcm_format() == ("alaw", 3, 3)
    bus = SimPcmBus(8, [chip])
    frame = np.full((FRAME_SAMPLES, 8), 0xD5, dtype=np.uint8).tobytes()
    back = np.frombuffer(bus.transfer(frame), dtype=np.uint8).reshape(FRAME_SAMPLES, 8)
    assert np.abs(phone.frames[-1]).max() < 16  # the idle slot: silence
    assert len(set(back[:, 3])) == 1 and back[0, 3] != 0xD5  # the phone's steady level
    write(spi, 4, 27)  # not a multiple of 8: the chip samples across slots
    chip.pcm_exchange(np.zeros(FRAME_SAMPLES, dtype=np.int16))
    assert np.abs(phone.frames[-1]).max() > 1000


def test_pcm_off_without_enable_bit(bench):
    clock, chip, spi, _, _ = bench
    power_up(clock, spi)
    write(spi, 1, 0x08)
    assert chip.pcm_format() is None


def test_loop_closure_and_irq_line(bench):
    clock, chip, spi, irq, _ = bench
    power_up(clock, spi)
    write(spi, 22, 0x02)
    chip.set_off_hook(True)
    assert read(spi, 68) & 0x01 and read(spi, 19) & 0x02 and not irq.level
    write(spi, 19, 0xFF)
    assert irq.level


def test_ring_frequency_from_coefficient():
    assert ring_frequency_from_coefficient(0x7E6D) == pytest.approx(25.0, abs=0.05)
    assert ring_frequency_from_coefficient(0x7EF0) == pytest.approx(20.5, abs=0.1)
    assert np.isnan(ring_frequency_from_coefficient(0))


def test_bad_part_and_fault_names():
    clock = ManualClock()
    with pytest.raises(ValueError, match="fxs3: part"):
        Si321x("fxs3", clock, irq=GpioLine("irq", clock), part="Si3217")
    chip = Si321x("fxs3", clock, irq=GpioLine("irq", clock))
    with pytest.raises(ValueError, match="unknown fault"):
        chip.inject_fault("melted")
