"""End to end: a message left in the segreteria and a callback request reach the office's mailbox
on a real SMTP server, the recording attached byte for byte."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

from centralino.flows import sentences
from tests.engine.helpers import config_copy, finished, play
from tests.flows.test_mailer import Inbox, free_port, serve
from tests.flows.voce_helpers import EARS, call_voce_guida, press

ROME = ZoneInfo("Europe/Rome")


def test_the_office_gets_the_voicemail_and_the_callback_by_mail(tmp_path):
    port = free_port()
    inbox = Inbox()

    def with_mail(data):
        data["mail"] = {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none",
                        "sender": "centralino@comune.borgofiorito.it"}

    async def story(s):
        server = await serve(inbox, port)
        try:
            citizen = await call_voce_guida(s)
            await s.wait(1.0)
            await press(s, citizen, "1")  # the anagrafe, closed at this hour: its segreteria
            await s.until(lambda: EARS.heard(citizen.heard(s.clock() - 3.0), "segreteria"),
                          "the segreteria's greeting", timeout_s=60)
            await s.wait(6.0)
            citizen.hang_up()
            await finished(s, 1)
            await s.wait(0.5)
            second = await call_voce_guida(s, number="3387654321")
            await s.wait(1.0)
            await press(s, second, "2")  # the tributi, closed: the callback offer
            await s.until(lambda: EARS.heard(second.heard(s.clock() - 3.0), sentences.callback_offer()),
                          "the callback offer", timeout_s=60)
            await press(s, second, "1")
            await finished(s, 2)
            await s.daemon.mailer.flush()
            message = s.voicemail.list()[0]
            ids = {row.message_id for row in s.outbox.list()}
            return list(inbox.messages), s.voicemail.wav_bytes(message.id), ids
        finally:
            server.close()

    evening = datetime(2026, 11, 24, 19, 0, tzinfo=ROME)
    messages, wav, stored_ids = play(tmp_path, story, config=config_copy(tmp_path, with_mail), start_at=evening)
    assert len(messages) == 2
    by_recipient = {tuple(to): message_from_bytes(content, policy=policy.default) for to, content in messages}
    assert {mail["Message-ID"] for mail in by_recipient.values()} == stored_ids  # fixed when queued, kept
    voicemail = by_recipient[("anagrafe@comune.borgofiorito.it",)]
    assert "3331234567" in voicemail["Subject"]
    attachment = next(voicemail.iter_attachments())
    assert attachment.get_content_type() == "audio/wav" and attachment.get_content() == wav
    callback = by_recipient[("tributi@comune.borgofiorito.it",)]
    assert "3387654321" in callback["Subject"] and "richiam" in callback["Subject"].lower()
    # the office's display name, never its identifier, in what staff read
    assert "Ufficio Tributi" in callback["Subject"] and "Ufficio Anagrafe" in voicemail["Subject"]
