"""The segreteria: an office's voicemail, recorded from the caller and e-mailed to the office.

The message is kept as soon as it holds a second of audio, even when the caller hangs up instead
of pressing #: most callers end a message by hanging up.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from centralino.media.frames import SAMPLE_RATE_HZ

from .session import beep

log = logging.getLogger("centralino.flows")

MIN_MESSAGE_S = 1.0  # shorter is a hang-up, not a message


async def leave_voicemail(flow, office) -> None:
    sb, call, session = flow.sb, flow.call, flow.session
    call.route.append(f"voicemail:{office.name}")
    if sb.voicemail is None:
        log.error("call %s: no voicemail store; the caller hears goodbye", call.id)
        return
    call.office = call.office or office.name
    await session.say("segreteria", barge_in=False)
    await session.play(beep(), barge_in=False, name="beep")

    def progress(seconds: float) -> None:
        if seconds >= MIN_MESSAGE_S:
            call.outcome = "voicemail"

    saved = False
    try:
        audio = await session.record(flow.rules.voicemail_max_s, on_progress=progress)
        saved = True
        _store(sb, call, office, audio)
        if len(audio) >= MIN_MESSAGE_S * SAMPLE_RATE_HZ:
            await session.say("messaggio_registrato", barge_in=False)
    except asyncio.CancelledError:  # the caller hung up: keep what they said
        if not saved:
            _store(sb, call, office, session.recorded())
        raise


def _store(sb, call, office, audio: np.ndarray) -> None:
    if len(audio) < MIN_MESSAGE_S * SAMPLE_RATE_HZ:
        return
    call.outcome = "voicemail"
    received = sb.wall_clock()
    try:
        message = sb.voicemail.save(call.id, office.name, call.caller, received, audio)
    except Exception:
        log.exception("call %s: the voicemail could not be stored", call.id)
        return
    sb.note("voicemail", office=office.name, caller=call.caller or "(unknown)", seconds=round(len(audio) / SAMPLE_RATE_HZ, 1))
    if sb.mailer is not None and office.email:
        from .mailer import voicemail_mail

        local = received.astimezone(sb.timezone)
        sb.mailer.queue(*voicemail_mail(office.name, office.email, call.caller, local,
                                        len(audio) / SAMPLE_RATE_HZ, sb.voicemail.wav_bytes(message.id)))
        sb.voicemail.mark_mailed(message.id, received)
