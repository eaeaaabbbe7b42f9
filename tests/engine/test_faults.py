"""A faulty port or a wrong HAT: the switchboard starts anyway and the rest keeps working."""

from __future__ import annotations

from datetime import datetime

from centralino.media.callerid import CallerId

from .helpers import EXAMPLE, TONE_LISTEN_S, connect, hear_each_other, lift_and_dial, listen, play, tones


def test_absent_slic_leaves_its_port_out_of_service_and_the_others_working(tmp_path):
    async def story(s):
        channel = s.daemon.channels["fxs3"]
        a, b = await connect(s, "201", "203")
        since = await listen(s)
        talked = hear_each_other(a, b, since)
        c = await lift_and_dial(s, "204", "202")
        since = s.clock()
        await s.wait(TONE_LISTEN_S)
        to_dead_port = c.heard(since)
        return channel.in_service, channel.fault, s.daemon.ready, talked, to_dead_port, s.records.last(1)[-1]

    in_service, fault, ready, talked, to_dead_port, row = play(tmp_path, story, faults={"fxs3": "absent"})
    assert ready
    assert not in_service
    assert "fxs3" in fault and "no ProSLIC answers" in fault
    assert talked
    assert "congestion" in tones(to_dead_port)
    assert (row.called, row.disposition, row.cause) == ("202", "failed", "temporary_failure")


def test_group_skips_a_member_whose_port_is_out_of_service(tmp_path):
    async def story(s):
        a = await lift_and_dial(s, "201", "610")
        live = s.phone("203")
        await s.until(lambda: live.ringing, "the working member rings")
        live.off_hook()
        since = await listen(s)
        return hear_each_other(a, live, since), s.phone("202").ring_bursts

    talked, dead_bursts = play(tmp_path, story, faults={"fxs3": "absent"})
    assert talked
    assert dead_bursts == []


def test_line_whose_daa_never_links_is_out_of_service_and_calls_use_the_others(tmp_path):
    async def story(s):
        channel = s.daemon.channels["fxo1"]
        citizen = s.remote("3331234567")
        await s.exchange.call_in(citizen, CallerId(number="3331234567", when=datetime(2026, 11, 24, 9, 0)),
                                 line="fxo2")
        op = s.phone(s.settings.dialplan.operator)
        await s.until(lambda: op.ringing, "the operator rings for the call on fxo2")
        op.off_hook()
        since = await listen(s)
        in_ok = hear_each_other(op, citizen, since)
        mobile = s.remote("3479876543", answer_after_s=2.0)
        phone = await lift_and_dial(s, "206", "03479876543#")
        await s.until(lambda: mobile.call is not None and mobile.call.answered, "the mobile answers", timeout_s=20)
        since = await listen(s, 2.0)
        out_ok = hear_each_other(phone, mobile, since)
        return channel.in_service, channel.fault, in_ok, out_ok, s.line("fxo1").dialled_numbers

    in_service, fault, in_ok, out_ok, dialled_on_dead = play(
        tmp_path, story, faults={"fxo1": "line_side_never_links"})
    assert not in_service
    assert "fxo1" in fault and "did not link" in fault
    assert in_ok and out_ok
    assert dialled_on_dead == []


def test_wrong_hat_is_reported_and_the_switchboard_still_starts(tmp_path):
    async def story(s):
        a, b = await connect(s, "201", "202")
        since = await listen(s)
        return s.daemon.ready, s.daemon.board.hat_problem, s.daemon.status()["hat_problem"], \
            hear_each_other(a, b, since)

    ready, problem, reported, talked = play(tmp_path, story, hat_product="other-board")
    assert ready
    assert "other-board" in problem and "centralino-8fxs-4fxo" in problem
    assert reported == problem
    assert talked


def test_correct_hat_reports_no_problem(tmp_path):
    async def story(s):
        return s.daemon.board.hat_problem, s.daemon.board.hat.product

    assert play(tmp_path, story) == (None, "centralino-8fxs-4fxo")


def test_status_reports_ports_and_line_measurements(tmp_path):
    """The daemon's status (what the console will show) carries each port's line measurements."""
    from centralino.hwsim.clock import run
    from centralino.hwsim.scenario import Scenario

    async def main():
        async with Scenario(EXAMPLE, tmp_path, faults={"fxs3": "absent"}) as s:
            s.phone("200").off_hook()
            await s.wait(0.5)
            return s.daemon.status()

    status = run(main)
    ports = {p["name"]: p for p in status["ports"]}
    assert status["ready"] and status["board"] == "sim" and status["hat"] == "centralino-8fxs-4fxo"
    assert ports["fxs1"]["off_hook"] is True and ports["fxs1"]["loop_current_ma"] > 10
    assert ports["fxs2"]["off_hook"] is False and ports["fxs2"]["loop_current_ma"] < 1
    assert ports["fxs2"]["battery_v"] < -40
    assert ports["fxs3"]["in_service"] is False and "fxs3" in ports["fxs3"]["fault"]
    assert ports["fxo1"]["line_present"] is True and ports["fxo1"]["line_voltage_v"] > 20
    assert status["media"]["ticks"] > 0
