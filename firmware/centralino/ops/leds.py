"""Status LEDs: what the switchboard is doing, shown as a pattern per state.

The patterns are pure functions of (indicators, time), so a test can check them without a
board, and the ``LedSupervisor`` only samples the daemon and writes the LEDs:

=========  ==========================================================================
LED        pattern
=========  ==========================================================================
heartbeat  double blink every second while the media clock ticks; dark when it stalls
ready      steady on once every port is initialised and calls can be taken
trunk      steady on while a PSTN line has line voltage (or carries a call), else off
gsm        the modem's signal as 1 to 4 blinks every 3 s; off without signal or modem
line       steady on while any call is in progress
failover   slow blink, 1 Hz, while calls go to the mobile (outage or migration window)
emergency  fast blink, 4 Hz, while an emergency call is in progress (highest priority)
crisis     long on, short off (1.5 s on, 0.5 s off) while the crisis service is on
fault      blink 2 Hz while a port is out of service, the HAT is wrong or the modem is down
lifeline   steady on while the lifeline relay is released: phone 1 is wired straight to line 1
=========  ==========================================================================

Boards with fewer LEDs (``board.leds`` lists only some names) show a missing LED's state on
the first present one of its fallback list; when several states share a LED, the one higher in
``PRIORITY`` that is active drives it:

=========  ===============================================
state      shown on (first present)
=========  ===============================================
emergency  emergency, fault, ready, heartbeat
fault      fault, ready, heartbeat
failover   failover, trunk, ready, heartbeat
crisis     crisis, ready, heartbeat
heartbeat  heartbeat, ready
ready      ready, heartbeat
line       line (not shown elsewhere)
gsm        gsm (not shown elsewhere)
trunk      trunk (not shown elsewhere)
lifeline   lifeline (not shown elsewhere)
=========  ===============================================

So a single LED named ``ready`` double-blinks while all is well, blinks at 2 Hz on a fault and
at 4 Hz during an emergency call; during a crisis it is long on, short off, unless an emergency
call, a fault or the failover claims it (the shipped board has no ``crisis`` LED: its ``ready``
LED shows the crisis). The supervisor is ticked by the media loop (it is one of its
heartbeats, called only after a tick that worked); it samples the daemon at most every 100 ms
and only writes a LED when it changes. A small guard task turns the heartbeat dark when the
ticks stop, so a stalled box never shows a frozen "alive" light.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from centralino.config.leds_schema import LED_NAMES
from centralino.drivers.errors import ChipError

log = logging.getLogger("centralino.leds")

HEARTBEAT_PERIOD_S = 1.0
HEARTBEAT_FLASH_S = 0.1  # two flashes, at 0.0 and 0.2 s of each period
HEARTBEAT_SECOND_AT_S = 0.2
GSM_PERIOD_S = 3.0
GSM_FLASH_S = 0.2
GSM_STEP_S = 0.4  # one flash and one gap
FAILOVER_HZ = 1.0
FAULT_HZ = 2.0
EMERGENCY_HZ = 4.0
CRISIS_PERIOD_S = 2.0  # on for CRISIS_ON_S of each period: "lit, with a short gap", like no other pattern
CRISIS_ON_S = 1.5
SAMPLE_EVERY_S = 0.1  # how often the daemon's state is read
TRUNK_CHECK_EVERY_S = 1.0  # line voltage is read from the DAAs at most this often
STALL_AFTER_S = 0.5  # no media tick this long: the heartbeat goes dark
GUARD_EVERY_S = 0.25
LED_TEST_STEP_S = 0.5  # each LED alone for this long during ``led test``
GSM_BARS_DBM = (-73, -83, -93, -109)  # at least this for 4, 3, 2, 1 bars (CSQ 20, 15, 10, 2)

PRIORITY = ("emergency", "fault", "failover", "crisis", "heartbeat", "ready", "line", "gsm", "trunk", "lifeline")
FALLBACK = {"emergency": ("emergency", "fault", "ready", "heartbeat"),
            "fault": ("fault", "ready", "heartbeat"),
            "lifeline": ("lifeline",),  # ops/lifeline.py: the relay released
            "failover": ("failover", "trunk", "ready", "heartbeat"),
            "crisis": ("crisis", "ready", "heartbeat"),  # the crisis service (Protezione Civile)
            "heartbeat": ("heartbeat", "ready"),
            "ready": ("ready", "heartbeat"),
            "line": ("line",), "gsm": ("gsm",), "trunk": ("trunk",)}
MODEM_DOWN_STATES = ("recovering", "no_sim", "closed")


@dataclass(frozen=True)
class Indicators:
    """The switchboard's state as the LEDs see it."""

    alive: bool = False  # the media clock ticks
    ready: bool = False
    trunk_up: bool = False
    gsm_bars: int = 0  # 0..4
    line_in_use: bool = False
    failover: bool = False
    emergency: bool = False
    faults: tuple[str, ...] = field(default=())  # what is wrong, for the console
    lifeline_released: bool = False  # ops/lifeline.py: phone 1 is wired straight to line 1
    crisis: bool = False  # the crisis service is on (flows/host.py)

    @property
    def fault(self) -> bool:
        return bool(self.faults)


# ------------------------------------------------------------------------------ patterns
def blink(t: float, hz: float) -> bool:
    """Square wave: on for the first half of each period."""
    return (t * hz) % 1.0 < 0.5


def double_blink(t: float) -> bool:
    phase = t % HEARTBEAT_PERIOD_S
    return phase < HEARTBEAT_FLASH_S or HEARTBEAT_SECOND_AT_S <= phase < HEARTBEAT_SECOND_AT_S + HEARTBEAT_FLASH_S


def count_blinks(t: float, count: int) -> bool:
    """``count`` flashes at the start of every GSM period, then dark until the next."""
    phase = t % GSM_PERIOD_S
    step = int(phase // GSM_STEP_S)
    return step < count and phase - step * GSM_STEP_S < GSM_FLASH_S


def active(state: str, ind: Indicators) -> bool:
    """Whether ``state`` has something to show (it then claims a shared LED)."""
    return {"heartbeat": ind.alive, "ready": ind.ready, "trunk": ind.trunk_up, "gsm": ind.gsm_bars > 0,
            "line": ind.line_in_use, "failover": ind.failover, "emergency": ind.emergency,
            "fault": ind.fault, "lifeline": ind.lifeline_released, "crisis": ind.crisis}[state]


def pattern(state: str, ind: Indicators, t: float) -> bool:
    """The light of ``state``'s pattern at time ``t`` (seconds on the daemon's clock)."""
    if not active(state, ind):
        return False
    if state == "heartbeat":
        return double_blink(t)
    if state == "gsm":
        return count_blinks(t, ind.gsm_bars)
    if state == "failover":
        return blink(t, FAILOVER_HZ)
    if state == "emergency":
        return blink(t, EMERGENCY_HZ)
    if state == "fault":
        return blink(t, FAULT_HZ)
    if state == "crisis":
        return t % CRISIS_PERIOD_S < CRISIS_ON_S
    return True  # ready, trunk, line, lifeline: steady


def led_map(present) -> dict[str, tuple[str, ...]]:
    """Physical LED -> the states it shows, highest priority first."""
    present = tuple(present)
    shown: dict[str, list[str]] = {name: [] for name in present}
    for state in PRIORITY:
        target = next((name for name in FALLBACK[state] if name in shown), None)
        if target is not None:
            shown[target].append(state)
    return {name: tuple(states) for name, states in shown.items()}


def showing(states: tuple[str, ...], ind: Indicators) -> str | None:
    """The state that drives a LED now: the highest-priority active one."""
    return next((s for s in states if active(s, ind)), None)


def levels(mapping: dict[str, tuple[str, ...]], ind: Indicators, t: float) -> dict[str, bool]:
    out = {}
    for name, states in mapping.items():
        state = showing(states, ind)
        out[name] = state is not None and pattern(state, ind, t)
    return out


def describe(state: str | None, ind: Indicators) -> str:
    """A LED's pattern in words, for the console."""
    if state is None:
        return "off"
    return {"heartbeat": "double blink: the media clock runs",
            "ready": "steady: ready for calls",
            "trunk": "steady: a PSTN line is up",
            "gsm": f"{ind.gsm_bars} blink(s) every {GSM_PERIOD_S:g} s: GSM signal {ind.gsm_bars} of 4",
            "line": "steady: a call is in progress",
            "failover": f"blink {FAILOVER_HZ:g} Hz: failover to the mobile",
            "emergency": f"blink {EMERGENCY_HZ:g} Hz: EMERGENCY CALL in progress",
            "fault": f"blink {FAULT_HZ:g} Hz: fault: " + "; ".join(ind.faults),
            "lifeline": "steady: lifeline relay released, phone 1 is on line 1 directly",
            "crisis": f"on {CRISIS_ON_S:g} s, off {CRISIS_PERIOD_S - CRISIS_ON_S:g} s: CRISIS SERVICE (Protezione Civile)"}[state]


def gsm_bars(signal_dbm: int | None) -> int:
    if signal_dbm is None:
        return 0
    return next((4 - i for i, floor in enumerate(GSM_BARS_DBM) if signal_dbm >= floor), 0)


# ------------------------------------------------------------------------------ sampling
def _gsm_state(daemon, gsm_watch) -> tuple[int, str | None]:
    """(bars, problem) of the modem; (0, None) without one."""
    channel = daemon.channels.get("gsm")
    if channel is None:
        return 0, None
    state = getattr(channel.driver, "state", "closed")
    if not channel.in_service or state in MODEM_DOWN_STATES:
        return 0, f"GSM modem {state if channel.in_service else channel.fault}"
    if state != "ready":
        return 0, None  # starting or no network: no bars, not (yet) a fault
    signal = gsm_watch.signal_dbm() if gsm_watch is not None else channel.driver.status().get("signal_dbm")
    return gsm_bars(signal), None


def _trunk_up(daemon) -> bool:
    for channel in daemon.channels.values():
        if channel.kind != "fxo" or not channel.in_service:
            continue
        if getattr(channel, "state", "idle") != "idle":
            return True  # a line carrying a call is up whatever its loop voltage says
        try:
            if channel.driver.line_status().line_present:
                return True
        except (ChipError, OSError):
            continue
    return False


def sample(daemon, alive: bool, trunk_up: bool, gsm_watch=None) -> Indicators:
    """The indicators from the daemon's objects (cheap: no SPI except what ``trunk_up`` costs)."""
    faults = [f"{ch.name} out of service" for ch in daemon.channels.values()
              if not ch.in_service and ch.kind != "gsm"]
    if daemon.board.hat_problem:
        faults.insert(0, "HAT problem")
    bars, modem_problem = _gsm_state(daemon, gsm_watch)
    if modem_problem:
        faults.append(modem_problem)
    writer = getattr(daemon, "writer", None)
    if writer is not None:
        records = writer.status()
        if records["state"] == "degraded" or records["moved_aside"]:
            faults.append(f"records {records['state']}")
    engine = daemon.engine
    calls = list(engine.calls) if engine is not None else []
    failover = daemon.flows.lookup("failover") if daemon.flows is not None else None
    monitor = failover.monitor if failover is not None else None
    lifeline = getattr(daemon, "lifeline", None)  # ops/lifeline.py
    return Indicators(alive=alive, ready=daemon.ready, trunk_up=trunk_up, gsm_bars=bars,
                      line_in_use=bool(calls), failover=bool(monitor is not None and monitor.active),
                      emergency=any(c.emergency for c in calls), faults=tuple(faults),
                      lifeline_released=bool(lifeline is not None and lifeline.released),
                      crisis=bool(daemon.flows is not None and daemon.flows.crisis_active()))


# ------------------------------------------------------------------------------ the supervisor
class LedSupervisor:
    """Samples the daemon, computes every LED's pattern and writes the LEDs that changed."""

    def __init__(self, daemon, leds, clock: Callable[[], float], gsm_watch=None):
        self.daemon = daemon
        self.leds = leds
        self.clock = clock
        self.gsm_watch = gsm_watch
        self.map = led_map(leds.names)
        self.indicators = Indicators()
        self.problem: str | None = None  # the LED hardware failed: nothing more is written
        self.lit: dict[str, bool] = {name: False for name in leds.names}
        self._last_tick_s: float | None = None
        self._sampled_s = float("-inf")
        self._trunk_checked_s = float("-inf")
        self._trunk_up = False
        self._test_started_s: float | None = None
        self._guard: asyncio.Task | None = None

    # -- hooks
    def tick(self) -> None:
        """Called after every media tick that worked."""
        now = self.clock()
        self._last_tick_s = now
        self._refresh(now, alive=True)

    def check_stall(self) -> None:
        now = self.clock()
        if self._last_tick_s is None or now - self._last_tick_s >= STALL_AFTER_S:
            self._refresh(now, alive=False)

    def start_guard(self) -> None:
        self._guard = asyncio.get_running_loop().create_task(self._watch(), name="led-guard")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(GUARD_EVERY_S)
            self.check_stall()

    def close(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None
        if self.problem is None:
            try:
                self.leds.close()
            except ChipError as err:
                log.warning("LEDs: %s", err)

    # -- the LED test
    def start_test(self) -> dict:
        """Every LED alone in turn for ``LED_TEST_STEP_S``, then back to the patterns."""
        if self.problem is not None:
            raise ChipError("leds", f"the LED hardware failed at start: {self.problem}")
        self._test_started_s = self.clock()
        return {"sequence": list(self.map), "step_s": LED_TEST_STEP_S,
                "takes_s": LED_TEST_STEP_S * len(self.map)}

    @property
    def testing(self) -> bool:
        return self._test_started_s is not None

    def _test_levels(self, now: float) -> dict[str, bool] | None:
        if self._test_started_s is None:
            return None
        step = int((now - self._test_started_s) // LED_TEST_STEP_S)
        names = list(self.map)
        if step >= len(names):
            self._test_started_s = None
            return None
        return {name: index == step for index, name in enumerate(names)}

    # -- work
    def _refresh(self, now: float, alive: bool) -> None:
        if self.problem is not None:
            return
        if now - self._sampled_s >= SAMPLE_EVERY_S:
            self._sampled_s = now
            if now - self._trunk_checked_s >= TRUNK_CHECK_EVERY_S:
                self._trunk_checked_s = now
                self._trunk_up = _trunk_up(self.daemon)
            self.indicators = sample(self.daemon, alive, self._trunk_up, self.gsm_watch)
        elif alive != self.indicators.alive:
            self.indicators = replace(self.indicators, alive=alive)
        wanted = self._test_levels(now) or levels(self.map, self.indicators, now)
        self._show(wanted)

    def _show(self, wanted: dict[str, bool]) -> None:
        for name, on in wanted.items():
            if self.lit.get(name) == on:
                continue
            try:
                self.leds.set(name, on)
            except ChipError as err:
                self.problem = str(err)
                log.error("LEDs stopped: %s", err)
                return
            self.lit[name] = on

    def status(self) -> dict:
        ind = self.indicators
        return {"leds": [{"name": name, "lit": self.lit.get(name, False), "shows": list(states),
                          "showing": showing(states, ind), "pattern": describe(showing(states, ind), ind)}
                         for name, states in self.map.items()],
                "testing": self.testing, "problem": self.problem,
                "missing": [name for name in LED_NAMES if name not in self.map]}


async def start_leds(daemon, gsm_watch=None) -> LedSupervisor | None:
    """Build and start the board's LED driver and hook the supervisor into the media loop.

    None when the board has no LEDs. A LED driver that fails is logged and reported by the
    ``leds`` command; it never keeps the switchboard from serving calls."""
    from centralino.drivers.leds import open_leds

    config = getattr(daemon.settings.board, "leds", None)
    bus = getattr(daemon.board, "leds", None)
    if config is None or bus is None:
        return None
    driver = open_leds(config, bus)
    supervisor = LedSupervisor(daemon, driver, daemon.clock, gsm_watch)
    try:
        await driver.start()
    except ChipError as err:
        supervisor.problem = str(err)
        log.error("status LEDs out of service: %s", err)
        return supervisor
    daemon.media.heartbeats.append(supervisor.tick)
    supervisor.start_guard()
    return supervisor
