"""The control socket's commands: one small function each, found by name.

A command gets the running daemon through a ``ControlContext`` and returns plain data (dicts,
lists, strings) that the console formats, or a coroutine the server awaits (``config check``
waits for its worker process without holding up the loop). Wrong arguments raise
``CommandError`` with the usage, so a typo gets an answer, never a dropped connection. Commands
that change state (or drive a line) are ``audited``: the server logs who ran them.
"""

from __future__ import annotations

import asyncio

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from centralino.config.checker import CheckerBusy, ConfigChecker

CDR_DEFAULT = 20
CDR_MAX = 1000
LOG_TAIL_DEFAULT = 20


class CommandError(ValueError):
    """A request the daemon cannot carry out; the message goes back to the technician."""


@dataclass
class ControlContext:
    """What commands may use: the daemon, its configuration file and the log ring buffer."""

    daemon: object
    config_path: Path | None = None
    log_buffer: object | None = None
    pending_config: object | None = None  # the Verdict of an accepted ``config reload``, applied at restart
    checker: ConfigChecker = field(default_factory=ConfigChecker)  # checks files in a worker process


@dataclass(frozen=True)
class Command:
    name: str  # one or two words: "status", "config reload"
    usage: str
    summary: str
    details: str
    handler: Callable[[ControlContext, list[str]], object]
    max_args: int = 0
    audited: bool = False

    def help(self) -> str:
        return f"usage: {self.usage}\n{self.summary}" + (f"\n{self.details}" if self.details else "")


COMMANDS: dict[str, Command] = {}


def command(name: str, usage: str, summary: str, details: str = "", max_args: int = 0,
            audited: bool = False):
    def register(handler):
        COMMANDS[name] = Command(name, usage, summary, details, handler, max_args, audited)
        return handler
    return register


def resolve(cmd: str, args: list[str]) -> tuple[Command, list[str]]:
    """Find the command for ``cmd`` and ``args`` (``"config", ["reload"]`` or ``"config reload"``)."""
    words = cmd.split() + list(args)
    if not words:
        raise CommandError("empty command; try: help")
    if len(words) >= 2 and f"{words[0]} {words[1]}" in COMMANDS:
        found, rest = COMMANDS[f"{words[0]} {words[1]}"], words[2:]
    elif words[0] in COMMANDS:
        found, rest = COMMANDS[words[0]], words[1:]
    else:
        subs = sorted(name for name in COMMANDS if name.split()[0] == words[0])
        if subs:
            raise CommandError(f"{words[0]}: say which: {', '.join(subs)}")
        raise CommandError(f"unknown command {' '.join(words)!r}; commands: {', '.join(names())}")
    if len(rest) > found.max_args:
        raise CommandError(f"{found.name}: too many arguments {' '.join(rest)!r}; usage: {found.usage}")
    return found, rest


def names() -> list[str]:
    return sorted(COMMANDS)


def _count(cmd: Command, args: list[str], default: int, maxval: int) -> int:
    if not args:
        return default
    try:
        n = int(args[0])
    except ValueError:
        raise CommandError(f"{cmd.name}: N must be a whole number, got {args[0]!r}; usage: {cmd.usage}") from None
    if not 1 <= n <= maxval:
        raise CommandError(f"{cmd.name}: N must be 1..{maxval}, got {n}; usage: {cmd.usage}")
    return n


def _engine(ctx: ControlContext):
    if ctx.daemon.engine is None:
        raise CommandError("the switchboard is still starting; try again in a moment")
    return ctx.daemon.engine


# ----------------------------------------------------------------------------- commands
@command("help", "help [COMMAND]", "list the commands, or explain one", max_args=2)
def help_(ctx: ControlContext, args: list[str]):
    if not args:
        return {"commands": [{"name": c.name, "usage": c.usage, "summary": c.summary}
                             for c in (COMMANDS[n] for n in names())]}
    name = " ".join(args)
    if name in COMMANDS:
        return {"help": COMMANDS[name].help()}
    subs = [COMMANDS[n] for n in names() if n.split()[0] == args[0]]
    if not subs:
        raise CommandError(f"help: no command {name!r}; commands: {', '.join(names())}")
    return {"help": "\n\n".join(c.help() for c in subs)}


@command("status", "status", "the daemon: version, board, uptime, ports, media clock, calls")
def status(ctx: ControlContext, args: list[str]):
    result = ctx.daemon.status()
    result["config"] = str(ctx.config_path) if ctx.config_path else None
    result["config_pending_restart"] = ctx.pending_config is not None
    return result


def _line_state(status: dict) -> str:
    if not status["in_service"]:
        return "fault"
    if "state" in status:
        return status["state"]
    if status.get("ringing"):
        return "ringing"
    return "off-hook" if status.get("off_hook") else "idle"


@command("lines", "lines", "every port with its state, extension and fault")
def lines(ctx: ControlContext, args: list[str]):
    extension = {e.port: e.number for e in ctx.daemon.settings.extensions}
    rows = []
    for channel in ctx.daemon.channels.values():
        s = channel.status()
        rows.append({"port": s["name"], "kind": s["kind"], "extension": extension.get(s["name"]),
                     "state": _line_state(s), "in_service": s["in_service"], "fault": s["fault"],
                     "bridged_to": s["bridged_to"]})
    return {"lines": rows}


@command("calls", "calls", "the calls in progress")
def calls(ctx: ControlContext, args: list[str]):
    return {"calls": [call.status() for call in _engine(ctx).calls]}


@command("cdr", "cdr [N]", f"the last N call records (default {CDR_DEFAULT}, at most {CDR_MAX})",
         max_args=1)
async def cdr(ctx: ControlContext, args: list[str]):
    """From the file; while it cannot be read, the calls this daemon finished, from memory."""
    from centralino.records.database import RecordsError

    from centralino.config.names import display_names

    n = _count(COMMANDS["cdr"], args, CDR_DEFAULT, CDR_MAX)
    answer = {"timezone": ctx.daemon.settings.comune.timezone, "names": display_names(ctx.daemon.settings)}
    try:
        rows = await ctx.daemon.writer.run(lambda st: st.cdr.last(n), keep=False)
    except RecordsError as err:
        rows = ctx.daemon.call_log.recent(n)
        answer["note"] = f"records not readable ({err}); the last calls from memory"
    return {**answer, "records": [row.as_dict() for row in rows]}


async def _check(ctx: ControlContext):
    """The file checked in a worker process (never on the loop that runs calls): its Verdict."""
    if ctx.config_path is None:
        raise CommandError("this daemon was started without a configuration file to check")
    try:
        verdict = await ctx.checker.check(ctx.config_path)
    except CheckerBusy as err:
        raise CommandError(str(err)) from None
    if not verdict.ok:
        raise CommandError(f"configuration refused: {verdict.error}")
    return verdict


@command("config check", "config check", "validate the configuration file again (it may have been edited)")
async def config_check(ctx: ControlContext, args: list[str]):
    verdict = await _check(ctx)
    return {"file": str(ctx.config_path), "ok": True, "summary": verdict.summary_text()}


@command("config reload", "config reload", "validate the configuration file and take it on now",
         details="A file with a problem is refused and the running configuration stays.\n"
                 "A good one applies to new calls at once, without dropping a call: calls in progress\n"
                 "finish under the rules they started with. The answer lists what changed. A change to\n"
                 "what is built at start (board, ports, SIP, modem, records file, mail) waits, with\n"
                 "everything else in the file, for the next restart (systemctl restart centralino).",
         audited=True)
async def config_reload(ctx: ControlContext, args: list[str]):
    verdict = await _check(ctx)
    from centralino.config.loader import ConfigError
    from centralino.config.schema import load_settings

    try:  # the worker found it sound within its limits: read it here, off the loop
        settings = await asyncio.to_thread(load_settings, ctx.config_path)
    except (ConfigError, OSError) as err:  # the file changed again since the check
        raise CommandError(f"config reload: {err}") from None
    outcome = await ctx.daemon.reconfigure(settings)
    ctx.pending_config = None if outcome["applied"] else verdict
    if outcome["applied"]:
        message = ("applied: " + "; ".join(outcome["changed"])) if outcome["changed"] else "no change"
    else:
        message = ("validated; waits for the next restart because of: " + "; ".join(outcome["waiting_for_restart"])
                   + " (the running configuration is unchanged)")
    return {"file": str(ctx.config_path), "ok": True, "applied": outcome["applied"],
            "summary": verdict.summary_text(), "changed": outcome["changed"],
            "waiting_for_restart": outcome["waiting_for_restart"], "message": message}


@command("line test", "line test PORT", "measure a port's voltages and loop current",
         details="FXS (a phone): tip, ring and battery volts, loop current, hook state.\n"
                 "FXO (an exchange line): line volts, polarity, loop current, line present.",
         max_args=1, audited=True)
def line_test(ctx: ControlContext, args: list[str]):
    cmd = COMMANDS["line test"]
    if not args:
        raise CommandError(f"line test: which port? usage: {cmd.usage}; ports: {', '.join(ctx.daemon.channels)}")
    channel = ctx.daemon.channels.get(args[0])
    if channel is None:
        raise CommandError(f"line test: no port {args[0]!r}; ports: {', '.join(ctx.daemon.channels)}")
    if not channel.in_service:
        raise CommandError(f"line test: {channel.name} is out of service: {channel.fault}")
    result = {"port": channel.name, "kind": channel.kind}
    if channel.kind == "fxs":
        d = channel.driver.diagnostics()
        result.update(tip_v=round(d.tip_v, 1), ring_v=round(d.ring_v, 1), battery_v=round(d.battery_v, 1),
                      loop_current_ma=round(d.loop_current_ma, 1), off_hook=channel.off_hook)
    elif channel.kind == "fxo":
        line = channel.driver.line_status()
        result.update(line_voltage_v=line.voltage_v, polarity=line.polarity,
                      loop_current_ma=round(line.loop_current_ma, 1), line_present=line.line_present,
                      state=channel.state)
    else:
        raise CommandError(f"line test: {channel.name} is a {channel.kind} port; only fxs and fxo are measured")
    return result


@command("log tail", "log tail [N]", f"the last N log lines (default {LOG_TAIL_DEFAULT})", max_args=1)
def log_tail(ctx: ControlContext, args: list[str]):
    if ctx.log_buffer is None:
        raise CommandError("log tail: this daemon keeps no log in memory; use journalctl -u centralino")
    n = _count(COMMANDS["log tail"], args, LOG_TAIL_DEFAULT, ctx.log_buffer.capacity)
    return {"lines": ctx.log_buffer.tail(n)}


def _failover(ctx: ControlContext):
    _engine(ctx)
    failover = ctx.daemon.flows.lookup("failover")
    monitor = failover.monitor if failover is not None else None
    if monitor is None:
        raise CommandError("failover is not configured (add 'gsm' and 'failover' sections)")
    return monitor


@command("failover", "failover", "whether calls go to the mobile now, and why")
def failover_status(ctx: ControlContext, args: list[str]):
    return _failover(ctx).status()


@command("failover start", "failover start", "start a migration: line calls go to the mobile until 'failover stop'",
         audited=True)
def failover_start(ctx: ControlContext, args: list[str]):
    monitor = _failover(ctx)
    monitor.start_manual()
    return monitor.status()


@command("failover stop", "failover stop", "end a migration started here (windows and outages still apply)",
         audited=True)
def failover_stop(ctx: ControlContext, args: list[str]):
    monitor = _failover(ctx)
    monitor.stop_manual()
    return monitor.status()


COMMANDS["migration"] = COMMANDS["failover"]  # the same switch, by the name a migration plan uses
COMMANDS["migration start"] = COMMANDS["failover start"]
COMMANDS["migration stop"] = COMMANDS["failover stop"]

from . import office_commands  # noqa: E402,F401  (registers tickets, ticket close, voicemail ...)
from . import device_commands  # noqa: E402,F401  (registers gsm, leds, led test)
from . import web_commands  # noqa: E402,F401  (cdr search, wallboard, stats data, ticket take ... for the web)
from . import config_commands  # noqa: E402,F401  (config show, test, diff, apply)
from . import backup_commands  # noqa: E402,F401  (backup create, status, read)
from . import restore  # noqa: E402,F401  (restore begin, chunk, check, status, cancel)
from . import announcement_commands  # noqa: E402,F401  (announcements, announcements on/off/prompts)
