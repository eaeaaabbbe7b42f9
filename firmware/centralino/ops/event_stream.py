"""The control socket's event stream: ``{"cmd": "events"}`` turns a connection into JSON lines.

The web service (and anyone in the service's group) asks once, optionally for some kinds
(``{"cmd": "events", "kinds": ["call.*", "port.faulty"]}``), gets one answer line
``{"ok": true, "result": {"streaming": [...], "queue": N}}`` and then one line per event
(``Event.as_dict()``) until it hangs up.

A listener must never slow the daemon: the bus handler only appends to this client's bounded
queue (``QUEUE_EVENTS``). A client that does not read fast enough loses the oldest events; the
next line it gets says how many (``{"event": "stream.lost", "lost": N}``) so a live page knows to
reload its figures instead of trusting a count that missed some.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque

log = logging.getLogger("centralino.events")

QUEUE_EVENTS = 1000  # per client: a few minutes of a busy morning's call events
LOST_KIND = "stream.lost"
MAX_KINDS = 32
KIND = re.compile(r"\*|[a-z_]+(\.[a-z_]+)*(\.\*)?")  # "*", "call.ended", "call.*"


class StreamRequestError(ValueError):
    """An events request the daemon cannot serve (bad kinds, no bus)."""


def requested_kinds(line: bytes) -> list[str] | None:
    """The kinds of an events request, or None when ``line`` is some other request."""
    try:
        request = json.loads(line)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8): handle_request answers it
        return None
    if not isinstance(request, dict) or request.get("cmd") != "events":
        return None
    kinds = request.get("kinds", ["*"])
    if (not isinstance(kinds, list) or not kinds or len(kinds) > MAX_KINDS
            or not all(isinstance(k, str) and KIND.fullmatch(k) for k in kinds)):
        raise StreamRequestError('events: kinds must be a list of event kinds such as ["call.*", "port.faulty"]')
    return kinds


class ClientQueue:
    """One client's pending events: bounded, oldest dropped first, losses counted."""

    def __init__(self, capacity: int = QUEUE_EVENTS):
        self.events: deque = deque(maxlen=capacity)
        self.lost = 0
        self.wakeup = asyncio.Event()

    def put(self, event) -> None:
        """The bus handler: O(1), never waits, never raises."""
        if len(self.events) == self.events.maxlen:
            self.lost += 1
        self.events.append(event)
        self.wakeup.set()

    def take(self) -> tuple[int, list]:
        """Everything queued now, and how many were lost before it."""
        lost, self.lost = self.lost, 0
        events = list(self.events)
        self.events.clear()
        self.wakeup.clear()
        return lost, events


async def serve(daemon, kinds: list[str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                capacity: int = QUEUE_EVENTS) -> None:
    """Stream the bus's events of ``kinds`` to one client until it hangs up."""
    bus = getattr(daemon, "bus", None)
    if bus is None:
        raise StreamRequestError("events: this daemon publishes no events")
    queue = ClientQueue(capacity)
    unsubscribe = [bus.subscribe(kind, queue.put) for kind in kinds]
    hung_up = asyncio.ensure_future(_until_eof(reader))
    try:
        writer.write(_line({"ok": True, "result": {"streaming": kinds, "queue": capacity}}))
        await writer.drain()
        while not hung_up.done():
            waiting = asyncio.ensure_future(queue.wakeup.wait())
            await asyncio.wait({waiting, hung_up}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            lost, events = queue.take()
            if lost:
                writer.write(_line({"event": LOST_KIND, "at_s": round(bus.clock(), 3), "lost": lost}))
            for event in events:
                writer.write(_line(event.as_dict()))
            await writer.drain()
    except asyncio.CancelledError:  # the daemon is stopping: this connection's task just ends
        pass
    finally:
        hung_up.cancel()
        for stop in unsubscribe:
            stop()


async def _until_eof(reader: asyncio.StreamReader) -> None:
    """A streaming client sends nothing more; whatever it sends is read and ignored until EOF."""
    try:
        while await reader.read(4096):
            pass
    except ConnectionError:
        pass


def _line(data: dict) -> bytes:
    return json.dumps(data, default=str).encode() + b"\n"
