"""sd_notify as systemd sees it: datagrams on a socket the test binds."""

from __future__ import annotations

import asyncio
import os
import socket

from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario
from centralino.ops.systemd import Notifier, ServiceSupervision, socket_address, watchdog_interval_s

from ..engine.helpers import connect
from .conftest import EXAMPLE


def _receiver(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.setblocking(False)
    return sock


def _drain(sock) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_notify_reaches_a_path_socket(tmp_path):
    sock = _receiver(tmp_path)
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    n.ready("ready: 1/1 ports in service, 0 calls")
    n.status("busy")
    n.status("busy")  # unchanged: not resent
    n.stopping()
    assert _drain(sock) == ["READY=1\nSTATUS=ready: 1/1 ports in service, 0 calls", "STATUS=busy",
                            "STOPPING=1\nSTATUS=stopping"]


def test_notify_reaches_an_abstract_socket():
    name = f"centralino-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.setblocking(False)
    try:
        assert socket_address("@" + name) == b"\0" + name.encode()
        Notifier({"NOTIFY_SOCKET": "@" + name}).notify("READY=1")
        assert _drain(sock) == ["READY=1"]
    finally:
        sock.close()


def test_without_systemd_nothing_is_sent_and_nothing_fails():
    n = Notifier({})
    assert not n.enabled
    n.ready("x"), n.heartbeat(), n.stopping()
    assert list(n.sent) == []
    # systemd gone mid-run: a failed send is logged, never raised
    gone = Notifier({"NOTIFY_SOCKET": "/nonexistent/notify.sock"})
    assert gone.notify("READY=1") is False


def test_watchdog_interval_only_for_this_process():
    assert watchdog_interval_s({"WATCHDOG_USEC": "10000000"}) == 10.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}) == 10.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval_s({}) is None


def _beats(messages) -> int:
    return sum(m == "WATCHDOG=1" for m in messages)


def test_heartbeats_follow_the_media_loop_and_stop_when_it_is_stuck(tmp_path):
    """WatchdogSec=1 s: a beat every 0.5 s of media ticks; none once the media loop stops."""
    sock = _receiver(tmp_path)

    async def main():
        loop = asyncio.get_running_loop()
        env = {"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "1000000"}
        service = ServiceSupervision(Notifier(env, clock=loop.time))
        async with Scenario(EXAMPLE, tmp_path / "data") as s:
            service.ready(s.daemon)
            assert _drain(sock) == ["READY=1\nSTATUS=ready: 12/12 ports in service, 0 calls"]
            await s.wait(5.0)
            running = _drain(sock)
            ticks_before = s.daemon.media.ticks
            await s.daemon.media.stop()  # the media loop is stuck: no more ticks
            await s.wait(5.0)
            stuck = _drain(sock)
            # the event loop itself is alive (this test still runs): only the media loop stopped
            return running, stuck, ticks_before, s.daemon.media.ticks

    running, stuck, before, after = run(main)
    assert 9 <= _beats(running) <= 11
    assert after == before
    assert _beats(stuck) == 0


def test_status_line_counts_calls_and_faulty_ports(tmp_path):
    sock = _receiver(tmp_path)

    async def main():
        loop = asyncio.get_running_loop()
        service = ServiceSupervision(Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock")}, clock=loop.time))
        service.starting()
        async with Scenario(EXAMPLE, tmp_path / "data", faults={"fxs3": "absent"}) as s:
            service.ready(s.daemon)
            await connect(s, "201", "205")
            await s.wait(2.0)
            service.stopping()
        return _drain(sock)

    messages = run(main)
    assert messages[0] == "STATUS=starting ports"
    assert messages[1] == "READY=1\nSTATUS=ready: 11/12 ports in service, 0 calls"
    assert "STATUS=ready: 11/12 ports in service, 1 call" in messages
    assert messages[-1] == "STOPPING=1\nSTATUS=stopping"


def test_real_daemon_is_ready_only_with_its_ports_up(daemon_process):
    """``centralino run`` under a NOTIFY_SOCKET: starting, then READY once the ports serve."""
    d = daemon_process
    assert d.startup == ["STATUS=starting ports", "READY=1\nSTATUS=ready: 12/12 ports in service, 0 calls"]
    # asked right after READY, the control socket answers and every port is in service
    status = d.status_at_ready
    assert status["ready"] and len(status["ports"]) == 12 and all(p["in_service"] for p in status["ports"])
    assert d.wait_for(lambda m: m == "WATCHDOG=1") == "WATCHDOG=1"  # WATCHDOG_USEC=2 s was honoured
