"""The operator hands a caller on hold to an office without ringing it from the operator's phone.

With the caller on hold (a flash), a feature code and a number (an extension or a group's
number, ended by ``#`` or by being complete) say where the caller goes:

- ``*44`` N ``#`` (``features.transfer_queue``): into the queue of N's office, at the place their
  first call gives them (callers who called later wait behind them); they hear their position
  and the hold music, then the office's member rings;
- ``*45`` N ``#`` (``features.transfer_voicemail``): straight to that office's segreteria
  (greeting and beep), nobody rings.

N's office is the one whose response group has that number or that extension (the first in the
configuration). The operator's phone leaves the call and hears "grazie"; a number of no office,
or no caller from a line on hold, gets congestion tone and changes nothing.
"""

from __future__ import annotations

from centralino.config.flows_schema import Destination

from .transfer_desk import office_for

FEATURES = {"transfer_queue": "office", "transfer_voicemail": "voicemail"}  # feature -> destination kind


def load_config(settings, host):
    for feature, kind in FEATURES.items():
        host.register_feature(feature, (lambda f, k: lambda h, ctx, session: run(ctx, session, f, k))(feature, kind))
    return None


def numbers(settings) -> set[str]:
    """What the operator may key after the code: extensions and groups' numbers."""
    return {e.number for e in settings.extensions} | {g.number for g in settings.groups if g.number}


async def read_number(session, known: set[str], timeout_s: float) -> str:
    """Keys up to ``#``, a pause of ``timeout_s``, or a number that is complete (no longer one
    starts with it) or can no longer become one."""
    number = ""
    while True:
        key = await session.get_key(timeout_s)
        if key is None or key == "#":
            return number
        number += key
        longer = any(n != number and n.startswith(number) for n in known)
        if (number in known and not longer) or not (longer or number in known):
            return number


async def run(ctx, session, feature: str, kind: str) -> None:
    number = await read_number(session, numbers(ctx.settings), ctx.settings.dialplan.interdigit_timeout_s)
    office = office_for(ctx.settings, number) if number else None
    if ctx.held_caller is None:
        why = "no caller on hold"
    elif office is None:
        why = f"no office for {number or 'no number'}"
    elif not ctx.send_held_to(Destination(kind, office.name)):
        why = "the caller on hold is not on a line"
    else:
        why = None
    if why is not None:
        ctx.note("refused", ext=ctx.station.number, feature=feature, why=why)
        session.hold_tone("it:congestion")
        return
    await session.say("grazie", barge_in=False)
    ctx.done()
