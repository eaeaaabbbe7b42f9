"""The crisis service's state: on or off, when it ends, and a window ahead; kept on disk.

A crisis (Protezione Civile) must not silently vanish when the daemon restarts (a power cut, an
update): every change is written at once to ``crisis.json`` in the daemon's state folder (beside
the records database, ``/var/lib/centralino``), atomically (a new file, fsync, rename, fsync of
the folder; on a thread of its own, never on the loop that carries calls), and read back at
start. What came due while the daemon was down is applied then: a
window whose start has passed is on, one whose end has passed is gone.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

log = logging.getLogger("centralino.flows")

FILE_NAME = "crisis.json"
# one thread writes the file, in the order of the changes, so the fsyncs never hold up the loop
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crisis-state")


@dataclass(frozen=True)
class CrisisState:
    active: bool = False
    until: datetime | None = None  # when the crisis on now ends by itself (None: by hand)
    starts: datetime | None = None  # a window ahead: when it starts ...
    ends: datetime | None = None  # ... and ends

    @property
    def scheduled(self) -> bool:
        return self.starts is not None

    def next_change(self) -> datetime | None:
        """The next moment the state changes by itself."""
        moments = [t for t in ((self.until if self.active else None), self.starts) if t is not None]
        return min(moments) if moments else None

    def at(self, now: datetime) -> tuple["CrisisState", str | None]:
        """The state at ``now`` and what happened since (``started``, ``ended`` or None)."""
        state, happened = self, None
        if state.starts is not None and now >= state.starts:
            if now < state.ends:
                state, happened = CrisisState(True, state.ends), "started"
            else:
                state = replace(state, starts=None, ends=None)
        if state.active and state.until is not None and now >= state.until:
            state, happened = replace(state, active=False, until=None), "ended"
        return state, happened

    def as_json(self) -> dict:
        def text(t):
            return t.isoformat() if t is not None else None
        return {"active": self.active, "until": text(self.until), "starts": text(self.starts), "ends": text(self.ends)}

    @classmethod
    def from_json(cls, data: dict) -> "CrisisState":
        def when(key):
            value = data.get(key)
            moment = datetime.fromisoformat(value) if value else None
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{key}: {value!r} has no time zone")
            return moment
        state = cls(bool(data.get("active")), when("until"), when("starts"), when("ends"))
        if (state.starts is None) != (state.ends is None):
            raise ValueError("a window needs both starts and ends")
        return state


def load(folder: Path | None) -> CrisisState:
    """The state kept in ``folder`` (none kept, or unreadable: off, said in the log)."""
    if folder is None:
        return CrisisState()
    path = Path(folder) / FILE_NAME
    try:
        return CrisisState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return CrisisState()
    except (OSError, ValueError, TypeError, AttributeError) as err:
        log.error("%s: the crisis state cannot be read (%s); the service starts as automatic", path, err)
        return CrisisState()


def save_soon(folder: Path, state: CrisisState) -> Future:
    """``save`` on the state's own writer thread; the Future says whether it was written."""
    return _WRITER.submit(save, folder, state)


def save(folder: Path | None, state: CrisisState) -> bool:
    """Write ``state`` atomically into ``folder``; False (and the log says why) when it cannot be."""
    if folder is None:
        return True
    path = Path(folder) / FILE_NAME
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(state.as_json(), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        log.error("%s: the crisis state cannot be written (%s); it is not kept across a restart", path,
                  err.strerror or err)
        return False
    return True
