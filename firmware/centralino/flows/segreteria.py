"""The segreteria: an office's voicemail, recorded from the caller and e-mailed to the office.

The message is kept as soon as it holds a second of audio, even when the caller hangs up instead
of pressing #: most callers end a message by hanging up.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from centralino.media.frames import SAMPLE_RATE_HZ

from .office_mail import voicemail_with_mail
from .session import beep

log = logging.getLogger("centralino.flows")

MIN_MESSAGE_S = 1.0  # shorter is a hang-up, not a message


async def leave_voicemail(flow, office) -> None:
    host, ctx, session = flow.host, flow.ctx, flow.session
    ctx.step(f"voicemail:{office.name}")
    if host.records is None:
        log.error("call %s: no voicemail store; the caller hears goodbye", ctx.call_id)
        return
    if not ctx.fact("office"):
        ctx.record(office=office.name)
    await session.say("segreteria", barge_in=False)
    await session.play(beep(), barge_in=False, name="beep")

    def progress(seconds: float) -> None:
        if seconds >= MIN_MESSAGE_S:
            ctx.record(outcome="voicemail")

    saved = False
    try:
        audio = await session.record(flow.rules.voicemail_max_s, on_progress=progress)
        saved = True
        _store(host, ctx, office, audio)
        if len(audio) >= MIN_MESSAGE_S * SAMPLE_RATE_HZ:
            await session.say("messaggio_registrato", barge_in=False)
    except asyncio.CancelledError:  # the caller hung up: keep what they said
        if not saved:
            _store(host, ctx, office, session.recorded())
        raise


def _store(host, ctx, office, audio: np.ndarray) -> None:
    if len(audio) < MIN_MESSAGE_S * SAMPLE_RATE_HZ:
        return
    ctx.record(outcome="voicemail")
    received = ctx.wall_clock()
    # the message, its mail and its mailed mark in one transaction, off the loop (also on the
    # hang-up path, where nothing may be awaited)
    job = voicemail_with_mail(host.mailer, office.name, office.email, ctx.call_id, ctx.caller, received,
                              audio, ctx.timezone, title=office.title)
    host.records.submit(job, size_bytes=job.size_bytes).add_done_callback(host.mail_sent_soon)
    ctx.note("voicemail", office=office.name, caller=ctx.caller or "(unknown)",
             seconds=round(len(audio) / SAMPLE_RATE_HZ, 1))
