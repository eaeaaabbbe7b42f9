"""The lifeline: phone 1 reaches the public network whenever the switchboard cannot carry it.

The simulated HAT's relay (hw-sim/relay.py) is held only by heartbeats into its monostable, so
these tests stop, kill and freeze the real daemon on the simulated board and check from the
world's side: which way the contacts are, whether line 1 is seized by phone 1 itself, whether
phone 1 dials 112 through the exchange and talks. The world lives in the test (as the copper does
on the HAT), so it outlives every daemon; "killed" and "frozen" stop every piece of daemon code at
once without any of its clean-up (tasks cancelled, descriptors dropped), which is what the
hardware sees of SIGKILL and SIGSTOP, and the restart is the one systemd makes (RestartSec=2 after
a kill, WatchdogSec=10 for a frozen daemon).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from centralino.board import open_board
from centralino.cli.console import FORMATTERS
from centralino.config.schema import load_settings
from centralino.daemon import Daemon
from centralino.hwsim.board import SimBoard
from centralino.hwsim.clock import run
from centralino.hwsim.voices import hears

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "comune.yaml"
HOLD_S = 0.5  # the reference HAT's monostable
RESTART_S = 2.0  # systemd/centralino.service RestartSec
WATCHDOG_S = 10.0  # systemd/centralino.service WatchdogSec
EMERGENCY = "112"


class World:
    """The simulated HAT and its exchange, and the daemons that come and go on it."""

    def __init__(self, tmp_path: Path, faults=None):
        self.loop = asyncio.get_running_loop()
        self.clock = self.loop.time
        self.settings = load_settings(EXAMPLE)
        self.sim = SimBoard(self.settings, clock=self.clock, faults=faults)
        self.database = tmp_path / "centralino.db"
        self.relay = self.sim.relay
        self.phone = self.sim.phones["fxs1"]
        self.line = self.sim.lines["fxo1"]
        self.daemon: Daemon | None = None
        self.board = None

    async def start_daemon(self) -> Daemon:
        self.board = open_board(self.settings, "sim", clock=self.clock, sim=self.sim)
        self.daemon = Daemon(self.settings, self.board, self.database, clock=self.clock)
        await self.daemon.start()
        return self.daemon

    def kill(self) -> None:
        """All daemon code stops at once, nothing of it cleans up; the kernel drops its descriptors."""
        daemon = self.daemon
        for task in (daemon.media._task, getattr(daemon.lifeline, "_guard", None),
                     getattr(daemon.led_supervisor, "_guard", None), getattr(daemon, "_housekeeping", None)):
            if isinstance(task, asyncio.Task):
                task.cancel()
        for fd in daemon._readers:
            self.loop.remove_reader(fd)
        for line in self.board.shared_irqs:
            line.close()
        self.daemon = None

    async def until(self, condition, what: str, timeout_s: float = 10.0) -> float:
        deadline = self.clock() + timeout_s
        while not condition():
            assert self.clock() < deadline, f"{what}: not within {timeout_s} s"
            await asyncio.sleep(0.02)
        return self.clock()

    async def emergency_call_on_the_direct_line(self):
        """Phone 1 lifts, hears the exchange (line 1 seized by the phone itself), dials 112, talks."""
        operator = self.sim.exchange.add_party(EMERGENCY, self.sim.next_voice(), answer_after_s=2.0)
        self.phone.off_hook()
        await asyncio.sleep(0.5)
        assert self.line.state == "dialtone"  # the exchange's dial tone, on the phone's own loop
        await self.phone.dial(EMERGENCY)
        await self.until(lambda: operator.in_call and operator.call.answered, "112 answers")
        since = self.clock()
        await asyncio.sleep(1.5)
        assert hears(self.phone.heard(since), operator.voice.frequency_hz)
        assert hears(operator.heard(since), self.phone.voice.frequency_hz)
        return operator


def play(tmp_path, story, **options):
    async def main():
        world = World(tmp_path, **options)
        await world.sim.start()
        try:
            return await story(world)
        finally:
            if world.daemon is not None:
                await world.daemon.stop()
            await world.sim.close()

    return run(main)


def test_the_relay_is_held_only_once_the_switchboard_is_ready(tmp_path):
    async def story(w: World):
        before = w.relay.contacts
        daemon = await w.start_daemon()
        held = (w.relay.contacts, daemon.status()["lifeline"])
        console = FORMATTERS["status"](daemon.status())
        w.phone.off_hook()
        await asyncio.sleep(0.5)
        return before, held, w.line.state, daemon.engine.stations["200"].state, \
            w.sim.leds.lit("lifeline"), list(w.relay.transitions), console

    before, (contacts, status), line_state, station, led, transitions, console = play(tmp_path, story)
    assert "lifeline  relay energised: held by the switchboard" in console  # the console's status
    assert before == "direct"  # no heartbeat yet: phone 1 is on line 1 while the switchboard starts
    assert contacts == "switchboard" and status["relay"] == "energised" and status["reason"] == "held by the switchboard"
    assert line_state == "idle" and station != "idle"  # phone 1 lifts on the switchboard, line 1 stays free
    assert led is False and len(transitions) == 1


def test_stopped_daemon_phone_1_dials_112_through_the_exchange(tmp_path):
    async def story(w: World):
        daemon = await w.start_daemon()
        await asyncio.sleep(1.0)
        stopped = w.clock()
        await daemon.stop()
        w.daemon = None
        await w.until(lambda: w.relay.contacts == "direct", "the relay drops")
        released = w.relay.transitions[-1][0]  # when the contacts moved (the stop itself takes longer)
        await w.emergency_call_on_the_direct_line()
        return released - stopped, w.sim.exchange.dialled_numbers

    drop_s, dialled = play(tmp_path, story)
    assert drop_s <= HOLD_S + 0.05  # the monostable's time: no software needed
    assert dialled == [EMERGENCY]


def _killed_or_frozen(tmp_path, restart_after_s):
    async def story(w: World):
        await w.start_daemon()
        await asyncio.sleep(1.0)
        edges = w.relay.edges
        gone = w.clock()
        w.kill()
        released = await w.until(lambda: w.relay.contacts == "direct", "the relay drops by itself")
        no_code_ran = w.relay.edges == edges
        operator = await w.emergency_call_on_the_direct_line()
        await asyncio.sleep(max(0.0, gone + restart_after_s - w.clock()))
        daemon = await w.start_daemon()  # systemd's restart, with phone 1 still talking to 112
        await asyncio.sleep(2.0)
        during = (w.relay.contacts, daemon.status()["lifeline"]["reason"], operator.in_call, w.sim.leds.lit("lifeline"))
        since = w.clock()
        await asyncio.sleep(1.0)
        still_talking = hears(operator.heard(since), w.phone.voice.frequency_hz)
        w.phone.on_hook()
        taken_back = await w.until(lambda: w.relay.contacts == "switchboard", "the switchboard takes phone 1 back")
        hung_up = w.clock()
        w.phone.off_hook()
        await asyncio.sleep(0.5)
        return (released - gone, no_code_ran, during, still_talking, taken_back - since - 1.0,
                w.line.state, daemon.engine.stations["200"].state)

    return play(tmp_path, story)


def test_killed_daemon_the_hardware_releases_112_works_and_the_restart_waits_for_the_call(tmp_path):
    drop_s, no_code_ran, during, still_talking, back_s, line_state, station = _killed_or_frozen(tmp_path, RESTART_S)
    assert drop_s <= HOLD_S + 0.05 and no_code_ran
    contacts, reason, in_call, led = during
    assert contacts == "direct" and in_call and led  # the new daemon does not take the phone out of the call
    assert reason == "waiting: phone fxs1 is in a call on fxo1 directly"
    assert still_talking
    assert 1.0 <= back_s <= 1.3  # taken back once the direct path was quiet for QUIET_S
    assert line_state == "idle" and station != "idle"  # lifted again: on the switchboard, line 1 free


def test_frozen_daemon_past_the_watchdog(tmp_path):
    drop_s, no_code_ran, during, still_talking, back_s, line_state, station = \
        _killed_or_frozen(tmp_path, WATCHDOG_S + RESTART_S)
    assert drop_s <= HOLD_S + 0.05 and no_code_ran  # released long before systemd notices the freeze
    assert during[0] == "direct" and during[2] and still_talking
    assert line_state == "idle" and station != "idle"


def test_a_stalled_media_clock_releases_the_relay_in_software_too(tmp_path):
    async def story(w: World):
        daemon = await w.start_daemon()
        await asyncio.sleep(0.5)
        daemon.media._task.cancel()  # the clock stops; the rest of the daemon runs on
        stalled = w.clock()
        await w.until(lambda: daemon.status()["lifeline"]["relay"] == "released", "the guard notices")
        noticed = w.clock() - stalled
        await w.until(lambda: w.relay.contacts == "direct", "the relay drops")
        return noticed, daemon.status()["lifeline"]["reason"]

    noticed, reason = play(tmp_path, story)
    assert noticed <= 0.5 and reason == "the media clock stalled"


def test_phone_1s_port_out_of_service_gives_phone_1_the_line(tmp_path):
    async def story(w: World):
        daemon = await w.start_daemon()
        await asyncio.sleep(0.5)
        status = daemon.status()["lifeline"]
        await w.emergency_call_on_the_direct_line()
        return status, w.relay.edges, w.sim.leds.lit("lifeline")

    status, edges, led = play(tmp_path, story, faults={"fxs1": "absent"})
    assert status["relay"] == "released" and status["reason"] == "fxs1 is out of service"
    assert edges == 0 and led  # never held; the lifeline LED says phone 1 is on line 1
