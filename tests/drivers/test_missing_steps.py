"""What wctdm does that the drivers did not: the power-leak test, the DC-DC calibration check, a chip
that reset itself noticed and initialised again, power alarms; and the shared interrupt lines of
the reference HAT. The drivers run unchanged against the chip models."""

from __future__ import annotations

import asyncio

import numpy as np

from centralino.board import RECHECKS_PER_EDGE, SharedInterrupt
from centralino.drivers import si3050 as daa
from centralino.drivers.proslic import MAX_POWER_ALARMS, ChipFailed, ChipRestored, Linefeed, OffHook, PowerAlarm
from centralino.hwsim.buses import GpioLine, SimGPIO
from centralino.hwsim.clock import run

from .test_proslic_rig import Rig, with_rig
from .test_si3050_rig import FxoRig


# ------------------------------------------------------------------------------ start-up steps
def test_a_good_board_passes_the_leak_test_and_the_dcdc_calibration():
    async def body(rig: Rig):
        return rig.driver.warnings, rig.chip.register(107), rig.chip.register(82)

    warnings, calibration, battery = with_rig(body)
    assert warnings == [] and calibration in range(2, 14) and battery >= 0xC0


def test_a_battery_that_leaks_is_reported_and_the_port_still_starts():
    async def body(rig: Rig):
        return rig.driver.warnings, rig.chip.linefeed

    warnings, linefeed = with_rig(body, faults=("power_leak",))
    assert len(warnings) == 1 and warnings[0].startswith("excessive leakage: the battery fell to")
    assert "check the board for a short circuit" in warnings[0] and linefeed == Linefeed.FORWARD_ACTIVE


def test_a_dcdc_calibration_out_of_range_is_replaced_by_wctdms_default():
    async def body(rig: Rig):
        return rig.driver.warnings, rig.chip.register(107)

    warnings, calibration = with_rig(body, faults=("dcdc_miscalibrated",))
    assert warnings == ["DC-DC calibration read 0x00 in reg 107 (expected 0x02..0x0D); 0x08 written instead"]
    assert calibration == 0x08


# ------------------------------------------------------------------------------ while in service
async def _pulse_reset(wire: GpioLine) -> None:
    """A power glitch on the chip: its reset pin low for 10 ms (the driver's own line is high)."""
    wire.drive(False)
    await asyncio.sleep(0.01)
    wire.drive(True)


def test_a_slic_that_reset_itself_is_initialised_again_without_recalibrating():
    async def body(rig: Rig):
        await asyncio.sleep(0.3)
        await _pulse_reset(rig.reset_wire)
        assert rig.chip.linefeed == Linefeed.OPEN  # back at its reset defaults
        await asyncio.sleep(1.0)
        restored = rig.events(ChipRestored)
        rig.phone.off_hook()
        await asyncio.sleep(0.1)
        return restored, rig.chip.linefeed, rig.chip.calibrated, rig.events(OffHook), rig.driver.restores, \
            rig.chip.indirect(21), rig.chip.register(107)

    restored, linefeed, calibrated, off_hook, restores, amplitude, calibration = with_rig(body)
    assert len(restored) == 1 and restores == 1 and linefeed == Linefeed.FORWARD_ACTIVE
    assert not calibrated  # the fast path: calibration registers written back, not measured again
    assert amplitude == 0x1B9 and calibration == 0x08  # the indirect table and the saved results are back
    assert len(off_hook) == 1  # and the phone works


def test_power_alarms_restore_the_line_until_too_many_come_in_a_row():
    async def body(rig: Rig):
        await asyncio.sleep(0.3)
        rig.chip.power_alarm()
        await asyncio.sleep(0.3)
        first = (rig.events(PowerAlarm), rig.chip.linefeed)
        for _ in range(MAX_POWER_ALARMS):
            rig.chip.power_alarm()
            await asyncio.sleep(0.3)
        return first, rig.events(PowerAlarm), rig.events(ChipFailed), rig.chip.linefeed

    (first_alarms, restored), alarms, failed, linefeed = with_rig(body)
    assert [a.count for a in first_alarms] == [1] and restored == Linefeed.FORWARD_ACTIVE
    assert [a.count for a in alarms] == list(range(1, MAX_POWER_ALARMS))
    assert len(failed) == 1 and "power alarms in a row" in failed[0].problem and linefeed == Linefeed.OPEN


def test_a_daa_that_reset_itself_is_initialised_again_and_one_that_vanished_fails():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        await rig.run_for(0.5)
        await _pulse_reset(rig.reset_wire)
        await rig.run_for(2.0)
        restored = rig.events_of(daa.ChipRestored)
        present = rig.daa.line_status().line_present
        rig.chip.inject_fault("absent")
        await rig.run_for(4.0)
        failed = rig.events_of(daa.ChipFailed)
        rig.close()
        return restored, present, failed

    restored, present, failed = run(main)
    assert len(restored) == 1 and present
    assert len(failed) == 1 and "reg 2 read 0xFF 3 times in a row" in failed[0].problem


# ------------------------------------------------------------------------------ shared interrupt lines
def test_a_shared_line_gives_every_chip_every_edge_and_replays_one_hidden_by_another():
    async def main():
        loop = asyncio.get_running_loop()
        wire = GpioLine("GPIO22", loop.time)
        shared = SharedInterrupt(SimGPIO("/dev/gpiochip0", 22, "in", edge="falling", wire=wire), "fxs1+fxs2",
                                 loop.time)
        one, two = shared.view("fxs1"), shared.view("fxs2")
        shared.attach(loop)
        wire.pull_low("fxs1", True)  # the first chip asserts: one falling edge
        await asyncio.sleep(0.001)
        got = [one.poll(0), two.poll(0)]
        edges = [one.read_event().edge, two.read_event().edge]
        wire.pull_low("fxs2", True)  # the second asserts while the line is low: no edge at all
        wire.pull_low("fxs1", False)  # the first is served; the line stays low
        await asyncio.sleep(0.01)
        replayed = [one.poll(0), two.poll(0)]
        while two.poll(0):
            two.read_event()
        while one.poll(0):
            one.read_event()
        wire.pull_low("fxs2", False)
        await asyncio.sleep(0.05)
        quiet = [one.poll(0), two.poll(0)]
        wire.pull_low("stuck", True)  # a chip stuck low: a bounded number of replays, then silence
        await asyncio.sleep(1.0)
        count = 0
        while one.poll(0):
            one.read_event()
            count += 1
        shared.close()
        one.close()
        two.close()
        return got, edges, replayed, quiet, count

    got, edges, replayed, quiet, count = run(main)
    assert got == [True, True] and edges == ["falling", "falling"]
    assert replayed == [True, True] and quiet == [False, False]
    assert count == 1 + RECHECKS_PER_EDGE


def test_two_phones_on_one_interrupt_line_both_dial_at_once(tmp_path):
    from tests.engine.helpers import play  # the example's reference HAT: fxs1 and fxs2 share GPIO 22

    async def story(s):
        a, b = s.phone("200"), s.phone("201")
        a.off_hook()
        b.off_hook()
        await s.wait(0.5)
        await asyncio.gather(a.dial("202", mode="pulse"), b.dial("203", mode="pulse"))
        await s.until(lambda: s.phone("202").ringing and s.phone("203").ringing, "both callees ring")
        return s.daemon.board.shared_irqs[0].edges, s.daemon.board.ports["fxs1"].irq.shared.name

    edges, name = play(tmp_path, story)
    assert name == "fxs1+fxs2" and edges > 20  # pulse dialling on both: every break is an edge


def test_loopback_returns_the_pcm_in_the_ports_own_slot():
    async def body(rig: Rig):
        tone = (8000 * np.sin(2 * np.pi * 1004 * np.arange(1600) / 8000)).astype(np.int16)
        rig.driver.set_digital_loopback(True)
        looped = np.concatenate(await rig.stream(3, tone))
        rig.driver.set_digital_loopback(False)
        normal = np.concatenate(await rig.stream(3, tone))
        return tone, looped, normal

    tone, looped, normal = with_rig(body)
    assert np.corrcoef(tone[-800:], looped[-800:])[0, 1] > 0.99  # A-law round trip
    assert np.abs(normal).max() < 100  # with the loopback off the phone (on hook) sends nothing
