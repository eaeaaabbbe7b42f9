"""The records writer: one thread with its own SQLite connection, so no commit waits on the media clock.

The engine, the flows and the mailer hand it jobs (``submit(job)``); each ``job(stores)`` runs on
the writer's thread inside ONE transaction on ``Stores`` (``.cdr``, ``.tickets``, ``.voicemail``,
``.outbox``), in the order submitted, with the file's durability unchanged (WAL,
``synchronous=FULL``: committed means on disk). ``submit`` takes a lock only to append to the queue:
it never raises and never waits, whatever state the file is in.

A file that cannot be used never stands in front of a call. When the database cannot be opened
or written (read-only file or folder, full disk, I/O errors, another program's database at the
path) the writer keeps the jobs in memory, in order, and says so: ``status()["state"]`` becomes
``degraded`` and its listeners hear ``records.degraded``. It retries with a doubling back-off
(1 s ... 60 s) and, once the file is usable again, writes what it kept, in order, and reports
``records.restored`` when the last of it is on disk. Memory is bounded (``max_kept_jobs``,
``max_kept_bytes``, both generous): beyond it the oldest jobs are dropped first, and counted.

A damaged file (an SQLite header, pages that cannot be read) is moved aside, renamed with the
time and with its ``-wal`` and ``-shm``, and a new file takes its place: it is never overwritten,
so the technician can still recover from it. Another program's database is never touched.

A job's own mistake (a bad value, a call that is not there) is not the file's fault: that job's
future gets the error and the writer goes on. A job submitted while the file is unusable gets
``RecordsKept`` at once: its ``written`` future resolves when it is finally written.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .database import CorruptDatabase, RecordsError, move_aside, storage_trouble, trouble_text
from .stores import Stores

log = logging.getLogger("centralino.records")

JOB_SIZE_BYTES = 1024  # what a call record's job is taken to hold in memory, unless told
MAX_KEPT_JOBS = 20_000  # about a week of a busy comune's calls (three jobs a call)
MAX_KEPT_BYTES = 64 * 1024 * 1024  # voicemail jobs hold their recordings
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0
CLOSE_TIMEOUT_S = 10.0

Listener = Callable[[str, dict], None]


class RecordsKept(RecordsError):
    """The file cannot be written now: the job is kept in memory and will be written in order.

    ``written`` is a Future resolved with the job's result once it is on disk (or with
    ``RecordsLost`` if it never gets there).
    """

    def __init__(self, message: str, written: Future):
        super().__init__(message)
        self.written = written


class RecordsUnavailable(RecordsError):
    """A read (a job submitted with ``keep=False``) while the file cannot be used: nothing kept."""


class RecordsLost(RecordsError):
    """A kept job was dropped: memory was full, or the writer stopped before the file came back."""


@dataclass(eq=False)
class _Job:
    run: Callable[[Stores], object]
    future: Future
    keep: bool
    size_bytes: int
    written: Future | None = None  # set when the job is kept in memory


class RecordWriter:
    """Writes jobs into the database at ``database_path`` from a thread of its own."""

    def __init__(self, database_path, voicemail_dir=None, *, max_kept_jobs: int = MAX_KEPT_JOBS,
                 max_kept_bytes: int = MAX_KEPT_BYTES, retry_first_s: float = RETRY_FIRST_S,
                 retry_max_s: float = RETRY_MAX_S, wall_clock: Callable[[], datetime] | None = None,
                 check: bool = True):
        self.path = Path(database_path)
        self.voicemail_dir = voicemail_dir
        self.max_kept_jobs = max_kept_jobs
        self.max_kept_bytes = max_kept_bytes
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))
        self._check = check  # scan the pages once, at the first open
        self._cond = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._queued_bytes = 0
        self._running: _Job | None = None
        self._last: Future | None = None
        self._listeners: list[Listener] = []
        self._stores: Stores | None = None
        self._state = "starting"
        self._closing = False
        self._nudged = False
        self._retry_s = retry_first_s
        self._next_retry_at: float | None = None
        self._degraded_since: str | None = None
        self._kept = 0  # jobs in the queue that are kept in memory (their Future said RecordsKept)
        self._kept_written = 0  # written from memory since the last degradation
        self._restoring = False  # usable again, still writing what was kept
        self.written = 0
        self.reads = 0
        self.refused = 0
        self.dropped = 0
        self.lost_at_close = 0
        self.last_error = ""
        self.moved_aside: list[str] = []
        self._moved_reports: list[dict] = []
        self._thread = threading.Thread(target=self._main, name="records-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the callers' side
    def submit(self, job: Callable[[Stores], object], *, keep: bool = True,
               size_bytes: int | None = None) -> Future:
        """Queue ``job(stores)``; returns its Future at once. Never raises, never waits.

        ``keep=False`` is for reads: while the file is unusable they fail with
        ``RecordsUnavailable`` instead of being kept. ``size_bytes`` is what the job holds in
        memory (a recording), for the memory bound; by default the job's own ``size_bytes``
        attribute, or ``JOB_SIZE_BYTES``.
        """
        future: Future = Future()
        try:
            dropped, early = self._enqueue(job, future, keep, size_bytes)
        except Exception as err:  # a caller's mistake (a size that is not a number...) stays in its Future
            dropped, early = [], err
        if early is not None:
            future.set_exception(early)
        for old in dropped:
            self._lose(old, f"{self.path}: dropped from memory (more than {self.max_kept_jobs} writes "
                            f"or {self.max_kept_bytes // 2**20} MiB waiting for the file)")
        return future

    def _enqueue(self, job, future: Future, keep: bool, size_bytes) -> tuple[list[_Job], BaseException | None]:
        """Append the job (under the lock); returns the jobs dropped for it and an error to give at once."""
        if size_bytes is None:
            size_bytes = getattr(job, "size_bytes", JOB_SIZE_BYTES)
        size_bytes = max(0, int(size_bytes))
        with self._cond:
            if self._closing:
                return [], RecordsLost(f"{self.path}: the record writer is stopped; not written")
            if self._state == "degraded" and not keep:
                return [], RecordsUnavailable(f"{self.path}: cannot be read now ({self.last_error})")
            item = _Job(job, future, keep, size_bytes)
            kept = self._keep(item) if self._state == "degraded" else None
            self._queue.append(item)
            self._queued_bytes += item.size_bytes
            dropped = self._enforce_bound()
            self._last = future
            self._cond.notify_all()
        return dropped, kept

    async def run(self, job: Callable[[Stores], object], *, keep: bool = True, size_bytes: int | None = None):
        """``submit`` and await the result (raises what the job raised, or ``RecordsKept``)."""
        return await asyncio.wrap_future(self.submit(job, keep=keep, size_bytes=size_bytes))

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every job submitted so far is on disk or known to be kept in memory."""
        with self._cond:
            last = self._last
        if last is None:
            return True
        done, _ = wait_futures([last], timeout=timeout_s)
        return bool(done)

    def retry_now(self) -> None:
        """Try the file again at once instead of at the next back-off (the technician fixed it)."""
        with self._cond:
            self._nudged = True
            self._retry_s = self.retry_first_s
            self._cond.notify_all()

    def add_listener(self, listener: Listener) -> None:
        """``listener(kind, details)``: records.degraded / records.restored / records.moved_aside.

        Called on the writer's thread (so it must only take note, e.g. hand over to the loop with
        ``call_soon_threadsafe``). A listener added late hears at once what it missed: the files
        moved aside and the outage in progress, each exactly once.
        """
        with self._cond:
            self._listeners.append(listener)
            missed = [("records.moved_aside", moved) for moved in self._moved_reports]
            if self._state == "degraded":
                missed.append(("records.degraded", {"reason": self.last_error, "pending": len(self._queue)}))
        self._tell(missed, [listener])

    def status(self) -> dict:
        with self._cond:
            retry_in = None
            if self._next_retry_at is not None:
                retry_in = round(max(0.0, self._next_retry_at - time.monotonic()), 1)
            return {"state": self._state, "path": str(self.path), "pending": len(self._queue),
                    "kept": self._kept,
                    "written": self.written, "reads": self.reads, "refused": self.refused, "dropped": self.dropped,
                    "lost_at_close": self.lost_at_close, "last_error": self.last_error,
                    "degraded_since": self._degraded_since, "retry_in_s": retry_in,
                    "moved_aside": list(self.moved_aside)}

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Write what can be written (one last try if the file is unusable), then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("records: the writer did not stop within %g s (a commit is stuck on %s)", timeout_s, self.path)

    # ------------------------------------------------------------------ memory
    def _keep(self, job: _Job) -> RecordsKept:
        """Mark ``job`` as kept in memory (under the lock); its Future gets the returned error."""
        job.written = Future()
        self._kept += 1
        return RecordsKept(f"{self.path}: cannot be written now ({self.last_error}); kept in memory",
                           job.written)

    def _enforce_bound(self) -> list[_Job]:
        """Drop the oldest jobs beyond the bounds (under the lock); never the one being written."""
        dropped = []
        while len(self._queue) > self.max_kept_jobs or (self._queued_bytes > self.max_kept_bytes
                                                        and len(self._queue) > 1):
            victim = next((job for job in self._queue if job is not self._running), None)
            if victim is None:
                break
            self._unqueue(victim)
            self.dropped += 1
            dropped.append(victim)
        if dropped and self.dropped == len(dropped):
            log.error("records: memory for unwritten records is full; dropping the oldest (%s)", self.path)
        return dropped

    def _unqueue(self, job: _Job) -> None:
        """Take ``job`` out of the queue (under the lock), keeping the counters right."""
        self._queue.remove(job)
        self._queued_bytes -= job.size_bytes
        if job.written is not None:
            self._kept -= 1

    @staticmethod
    def _lose(job: _Job, message: str) -> None:
        target = job.written if job.written is not None else job.future
        if not target.done():
            target.set_exception(RecordsLost(message))

    # ------------------------------------------------------------------ the writer's thread
    def _main(self) -> None:
        try:
            self._serve()
        except Exception:  # a bug here must not pass silently: what is queued is reported lost
            log.exception("records: the writer thread failed")
        finally:
            self._stop()

    def _serve(self) -> None:
        while True:
            with self._cond:
                if self._stores is None:
                    if self._state == "degraded" and not self._closing:  # back-off before the next try
                        delay = self._retry_s
                        self._next_retry_at = time.monotonic() + delay
                        self._cond.wait_for(lambda: self._closing or self._nudged, timeout=delay)
                        self._nudged = False
                        self._next_retry_at = None
                else:
                    self._cond.wait_for(lambda: self._queue or self._closing)
                closing = self._closing
                if closing and not self._queue and self._stores is not None:
                    return
            if self._stores is None and not self._open():
                if closing:
                    return
                continue
            with self._cond:
                job = self._queue[0] if self._queue else None
                self._running = job
            if job is None:
                self._mark_usable()
                if closing:
                    return
                continue
            usable = self._execute(job)
            if not usable and closing and self._state == "degraded":
                return

    def _open(self) -> bool:
        """Open the file (moving a damaged one aside first); False when it cannot be used now."""
        for _attempt in range(2):  # once, and once more after moving a damaged file aside
            try:
                self._stores = Stores.open(self.path, self.voicemail_dir, check=self._check)
            except CorruptDatabase as err:
                if not self._move_aside(str(err)):
                    return False
                continue
            except Exception as err:  # read-only, full, foreign, I/O...: memory until it is usable
                self._degrade(err)
                return False
            self._check = False
            return True
        self._degrade(RecordsError(f"{self.path}: still damaged after moving the old file aside"))
        return False

    def _execute(self, job: _Job) -> bool:
        """Write ``job``; True when the file is usable (the job written or refused on its own merits)."""
        try:
            result = self._stores.run(job.run)
        except Exception as err:
            trouble = storage_trouble(err)
            if trouble is None:
                self._done(job, error=err)
                return True
            self._close_stores()
            if trouble is CorruptDatabase:
                self._move_aside(f"{self.path}: damaged while writing ({trouble_text(err)})")
                return True  # reopened at the next pass: a new file
            self._degrade(err)
            return False
        self._done(job, result=result)
        return True

    def _done(self, job: _Job, result=None, error: BaseException | None = None) -> None:
        with self._cond:
            if self._queue and self._queue[0] is job:
                self._unqueue(job)
            self._running = None
            if error is None:
                if job.keep:
                    self.written += 1
                else:
                    self.reads += 1
                if job.written is not None:
                    self._kept_written += 1
            else:
                self.refused += 1
        target = job.written if job.written is not None else job.future
        self._mark_usable()  # refused on its own merits or written: the file works
        if error is None:
            if not target.done():
                target.set_result(result)
        else:
            if job.keep:  # a read that failed is its caller's business; a write refused is a bug to see
                log.error("records: a record was refused and not written: %s", error)
            if not target.done():
                target.set_exception(error)

    def _mark_usable(self) -> None:
        """After a write (or an open with nothing to write): the file is usable. Once what was kept
        in memory is all written, the outage is over (``records.restored``)."""
        with self._cond:
            previous, self._state = self._state, "ok"
            self._retry_s = self.retry_first_s
            if previous == "degraded":
                self._degraded_since = None
                self._restoring = True
            over = self._restoring and self._kept == 0
            if over:
                self._restoring = False
                written, self._kept_written = self._kept_written, 0
            listeners = list(self._listeners)
        if over:
            self._give_back_space()
            log.warning("records: %s is writable again; %d record(s) kept in memory written", self.path, written)
            self._tell([("records.restored", {"written": written})], listeners)

    def _degrade(self, err: BaseException) -> None:
        reason = trouble_text(err)
        if not reason.startswith(str(self.path)):
            reason = f"{self.path}: {reason}"
        resolve: list[tuple[Future, BaseException]] = []
        with self._cond:
            self._running = None
            previous, self._state = self._state, "degraded"
            changed = reason != self.last_error
            self.last_error = reason
            if previous != "degraded":
                self._degraded_since = self.wall_clock().astimezone(timezone.utc).isoformat(timespec="seconds")
                if not self._restoring:
                    self._kept_written = 0
                self._restoring = False
            else:
                self._retry_s = min(self._retry_s * 2, self.retry_max_s)
            for job in list(self._queue):
                if job.written is not None:
                    continue
                if job.keep:
                    resolve.append((job.future, self._keep(job)))
                else:
                    self._unqueue(job)
                    resolve.append((job.future, RecordsUnavailable(f"{reason}; not read")))
            pending = len(self._queue)
            listeners = list(self._listeners)
        for future, error in resolve:
            if not future.done():
                future.set_exception(error)
        if previous != "degraded":
            log.error("records: %s; calls go on and their records are kept in memory (%d waiting), "
                      "retrying every %g-%g s", reason, pending, self.retry_first_s, self.retry_max_s)
            self._tell([("records.degraded", {"reason": reason, "pending": pending})], listeners)
        elif changed:
            log.error("records: still unusable: %s (%d record(s) in memory)", reason, pending)

    def _move_aside(self, reason: str) -> bool:
        """Rename the damaged file (and its -wal, -shm) with the time; False if it cannot be moved."""
        try:
            target = move_aside(self.path, self.wall_clock())
        except OSError as err:
            self._degrade(RecordsError(f"{reason}; cannot move it aside ({err.strerror or err})"))
            return False
        report = {"reason": reason, "moved_to": str(target)}
        with self._cond:
            self.moved_aside.append(str(target))
            self._moved_reports.append(report)
            self.last_error = reason
            listeners = list(self._listeners)
        log.error("records: %s; moved aside to %s (kept for recovery) and a new database started", reason, target)
        self._tell([("records.moved_aside", report)], listeners)
        return True

    def _give_back_space(self) -> None:
        """After an outage the WAL holds everything written from memory: fold it into the file and
        truncate it, so a disk that was full gets its space back at once."""
        if self._stores is not None:
            try:
                self._stores.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            except Exception as err:  # the next automatic checkpoint will do it
                log.debug("records: checkpoint after the outage failed: %s", err)

    def _close_stores(self) -> None:
        if self._stores is not None:
            try:
                self._stores.close()
            except Exception:
                log.debug("records: closing a failed connection", exc_info=True)
            self._stores = None

    def _stop(self) -> None:
        self._close_stores()
        with self._cond:
            self._closing = True
            self._state = "closed"
            left = list(self._queue)
            self._queue.clear()
            self._queued_bytes = self._kept = 0
            self.lost_at_close += len(left)
        if left:
            log.error("records: %d record(s) could not be written before the stop (%s): lost",
                      len(left), self.last_error or "the writer stopped")
        for job in left:
            self._lose(job, f"{self.path}: not written before the stop ({self.last_error})")

    @staticmethod
    def _tell(reports: list[tuple[str, dict]], listeners: list[Listener]) -> None:
        for kind, details in reports:
            for listener in listeners:
                try:
                    listener(kind, dict(details))
                except Exception:
                    log.exception("records: a listener failed on %s", kind)
