"""The ProSlic driver, unchanged, against the Si321x model through SimSPI/SimGPIO on the virtual clock."""

from __future__ import annotations

import asyncio
import datetime as dt

import numpy as np
import pytest

from centralino.drivers.errors import ChipError
from centralino.drivers.proslic import (CallerIdWindow, Flash, HookDecoder, HookTiming, Linefeed, OffHook,
                                        OnHook, ProSlic, PulseDigit, RingTrip, ring_coefficient)
from centralino.hwsim.clock import run
from centralino.hwsim.voices import hears
from centralino.media.callerid import CallerId, encode_burst
from centralino.media.frames import FRAME_SAMPLES

from .test_proslic_rig import PORT, Rig, with_rig

RCO_25HZ = 0x7E6D  # round(32768 * cos(2 pi 25 / 1000)); wctdm's own 25 Hz value


def times(events) -> list[float]:
    return [event.at_s for event in events]


def spi_write(rig: Rig, reg: int, value: int) -> None:
    rig.spi.transfer([reg & 0x7F])
    rig.spi.transfer([value])


def spi_read(rig: Rig, reg: int) -> int:
    rig.spi.transfer([reg | 0x80])
    return rig.spi.transfer([0])[0]


# ------------------------------------------------------------------------------------ start-up

@pytest.mark.parametrize("part,ring_address,amplitude_address", [("Si3210", 20, 21), ("Si3215", 7, 8)])
def test_start_programs_the_chip(part, ring_address, amplitude_address):
    async def body(rig: Rig):
        chip = rig.chip
        assert rig.driver.part == part and rig.driver.revision == 5
        si3215_bit = 0x80 if part == "Si3215" else 0
        assert chip.register(1) == 0x20 | si3215_bit  # PCM on, A-law
        assert [chip.register(r) for r in (2, 3, 4, 5)] == [6 * 8, 0, 6 * 8, 0]
        assert chip.pcm_format() == ("alaw", 6, 6)
        assert chip.indirect(ring_address) == RCO_25HZ  # the Si3215 keeps RCO at another address
        assert chip.indirect(amplitude_address) == 0x1B9  # wctdm's 25 Hz amplitude, not its 20 Hz 0x160
        assert 45.0 <= chip.ring_vrms <= 50.0  # what an Italian phone expects, by the datasheet's equation
        assert chip.ring_frequency_hz == pytest.approx(25.0, abs=0.05)
        assert chip.register(64) == 0x11  # forward active, and actually applied
        assert chip.linefeed == Linefeed.FORWARD_ACTIVE
        assert chip.calibrated
        assert chip.register(14) == 0x00 and chip.register(82) >= 0xC0  # DC-DC on, battery up
        assert chip.register(8) == 0x00  # loopback cleared
        assert chip.register(22) == 0x03  # ring trip and loop closure interrupts
        assert [chip.register(r) for r in (18, 19, 20)] == [0, 0, 0]
        assert rig.irq_wire.level  # no interrupt pending
        assert chip.framing_errors == 0 and chip.indirect_errors == 0
    with_rig(body, part=part, timeslot=6)


def test_start_with_ulaw_sets_the_law():
    async def body(rig: Rig):
        assert rig.chip.register(1) == 0x28
        assert rig.chip.pcm_format() == ("ulaw", 0, 0)
    with_rig(body, law="ulaw", timeslot=0)


def test_ring_coefficient_formula():
    assert ring_coefficient(25) == RCO_25HZ
    assert ring_coefficient(20) == round(32768 * np.cos(2 * np.pi * 20 / 1000))


def start_failure(**options) -> tuple[ChipError, Rig]:
    async def main():
        rig = Rig(**options)
        try:
            with pytest.raises(ChipError) as info:
                await rig.driver.start()
            return info.value, rig
        finally:
            rig.stop()
    return run(main)


@pytest.mark.parametrize("fault,register,words", [
    ("absent", 0, "no ProSLIC"),
    ("wrong_id", 0, "revision 1"),
    ("calibration_stuck", 96, "calibration did not finish"),
    ("no_battery", 82, "battery did not reach"),
])
def test_start_failures_name_port_and_register(fault, register, words):
    error, rig = start_failure(faults=(fault,))
    assert error.port == PORT and error.register == register
    assert words in error.problem
    assert f"port {PORT}, register {register}" in str(error)


def test_a_missing_chip_fails_the_presence_check_before_writing_anything():
    error, rig = start_failure(faults=("absent",))
    assert error.value == 0xFF
    assert rig.spi.transfers == 2  # one read of the ID register, nothing else


class PairedFraming(ProSlic):
    """A driver that sends register and data in one chip-select window (wrong for the Si321x)."""

    def _write(self, reg, value):
        self._spi.transfer([reg & 0x7F, value & 0xFF])

    def _read(self, reg):
        return self._spi.transfer([reg | 0x80, 0x00])[1]


def test_wrong_spi_framing_fails_the_presence_check():
    error, rig = start_failure(driver_class=PairedFraming)
    assert error.register == 0 and error.value == 0xFF
    assert rig.chip.framing_errors >= 1


def test_reset_line_restores_defaults_and_the_driver_restarts():
    async def body(rig: Rig):
        rig.reset.write(False)
        rig.reset.write(True)
        assert [rig.chip.register(r) for r in (8, 11, 64, 14, 1)] == [0x02, 0x33, 0x00, 0x10, 0x00]
        assert not rig.chip.calibrated and rig.chip.pcm_format() is None
        await rig.driver.start()  # pulses reset itself and brings the chip back
        assert rig.chip.calibrated and rig.chip.linefeed == Linefeed.FORWARD_ACTIVE
    with_rig(body)


# ------------------------------------------------------------------------------------ interrupts

def test_interrupt_status_is_write_one_to_clear_and_drives_the_irq_line():
    async def body(rig: Rig):
        rig.loop.remove_reader(rig.driver.irq_fd)  # look at the chip before the driver does
        rig._ticker.cancel()
        await asyncio.sleep(0)
        rig.phone.off_hook()
        assert spi_read(rig, 19) & 0x02 and not rig.irq_wire.level
        spi_write(rig, 19, 0x01)  # a 1 in another bit clears nothing here
        assert spi_read(rig, 19) & 0x02 and not rig.irq_wire.level
        spi_write(rig, 19, 0x02)
        assert spi_read(rig, 19) == 0 and rig.irq_wire.level
        spi_write(rig, 22, 0x00)  # masked: status is latched, the line stays high
        rig.phone.on_hook()
        assert spi_read(rig, 19) & 0x02 and rig.irq_wire.level
        rig.loop.add_reader(rig.driver.irq_fd, rig._on_irq)
        rig._ticker = asyncio.create_task(rig._tick_forever())
    with_rig(body)


def test_driver_clears_what_it_handled():
    async def body(rig: Rig):
        rig.phone.off_hook()
        await asyncio.sleep(0.05)
        assert rig.events(OffHook)
        assert rig.chip.register(19) == 0 and rig.irq_wire.level
    with_rig(body)


# ------------------------------------------------------------------------------------ hook events

def test_off_hook_is_reported_at_the_edge_time():
    async def body(rig: Rig):
        await asyncio.sleep(0.013)
        lifted = rig.clock()
        rig.phone.off_hook()
        await asyncio.sleep(0.1)
        assert times(rig.events(OffHook)) == pytest.approx([lifted], abs=1e-6)
        assert rig.driver.off_hook
    with_rig(body)


def test_a_late_handler_still_uses_the_edge_timestamp():
    async def body(rig: Rig):
        rig.loop.remove_reader(rig.driver.irq_fd)  # only the 20 ms tick services the IRQ now
        await asyncio.sleep(0.013)
        lifted = rig.clock()
        rig.phone.off_hook()
        await asyncio.sleep(0.1)
        emitted_at = next(t for t, e in rig.emitted if isinstance(e, OffHook))
        assert emitted_at > lifted + 0.001
        assert times(rig.events(OffHook)) == pytest.approx([lifted], abs=1e-6)
        rig.loop.add_reader(rig.driver.irq_fd, rig._on_irq)
    with_rig(body)


def test_on_hook_is_confirmed_only_after_600_ms():
    async def body(rig: Rig):
        rig.phone.off_hook()
        await asyncio.sleep(1.0)
        replaced = rig.clock()
        rig.phone.on_hook()
        await asyncio.sleep(0.59)
        assert rig.events(OnHook) == [] and rig.driver.off_hook
        await asyncio.sleep(0.06)
        assert times(rig.events(OnHook)) == pytest.approx([replaced], abs=1e-6)
        emitted_at = next(t for t, e in rig.emitted if isinstance(e, OnHook))
        assert emitted_at - replaced > 0.6
        assert not rig.driver.off_hook
        assert rig.events(Flash) == [] and rig.events(PulseDigit) == []
    with_rig(body)


def test_flash_of_100_ms():
    async def body(rig: Rig):
        rig.phone.off_hook()
        await asyncio.sleep(1.0)
        await rig.phone.flash(100)
        await asyncio.sleep(1.0)
        assert len(rig.events(Flash)) == 1
        assert rig.events(OnHook) == [] and len(rig.events(OffHook)) == 1
        assert rig.events(PulseDigit) == []
    with_rig(body)


def test_pulse_dialling_205():
    async def body(rig: Rig):
        rig.phone.off_hook()
        await asyncio.sleep(0.5)
        await rig.phone.dial("205", mode="pulse")
        await asyncio.sleep(0.3)
        assert [e.digit for e in rig.events(PulseDigit)] == ["2", "0", "5"]
        assert rig.events(Flash) == [] and rig.events(OnHook) == []
        assert rig.driver.off_hook
    with_rig(body)


def test_hook_decoder_ignores_bounce_and_drops_overlong_trains():
    decoder = HookDecoder(HookTiming())
    assert decoder.loop_changed(True, 0.0) == [OffHook(0.0)]
    decoder.loop_changed(False, 1.0)
    assert decoder.loop_changed(True, 1.01) == []  # 10 ms bounce
    assert decoder.poll(2.0) == []
    t = 3.0
    for _ in range(11):
        decoder.loop_changed(False, t)
        decoder.loop_changed(True, t + 0.06)
        t += 0.1
    assert decoder.poll(t + 0.5) == []  # 11 pulses are no digit


def test_hook_timing_is_validated():
    with pytest.raises(ValueError, match="pulse_break_max_s"):
        HookTiming(pulse_break_max_s=0.8)


def test_constructor_rejects_bad_timeslot_and_law():
    with pytest.raises(ValueError, match="fxs9: PCM timeslot"):
        ProSlic(None, None, port="fxs9", timeslot=128)
    with pytest.raises(ValueError, match="law"):
        ProSlic(None, None, port="fxs9", timeslot=1, law="linear")


# ------------------------------------------------------------------------------------ ringing

def test_ringing_cadence_1s_on_4s_off_at_25_hz():
    async def body(rig: Rig):
        rig.driver.ring()
        assert rig.driver.ringing and rig.chip.ringing
        await asyncio.sleep(20.0)
        bursts = rig.chip.ring_bursts
        assert len(bursts) == 4
        for burst in bursts:
            assert burst.end_s - burst.start_s == pytest.approx(1.0, abs=0.025)
            assert burst.frequency_hz == pytest.approx(25.0, abs=0.05)
        for before, after in zip(bursts, bursts[1:]):
            assert after.start_s - before.end_s == pytest.approx(4.0, abs=0.025)
            assert after.start_s - before.start_s == pytest.approx(5.0, abs=0.025)
        assert rig.chip.linefeed in (Linefeed.RINGING, Linefeed.FORWARD_OHT)
        rig.driver.stop_ringing()
        assert not rig.chip.ringing and rig.chip.linefeed == Linefeed.FORWARD_ACTIVE
        assert rig.events(OffHook) == []
    with_rig(body)


def test_caller_id_window_comes_once_after_the_first_burst():
    async def body(rig: Rig):
        rig.driver.ring()
        await asyncio.sleep(11.5)
        windows = [(t, e) for t, e in rig.emitted if isinstance(e, CallerIdWindow)]
        assert len(windows) == 1
        first = rig.chip.ring_bursts[0]
        assert windows[0][1].at_s == pytest.approx(first.end_s, abs=1e-9)
    with_rig(body)


@pytest.mark.parametrize("auto_ring_trip", [True, False])
def test_ring_trip_stops_ringing(auto_ring_trip):
    async def body(rig: Rig):
        if not auto_ring_trip:
            spi_write(rig, 67, 0x03)  # the chip now keeps ringing until the driver acts
        rig.driver.ring()
        await asyncio.sleep(5.5)  # inside the second burst
        assert rig.chip.ringing
        answered = rig.clock()
        rig.phone.off_hook()
        await asyncio.sleep(0.05)
        assert times(rig.events(RingTrip)) == pytest.approx([answered], abs=1e-6)
        assert times(rig.events(OffHook)) == pytest.approx([answered], abs=1e-6)
        assert not rig.driver.ringing and not rig.chip.ringing
        assert rig.chip.linefeed == Linefeed.FORWARD_ACTIVE
        assert rig.chip.ring_bursts[-1].end_s == pytest.approx(answered, abs=1e-9)
        await asyncio.sleep(10.0)
        assert len(rig.chip.ring_bursts) == 2 and rig.driver.off_hook
    with_rig(body)


def test_answer_between_bursts_stops_ringing():
    async def body(rig: Rig):
        rig.driver.ring()
        await asyncio.sleep(2.0)
        rig.phone.off_hook()
        await asyncio.sleep(10.0)
        assert len(rig.events(OffHook)) == 1 and rig.events(RingTrip) == []
        assert len(rig.chip.ring_bursts) == 1
        assert rig.chip.linefeed == Linefeed.FORWARD_ACTIVE
    with_rig(body)


def test_caller_id_between_rings_reaches_the_phone():
    cid = CallerId(number="0612345678", name="COMUNE", when=dt.datetime(2024, 3, 5, 9, 30))

    async def body(rig: Rig):
        rig.driver.ring()
        while not rig.events(CallerIdWindow):
            await asyncio.sleep(0.02)
        assert rig.chip.linefeed == Linefeed.FORWARD_OHT
        burst = encode_burst(cid)
        await rig.stream(3, np.concatenate([np.zeros(4 * FRAME_SAMPLES, dtype=np.int16), burst,
                                            np.zeros(10 * FRAME_SAMPLES, dtype=np.int16)]))
        assert [c.number for c in rig.phone.caller_ids] == ["0612345678"]
        assert rig.phone.display == "0612345678 COMUNE 03-05 09:30"
        assert rig.phone.heard().size == 0  # on hook: nothing "heard", only the display
    with_rig(body)


def test_caller_id_in_another_slot_does_not_reach_the_phone():
    async def body(rig: Rig):
        rig.driver.ring()
        while not rig.events(CallerIdWindow):
            await asyncio.sleep(0.02)
        await rig.stream(4, np.concatenate([encode_burst(CallerId(number="123")),
                                            np.zeros(10 * FRAME_SAMPLES, dtype=np.int16)]))
        assert rig.phone.caller_ids == []
    with_rig(body)


# ------------------------------------------------------------------------------------ PCM and line

def test_pcm_reaches_the_phone_in_its_slot_and_its_voice_comes_back():
    tone = np.round(8000 * np.sin(2 * np.pi * 1050 * np.arange(10 * FRAME_SAMPLES) / 8000)).astype(np.int16)

    async def body(rig: Rig):
        rig.phone.off_hook()
        await asyncio.sleep(0.1)
        start = rig.clock()
        back = await rig.stream(3, tone)
        assert hears(rig.phone.heard(since_s=start), 1050)
        assert hears(np.concatenate(back[1:]), 500)  # the phone's own voice
        quiet_start = rig.clock()
        other = await rig.stream(5, tone)
        assert not hears(rig.phone.heard(since_s=quiet_start), 1050)
        assert np.abs(np.concatenate(other)).max() < 100  # slot 5 is nobody's
    with_rig(body, voice_hz=500)


def test_on_hook_phone_hears_nothing_in_forward_active():
    async def body(rig: Rig):
        back = await rig.stream(3, np.full(5 * FRAME_SAMPLES, 5000, dtype=np.int16))
        assert rig.phone.heard().size == 0
        assert np.abs(np.concatenate(back)).max() < 100
    with_rig(body)


def test_diagnostics_on_and_off_hook():
    async def body(rig: Rig):
        idle = rig.driver.diagnostics()
        assert -80 < idle.battery_v < -70
        assert idle.loop_current_ma == 0
        assert -60 < idle.ring_v < -40 and -10 < idle.tip_v <= 0
        rig.phone.off_hook()
        await asyncio.sleep(0.1)
        busy = rig.driver.diagnostics()
        assert 18 <= busy.loop_current_ma <= 22  # the 20 mA limit
        assert abs(busy.ring_v - busy.tip_v) < abs(idle.ring_v - idle.tip_v) / 3
        rig.driver.set_linefeed(Linefeed.REVERSE_ACTIVE)
        reverse = rig.driver.diagnostics()
        assert reverse.tip_v == pytest.approx(busy.ring_v) and reverse.ring_v == pytest.approx(busy.tip_v)
    with_rig(body)


def test_status_reports_the_line():
    async def body(rig: Rig):
        rig.phone.off_hook()
        await asyncio.sleep(0.05)
        assert rig.driver.status() == {"port": PORT, "part": "Si3210", "revision": 5, "timeslot": 3,
                                       "law": "alaw", "linefeed": "forward_active", "off_hook": True,
                                       "ringing": False, "warnings": [], "restores": 0, "power_alarms": 0}
    with_rig(body)


def test_close_leaves_the_line_safe():
    async def body(rig: Rig):
        rig.driver.close()
        assert rig.chip.register(64) & 0x07 == Linefeed.OPEN
        assert rig.chip.register(14) == 0x10 and rig.chip.register(22) == 0
    with_rig(body)
