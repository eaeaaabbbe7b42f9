"""``centralino hat probe``: the installer's bring-up check of a HAT, one line per check.

It runs instead of the daemon (it owns the buses for a minute) on the Pi or on the simulated
board, with the production drivers, in the order a technician would look:

1. the ID EEPROM (product string, format, CRCs);
2. every chip: found, part and revision, started as the daemon starts it;
3. each FXS port: battery and DC-DC converter (voltage, calibration, the power-leak test), then
   a line test (tip, ring, loop current with the phone on hook);
4. each FXO port: line voltage and polarity (line 1 with the lifeline relay held, see 6);
5. each port: a digital loopback through its own PCM timeslot, a 1004 Hz tone sent and measured
   back, so the PCM wiring and the timeslot are proven without a phone or a line;
6. the lifeline relay: line 1 absent from its DAA while released, present while heartbeats hold
   it, absent again ``hold_s`` after they stop (the monostable drops it without software);
7. the GSM modem: AT, SIM, registration, signal.

Each line says OK, or FAIL with what was found and what to do; SKIP marks checks that could not
run because an earlier one failed. The command exits non-zero when anything failed.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import numpy as np

from centralino.drivers.errors import ChipError
from centralino.drivers.hat_eeprom import read_hat_info
from centralino.drivers.proslic import ProSlic
from centralino.drivers.relay import LifelineRelay
from centralino.drivers.si3050 import Si3050Daa
from centralino.media import g711
from centralino.media.frames import FRAME_SAMPLES

LAW = "alaw"
TONE_HZ = 1004.0  # the telephony test tone (not a submultiple of 8 kHz)
TONE_AMPLITUDE = 8000  # about -9 dBm0
LOOPBACK_FRAMES = 25  # 0.5 s: on the Pi the ALSA stream returns frames a few periods late
LOOPBACK_MEASURED = 10  # the last frames are measured
LOOPBACK_TOLERANCE_DB = 3.0
LOOPBACK_PURITY = 0.9  # share of the received power at the tone's frequency
SILENT_DB = -40.0  # less than this came back: the slot is silent (A-law idle codes are not zero)
ON_HOOK_LINE_V = 30.0  # at least this between tip and ring with the phone on hook
ON_HOOK_MAX_MA = 5.0
DAA_LINE_PRESENT_V = 3
HOLD_BEAT_S = 0.02  # the relay is held like the media clock holds it: one toggle every 20 ms
RELAY_SETTLE_S = 0.3
RELAY_DROP_MARGIN_S = 0.3
MODEM_READY_S = 20.0
WEAK_SIGNAL_DBM = -105


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "OK", "FAIL" or "SKIP"
    detail: str
    advice: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name:<17} {self.detail}"
        return text + (f" -> {self.advice}" if self.advice and self.status != "OK" else "")


def ok(name, detail) -> Check:
    return Check(name, "OK", detail)


def fail(name, detail, advice="") -> Check:
    return Check(name, "FAIL", detail, advice)


def skip(name, why) -> Check:
    return Check(name, "SKIP", why)


async def probe(settings, board, clock) -> list[Check]:
    """Run every check on an opened (not started) board; closes the drivers, not the board."""
    checks = [eeprom_check(board, settings.board.hat)]
    await board.start()
    await board.reset_shared_lines()
    drivers = _drivers(settings, board, clock)
    results = await asyncio.gather(*(driver.start() for driver in drivers.values()), return_exceptions=True)
    started = {}
    for (name, driver), result in zip(drivers.items(), results):
        checks.append(_chip_check(name, driver, result))
        if not isinstance(result, BaseException):
            started[name] = driver
    lifeline = settings.board.lifeline
    relay = _relay(board, lifeline, clock)
    released_v = _line_volts(started.get(lifeline.line)) if relay is not None else None
    holder = asyncio.get_running_loop().create_task(_hold(relay)) if relay is not None else None
    try:
        if holder is not None:
            await asyncio.sleep(RELAY_SETTLE_S)
        for port in settings.board.ports:
            driver = started.get(port.name)
            if port.kind == "fxs":
                checks += fxs_checks(port.name, driver)
            else:
                checks.append(fxo_line_check(port.name, driver, lifeline is not None and port.name == lifeline.line))
        for port in settings.board.ports:
            checks.append(await loopback_check(port.name, started.get(port.name), board.pcm, port.timeslot,
                                               settings.board.pcm_slots))
        held_v = _line_volts(started.get(lifeline.line)) if relay is not None else None
    finally:
        if holder is not None:
            holder.cancel()
            await asyncio.gather(holder, return_exceptions=True)
    if relay is not None:
        checks.append(await relay_check(relay, lifeline, started.get(lifeline.line), released_v, held_v, clock))
    else:
        checks.append(skip("relay", "this board has no lifeline relay"))
    checks += await modem_checks(settings, board, clock)
    for driver in drivers.values():
        try:
            driver.close()
        except (ChipError, OSError):
            pass
    return checks


def failed(checks: list[Check]) -> bool:
    return any(check.failed for check in checks)


# ------------------------------------------------------------------------------ the EEPROM
def eeprom_check(board, expected: str) -> Check:
    try:
        info = read_hat_info(board.hat_bus)
    except ChipError as err:
        return fail("eeprom", str(err), "a new board: program it with `centralino hat eeprom write`; "
                                        "otherwise check the EEPROM and its pull-ups on ID_SD/ID_SC")
    if info.product != expected:
        return fail("eeprom", f"the HAT says {info.product!r}, the configuration expects {expected!r}",
                    "use the board definition of this HAT, or reprogram the EEPROM")
    overlay = f", overlay atom {info.overlay_bytes} bytes" if info.overlay_bytes else ", no overlay atom"
    return ok("eeprom", f"{info.product} version {info.product_version} by {info.vendor}, uuid {info.uuid}{overlay}")


# ------------------------------------------------------------------------------ the chips
def _drivers(settings, board, clock) -> dict:
    drivers = {}
    for port in settings.board.ports:
        buses = board.ports[port.name]
        if port.kind == "fxs":
            drivers[port.name] = ProSlic(buses.spi, buses.irq, buses.reset, port=port.name, timeslot=port.timeslot,
                                         law=LAW, clock=clock)
        else:
            drivers[port.name] = Si3050Daa(buses.spi, buses.irq, buses.reset, port=port.name,
                                           timeslot=port.timeslot, law=LAW, country=port.country or "ITALY",
                                           clock=clock)
    return drivers


def _chip_check(name: str, driver, result) -> Check:
    if isinstance(result, BaseException):
        what = "SLIC" if isinstance(driver, ProSlic) else "DAA"
        return fail(f"{name} chip", f"{type(result).__name__}: {result}",
                    f"check the {what}'s seating, its supply and reset line, and its chip-select decoder output")
    if isinstance(driver, ProSlic):
        return ok(f"{name} chip", f"{driver.part} revision {driver.revision}, timeslot {driver.timeslot}")
    return ok(f"{name} chip", f"Si3050 DAA answers, line side (Si3019) linked, timeslot {driver.timeslot}")


def fxs_checks(name: str, driver: ProSlic | None) -> list[Check]:
    if driver is None:
        return [skip(f"{name} dc-dc", "the chip did not start"), skip(f"{name} line", "the chip did not start")]
    try:
        line = driver.diagnostics()
        calibration = driver.read_dcdc_calibration()
    except (ChipError, OSError) as err:
        return [fail(f"{name} dc-dc", f"cannot read the chip: {err}", "check the SPI wiring")]
    battery = f"battery {line.battery_v:.1f} V, DC-DC calibration 0x{calibration:02X}"
    checks = [fail(f"{name} dc-dc", f"{battery}; " + "; ".join(driver.warnings),
                   "check the DC-DC converter's parts (inductor, MOSFET, sense resistor) and the port's "
                   "line feed for a short")
              if driver.warnings else ok(f"{name} dc-dc", f"{battery}, no leakage")]
    between = abs(line.ring_v - line.tip_v)
    measured = f"tip {line.tip_v:.1f} V, ring {line.ring_v:.1f} V, loop {line.loop_current_ma:.1f} mA"
    if line.loop_current_ma >= ON_HOOK_MAX_MA:
        checks.append(fail(f"{name} line", measured + " with the phone expected on hook",
                           "put the phone on hook; if it is, the pair is shorted or leaks to ground"))
    elif between < ON_HOOK_LINE_V:
        checks.append(fail(f"{name} line", measured + f": only {between:.1f} V between tip and ring",
                           "the line feed is not working: check the port's transistors and protection"))
    else:
        checks.append(ok(f"{name} line", measured + ", on hook"))
    return checks


def fxo_line_check(name: str, driver: Si3050Daa | None, behind_relay: bool = False) -> Check:
    if driver is None:
        return skip(f"{name} line", "the chip did not start")
    try:
        status = driver.line_status()
    except (ChipError, OSError) as err:
        return fail(f"{name} line", f"cannot read the chip: {err}", "check the SPI wiring")
    if not status.line_present:
        relay = " (it reaches the DAA through the lifeline relay, held during this check: see the relay line)"
        return fail(f"{name} line", f"no line voltage ({status.voltage_v} V)",
                    "plug the exchange's line into this port, or have the line checked" + (relay if behind_relay else ""))
    polarity = "normal" if status.polarity > 0 else "reversed"
    return ok(f"{name} line", f"{abs(status.voltage_v)} V on hook, polarity {polarity}")


# ------------------------------------------------------------------------------ PCM loopback
async def loopback_check(name: str, driver, pcm, slot: int, slots: int) -> Check:
    if driver is None:
        return skip(f"{name} loopback", "the chip did not start")
    encode, decode = g711.codec(LAW)
    silence = encode(np.zeros(1, dtype=np.int16))[0]
    t = np.arange(LOOPBACK_FRAMES * FRAME_SAMPLES) / 8000.0
    tone = (TONE_AMPLITUDE * np.sin(2 * math.pi * TONE_HZ * t)).astype(np.int16)
    received = []
    try:
        driver.set_digital_loopback(True)
        for index in range(LOOPBACK_FRAMES):
            out = np.full((FRAME_SAMPLES, slots), silence, dtype=np.uint8)
            out[:, slot] = encode(tone[index * FRAME_SAMPLES:(index + 1) * FRAME_SAMPLES])
            raw = np.frombuffer(pcm.transfer(out.tobytes()), dtype=np.uint8).reshape(FRAME_SAMPLES, slots)
            received.append(decode(raw[:, slot]))
            await asyncio.sleep(0)
    except (ChipError, OSError, ValueError) as err:
        return fail(f"{name} loopback", f"the PCM bus failed: {err}", "check the PCM wiring (GPIO 18-21)")
    finally:
        try:
            driver.set_digital_loopback(False)
        except (ChipError, OSError):
            pass
    back = np.concatenate(received[-LOOPBACK_MEASURED:]).astype(float)
    sent = tone[-LOOPBACK_MEASURED * FRAME_SAMPLES:].astype(float)
    gain_db, purity = _tone_level(back, sent)
    measured = f"{TONE_HZ:.0f} Hz sent in slot {slot}"
    if purity < LOOPBACK_PURITY or abs(gain_db) > LOOPBACK_TOLERANCE_DB:
        found = ("nothing came back" if gain_db < SILENT_DB
                 else f"came back at {gain_db:+.1f} dB, {purity:.0%} pure")
        return fail(f"{name} loopback", f"{measured}: {found}",
                    "check the chip's PCM pins and that no other chip drives this timeslot")
    return ok(f"{name} loopback", f"{measured} came back at {gain_db:+.1f} dB")


def _tone_level(back: np.ndarray, sent: np.ndarray) -> tuple[float, float]:
    """(gain of the tone in dB, share of the received power that is the tone)."""
    n = np.arange(back.size)
    basis = np.exp(-2j * math.pi * TONE_HZ * n / 8000.0)
    amplitude_back = 2 * abs(np.dot(back, basis)) / back.size
    amplitude_sent = 2 * abs(np.dot(sent, basis[:sent.size])) / sent.size
    power = float(np.mean(back ** 2))
    if amplitude_back <= 0 or power <= 0:
        return -math.inf, 0.0
    return 20 * math.log10(amplitude_back / amplitude_sent), min(1.0, amplitude_back ** 2 / 2 / power)


# ------------------------------------------------------------------------------ the lifeline relay
def _relay(board, lifeline, clock) -> LifelineRelay | None:
    if lifeline is None or board.lifeline_relay is None:
        return None
    return LifelineRelay(board.lifeline_relay, board.lifeline_sense, hold_s=lifeline.hold_s, clock=clock)


async def _hold(relay: LifelineRelay) -> None:
    while True:
        relay.beat()
        await asyncio.sleep(HOLD_BEAT_S)


def _line_volts(driver: Si3050Daa | None) -> int | None:
    if driver is None:
        return None
    try:
        return driver.line_status().voltage_v
    except (ChipError, OSError):
        return None


async def relay_check(relay: LifelineRelay, lifeline, daa, released_v, held_v, clock) -> Check:
    relay.stop()
    if daa is None:
        return skip("relay", f"{lifeline.line} did not start: its DAA is how the relay is seen")
    if released_v is not None and abs(released_v) >= DAA_LINE_PRESENT_V:
        return fail("relay", f"{lifeline.line} has {abs(released_v)} V with the relay released",
                    "the relay is stuck energised or miswired: phone 1 would have no line with the Pi down")
    if held_v is None or abs(held_v) < DAA_LINE_PRESENT_V:
        return fail("relay", f"no line on {lifeline.line} with the relay held by heartbeats",
                    f"plug line 1 into {lifeline.line}; if it is, the relay does not pull in "
                    "(check its coil, driver transistor and the 74HC123)")
    stopped = clock()
    deadline = stopped + lifeline.hold_s + RELAY_DROP_MARGIN_S
    while clock() < deadline:
        await asyncio.sleep(HOLD_BEAT_S)
        volts = _line_volts(daa)
        if volts is not None and abs(volts) < DAA_LINE_PRESENT_V:
            after = clock() - stopped
            sense = "busy" if relay.direct_path_busy(0.0) else "idle"
            return ok("relay", f"pulls in on heartbeats ({abs(held_v)} V on {lifeline.line}), drops by itself "
                               f"{after:.2f} s after the last one; sense {sense}")
    return fail("relay", f"still energised {lifeline.hold_s + RELAY_DROP_MARGIN_S:.1f} s after the last heartbeat",
                "the monostable does not time out or the relay sticks: phone 1 would have no line with the Pi down")


# ------------------------------------------------------------------------------ the modem
async def modem_checks(settings, board, clock) -> list[Check]:
    if settings.gsm is None:
        return [skip("modem", "no gsm section in the configuration")]
    from centralino.drivers.gsm_modem import GsmModem

    at_port, audio_port = board.gsm_ports
    modem = GsmModem(at_port, dialect=settings.gsm.dialect, audio_path=audio_port, clock=clock,
                     power_key=board.gsm_power_key, ready_timeout_s=MODEM_READY_S)
    try:
        status = await modem.start()
    except (ChipError, OSError) as err:
        await modem.close()
        return [fail("modem AT", f"no answer on {at_port}: {err}",
                     "check the modem's USB cable and power; `centralino hat probe` again after a minute")]
    checks = [ok("modem AT", f"{settings.gsm.dialect} answers on {at_port}")]
    if status["sim"] != "READY":
        checks.append(fail("modem SIM", f"SIM {status['sim']}", "insert the SIM, or remove its PIN"))
    else:
        checks.append(ok("modem SIM", "ready"))
    if status["registration"] in ("home", "roaming"):
        checks.append(ok("modem network", f"registered ({status['registration']}) on {status['operator']}"))
    else:
        checks.append(fail("modem network", f"not registered ({status['registration']})",
                           "check the antenna and that the SIM's contract is active"))
    signal = status["signal_dbm"]
    if signal is None or signal < WEAK_SIGNAL_DBM:
        checks.append(fail("modem signal", "no signal" if signal is None else f"{signal} dBm, too weak",
                           "move the antenna or fit a better one"))
    else:
        checks.append(ok("modem signal", f"{signal} dBm"))
    await modem.close()
    return checks
