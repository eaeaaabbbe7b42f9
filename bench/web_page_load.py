"""Page load times of the web interface with 10,000 call records, in Debian's chromium.

The daemon runs on the simulated board with a database of N finished calls over 60 days (and
200 callback tickets); ``centralino web`` serves the pages; chromium loads each page LOADS times
and the browser's own Navigation Timing gives the time to the last byte of the page and to the
load event (styles and fonts included, from its cache after the first load). The Chiamate page
asks the daemon to count and page through all N records; the CSV export takes all of them.
The daemon's media clock lateness (its 20 ms ticks) is read before and after the page loads:
the long reads run in a worker thread (ops/worker.py), so it should not grow.

    .venv/bin/python bench/web_page_load.py [--calls 10000] [--loads 10]
"""

from _common import report  # first: it puts firmware/ on the import path

import argparse
import statistics
import time

import _web

PAGES = {"chiamate": "/chiamate", "chiamate_numero": "/chiamate?numero=345", "chiamate_pagina_100": "/chiamate?pagina=100",
         "stato": "/stato", "wallboard": "/wallboard", "segnalazioni": "/segnalazioni",
         "statistiche_mese": "/statistiche?tipo=month&periodo=2026-11", "statistiche_anno": "/statistiche?tipo=months&periodo=2026"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()
    filled = time.perf_counter()
    figures = {}
    with _web.stack(calls=args.calls) as (daemon, web, driver):
        setup_s = time.perf_counter() - filled
        before = daemon.call(lambda s: s.daemon.media.status())
        for name, path in PAGES.items():
            samples = []
            for _ in range(args.loads):
                driver.get(web.base + path)
                samples.append(_web.navigation_ms(driver))
            figures[name] = {"response_ms_median": round(statistics.median(s["response_ms"] for s in samples), 1),
                             "load_ms_median": round(statistics.median(s["load_ms"] for s in samples), 1),
                             "load_ms_max": round(max(s["load_ms"] for s in samples), 1)}
        after = daemon.call(lambda s: s.daemon.media.status())
        total = driver.execute_script("return document.body.innerText")  # the last page, a sanity check below
        driver.get(web.base + "/chiamate")
        shown = driver.find_element("id", "risultati").text
        started = time.perf_counter()
        status, headers, body = _csv(web)
        csv_s = time.perf_counter() - started
    if str(args.calls) not in shown.replace(".", ""):
        raise SystemExit(f"the Chiamate page does not count {args.calls} calls: {shown!r}")
    report("web_page_load", calls=args.calls, loads_per_page=args.loads, pages=figures,
           csv_export={"rows": body.count("\n") - 1, "bytes": len(body.encode()), "seconds": round(csv_s, 2)},
           media_clock={"late_max_ms_before": before["lateness_max_ms"], "late_max_ms_after": after["lateness_max_ms"],
                        "late_p99_ms_after": after["lateness_p99_ms"], "overruns": after["overruns"] - before["overruns"]},
           setup_s=round(setup_s, 1), checked=bool(total))


def _csv(web):
    from tests.web.harness import HttpSession

    http = HttpSession(web.base)
    http.login("admin", _web.PASSWORD)
    return http.request("/chiamate.csv")


if __name__ == "__main__":
    main()
