"""sippy inside the asyncio daemon: one SIP thread, and a bridge each way.

sippy runs its own event dispatcher (``ED2``): timers, retransmissions and received datagrams are
all handled in the thread that runs ``ED2.loop()``. That thread is started once per process and
kept (ED2 is a process-wide singleton that wakes its own thread with a signal: a second thread
would leave it signalling a dead one), and sippy is first imported in it so that ED2 belongs to it.
A ``SipStack`` is the per-daemon part: its sockets and transaction manager live on that thread.

Crossing over: ``in_sip(fn, ...)`` runs ``fn`` on the SIP thread, ``to_loop(fn, ...)`` runs it
on the asyncio loop. Nothing else is shared, so channel code never touches a sippy object and
sippy callbacks never touch a channel.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("centralino.sip")

START_TIMEOUT_S = 5.0


class SipThread:
    """The one thread that runs sippy's dispatcher; work is handed to it as callables."""

    _instance: "SipThread | None" = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> "SipThread":
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self):
        self._boot: queue.Queue = queue.Queue()
        self._ed2 = None
        self.thread = threading.Thread(target=self._run, name="sip", daemon=True)
        self.thread.start()
        kind, value = self._boot.get(timeout=START_TIMEOUT_S)
        if kind == "error":
            raise value

    def _run(self) -> None:
        try:
            from sippy.Core.EventDispatcher import ED2  # first import: ED2 is created on this thread
            from threading import get_ident

            ED2.my_ident = get_ident()
            self._ed2 = ED2
        except Exception as err:  # sippy missing or broken: the daemon runs without SIP
            self._boot.put(("error", err))
            return
        self._boot.put(("ok", None))
        while True:
            try:
                ED2.loop()
            except Exception:
                log.exception("SIP dispatcher stopped on an error; restarting it")

    def call(self, fn: Callable, *args) -> None:
        """Run ``fn(*args)`` on the SIP thread, soon (never blocks the caller)."""
        self._ed2.callFromThread(self._guarded, fn, args)

    def call_sync(self, fn: Callable, *args, timeout_s: float = START_TIMEOUT_S):
        """Run ``fn(*args)`` on the SIP thread and wait for its result (start and stop only)."""
        if threading.current_thread() is self.thread:
            return fn(*args)
        done: queue.Queue = queue.Queue()

        def job():
            try:
                done.put((True, fn(*args)))
            except BaseException as err:  # handed back to the caller
                done.put((False, err))

        self._ed2.callFromThread(job)
        ok, value = done.get(timeout=timeout_s)
        if not ok:
            raise value
        return value

    @staticmethod
    def _guarded(fn: Callable, args) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("SIP thread: %s failed", getattr(fn, "__qualname__", fn))


class SipStack:
    """One listening SIP endpoint and its transaction manager, plus the bridge to the loop.

    ``core_factory(stack)`` builds, on the SIP thread, the object whose ``recv_request(req, sip_t)``
    answers requests that start no known dialog (registrar, new calls, OPTIONS). The core may also
    have ``admission`` (overload.Admission), ``is_emergency(number)`` and ``has_authenticated(host)``,
    which the transaction manager uses (see wire.TransactionManager)."""

    def __init__(self, host: str, port: int, core_factory: Callable):
        self.host = host
        self.port = port
        self.core_factory = core_factory
        self.core = None
        self.global_config: dict | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: SipThread | None = None
        self.malformed = 0

    # -- bridges
    def in_sip(self, fn: Callable, *args) -> None:
        self.thread.call(fn, *args)

    def to_loop(self, fn: Callable, *args) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn, *args)

    # -- life cycle
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.thread = await asyncio.to_thread(SipThread.get)
        await asyncio.to_thread(self.thread.call_sync, self._start_in_sip)
        log.info("SIP listening on %s:%d (udp)", self.host, self.port)

    def _start_in_sip(self) -> None:
        from . import wire

        self.global_config = wire.make_config(self.host, self.port)
        self.core = self.core_factory(self)
        core = self.core
        self.global_config["_sip_tm"] = wire.TransactionManager(
            self.global_config, core.recv_request, self._on_malformed, core.dropped,
            admission=getattr(core, "admission", None),
            emergency=getattr(core, "is_emergency", lambda number: False),
            has_authenticated=getattr(core, "has_authenticated", lambda host: True))
        self.port = self.global_config["_sip_tm"].bound_port()
        self.global_config["_sip_tm"].enlarge_receive_buffer()
        self.core.started()

    @property
    def transactions(self):
        return self.global_config.get("_sip_tm") if self.global_config else None

    def _on_malformed(self, source: str, problem: str) -> None:
        self.malformed += 1
        self.core.refused(source, "malformed", problem)

    async def stop(self) -> None:
        if self.thread is None or self.global_config is None:
            return
        await asyncio.to_thread(self.thread.call_sync, self._stop_in_sip)
        self.loop = None

    def _stop_in_sip(self) -> None:
        from . import wire

        if self.core is not None:
            self.core.stopped()
        tm = self.global_config.pop("_sip_tm", None)
        if tm is not None:
            tm.shutdown()
        wire.forget_timers()
