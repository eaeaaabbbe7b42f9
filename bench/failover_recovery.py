"""Modem recovery: how long the GSM driver takes to notice each fault and to be back in service.

The real driver (centralino.drivers.gsm_modem) on the simulated SIM7600's pseudo-terminals, on
the virtual clock, as tests/gsm/harness.py does. For each fault, ``RUNS`` runs with the fault
injected at a different point of the driver's 1 s watchdog period:
- ``hang``: the modem stops answering but still takes AT+CFUN=1,1 (it reboots on it);
- ``reset``: the modem reboots by itself (RDY out of the blue);
- ``vanish``: the USB device disappears and comes back ``REAPPEAR_AFTER_S`` later.
Figures: ``detect`` = fault -> ModemLost (goal <= 10 s); ``recovery`` = the driver's
``last_recovery_s`` (ModemLost -> ModemRecovered: reset, reopen, re-initialise, registered and
answering AT+CLCC); ``total`` = fault -> ModemRecovered; then the first call after recovery is
dialled at once to the failover mobile (answers 2 s after it rings): ``first_call_ok`` counts the
runs where it was answered, ``first_call_answer`` is ModemRecovered -> CallAnswered. The commands
the modem received show whether AT+CFUN=1,1 was needed.
"""

from __future__ import annotations

import asyncio
import tempfile

import _engine as support
import failover_support as fs
from _common import report

from centralino.drivers.gsm_events import CallAnswered, CallEnded, ModemError, ModemLost, ModemRecovered
from centralino.drivers.gsm_modem import GsmModem
from centralino.hwsim import clock
from centralino.hwsim.modem import ModemSim
from centralino.hwsim.modem_network import FAILOVER_ANSWER_AFTER_S, MobileNetwork

DIALECT = "sim7600"
FAULTS = ("hang", "reset", "vanish")
RUNS = 3
REAPPEAR_AFTER_S = 2.0
GOAL_DETECT_S = 10.0
WAIT_S = 90.0
MOBILE = "+39" + fs.MOBILE


async def one_run(fault: str, offset_s: float) -> dict:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="centralino-bench-modem-") as directory:
        network = MobileNetwork()
        network.add_failover_mobile(MOBILE)
        sim = ModemSim(DIALECT, directory, network)
        await sim.start()
        modem = GsmModem(sim.at_path, dialect=DIALECT, audio_path=sim.audio_path, clock=loop.time)
        events: list[object] = []
        arrived = asyncio.Event()

        def listen(event):
            events.append(event)
            arrived.set()

        modem.set_listener(listen)
        try:
            await modem.start()
            await asyncio.sleep(5.0 + offset_s)  # settled, then the fault at its place in the watchdog period
            commands_before = len(sim.received)
            fault_at = loop.time()
            if fault == "hang":
                sim.hang()
            elif fault == "reset":
                sim.reset()
            else:
                sim.vanish()
                loop.call_later(REAPPEAR_AFTER_S, sim.reappear)
            lost = await _next(events, arrived, ModemLost)
            recovered = await _next(events, arrived, ModemRecovered)
            first_call_ok, answered_after = await _first_call(modem, events, arrived, recovered)
            status = modem.status()
            return {"detect_s": lost.at_s - fault_at, "recovery_s": status["last_recovery_s"],
                    "total_s": recovered.at_s - fault_at, "first_call_ok": first_call_ok,
                    "first_call_answer_s": answered_after, "lost_reason": lost.reason,
                    "cfun_reset": "AT+CFUN=1,1" in sim.received[commands_before:],
                    "reinitialised": "ATE0" in sim.received[commands_before:], "state": status["state"]}
        finally:
            await modem.close()
            await sim.close()


async def _next(events: list, arrived: asyncio.Event, kind, timeout_s: float = WAIT_S):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not any(isinstance(e, kind) for e in events):
        arrived.clear()
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no {kind.__name__} within {timeout_s:g} s; events: {events}")
        try:
            await asyncio.wait_for(arrived.wait(), remaining)
        except asyncio.TimeoutError:
            pass
    return next(e for e in events if isinstance(e, kind))


async def _first_call(modem: GsmModem, events: list, arrived: asyncio.Event, recovered) -> tuple[bool, float | None]:
    """Dial the mobile the moment the driver says it is back; answered, and how long after."""
    del events[:]
    try:
        await modem.dial(MOBILE)
    except ModemError:
        return False, None
    outcome = await _next(events, arrived, (CallAnswered, CallEnded), timeout_s=30.0)
    if isinstance(outcome, CallEnded):
        return False, None
    await modem.hangup()
    return True, outcome.at_s - recovered.at_s


def summarise(runs: list[dict]) -> dict:
    out = {"runs": len(runs), "lost_reason": runs[0]["lost_reason"],
           **fs.median_max_ms([r["detect_s"] for r in runs], "detect"),
           "detect_within_goal": sum(r["detect_s"] <= GOAL_DETECT_S for r in runs),
           **fs.median_max_ms([r["recovery_s"] for r in runs], "recovery"),
           **fs.median_max_ms([r["total_s"] for r in runs], "total"),
           "first_call_ok": sum(r["first_call_ok"] for r in runs),
           **fs.median_max_ms([r["first_call_answer_s"] for r in runs], "first_call_answer"),
           "cfun_reset_sent": sum(r["cfun_reset"] for r in runs),
           "reinitialised": sum(r["reinitialised"] for r in runs),
           "ready_after": sum(r["state"] == "ready" for r in runs)}
    return out


def main() -> None:
    figures = {}
    for fault in FAULTS:
        runs = [clock.run(lambda: one_run(fault, k / RUNS)) for k in range(RUNS)]
        figures[fault] = summarise(runs)
    report("failover_recovery", **support.machine(), clock="virtual", dialect=DIALECT,
           goal_detect_s=GOAL_DETECT_S, vanish_reappears_after_s=REAPPEAR_AFTER_S,
           mobile_answers_after_s=FAILOVER_ANSWER_AFTER_S, **figures)


if __name__ == "__main__":
    main()
