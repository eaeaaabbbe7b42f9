"""Status LEDs: the patterns as pure functions, the board.leds schema, and the LEDs of a
switchboard on the simulated board in the states a technician must tell apart."""

from __future__ import annotations

import pytest

from centralino.config.loader import ConfigError
from centralino.config.schema import load_settings
from centralino.ops import gsm_watch
from centralino.ops import leds as L

from ..engine.helpers import config_copy, lift_and_dial, play

ALL_GPIO = {"heartbeat": 2, "ready": 3, "trunk": 7, "gsm": 8, "line": 9, "failover": 10,
            "emergency": 11, "fault": 15, "lifeline": 18, "crisis": 19}
MOBILE = "3471234567"
WINDOW_S = 3.0  # every pattern repeats within 3 s (the GSM count)


def _leds(kind="gpio", lights=None, **extra):
    lights = ALL_GPIO if lights is None else lights
    wire = "gpio" if kind == "gpio" else "channel"

    def change(data):
        data["board"]["leds"] = {"kind": kind, **extra,
                                 "lights": [{"name": n, wire: w} for n, w in lights.items()]}
        if kind == "gpio":  # the reference HAT has no free GPIO for LEDs: a simulated board excused from the header
            data["board"]["header"] = "none"
    return change


def _with_failover(change_leds, window=True):
    def change(data):
        change_leds(data)
        data["gsm"] = {"dialect": "sim7600"}
        data["failover"] = {"mobile_number": MOBILE, "down_after_s": 5, "healthy_for_s": 10}
        if window:
            data["failover"]["windows"] = [{"from": "2026-11-24 08:00", "to": "2026-11-24 12:00"}]
    return change


def _seen(s, since_s: float) -> dict[str, tuple[float, float]]:
    """Every LED's (flashes per second, lit fraction) from ``since_s`` to now.

    The fraction is rounded to 0.05: the LEDs change on 20 ms media ticks, so a 125 ms flash
    lasts 120 or 140 ms."""
    leds = s.world.leds
    return {name: (round(leds.trace(name).blink_hz(since_s), 2), round(leds.trace(name).lit_fraction(since_s) * 20) / 20)
            for name in leds.names}


async def _watch(s, seconds: float = 2 * WINDOW_S) -> dict:
    since = s.clock()
    await s.wait(seconds)
    return _seen(s, since)


STEADY_ON, DARK = (0.0, 1.0), (0.0, 0.0)


# ------------------------------------------------------------------------------ patterns
def test_heartbeat_is_two_short_flashes_each_second():
    times = [i / 100 for i in range(200)]
    lit = [L.double_blink(t) for t in times]
    flashes = sum(1 for a, b in zip(lit, lit[1:]) if b and not a) + lit[0]
    assert flashes == 4 and sum(lit) == 40  # 2 per second, 0.1 s each


@pytest.mark.parametrize("bars", [1, 2, 3, 4])
def test_gsm_bars_are_counted_in_blinks_every_three_seconds(bars):
    lit = [L.count_blinks(i / 100, bars) for i in range(300)]
    flashes = sum(1 for a, b in zip(lit, lit[1:]) if b and not a) + lit[0]
    assert flashes == bars and not any(lit[200:])  # a dark pause before the next count


def test_dbm_to_bars_follows_the_csq_scale():
    assert [L.gsm_bars(d) for d in (None, -113, -109, -93, -83, -73, -51)] == [0, 0, 1, 2, 3, 4, 4]


def test_missing_leds_show_their_states_on_the_present_ones():
    assert L.led_map(["ready"]) == {"ready": ("emergency", "fault", "failover", "crisis", "heartbeat", "ready")}
    assert L.led_map(["heartbeat", "trunk", "fault"]) == {
        "heartbeat": ("crisis", "heartbeat", "ready"), "trunk": ("failover", "trunk"), "fault": ("emergency", "fault")}
    full = L.led_map(L.LED_NAMES)
    assert all(states == (name,) for name, states in full.items())


def test_on_a_shared_led_the_highest_active_state_wins():
    mapping = L.led_map(["ready"])
    calm = L.Indicators(alive=True, ready=True)
    t = [(i + 0.5) / 100 for i in range(100)]  # the middle of every 10 ms
    assert sum(L.levels(mapping, calm, x)["ready"] for x in t) == 20  # the heartbeat's double blink
    faulty = L.Indicators(alive=True, ready=True, faults=("fxs3 out of service",))
    assert [L.levels(mapping, faulty, x)["ready"] for x in (0.1, 0.3, 0.6, 0.8)] == [True, False, True, False]
    urgent = L.Indicators(alive=True, ready=True, emergency=True, faults=("x",))
    assert [L.levels(mapping, urgent, x)["ready"] for x in (0.05, 0.2, 0.3, 0.45)] == [True, False, True, False]
    stalled = L.Indicators(alive=False, ready=True)
    assert all(L.levels(mapping, stalled, x)["ready"] for x in t)  # steady: ready, but no heartbeat


# ------------------------------------------------------------------------------ schema
def test_schema_reads_both_kinds(tmp_path):
    gpio = load_settings(config_copy(tmp_path, _leds(active_low="true"))).board.leds
    assert gpio.kind == "gpio" and gpio.active_low and gpio.wiring()["fault"] == 15
    i2c = load_settings(config_copy(tmp_path, _leds("i2c", {"ready": 0, "fault": 3}))).board.leds
    assert (i2c.chip, i2c.address, i2c.names) == ("pca9633", 0x62, ("ready", "fault"))
    big = load_settings(config_copy(tmp_path, _leds("i2c", {"gsm": 15}, chip="pca9685", address="0x41")))
    assert (big.board.leds.chip, big.board.leds.address) == ("pca9685", 0x41)
    assert load_settings(config_copy(tmp_path, lambda d: d["board"].update(leds="none"))).board.leds is None


@pytest.mark.parametrize("change, message", [
    (_leds(lights={"ready": 22}), "board.leds.lights: LED ready: GPIO 22 is already the interrupt line of fxs1"),
    (_leds(lights={"ready": 3, "fault": 3}), "gpio 3 is listed twice (ready and fault)"),
    (_leds(lights={"blinky": 3}), "board.leds.lights[0].name: 'blinky' is not valid (expected one of heartbeat"),
    (_leds("i2c", {"ready": 4}), "board.leds.lights[0].channel: 4 is out of range (expected 0..3)"),
    (_leds("i2c", {"ready": 0}, address="0x50"), "board.leds.address: 0x50 is the HAT ID EEPROM's address"),
    (_leds("i2c", {"ready": 0}, active_low="true"), "board.leds.active_low: unknown key 'active_low'"),
    (_leds(lights={}), "board.leds.lights: no LEDs listed"),
])
def test_schema_errors_name_the_key_and_the_fix(tmp_path, change, message):
    with pytest.raises(ConfigError) as err:
        load_settings(config_copy(tmp_path, change))
    assert message in str(err.value)


# ------------------------------------------------------------------------------ on the board
def test_ready_board(tmp_path):
    async def story(s):
        await s.wait(1.0)
        return await _watch(s), s.daemon.led_supervisor.status()

    seen, status = play(tmp_path, story, config=config_copy(tmp_path, _leds()))
    assert seen["heartbeat"] == (2.0, 0.2)  # double blink: 2 flashes of 0.1 s each second
    assert seen["ready"] == STEADY_ON and seen["trunk"] == STEADY_ON  # four PSTN lines with voltage
    for dark in ("gsm", "line", "failover", "emergency", "fault"):
        assert seen[dark] == DARK, dark
    assert status["problem"] is None and status["missing"] == []


def test_a_faulty_port_blinks_the_fault_led_at_2_hz(tmp_path):
    async def story(s):
        await s.wait(1.0)
        return await _watch(s), s.daemon.led_supervisor.status()

    seen, status = play(tmp_path, story, config=config_copy(tmp_path, _leds()), faults={"fxs3": "absent"})
    assert seen["fault"] == (2.0, 0.5)
    assert seen["ready"] == STEADY_ON and seen["heartbeat"] == (2.0, 0.2)  # the others still serve
    fault = next(led for led in status["leds"] if led["name"] == "fault")
    assert fault["pattern"] == "blink 2 Hz: fault: fxs3 out of service"


def test_one_led_board_shows_the_fault_on_its_only_led(tmp_path):
    async def story(s):
        await s.wait(1.0)
        return await _watch(s)

    seen = play(tmp_path, story, config=config_copy(tmp_path, _leds("i2c", {"ready": 2})),
                faults={"fxo2": "absent"})
    assert seen == {"ready": (2.0, 0.5)}  # through the PCA9633 model, output 2


def test_an_emergency_call_blinks_fast_and_the_line_led_is_on(tmp_path):
    async def story(s):
        carabinieri = s.remote("112", answer_after_s=1.0)
        await s.wait(1.0)
        before = await _watch(s, 1.0)
        await lift_and_dial(s, "202", "112")
        await s.until(lambda: carabinieri.call is not None and carabinieri.call.answered, "112 answers")
        return before, await _watch(s)

    before, during = play(tmp_path, story, config=config_copy(tmp_path, _leds()))
    assert before["emergency"] == DARK and before["line"] == DARK
    assert during["emergency"] == (4.0, 0.5)
    assert during["line"] == STEADY_ON and during["fault"] == DARK


def test_the_crisis_service_is_long_on_short_off_and_an_emergency_call_outranks_it():
    crisis = L.Indicators(alive=True, ready=True, crisis=True)
    t = [(i + 0.5) / 100 for i in range(400)]
    own = L.led_map(L.LED_NAMES)
    assert sum(L.levels(own, crisis, x)["crisis"] for x in t) == 300  # 1.5 s of every 2 s
    assert not any(L.levels(own, L.Indicators(alive=True, ready=True), x)["crisis"] for x in t)
    assert "CRISIS" in L.describe("crisis", crisis)


def test_on_a_board_with_one_led_the_crisis_shows_until_an_emergency_call(tmp_path):
    async def story(s):
        carabinieri = s.remote("112", answer_after_s=1.0)
        await s.wait(1.0)
        s.daemon.flows.set_service_mode("crisis", by="test")
        in_crisis = await _watch(s, 4.0)
        await lift_and_dial(s, "202", "112")
        await s.until(lambda: carabinieri.call is not None and carabinieri.call.answered, "112 answers")
        return in_crisis, await _watch(s, 2.0), s.daemon.led_supervisor.status()

    in_crisis, emergency, status = play(tmp_path, story, config=config_copy(tmp_path, _leds(lights={"ready": 3})))
    hz, lit = in_crisis["ready"]  # 1.5 s on, 0.5 s off: 2 or 3 flashes in 4 s, lit three quarters
    assert lit == 0.75 and 0.5 <= hz <= 0.75  # not the heartbeat's double blink, nor steady
    assert emergency["ready"] == (4.0, 0.5)  # the emergency call comes first
    assert status["leds"][0]["showing"] == "emergency"


def test_failover_blinks_slowly_and_gsm_shows_its_signal(tmp_path, monkeypatch):
    monkeypatch.setattr(gsm_watch, "SIGNAL_POLL_S", 5.0)  # read every minute; sooner here to save time

    async def story(s):
        await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=30)
        await s.until(lambda: s.failover.active, "failover starts")
        strong = await _watch(s)
        s.mobile_network.rssi = 12  # -89 dBm: the antenna was moved; the watch reads it again
        await s.wait(gsm_watch.SIGNAL_POLL_S + 1.0)
        return strong, await _watch(s)

    strong, weak = play(tmp_path, story, config=config_copy(tmp_path, _with_failover(_leds())))
    assert strong["failover"] == (1.0, 0.5)
    assert strong["gsm"] == (round(4 / WINDOW_S, 2), 0.25)  # -73 dBm: 4 bars, 4 x 0.2 s every 3 s
    assert strong["fault"] == DARK
    assert weak["gsm"] == (round(2 / WINDOW_S, 2), 0.15)  # 2 bars: 2 x 0.2 s every 3 s


def test_the_heartbeat_stops_when_the_media_clock_stalls(tmp_path):
    async def story(s):
        await s.wait(1.0)

        def stuck():
            raise RuntimeError("stuck")
        s.daemon.media.tick = stuck  # every tick fails: no heartbeats (as for the watchdog)
        await s.wait(1.0)
        return await _watch(s, 2.0)

    seen = play(tmp_path, story, config=config_copy(tmp_path, _leds()))
    assert seen["heartbeat"] == DARK
    assert seen["ready"] == STEADY_ON
