"""The simulated public exchange behind an FXO port, driven through the real Si3050 driver."""

from __future__ import annotations

import pytest

from centralino.drivers import si3050 as drv
from centralino.hwsim.clock import run
from centralino.hwsim.pstn import INTERDIGIT_TIMEOUT_S, PstnExchange
from centralino.hwsim.voices import Voice, hears
from centralino.media import dtmf
from centralino.media.frames import split_frames
from centralino.media.progress import ProgressToneDetector, recognise

from ..drivers.test_si3050_rig import FxoRig

NUMBER = "0550000000"
SWITCHBOARD_HZ = 1750
PARTY_HZ = 1050


def _tones_in(samples, names=("busy", "congestion", "ringback", "dial")) -> list[str]:
    detector = ProgressToneDetector(names=names)
    return [event.tone for frame in split_frames(samples) for event in detector.feed(frame)]


async def _dial(rig: FxoRig, number: str) -> float:
    """Seize, listen to dial tone, send the DTMF digits; returns when the digits were sent."""
    rig.daa.seize()
    await rig.run_for(4.4)
    rig.send(dtmf.generate(number))
    await rig.run_for(len(number) * 0.2 + 0.2)
    return rig.clock()


def test_dial_out_ringback_then_the_party_answers_and_both_hear_each_other():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        party = rig.exchange.add_party(NUMBER, Voice(PARTY_HZ), answer_after_s=11.5)  # two ringback cycles
        seized_at = rig.clock()
        dialled_at = await _dial(rig, NUMBER)
        assert "dial" in _tones_in(rig.rx_audio(seized_at, seized_at + 4.4))
        assert rig.exchange.dialled_numbers == [NUMBER] and rig.line.dialled_numbers == [NUMBER]
        assert rig.line.state == "ringback"
        rig.send_continuously(Voice(SWITCHBOARD_HZ).frame)
        await rig.run_for(13.0)
        call = party.call
        assert call.answered and call.direction == "out"
        ringback = rig.rx_audio(dialled_at, call.answered_at_s)
        assert "ringback" in _tones_in(ringback)
        assert not hears(ringback, PARTY_HZ)
        assert hears(rig.rx_audio(call.answered_at_s + 0.1), PARTY_HZ)
        assert hears(party.heard(call.answered_at_s + 0.1), SWITCHBOARD_HZ)
        rig.daa.release()
        await rig.run_for(0.1)
        assert call.ended and call.ended_by == "switchboard" and rig.line.state == "idle"
    run(main)


def test_a_busy_party_gives_busy_tone():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        rig.exchange.add_party(NUMBER, Voice(PARTY_HZ), busy=True)
        dialled_at = await _dial(rig, NUMBER)
        await rig.run_for(3.0)
        assert _tones_in(rig.rx_audio(dialled_at))[:1] == ["busy"]
    run(main)


@pytest.mark.parametrize("unreachable", [False, True])
def test_unknown_or_unreachable_numbers_give_congestion(unreachable):
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        if unreachable:
            rig.exchange.add_party(NUMBER, Voice(PARTY_HZ), unreachable=True)
            number = NUMBER
        else:
            rig.exchange.add_party(NUMBER, Voice(PARTY_HZ))
            number = "0551234"  # a prefix of nothing in the directory: ends by the timeout
        dialled_at = await _dial(rig, number)
        await rig.run_for(INTERDIGIT_TIMEOUT_S + 2.0)
        assert rig.exchange.dialled_numbers == [number]
        assert _tones_in(rig.rx_audio(dialled_at))[:1] == ["congestion"]
        if not unreachable:
            routed_after = rig.line.call.started_at_s - dialled_at
            assert INTERDIGIT_TIMEOUT_S - 0.3 <= routed_after <= INTERDIGIT_TIMEOUT_S + 0.3
    run(main)


async def _connected_incoming(hangup_signal: str) -> tuple[FxoRig, object]:
    rig = FxoRig(hangup_signal=hangup_signal)
    await rig.daa.start()
    caller = rig.exchange.add_party("0612345678", Voice(PARTY_HZ))
    await rig.exchange.call_in(caller, None)
    await rig.run_for(0.4)
    rig.daa.seize()
    await rig.run_for(1.0)
    assert caller.call.answered
    return rig, caller


def test_far_end_hang_up_by_loop_drop_gives_loop_current_drop():
    async def main():
        rig, caller = await _connected_incoming("loop_drop")
        hung_up_at = rig.clock()
        caller.hang_up()
        await rig.run_for(1.5)
        drops = rig.events_of(drv.LoopCurrentDrop)
        assert len(drops) == 1
        assert drv.LOOP_DROP_DEBOUNCE_S <= drops[0].at_s - hung_up_at <= drv.LOOP_DROP_DEBOUNCE_S + 0.1
        assert not rig.events_of(drv.PolarityReversal)
        assert rig.daa.line_status().loop_current_ma == 0.0
        assert rig.daa.line_status().line_present, "voltage comes back after the open"
        assert caller.call.ended and caller.call.ended_by == "party"
        rig.daa.release()
        await rig.run_for(0.5)
        assert rig.line.state == "idle" and rig.daa.line_status().voltage_v == 48
    run(main)


def test_far_end_hang_up_by_polarity_gives_polarity_reversal():
    async def main():
        rig, caller = await _connected_incoming("polarity")
        hung_up_at = rig.clock()
        caller.hang_up()
        await rig.run_for(1.0)
        reversals = rig.events_of(drv.PolarityReversal)
        assert len(reversals) == 1 and reversals[0].at_s - hung_up_at < 0.1
        assert not rig.events_of(drv.LoopCurrentDrop)
        assert rig.daa.line_status().polarity == -1
        rig.daa.release()
        await rig.run_for(0.1)
        assert rig.daa.line_status().polarity == 1
    run(main)


def test_far_end_hang_up_by_busy_tone_is_recognised_in_the_received_audio():
    async def main():
        rig, caller = await _connected_incoming("busy_tone")
        hung_up_at = rig.clock()
        caller.hang_up()
        await rig.run_for(3.0)
        assert _tones_in(rig.rx_audio(hung_up_at), names=("busy", "congestion")) == ["busy"]
        assert not rig.events_of(drv.LoopCurrentDrop) and not rig.events_of(drv.PolarityReversal)
        assert not _tones_in(rig.rx_audio(None, hung_up_at), names=("busy", "congestion"))
    run(main)


def test_line_electrical_values_follow_hook_and_plug():
    async def main():
        exchange = PstnExchange(lambda: 1000.0, seed=3)
        line = exchange.line("fxo1", "0550001111")
        assert line.voltage_v == 48 and line.loop_current_ma(False) == 0 and not line.ringing
        line.on_hook_state(True)
        assert line.voltage_v == 8 and 24 <= line.loop_current_ma(True) <= 26
        line.on_hook_state(False)
        line.unplug()
        assert line.voltage_v == 0 and line.loop_current_ma(True) == 0
        with pytest.raises(ValueError, match="hangup_signal"):
            line.hangup_signal = "smoke_signals"
        with pytest.raises(ValueError):
            exchange.add_party("055-123", Voice(PARTY_HZ))
    run(main)


def test_same_seed_same_loop_current():
    a = PstnExchange(lambda: 0.0, seed=7).line("fxo1", "1")
    b = PstnExchange(lambda: 0.0, seed=7).line("fxo1", "1")
    assert [a.loop_current_ma(True) for _ in range(5)] == [b.loop_current_ma(True) for _ in range(5)]


def test_recognise_helper_sees_ringback_in_a_recording_of_the_line():
    async def main():
        rig = FxoRig()
        await rig.daa.start()
        rig.exchange.add_party(NUMBER, Voice(PARTY_HZ), answer_after_s=20.0)
        dialled_at = await _dial(rig, NUMBER)
        await rig.run_for(11.0)
        assert "ringback" in [e.tone for e in recognise(rig.rx_audio(dialled_at))]
    run(main)
