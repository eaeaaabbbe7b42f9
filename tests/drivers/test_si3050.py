"""The Si3050 FXO driver against the register-level DAA model and a simulated PSTN line."""

from __future__ import annotations

import numpy as np
import pytest

from centralino.drivers import si3050 as drv
from centralino.drivers.errors import ChipError
from centralino.hwsim.clock import run
from centralino.hwsim.voices import Voice, hears
from centralino.media.callerid import CallerId, CallerIdReceiver
from centralino.media.frames import split_frames

from .test_si3050_rig import FxoRig


def test_start_programs_italy_pcm_and_brings_up_the_line_side():
    async def main():
        rig = FxoRig(timeslot=3)
        await rig.daa.start()
        chip = rig.chip
        regs = {n: chip.register(n) for n in (16, 26, 30, 31, 33, 34, 35, 36, 37, 3, 5)}
        assert regs[16] == 0x00 and regs[26] == 0xC2 and regs[30] == 0x02 and regs[31] == 0xAB
        assert regs[33] == 0x20  # A-law, PCM on
        assert (regs[34], regs[35], regs[36], regs[37]) == (24, 0, 24, 0)  # slot 3 = 24 PCM clocks
        assert regs[3] == drv.IRQ_RING | drv.IRQ_POLARITY | drv.IRQ_DROP_OUT
        assert regs[5] == 0x08  # on-hook with line monitor
        assert chip.register(11) & 0xF0, "line side linked"
        assert chip.pcm_format() == ("alaw", 3, 3)
        assert chip.framing_errors == 0
        assert chip.soft_resets == 1
        assert not rig.daa.off_hook and not chip.off_hook
        status = rig.daa.line_status()
        assert status.line_present and status.polarity == 1 and status.voltage_v == 48
        assert status.loop_current_ma == 0.0
        rig.close()
    run(main)


def test_unknown_country_falls_back_to_the_european_default():
    async def main():
        rig = FxoRig()
        rig.daa = drv.Si3050Daa(rig.spi, rig.irq, rig.reset, port="fxo1", timeslot=2, country="ATLANTIS",
                                clock=rig.clock)
        await rig.daa.start()
        assert rig.chip.register(31) == 0xA3  # TBR21 has no ohs2
        assert rig.chip.register(26) == 0xC2
    run(main)


def test_absent_chip_is_a_chip_error_naming_port_register_and_value():
    async def main():
        rig = FxoRig(faults=("absent",))
        with pytest.raises(ChipError) as err:
            await rig.daa.start()
        assert (err.value.port, err.value.register, err.value.value) == ("fxo1", 2, 0xFF)
        assert "fxo1" in str(err.value) and "register 2" in str(err.value)
    run(main)


def test_line_side_that_never_links_fails_after_a_bounded_wait():
    async def main():
        rig = FxoRig(faults=("line_side_never_links",))
        began = rig.clock()
        with pytest.raises(ChipError) as err:
            await rig.daa.start()
        waited = rig.clock() - began
        assert err.value.register == 11 and err.value.value & 0xF0 == 0
        assert "line side did not link" in str(err.value)
        assert drv.LINK_TIMEOUT_S <= waited < drv.LINK_TIMEOUT_S + 1.0
    run(main)


class _TwoByteFramingDaa(drv.Si3050Daa):
    """A broken variant that sends control and register in one chip-select window."""

    def _read(self, reg: int) -> int:
        self._spi.transfer([drv.CONTROL_READ, reg])
        return self._spi.transfer([0x00])[0]

    def _write(self, reg: int, value: int) -> None:
        self._spi.transfer([drv.CONTROL_WRITE, reg])
        self._spi.transfer([value])


def test_wrong_spi_framing_fails_the_presence_check():
    async def main():
        rig = FxoRig(driver_class=_TwoByteFramingDaa)
        with pytest.raises(ChipError) as err:
            await rig.daa.start()
        assert err.value.register == 2 and err.value.value != 0x03
        assert rig.chip.framing_errors >= 1
    run(main)


def test_interrupt_bits_are_cleared_by_the_driver_and_release_the_irq_line():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        caller = rig.exchange.add_party("0612345678", Voice(1050))
        await rig.exchange.call_in(caller, None)
        await rig.run_for(0.2)
        assert rig.interrupts_serviced >= 1
        assert rig.chip.register(4) == 0
        assert rig.irq_wire.level is True
        assert len(rig.events_of(drv.RingStart)) == 1
    run(main)


def test_ring_events_follow_the_italian_cadence():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        caller = rig.exchange.add_party("0612345678", Voice(1050))
        t0 = rig.clock()
        await rig.exchange.call_in(caller, None)
        await rig.run_for(10.5)
        starts = [e.at_s - t0 for e in rig.events_of(drv.RingStart)]
        ends = rig.events_of(drv.RingEnd)
        assert len(starts) == 3
        assert starts[0] < 0.05
        assert np.allclose(np.diff(starts), 5.0, atol=0.05)
        assert [e.first for e in ends] == [True, False]
        for start, end in zip(starts, ends):
            burst = end.at_s - t0 - start
            assert 1.0 + drv.RING_GAP_ENDS_BURST_S - 0.05 <= burst <= 1.0 + drv.RING_GAP_ENDS_BURST_S + 0.1
        assert not rig.events_of(drv.RingingStopped)
    run(main)


def test_caller_id_sent_after_the_first_ring_decodes_from_the_pcm_slot():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        caller = rig.exchange.add_party("0612345678", Voice(1050))
        await rig.exchange.call_in(caller, CallerId(number="0612345678", name="ROSSI MARIO"))
        await rig.run_for(5.5)
        first_end = rig.events_of(drv.RingEnd)[0]
        assert first_end.first
        second_start = rig.events_of(drv.RingStart)[1]
        receiver = CallerIdReceiver()
        found = [cid for frame in split_frames(rig.rx_audio(first_end.at_s, second_start.at_s))
                 if (cid := receiver.feed(frame)) is not None]
        assert [(c.number, c.name) for c in found] == [("0612345678", "ROSSI MARIO")]
    run(main)


def test_without_on_hook_monitor_no_caller_id_reaches_the_host():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        rig.daa._write(drv.REG_DAA_CONTROL, 0x00)  # monitor off: the slot must stay silent
        caller = rig.exchange.add_party("0612345678", Voice(1050))
        await rig.exchange.call_in(caller, CallerId(number="0612345678"))
        await rig.run_for(4.0)
        assert np.abs(rig.rx_audio()).max() <= 8  # A-law idle code only
    run(main)


def test_answering_connects_audio_both_ways():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        caller = rig.exchange.add_party("0612345678", Voice(1050))
        call = await rig.exchange.call_in(caller, None)
        await rig.run_for(0.5)
        rig.daa.seize()
        answered_at = rig.clock()
        rig.send_continuously(Voice(1750).frame)
        await rig.run_for(1.0)
        assert call.answered and call.answered_at_s == pytest.approx(answered_at, abs=0.03)
        assert rig.daa.off_hook and rig.chip.off_hook
        assert hears(rig.rx_audio(answered_at + 0.1), 1050)
        assert hears(caller.heard(answered_at + 0.1), 1750)
        status = rig.daa.line_status()
        assert 20.0 <= status.loop_current_ma <= 30.0 and status.voltage_v == 8
        await rig.run_for(6.0)
        assert not rig.events_of(drv.RingingStopped), "an answered call is not a caller giving up"
        assert len(rig.events_of(drv.RingStart)) == 1
        rig.daa.release()
        await rig.run_for(0.1)
        assert call.ended and call.ended_by == "switchboard"
        assert not rig.chip.off_hook
    run(main)


def test_caller_giving_up_gives_ringing_stopped():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        caller = rig.exchange.add_party("0612345678", Voice(1050))
        t0 = rig.clock()
        call = await rig.exchange.call_in(caller, None, give_up_after_s=7.0)
        await rig.run_for(16.0)
        stopped = rig.events_of(drv.RingingStopped)
        assert len(stopped) == 1
        last_ring_end = rig.events_of(drv.RingEnd)[-1].at_s
        assert stopped[0].at_s - last_ring_end == pytest.approx(drv.RINGING_STOPPED_S, abs=0.3)
        assert len(rig.events_of(drv.RingStart)) == 2  # rings at 0 s and 5 s, gave up at 7 s
        assert call.ended and call.ended_by == "caller" and not call.answered
        assert stopped[0].at_s - t0 < 16.0
    run(main)


def test_unplugged_line_is_reported_once_after_a_second():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        await rig.run_for(0.5)
        rig.line.unplug()
        unplugged_at = rig.clock()
        await rig.run_for(0.8)
        assert not rig.events_of(drv.LineLost)
        await rig.run_for(1.0)
        lost = rig.events_of(drv.LineLost)
        assert len(lost) == 1 and lost[0].at_s - unplugged_at > drv.LINE_LOST_AFTER_S
        status = rig.daa.line_status()
        assert not status.line_present and status.polarity == 0 and status.voltage_v == 0
        rig.line.plug()
        await rig.run_for(0.1)
        assert rig.daa.line_status().line_present
    run(main)


def test_no_line_fault_reads_zero_volts():
    async def main():
        rig = FxoRig(faults=("no_line",))
        await rig.daa.start()
        assert rig.daa.line_status().voltage_v == 0
        await rig.run_for(1.2)
        assert rig.events_of(drv.LineLost)
    run(main)


def test_hardware_reset_restores_defaults():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        rig.daa.seize()
        assert rig.chip.off_hook
        rig.reset.write(False)
        assert not rig.chip.off_hook and not rig.line.off_hook
        rig.reset.write(True)
        assert rig.chip.register(2) == 0x03 and rig.chip.register(33) == 0 and rig.chip.pcm_format() is None
    run(main)


def test_bad_arguments_are_rejected_with_the_port_name():
    async def main():
        rig = FxoRig()
        with pytest.raises(ValueError, match="fxo9"):
            drv.Si3050Daa(rig.spi, rig.irq, port="fxo9", timeslot=2, law="pcm16")
        with pytest.raises(ValueError, match="fxo9"):
            drv.Si3050Daa(rig.spi, rig.irq, port="fxo9", timeslot=500)
    run(main)
