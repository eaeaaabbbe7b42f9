"""Sending the switchboard's e-mails through the comune's SMTP server, without ever losing one.

``queue`` builds the MIME message and commits it to the outbox before it returns: from then on the
mail survives a power cut, a restart and a mail-server outage. ``run`` (a task of the daemon)
sends what is due; a failure is retried with a doubling delay (1 s, 2 s, 4 s ... at most 30 min),
and logged once per message and server answer, not once per retry, so a night-long outage is a
few log lines, not thousands.

smtplib blocks, so each delivery runs in a worker thread (``asyncio.to_thread``); the database is
only touched from the event loop. The message is stored as pure ASCII (text quoted-printable,
attachments base64, headers RFC 2047), which every server accepts without extensions.
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
from centralino.records.outbox import OutboxMail, OutboxStore

from .office_mail import callback_mail, voicemail_mail  # noqa: F401  (the flows import them from here)

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
    """Queue mails into the outbox and deliver them to the SMTP server of ``mail_settings``."""

    def __init__(self, mail_settings: Mail, outbox: OutboxStore,
                 wall_clock: Callable[[], datetime] | None = None):
        self.settings = mail_settings
        self.outbox = outbox
        self.wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))
        self._wake = asyncio.Event()
        self._sending = asyncio.Lock()
        self.sent = 0
        self.failures = 0

    # -- queueing (the flows)
    def build(self, to: list[str], subject: str, body: str, attachments=()) -> EmailMessage:
        """The MIME message, from the configured sender to ``to``."""
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = format_datetime(self._now())
        message["Message-ID"] = make_msgid(domain=bare_address(self.settings.sender).split("@")[1])
        message.set_content(body, charset="utf-8", cte="quoted-printable")
        for item in attachments:
            try:
                filename, data, mimetype = item
                maintype, subtype = mimetype.split("/")
            except (TypeError, ValueError):
                raise ValueError(f"an attachment is (filename, bytes, 'type/subtype'), got {item!r:.80}") from None
            message.add_attachment(bytes(data), maintype=maintype, subtype=subtype, filename=filename)
        return message

    def queue(self, to, subject: str, body: str, attachments=()) -> OutboxMail:
        """Store a mail for sending; returns the outbox row once it is committed (it is not sent yet)."""
        recipients = [to] if isinstance(to, str) else list(to)
        if not recipients:
            raise ValueError("a mail needs at least one recipient")
        recipients = [check_address(a) for a in recipients]
        text = self.build(recipients, subject, body, attachments).as_string()
        if not text.isascii():  # the policy encodes every part; this would be a bug, not bad input
            raise ValueError(f"mail {subject!r}: the message did not encode to ASCII")
        row = self.outbox.add(recipients, subject, text, self._now())
        log.info("mail %d queued to %s: %s", row.id, row.to, subject)
        self._wake.set()
        return row

    # -- delivering
    async def run(self) -> None:
        """Deliver pending mails as they fall due, forever (the daemon cancels it at stop)."""
        while True:
            self._wake.clear()
            try:
                await self.send_due()
                wait_s = self._seconds_to_next()
            except Exception:  # the database or a bug: keep the task alive and try later
                log.exception("mail: delivering the outbox failed; trying again in %g s", BACKOFF_MAX_S)
                wait_s = BACKOFF_MAX_S
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
            except TimeoutError:
                pass

    def wake(self) -> None:
        """Make ``run`` look at the outbox now (what is due is sent; backoff still applies)."""
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
            for row in self.outbox.pending():
                if due_only and not self._due(row):
                    continue
                sent += await self._attempt(row)
        return sent

    def _due(self, row: OutboxMail) -> bool:
        if row.next_attempt_at is None:
            return True
        left_s = (parse_time(row.next_attempt_at) - self._now()).total_seconds()
        return left_s <= 0 or left_s > BACKOFF_MAX_S  # beyond the longest backoff: the clock went back

    def _seconds_to_next(self) -> float:
        waits = [IDLE_WAIT_S]
        for row in self.outbox.pending():
            if row.next_attempt_at is None:
                return 0.0
            waits.append((parse_time(row.next_attempt_at) - self._now()).total_seconds())
        return min(max(0.0, min(waits)), BACKOFF_MAX_S)

    async def _attempt(self, row: OutboxMail) -> int:
        recipients = [bare_address(a) for a in row.recipients]
        try:
            refused = await asyncio.to_thread(self._deliver, recipients, row.message)
        except Exception as err:
            self._failed(row, describe_failure(err, self.settings.smtp_host, self.settings.smtp_port))
            return 0
        if refused:
            log.warning("mail %d: the server refused some recipients: %s", row.id,
                        describe_failure(smtplib.SMTPRecipientsRefused(refused), "", 0))
        self.outbox.mark_sent(row.id, self._now())
        self.sent += 1
        after = f" after {row.attempts} failed attempt(s)" if row.attempts else ""
        log.info("mail %d to %s sent%s", row.id, row.to, after)
        return 1

    def _failed(self, row: OutboxMail, error: str) -> None:
        attempts = row.attempts + 1
        retry_s = backoff_s(attempts)
        if error != row.last_error:  # once per message and answer, not once per retry
            log.warning("mail %d to %s not sent (%s); kept in the outbox, next try in %g s and "
                        "then less often", row.id, row.to, error, retry_s)
        self.outbox.mark_failed(row.id, error, self._now() + timedelta(seconds=retry_s))
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

    def status(self) -> dict:
        pending = self.outbox.pending()
        return {"server": f"{self.settings.smtp_host}:{self.settings.smtp_port}",
                "pending": len(pending), "sent": self.sent, "failures": self.failures,
                "oldest_pending_at": pending[0].created_at if pending else None,
                "last_error": next((r.last_error for r in pending if r.last_error), "")}
