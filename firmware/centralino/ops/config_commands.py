"""Configuration files through the control socket: show, test a proposed text, diff it, apply it.

The web's Configurazione page sends the whole text of a proposed file (an upload or an edit). The
daemon checks it with the same worker process as ``config check`` (config/checker.py: a file
that would take too long or too much memory is refused, never freezing the switchboard), in a
private temporary folder under the uploaded file's name, so the error names the line the administrator sees
(``caricato.yaml:42: extensions[3].port: ...``) and nothing is written anywhere. Applying writes
the file the daemon was started with (a link is followed to the real file): the new text goes to a
temporary file in the same folder, is fsynced and renamed into place, and the text it replaces is
kept beside it as ``NAME.previous``; a failure at any step leaves the old file as it was. The
written file is taken on at the next restart, or at once with ``config reload`` on the console
(a technician's decision, since it changes what calls do now).
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from pathlib import Path

from centralino.config.checker import CheckerBusy

from .commands import COMMANDS, CommandError, ControlContext, command
from .web_commands import _account

TEXT_MAX_BYTES = 48 * 1024  # a request line is at most 64 KiB; the example comune's file is 11 KiB
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
PREVIOUS_SUFFIX = ".previous"


def _config_path(ctx: ControlContext, cmd: str) -> Path:
    if ctx.config_path is None:
        raise CommandError(f"{cmd}: this daemon was started without a configuration file")
    return Path(ctx.config_path)


def _text(cmd: str, text: str) -> str:
    if len(text.encode()) > TEXT_MAX_BYTES:
        raise CommandError(f"{cmd}: the file is {len(text.encode())} bytes; at most {TEXT_MAX_BYTES}")
    if "\x00" in text:
        raise CommandError(f"{cmd}: the file contains NUL bytes: not a YAML text file")
    return text


# what a refusal says: ``FILE:LINE: KEY: MESSAGE`` (or ``FILE: MESSAGE`` when no line is known)
REFUSAL = re.compile(r"^(?P<file>[^:]+):(?:(?P<line>\d+):)? (?:(?P<key>[\w.\[\]-]+): )?(?P<message>.*)$")


async def check_text(ctx: ControlContext, name: str, text: str) -> dict:
    """Validate ``text`` as if it were a file called ``name``; the error's file, line and key."""
    if not NAME.fullmatch(name):
        raise CommandError(f"config test: {name!r} is not a file name (letters, digits, . _ -)")
    with tempfile.TemporaryDirectory(prefix="centralino-config-") as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        try:
            verdict = await ctx.checker.check(path)
        except CheckerBusy as err:
            raise CommandError(str(err)) from None
    if verdict.ok:
        return {"ok": True, "file": name, "summary": verdict.summary_text()}
    error = (verdict.error or "refused").replace(str(path), name)
    found = REFUSAL.match(error)
    line = int(found["line"]) if found and found["line"] else None
    return {"ok": False, "file": name, "line": line, "key": (found["key"] or "") if found else "",
            "message": found["message"] if found else error, "error": error}


@command("config show", "config show", "the configuration file as it is on disk")
def config_show(ctx: ControlContext, args: list[str]):
    path = _config_path(ctx, "config show")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise CommandError(f"config show: {path}: {err.strerror or err}") from None
    return {"file": str(path), "text": text, "pending_restart": ctx.pending_config is not None}


@command("config test", "config test NAME TEXT", "check a proposed configuration, write nothing",
         details="NAME is what the errors call the file (the uploaded file's name); TEXT the whole file.",
         max_args=2)
async def config_test(ctx: ControlContext, args: list[str]):
    if len(args) != 2:
        raise CommandError(f"config test: usage: {COMMANDS['config test'].usage}")
    return await check_text(ctx, args[0], _text("config test", args[1]))


@command("config diff", "config diff TEXT", "a diff from the file on disk to a proposed one", max_args=1)
def config_diff(ctx: ControlContext, args: list[str]):
    if len(args) != 1:
        raise CommandError(f"config diff: usage: {COMMANDS['config diff'].usage}")
    path = _config_path(ctx, "config diff")
    proposed = _text("config diff", args[0])
    try:
        current = path.read_text(encoding="utf-8")
    except OSError as err:
        raise CommandError(f"config diff: {path}: {err.strerror or err}") from None
    lines = list(difflib.unified_diff(current.splitlines(), proposed.splitlines(), fromfile=f"{path.name} (in uso)",
                                      tofile=f"{path.name} (proposta)", lineterm=""))
    return {"file": str(path), "same": not lines, "diff": lines}


@command("config apply", "config apply WHO TEXT",
         "check a configuration and write it (taken on at restart)",
         details="A text with a problem is refused and nothing is written. The replaced file is kept\n"
                 f"as NAME{PREVIOUS_SUFFIX}. The new file applies at the next restart, or now with `config reload`.",
         max_args=2, audited=True)
async def config_apply(ctx: ControlContext, args: list[str]):
    if len(args) != 2:
        raise CommandError(f"config apply: usage: {COMMANDS['config apply'].usage}")
    by = _account("config apply", args, 0)
    text = _text("config apply", args[1])
    path = _config_path(ctx, "config apply").resolve()
    checked = await check_text(ctx, path.name, text)
    if not checked["ok"]:
        raise CommandError(f"config apply: refused, nothing written: {checked['error']}")
    _replace(path, text)
    ctx.pending_config = checked
    return {"file": str(path), "by": by, "applied": False, "pending_restart": True, "summary": checked["summary"],
            "previous": str(path) + PREVIOUS_SUFFIX,
            "message": "written; applies at the next restart, or now with config reload on the console"}


def _replace(path: Path, text: str) -> None:
    """Write ``text`` over ``path`` atomically, keeping the old text as ``path.previous``."""
    folder = path.parent
    try:
        old = path.read_bytes() if path.exists() else None
        fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=folder)
    except OSError as err:
        raise CommandError(f"config apply: cannot write in {folder}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if old is not None:
            previous = path.with_name(path.name + PREVIOUS_SUFFIX)
            previous.write_bytes(old)
        os.chmod(partial, 0o644)
        os.replace(partial, path)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as err:
        Path(partial).unlink(missing_ok=True)
        raise CommandError(f"config apply: cannot write {path}: {err.strerror or err}; the old file is unchanged") from None
