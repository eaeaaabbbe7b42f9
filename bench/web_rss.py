"""Resident memory (RSS) of the ``centralino web`` process: idle, after every page, with screens open.

The daemon runs on the simulated board with N call records; the web service is measured from
/proc/PID/status right after its start, after chromium has loaded every page (the statistics
chart loads matplotlib) ROUNDS times, and with WALLBOARDS wallboard screens connected to the
live event stream at once (plain SSE clients) while calls go on.

    .venv/bin/python bench/web_rss.py [--calls 10000] [--rounds 5] [--wallboards 10]
"""

from _common import report  # first: it puts firmware/ on the import path

import argparse
import threading
import time

import _web

from tests.engine.helpers import connect

PAGES = ["/stato", "/wallboard", "/chiamate", "/chiamate?numero=345", "/segnalazioni", "/segreteria",
         "/statistiche", "/statistiche?tipo=months&periodo=2026", "/configurazione", "/account", "/registro"]


class Screen:
    """A wallboard screen: a logged-in session reading /eventi in a thread of its own.

    Not chromium tabs: one browser keeps at most 6 HTTP/1.1 connections to a host, and every live
    page holds one (see README), so ten screens are ten clients, as they would be on the walls."""

    def __init__(self, web):
        from tests.web.harness import HttpSession

        self.http = HttpSession(web.base)
        self.http.login("admin", _web.PASSWORD)
        self.updates = 0
        self.response = self.http.opener.open(web.base + "/eventi?argomenti=wallboard", timeout=60)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for line in self.response:
                if line.startswith(b"event: wallboard"):
                    self.updates += 1
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--wallboards", type=int, default=10)
    args = parser.parse_args()
    with _web.stack(calls=args.calls, with_browser=False) as (daemon, web, _):
        time.sleep(1.0)
        idle = web.rss_kib()
        driver = _web.browser()
        try:
            _web.login(driver, web)
            for _ in range(args.rounds):
                for page in PAGES:
                    driver.get(web.base + page)
            pages = web.rss_kib()
            screens = [Screen(web) for _ in range(args.wallboards)]  # SSE clients like live.js

            async def calls(s):
                for _ in range(5):
                    a, b = await connect(s, "201", "205")
                    a.on_hook()
                    b.on_hook()
                    await s.wait(1.0)

            daemon.run(calls, timeout_s=120)
            with_screens = web.rss_kib()
            live = sum(screen.updates >= 5 for screen in screens)
        finally:
            driver.quit()
    report("web_rss", calls=args.calls, idle_mib=round(idle / 1024, 1), after_pages_mib=round(pages / 1024, 1),
           with_wallboards_mib=round(with_screens / 1024, 1), wallboards=args.wallboards, wallboards_updated=live,
           page_loads=args.rounds * len(PAGES))


if __name__ == "__main__":
    main()
