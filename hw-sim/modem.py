"""A SIMCom SIM7600 / Quectel EC25 model speaking AT on a real pseudo-terminal.

Written from the command table in reference/hardware.md, not from the driver. Two faces:

- The serial face: the AT port (``at_path``, a symlink like the Pi's udev ``/dev/gsm-at``) and the
  voice port (``audio_path``), both real ptys opened by the driver with pyserial. Echo is on until
  ``ATE0``; errors follow ``AT+CMEE`` (``ERROR``, ``+CME ERROR: 10`` or ``+CME ERROR: SIM not
  inserted``). Unsolicited codes: ``RING`` every 3 s with ``+CLIP`` when enabled, ``NO CARRIER`` /
  ``BUSY`` / ``NO ANSWER``, ``+CREG``/``+CEREG`` on registration changes, ``+CMTI`` for SMS, DTMF
  (``+DTMF:`` SIMCom, ``+QTONEDET:`` Quectel, only after ``AT+DDET`` / ``AT+QTONEDET``), and
  ``RDY`` / ``+CPIN: READY`` after a boot. Each dialect refuses the other's vendor commands.
  Voice: 8 kHz 16-bit little-endian mono, 320 bytes every 20 ms each way, only while a call is
  connected and PCM is on (``AT+CPCMREG=1`` / ``AT+QPCMV=1,0``).
- The world face: ``incoming_call()``, ``deliver_sms()``, and the faults ``hang()``, ``reset()``,
  ``vanish()``/``reappear()``, ``lose_urcs()``, ``garble_next()``, ``no_sim()``, ``no_network()``,
  ``one_way_audio()``; ``power_key`` is the PWRKEY wire (a ``GpioLine``).

Boot behaviour the driver must cope with (field reports: "the first call after AT+CFUN=1,1
fails"; timings [M]): after a boot the modem registers ``REGISTER_AFTER_BOOT_S`` later and its
call stack is ready ``CALLS_READY_AFTER_BOOT_S`` later; before that ``AT+CLCC`` is refused and a
dialled call ends in ``NO CARRIER``. 112 and 911 can be dialled without a SIM (3GPP TS 22.101 [M]).

Virtual time: on ``centralino.hwsim.clock`` the loop jumps to its next timer whenever no
descriptor is ready, which can be before bytes written to a pty have reached the other side. The
model therefore runs a pacer: every ``PACE_S`` of virtual time it waits up to ``PACE_GRACE_S`` of
real time for either side of its ptys to become readable, so that a command timeout of T seconds
gives in-flight bytes about T / PACE_S * PACE_GRACE_S of real time to arrive.
"""

from __future__ import annotations

import asyncio
import os
import random
import select
from collections.abc import Callable

import numpy as np

from .buses import GpioLine
from .modem_network import MobileNetwork, Party, Sms
from .modem_pty import LinkedPty
from .voices import Voice

DIALECTS = ("sim7600", "ec25")
EMERGENCY_NUMBERS = ("112", "911")
RING_PERIOD_S = 3.0
RING_GIVE_UP_S = 60.0
DIAL_SETUP_S = 0.5
BUSY_AFTER_S = 1.0
UNREACHABLE_AFTER_S = 3.0
NO_ANSWER_AFTER_S = 30.0
FIRST_CALL_FAIL_AFTER_S = 1.0
BOOT_S = 1.0
REGISTER_AFTER_BOOT_S = 3.0
CALLS_READY_AFTER_BOOT_S = 5.0
CFUN_RESET_DELAY_S = 0.3
REENUMERATE_S = 2.0
PWRKEY_ON_MIN_LOW_S = 0.5
PWRKEY_OFF_MIN_LOW_S = 2.5
DTMF_GAP_S = 0.2
DTMF_DURATION_MS = 160
FRAME_S = 0.020
FRAME_BYTES = 320
PACE_S = 0.010
PACE_GRACE_S = 0.001
CTRL_Z = b"\x1a"
ESC = b"\x1b"

CME_TEXT = {3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
            30: "no network service", 100: "unknown"}
CMS_TEXT = {302: "operation not allowed", 310: "SIM not inserted", 321: "invalid memory index",
            331: "no network service", 500: "unknown error"}
CLCC_ACTIVE, CLCC_DIALING, CLCC_ALERTING, CLCC_INCOMING = 0, 2, 3, 4
CREG_NONE, CREG_HOME, CREG_SEARCHING = 0, 1, 2


class SimCall:
    """The one voice call the model carries (no call waiting)."""

    def __init__(self, modem: "ModemSim", call_id: int, outgoing: bool, number: str, party: Party):
        self.modem = modem
        self.id = call_id
        self.outgoing = outgoing
        self.number = number
        self.party = party
        self.stat = CLCC_DIALING if outgoing else CLCC_INCOMING
        party.call = self

    def clcc(self) -> str:
        kind = 145 if self.number.startswith("+") else 129
        return f'+CLCC: {self.id},{0 if self.outgoing else 1},{self.stat},0,0,"{self.number}",{kind}'

    def far_end_dtmf(self, digits: str) -> None:
        self.modem._far_end_dtmf(self, digits)

    def far_end_hangup(self) -> None:
        self.modem._end_call(self, "NO CARRIER")


class ModemSim:
    """The modem model; ``await start()`` creates its ptys, ``await close()`` removes them."""

    def __init__(self, dialect: str, directory: str, network: MobileNetwork | None = None, *,
                 clock: Callable[[], float] | None = None, seed: int = 0,
                 at_name: str = "gsm-at", audio_name: str = "gsm-audio"):
        if dialect not in DIALECTS:
            raise ValueError(f"unknown modem dialect {dialect!r}; expected one of {DIALECTS}")
        self.dialect = dialect
        self.network = network or MobileNetwork()
        self._clock = clock
        self._random = random.Random(seed)
        self._at = LinkedPty(os.path.join(directory, at_name))
        self._audio = LinkedPty(os.path.join(directory, audio_name))
        self.power_key = GpioLine("gsm-pwrkey", self._now, idle_level=True)
        self.power_key.watch(self._on_power_key)
        self._pwrkey_low_since: float | None = None
        self.received: list[str] = []  # every command line the modem took, for tests
        self.resets = 0
        self._tasks: set[asyncio.Task] = set()
        self._pacer: asyncio.Task | None = None
        self._audio_task: asyncio.Task | None = None
        self._sim_present = True
        self._coverage = True
        self._one_way = False
        self._hung = False
        self._hang_allows_reset = True
        self._lose = 0
        self._garble = 0
        self._garble_all = False
        self.lost_urcs = 0
        self.garbled_urcs = 0
        self._powered = True
        self._booting_until = 0.0
        self._call: SimCall | None = None
        self._next_call_id = 1
        self._sms_store: dict[int, list] = {}
        self._next_mr = 1
        self._defaults()
        self._registered_at = float("-inf")
        self._calls_ready_at = float("-inf")
        self._last_stat = {"CREG": None, "CEREG": None}

    # ------------------------------------------------------------------ lifecycle
    @property
    def at_path(self) -> str:
        return self._at.link_path

    @property
    def audio_path(self) -> str:
        return self._audio.link_path

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._clock is None:
            self._clock = self._loop.time
        self._open_ports()
        self._last_stat = {"CREG": self._reg_stat(), "CEREG": self._reg_stat()}
        if hasattr(self._loop, "advance"):
            self._pacer = self._loop.create_task(self._pace())
        self._audio_task = self._loop.create_task(self._audio_clock())

    async def close(self) -> None:
        for task in [self._pacer, self._audio_task, *self._tasks]:
            if task is not None:
                task.cancel()
        self._close_ports()

    def _now(self) -> float:
        return self._clock() if self._clock is not None else 0.0

    def _spawn(self, coro) -> asyncio.Task:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _later(self, delay_s: float, fn, *args) -> None:
        self._loop.call_later(delay_s, fn, *args)

    def _open_ports(self) -> None:
        self._at.open()
        self._audio.open()
        self._at_buf = bytearray()
        self._audio_in = bytearray()
        self._sms_target: str | None = None
        self.sms_submit_delay_s = 0.0  # world face: how long the network takes to accept an SMS
        self._loop.add_reader(self._at.master_fd, self._on_at_readable)
        self._loop.add_reader(self._audio.master_fd, self._on_audio_readable)

    def _close_ports(self) -> None:
        for pty in (self._at, self._audio):
            if pty.master_fd is not None:
                self._loop.remove_reader(pty.master_fd)
            pty.close()

    def _defaults(self) -> None:
        """Settings a boot restores (none of them is saved with AT&W here)."""
        self._echo = True
        self._cmee = 0
        self._clip = False
        self._creg_n = 0
        self._cereg_n = 0
        self._dtmf_on = False
        self._cmgf = 0
        self._pcm = False

    async def _pace(self) -> None:
        while True:
            await asyncio.sleep(PACE_S)
            fds = self._at.fds() + self._audio.fds()
            if fds:
                select.select(fds, [], [], PACE_GRACE_S)

    # ------------------------------------------------------------------ output
    def _write_line(self, line: str) -> None:
        self._at.write(b"\r\n" + line.encode("latin-1") + b"\r\n")

    def _respond(self, lines: list[str], final: str = "OK") -> None:
        for line in lines:
            self._write_line(line)
        self._write_line(final)

    def _urc(self, line: str) -> None:
        if not self._at.is_up or self._hung or not self._powered:
            return
        if self._lose > 0:
            self._lose -= 1
            self.lost_urcs += 1
            return
        data = line.encode("latin-1")
        if self._garble > 0 or self._garble_all:
            self._garble = max(0, self._garble - 1)
            self.garbled_urcs += 1
            noisy = bytearray(data)
            for _ in range(3):
                noisy[self._random.randrange(len(noisy))] = self._random.randrange(0x80, 0x100)
            data = bytes(noisy)
        self._at.write(b"\r\n" + data + b"\r\n")

    def _cme(self, code: int) -> str:
        if self._cmee == 0:
            return "ERROR"
        return f"+CME ERROR: {code}" if self._cmee == 1 else f"+CME ERROR: {CME_TEXT.get(code, 'unknown')}"

    def _cms(self, code: int) -> str:
        if self._cmee == 0:
            return "ERROR"
        return f"+CMS ERROR: {code}" if self._cmee == 1 else f"+CMS ERROR: {CMS_TEXT.get(code, 'unknown error')}"

    # ------------------------------------------------------------------ input
    def _on_at_readable(self) -> None:
        data = self._at.read()
        if not data:
            return
        for byte in data:
            self._take_byte(bytes([byte]))

    def _take_byte(self, byte: bytes) -> None:
        if self._sms_target is not None:
            if byte == CTRL_Z:
                self._finish_sms(self._at_buf.decode("latin-1"))
            elif byte == ESC:
                self._sms_target = None
                self._at_buf.clear()
                self._respond([])
            else:
                self._at_buf += byte
            return
        if byte == b"\r":
            line = self._at_buf.decode("latin-1").strip()
            self._at_buf.clear()
            if line:
                self._command_line(line)
        elif byte != b"\n":
            self._at_buf += byte

    def _command_line(self, line: str) -> None:
        booting = self._now() < self._booting_until
        if not self._powered or booting:
            return
        if self._hung:
            if self._hang_allows_reset and line.upper() == "AT+CFUN=1,1":
                self.received.append(line)
                self._respond([])
                self._later(CFUN_RESET_DELAY_S, self._power_cycle)
            return
        self.received.append(line)
        if self._echo:
            self._at.write(line.encode("latin-1") + b"\r")
        self._execute(line)

    def _execute(self, line: str) -> None:
        upper = line.upper()
        if not upper.startswith("AT"):
            self._respond([], "ERROR")
            return
        body, ubody = line[2:], upper[2:]
        if ubody == "":
            self._respond([])
        elif ubody in ("E0", "E1", "E"):
            self._echo = ubody == "E1"
            self._respond([])
        elif ubody == "I":
            model = "SIMCOM_SIM7600E-H" if self.dialect == "sim7600" else "Quectel EC25"
            self._respond([model])
        elif ubody.startswith("D"):
            self._dial(body[1:])
        elif ubody == "A":
            self._answer()
        elif ubody in ("H", "H0"):
            self._hangup()
        elif ubody.startswith("+"):
            self._extended(body, ubody)
        else:
            self._respond([], "ERROR")

    def _extended(self, body: str, ubody: str) -> None:
        for sep in ("=?", "?", "="):
            if sep in ubody:
                name, _, _ = ubody.partition(sep)
                args = body[len(name) + len(sep):]
                kind = {"=?": "test", "?": "query", "=": "set"}[sep]
                break
        else:
            name, args, kind = ubody, "", "exec"
        handler = getattr(self, "_cmd_" + name[1:].lower(), None)
        vendor = {"DDET": "sim7600", "CPCMREG": "sim7600", "QTONEDET": "ec25", "QPCMV": "ec25"}
        if handler is None or vendor.get(name[1:], self.dialect) != self.dialect:
            self._respond([], "ERROR")
            return
        handler(kind, [a.strip() for a in args.split(",")] if args else [])

    # ------------------------------------------------------------------ settings
    @staticmethod
    def _int(args: list[str], i: int, default: int | None = None) -> int | None:
        try:
            return int(args[i])
        except (IndexError, ValueError):
            return default

    def _cmd_cmee(self, kind, args):
        if kind == "set" and self._int(args, 0) in (0, 1, 2):
            self._cmee = self._int(args, 0)
            self._respond([])
        elif kind == "query":
            self._respond([f"+CMEE: {self._cmee}"])
        else:
            self._respond([], "ERROR")

    def _cmd_clip(self, kind, args):
        if kind == "set" and self._int(args, 0) in (0, 1):
            self._clip = self._int(args, 0) == 1
            self._respond([])
        elif kind == "query":
            self._respond([f"+CLIP: {int(self._clip)},1"])
        else:
            self._respond([], "ERROR")

    def _cmd_creg(self, kind, args, which="CREG"):
        attr = "_creg_n" if which == "CREG" else "_cereg_n"
        if kind == "set" and self._int(args, 0) in (0, 1, 2):
            setattr(self, attr, self._int(args, 0))
            self._respond([])
        elif kind == "query":
            n = getattr(self, attr)
            self._respond([f"+{which}: {n},{self._reg_detail(n)}"])
        else:
            self._respond([], "ERROR")

    def _cmd_cereg(self, kind, args):
        self._cmd_creg(kind, args, "CEREG")

    def _cmd_cmgf(self, kind, args):
        if kind == "set" and self._int(args, 0) in (0, 1):
            self._cmgf = self._int(args, 0)
            self._respond([])
        elif kind == "query":
            self._respond([f"+CMGF: {self._cmgf}"])
        else:
            self._respond([], "ERROR")

    def _cmd_ddet(self, kind, args):
        if kind == "set" and self._int(args, 0) in (0, 1):
            self._dtmf_on = self._int(args, 0) == 1
            self._dtmf_report_duration = self._int(args, 2, 0) == 1
            self._respond([])
        else:
            self._respond([], "ERROR")

    def _cmd_qtonedet(self, kind, args):
        if kind == "set" and self._int(args, 0) in (0, 1):
            self._dtmf_on = self._int(args, 0) == 1
            self._respond([])
        else:
            self._respond([], "ERROR")

    def _cmd_cpcmreg(self, kind, args):
        self._set_pcm(kind == "set" and self._int(args, 0) == 1, kind == "set" and self._int(args, 0) in (0, 1))

    def _cmd_qpcmv(self, kind, args):
        self._set_pcm(kind == "set" and self._int(args, 0) == 1, kind == "set" and self._int(args, 0) in (0, 1))

    def _set_pcm(self, on: bool, valid: bool) -> None:
        if not valid:
            self._respond([], "ERROR")
        elif on and (self._call is None or self._call.stat != CLCC_ACTIVE):
            self._respond([], self._cme(3))  # voice PCM only during a connected call
        else:
            self._pcm = on
            self._audio_in.clear()
            self._respond([])

    def _cmd_cfun(self, kind, args):
        if kind == "query":
            self._respond(["+CFUN: 1"])
        elif kind == "set" and args[:2] == ["1", "1"]:
            self._respond([])
            self._later(CFUN_RESET_DELAY_S, self._power_cycle)
        elif kind == "set" and self._int(args, 0) in (0, 1, 4):
            self._respond([])
        else:
            self._respond([], "ERROR")

    # ------------------------------------------------------------------ status queries
    def _reg_stat(self) -> int:
        if not self._sim_present:
            return CREG_NONE
        if not self._coverage or self._now() < self._registered_at:
            return CREG_SEARCHING
        return CREG_HOME

    def _reg_detail(self, n: int) -> str:
        stat = self._reg_stat()
        if n == 2 and stat == CREG_HOME:
            return f'{stat},"1A2B","01C3D4E5",7'
        return str(stat)

    def _registration_changed(self) -> None:
        for which, n in (("CREG", self._creg_n), ("CEREG", self._cereg_n)):
            stat = self._reg_stat()
            if stat != self._last_stat[which]:
                self._last_stat[which] = stat
                if n > 0:
                    detail = self._reg_detail(n)
                    self._urc(f"+{which}: {detail}")

    def _cmd_cpin(self, kind, args):
        if kind != "query":
            self._respond([], "ERROR")
        elif not self._sim_present:
            self._respond([], self._cme(10))
        else:
            self._respond(["+CPIN: READY"])

    def _cmd_csq(self, kind, args):
        rssi = self.network.rssi if self._coverage else 99
        self._respond([f"+CSQ: {rssi},{99 if rssi == 99 else 0}"])

    def _cmd_cops(self, kind, args):
        if kind == "query":
            if self._reg_stat() == CREG_HOME:
                self._respond([f'+COPS: 0,0,"{self.network.operator}",7'])
            else:
                self._respond(["+COPS: 0"])
        elif kind == "set":
            self._respond([])
        else:
            self._respond([], "ERROR")

    def _cmd_clcc(self, kind, args):
        if self._now() < self._calls_ready_at:
            self._respond([], self._cme(3))
        elif self._call is None:
            self._respond([])
        else:
            self._respond([self._call.clcc()])

    # ------------------------------------------------------------------ calls
    def _dial(self, rest: str) -> None:
        number = rest.rstrip(";").strip()
        if not rest.endswith(";") or not number:
            self._respond([], "ERROR")  # data calls are not modelled
            return
        emergency = number in EMERGENCY_NUMBERS
        if self._call is not None:
            self._respond([], self._cme(3))
            return
        if not self._sim_present and not emergency:
            self._respond([], self._cme(10))
            return
        if not self._coverage or (self._reg_stat() != CREG_HOME and not emergency):
            self._respond([], self._cme(30))
            return
        party = self.network.lookup(number) or Party(number, unreachable=True)
        call = SimCall(self, self._next_call_id, True, number, party)
        self._next_call_id += 1
        self._call = call
        self._respond([])
        self._spawn(self._run_outgoing(call))

    async def _run_outgoing(self, call: SimCall) -> None:
        party = call.party
        if self._now() < self._calls_ready_at:
            await asyncio.sleep(FIRST_CALL_FAIL_AFTER_S)
            self._end_call(call, "NO CARRIER")
            return
        await asyncio.sleep(DIAL_SETUP_S)
        if self._call is not call:
            return
        if party.busy or (party.call is not None and party.call is not call):
            await asyncio.sleep(BUSY_AFTER_S)
            self._end_call(call, "BUSY")
            return
        if party.unreachable:
            await asyncio.sleep(UNREACHABLE_AFTER_S)
            self._end_call(call, "NO CARRIER")
            return
        call.stat = CLCC_ALERTING
        wait = NO_ANSWER_AFTER_S if party.answer_after_s is None else party.answer_after_s
        await asyncio.sleep(wait)
        if self._call is not call:
            return
        if party.answer_after_s is None:
            self._end_call(call, "NO ANSWER")
            return
        call.stat = CLCC_ACTIVE
        party.connected = True

    def _answer(self) -> None:
        call = self._call
        if call is None or call.stat != CLCC_INCOMING:
            self._respond([], "NO CARRIER")
            return
        call.stat = CLCC_ACTIVE
        call.party.connected = True
        self._respond([])

    def _hangup(self) -> None:
        if self._call is not None:
            self._end_call(self._call, None)
        self._respond([])

    def _cmd_chup(self, kind, args):
        self._hangup()

    def _end_call(self, call: SimCall, urc: str | None) -> None:
        if self._call is not call:
            return
        self._call = None
        self._pcm = False
        call.party.call = None
        call.party.connected = False
        if urc:
            self._urc(urc)

    def _cmd_vts(self, kind, args):
        digits = ",".join(args).strip('"').replace(",", "")
        if kind != "set" or not digits or any(d not in "0123456789*#ABCD" for d in digits.upper()):
            self._respond([], "ERROR")
        elif self._call is None or self._call.stat != CLCC_ACTIVE:
            self._respond([], self._cme(3))
        else:
            self._call.party.digits_heard.extend(digits.upper())
            self._respond([])

    def _far_end_dtmf(self, call: SimCall, digits: str) -> None:
        async def press():
            for digit in digits:
                if self._call is not call or call.stat != CLCC_ACTIVE:
                    return
                if self._dtmf_on:
                    if self.dialect == "sim7600":
                        suffix = f",{DTMF_DURATION_MS}" if getattr(self, "_dtmf_report_duration", False) else ""
                        self._urc(f"+DTMF: {digit}{suffix}")
                    else:
                        self._urc(f"+QTONEDET: {ord(digit)}")
                await asyncio.sleep(DTMF_GAP_S)
        self._spawn(press())

    # ------------------------------------------------------------------ world face: calls and SMS
    async def incoming_call(self, from_number: str | None, voice: Voice | None = None) -> Party:
        """A call from ``from_number`` (None = withheld) arrives; returns the calling party."""
        number = from_number or ""
        party = self.network.lookup(number) if number else None
        if party is None:
            party = Party(number, voice)
        elif voice is not None:
            party.voice = voice
        if self._call is not None or not self._powered or self._reg_stat() != CREG_HOME:
            party.busy = True  # the network tells the caller the modem is busy or unreachable
            return party
        call = SimCall(self, self._next_call_id, False, number, party)
        self._next_call_id += 1
        self._call = call
        self._spawn(self._ring(call))
        return party

    async def _ring(self, call: SimCall) -> None:
        deadline = self._now() + RING_GIVE_UP_S
        while self._call is call and call.stat == CLCC_INCOMING:
            if self._now() >= deadline:
                self._end_call(call, "NO CARRIER")
                return
            self._urc("RING")
            if self._clip:
                kind = 145 if call.number.startswith("+") else (128 if not call.number else 129)
                self._urc(f'+CLIP: "{call.number}",{kind},"",0,"",0')
            await asyncio.sleep(RING_PERIOD_S)

    def deliver_sms(self, sender: str, text: str) -> int:
        """An SMS arrives: stored at the first free index and announced with ``+CMTI``."""
        index = 1
        while index in self._sms_store:
            index += 1
        self._sms_store[index] = ["REC UNREAD", sender, "24/05/06,10:00:00+08", text]
        self._urc(f'+CMTI: "SM",{index}')
        return index

    @property
    def sms_store(self) -> dict[int, list]:
        return self._sms_store

    def _cmd_cmgr(self, kind, args):
        index = self._int(args, 0)
        if self._cmgf != 1:
            self._respond([], self._cms(302))
        elif kind != "set" or index not in self._sms_store:
            self._respond([], self._cms(321))
        else:
            entry = self._sms_store[index]
            status, sender, stamp, text = entry
            entry[0] = "REC READ"
            self._respond([f'+CMGR: "{status}","{sender}","","{stamp}"', *text.split("\n")])

    def _cmd_cmgd(self, kind, args):
        index = self._int(args, 0)
        if kind != "set" or index is None:
            self._respond([], self._cms(321))
        else:
            self._sms_store.pop(index, None)
            self._respond([])

    def _cmd_cmgs(self, kind, args):
        if kind != "set" or not args or self._cmgf != 1:
            self._respond([], self._cms(302))
            return
        if not self._sim_present:
            self._respond([], self._cms(310))
            return
        self._sms_target = args[0].strip('"')
        self._at_buf.clear()
        self._at.write(b"\r\n> ")

    def _finish_sms(self, text: str) -> None:
        to, self._sms_target = self._sms_target, None
        self._at_buf.clear()
        if self._reg_stat() != CREG_HOME:
            self._write_line(self._cms(331))
            return
        self.network.sms_outbox.append(Sms(sender="modem", to=to, text=text.replace("\r", "\n")))
        mr, self._next_mr = self._next_mr, self._next_mr + 1
        if self.sms_submit_delay_s > 0:  # a congested network: the +CMGS answer comes late
            asyncio.get_running_loop().call_later(self.sms_submit_delay_s, self._respond, [f"+CMGS: {mr}"])
            return
        self._respond([f"+CMGS: {mr}"])

    # ------------------------------------------------------------------ audio
    def _on_audio_readable(self) -> None:
        data = self._audio.read()
        call = self._call
        if not data or not self._pcm or call is None or call.stat != CLCC_ACTIVE:
            return
        self._audio_in += data
        while len(self._audio_in) >= FRAME_BYTES:
            frame = np.frombuffer(bytes(self._audio_in[:FRAME_BYTES]), dtype="<i2").astype(np.int16)
            del self._audio_in[:FRAME_BYTES]
            call.party.hear(frame)

    async def _audio_clock(self) -> None:
        while True:
            await asyncio.sleep(FRAME_S)
            call = self._call
            if self._pcm and call is not None and call.stat == CLCC_ACTIVE and self._audio.is_up:
                frame = call.party.speak()
                if self._one_way:
                    frame = np.zeros_like(frame)
                self._audio.write(frame.astype("<i2").tobytes())

    # ------------------------------------------------------------------ boots and faults
    def _boot(self) -> None:
        """Power-on: defaults back, RDY after ``BOOT_S``, registration and call stack later."""
        now = self._now()
        self.resets += 1
        self._hung = False
        self._powered = True
        self._defaults()
        self._booting_until = now + BOOT_S
        self._registered_at = now + REGISTER_AFTER_BOOT_S
        self._calls_ready_at = now + CALLS_READY_AFTER_BOOT_S
        self._last_stat = {"CREG": CREG_SEARCHING, "CEREG": CREG_SEARCHING}
        self._later(BOOT_S, self._announce_boot)
        self._later(REGISTER_AFTER_BOOT_S + 0.001, self._registration_changed)

    def _announce_boot(self) -> None:
        self._urc("RDY")
        self._urc("+CPIN: READY" if self._sim_present else "+CPIN: SIM REMOVED")
        if self._sim_present:
            self._urc("SMS DONE")
            self._urc("PB DONE")

    def _drop_call(self) -> None:
        if self._call is not None:
            self._end_call(self._call, None)

    def _power_cycle(self) -> None:
        """A reset that re-enumerates USB: the ports vanish and come back as new ptys."""
        self.vanish()
        self._later(REENUMERATE_S, self.reappear)

    def hang(self, *, reset_works: bool = True) -> None:
        """Stop answering; with ``reset_works`` the AT parser still takes ``AT+CFUN=1,1``."""
        self._hung = True
        self._hang_allows_reset = reset_works

    def reset(self) -> None:
        """Spontaneous reset on the same port: drops the call, prints RDY, needs re-init."""
        self._drop_call()
        self._boot()

    def vanish(self) -> None:
        """The USB device disappears: ptys closed, symlinks gone, call dropped."""
        self._drop_call()
        self._powered = False
        self._close_ports()

    def reappear(self) -> None:
        """The device comes back as new ptys under the same symlinks, booting."""
        if self._at.is_up:
            return
        self._open_ports()
        self._boot()

    def _on_power_key(self, level: bool) -> None:
        now = self._now()
        if not level:
            self._pwrkey_low_since = now
            return
        if self._pwrkey_low_since is None:
            return
        held = now - self._pwrkey_low_since
        self._pwrkey_low_since = None
        if self._at.is_up and self._powered and held >= PWRKEY_OFF_MIN_LOW_S:
            self.vanish()  # powered down
        elif not self._at.is_up and held >= PWRKEY_ON_MIN_LOW_S:
            self.reappear()  # powered up

    def lose_urcs(self, n: int) -> None:
        self._lose += n

    def garble_next(self, n: int) -> None:
        """Corrupt the next ``n`` unsolicited lines (bytes flipped to 0x80-0xFF)."""
        self._garble += n

    def garble(self, on: bool = True) -> None:
        """Corrupt every unsolicited line from now on (a noisy USB link), until ``garble(False)``."""
        self._garble_all = on
        if not on:
            self._garble = 0

    def status(self) -> dict:
        """What the world's control face shows of the modem."""
        stat = self._reg_stat()
        return {"dialect": self.dialect, "present": self._at.is_up and self._powered, "hung": self._hung,
                "sim": self._sim_present, "network": self._coverage, "registered": stat in (CREG_HOME, 5),
                "garbling": self._garble_all or self._garble > 0, "one_way_audio": self._one_way,
                "urcs_to_lose": self._lose, "resets": self.resets,
                "call": self._call.number if self._call is not None else None}

    def no_sim(self) -> None:
        self._sim_present = False
        self._drop_call()
        self._registration_changed()

    def insert_sim(self) -> None:
        self._sim_present = True
        self._registration_changed()

    def no_network(self) -> None:
        self._coverage = False
        self._drop_call()
        self._registration_changed()

    def restore_network(self) -> None:
        self._coverage = True
        self._registration_changed()

    def one_way_audio(self, on: bool = True) -> None:
        """The host stops hearing the far end (silence frames still flow), as in field reports."""
        self._one_way = on

    @property
    def call(self) -> SimCall | None:
        return self._call
