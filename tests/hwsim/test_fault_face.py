"""The fault face of the buses and chip models, set and cleared while the drivers run.

Each fault is checked through the unchanged driver where one exists: what the driver sees (the
error periphery or smbus2 would raise, the ChipError it turns that into), and that clearing the
fault gives back a working chip.
"""

from __future__ import annotations

import asyncio
import errno
import time

import numpy as np
import periphery
import pytest

from centralino.drivers.errors import ChipError
from centralino.drivers.hat_eeprom import read_hat_info
from centralino.drivers.proslic import OffHook, ProSlic
from centralino.hwsim.board import EEPROM_ADDRESS, HAT_UUID
from centralino.hwsim.buses import GpioLine, SimGPIO, SimPcmBus, SimSMBus, SimSPI
from centralino.hwsim.clock import run
from centralino.hwsim.eeprom import At24c32
from centralino.hwsim.faults import TransferFaults
from centralino.hwsim.hat_image import eepmake_crc, hat_image
from centralino.hwsim.phone import AnalogPhone
from centralino.hwsim.si321x import Si321x
from centralino.hwsim.voices import Voice, hears
from centralino.media import g711
from centralino.media.frames import FRAME_SAMPLES

from ..drivers.test_proslic_rig import Rig, with_rig
from ..drivers.test_si3050_rig import FxoRig


class Recorder:
    """An SPI chip that keeps every byte it was sent and answers 0x5A."""

    def __init__(self):
        self.got = []

    def select(self):
        pass

    def exchange(self, byte):
        self.got.append(byte)
        return 0x5A

    def deselect(self):
        pass


# ------------------------------------------------------------------------------------ transfers

def test_a_failing_spi_device_raises_periphery_spierror_until_it_recovers():
    chip = Recorder()
    faults = TransferFaults("/dev/spidev0.0")
    spi = SimSPI("/dev/spidev0.0", 3, 1e6, chip=chip, faults=faults)
    second = SimSPI("/dev/spidev0.0", 3, 1e6, chip=chip, faults=faults)  # the same device, opened again
    faults.fail()
    for bus in (spi, second):
        with pytest.raises(periphery.SPIError) as err:
            bus.transfer([0x01])
        assert err.value.errno == errno.EIO and "SPI transfer" in str(err.value)
    assert chip.got == []  # nothing reached the chip
    faults.clear()
    assert spi.transfer([0x01]) == [0x5A]
    faults.fail(errno.ETIMEDOUT, transfers=2)
    assert [type(outcome(spi, [2])) for _ in range(3)] == [periphery.SPIError, periphery.SPIError, list]
    assert faults.mode is None and faults.affected == 4


def outcome(spi, data):
    try:
        return spi.transfer(data)
    except periphery.SPIError as err:
        return err


def test_garbage_reads_noise_but_the_chip_still_gets_the_bytes():
    chip = Recorder()
    faults = TransferFaults("/dev/spidev0.0", seed=3)
    spi = SimSPI("/dev/spidev0.0", 3, 1e6, chip=chip, faults=faults)
    faults.garble()
    back = [spi.transfer([n])[0] for n in range(40)]
    assert chip.got == list(range(40))
    assert len(set(back)) > 10 and back.count(0x5A) < 5  # noise, not the chip's answer
    twin = TransferFaults("/dev/spidev0.0", seed=3)
    twin.garble()
    assert back == [SimSPI("/dev/spidev0.0", 3, 1e6, chip=Recorder(), faults=twin).transfer([0])[0]
                    for _ in range(40)]  # seeded: the same noise again


@pytest.mark.parametrize("bad", [dict(errno=99999), dict(transfers=0)])
def test_a_fault_is_refused_when_it_makes_no_sense(bad):
    with pytest.raises(ValueError):
        TransferFaults("x").fail(**bad)


def test_the_proslic_driver_sees_the_bus_die_mid_call_and_works_again_after():
    async def body(rig: Rig):
        faults = TransferFaults("/dev/spidev0.0")
        rig.spi.faults = faults  # what the board shares between every SimSPI of the device
        rig.phone.off_hook()
        await asyncio.sleep(0.2)
        faults.fail()
        with pytest.raises(periphery.SPIError):
            for _ in range(20):  # the loop status is re-read every few ticks
                rig.driver._check_loop(rig.clock())
        faults.clear()
        return rig.driver._read(0) & 0x0F, bool(rig.driver._read(68) & 0x01)

    def no_ticker(rig_body):
        async def wrapped(rig):
            rig._ticker.cancel()  # the test makes the driver's calls itself
            return await rig_body(rig)
        return wrapped

    revision, off_hook = with_rig(no_ticker(body))
    assert revision == 5 and off_hook


def test_i2c_faults_reach_the_hat_eeprom_reader_as_chip_errors():
    faults = {EEPROM_ADDRESS: TransferFaults("i2c 0x50", default_errno=errno.EREMOTEIO)}
    image = hat_image("centralino project", "centralino-8fxs-4fxo", 0x0108, 1, HAT_UUID)
    bus = SimSMBus(0, chips={EEPROM_ADDRESS: At24c32(image)}, faults=faults)
    faults[EEPROM_ADDRESS].fail()
    with pytest.raises(ChipError, match="no answer at I2C address 0x50") as err:
        read_hat_info(bus)
    assert isinstance(err.value.__cause__, OSError) and err.value.__cause__.errno == errno.EREMOTEIO
    faults[EEPROM_ADDRESS].garble()
    with pytest.raises(ChipError, match="signature|format version|length|CRC"):
        read_hat_info(bus)
    faults[EEPROM_ADDRESS].clear()
    assert read_hat_info(bus).product == "centralino-8fxs-4fxo"


# ---------------------------------------------------------------------------------------- wires

def test_a_stuck_interrupt_line_hides_the_chips_edges_until_it_is_free():
    wire = GpioLine("GPIO24", lambda: 1.0)
    irq = SimGPIO("/dev/gpiochip0", 24, "in", edge="both", wire=wire)
    wire.stick(False)
    assert [irq.read_event().edge] == ["falling"] and not irq.poll(0)
    wire.pull_low("slic", True)
    wire.pull_low("slic", False)
    assert not irq.poll(0) and irq.read() is False  # the chip pulls, nothing moves
    wire.stick(None)
    assert irq.read_event().edge == "rising" and wire.level is True and wire.stuck is None
    wire.stick(True)
    assert not irq.poll(0)  # already high: no edge
    irq.close()


def test_a_reset_line_stuck_low_holds_the_chip_in_reset():
    clock = [0.0]
    irq, reset = GpioLine("irq", lambda: clock[0]), GpioLine("reset", lambda: clock[0])
    chip = Si321x("fxs1", lambda: clock[0], irq=irq, reset=reset)
    spi = SimSPI("/dev/spidev0.0", 3, 1e6, chip=chip)

    def read(reg):
        spi.transfer([reg | 0x80])
        return spi.transfer([0])[0]

    assert read(0) == 5
    reset.stick(False)
    assert read(0) == 0xFF and chip.pcm_format() is None
    reset.stick(None)
    assert read(0) == 5


# ------------------------------------------------------------------------------------------ PCM

class Loopback:
    def __init__(self, slot):
        self.slot, self.got = slot, None

    def pcm_format(self):
        return "alaw", self.slot, self.slot

    def pcm_exchange(self, frame):
        self.got = frame
        return frame


def test_a_silent_pcm_slot_carries_nothing_in_the_direction_said():
    near, far = Loopback(1), Loopback(2)
    bus = SimPcmBus(4, [near, far])
    tone = np.round(8000 * np.sin(np.arange(FRAME_SAMPLES) / 3)).astype(np.int16)
    out = np.full((FRAME_SAMPLES, 4), SimPcmBus.IDLE_BYTE, dtype=np.uint8)
    out[:, 1] = out[:, 2] = g711.alaw_encode(tone)

    def back():
        return np.frombuffer(bus.transfer(out.tobytes()), dtype=np.uint8).reshape(FRAME_SAMPLES, 4)

    bus.silence(1, "to_host")
    frame = back()
    assert (frame[:, 1] == SimPcmBus.IDLE_BYTE).all() and np.abs(near.got).max() > 1000
    assert (frame[:, 2] == out[:, 2]).all()  # the other slot is untouched
    bus.silence(1, "to_chip")
    frame = back()
    assert not near.got.any() and (frame[:, 1] == g711.alaw_encode(np.zeros(1, np.int16))[0]).all()
    bus.restore()
    assert (back()[:, 1] == out[:, 1]).all() and bus.silent_slots == {}
    with pytest.raises(ValueError, match="not on this bus"):
        bus.silence(4)


# ---------------------------------------------------------------------------------- chip resets

def test_a_proslic_that_resets_itself_is_back_at_its_defaults_and_the_driver_sets_it_up_again():
    async def body(rig: Rig):
        rig.phone.off_hook()
        await asyncio.sleep(0.3)
        t = rig.clock()
        await rig.stream(rig.driver.timeslot, np.tile(Voice(1050).frame(), 25))
        heard_before = hears(rig.phone.heard(t), 1050)
        rig.chip.power_glitch()
        regs = {reg: rig.chip.register(reg) for reg in (8, 11, 14, 64, 1)}
        t = rig.clock()
        await rig.stream(rig.driver.timeslot, np.tile(Voice(1050).frame(), 25))
        return heard_before, regs, len(rig.phone.heard(t)), rig.chip.power_glitches

    heard_before, regs, heard_after, glitches = with_rig(body)
    assert heard_before and glitches == 1
    assert regs == {8: 0x02, 11: 0x33, 14: 0x10, 64: 0x00, 1: 0x00}  # the reset values, PCM off
    assert heard_after > 0  # the driver saw the reset (its sanity registers) and set the chip up again


def test_a_daa_that_resets_itself_lets_go_of_the_line():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        rig.daa.seize()
        await rig.run_for(0.2)
        seized = rig.line.off_hook
        rig.chip.power_glitch()
        return seized, rig.line.off_hook, rig.chip.register(11) >> 4, rig.chip.register(2)

    seized, still, line_side, presence = run(main)
    assert seized and not still  # the exchange sees the loop open
    assert line_side == 0 and presence == 0x03  # line side unlinked, reg 2 at its reset value


def test_chip_faults_can_be_cleared_while_running():
    clock = [0.0]
    chip = Si321x("fxs1", lambda: clock[0], irq=GpioLine("irq", lambda: clock[0]))
    spi = SimSPI("/dev/spidev0.0", 3, 1e6, chip=chip)
    chip.inject_fault("absent")
    spi.transfer([0x80])
    assert spi.transfer([0])[0] == 0xFF and chip.faults == ("absent",)
    chip.clear_fault("absent")
    spi.transfer([0x80])
    assert spi.transfer([0])[0] == 5 and chip.faults == ()
    with pytest.raises(ValueError, match="unknown fault"):
        chip.clear_fault("melted")


# --------------------------------------------------------------------------------- the EEPROM

def test_the_simulated_hat_image_is_eepmakes_and_the_reader_agrees():
    image = hat_image("centralino project", "centralino-8fxs-4fxo", 0x0108, 2, HAT_UUID)
    # after the header (12) and the atom's header (8), eepmake puts the UUID's last 8 hex digits,
    # little-endian, first
    assert image[20:24] == bytes.fromhex("71c0de01")[::-1]
    assert eepmake_crc(b"123456789") == 0xBB3D  # the CRC-16 eepmake's getcrc() computes
    info = read_hat_info(SimSMBus(0, chips={EEPROM_ADDRESS: At24c32(image)}))
    assert (info.product, info.product_version, info.uuid) == ("centralino-8fxs-4fxo", 2, HAT_UUID)


def test_a_corrupt_eeprom_cell_fails_its_atoms_crc():
    chip = At24c32(hat_image("v", "p", 1, 1, HAT_UUID))
    chip.corrupt(30)
    with pytest.raises(ChipError, match="fails its CRC"):
        read_hat_info(SimSMBus(0, chips={EEPROM_ADDRESS: chip}))


# ----------------------------------------------------------------- edge stamps on another clock

def test_the_proslic_driver_times_edges_stamped_on_the_wall_clock():
    """periphery's cdev2 stamps edges with CLOCK_REALTIME: a late handler must still use them."""
    async def main():
        loop = asyncio.get_running_loop()
        clock = loop.time
        irq_wire = GpioLine("irq", clock, stamp_clock=time.time)
        reset_wire = GpioLine("reset", clock)
        chip = Si321x("fxs1", clock, irq=irq_wire, reset=reset_wire)
        phone = AnalogPhone(chip, Voice(500), clock)
        irq = SimGPIO("/dev/gpiochip0", 24, "in", edge="falling", wire=irq_wire)
        reset = SimGPIO("/dev/gpiochip0", 25, "high", wire=reset_wire)
        driver = ProSlic(SimSPI("/dev/spidev0.0", 3, 1e6, chip=chip), irq, reset, port="fxs1",
                         timeslot=0, law="alaw", clock=clock)
        await driver.start()
        lifted = clock()
        phone.off_hook()
        await asyncio.sleep(0.05)  # nobody services the interrupt for a while
        handled = clock()
        events = driver.handle_interrupt()
        irq.close(), reset.close()
        return lifted, handled, [e.at_s for e in events if isinstance(e, OffHook)]

    lifted, handled, stamps = run(main, virtual=False)
    assert handled - lifted >= 0.04
    assert stamps == [pytest.approx(lifted, abs=0.005)]  # the edge's time, not the handler's
