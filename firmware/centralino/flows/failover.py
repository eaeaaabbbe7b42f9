"""Failover: while the main path is down or a migration window is open, line calls go to a mobile.

The main path is healthy while at least one configured PSTN line is in service with line voltage
and at least one operator's extension can ring.
It is declared down after ``down_after_s`` without one, and healthy again only after
``healthy_for_s`` with one (hysteresis: a line that flickers does not flip routing back and
forth). A migration window from the configuration, or one started from the console, forces
failover whatever the lines say. Each start and end is logged and, when a technician number is
configured, sent by SMS through the modem.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger("centralino.failover")


class FailoverMonitor:
    def __init__(self, settings, lines: list, modem, clock: Callable[[], float],
                 wall_clock: Callable[[], datetime], notify: Callable[..., None] = lambda kind, **d: None):
        self.config = settings.failover
        self.lines = lines
        self.operators: list = []  # the operators' channels, set by the switchboard
        self.modem = modem
        self.clock = clock
        self.wall_clock = wall_clock
        self.notify = notify
        self.main_path_up = True
        self.manual = False
        self.active = False
        self.reason: str | None = None
        self._bad_since: float | None = None
        self._good_since: float | None = None
        self._last_good_s: float | None = None
        self.sms_sent: list[str] = []
        if modem is not None:
            modem.health_listeners.append(self._modem_health)

    def _lines_ok(self) -> bool:
        if self.operators and not any(op.in_service for op in self.operators):
            return False  # nobody could answer: as good as no line
        return any(line.in_service and self._present(line) for line in self.lines)

    @staticmethod
    def _present(line) -> bool:
        """An FXO line's loop voltage; a SIP trunk line's registration and keepalives."""
        present = getattr(line, "line_present", None)
        return present() if present is not None else line.driver.line_status().line_present

    def check(self) -> None:
        """Called once a second by the switchboard."""
        now = self.clock()
        if self._lines_ok():
            self._bad_since = None
            self._last_good_s = now
            self._good_since = self._good_since if self._good_since is not None else now
            if not self.main_path_up and now - self._good_since >= self.config.healthy_for_s:
                self.main_path_up = True
        else:
            self._good_since = None
            # the outage began after the last check that saw a line: count from there, so that
            # the check period does not add to down_after_s
            if self._bad_since is None:
                self._bad_since = self._last_good_s if self._last_good_s is not None else now
            if self.main_path_up and now - self._bad_since >= self.config.down_after_s:
                self.main_path_up = False
        reason = ("migration started from the console" if self.manual
                  else "migration window" if self.config.in_window(self.wall_clock())
                  else "main path down" if not self.main_path_up else None)
        if (reason is not None) != self.active:
            self.active, self.reason = reason is not None, reason
            self._announce_change(reason)

    def start_manual(self) -> None:
        self.manual = True
        self.check()

    def stop_manual(self) -> None:
        self.manual = False
        self.check()

    def _announce_change(self, reason: str | None) -> None:
        if reason is not None:
            text = f"centralino: trasferimento chiamate al {self.config.mobile_number} attivo ({reason})"
            log.warning("failover started: %s", reason)
        else:
            text = "centralino: trasferimento chiamate terminato, instradamento normale"
            log.warning("failover ended")
        self.notify("failover", active=self.active, reason=reason or "normal routing")
        self._sms(text)

    def _modem_health(self, what: str, detail: str) -> None:
        """The modem needed recovery: the technician hears of it once it can send again."""
        if what == "recovered":
            self._sms(f"centralino: modem GSM ripristinato dopo {detail}")

    def _sms(self, text: str) -> None:
        number = self.config.technician_sms
        if number is None or self.modem is None:
            return
        self.sms_sent.append(text)
        task = asyncio.get_running_loop().create_task(self._send(number, text))
        task.add_done_callback(lambda t: t.exception() and log.error("SMS to %s failed: %s", number, t.exception()))

    async def _send(self, number: str, text: str) -> None:
        await self.modem.driver.send_sms(number, text)

    def status(self) -> dict:
        return {"active": self.active, "reason": self.reason, "main_path_up": self.main_path_up,
                "mobile_number": self.config.mobile_number, "manual": self.manual}
