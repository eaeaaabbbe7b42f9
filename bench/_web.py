"""Shared set-up of the web benchmarks: the simulated daemon, ``centralino web`` and chromium,
as tests/web/harness.py builds them, plus a database filled with a year's worth of call records."""

from __future__ import annotations

import random
import tempfile
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _common import ROOT  # noqa: F401  (puts firmware/ and the tree on the import path)

from centralino.records.cdr import CdrStore
from centralino.records.tickets import TicketStore
from tests.web.harness import DaemonThread, browser, next_page, start_web

EXAMPLE = ROOT / "examples" / "comune.yaml"
PASSWORD = "Bench-Centralino-2026"
OFFICES = ("anagrafe", "tributi", "tecnico", "servizi_sociali", "polizia_locale", "sportello", "")
OUTCOMES = ("answered",) * 6 + ("abandoned", "voicemail", "callback", "no_answer")
END = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)  # the scenario's first morning


def fill_records(database: Path, calls: int, seed: int = 1) -> None:
    """``calls`` finished inbound calls over the 60 days before the scenario's morning, in one transaction."""
    rng = random.Random(seed)
    store = CdrStore(database)
    with store.db.atomic():
        for n in range(calls):
            started = END - timedelta(seconds=rng.uniform(0, 60 * 86400))
            office = rng.choice(OFFICES)
            outcome = rng.choice(OUTCOMES)
            caller = f"3{rng.randrange(10**8, 10**9)}"
            store.open_call(f"bench-{n}", started_at=started, direction="inbound", caller=caller, called="0558450150")
            answered = started + timedelta(seconds=rng.uniform(2, 60)) if outcome == "answered" else None
            store.finish_call(f"bench-{n}", ended_at=started + timedelta(seconds=rng.uniform(60, 400)),
                              disposition=outcome, cause="normal", answered_at=answered, office=office,
                              queued_s=rng.uniform(0, 90) if office else 0.0)
    store.close()
    tickets = TicketStore(database)
    for n in range(200):
        tickets.open_ticket(f"bench-t{n}", f"3{rng.randrange(10**8, 10**9)}", rng.choice(OFFICES[:6]),
                            END - timedelta(hours=n), "1", "busy")
    tickets.close_database()


@contextmanager
def stack(calls: int = 0, with_browser: bool = True):
    """(daemon, web, driver logged in as admin) on a fresh data folder."""
    with tempfile.TemporaryDirectory(prefix="centralino-bench-web-") as folder:
        base = Path(folder)
        (base / "data").mkdir()
        if calls:
            fill_records(base / "data" / "centralino.db", calls)
        daemon = DaemonThread(EXAMPLE, base / "data", base / "control.sock").start()
        web = start_web(base / "control.sock", base / "state", base / "web.log", citizen=False)
        driver = None
        try:
            if with_browser:
                driver = browser()
                login(driver, web)
            yield daemon, web, driver
        finally:
            if driver is not None:
                driver.quit()
            web.stop()
            daemon.stop()


def login(driver, web) -> None:
    """The first login: the one-time password, then a new one."""
    from selenium.webdriver.common.by import By

    def submit():
        page = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.CSS_SELECTOR, "main form button").click()
        next_page(driver, page)

    driver.get(web.base + "/accesso")
    driver.find_element(By.ID, "nome").send_keys("admin")
    driver.find_element(By.ID, "password").send_keys(web.admin_password)
    submit()
    for field, value in (("attuale", web.admin_password), ("nuova", PASSWORD), ("conferma", PASSWORD)):
        driver.find_element(By.ID, field).send_keys(value)
    submit()
    if not driver.current_url.endswith("/stato"):
        raise RuntimeError(f"login failed: at {driver.current_url}")


def navigation_ms(driver) -> dict:
    """The browser's own timing of the page just loaded (Navigation Timing level 2)."""
    return driver.execute_script(
        "const t = performance.getEntriesByType('navigation')[0];"
        "return {response_ms: t.responseEnd - t.requestStart, dom_ms: t.domContentLoadedEventEnd - t.startTime,"
        " load_ms: t.loadEventEnd - t.startTime, bytes: t.transferSize};")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]
