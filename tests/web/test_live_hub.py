"""The web's live hub against a real control socket: one fetch for many screens, bounded queues,
and a daemon that goes away and comes back."""

from __future__ import annotations

import asyncio

from centralino.web.control_client import ControlClient
from centralino.web.live import LiveHub, Subscriber

from tests.ops.test_control import control_session


async def _until(condition, what: str, timeout_s: float = 10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, what
        await asyncio.sleep(0.01)


def test_a_burst_of_events_costs_the_daemon_a_few_fetches_however_many_screens_watch(tmp_path):
    async def story(s, client, ctx):
        hub = LiveHub(ControlClient(tmp_path / "control.sock"))
        hub.start()
        screens = [Subscriber({"wallboard"}, capacity=5) for _ in range(20)]
        await _until(lambda: hub.daemon_up, "the hub connects")
        for screen in screens:
            hub.subscribe(screen)
        await _until(lambda: hub.fetches.get("wallboard", 0) >= 1 and not hub._fetching, "the first snapshot")
        before = hub.fetches["wallboard"]
        s.phone("204").off_hook()  # the Tributi desk goes busy...
        for n in range(200):  # ...amid a burst of engine events
            s.daemon.bus.publish("engine.ringing", ext="201", n=n)
        await _until(lambda: not hub._fetching and not hub._dirty, "the burst is served")
        await asyncio.sleep(0.5)
        fetched = hub.fetches["wallboard"] - before
        last = [screen.messages[-1][1] for screen in screens]
        await hub.stop()
        return fetched, last, [screen.lost for screen in screens]

    fetched, last, lost = control_session(tmp_path, story)
    assert 1 <= fetched <= 3, f"{fetched} wallboard fetches for 200 events and 20 screens"
    for snapshot in last:
        tributi = next(b for b in snapshot["offices"] if b["office"] == "tributi")
        assert tributi["busy"] == 1, "every screen ends with the figures after the burst"
    assert all(n == 0 for n in lost), "a few snapshots fit any screen's queue"


def test_a_slow_screen_loses_its_oldest_messages_and_the_others_do_not_wait():
    slow = Subscriber({"events"}, capacity=3)
    for n in range(10):
        slow.put("events", {"n": n})

    async def drain():
        return await slow.next(0.1)

    got = asyncio.run(drain())
    assert [data["n"] for _, data in got] == [7, 8, 9] and slow.lost == 7


def test_the_hub_tells_the_screens_when_the_daemon_goes_and_comes_back(tmp_path):
    async def story(s, client, ctx):
        from centralino.ops.control import ControlServer

        hub = LiveHub(ControlClient(tmp_path / "other.sock"))
        screen = Subscriber({"wallboard"})
        hub.subscribe(screen)
        hub.start()
        await asyncio.sleep(1.0)
        down = hub.daemon_up
        server = ControlServer(ctx, tmp_path / "other.sock")
        await server.start()
        await _until(lambda: hub.daemon_up, "the hub reconnects by itself", timeout_s=15)
        await _until(lambda: any(topic == "wallboard" for topic, _ in screen.messages), "a fresh snapshot")
        told = [data for topic, data in screen.messages if topic == "daemon"]
        await hub.stop()
        await server.stop()
        return down, told

    down, told = control_session(tmp_path, story)
    assert down is False and told[-1] == {"up": True}
