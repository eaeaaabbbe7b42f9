"""Delay from a call event in the daemon to the browser showing it, through ``centralino web``.

The daemon (simulated board, real time) publishes ``call.started`` and ``call.ended`` on its
event bus; this script notes the wall time of each publish on the daemon's side. The event
travels: the control socket's event stream, the web service's hub, server-sent events, and
``live.js`` in chromium, which notes ``Date.now()`` when it arrives (same machine, same clock).
The Chiamate page also gets a fresh snapshot of the calls in progress after each event (one
control request); its delay is measured from the publish to that snapshot's arrival.

    .venv/bin/python bench/web_event_delay.py [--calls 30]
"""

from _common import report  # first: it puts firmware/ on the import path

import argparse
import time

import _web

from tests.engine.helpers import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    published: dict[tuple[str, str], float] = {}
    with _web.stack() as (daemon, web, driver):
        daemon.call(lambda s: s.daemon.bus.subscribe(
            "call.*", lambda e: published.setdefault((e.kind, e.get("call_id")), time.time() * 1000)))
        driver.get(web.base + "/chiamate")
        deadline = time.monotonic() + 10
        while not driver.execute_script("return window.centralinoLive && window.centralinoLive.connected"):
            if time.monotonic() > deadline:
                raise SystemExit("the page never connected to /eventi")
            time.sleep(0.1)

        async def one_call(s):
            a, b = await connect(s, "201", "205")
            await s.wait(0.3)
            a.on_hook()
            b.on_hook()
            await s.wait(1.0)

        for _ in range(args.calls):
            daemon.run(one_call)
        time.sleep(1.0)
        seen = driver.execute_script("return window.centralinoLive.events")
        snapshots = driver.execute_script("return window.centralinoLive.received.filter(r => r.topic === 'calls')")
    delays = [e["at"] - published[(e["kind"], e["call_id"])] for e in seen if (e["kind"], e["call_id"]) in published]
    starts = sorted(t for (kind, _), t in published.items() if kind == "call.started")
    arrivals = sorted(r["at"] for r in snapshots)
    snapshot_delays = [next(a for a in arrivals if a >= t) - t for t in starts if any(a >= t for a in arrivals)]
    if len(delays) != 2 * args.calls:
        raise SystemExit(f"{len(delays)} of {2 * args.calls} call events reached the browser")
    report("web_event_delay", calls=args.calls, events=len(delays),
           event_ms={"median": round(_web.percentile(delays, 0.5), 1), "p95": round(_web.percentile(delays, 0.95), 1),
                     "max": round(max(delays), 1)},
           calls_snapshot_ms={"median": round(_web.percentile(snapshot_delays, 0.5), 1),
                              "p95": round(_web.percentile(snapshot_delays, 0.95), 1),
                              "max": round(max(snapshot_delays), 1)})


if __name__ == "__main__":
    main()
