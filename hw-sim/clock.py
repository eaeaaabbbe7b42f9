"""A virtual clock for asyncio, so that an hour of switchboard traffic runs in seconds.

The loop's ``time()`` is virtual. When no real file descriptor is ready and the loop would
sleep until its next timer, the clock jumps straight to that timer instead of waiting. Real I/O
(pipes, ptys, sockets registered with ``add_reader``) is still polled on every pass, so the same
code runs on it unchanged; only waiting is skipped. Everything is deterministic: timers fire in
order of their virtual deadline, as they would in real time.

Work handed to a thread pool (``asyncio.to_thread``, an executor's ``submit``: a file written and
synced, sentences synthesised) takes no virtual time: while such a job runs, the loop waits for it
in real time instead of jumping ahead, as if the call had been made in line. Otherwise a slow disk
would let minutes of virtual time pass during one fsync, and a test saying "until 09:05" at 09:00
could find it is already past. A job still running after ``THREAD_HOLD_S`` real seconds lets time
move again (it may be waiting for something that only virtual time brings).
"""

from __future__ import annotations

import asyncio
import selectors
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Virtual time starts here rather than at 0, so that code treating 0 as "never" still works.
VIRTUAL_EPOCH_S = 1000.0
THREAD_HOLD_S = 5.0  # real seconds a thread pool's job may hold virtual time still
THREAD_POLL_S = 0.002  # the real wait between looks while a job runs


class _ThreadJobs:
    """The thread pools' jobs running now (every pool of the process, while a virtual loop runs)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.running = 0
        self.since = 0.0  # time.monotonic() when the first of the running jobs started

    def started(self) -> None:
        with self._lock:
            if self.running == 0:
                self.since = time.monotonic()
            self.running += 1

    def finished(self, _future=None) -> None:
        with self._lock:
            self.running -= 1

    def hold(self) -> bool:
        """Whether virtual time stands still now: a job runs, and not for too long yet."""
        with self._lock:
            return self.running > 0 and time.monotonic() - self.since < THREAD_HOLD_S


_JOBS = _ThreadJobs()
_submit = ThreadPoolExecutor.submit


def _counted_submit(executor, fn, /, *args, **kwargs):
    _JOBS.started()  # before the job can end
    try:
        future = _submit(executor, fn, *args, **kwargs)
    except BaseException:
        _JOBS.finished()
        raise
    future.add_done_callback(_JOBS.finished)
    return future


class _SkippingSelector(selectors.DefaultSelector):
    """Polls real descriptors without blocking and reports how long the loop wanted to wait."""

    def __init__(self, loop: "VirtualClockLoop"):
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None):
        ready = super().select(0)
        if ready or timeout is None or timeout <= 0:
            if timeout is None and not ready:
                if not self._loop.has_real_readers() and threading.active_count() == 1:
                    # the last worker thread may have woken the loop just before it ended (the
                    # executor's shutdown does): look once more now that no thread is left
                    ready = super().select(0)
                    if ready:
                        return ready
                    raise RuntimeError("virtual clock: nothing scheduled and no I/O to wait for (deadlock)")
                return super().select(None)
            return ready
        if _JOBS.hold():  # a thread's job takes no virtual time: wait for it in real time
            return super().select(min(timeout, THREAD_POLL_S))
        self._loop.advance(timeout)
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer whenever it would otherwise sleep."""

    def __init__(self, start_s: float = VIRTUAL_EPOCH_S):
        self._now_s = start_s
        super().__init__(_SkippingSelector(self))

    def time(self) -> float:
        return self._now_s

    def advance(self, seconds: float) -> None:
        self._now_s += seconds

    def has_real_readers(self) -> bool:
        # The loop's own self-pipe is always registered; anything beyond it is real I/O.
        return len(self._selector.get_map()) > 1


def run(main: Callable[[], Awaitable[T]], *, virtual: bool = True) -> T:
    """Run ``main()`` to completion on a virtual-clock loop, or on a normal one in real time."""
    factory = VirtualClockLoop if virtual else None
    if virtual:
        ThreadPoolExecutor.submit = _counted_submit
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main())
    finally:
        if virtual:
            ThreadPoolExecutor.submit = _submit
