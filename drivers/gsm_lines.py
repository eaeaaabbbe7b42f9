"""Parsing the modem's text lines: which are unsolicited, and what their fields mean.

Pure functions on decoded lines, so the reader stays small and every format is tested on its own.
Formats follow reference/hardware.md ([V] EC25 manual for +CLIP/+CLCC; +CSQ/+CREG are [M]).
"""

from __future__ import annotations

import re

FINAL_OK = "OK"
FINAL_ERRORS = ("ERROR", "+CME ERROR:", "+CMS ERROR:")
CALL_END_CODES = ("NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE")
URC_PREFIXES = ("RING", "+CLIP:", "+CREG:", "+CEREG:", "+CMTI:", "+DTMF:", "+QTONEDET:", "+CPIN:",
                "RDY", *CALL_END_CODES)
# Lines modems print after boot or around calls that carry nothing the driver needs.
IGNORED_URCS = ("SMS DONE", "PB DONE", "CALL READY", "SMS READY", "VOICE CALL:", "+QIND:", "+CPCMREG:",
                "MISSED_CALL:", "+CFUN:", "+CGEV:")
REGISTRATION_NAMES = {0: "none", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}
DTMF_KEYS = set("0123456789*#ABCD")
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_QUOTED = re.compile(r'"([^"]*)"')


def is_printable(line: str) -> bool:
    """A line with bytes outside printable ASCII is line noise, not a modem message."""
    return bool(_PRINTABLE.match(line))


def is_final(line: str) -> bool:
    return line == FINAL_OK or line.startswith(FINAL_ERRORS)


def is_urc(line: str) -> bool:
    return line.startswith(URC_PREFIXES)


def is_ignored(line: str) -> bool:
    return line.startswith(IGNORED_URCS)


def response_prefix(command: str) -> str | None:
    """``AT+CREG?`` -> ``+CREG:``: lines with this prefix answer the command, not a URC."""
    match = re.match(r"AT(\+[A-Z]+)", command.upper())
    return match.group(1) + ":" if match else None


def fields(line: str) -> list[str]:
    """The comma-separated fields after ``+XXX:``, quotes removed (commas inside quotes kept)."""
    _, _, rest = line.partition(":")
    out, current, quoted = [], "", False
    for ch in rest.strip():
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append(current.strip())
            current = ""
        else:
            current += ch
    out.append(current.strip())
    return out


def clip_number(line: str) -> str | None:
    """``+CLIP: "+39333...",145,...`` -> the number, None when withheld or empty."""
    parts = fields(line)
    return parts[0] or None if parts else None


def registration_stat(line: str, *, is_response: bool) -> int | None:
    """``+CREG: 1`` (URC) / ``+CREG: 2,1,...`` (query response) -> the stat number."""
    parts = fields(line)
    index = 1 if is_response else 0
    try:
        return int(parts[index])
    except (IndexError, ValueError):
        return None


def signal_dbm(line: str) -> int | None:
    """``+CSQ: 20,99`` -> -73 dBm; rssi 99 means unknown."""
    try:
        rssi = int(fields(line)[0])
    except (IndexError, ValueError):
        return None
    return None if rssi == 99 or not 0 <= rssi <= 31 else -113 + 2 * rssi


def operator_name(line: str) -> str | None:
    """``+COPS: 0,0,"I TIM",7`` -> "I TIM"; ``+COPS: 0`` (not registered) -> None."""
    parts = fields(line)
    return parts[2] if len(parts) >= 3 and parts[2] else None


def dtmf_digit(line: str) -> str | None:
    """SIMCom ``+DTMF: 5[,160]`` or Quectel ``+QTONEDET: 53`` (ASCII code) -> "5"."""
    parts = fields(line)
    if not parts or not parts[0]:
        return None
    if line.startswith("+QTONEDET:"):
        try:
            digit = chr(int(parts[0]))
        except ValueError:
            return None
    else:
        digit = parts[0]
    digit = digit.upper()
    return digit if len(digit) == 1 and digit in DTMF_KEYS else None


def cmti_index(line: str) -> int | None:
    """``+CMTI: "SM",3`` -> 3."""
    parts = fields(line)
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        return None


def clcc_calls(lines: list[str]) -> list[dict]:
    """``+CLCC: id,dir,stat,mode,mpty[,"num",type]`` lines -> [{"id", "outgoing", "stat", "number"}]."""
    calls = []
    for line in lines:
        if not line.startswith("+CLCC:"):
            continue
        parts = fields(line)
        try:
            calls.append({"id": int(parts[0]), "outgoing": parts[1] == "0", "stat": int(parts[2]),
                          "number": parts[5] if len(parts) > 5 else ""})
        except (IndexError, ValueError):
            continue
    return calls


def cmgr_message(lines: list[str]) -> tuple[str, str] | None:
    """``+CMGR: "REC UNREAD","+39...","","ts"`` followed by the text lines -> (sender, text)."""
    for i, line in enumerate(lines):
        if line.startswith("+CMGR:"):
            parts = fields(line)
            sender = parts[1] if len(parts) > 1 else ""
            return sender, "\n".join(lines[i + 1:])
    return None
