"""``centralino console``: the technician's console over the daemon's control socket.

With a command (``centralino console status``) it asks once, prints the answer and exits 0, or 1
with the daemon's error. Without one it is an interactive prompt for an 80-column serial terminal:
line editing, history and tab completion of command names (readline where the terminal allows),
plain text without colours, ``help`` and ``quit``.
"""

from __future__ import annotations

import cmd
import json
import os
import socket
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

from .errors import CliError

WIDTH = 80
PROMPT = "centralino> "
HISTORY_FILE = "~/.centralino_history"
HISTORY_LENGTH = 500
TIMEOUT_S = 30.0


def register(sub) -> None:
    parser = sub.add_parser("console", help="the technician's console (talks to the running daemon)",
                            description="Talk to the running centralino over its control socket: one "
                                        "COMMAND and exit, or an interactive prompt without one.")
    parser.add_argument("--socket", type=Path, default=None, metavar="PATH",
                        help="the daemon's control socket (default /run/centralino/control.sock)")
    parser.add_argument("words", nargs="*", metavar="COMMAND", help="e.g. status, lines, cdr 10, line test fxs1")
    parser.set_defaults(handler=run)


class ConsoleError(CliError):
    """The daemon could not be reached: exit 1, like a command the daemon refused."""

    def __init__(self, message: str):
        super().__init__(message, exit_code=1)


class Connection:
    """One connection to the daemon: a request line out, a response line back."""

    def __init__(self, path: Path):
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(TIMEOUT_S)
        try:
            self._sock.connect(str(path))
        except FileNotFoundError:
            raise ConsoleError(f"no control socket at {path}: is centralino running? "
                               "(systemctl status centralino)") from None
        except PermissionError:
            raise ConsoleError(f"permission denied on {path}: the console is for members of the "
                               "centralino group (ask for: adduser YOU centralino, then log in again)") from None
        except ConnectionRefusedError:
            raise ConsoleError(f"nobody answers at {path}: centralino has stopped or is restarting "
                               "(systemctl status centralino)") from None
        except OSError as err:
            raise ConsoleError(f"cannot connect to {path}: {err.strerror or err}") from None
        self._file = self._sock.makefile("rwb")

    def ask(self, words: list[str]) -> dict:
        request = {"cmd": words[0] if words else "", "args": words[1:]}
        try:
            self._file.write(json.dumps(request).encode() + b"\n")
            self._file.flush()
            line = self._file.readline()
        except (OSError, socket.timeout) as err:
            raise ConsoleError(f"lost the connection to centralino ({err}); is it restarting?") from None
        if not line:
            raise ConsoleError("centralino closed the connection (restarting?)")
        return json.loads(line)

    def close(self) -> None:
        self._file.close()
        self._sock.close()


# ----------------------------------------------------------------------------- formatting
def _cut(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _wrap(text: str, width: int = WIDTH) -> list[str]:
    """A message or log line folded to the screen, continuation lines indented: nothing lost."""
    return textwrap.wrap(text, width, subsequent_indent="    ", break_on_hyphens=False) or [""]


def _uptime(seconds: float) -> str:
    s = int(seconds)
    days, s = divmod(s, 86400)
    return (f"{days}d " if days else "") + f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _format_status(r: dict) -> list[str]:
    ports = r.get("ports") or []
    in_service = sum(p["in_service"] for p in ports)
    sb = r.get("switchboard") or {}
    media = r.get("media") or {}
    out = [f"centralino {r['version']}  {'ready' if r['ready'] else 'NOT READY'}",
           f"board     {r['board']}" + (f" (HAT {r['hat']})" if r.get("hat") else "")
           + (f"  HAT problem: {r['hat_problem']}" if r.get("hat_problem") else ""),
           f"uptime    {_uptime(r.get('uptime_s') or 0)}",
           f"ports     {in_service}/{len(ports)} in service",
           f"calls     {len(sb.get('calls', []))} in progress"]
    out += _service_lines(sb)
    for call in sb.get("emergency_calls", []):
        out.append(f"EMERGENCY {call['called']} from {call['caller']} ({call['state']}, {call['route']})")
    records = (r.get("records") or {}).get("writer") or {}
    if records.get("state") not in (None, "ok"):
        out.append(f"RECORDS   {records['state']}: {records.get('last_error') or '?'} "
                   f"({records.get('pending', 0)} kept in memory)")
    for moved in records.get("moved_aside") or []:
        out.append(f"RECORDS   a damaged database was moved aside to {moved}")
    if media:
        out.append(f"media     {media['ticks']} ticks, {media['overruns']} overruns, "
                   f"late p99 {media['lateness_p99_ms']} ms")
    if r.get("config"):
        out.append(f"config    {r['config']}" + ("  (a reloaded file waits for restart)"
                                                 if r.get("config_pending_restart") else ""))
    waiting = [q for q in sb.get("queues") or [] if q.get("waiting")]
    if waiting:
        out.append("queues    " + "; ".join(
            f"{q.get('title') or q['office']}: {q['waiting']} waiting"
            + (f" ({q['callbacks']} to call back)" if q.get("callbacks") else "") for q in waiting))
    callbacks = sb.get("queue_callbacks")  # issue 16: callbacks booked from a queue
    if callbacks and any(callbacks.values()):
        out.append(f"callbacks {callbacks['waiting']} booked in a queue waiting, {callbacks['completed']} done, "
                   f"{callbacks['tickets']} became tickets, {callbacks['attempts']} calls out")
    avviso = sb.get("avviso")  # issue 15: the announcement recorded by phone
    if avviso:
        out.append("avviso    " + ("on" + (f" until {avviso['until']}" if avviso.get("until") else "")
                                   if avviso["enabled"] else "off"))
    lifeline = r.get("lifeline")  # issue 18: the lifeline relay (ops/lifeline.py)
    if lifeline:
        out.append(f"lifeline  relay {lifeline['relay']}: {lifeline['reason']}")
    for p in ports:
        if not p["in_service"]:
            out.append(f"FAULT     {p['name']}: {p['fault']}")
    return out


def _moment(text: str) -> str:
    """An ISO time with its offset as day and minute, in that offset (the comune's)."""
    from datetime import datetime

    return datetime.fromisoformat(text).strftime("%d/%m/%Y %H:%M")


def _service_lines(sb: dict) -> list[str]:
    """The service mode, and the crisis: on until when, a window ahead, the offices it opens."""
    mode, crisis = sb.get("service_mode"), sb.get("crisis") or {}
    if not mode:
        return []
    if mode != "crisis":
        out = [f"service   {mode}"]
    else:
        offices = crisis.get("offices")
        out = ["service   CRISIS (Protezione Civile)"
               + (f" until {_moment(crisis['until'])}" if crisis.get("until") else ", until 'service auto'"),
               "          open around the clock: "
               + ("every office" if offices == "all" else ", ".join(offices or []) or "no office")]
    if crisis.get("scheduled"):
        window = crisis["scheduled"]
        out.append(f"crisis    scheduled from {_moment(window['from'])} until {_moment(window['until'])}")
    if crisis and not crisis.get("saved", True):
        out.append("crisis    NOT SAVED to disk: a restart would lose it (see the log)")
    return out


def _format_lines(r: dict) -> list[str]:
    row = "{port:<6} {kind:<4} {ext:<6} {state:<12} {peer:<8} {fault}"
    out = [row.format(port="port", kind="kind", ext="ext", state="state", peer="with", fault="fault")]
    for l in r["lines"]:
        out.append(row.format(port=l["port"], kind=l["kind"], ext=l["extension"] or "-", state=l["state"],
                              peer=l["bridged_to"] or "-", fault=l["fault"] or ""))
    return out


def _format_calls(r: dict) -> list[str]:
    if not r["calls"]:
        return ["no calls in progress"]
    row = "{id:<8} {dir:<8} {caller:<12} {called:<12} {state:<10} {ports}"
    out = [row.format(id="call", dir="dir", caller="caller", called="called", state="state", ports="ports")]
    for c in r["calls"]:
        out.append(row.format(id=str(c["id"])[:8], dir=c["direction"][:8], caller=(c["caller"] or "-")[:12],
                              called=(c["called"] or "-")[:12], state=c["state"][:10],
                              ports=",".join(c["ports"])))
    return out


def _format_cdr(r: dict) -> list[str]:
    from .cdr import format_table

    if not r["records"]:
        return ["no call records yet"]
    rows = [SimpleNamespace(**record) for record in r["records"]]
    return format_table(rows, r["timezone"], WIDTH, r.get("names")).splitlines()


def _local(text: str | None, zone: str) -> str:
    """A stored UTC time as local day and minute ("24/11 09:05")."""
    if not text:
        return "-"
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).astimezone(ZoneInfo(zone)).strftime("%d/%m %H:%M")


def _office_name(r: dict):
    """A row's office as the table shows it: the display name the answer's ``names`` gives."""
    from centralino.config.names import office_shown

    names = r.get("names")
    return lambda row: office_shown(row["office"], names)


def _format_tickets(r: dict) -> list[str]:
    if "tickets" not in r and isinstance(r, dict) and isinstance(r.get("history"), list) and "timezone" in r:
        return [f"ticket {r.get('ticket', r.get('id', '?'))}"] + [
            f"  {_local(e['at'], r['timezone'])}  {(e.get('by') or '-')[:10]:<10}  "
            f"{e.get('action', e.get('what', '')):<9}  {e.get('detail', e.get('note', ''))}" for e in r["history"]]
    if "tickets" not in r:
        return _format_mapping(r)
    if not r["tickets"]:
        return ["no tickets"]
    zone = r["timezone"]
    office = _office_name(r)
    out = [f"{'N':>4}  {'opened':<11}  {'due':<11}  {'office':<10}  {'number':<11}  {'status':<11}  late  by"]
    for t in r["tickets"]:
        due = "suspended" if t["status"] == "waiting" else _local(t.get("due_at"), zone)
        out.append(f"{t['id']:>4}  {_local(t['opened_at'], zone):<11}  {due:<11}  {office(t)[:10]:<10}  "
                   f"{t['caller'][:11]:<11}  {t['status']:<11}  {'YES' if t.get('overdue') else '-':<4}  "
                   f"{t.get('closed_by') or t.get('taken_by') or '-'}")
    if r.get("overdue"):
        out.append(f"{r['overdue']} overdue")
    return out


def _format_voicemail(r: dict) -> list[str]:
    if "messages" not in r:
        return _format_mapping(r)
    if not r["messages"]:
        return ["no messages"]
    zone = r["timezone"]
    office = _office_name(r)
    out = [f"{'N':>4}  {'received':<11}  {'office':<15}  {'caller':<15}  {'length':>6}  heard"]
    for m in r["messages"]:
        heard = f"{m['heard_by'] or '?'} {_local(m['heard_at'], zone)}" if m.get("heard_at") else "no"
        out.append(f"{m['id']:>4}  {_local(m['received_at'], zone):<11}  {office(m)[:15]:<15}  "
                   f"{(m['caller'] or 'anonimo')[:15]:<15}  {m['duration_s']:>5.0f}s  {heard}")
    return out


def _format_announcements(r: dict) -> list[str]:
    rows = r.get("announcements", r.get("prompts"))
    if rows is None:
        return _format_mapping(r)
    if not rows:
        return ["none recorded" + (f" (record one by phone with {r['code']})" if r.get("code") else "")]
    zone = r["timezone"]
    out = [f"{'N':>3}  {'name':<20}  {'state':<5}  {'until':<11}  {'by':<6}  {'recorded':<11}  {'length':>6}"]
    for a in rows:
        state = "-" if a["enabled"] is None else ("on" if a["enabled"] else "off")
        length = f"{a['seconds']:>5.1f}s" if a["seconds"] is not None else "     ?"
        out.append(f"{a['index']:>3}  {a['name'][:20]:<20}  {state:<5}  {_local(a['until'], zone):<11}  "
                   f"{(a['recorded_by'] or '-')[:6]:<6}  {_local(a['recorded_at'], zone):<11}  {length}"
                   + ("  +new" if a.get("pending") else ""))
    return out


def _format_help(r: dict) -> list[str]:
    if "help" in r:
        return r["help"].splitlines()
    width = max(len(c["usage"]) for c in r["commands"])
    out = [f"{c['usage']:<{width}}  {c['summary']}" for c in r["commands"]]
    return out + [f"{'quit':<{width}}  leave the console", "", "help COMMAND explains one command."]


def _format_mapping(r) -> list[str]:
    if isinstance(r, dict):
        if "message" in r:
            return [f"{k}: {v}" for k, v in r.items() if k != "message"] + [str(r["message"])]
        if list(r) == ["lines"]:
            return list(r["lines"]) or ["(no log lines yet)"]
        return [f"{k}: {v}" for k, v in r.items()]
    return [str(r)]


FORMATTERS = {"status": _format_status, "lines": _format_lines, "calls": _format_calls, "cdr": _format_cdr,
              "help": _format_help, "tickets": _format_tickets, "ticket": _format_tickets,
              "voicemail": _format_voicemail, "announcements": _format_announcements}
TABLES = ("lines", "calls", "cdr", "tickets", "voicemail", "announcements")  # a table row is cut at the edge; any other line is folded


def format_result(words: list[str], result) -> str:
    """The daemon's answer as plain text lines no wider than 80 columns."""
    name = words[0] if words else ""
    try:
        lines = FORMATTERS.get(name, _format_mapping)(result)
    except (KeyError, TypeError):  # a newer daemon's answer: still show it
        lines = _format_mapping(result)
    if name in TABLES:
        return "\n".join(_cut(str(line)) for line in lines)
    return "\n".join(folded for line in lines for folded in _wrap(str(line)))


def format_error(message: str, prefix: str = "error: ") -> str:
    return "\n".join(_wrap(prefix + message))


# ----------------------------------------------------------------------------- the prompt
class Console(cmd.Cmd):
    prompt = PROMPT
    intro = "centralino console: help lists the commands, quit leaves; Tab completes."

    def __init__(self, connection: Connection, stdin=None, stdout=None):
        super().__init__(stdin=stdin, stdout=stdout)
        self.connection = connection
        self.commands = self._command_names()

    def _command_names(self) -> list[str]:
        answer = self.connection.ask(["help"])
        if not answer.get("ok"):
            return []
        return [c["name"] for c in answer["result"]["commands"]]

    def _run(self, words: list[str]) -> None:
        answer = self.connection.ask(words)
        if answer.get("ok"):
            self.stdout.write(format_result(words, answer["result"]) + "\n")
        else:
            self.stdout.write(format_error(str(answer.get("error"))) + "\n")

    # cmd.Cmd hooks
    def emptyline(self) -> bool:
        return False

    def default(self, line: str) -> bool:
        if line.strip() == "EOF":
            self.stdout.write("\n")
            return True
        self._run(line.split())
        return False

    def do_help(self, arg: str) -> None:
        self._run(["help", *arg.split()])

    def do_quit(self, arg: str) -> bool:
        return True

    do_exit = do_quit

    def completenames(self, text: str, *ignored) -> list[str]:
        firsts = sorted({name.split()[0] for name in self.commands} | {"quit"})
        return [w + " " for w in firsts if w.startswith(text)]

    def completedefault(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        before = line[:begidx].split()
        candidates = [name.split()[len(before)] for name in self.commands
                      if name.split()[:len(before)] == before and len(name.split()) > len(before)]
        if before == ["help"]:
            candidates = [name.split()[0] for name in self.commands]
        return sorted({c + " " for c in candidates if c.startswith(text)})

    def complete_help(self, text, line, begidx, endidx):
        return self.completedefault(text, line, begidx, endidx)


def _readline_history():
    """Load the history file if readline is there; returns a function that saves it."""
    try:
        import readline
    except ImportError:
        return lambda: None
    path = os.path.expanduser(HISTORY_FILE)
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(HISTORY_LENGTH)
    readline.set_completer_delims(" \t\n")

    def save() -> None:
        try:
            readline.write_history_file(path)
        except OSError:
            pass
    return save


def run(args) -> int:
    from centralino.ops.control import DEFAULT_SOCKET

    path = args.socket or DEFAULT_SOCKET
    connection = Connection(path)
    try:
        if args.words:
            answer = connection.ask(args.words)
            if not answer.get("ok"):
                print(format_error(str(answer.get("error")), "centralino: "), file=sys.stderr)
                return 1
            print(format_result(args.words, answer["result"]))
            return 0
        save_history = _readline_history()
        try:
            Console(connection).cmdloop()
        except KeyboardInterrupt:
            print()
        finally:
            save_history()
        return 0
    finally:
        connection.close()
