"""Console commands for the announcements recorded by phone (flows/announcements.py).

``announcements`` lists them with who recorded each and when, ``announcements on|off [NAME]``
turns one on or off (the avviso when no name is given), ``announcements prompts`` lists the
comune's own prompts with the numbers a staff phone keys to re-record one.
"""

from __future__ import annotations

from centralino.flows.announcements import AVVISO
from centralino.flows.recordings import ShelfError

from .commands import CommandError, ControlContext, command


def _board(ctx: ControlContext, cmd: str):
    flows = ctx.daemon.flows
    board = flows.lookup("announcements") if flows is not None else None
    if board is None:
        raise CommandError(f"{cmd}: the switchboard is not running yet")
    return board


def _listing(board) -> dict:
    return {"timezone": board.zone.key, "code": board.host.settings.features.announcements,
            "announcements": board.listing(board.shelf)}


@command("announcements", "announcements", "the announcements recorded by phone: on or off, until, who, when",
         details="A staff phone listed in announcements.staff records the avviso with the feature code\n"
                 "(features.announcements, *55) and the PIN; callers hear it before the menu while it is on.")
def announcements(ctx: ControlContext, args: list[str]):
    return _listing(_board(ctx, "announcements"))


def _switch(ctx: ControlContext, args: list[str], on: bool):
    cmd = f"announcements {'on' if on else 'off'}"
    board = _board(ctx, cmd)
    name = args[0] if args else AVVISO
    known = board.shelf.names()
    if name not in known:
        raise CommandError(f"{cmd}: no announcement {name!r}; "
                           + (f"announcements: {', '.join(known)}" if known else
                              f"none is recorded yet (record one by phone with "
                              f"{board.host.settings.features.announcements})"))
    try:
        board.set_enabled(name, on, by="console")
    except ShelfError as err:
        raise CommandError(f"{cmd}: {err}") from None
    return _listing(board)


@command("announcements on", "announcements on [NAME]", "turn an announcement on (default: the avviso)",
         max_args=1, audited=True)
def announcements_on(ctx: ControlContext, args: list[str]):
    return _switch(ctx, args, True)


@command("announcements off", "announcements off [NAME]", "turn an announcement off (default: the avviso)",
         max_args=1, audited=True)
def announcements_off(ctx: ControlContext, args: list[str]):
    return _switch(ctx, args, False)


@command("announcements prompts", "announcements prompts",
         "the comune's own prompts, numbered as a staff phone keys them to re-record one (9 after the PIN)",
         details="The WAVs of switchboard.prompts, in the order of their file names, from 1.")
def announcements_prompts(ctx: ControlContext, args: list[str]):
    board = _board(ctx, "announcements prompts")
    if board.prompts is None:
        raise CommandError("announcements prompts: no switchboard.prompts folder is configured")
    return {"timezone": board.zone.key, "prompts": board.listing(board.prompts)}
