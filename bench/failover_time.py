"""Failover timing: main-path failure to failover, and a line call's ring to the mobile.

Two parts, on the virtual clock (deterministic: the engine's logic and the simulated network's
delays, no scheduling noise), the example comune with a SIM7600 and failover to a mobile.

``outage``: all four PSTN lines are unplugged at t0; ``detect`` is t0 -> failover active (the
switchboard's ``failover`` note). It is repeated ``OUTAGES`` times with t0 spread over the
switchboard's 1 s health-check period, since where t0 falls in that period adds 0..1 s. Also
``sms``: detection -> the technician's SMS leaves the modem, and ``back``: lines plugged back ->
routing normal again (``healthy_for_s`` of hysteresis).

``console``: during an outage no call can arrive on dead lines, so the forwarding path is
measured in a migration started from the console (``failover.start_manual()``, the same routing).
The first call rings at the moment failover starts, the others follow one at a time, round robin
over fxo1..fxo4, each answered by the failover mobile (it answers 2 s after it starts ringing, as
the simulator's ``add_failover_mobile``), talked over for a second and hung up by the caller.
Per call, from the exchange ringing the line (t_ring):
- ``ring_detect``: t_ring -> the switchboard has the call (FXO ring detection);
- ``cid_wait``: ring detected -> the switchboard answers the line and dials the mobile; it waits
  for the caller ID (sent after the first ring) or, without one, ``CALLER_ID_WAIT_S`` = 4 s
  checked once a second;
- ``dial_to_mobile_ringing``: ATD -> the mobile alerting (network set-up);
- ``mobile_answer``: mobile ringing -> answered (the person);
- ``answer_to_bridge``: answered -> bridged (the driver sees the answer by polling AT+CLCC);
- ``to_mobile_ringing`` and ``to_forwarded`` (the ``forwarded`` note, caller and mobile bridged).
Done for calls with caller ID and for calls without (a line without the CLIP service).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import _engine as support
import failover_support as fs
from _common import report

from centralino.flows.failover import CALLER_ID_WAIT_S
from centralino.hwsim import clock
from centralino.hwsim.modem import CLCC_ALERTING
from centralino.hwsim.modem_network import FAILOVER_ANSWER_AFTER_S
from centralino.hwsim.scenario import Scenario
from centralino.hwsim.voices import hears
from centralino.media.callerid import CallerId

LINES = ("fxo1", "fxo2", "fxo3", "fxo4")
OUTAGES = 10
CALLS = 10  # per kind (with and without caller ID)
TALK_S = 1.5
BETWEEN_CALLS_S = 1.0
WAIT_S = 30.0
GOAL_DETECT_S = 5.0
GOAL_FORWARD_S = 3.0


async def outages(settings, data_dir: Path) -> list[dict]:
    async with Scenario(settings, data_dir) as s:
        await fs.modem_ready(s)
        moments = fs.Moments(s)
        failover = s.failover
        results = []
        for index in range(OUTAGES):
            await s.wait((index + 0.5) / OUTAGES)  # t0 at a different point of the 1 s check period
            sms_before = len(s.mobile_network.sms_outbox)
            for port in LINES:
                s.line(port).unplug()
            t0 = s.clock()
            await s.until(lambda: failover.active, f"outage {index}: failover starts", WAIT_S)
            active_at = moments.first("failover", t0, active=True)
            reason = failover.reason
            await s.until(lambda: len(s.mobile_network.sms_outbox) > sms_before, f"outage {index}: SMS", WAIT_S)
            sms_at = s.clock()  # polled every 20 ms
            for port in LINES:
                s.line(port).plug()
            plugged_at = s.clock()
            await s.until(lambda: not failover.active, f"outage {index}: failover ends", WAIT_S)
            normal_at = moments.first("failover", plugged_at, active=False)
            await s.until(lambda: len(s.mobile_network.sms_outbox) > sms_before + 1, f"outage {index}: 2nd SMS",
                          WAIT_S)
            results.append({"detect_s": active_at - t0, "sms_s": sms_at - active_at, "back_s": normal_at - plugged_at,
                            "reason": reason})
        return results


async def console_calls(settings, data_dir: Path) -> dict:
    async with Scenario(settings, data_dir) as s:
        await fs.modem_ready(s)
        mobile = s.mobile_network.add_failover_mobile(fs.MOBILE)
        moments = fs.Moments(s)
        sampler = fs.FirstTrue(s.clock)
        sampler.start()
        s.failover.start_manual()
        started_at = moments.first("failover", 0.0, active=True)
        citizens = [s.remote(f"0577{index:06d}") for index in range(len(LINES))]
        out = {"with_cid": [], "without_cid": []}
        index = 0
        for kind in out:
            for _ in range(CALLS):
                port, citizen = LINES[index % len(LINES)], citizens[index % len(LINES)]
                cid = (CallerId(number=citizen.number, when=datetime(2026, 11, 24, 9, 0))
                       if kind == "with_cid" else None)
                out[kind].append(await _one_call(s, moments, sampler, mobile, citizen, port, cid, index))
                index += 1
        sampler.stop()
        rows = s.records.last(2 * CALLS)
        out["first_call_forwarded_after_start_s"] = out["with_cid"][0]["forwarded_at"] - started_at
        out["cdr"] = {"rows": len(rows), "failover": sum(r.disposition == "failover" for r in rows),
                      "via_mobile": sum(f"gsm:{fs.MOBILE}" in r.route for r in rows)}
        return out


async def _one_call(s, moments, sampler, mobile, citizen, port: str, cid, index: int) -> dict:
    sampler.watch("mobile_ringing", lambda: s.modem.call is not None and s.modem.call.outgoing
                  and s.modem.call.stat == CLCC_ALERTING)
    sampler.watch("mobile_answered", lambda: mobile.connected)
    t_ring = s.clock()
    await s.exchange.call_in(citizen, cid, line=port)
    await s.until(lambda: moments.first("forwarded", t_ring, line=port), f"call {index} forwarded", WAIT_S)
    detected = moments.first("incoming", t_ring, line=port)
    dialled = moments.first("forwarding", t_ring, line=port)
    bridged = moments.first("forwarded", t_ring, line=port)
    since = s.clock()
    await s.wait(TALK_S)
    talked = (hears(citizen.heard(since + 0.3), mobile.voice.frequency_hz)
              and hears(mobile.heard(int((TALK_S - 0.3) / 0.02)), citizen.voice.frequency_hz))
    citizen.hang_up()
    gsm = s.daemon.channels["gsm"]
    await s.until(lambda: not s.switchboard.calls and s.line(port).state == "idle" and gsm.idle
                  and s.modem.call is None, f"call {index} ends", WAIT_S)
    await s.wait(BETWEEN_CALLS_S)
    ringing, answered = sampler.seen.get("mobile_ringing"), sampler.seen.get("mobile_answered")
    return {"ring_detect_s": detected - t_ring, "cid_wait_s": dialled - detected,
            "dial_to_mobile_ringing_s": ringing - dialled, "mobile_answer_s": answered - ringing,
            "answer_to_bridge_s": bridged - answered, "to_mobile_ringing_s": ringing - t_ring,
            "to_forwarded_s": bridged - t_ring, "talked": talked, "forwarded_at": bridged}


def summarise_calls(calls: list[dict]) -> dict:
    out = {"calls": len(calls), "both_heard_each_other": sum(c["talked"] for c in calls)}
    for key in ("ring_detect", "cid_wait", "dial_to_mobile_ringing", "mobile_answer", "answer_to_bridge",
                "to_mobile_ringing", "to_forwarded"):
        out.update(fs.median_max_ms([c[f"{key}_s"] for c in calls], key))
    out["to_mobile_ringing_within_goal"] = sum(c["to_mobile_ringing_s"] <= GOAL_FORWARD_S for c in calls)
    out["to_forwarded_within_goal"] = sum(c["to_forwarded_s"] <= GOAL_FORWARD_S for c in calls)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="centralino-bench-") as tmp:
        settings = fs.failover_config(Path(tmp))
        found = clock.run(lambda: outages(settings, Path(tmp) / "outage"))
        calls = clock.run(lambda: console_calls(settings, Path(tmp) / "console"))
    outage = {"runs": len(found), "reason": found[0]["reason"], "down_after_s": settings.failover.down_after_s,
              **fs.median_max_ms([r["detect_s"] for r in found], "detect"),
              "detect_min_ms": round(min(r["detect_s"] for r in found) * 1000, 1),
              "detect_within_goal": sum(r["detect_s"] <= GOAL_DETECT_S for r in found),
              **fs.median_max_ms([r["sms_s"] for r in found], "sms_after_detect"),
              "healthy_for_s": settings.failover.healthy_for_s,
              **fs.median_max_ms([r["back_s"] for r in found], "back")}
    console = {"first_call_forwarded_after_start_ms": round(calls["first_call_forwarded_after_start_s"] * 1000, 1),
               "caller_id_wait_s": CALLER_ID_WAIT_S, "mobile_answers_after_s": FAILOVER_ANSWER_AFTER_S,
               "with_cid": summarise_calls(calls["with_cid"]),
               "without_cid": summarise_calls(calls["without_cid"]), "cdr": calls["cdr"]}
    report("failover_time", **support.machine(), clock="virtual", goal_detect_s=GOAL_DETECT_S,
           goal_forward_after_detect_s=GOAL_FORWARD_S, outage=outage, console=console)


if __name__ == "__main__":
    main()
