"""GSM modem driver (SIMCom SIM7600 and Quectel EC25 dialects) over pyserial, on asyncio.

One reader (``loop.add_reader`` on the AT port) splits the byte stream into lines and sorts them:
the final result of the command in flight (``OK``, ``ERROR``, ``+CME ERROR:``, ``+CMS ERROR:``)
with its intermediate lines, unsolicited result codes (RING, +CLIP, +CREG/+CEREG, +CMTI, call-end
codes, +DTMF/+QTONEDET, +CPIN, RDY), and noise. Noise is logged, counted and skipped, never
raised: the modem is an external input. Commands go one at a time under a lock and each has a
timeout; a timeout raises ``ModemError`` naming the command and what came back.

Call state comes from URCs *and* from polling ``AT+CLCC`` every second while a call exists, since
the SIM7600 gives no reliable call-end code and URCs get lost (reference/hardware.md).

Health: a watchdog probes with ``AT`` when the port has been quiet; if nothing at all arrives for
``LOST_SILENCE_S`` (or the port errors, or the udev symlink disappears) the modem is declared lost
within 10 s and recovered: ``AT+CFUN=1,1`` if it still takes commands, else the power key (an
optional ``periphery.GPIO`` output: pulse low to switch off, pulse low to switch on), then wait for
the symlink, reopen and re-initialise. A spontaneous reset (``RDY`` / ``+CPIN: READY`` out of the
blue) is recovered the same way without the reset.

The first call after a reset: field reports say it often fails right after ``AT+CFUN=1,1``. The
driver therefore reports ``ready`` only when the modem is registered (home or roaming) *and* has
answered ``AT+CLCC`` successfully; ``dial()`` waits for ``ready`` (bounded) instead of dialling into
a half-booted modem. Emergency calls skip that wait: they go out as soon as the port answers,
with or without a SIM or registration.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable

import numpy as np
import serial

from . import gsm_lines as L
from .gsm_audio import GsmAudioPort
from .gsm_events import (CallAlerting, CallAnswered, CallEnded, Dtmf, IncomingCall, ModemError, ModemLost, ModemRecovered,
                         RegistrationChanged, SmsReceived)

__all__ = ["GsmModem", "ModemError"]

log = logging.getLogger(__name__)

DIALECTS = ("sim7600", "ec25")
BAUD_RATE = 115200
COMMAND_TIMEOUT_S = 5.0
DIAL_TIMEOUT_S = 10.0
SMS_TIMEOUT_S = 30.0
EMERGENCY_SMS_GRACE_S = 2.0  # an SMS already handed to the network gets this long before an emergency call
PROMPT = b"> "
CTRL_Z = "\x1a"
ESC = "\x1b"
CLIP_WAIT_S = 0.5
CLCC_POLL_S = 1.0
WATCHDOG_TICK_S = 1.0
PROBE_IDLE_S = 3.0
PROBE_TIMEOUT_S = 2.0
LOST_SILENCE_S = 7.0
RESET_ANSWER_S = 2.0
RESET_SETTLE_S = 1.0
REAPPEAR_WAIT_S = 20.0
REOPEN_RETRY_S = 0.5
READY_WAIT_S = 30.0
READY_POLL_S = 1.0
DIAL_READY_WAIT_S = 30.0
PWRKEY_OFF_LOW_S = 3.0   # SIM7600/EC25 power-off pulse >= 2.5 s [M]
PWRKEY_ON_LOW_S = 1.0    # power-on pulse >= 0.5 s [M]
PWRKEY_OFF_WAIT_S = 2.0
SMS_MAX_CHARS = 160
NUMBER_RE = re.compile(r"^\+?[0-9*#]{1,32}$")
DTMF_RE = re.compile(r"^[0-9*#A-Da-d]{1,32}$")
REGISTERED = ("home", "roaming")

DIALECT_COMMANDS = {
    "sim7600": {"dtmf_detect": "AT+DDET=1,1000,1", "pcm_on": "AT+CPCMREG=1", "pcm_off": "AT+CPCMREG=0",
                "hangup": "AT+CHUP"},
    "ec25": {"dtmf_detect": "AT+QTONEDET=1", "pcm_on": "AT+QPCMV=1,0", "pcm_off": "AT+QPCMV=0",
             "hangup": "ATH"},
}


class _Pending:
    """The command in flight: its text, expected response prefix, lines so far, result futures."""

    def __init__(self, loop: asyncio.AbstractEventLoop, command: str, wants_prompt: bool):
        self.command = command
        self.prefix = L.response_prefix(command)
        self.lines: list[str] = []
        self.done = loop.create_future()
        self.prompt = loop.create_future() if wants_prompt else None

    def finish(self, final: str) -> None:
        if not self.done.done():
            self.done.set_result(final)

    def fail(self, error: Exception) -> None:
        for future in (self.done, self.prompt):
            if future is not None and not future.done():
                future.set_exception(error)


class GsmModem:
    """The modem on ``port_path`` (e.g. the udev symlink ``/dev/gsm-at``)."""

    def __init__(self, port_path: str, *, dialect: str, audio_path: str | None, name: str = "gsm",
                 clock: Callable[[], float] = time.monotonic, serial_factory=serial.Serial,
                 listener: Callable[[object], None] | None = None, power_key=None,
                 ready_timeout_s: float = READY_WAIT_S):
        if dialect not in DIALECTS:
            raise ValueError(f"{name}: unknown modem dialect {dialect!r}; expected one of {DIALECTS}")
        self.port_path = port_path
        self.audio_path = audio_path
        self.dialect = dialect
        self.name = name
        self._clock = clock
        self._serial_factory = serial_factory
        self._listener = listener
        self._power_key = power_key
        self._ready_timeout_s = ready_timeout_s
        self._cmds = DIALECT_COMMANDS[dialect]
        self._serial = None
        self._fd: int | None = None
        self._audio: GsmAudioPort | None = None
        self._rx = bytearray()
        self._lock = asyncio.Lock()
        self._urgent = 0  # emergency commands waiting: others wait behind them, not before
        self._no_urgent = asyncio.Event()
        self._no_urgent.set()
        self._pending: _Pending | None = None
        self._tasks: set[asyncio.Task] = set()
        self._watchdog: asyncio.Task | None = None
        self._poller: asyncio.Task | None = None
        self._recovering = False
        self._closed = False
        self._last_rx_s = clock()
        self.state = "closed"
        self._sim = "unknown"
        self._signal_dbm: int | None = None
        self._operator: str | None = None
        self._reg = {"CREG": None, "CEREG": None}
        self._registration = "unknown"
        self._call: str | None = None  # None, "incoming", "dialing", "alerting", "active"
        self._incoming_number: str | None = None
        self._incoming_announced = False
        self.recoveries = 0
        self.last_recovery_s: float | None = None
        self.garbled_lines = 0
        self.unexpected_lines = 0
        self.timeouts = 0

    # ================================================================== public API
    def set_listener(self, listener: Callable[[object], None] | None) -> None:
        self._listener = listener

    async def start(self) -> dict:
        """Open the ports, initialise, wait (bounded) until ready; start the watchdog."""
        self._loop = asyncio.get_running_loop()
        self._closed = False
        if self._serial is None:
            self._open_ports()
        await self._initialise()
        if self._watchdog is None:
            self._watchdog = self._spawn(self._watch())
        return self.status()

    async def close(self) -> None:
        self._closed = True
        for task in [self._watchdog, self._poller, *self._tasks]:
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._close_ports()
        self.state = "closed"

    async def command(self, cmd: str, timeout_s: float = COMMAND_TIMEOUT_S, *, payload: str | None = None,
                      urgent: bool = False) -> list[str]:
        """Send one command; return its intermediate lines; raise ModemError on error or timeout.

        With ``payload`` (AT+CMGS) the text is sent after the ``> `` prompt, ended with Ctrl-Z.
        An ``urgent`` command (an emergency call's) goes before every command not yet sent.
        """
        if urgent or self._recovering:  # bringing a lost modem back serves the emergency call too
            self._urgent += 1
            self._no_urgent.clear()
            try:
                async with self._lock:
                    return await self._exchange(cmd, timeout_s, payload)
            finally:
                self._urgent -= 1
                if self._urgent == 0:
                    self._no_urgent.set()
        while True:
            await self._no_urgent.wait()
            async with self._lock:
                if self._urgent:  # an emergency command arrived while this one waited for the lock
                    continue
                return await self._exchange(cmd, timeout_s, payload)

    async def _exchange(self, cmd: str, timeout_s: float, payload: str | None) -> list[str]:
        """One command and its answer, under the lock."""
        if self._serial is None:
            raise ModemError(self.name, cmd, "the AT port is not open")
        pending = _Pending(self._loop, cmd, payload is not None)
        self._pending = pending
        try:
            self._write(cmd + "\r")
            if pending.prompt is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(pending.prompt), timeout_s)
                except asyncio.TimeoutError:
                    self._write(ESC)
                    raise
                self._write(payload + CTRL_Z)
            final = await asyncio.wait_for(asyncio.shield(pending.done), timeout_s)
        except asyncio.TimeoutError:
            self.timeouts += 1
            raise ModemError(self.name, cmd, f"no final result within {timeout_s:g} s",
                             received=pending.lines) from None
        finally:
            self._pending = None
        if final != L.FINAL_OK:
            raise ModemError(self.name, cmd, f"modem answered {final!r}", received=pending.lines)
        return pending.lines

    def status(self) -> dict:
        return {"name": self.name, "dialect": self.dialect, "state": self.state, "sim": self._sim,
                "signal_dbm": self._signal_dbm, "operator": self._operator,
                "registration": self._registration, "call": self._call, "recoveries": self.recoveries,
                "last_recovery_s": self.last_recovery_s, "garbled_lines": self.garbled_lines,
                "unexpected_lines": self.unexpected_lines, "timeouts": self.timeouts,
                "audio": self._audio is not None}

    async def dial(self, number: str, *, emergency: bool = False) -> None:
        """Place a voice call; returns once the modem accepted it (CallAnswered / CallEnded follow).

        Non-emergency calls first wait until the modem is ``ready`` (see the module docstring).
        """
        if not NUMBER_RE.match(number or ""):
            raise ValueError(f"{self.name}: cannot dial {number!r}: digits, * and # only, optional leading +")
        if emergency:
            await self._wait_for(lambda: self._serial is not None and not self._recovering, DIAL_READY_WAIT_S)
        else:
            await self._wait_for(lambda: self.state == "ready", DIAL_READY_WAIT_S)
        if emergency:
            await self._stop_sms_for_emergency()
        if self._call is not None and emergency:
            await self._clear_for_emergency(f"a call is already {self._call}")
        if self._call is not None:
            raise ModemError(self.name, f"ATD{number};", f"a call is already {self._call}")
        self._call = "dialing"
        try:
            try:
                await self.command(f"ATD{number};", DIAL_TIMEOUT_S, urgent=emergency)
            except ModemError as err:
                if not emergency:
                    raise
                # The modem refused (``+CME ERROR: 3``: it holds a call whose RING lines were lost
                # or garbled, or it was mid-boot): clear whatever it holds and try once more.
                await self._clear_for_emergency(str(err))
                self._call = "dialing"
                await self.command(f"ATD{number};", DIAL_TIMEOUT_S, urgent=True)
        except ModemError:
            if self._call == "dialing":
                self._call = None
            raise
        self._ensure_poller()

    async def _clear_for_emergency(self, why: str) -> None:
        """Before an emergency call: hang up any call the modem holds (one we never heard ring)."""
        log.warning("%s: clearing the modem for an emergency call (%s)", self.name, why)
        try:
            await self.command(self._cmds["hangup"], urgent=True)
        except ModemError as err:
            log.warning("%s: hanging up before the emergency call failed: %s", self.name, err)
        self._call = None

    async def _stop_sms_for_emergency(self) -> None:
        """An SMS in flight must not hold an emergency call: one still at the ``> `` prompt is
        cancelled with ESC at once; one already handed to the network gets a short grace, then
        the driver stops waiting for its answer (the SMS is reported failed to its sender)."""
        pending = self._pending
        if pending is None or pending.prompt is None:
            return
        if not pending.prompt.done():
            self._write(ESC)
            pending.fail(ModemError(self.name, pending.command, "cancelled for an emergency call"))
            log.warning("%s: an SMS was cancelled for an emergency call", self.name)
            return
        try:
            await asyncio.wait_for(asyncio.shield(pending.done), EMERGENCY_SMS_GRACE_S)
        except BaseException:  # noqa: BLE001 (its own sender hears how it ended)
            pass
        if not pending.done.done():
            pending.fail(ModemError(self.name, pending.command, "no longer awaited: an emergency call goes first"))
            log.warning("%s: stopped waiting for an SMS's answer for an emergency call", self.name)

    async def answer(self) -> None:
        if self._call != "incoming":
            raise ModemError(self.name, "ATA", "no incoming call to answer")
        await self.command("ATA", DIAL_TIMEOUT_S)
        await self._connected()

    async def hangup(self) -> None:
        if self._call == "active":
            await self._pcm(False)
        try:
            await self.command(self._cmds["hangup"])
        finally:
            self._call_ended("local hangup")

    async def send_dtmf(self, digits: str) -> None:
        if not DTMF_RE.match(digits or ""):
            raise ValueError(f"{self.name}: invalid DTMF digits {digits!r}: 0-9 * # A-D only")
        await self.command(f'AT+VTS="{digits.upper()}"')

    async def send_sms(self, number: str, text: str) -> int:
        """Send a text-mode SMS; returns the message reference from ``+CMGS``."""
        if not NUMBER_RE.match(number or ""):
            raise ValueError(f"{self.name}: invalid SMS recipient {number!r}")
        if len(text) > SMS_MAX_CHARS or any(c in text for c in (CTRL_Z, ESC, "\r")) or not all(
                c == "\n" or " " <= c <= "~" for c in text):
            raise ValueError(f"{self.name}: SMS text must be at most {SMS_MAX_CHARS} printable ASCII characters")
        lines = await self.command(f'AT+CMGS="{number}"', SMS_TIMEOUT_S, payload=text)
        for line in lines:
            if line.startswith("+CMGS:"):
                try:
                    return int(L.fields(line)[0])
                except ValueError:
                    break
        return -1

    def read_frame(self) -> np.ndarray | None:
        """The next 20 ms of the far end's voice (int16[160]), or None if none has arrived."""
        if self._audio is None or self._call != "active":
            return None
        return self._audio.read_frame()

    def write_frame(self, frame: np.ndarray) -> None:
        """Send 20 ms of voice (int16[160]) to the far end; dropped when no call is connected."""
        if np.shape(frame) != (160,):
            raise ValueError(f"{self.name}: a voice frame is 160 samples, got shape {np.shape(frame)}")
        if self._audio is not None and self._call == "active":
            self._audio.write_frame(frame)

    # ================================================================== ports and the reader
    def _open_ports(self) -> None:
        self._serial = self._serial_factory(self.port_path, baudrate=BAUD_RATE, timeout=0, write_timeout=1)
        self._fd = self._serial.fileno()
        self._rx.clear()
        self._loop.add_reader(self._fd, self._on_readable)
        self._last_rx_s = self._clock()
        if self.audio_path:
            try:
                self._audio = GsmAudioPort(self.audio_path, self._serial_factory, self.name)
            except (OSError, serial.SerialException) as err:
                log.warning("%s: voice port %s not available: %s", self.name, self.audio_path, err)
                self._audio = None

    def _close_ports(self) -> None:
        if self._fd is not None:
            try:
                self._loop.remove_reader(self._fd)
            except (ValueError, OSError):
                pass
        if self._serial is not None:
            try:
                self._serial.close()
            except (OSError, serial.SerialException):
                pass
        if self._audio is not None:
            self._audio.close()
        self._serial, self._fd, self._audio = None, None, None
        if self._pending is not None:
            self._pending.fail(ModemError(self.name, self._pending.command, "the AT port closed",
                                          received=self._pending.lines))

    def _write(self, text: str) -> None:
        try:
            self._serial.write(text.encode("latin-1"))
        except (OSError, serial.SerialException) as err:
            self._port_failed(f"write failed: {err}")
            raise ModemError(self.name, text.strip(), f"write failed: {err}") from err

    def _on_readable(self) -> None:
        try:
            data = self._serial.read(max(1, self._serial.in_waiting))
        except (OSError, serial.SerialException) as err:
            self._port_failed(f"read failed: {err}")
            return
        if not data:
            return
        self._last_rx_s = self._clock()
        self._rx += data
        self._split_lines()

    def _split_lines(self) -> None:
        while True:
            ends = [i for i in (self._rx.find(b"\r"), self._rx.find(b"\n")) if i >= 0]
            if not ends:
                break
            end = min(ends)
            raw = bytes(self._rx[:end])
            del self._rx[:end + 1]
            self._take_line(raw)
        pending = self._pending
        if pending is not None and pending.prompt is not None and self._rx.lstrip().startswith(PROMPT.strip()):
            self._rx.clear()
            if not pending.prompt.done():
                pending.prompt.set_result(True)

    def _port_failed(self, reason: str) -> None:
        log.warning("%s: AT port failed: %s", self.name, reason)
        self._close_ports()
        if not self._recovering and not self._closed:
            self._spawn(self._recover(f"port lost ({reason})", send_reset=False))

    # ================================================================== sorting lines
    def _take_line(self, raw: bytes) -> None:
        line = raw.decode("latin-1").strip()
        if not line:
            return
        if not L.is_printable(line):
            self.garbled_lines += 1
            log.warning("%s: garbled line skipped: %r", self.name, raw)
            return
        pending = self._pending
        if pending is not None and line == pending.command:
            return  # echo (before ATE0 took effect)
        if pending is not None and L.is_final(line):
            pending.finish(line)
        elif pending is not None and line in L.CALL_END_CODES and pending.command.upper().startswith(("ATD", "ATA")):
            pending.finish(line)
            self._on_urc(line)
        elif pending is not None and pending.prefix and line.startswith(pending.prefix):
            pending.lines.append(line)
        elif L.is_urc(line):
            self._on_urc(line)
        elif L.is_ignored(line):
            log.debug("%s: ignored %r", self.name, line)
        elif pending is not None:
            pending.lines.append(line)
        else:
            self.unexpected_lines += 1
            log.warning("%s: unexpected line skipped: %r", self.name, line)

    def _on_urc(self, line: str) -> None:
        if line == "RING" or line.startswith("+CLIP:"):
            self._on_ring(L.clip_number(line) if line.startswith("+CLIP:") else None, line != "RING")
        elif line in L.CALL_END_CODES:
            self._on_call_end_code(line)
        elif line.startswith(("+CREG:", "+CEREG:")):
            which = line[1:line.index(":")]
            self._set_registration(which, L.registration_stat(line, is_response=False))
        elif line.startswith("+DTMF:") or line.startswith("+QTONEDET:"):
            digit = L.dtmf_digit(line)
            if digit is None:
                self.garbled_lines += 1
            elif self._call == "active":
                self._emit(Dtmf(digit, self._clock()))
        elif line.startswith("+CMTI:"):
            index = L.cmti_index(line)
            if index is not None:
                self._spawn(self._read_sms(index))
        elif line == "RDY" or line == "+CPIN: READY":
            if self.state in ("ready", "no_service", "no_sim") and not self._recovering:
                self._spawn(self._recover("the modem restarted by itself", send_reset=False))
        elif line.startswith("+CPIN:"):
            self._sim = line.partition(":")[2].strip()

    # ================================================================== calls
    def _on_ring(self, number: str | None, has_clip: bool) -> None:
        if self._call not in (None, "incoming"):
            return
        if self._call is None:
            self._call = "incoming"
            self._incoming_announced = False
            self._incoming_number = None
            self._ensure_poller()
            if not has_clip:
                self._loop.call_later(CLIP_WAIT_S, self._announce_incoming)
        if has_clip:
            self._incoming_number = number
            self._announce_incoming()

    def _announce_incoming(self) -> None:
        if self._call == "incoming" and not self._incoming_announced:
            self._incoming_announced = True
            self._emit(IncomingCall(self._incoming_number, self._clock()))

    def _on_call_end_code(self, code: str) -> None:
        if self._call is None:
            return
        if code == "BUSY":
            reason = "busy"
        elif code == "NO ANSWER":
            reason = "no answer"
        elif self._call in ("dialing", "alerting"):
            reason = "unreachable"
        else:
            reason = "remote hangup"
        self._call_ended(reason)

    def _call_ended(self, reason: str) -> None:
        if self._call is None:
            return
        was_active = self._call == "active"
        self._call = None
        if was_active and self._serial is not None:
            self._spawn(self._pcm(False))
        if self._audio is not None:
            self._audio.flush()
        self._emit(CallEnded(reason, self._clock()))

    async def _connected(self) -> None:
        self._call = "active"
        if self._audio is not None:
            self._audio.flush()
        await self._pcm(True)
        self._emit(CallAnswered(self._clock()))

    async def _pcm(self, on: bool) -> None:
        try:
            await self.command(self._cmds["pcm_on" if on else "pcm_off"])
        except ModemError as err:
            log.warning("%s: voice PCM %s failed: %s", self.name, "on" if on else "off", err)

    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = self._spawn(self._poll_calls())

    async def _poll_calls(self) -> None:
        """While a call exists, ``AT+CLCC`` every second: the call-end code may never come."""
        while self._call is not None and not self._closed:
            await asyncio.sleep(CLCC_POLL_S)
            if self._call is None or self._recovering:
                break
            try:
                calls = L.clcc_calls(await self.command("AT+CLCC"))
            except ModemError as err:
                log.info("%s: call poll failed: %s", self.name, err)
                continue
            if self._call is None:
                break
            if not calls:
                self._call_ended("unreachable" if self._call in ("dialing", "alerting") else "remote hangup")
            elif self._call in ("dialing", "alerting"):
                stat = calls[0]["stat"]
                if stat == 0:
                    await self._connected()
                elif stat == 3 and self._call != "alerting":
                    self._call = "alerting"
                    self._emit(CallAlerting(self._clock()))

    # ================================================================== SMS
    async def _read_sms(self, index: int) -> None:
        try:
            lines = await self.command(f"AT+CMGR={index}")
        except ModemError as err:
            log.warning("%s: cannot read SMS %d: %s", self.name, index, err)
            return
        message = L.cmgr_message(lines)
        if message is None:
            self.unexpected_lines += 1
            return
        try:
            await self.command(f"AT+CMGD={index}")
        except ModemError as err:
            log.warning("%s: cannot delete SMS %d: %s", self.name, index, err)
        self._emit(SmsReceived(index, message[0], message[1], self._clock()))

    # ================================================================== init and status
    async def _initialise(self) -> None:
        """Settings a boot forgets, then status, then wait (bounded) for the ready condition."""
        self.state = "starting"
        for cmd in ("ATE0", "AT+CMEE=2", "AT+CLIP=1", "AT+CREG=2", self._cmds["dtmf_detect"], "AT+CMGF=1"):
            await self.command(cmd)
        try:
            await self.command("AT+CEREG=2")  # LTE registration reports; 2G/3G-only firmware refuses it
        except ModemError:
            pass
        await self._refresh_status()
        if self._sim != "READY":
            self.state = "no_sim"
            return
        await self._wait_ready(self._ready_timeout_s)

    async def _refresh_status(self) -> None:
        try:
            lines = await self.command("AT+CPIN?")
            self._sim = next((l.partition(":")[2].strip() for l in lines if l.startswith("+CPIN:")), "unknown")
        except ModemError as err:
            self._sim = "absent" if "SIM not inserted" in str(err) or "10" in str(err).split(":")[-1] else "error"
        for line in await self.command("AT+CSQ"):
            self._signal_dbm = L.signal_dbm(line)
        for line in await self.command("AT+COPS?"):
            self._operator = L.operator_name(line)
        await self._query_registration()

    async def _query_registration(self) -> None:
        for which in ("CREG", "CEREG"):
            try:
                lines = await self.command(f"AT+{which}?")
            except ModemError:
                continue
            for line in lines:
                self._set_registration(which, L.registration_stat(line, is_response=True))

    def _set_registration(self, which: str, stat: int | None) -> None:
        if stat is None:
            self.garbled_lines += 1
            return
        self._reg[which] = L.REGISTRATION_NAMES.get(stat, "unknown")
        names = [v for v in self._reg.values() if v is not None]
        best = next((n for n in names if n in REGISTERED), names[0] if names else "unknown")
        if best != self._registration:
            self._registration = best
            self._emit(RegistrationChanged(best, self._clock()))
            if best in REGISTERED and self.state == "no_service" and not self._recovering:
                self._spawn(self._wait_ready(self._ready_timeout_s))
            elif best not in REGISTERED and self.state == "ready":
                self.state = "no_service"

    async def _wait_ready(self, timeout_s: float) -> None:
        """Ready = registered and ``AT+CLCC`` answered: the guard for the first call after a reset."""
        deadline = self._clock() + timeout_s
        while True:
            if self._registration in REGISTERED:
                try:
                    await self.command("AT+CLCC")
                    for line in await self.command("AT+COPS?"):
                        self._operator = L.operator_name(line)
                    self.state = "ready"
                    return
                except ModemError:
                    pass
            if self._clock() >= deadline:
                self.state = "no_service"
                return
            await asyncio.sleep(READY_POLL_S)
            if self._registration not in REGISTERED:
                await self._query_registration()

    async def _wait_for(self, condition: Callable[[], bool], timeout_s: float) -> None:
        deadline = self._clock() + timeout_s
        while not condition():
            if self._clock() >= deadline:
                raise ModemError(self.name, "dial", f"modem not ready after {timeout_s:g} s (state {self.state})")
            await asyncio.sleep(0.2)

    # ================================================================== health and recovery
    async def _watch(self) -> None:
        while not self._closed:
            await asyncio.sleep(WATCHDOG_TICK_S)
            if self._recovering or self.state == "starting":
                continue
            if not os.path.exists(self.port_path) or self._serial is None:
                await self._recover("the device path disappeared", send_reset=False)
                continue
            silent_s = self._clock() - self._last_rx_s
            if silent_s >= PROBE_IDLE_S and not self._lock.locked():
                try:
                    await self.command("AT", PROBE_TIMEOUT_S)
                except ModemError as err:
                    log.warning("%s: watchdog probe failed: %s", self.name, err)
                silent_s = self._clock() - self._last_rx_s
            if silent_s >= LOST_SILENCE_S:
                await self._recover(f"no answer for {silent_s:.0f} s", send_reset=True)

    async def _recover(self, reason: str, *, send_reset: bool) -> None:
        if self._recovering or self._closed:
            return
        self._recovering = True
        started_s = self._clock()
        self.state = "recovering"
        log.warning("%s: modem lost: %s; recovering", self.name, reason)
        self._emit(ModemLost(reason, started_s))
        self._call_ended("modem lost")
        try:
            if self._pending is not None:
                self._pending.fail(ModemError(self.name, self._pending.command, "modem lost"))
            reset_by_command = send_reset and self._serial is not None and await self._try_reset_command()
            self._close_ports()
            while not self._closed:
                await asyncio.sleep(RESET_SETTLE_S)
                if await self._reopen(REAPPEAR_WAIT_S):
                    try:
                        await self._initialise()
                        break
                    except ModemError as err:
                        log.warning("%s: re-initialisation failed: %s", self.name, err)
                        self._close_ports()
                        continue
                if self._power_key is not None:
                    await self._power_cycle()
                elif not reset_by_command:
                    log.warning("%s: still no modem on %s", self.name, self.port_path)
        finally:
            self._recovering = False
        self.recoveries += 1
        self.last_recovery_s = self._clock() - started_s
        self._emit(ModemRecovered(self.last_recovery_s, self.recoveries, self._clock()))

    async def _try_reset_command(self) -> bool:
        try:
            await self.command("AT+CFUN=1,1", RESET_ANSWER_S)
            return True
        except ModemError as err:
            log.warning("%s: AT+CFUN=1,1 not answered: %s", self.name, err)
            return False

    async def _reopen(self, timeout_s: float) -> bool:
        """Wait for the device path, open it, and probe until the modem answers ``AT``."""
        deadline = self._clock() + timeout_s
        while self._clock() < deadline and not self._closed:
            if self._serial is None and os.path.exists(self.port_path):
                try:
                    self._open_ports()
                except (OSError, serial.SerialException) as err:
                    log.info("%s: reopening %s failed: %s", self.name, self.port_path, err)
                    self._close_ports()
            if self._serial is not None:
                try:
                    await self.command("AT", PROBE_TIMEOUT_S / 2)
                    return True
                except ModemError:
                    continue
            await asyncio.sleep(REOPEN_RETRY_S)
        return False

    async def _power_cycle(self) -> None:
        """PWRKEY: if the modem is still there switch it off first, then switch it on."""
        log.warning("%s: power-cycling the modem with its power key", self.name)
        self._close_ports()
        if os.path.exists(self.port_path):
            await self._pulse(PWRKEY_OFF_LOW_S)
            await asyncio.sleep(PWRKEY_OFF_WAIT_S)
        await self._pulse(PWRKEY_ON_LOW_S)

    async def _pulse(self, low_s: float) -> None:
        self._power_key.write(False)
        await asyncio.sleep(low_s)
        self._power_key.write(True)

    # ================================================================== plumbing
    def _emit(self, event: object) -> None:
        if self._listener is None:
            return
        try:
            self._listener(event)
        except Exception:  # a faulty listener must not kill the reader
            log.exception("%s: event listener failed on %r", self.name, event)

    def _spawn(self, coro) -> asyncio.Task:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: background task failed: %r", self.name, task.exception())
