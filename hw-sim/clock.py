"""A virtual clock for asyncio, so that an hour of switchboard traffic runs in seconds.

The loop's ``time()`` is virtual. When no real file descriptor is ready and the loop would
sleep until its next timer, the clock jumps straight to that timer instead of waiting. Real I/O
(pipes, ptys, sockets registered with ``add_reader``) is still polled on every pass, so the same
code runs on it unchanged; only waiting is skipped. Everything is deterministic: timers fire in
order of their virtual deadline, as they would in real time.
"""

from __future__ import annotations

import asyncio
import selectors
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Virtual time starts here rather than at 0, so that code treating 0 as "never" still works.
VIRTUAL_EPOCH_S = 1000.0


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
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())
