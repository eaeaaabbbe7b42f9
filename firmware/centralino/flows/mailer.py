"""Sending the switchboard's e-mails through the comune's SMTP server, without ever losing one.

``compose`` builds the MIME message with its Message-ID; ``queue`` commits it to the outbox before
it returns: from then on the mail survives a power cut, a restart and a mail-server outage. The
Message-ID is fixed then, stored in the outbox row and never made again: a mail the server took
just before a power cut, before the outbox could mark it sent, is sent again after the restart as
the same message, which the reader's mail program shows once. ``run`` (a task of the daemon)
sends what is due; a failure is retried with a doubling delay (1 s, 2 s, 4 s ... at most 30 min),
and logged once per message and server answer, not once per retry, so a night-long outage is a
few log lines, not thousands.

smtplib blocks, so each delivery runs in a worker thread (``asyncio.to_thread``). The outbox is
either a store of the mailer's own, used from the event loop (``Mailer(settings, outbox)``), or
the records writer's (``Mailer(settings, writer=writer)``): then every read and write of the
outbox is a job on the writer's thread and the loop never waits for a commit, and a mail queued
with a voicemail or a ticket is in the same transaction (``office_mail.voicemail_with_mail``,
``callback_with_mail``). The message is stored as pure ASCII (text quoted-printable, attachments
base64, headers RFC 2047), which every server accepts without extensions.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from centralino.config.mail_schema import Mail, bare_address, check_address
from centralino.records.database import parse_time
from centralino.records.outbox import OutboxMail, OutboxStore, Outgoing
from centralino.records.writer import RecordsKept, RecordsUnavailable

from .office_mail import callback_mail, callback_with_mail, voicemail_mail, voicemail_with_mail  # noqa: F401

log = logging.getLogger("centralino.mail")

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30 * 60.0
IDLE_WAIT_S = BACKOFF_MAX_S  # with nothing pending; ``queue`` wakes the task at once anyway


def backoff_s(attempts: int) -> float:
    """The wait after the ``attempts``-th failure: 1, 2, 4 ... seconds, at most 30 minutes."""
    return min(BACKOFF_FIRST_S * 2 ** max(0, attempts - 1), BACKOFF_MAX_S)


def describe_failure(err: BaseException, host: str, port: int) -> str:
    """The server's answer (code and text) or why it could not be reached, for the log and the outbox."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return "recipients refused: " + "; ".join(
            f"{rcpt}: {code} {_text(reply)}" for rcpt, (code, reply) in err.recipients.items())
    if isinstance(err, smtplib.SMTPResponseException):
        return f"{err.smtp_code} {_text(err.smtp_error)}"
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return f"{host}:{port} closed the connection ({err})"
    if isinstance(err, smtplib.SMTPException):
        return f"{host}:{port}: {err}"
    if isinstance(err, OSError):
        return f"cannot reach {host}:{port}: {err.strerror or err}"
    return f"{type(err).__name__}: {err}"


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class Mailer:
    """Queue mails into the outbox and deliver them to the SMTP server of ``mail_settings``.

    ``outbox`` is an ``OutboxStore`` used on the loop's thread; with ``writer`` (a
    ``RecordWriter``) instead, the outbox is reached only through the writer's jobs.
    """

    def __init__(self, mail_settings: Mail, outbox: OutboxStore | None = None,
                 wall_clock: Callable[[], datetime] | None = None, writer=None):
        if outbox is None and writer is None:
            raise ValueError("a mailer needs its outbox: an OutboxStore or the records writer")
        self.settings = mail_settings
        self.outbox = outbox
        self.writer = writer
        self.wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending = asyncio.Lock()
        self._pending_seen: list[OutboxMail] = []  # the last look at the outbox (status with a writer)
        self.sent = 0
        self.failures = 0

    # -- queueing (the flows)
    def new_message_id(self) -> str:
        """A Message-ID in the sender's domain, to fix a mail's identity before it is composed."""
        return make_msgid(domain=bare_address(self.settings.sender).split("@")[1])

    @staticmethod
    def recipients(to) -> list[str]:
        """``to`` (one address or several) checked; a bad one is a ValueError naming it."""
        recipients = [to] if isinstance(to, str) else list(to)
        if not recipients:
            raise ValueError("a mail needs at least one recipient")
        return [check_address(a) for a in recipients]

    def build(self, to: list[str], subject: str, body: str, attachments=(),
              message_id: str | None = None) -> EmailMessage:
        """The MIME message, from the configured sender to ``to``."""
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = format_datetime(self._now())
        message["Message-ID"] = message_id or self.new_message_id()
        message.set_content(body, charset="utf-8", cte="quoted-printable")
        for item in attachments:
            try:
                filename, data, mimetype = item
                maintype, subtype = mimetype.split("/")
            except (TypeError, ValueError):
                raise ValueError(f"an attachment is (filename, bytes, 'type/subtype'), got {item!r:.80}") from None
            message.add_attachment(bytes(data), maintype=maintype, subtype=subtype, filename=filename)
        return message

    def compose(self, to, subject: str, body: str, attachments=(), message_id: str | None = None) -> Outgoing:
        """The mail as the outbox keeps it, with its Message-ID (``message_id`` or a new one)."""
        recipients = self.recipients(to)
        message_id = message_id or self.new_message_id()
        text = self.build(recipients, subject, body, attachments, message_id).as_string()
        if not text.isascii():  # the policy encodes every part; this would be a bug, not bad input
            raise ValueError(f"mail {subject!r}: the message did not encode to ASCII")
        return Outgoing(tuple(recipients), subject, text, message_id)

    def queue(self, to, subject: str, body: str, attachments=()) -> OutboxMail:
        """Store a mail for sending; returns the outbox row once it is committed (it is not sent yet)."""
        if self.outbox is None:
            raise RuntimeError("this mailer queues through the records writer: use queue_async")
        row = self.outbox.add_mail(self.compose(to, subject, body, attachments), self._now())
        self.queued(row)
        return row

    async def queue_async(self, to, subject: str, body: str, attachments=()) -> OutboxMail | None:
        """``queue`` through the records writer: the loop never waits for the commit.

        Returns the row once committed, or None when the file cannot be written now: the mail is
        then kept in memory with the other records and queued once the file is usable.
        """
        mail = self.compose(to, subject, body, attachments)
        now = self._now()
        try:
            row = await self.writer.run(lambda st: st.outbox.add_mail(mail, now), size_bytes=len(mail.text))
        except RecordsKept as kept:
            log.warning("mail %s to %s kept in memory until the records can be written", mail.message_id,
                        ", ".join(mail.recipients))
            kept.written.add_done_callback(lambda _: self.wake())
            return None
        self.queued(row)
        return row

    def queued(self, row: OutboxMail) -> None:
        """A mail just committed to the outbox (by ``queue`` or by a writer job): send it soon."""
        log.info("mail %d queued to %s: %s", row.id, row.to, row.subject)
        self.wake()

    # -- delivering
    async def run(self) -> None:
        """Deliver pending mails as they fall due, forever (the daemon cancels it at stop)."""
        self._loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                await self.send_due()
                wait_s = self._seconds_to_next(await self._pending())
            except RecordsUnavailable as err:  # the records writer reports the outage itself
                log.warning("mail: the outbox cannot be read now (%s); trying again in %g s", err, BACKOFF_MAX_S)
                wait_s = BACKOFF_MAX_S
            except Exception:  # the database or a bug: keep the task alive and try later
                log.exception("mail: delivering the outbox failed; trying again in %g s", BACKOFF_MAX_S)
                wait_s = BACKOFF_MAX_S
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
            except TimeoutError:
                pass

    def wake(self) -> None:
        """Make ``run`` look at the outbox now (what is due is sent; backoff still applies).

        Safe from any thread (the records writer's, when a kept mail is finally written).
        """
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                if asyncio.get_running_loop() is loop:
                    self._wake.set()
                    return
            except RuntimeError:
                pass
            loop.call_soon_threadsafe(self._wake.set)
        else:
            self._wake.set()

    async def flush(self) -> int:
        """Try every pending mail now, due or not; returns how many the server accepted."""
        return await self._send_pending(due_only=False)

    async def send_due(self) -> int:
        """Try the pending mails whose backoff has passed; returns how many the server accepted."""
        return await self._send_pending(due_only=True)

    async def _send_pending(self, due_only: bool) -> int:
        sent = 0
        async with self._sending:
            for row in await self._pending():
                if due_only and not self._due(row):
                    continue
                sent += await self._attempt(row)
        return sent

    def _due(self, row: OutboxMail) -> bool:
        if row.next_attempt_at is None:
            return True
        left_s = (parse_time(row.next_attempt_at) - self._now()).total_seconds()
        return left_s <= 0 or left_s > BACKOFF_MAX_S  # beyond the longest backoff: the clock went back

    def _seconds_to_next(self, pending: list[OutboxMail]) -> float:
        waits = [IDLE_WAIT_S]
        for row in pending:
            if row.next_attempt_at is None:
                return 0.0
            waits.append((parse_time(row.next_attempt_at) - self._now()).total_seconds())
        return min(max(0.0, min(waits)), BACKOFF_MAX_S)

    async def _attempt(self, row: OutboxMail) -> int:
        recipients = [bare_address(a) for a in row.recipients]
        try:
            refused = await asyncio.to_thread(self._deliver, recipients, row.message)
        except Exception as err:
            await self._failed(row, describe_failure(err, self.settings.smtp_host, self.settings.smtp_port))
            return 0
        if refused:
            log.warning("mail %d: the server refused some recipients: %s", row.id,
                        describe_failure(smtplib.SMTPRecipientsRefused(refused), "", 0))
        now = self._now()
        await self._outbox(lambda box: box.mark_sent(row.id, now))
        self._pending_seen = [r for r in self._pending_seen if r.id != row.id]
        self.sent += 1
        after = f" after {row.attempts} failed attempt(s)" if row.attempts else ""
        log.info("mail %d to %s sent%s", row.id, row.to, after)
        return 1

    async def _failed(self, row: OutboxMail, error: str) -> None:
        attempts = row.attempts + 1
        retry_s = backoff_s(attempts)
        if error != row.last_error:  # once per message and answer, not once per retry
            log.warning("mail %d to %s not sent (%s); kept in the outbox, next try in %g s and "
                        "then less often", row.id, row.to, error, retry_s)
        retry_at = self._now() + timedelta(seconds=retry_s)
        await self._outbox(lambda box: box.mark_failed(row.id, error, retry_at))
        self.failures += 1

    def _deliver(self, recipients: list[str], message: str) -> dict:
        """One SMTP session (in a worker thread); raises on failure, returns refused recipients."""
        s = self.settings
        local = socket.gethostname()
        if s.security == "tls":
            client = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, local_hostname=local, timeout=s.timeout_s,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(s.smtp_host, s.smtp_port, local_hostname=local, timeout=s.timeout_s)
        with client:
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, s.password)
            return client.sendmail(bare_address(s.sender), recipients, message)

    def _now(self) -> datetime:
        return self.wall_clock()

    # -- the outbox, on the loop or through the records writer
    async def _outbox(self, action, keep: bool = True):
        """``action(outbox_store)`` on the mailer's own store, or as a job of the records writer.

        Through the writer, a write the file cannot take now is kept in memory (``RecordsKept``):
        it will be written in order, so the mailer need not wait for it.
        """
        if self.writer is None:
            return action(self.outbox)
        try:
            return await self.writer.run(lambda st: action(st.outbox), keep=keep)
        except RecordsKept:
            return None

    async def _pending(self) -> list[OutboxMail]:
        self._pending_seen = await self._outbox(lambda box: box.pending(), keep=False)
        return self._pending_seen

    def status(self) -> dict:
        pending = self.outbox.pending() if self.writer is None else self._pending_seen
        return {"server": f"{self.settings.smtp_host}:{self.settings.smtp_port}",
                "pending": len(pending), "sent": self.sent, "failures": self.failures,
                "oldest_pending_at": pending[0].created_at if pending else None,
                "last_error": next((r.last_error for r in pending if r.last_error), "")}
