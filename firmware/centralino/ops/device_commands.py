"""Console commands about the board's devices: ``gsm``, ``leds`` and ``led test``.

Registered in the same command table as the rest (``ops/commands.py`` imports this module);
each answers a flat mapping of short texts, one line each on an 80-column terminal.
"""

from __future__ import annotations

from centralino.drivers.errors import ChipError

from .commands import CommandError, ControlContext, command
from .leds import LED_TEST_STEP_S


def _supervisor(ctx: ControlContext, what: str):
    supervisor = getattr(ctx.daemon, "led_supervisor", None)
    if supervisor is None:
        raise CommandError(f"{what}: this board has no status LEDs (add board.leds to the configuration)")
    return supervisor


@command("gsm", "gsm", "the GSM modem: signal, operator, SIM, registration, recoveries, last error",
         details="signal: dBm and bars (the gsm LED blinks the bars every 3 s); read again\n"
                 "every minute while the modem is idle. recoveries: times the modem was lost\n"
                 "and brought back. last error: the last failure seen, even if recovered since.")
def gsm(ctx: ControlContext, args: list[str]):
    watch = getattr(ctx.daemon, "gsm_watch", None)
    if watch is None:
        raise CommandError("gsm: there is no GSM modem (add a 'gsm' section to the configuration)")
    return watch.status()


@command("leds", "leds", "every status LED: on or off now, and the pattern it shows",
         details="heartbeat double blink = alive; ready steady; trunk steady = a line is up;\n"
                 "gsm 1-4 blinks every 3 s = signal bars; line steady = a call; failover 1 Hz;\n"
                 "emergency 4 Hz = an emergency call; fault 2 Hz = see status;\n"
                 "crisis on 1.5 s, off 0.5 s = the crisis service (on ready without a crisis LED).\n"
                 "With fewer LEDs, a missing LED's state shows on another (listed per LED).")
def leds(ctx: ControlContext, args: list[str]):
    supervisor = _supervisor(ctx, "leds")
    status = supervisor.status()
    out = {}
    for led in status["leds"]:
        also = [s for s in led["shows"] if s != led["name"]]
        out[led["name"]] = (f"{'on ' if led['lit'] else 'off'}  {led['pattern']}"
                            + (f"  (also shows {', '.join(also)})" if also else ""))
    if status["testing"]:
        out["test"] = "running"
    if status["problem"]:
        out["problem"] = status["problem"]
    return out


@command("led test", "led test", "light every status LED in turn, then back to the patterns",
         details=f"Each LED alone for {LED_TEST_STEP_S:g} s, in the order 'leds' lists them: a LED that\n"
                 "stays dark at its turn is broken or miswired.", audited=True)
def led_test(ctx: ControlContext, args: list[str]):
    supervisor = _supervisor(ctx, "led test")
    try:
        plan = supervisor.start_test()
    except ChipError as err:
        raise CommandError(f"led test: {err}") from None
    return {"testing": ", ".join(plan["sequence"]),
            "message": f"each LED alone for {plan['step_s']:g} s; done in {plan['takes_s']:g} s"}
