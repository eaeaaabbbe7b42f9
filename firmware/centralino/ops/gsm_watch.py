"""What the technician asks about the GSM modem: signal now, the last error, recoveries.

The modem driver reads the signal (``AT+CSQ``) when it initialises and after a recovery; an
installer turning the antenna wants it fresher than that, so this watch asks again every
minute while the modem is ready and no call is up, and remembers the last thing that went wrong
(a lost modem, a failed query) after the channel itself has recovered. It only reads: it never
changes the modem's state or the driver's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from centralino.drivers import gsm_lines
from centralino.drivers.errors import ChipError

from .leds import gsm_bars  # the console speaks the LED's scale

log = logging.getLogger("centralino.gsm_watch")

SIGNAL_POLL_S = 60.0
SIGNAL_TIMEOUT_S = 2.0


class GsmWatch:
    def __init__(self, channel, clock: Callable[[], float]):
        self.channel = channel
        self.clock = clock
        self.last_error: str | None = None
        self.last_error_at_s: float | None = None
        self._signal_dbm: int | None = None
        self._signal_at_s: float | None = None
        self._task: asyncio.Task | None = None
        channel.health_listeners.append(self._health)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll(), name="gsm-watch")

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _health(self, what: str, detail: str) -> None:
        if what == "lost":
            self._error(f"modem lost: {detail}")
        elif what == "recovered":
            self._signal_dbm = self._signal_at_s = None  # the driver read it afresh

    def _error(self, text: str) -> None:
        self.last_error, self.last_error_at_s = text, self.clock()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(SIGNAL_POLL_S)
            driver = self.channel.driver
            status = driver.status()
            if status["state"] != "ready" or status["call"] is not None:
                continue
            try:
                lines = await driver.command("AT+CSQ", SIGNAL_TIMEOUT_S)
            except ChipError as err:
                self._error(f"signal query failed: {err}")
                continue
            for line in lines:
                if line.startswith("+CSQ:"):
                    self._signal_dbm, self._signal_at_s = gsm_lines.signal_dbm(line), self.clock()

    def signal_dbm(self) -> int | None:
        if self._signal_at_s is not None:
            return self._signal_dbm
        return self.channel.driver.status().get("signal_dbm")

    def status(self) -> dict:
        """One flat mapping, one line each on the console."""
        modem = self.channel.driver.status()
        signal = self.signal_dbm()
        now = self.clock()
        age = f", read {now - self._signal_at_s:.0f} s ago" if self._signal_at_s is not None else ""
        recovered = (f" (last took {modem['last_recovery_s']:.1f} s)"
                     if modem.get("last_recovery_s") is not None else "")
        error = (f"{self.last_error} ({now - self.last_error_at_s:.0f} s ago)"
                 if self.last_error is not None else "none")
        return {"modem": f"{modem['dialect']} {modem['state']}"
                         + ("" if self.channel.in_service else f" (out of service: {self.channel.fault})"),
                "signal": (f"{signal} dBm, {gsm_bars(signal)} of 4 bars{age}" if signal is not None else "unknown"),
                "operator": modem.get("operator") or "none",
                "sim": modem.get("sim") or "unknown",
                "registration": modem.get("registration") or "unknown",
                "call": modem.get("call") or "none",
                "recoveries": f"{modem.get('recoveries', 0)}{recovered}",
                "last error": error}


def watch_gsm(daemon) -> GsmWatch | None:
    """Start the watch on the daemon's GSM channel (None without a modem)."""
    channel = daemon.channels.get("gsm")
    if channel is None or not hasattr(channel, "health_listeners"):
        return None
    watch = GsmWatch(channel, daemon.clock)
    watch.start()
    return watch
