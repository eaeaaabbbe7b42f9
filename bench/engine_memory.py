"""Resident memory of the daemon with the example configuration. Goal from the issue: < 80 MB.

- daemon: ``python -m centralino run --config examples/comune.yaml --board sim`` as its own
  process; VmRSS from /proc/PID/status once it printed "centralino ready", and again after
  ``IDLE_S`` seconds of media ticks; VmHWM is the peak;
- with_calls: a fresh process running the switchboard and the simulated world in one (the
  Scenario, virtual clock): VmRSS after start-up, after the scripted morning (README's demo:
  transfer, internal, outside and abandoned calls) and after ``CALLS`` more internal calls, four
  at a time. RSS moves in allocator-sized steps, so the growth per call is also given as objects
the garbage collector tracks (``gc_objects_per_call``). The simulated phones' recordings of what they heard are dropped before each reading
  (they belong to the test world, not to the daemon), and garbage is collected. The growth per
  call shows what the engine keeps of every finished call.
This figure includes the simulator (chip models, phones, exchange), so it is an upper bound for
the daemon on the Pi HAT, which imports periphery/smbus2 and the ALSA stream instead.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _engine as support
from _common import ROOT, report

IDLE_S = 5.0
CALLS = 120
CONCURRENT = 4
READY_LINE = "centralino ready"
GOAL_MB = 80
HANG_UP_S = 1.0  # on hook longer than a flash (0.6 s) before the next call


def rss_mb(pid: int | str = "self") -> dict:
    fields = {}
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = row.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields["VmRSS"], "peak_mb": fields["VmHWM"]}


def daemon_process(folder: Path) -> dict:
    command = [sys.executable, "-m", "centralino", "run", "--config", str(support.EXAMPLE_CONFIG),
               "--board", "sim", "--database", str(folder / "centralino.db"), "--log-level", "WARNING"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "firmware"), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        for line in process.stdout:
            if line.startswith(READY_LINE):
                break
        else:
            raise RuntimeError(f"the daemon ended without {READY_LINE!r} (status {process.wait()})")
        ready = rss_mb(process.pid)
        time.sleep(IDLE_S)
        idle = rss_mb(process.pid)
        process.send_signal(signal.SIGTERM)
        status = process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return {"after_ready_mb": ready["rss_mb"], f"after_{IDLE_S:g}s_idle_mb": idle["rss_mb"],
            "peak_mb": idle["peak_mb"], "exit_status": status}


# ------------------------------------------------------------------ the child with calls
async def calls_child(data_dir: Path) -> dict:
    from centralino.hwsim.morning import morning
    from centralino.hwsim.scenario import Scenario

    figures = {"after_import_mb": _settled()["rss_mb"]}
    async with Scenario(support.EXAMPLE_CONFIG, data_dir) as s:
        phones = list(s.world.phones.values())
        figures["after_start_mb"] = _settled(phones)["rss_mb"]
        failed = await morning(s, lambda text: None)
        figures["morning_checks_failed"] = len(failed)
        figures["after_morning_mb"] = _settled(phones)["rss_mb"]
        objects_before = len(gc.get_objects())
        done_before = len(s.finished)
        numbers = [e.number for e in s.settings.extensions]
        pairs = [(numbers[2 * k], numbers[2 * k + 1]) for k in range(CONCURRENT)]
        for _ in range(CALLS // CONCURRENT):
            await asyncio.gather(*(_internal_call(s, a, b) for a, b in pairs))
            _forget_audio(phones)
        figures["calls"] = len(s.finished) - done_before
        after = _settled(phones)
        figures[f"after_{CALLS}_calls_mb"] = after["rss_mb"]
        figures["peak_mb"] = after["peak_mb"]
        calls = max(figures["calls"], 1)
        figures["rss_kb_per_call"] = round((after["rss_mb"] - figures["after_morning_mb"]) * 1024 / calls, 1)
        figures["gc_objects_per_call"] = round((len(gc.get_objects()) - objects_before) / calls, 1)
        figures["calls_kept_in_memory"] = len(s.finished)
    return figures


async def _internal_call(s, caller: str, callee: str) -> None:
    a, b = s.phone(caller), s.phone(callee)
    a.off_hook()
    await s.wait(0.3)
    await a.dial(callee)
    await s.until(lambda: b.ringing, f"{callee} rings")
    b.off_hook()
    await s.wait(0.5)
    a.on_hook()
    await s.wait(0.2)
    b.on_hook()
    await s.wait(HANG_UP_S)


def _forget_audio(phones) -> None:
    for phone in phones:
        phone._heard.clear()  # the simulated phone's recording: test world, not daemon


def _settled(phones=()) -> dict:
    _forget_audio(phones)
    gc.collect()
    return rss_mb()


def main() -> None:
    if sys.argv[1:] == ["--child"]:
        from centralino.hwsim import clock

        with tempfile.TemporaryDirectory(prefix="centralino-bench-") as tmp:
            print(json.dumps(clock.run(lambda: calls_child(Path(tmp)), virtual=True)))
        return
    with tempfile.TemporaryDirectory(prefix="centralino-bench-") as tmp:
        daemon = daemon_process(Path(tmp))
    child = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, check=True)
    with_calls = json.loads(child.stdout.strip().splitlines()[-1])
    worst = max(daemon["peak_mb"], with_calls["peak_mb"])
    report("engine_memory", **support.machine(), config="examples/comune.yaml", daemon=daemon,
           with_calls=with_calls, goal_mb=GOAL_MB, under_goal=worst < GOAL_MB)


if __name__ == "__main__":
    main()
