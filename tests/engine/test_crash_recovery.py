"""A daemon killed in the middle of a call: the call's row survives as in_progress and the next
start records it as interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from centralino.records.cdr import INTERRUPTED_CAUSE, CdrStore

from .helpers import EXAMPLE, play

READY_LINE = "CALL UP"
STARTUP_LIMIT_S = 120  # only a guard against a hung child, not a timing assertion

CHILD = textwrap.dedent("""
    import asyncio, sys
    from centralino.hwsim import clock
    from centralino.hwsim.scenario import Scenario

    async def main():
        s = await Scenario(sys.argv[1], sys.argv[2]).start()
        a, b = s.phone("201"), s.phone("203")
        a.off_hook()
        await s.wait(0.5)
        await a.dial("203")
        await s.until(lambda: b.ringing, "203 rings")
        b.off_hook()
        await s.until(lambda: s.station_state("203") == "talking", "203 answers")
        print("CALL UP", flush=True)
        await asyncio.sleep(3600)

    clock.run(main, virtual=False)
""")


def _call_up_then_killed(tmp_path, data_dir) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(EXAMPLE), str(data_dir)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while READY_LINE not in line:
            line = child.stdout.readline()
            if not line:
                break
        assert READY_LINE in line, f"the child never set up its call: {child.stderr.read()[-2000:]}"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=STARTUP_LIMIT_S)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


def test_call_cut_by_a_crash_is_recorded_as_interrupted_at_the_next_start(tmp_path):
    data_dir = tmp_path / "data"
    _call_up_then_killed(tmp_path, data_dir)

    store = CdrStore(data_dir / "centralino.db")
    rows = store.last(5)
    store.close()
    assert [(r.caller, r.called, r.disposition) for r in rows] == [("201", "203", "in_progress")]
    assert rows[0].answered_at is not None

    async def story(s):
        return s.daemon.recovered_calls, s.records.last(5)

    recovered, after = play(tmp_path, story)
    assert recovered == 1
    assert [(r.call_id, r.disposition, r.cause) for r in after] == [(rows[0].call_id, "interrupted", INTERRUPTED_CAUSE)]
    assert after[0].ended_at is not None


def test_a_clean_stop_records_the_calls_in_progress_as_interrupted_at_the_stop(tmp_path):
    from centralino.hwsim.clock import run
    from centralino.hwsim.scenario import Scenario
    from centralino.records.cdr import STOPPED_CAUSE

    async def main():
        from .helpers import connect

        s = await Scenario(EXAMPLE, tmp_path / "data").start()
        await connect(s, "201", "203")
        await s.wait(2.0)
        stopped_at = s.wall_clock()
        await s.stop()
        return stopped_at

    stopped_at = run(main)
    with CdrStore(tmp_path / "data" / "centralino.db") as cdr:  # read back from the file
        row = cdr.last(1)[0]
    assert (row.called, row.disposition, row.cause) == ("203", "interrupted", STOPPED_CAUSE)
    assert row.answered_at is not None and row.billable_s >= 2.0
    assert abs(datetime_of(row.ended_at) - stopped_at).total_seconds() < 1.0


def datetime_of(text):
    from datetime import datetime

    return datetime.fromisoformat(text)
