"""The daemon's event bus: the call engine says what happened, and whoever cares listens.

The engine publishes (``call.started``, ``call.answered``, ``call.ended``, ``port.faulty``...);
the call records, the status LEDs, the console's event stream, the web side and the tests
subscribe. Nothing that listens is called by name from inside the engine, so a record that cannot
be written, an LED driver that fails or a slow web client can never stand in front of a call.

Publishing never raises and never waits: handlers run at once, on the publisher's thread (the
asyncio loop), and must only take note or hand work to a queue. A handler that raises is logged
(once per handler and kind, so a broken one cannot flood the journal) and the others still run.

Kinds are dotted words; a subscription names one kind (``call.ended``), every kind of a family
(``call.*``) or everything (``*``). The published kinds are listed in ``KINDS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("centralino.events")

# What the engine and its services publish, with the details each carries (the call record's
# fields keep the names of ``records.cdr.CdrStore``'s arguments).
KINDS = {
    "call.started": "call_id, started_at, direction, caller, called, caller_name, ports, route, emergency, crisis",
    "call.updated": "call_id and the fields that changed (caller, caller_name, answered_at, route...)",
    "call.answered": "call_id, answered_at, by (the extension or line that answered)",
    "call.ended": "call_id, ended_at, disposition, cause, answered_at, route, transfer_chain, ports, "
                  "called, caller, caller_name, office, queued_s, overflowed, emergency",
    "call.discarded": "call_id (an enquiry call merged into another by a transfer)",
    "call.recorded": "call_id (its finished record is on the file: figures read from it are current)",
    "port.faulty": "port, reason",
    "port.restored": "port",
    "emergency.placing": "call_id, number, path",
    "emergency.path_failed": "call_id, number, path, reason",
    "emergency.ringing": "call_id, number, path, after_s (from the last digit to the far end ringing)",
    "emergency.failed": "call_id, number, reason (no path left)",
    "records.degraded": "reason, pending (records kept in memory)",
    "records.restored": "written (records written from memory)",
    "records.moved_aside": "reason, moved_to (a damaged database renamed, never overwritten)",
    "failover.changed": "active, reason",
    "config.reloaded": "changed (one line per change: a new configuration taken on without a restart)",
    "service.mode": "mode, by",
    "engine.*": "the engine's live log: dialled, ringing, answered, ended, hold, transfer...",
}

Handler = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    kind: str
    at_s: float  # on the media clock
    details: dict = field(default_factory=dict)

    def __getitem__(self, name: str):
        return self.details[name]

    def get(self, name: str, default=None):
        return self.details.get(name, default)

    def as_dict(self) -> dict:
        return {"event": self.kind, "at_s": round(self.at_s, 3), **self.details}


class EventBus:
    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._exact: dict[str, list[Handler]] = {}
        self._families: dict[str, list[Handler]] = {}  # "call" for "call.*", "" for "*"
        self._reported: set[tuple[int, str]] = set()
        self.published = 0
        self.handler_errors = 0

    def subscribe(self, kind: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler(event)`` for ``kind`` ("call.ended", "call.*" or "*"); returns the way to stop."""
        if kind == "*":
            table, key = self._families, ""
        elif kind.endswith(".*"):
            table, key = self._families, kind[:-2]
        else:
            table, key = self._exact, kind
        table.setdefault(key, []).append(handler)

        def unsubscribe() -> None:
            handlers = table.get(key, [])
            if handler in handlers:
                handlers.remove(handler)
        return unsubscribe

    def publish(self, kind: str, **details) -> Event:
        """Tell every subscriber of ``kind``; never raises."""
        event = Event(kind, self.clock(), details)
        self.published += 1
        family = kind.split(".", 1)[0]
        for handler in (*self._exact.get(kind, ()), *self._families.get(family, ()), *self._families.get("", ())):
            try:
                handler(event)
            except Exception:  # a listener's fault is its own
                self.handler_errors += 1
                key = (id(handler), kind)
                if key not in self._reported:
                    self._reported.add(key)
                    log.exception("event handler %r failed on %s (reported once)", handler, kind)
        return event

    def status(self) -> dict:
        return {"published": self.published, "handler_errors": self.handler_errors,
                "subscribers": sum(len(h) for h in (*self._exact.values(), *self._families.values()))}
