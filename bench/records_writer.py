"""How long a call record's write holds up the event loop: before (commit on the loop) and after (the writer).

Both on a real file in a folder of the development disk (not tmpfs: an fsync must cost what it
costs), with the daemon's pragmas (WAL, ``synchronous=FULL``), ``CALLS`` calls of two writes each
(the start row, then the finished record), one write every ``PACE_S`` as on a busy switchboard
rather than back to back:
- ``before``: ``CdrStore.open_call`` / ``finish_call`` called on the loop, as the engine does
  today; the loop is blocked for the whole call, commit and fsync included;
- ``after``: ``RecordWriter.submit`` of the same jobs; the loop is blocked only for the hand-off,
  and the commit happens on the writer's thread (``commit_ms``: submit to committed).
``blocked_ms`` is per write, p50/p99/max: the time the calling code (the loop) spent inside the
call, measured around it with ``perf_counter``. The media clock's own tick lateness is measured
with the engine (the lead's bench); a ticker's lateness on this shared 2-core VM would mostly
show the other processes' load, so it is not reported here.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _common import ROOT, report

from centralino.records.cdr import CdrStore
from centralino.records.writer import RecordWriter

CALLS = 150
PACE_S = 0.01
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


def _start(n: int) -> dict:
    return dict(started_at=T0 + timedelta(seconds=n), direction="inbound", caller="3331234567",
                called="0558450150", ports="fxo1,fxs1", route="line:fxo1>menu:principale>office:anagrafe")


def _finish(n: int) -> dict:
    return dict(ended_at=T0 + timedelta(seconds=n + 95), disposition="answered", cause="normal_clearing",
                answered_at=T0 + timedelta(seconds=n + 12), route="line:fxo1>menu:principale>office:anagrafe>ext:202",
                ports="fxo1,fxs2", office="anagrafe", queued_s=7.5)


def _ms(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered) * 1000, 3),
            "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
            "max": round(ordered[-1] * 1000, 3)}


async def _phase(write) -> list[float]:
    """Run ``write(n, kind)`` for every write on the loop, timing each call."""
    blocked = []
    for n in range(CALLS):
        for kind in ("start", "finish"):
            began = time.perf_counter()
            write(n, kind)
            blocked.append(time.perf_counter() - began)
            await asyncio.sleep(PACE_S)
    return blocked


async def main(folder: Path) -> dict:
    with CdrStore(folder / "before.db") as store:
        def on_the_loop(n, kind):
            if kind == "start":
                store.open_call(f"c{n}", **_start(n))
            else:
                store.finish_call(f"c{n}", **_finish(n))
        before = await _phase(on_the_loop)

    writer = RecordWriter(folder / "after.db")
    committed: list[float] = []

    def handed_off(n, kind):
        job = (lambda st: st.cdr.open_call(f"c{n}", **_start(n))) if kind == "start" else \
            (lambda st: st.cdr.finish_call(f"c{n}", **_finish(n)))
        submitted = time.perf_counter()
        writer.submit(job).add_done_callback(lambda _: committed.append(time.perf_counter() - submitted))

    after = await _phase(handed_off)
    assert writer.flush(30.0), "the writer did not finish"
    status = writer.status()
    writer.close()
    assert status["written"] == 2 * CALLS and status["refused"] == 0, status
    with CdrStore(folder / "after.db") as store:
        finished = sum(r.disposition == "answered" for r in store.last(CALLS))
    assert finished == CALLS, f"{finished} of {CALLS} calls finished in the writer's file"
    return {"writes": 2 * CALLS, "pace_s": PACE_S, "file_system": _fs_type(folder),
            "before": {"blocked_ms": _ms(before)},
            "after": {"blocked_ms": _ms(after), "commit_ms": _ms(committed)}}


def _fs_type(folder: Path) -> str:
    best, kind = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fs = line.split()[:3]
            if str(folder.resolve()).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fs
    except OSError:
        pass
    return kind


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="where to put the two databases (default: a folder under out/)")
    args = parser.parse_args()
    base = args.dir or ROOT / "out"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix="bench-records-") as folder:
        report("records_writer", **asyncio.run(main(Path(folder))))
