"""The console's ``gsm``, ``leds`` and ``led test`` commands on a switchboard on the simulated board."""

from __future__ import annotations

from centralino.cli.console import format_result
from centralino.ops.commands import CommandError, ControlContext, resolve
from centralino.ops.leds import LED_TEST_STEP_S

from ..engine.helpers import config_copy, play
from .test_leds import _leds, _with_failover

LIGHTS = {"heartbeat": 2, "ready": 3, "gsm": 8, "fault": 15}


def _ask(ctx: ControlContext, text: str):
    """What the control socket does with one request: resolve, run, format for the screen."""
    cmd, args = resolve(text, [])
    try:
        result = cmd.handler(ctx, args)
    except CommandError as err:
        return cmd.audited, f"error: {err}"
    return cmd.audited, format_result(text.split(), result)


def _fits(screen: str) -> bool:
    return all(len(line) <= 80 for line in screen.splitlines())


def test_gsm_reports_signal_operator_sim_and_the_last_error(tmp_path):
    async def story(s):
        gsm = s.daemon.channels["gsm"]
        await s.until(lambda: gsm.idle, "the modem is ready", timeout_s=30)
        ctx = ControlContext(daemon=s.daemon)
        healthy = _ask(ctx, "gsm")[1]
        s.modem.hang()
        await s.until(lambda: not gsm.in_service, "the modem is found lost", timeout_s=20)
        lost = _ask(ctx, "gsm")[1]
        await s.until(lambda: gsm.in_service and gsm.idle, "the modem is back", timeout_s=60)
        return healthy, lost, _ask(ctx, "gsm")[1]

    healthy, lost, recovered = play(tmp_path, story, config=config_copy(tmp_path, _with_failover(_leds(lights=LIGHTS))))
    lines = dict(line.split(": ", 1) for line in healthy.splitlines())
    assert lines["modem"] == "sim7600 ready"
    assert lines["signal"] == "-73 dBm, 4 of 4 bars"
    assert lines["sim"] == "READY" and lines["registration"] in ("home", "roaming")
    assert lines["operator"] != "none" and lines["recoveries"] == "0" and lines["last error"] == "none"
    assert "out of service: modem lost" in lost
    after = dict(line.split(": ", 1) for line in recovered.splitlines())
    assert after["modem"] == "sim7600 ready" and after["recoveries"].startswith("1 (last took ")
    assert after["last error"].startswith("modem lost: no answer for")  # still told after recovery
    assert _fits(healthy) and _fits(lost) and _fits(recovered)


def test_leds_and_led_test(tmp_path):
    async def story(s):
        await s.wait(1.0)
        ctx = ControlContext(daemon=s.daemon)
        before = _ask(ctx, "leds")[1]
        audited, answer = _ask(ctx, "led test")
        started = s.clock()
        during = _ask(ctx, "leds")[1]
        await s.wait(LED_TEST_STEP_S * len(LIGHTS) + 1.0)
        leds = s.world.leds
        # which LEDs were lit in the middle of each step of the test
        steps = [[name for name in leds.names if leds.trace(name).at(started + (i + 0.5) * LED_TEST_STEP_S)]
                 for i in range(len(LIGHTS))]
        since = s.clock()
        await s.wait(2.0)
        return before, audited, answer, during, steps, leds.trace("heartbeat").blink_hz(since)

    before, audited, answer, during, steps, heartbeat_hz = play(
        tmp_path, story, config=config_copy(tmp_path, _leds(lights=LIGHTS)), faults={"fxs3": "absent"})
    lines = dict(line.split(": ", 1) for line in before.splitlines())
    assert lines["heartbeat"].endswith("double blink: the media clock runs")
    assert lines["ready"].startswith("on ") and lines["gsm"].startswith("off")  # no modem configured
    assert lines["fault"].endswith("blink 2 Hz: fault: fxs3 out of service  (also shows emergency)")
    assert _fits(before)
    assert audited and "testing: heartbeat, ready, gsm, fault" in answer and "done in 2 s" in answer
    assert "test: running" in during
    assert steps == [["heartbeat"], ["ready"], ["gsm"], ["fault"]]  # one at a time, in order
    assert round(heartbeat_hz, 2) == 2.0  # and back to the patterns afterwards


def test_without_leds_or_modem_the_commands_say_what_is_missing(tmp_path):
    async def story(s):
        ctx = ControlContext(daemon=s.daemon)
        return [_ask(ctx, text)[1] for text in ("leds", "led test", "gsm")]

    def without_leds(data):
        data["board"]["leds"] = "none"  # the reference HAT's definition has LEDs

    leds, led_test, gsm = play(tmp_path, story, config=config_copy(tmp_path, without_leds))
    assert leds == "error: leds: this board has no status LEDs (add board.leds to the configuration)"
    assert led_test.startswith("error: led test: this board has no status LEDs")
    assert gsm == "error: gsm: there is no GSM modem (add a 'gsm' section to the configuration)"


def test_help_explains_the_patterns_on_80_columns():
    text = format_result(["help", "leds"], resolve("help", ["leds"])[0].handler(ControlContext(daemon=None), ["leds"]))
    assert "emergency 4 Hz" in text and "gsm 1-4 blinks every 3 s" in text and _fits(text)
    listing = format_result(["help"], resolve("help", [])[0].handler(ControlContext(daemon=None), []))
    assert all(name in listing for name in ("gsm ", "led test", "leds "))
