"""E-mail to the offices through a real SMTP server (aiosmtpd on 127.0.0.1): nothing is ever lost.

The server runs in the test's own event loop; the mailer talks to it from its worker thread with
smtplib, as on the appliance. Retry timing is checked on the mailer's wall clock, which the test
moves by hand, so no test waits for a backoff to pass.
"""

from __future__ import annotations

import asyncio
import email
import logging
import socket
import textwrap
from datetime import datetime, timedelta, timezone
from email import policy
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from aiosmtpd.smtp import SMTP, AuthResult

from centralino.config.loader import ConfigError, load_yaml
from centralino.config.mail_schema import Mail, check_address
from centralino.flows.mailer import BACKOFF_MAX_S, Mailer, backoff_s, callback_mail, voicemail_mail
from centralino.hwsim.clock import run
from centralino.records.outbox import OutboxStore
from centralino.records.voicemail import VoicemailStore

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
ROME = ZoneInfo("Europe/Rome")
SENDER = "Centralino Borgo Fiorito <centralino@comune.example.it>"
OFFICE = "anagrafe@comune.example.it"
SAFETY_S = 10.0  # only so a broken mailer fails instead of hanging


class Inbox:
    """The SMTP server's handler: keeps what it accepted, refuses while told to."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def serve(inbox: Inbox, port: int, **options):
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(inbox, hostname="mail.test", **options), "127.0.0.1", port)


def settings(port: int, **changes) -> Mail:
    values = dict(smtp_host="127.0.0.1", smtp_port=port, security="none", username=None, password=None,
                  sender=SENDER, timeout_s=5.0)
    values.update(changes)
    return Mail(**values)


async def until(condition, what: str):
    for _ in range(int(SAFETY_S / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what}: not within {SAFETY_S} s")


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def test_voicemail_mail_arrives_with_the_recording_intact(tmp_path):
    audio = (3000 * np.sin(np.arange(24000) * 2 * np.pi * 440 / 8000)).astype(np.int16)
    with VoicemailStore(tmp_path / "c.db", tmp_path / "vm") as vm:
        message = vm.save("c1", "anagrafe", "3331234567", T0, audio)
        wav = vm.wav_bytes(message.id)
    inbox, port = Inbox(), free_port()

    async def main():
        server = await serve(inbox, port)
        try:
            with OutboxStore(tmp_path / "c.db") as box:
                mailer = Mailer(settings(port), box, wall_clock=lambda: T0)
                row = mailer.queue(*voicemail_mail("Attività produttive", [OFFICE], message.caller,
                                                   T0.astimezone(ROME), message.duration_s, wav))
                assert box.get(row.id).sent_at is None  # queued, not sent, when queue returns
                sent = await mailer.flush()
                return sent, box.get(row.id)
        finally:
            server.close()
            await server.wait_closed()

    sent, row = run(main, virtual=False)
    assert sent == 1 and row.sent_at == "2026-11-24T08:00:00.000+00:00" and row.message == ""
    [(rcpts, raw)] = inbox.messages
    assert rcpts == [OFFICE] and raw.isascii()
    mail = parse(raw)
    assert mail["Subject"] == "Segreteria Attività produttive: nuovo messaggio da 3331234567"
    assert mail["From"] == SENDER and mail["To"] == OFFICE
    body = mail.get_body(("plain",)).get_content()
    assert "Ricevuto: martedì 24 novembre 2026 alle 9:00" in body  # 08:00 UTC is 9:00 in Rome
    assert "Durata: 3 secondi" in body and "La registrazione è allegata" in body
    [attachment] = mail.iter_attachments()
    assert attachment.get_filename() == "messaggio-20261124-0900.wav"
    assert attachment.get_content_type() == "audio/wav"
    assert attachment.get_content() == wav  # byte for byte


def test_callback_mail_names_the_ticket_and_the_number(tmp_path):
    inbox, port = Inbox(), free_port()

    async def main():
        server = await serve(inbox, port)
        try:
            with OutboxStore(tmp_path / "c.db") as box:
                mailer = Mailer(settings(port), box, wall_clock=lambda: T0)
                mailer.queue(*callback_mail("Anagrafe", OFFICE, 12, "0551234567",
                                            datetime(2026, 11, 24, 12, 30, tzinfo=ROME), "1>2", "busy"))
                return await mailer.flush()
        finally:
            server.close()
            await server.wait_closed()

    assert run(main, virtual=False) == 1
    mail = parse(inbox.messages[0][1])
    assert mail["Subject"] == "Richiesta di richiamata n. 12 per Anagrafe: 0551234567"
    body = mail.get_body(("plain",)).get_content()
    for line in ("Richiesta n.: 12", "Numero da richiamare: 0551234567", "Ricevuta: martedì 24 novembre 2026 alle 12:30",
                 "Motivo: l'ufficio era occupato", "Scelte nel menu: 1>2", "ticket close 12"):
        assert line in body
    assert list(mail.iter_attachments()) == []


def test_server_down_keeps_the_mail_until_it_comes_back(tmp_path):
    inbox, port = Inbox(), free_port()  # nobody listens on the port yet
    wav = bytes(range(256)) * 40

    async def first_boot():
        with OutboxStore(tmp_path / "c.db") as box:
            mailer = Mailer(settings(port), box, wall_clock=lambda: T0)
            mailer.queue(OFFICE, "Segreteria", "Un messaggio.", [("m.wav", wav, "audio/wav")])
            return await mailer.flush(), box.pending()

    sent, pending = run(first_boot, virtual=False)
    assert sent == 0
    [row] = pending
    assert row.attempts == 1 and row.last_error.startswith(f"cannot reach 127.0.0.1:{port}: ")
    assert "refused" in row.last_error.lower()

    async def after_restart():  # a new process: a new store and mailer on the same file
        server = await serve(inbox, port)
        try:
            with OutboxStore(tmp_path / "c.db") as box:
                return await Mailer(settings(port), box, wall_clock=lambda: T0).flush(), box.pending()
        finally:
            server.close()
            await server.wait_closed()

    sent, pending = run(after_restart, virtual=False)
    assert sent == 1 and pending == []
    [attachment] = parse(inbox.messages[0][1]).iter_attachments()
    assert attachment.get_content() == wav


def test_refused_then_accepted_with_backoff_and_one_log_line(tmp_path, caplog):
    inbox, port = Inbox(), free_port()
    inbox.refuse = "550 5.1.1 <anagrafe@comune.example.it>: mailbox unavailable"
    now = [T0]

    async def main():
        server = await serve(inbox, port)
        box = OutboxStore(tmp_path / "c.db")
        mailer = Mailer(settings(port), box, wall_clock=lambda: now[0])
        task = asyncio.create_task(mailer.run())
        try:
            row = mailer.queue(OFFICE, "Richiamata", "Richiamare il 0551234567.")
            await until(lambda: box.get(row.id).attempts == 1, "first attempt")
            first = box.get(row.id)
            now[0] = T0 + timedelta(seconds=0.9)
            assert await mailer.send_due() == 0 and box.get(row.id).attempts == 1  # 1 s backoff not over
            now[0] = T0 + timedelta(seconds=1)
            mailer.wake()
            await until(lambda: box.get(row.id).attempts == 2, "second attempt")
            second = box.get(row.id)
            inbox.refuse = None
            now[0] = T0 + timedelta(seconds=3)
            mailer.wake()
            await until(lambda: box.get(row.id).sent_at is not None, "delivery")
            return first, second, box.get(row.id)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            box.close()
            server.close()
            await server.wait_closed()

    with caplog.at_level(logging.INFO, logger="centralino.mail"):
        first, second, done = run(main, virtual=False)
    assert first.last_error == "recipients refused: anagrafe@comune.example.it: 550 5.1.1 " \
                               "<anagrafe@comune.example.it>: mailbox unavailable"
    assert first.next_attempt_at == "2026-11-24T08:00:01.000+00:00"  # 1 s after the first failure
    assert second.next_attempt_at == "2026-11-24T08:00:03.000+00:00"  # then 2 s
    assert (done.attempts, done.sent_at) == (2, "2026-11-24T08:00:03.000+00:00")
    assert len(inbox.messages) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "550 5.1.1" in warnings[0]  # two failures, same answer: one line
    assert any("sent after 2 failed attempt(s)" in r.getMessage() for r in caplog.records)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_the_configured_credentials(tmp_path):
    inbox, port = Inbox(), free_port()
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"centralino" and auth_data.password == b"s3greto"
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself

    async def main():
        server = await serve(inbox, port, auth_required=True, auth_require_tls=False, authenticator=authenticator)
        try:
            with OutboxStore(tmp_path / "c.db") as box:
                good = Mailer(settings(port, username="centralino", password="s3greto"), box, wall_clock=lambda: T0)
                good.queue(OFFICE, "ok", "ok")
                sent = await good.flush()
                bad = Mailer(settings(port, username="centralino", password="wrong"), box, wall_clock=lambda: T0)
                row = bad.queue(OFFICE, "no", "no")
                await bad.flush()
                return sent, box.get(row.id)
        finally:
            server.close()
            await server.wait_closed()

    sent, refused = run(main, virtual=False)
    assert sent == 1 and len(inbox.messages) == 1 and (b"centralino", b"s3greto") in logins
    assert refused.sent_at is None and refused.last_error.startswith("535")


def test_backoff_doubles_up_to_thirty_minutes():
    assert [backoff_s(n) for n in (1, 2, 3, 4, 11, 12, 50)] == [1, 2, 4, 8, 1024, BACKOFF_MAX_S, BACKOFF_MAX_S]
    assert BACKOFF_MAX_S == 1800


def test_bad_recipients_and_attachments_are_refused_before_queueing(tmp_path):
    with OutboxStore(tmp_path / "c.db") as box:
        mailer = Mailer(settings(25), box, wall_clock=lambda: T0)
        with pytest.raises(ValueError, match="'anagrafe@' is not an e-mail address"):
            mailer.queue("anagrafe@", "x", "y")
        with pytest.raises(ValueError, match="at least one recipient"):
            mailer.queue([], "x", "y")
        with pytest.raises(ValueError, match=r"an attachment is \(filename, bytes, 'type/subtype'\)"):
            mailer.queue(OFFICE, "x", "y", [("a.wav", b"RIFF", "wav")])
        assert box.pending() == []


def _mail_config(tmp_path, body: str):
    path = tmp_path / "mail.yaml"
    path.write_text(textwrap.dedent(body))
    root = load_yaml(path)
    mail = Mail.from_node(root.get_section("mail"))
    root.check_unused()
    return mail


def test_mail_section_defaults_and_errors(tmp_path):
    mail = _mail_config(tmp_path, """
        mail:
          smtp_host: smtp.comune.example.it
          username: centralino@comune.example.it
          password: "s3greto"
          sender: "Centralino <centralino@comune.example.it>"
    """)
    assert (mail.smtp_port, mail.security, mail.timeout_s) == (587, "starttls", 20.0)
    assert "s3greto" not in repr(mail)  # never in a log line
    assert _mail_config(tmp_path, "mail: {smtp_host: h.it, security: tls, sender: a@b.it}").smtp_port == 465
    cases = [
        ("mail: {smtp_host: h.it, sender: 'centralino@'}", r"mail.yaml:1: mail.sender: 'centralino@' is not an e-mail"),
        ("mail: {smtp_host: h.it, sender: a@b.it, security: ssl}", r"mail.security: 'ssl' is not valid .*starttls, tls, none"),
        ("mail: {smtp_host: h.it, sender: a@b.it, username: u}", r"mail.password: 'username' is given without 'password'"),
        ("mail: {smtp_host: h.it, sender: a@b.it, smtp_port: 0}", r"mail.smtp_port: 0 is out of range"),
        ("mail: {sender: a@b.it}", r"mail.smtp_host: missing required key"),
        ("mail: {smtp_host: h.it, sender: a@b.it, tls: yes}", r"mail.tls: unknown key 'tls'"),
    ]
    for text, message in cases:
        with pytest.raises(ConfigError, match=message):
            _mail_config(tmp_path, text)


def test_address_check():
    assert check_address(" anagrafe@comune.example.it ") == "anagrafe@comune.example.it"
    assert check_address("Ufficio Anagrafe <anagrafe@comune.example.it>") == \
        "Ufficio Anagrafe <anagrafe@comune.example.it>"
    for bad in ("anagrafe", "a@b", "a@@b.it", "a..b@c.it", "àlfa@b.it", "", "a b@c.it"):
        with pytest.raises(ValueError, match="is not an e-mail address"):
            check_address(bad)


def test_a_retry_time_beyond_the_longest_backoff_means_the_clock_went_back(tmp_path):
    """After the Pi's clock jumped back (no RTC, NTP corrected it), a mail is not held for days."""
    port = free_port()  # down: every attempt fails

    async def main():
        with OutboxStore(tmp_path / "c.db") as box:
            mailer = Mailer(settings(port), box, wall_clock=lambda: T0)
            row = mailer.queue(OFFICE, "x", "y")
            box.mark_failed(row.id, "earlier failure", T0 + timedelta(days=2))
            tried_far = await mailer.send_due()
            after = box.get(row.id)  # now due again 2 s after T0: a normal backoff
            tried_near = await mailer.send_due()
            return tried_far, after, tried_near, box.get(row.id)

    tried_far, after, tried_near, last = run(main, virtual=False)
    assert after.attempts == 2 and after.next_attempt_at == "2026-11-24T08:00:02.000+00:00"
    assert last.attempts == 2  # the normal backoff is respected
    assert tried_far == tried_near == 0


# ------------------------------------------------------------------ the outbox through the records writer
def _writer(path, **options):
    from centralino.records.writer import RecordWriter

    return RecordWriter(path, **{"retry_first_s": 0.01, "retry_max_s": 0.05, **options})


def _stored(path, sql):
    import sqlite3

    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_a_mail_sent_again_after_a_power_cut_is_the_same_message(tmp_path):
    """The server took the mail, the power went before the outbox marked it sent: same Message-ID twice."""
    import os
    import signal
    import sys

    port, database = free_port(), tmp_path / "c.db"
    script = tmp_path / "first_boot.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio
        from centralino.config.mail_schema import Mail
        from centralino.flows.mailer import Mailer
        from centralino.records.writer import RecordWriter

        async def main():
            mail = Mail(smtp_host="127.0.0.1", smtp_port={port}, security="none", username=None, password=None,
                        sender={SENDER!r}, timeout_s=5.0)
            mailer = Mailer(mail, writer=RecordWriter({str(database)!r}))
            row = await mailer.queue_async({OFFICE!r}, "Segreteria Anagrafe: nuovo messaggio", "Un messaggio.")
            print("QUEUED", row.message_id, flush=True)
            await mailer.flush()  # the power goes while the server answers
            print("SURVIVED", flush=True)

        asyncio.run(main())
    """))

    class PowerCut(Inbox):
        victim = None

        async def handle_DATA(self, server, session, envelope):
            answer = await super().handle_DATA(server, session, envelope)
            if self.victim is not None:
                os.kill(self.victim, signal.SIGKILL)  # the message is on the server; the sender never hears 250
                self.victim = None
            return answer

    inbox = PowerCut()

    async def main():
        server = await serve(inbox, port)
        try:
            proc = await asyncio.create_subprocess_exec(sys.executable, str(script), stdout=asyncio.subprocess.PIPE)
            inbox.victim = proc.pid
            queued = (await asyncio.wait_for(proc.stdout.readline(), SAFETY_S)).split()
            rest = await asyncio.wait_for(proc.stdout.read(), SAFETY_S)
            await proc.wait()
            with OutboxStore(database) as box:  # the restart: a new mailer on the same file
                [pending] = box.pending()
                sent = await Mailer(settings(port), box, wall_clock=lambda: T0).flush()
                return queued, rest, proc.returncode, pending, sent, box.pending()
        finally:
            server.close()
            await server.wait_closed()

    queued, rest, returncode, pending, sent, still = run(main, virtual=False)
    assert returncode == -signal.SIGKILL and b"SURVIVED" not in rest
    assert queued[0] == b"QUEUED" and pending.message_id == queued[1].decode()
    assert (sent, still) == (1, [])
    first, second = (parse(raw) for _, raw in inbox.messages)
    assert first["Message-ID"] == second["Message-ID"] == pending.message_id  # one mail to the reader
    assert first.as_bytes() == second.as_bytes()


def test_a_voicemail_and_its_mail_are_one_transaction(tmp_path):
    """The mail does not fit on the disk: neither the message nor its recording stays; both come later."""
    database, folder = tmp_path / "c.db", tmp_path / "voicemail"
    audio = (3000 * np.sin(np.arange(40000) * 2 * np.pi * 440 / 8000)).astype(np.int16)  # 5 s
    writer = _writer(database, retry_first_s=60.0)  # retried only when told: the state between is checked
    mailer = Mailer(settings(25), writer=writer, wall_clock=lambda: T0)
    pages = writer.submit(lambda st: st.db.execute_sql("PRAGMA page_count").fetchone()[0], keep=False).result(SAFETY_S)
    writer.submit(lambda st: st.db.execute_sql(f"PRAGMA max_page_count = {pages + 3}"), keep=False).result(SAFETY_S)
    from centralino.flows.office_mail import voicemail_with_mail

    job = voicemail_with_mail(mailer, "Anagrafe", [OFFICE], "c1", "3331234567", T0, audio, ROME)
    assert job.size_bytes > 3 * audio.nbytes  # what it holds in memory while kept
    kept = writer.submit(job).exception(SAFETY_S)
    assert kept is not None and "full" in str(kept)
    assert _stored(database, "SELECT COUNT(*) FROM voicemails")[0][0] == 0
    assert _stored(database, "SELECT COUNT(*) FROM outbox")[0][0] == 0
    assert not list(folder.rglob("*.wav*"))  # the recording of the rolled-back row is gone too
    writer.retry_now()  # a new connection: the limit is gone, as if space was freed
    message = kept.written.result(SAFETY_S)
    writer.close()
    [(mailed_at, path)] = _stored(database, "SELECT mailed_at, path FROM voicemails")
    [(text, message_id)] = _stored(database, "SELECT message, message_id FROM outbox")
    assert mailed_at == "2026-11-24T08:00:00.000+00:00" and path == message.path
    mail = parse(text.encode())
    assert mail["Message-ID"] == message_id
    assert next(mail.iter_attachments()).get_content() == open(path, "rb").read()


def test_a_ticket_and_its_mail_through_the_writer_reach_the_office(tmp_path):
    from centralino.flows.office_mail import callback_with_mail

    database, inbox, port = tmp_path / "c.db", Inbox(), free_port()

    async def main():
        server = await serve(inbox, port)
        writer = _writer(database)
        try:
            mailer = Mailer(settings(port), writer=writer, wall_clock=lambda: T0)
            job = callback_with_mail(mailer, "Tributi", "tributi@comune.example.it", "c7", "0551234567",
                                     T0, "2", "busy", ROME)
            ticket = await writer.run(job)
            sent = await mailer.flush()
            return ticket, sent, mailer.status()
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    ticket, sent, status = run(main, virtual=False)
    assert sent == 1 and status["pending"] == 0
    mail = parse(inbox.messages[0][1])
    assert mail["Subject"] == f"Richiesta di richiamata n. {ticket.id} per Tributi: 0551234567"
    [(sent_at, message_id)] = _stored(database, "SELECT sent_at, message_id FROM outbox")
    assert sent_at == "2026-11-24T08:00:00.000+00:00" and message_id == mail["Message-ID"]
    assert _stored(database, "SELECT status, caller FROM tickets") == [("open", "0551234567")]


def test_a_bad_office_address_costs_the_mail_not_the_ticket(tmp_path, caplog):
    from centralino.flows.office_mail import callback_with_mail

    database = tmp_path / "c.db"
    writer = _writer(database)
    mailer = Mailer(settings(25), writer=writer, wall_clock=lambda: T0)
    job = callback_with_mail(mailer, "Tributi", "tributi@", "c8", "0551234567", T0, "", "requested", ROME)
    with caplog.at_level(logging.ERROR, logger="centralino.mail"):
        ticket = writer.submit(job).result(SAFETY_S)
    writer.close()
    assert ticket.id == 1 and "'tributi@' is not an e-mail address" in caplog.text
    assert _stored(database, "SELECT COUNT(*) FROM outbox")[0][0] == 0


def test_a_mail_queued_while_the_records_are_unwritable_is_sent_once_they_are(tmp_path):
    database, inbox, port = tmp_path / "c.db", Inbox(), free_port()
    database.write_text("not ours")

    async def main():
        server = await serve(inbox, port)
        writer = _writer(database)
        mailer = Mailer(settings(port), writer=writer, wall_clock=lambda: T0)
        task = asyncio.create_task(mailer.run())
        try:
            await until(lambda: writer.status()["state"] == "degraded", "the writer degraded")
            row = await mailer.queue_async(OFFICE, "Richiamata", "Richiamare il 0551234567.")
            database.unlink()
            writer.retry_now()
            await until(lambda: len(inbox.messages) == 1, "the mail delivered")
            return row
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            writer.close()
            server.close()
            await server.wait_closed()

    assert run(main, virtual=False) is None  # kept in memory with the records: not in the outbox yet
    assert parse(inbox.messages[0][1])["Subject"] == "Richiamata"
    assert _stored(database, "SELECT subject, sent_at IS NOT NULL FROM outbox") == [("Richiamata", 1)]
