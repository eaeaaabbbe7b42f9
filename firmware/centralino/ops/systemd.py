"""Talking to systemd: readiness, status lines, watchdog heartbeats, stopping (sd_notify).

Written by hand rather than with a binding: the protocol is one datagram of ``KEY=value`` lines
to the Unix socket named by ``$NOTIFY_SOCKET`` (a leading ``@`` means Linux's abstract namespace),
and outside systemd the variable is unset and every call does nothing.

The watchdog heartbeat is driven by the media loop (``MediaLoop.heartbeats``), not by a timer of
its own: a media loop that stops ticking stops the heartbeats, and systemd restarts the service
after ``WatchdogSec=``. Heartbeats go out at most every half of that interval, which systemd
recommends and which keeps 50 ticks a second from turning into 50 datagrams a second.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("centralino.systemd")

SENT_KEPT = 50
HEARTBEAT_FRACTION = 0.5  # send WATCHDOG=1 every WatchdogSec * this
USEC_PER_S = 1_000_000


def socket_address(value: str) -> str | bytes:
    """``$NOTIFY_SOCKET`` as an address for ``sendto``: ``@name`` is ``b"\\0name"`` (abstract)."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def watchdog_interval_s(env: Mapping[str, str], pid: int | None = None) -> float | None:
    """``WatchdogSec=`` in seconds when it applies to this process, else None.

    systemd sets ``$WATCHDOG_USEC``; ``$WATCHDOG_PID``, when set, names the process meant to send
    the heartbeats (a child started by the service must not take them over).
    """
    usec = env.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    owner = env.get("WATCHDOG_PID", "")
    if owner and owner.strip() != str(pid if pid is not None else os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a number of microseconds; watchdog heartbeats off", usec)
        return None
    return value / USEC_PER_S if value > 0 else None


class Notifier:
    """One service's messages to systemd; every method is a no-op when not run by systemd."""

    def __init__(self, env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic):
        env = os.environ if env is None else env
        target = env.get("NOTIFY_SOCKET", "")
        self.address = socket_address(target) if target else None
        self.watchdog_s = watchdog_interval_s(env)
        self.clock = clock
        self.sent: deque[str] = deque(maxlen=SENT_KEPT)  # the last messages that went out
        self._failing = False
        self._last_beat_s: float | None = None
        self._last_status = ""
        self._sock: socket.socket | None = None
        if self.address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)  # a full notify queue must never stall the media loop

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *lines: str) -> bool:
        """Send ``lines`` as one datagram; False (and a log line) when it could not go out."""
        if self._sock is None:
            return False
        message = "\n".join(lines)
        try:
            self._sock.sendto(message.encode(), self.address)
        except OSError as err:  # systemd gone or the socket full: never a reason to stop serving calls
            if not self._failing:  # once per run of failures, not once per heartbeat
                log.warning("sd_notify %r to %s failed: %s", message, self.address, err)
            self._failing = True
            return False
        self._failing = False
        self.sent.append(message)
        return True

    def status(self, text: str) -> None:
        """A ``STATUS=`` line, shown by ``systemctl status``; repeated texts are not resent."""
        if text != self._last_status:
            self._last_status = text
            self.notify(f"STATUS={text}")

    def ready(self, text: str) -> None:
        self._last_status = text
        self.notify("READY=1", f"STATUS={text}")

    def stopping(self, text: str = "stopping") -> None:
        self._last_status = text
        self.notify("STOPPING=1", f"STATUS={text}")

    def heartbeat(self) -> None:
        """Called on every media tick; sends ``WATCHDOG=1`` when half the interval has passed."""
        if self.watchdog_s is None or self._sock is None:
            return
        now = self.clock()
        if self._last_beat_s is not None and now - self._last_beat_s < self.watchdog_s * HEARTBEAT_FRACTION:
            return
        self._last_beat_s = now
        self.notify("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def service_status(daemon) -> str:
    """One line for ``systemctl status``: ports in service and calls in progress."""
    channels = daemon.channels.values()
    in_service = sum(ch.in_service for ch in channels)
    calls = len(daemon.engine.calls) if daemon.engine else 0
    return f"ready: {in_service}/{len(daemon.channels)} ports in service, {calls} call{'s' * (calls != 1)}"


class ServiceSupervision:
    """Ties a started daemon to systemd: READY, a STATUS line kept current, heartbeats, STOPPING."""

    STATUS_EVERY_S = 1.0  # how often the heartbeat hook refreshes the STATUS line

    def __init__(self, notifier: Notifier):
        self.notifier = notifier
        self._daemon = None
        self._status_at_s: float | None = None

    def starting(self) -> None:
        self.notifier.status("starting ports")

    def ready(self, daemon) -> None:
        """The daemon is started: hook the heartbeat into its media loop, then say READY."""
        self._daemon = daemon
        daemon.media.heartbeats.append(self._beat)
        self.notifier.ready(service_status(daemon))

    def _beat(self) -> None:
        self.notifier.heartbeat()
        now = self.notifier.clock()
        if self._status_at_s is None or now - self._status_at_s >= self.STATUS_EVERY_S:
            self._status_at_s = now
            self.notifier.status(service_status(self._daemon))

    def stopping(self) -> None:
        if self._daemon is not None and self._daemon.media is not None:
            try:
                self._daemon.media.heartbeats.remove(self._beat)
            except ValueError:
                pass
        self.notifier.stopping()
