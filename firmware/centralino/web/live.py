"""Live pages: one event stream from the daemon, fanned out to every browser's server-sent events.

The web service holds a single ``{"cmd": "events"}`` connection (reconnected when the daemon
restarts). Each browser page that wants live figures subscribes to a topic: ``wallboard`` and
``calls`` are snapshots the hub fetches again when a call event arrives (one control request
however many screens watch, never more than one in flight per topic; events that arrive during
a fetch cause exactly one more, and the wallboard is fetched at most four times a second),
``events`` passes the daemon's events through as they come.

Every browser has a bounded queue: a screen on a slow network loses the oldest messages, never
slows the hub, and snapshots make up for a lost one at the next change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from .control_client import OPENED, ControlClient, DaemonRefused, DaemonUnavailable

log = logging.getLogger("centralino.web.live")

STREAM_KINDS = ["call.*", "engine.*", "port.*", "service.*", "failover.*", "emergency.*", "stream.*"]
SNAPSHOTS = {"wallboard": ("wallboard",), "calls": ("calls",)}
# The least time between two fetches of a topic while events keep coming: the wallboard's figures
# cost the daemon a few milliseconds of its loop each (today's statistics), so a burst of events
# costs it at most four of them a second; the first fetch after a quiet moment is immediate.
MIN_INTERVAL_S = {"wallboard": 0.25, "calls": 0.0}
RECONNECT_S = (0.5, 1.0, 2.0, 5.0)
SUBSCRIBER_QUEUE = 100


class Subscriber:
    """One browser connection: what it wants, and what waits to be sent to it."""

    def __init__(self, topics: set[str], offices: set[str] | None = None, capacity: int = SUBSCRIBER_QUEUE):
        self.topics = topics
        self.offices = offices  # None: every office
        self.messages: deque = deque(maxlen=capacity)
        self.lost = 0
        self.ready = asyncio.Event()

    def put(self, topic: str, data) -> None:
        if len(self.messages) == self.messages.maxlen:
            self.lost += 1
        self.messages.append((topic, data))
        self.ready.set()

    async def next(self, timeout_s: float) -> list[tuple[str, object]]:
        """The waiting messages (empty after ``timeout_s``: time for a keep-alive)."""
        try:
            await asyncio.wait_for(self.ready.wait(), timeout_s)
        except asyncio.TimeoutError:
            return []
        self.ready.clear()
        out = list(self.messages)
        self.messages.clear()
        return out


class LiveHub:
    def __init__(self, client: ControlClient):
        self.client = client
        self.subscribers: set[Subscriber] = set()
        self.latest: dict[str, object] = {}
        self.daemon_up = False
        self.events_seen = 0
        self._fetching: dict[str, asyncio.Task] = {}
        self._dirty: set[str] = set()
        self._last_fetch: dict[str, float] = {}
        self.fetches: dict[str, int] = {}  # control requests made per topic (tests, the bench)
        self._task: asyncio.Task | None = None

    # -- life cycle
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="live-hub")

    async def stop(self) -> None:
        for task in [self._task, *self._fetching.values()]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in [self._task, *self._fetching.values()] if t), return_exceptions=True)

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                async for event in self.client.events(STREAM_KINDS):
                    if event.get("event") == OPENED:
                        self._set_up(True)
                        failures = 0
                        continue
                    self._dispatch(event)
            except (DaemonUnavailable, DaemonRefused) as err:
                log.debug("event stream: %s", err)
            if self.daemon_up:
                self._set_up(False)
            await asyncio.sleep(RECONNECT_S[min(failures, len(RECONNECT_S) - 1)])
            failures += 1

    def _set_up(self, up: bool) -> None:
        self.daemon_up = up
        if not up:  # a snapshot still on its way would show old figures as if they were current
            for task in self._fetching.values():
                task.cancel()
            self._dirty.clear()
        log.log(logging.INFO if up else logging.WARNING, "daemon event stream %s", "connected" if up else "lost")
        for sub in self.subscribers:
            sub.put("daemon", {"up": up})
        if up:
            for topic in SNAPSHOTS:
                self.refresh(topic)

    # -- fan-out
    def subscribe(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)
        for topic in sub.topics & set(SNAPSHOTS):
            self.refresh(topic)

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def _dispatch(self, event: dict) -> None:
        self.events_seen += 1
        event = {**event, "relayed_at": time.time()}
        for sub in self.subscribers:
            if "events" in sub.topics:
                sub.put("events", event)
        kind = event.get("event", "")
        if kind.startswith(("call.", "engine.", "port.", "stream.")):
            for topic in SNAPSHOTS:
                self.refresh(topic)

    def refresh(self, topic: str) -> None:
        """Fetch ``topic`` again, now or right after the fetch in flight."""
        if not any(topic in sub.topics for sub in self.subscribers):
            return
        if topic in self._fetching:
            self._dirty.add(topic)
            return
        self._fetching[topic] = asyncio.get_running_loop().create_task(self._fetch(topic))

    async def _fetch(self, topic: str) -> None:
        try:
            while True:
                now = asyncio.get_running_loop().time()
                wait_s = self._last_fetch.get(topic, -1e9) + MIN_INTERVAL_S.get(topic, 0.0) - now
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                self._last_fetch[topic] = asyncio.get_running_loop().time()
                self._dirty.discard(topic)
                self.fetches[topic] = self.fetches.get(topic, 0) + 1
                try:
                    data = await self.client.ask(*SNAPSHOTS[topic])
                except (DaemonUnavailable, DaemonRefused) as err:
                    log.debug("live %s: %s", topic, err)
                    return
                if not self.daemon_up:
                    return
                data = {**data, "fetched_at": time.time()} if isinstance(data, dict) else data
                self.latest[topic] = data
                for sub in list(self.subscribers):
                    if topic in sub.topics:
                        sub.put(topic, data)
                if topic not in self._dirty:
                    return
        finally:
            self._fetching.pop(topic, None)
