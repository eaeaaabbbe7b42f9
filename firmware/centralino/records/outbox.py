"""The e-mail outbox: every mail is a committed row before anyone tries to send it.

The mail server may be down, the DSL line may be out, the power may be cut: a voicemail or a
callback request still reaches the office, because the whole MIME message waits here until the
server accepts it. Once sent, the message text is dropped (a voicemail attachment is large and the
recording stays in its own file); the row remains as the record of what was sent to whom and when.

The Message-ID is fixed when the mail is queued and kept in its row: a mail the server took just
before a power cut, and that is therefore sent again after the restart, reaches the reader's
mailbox as the same message twice, which mail programs show once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.parser import HeaderParser

import peewee

from .database import BaseModel, RecordNotFound, to_text
from .store import Store

ERROR_MAX_CHARS = 500


class OutboxMail(BaseModel):
    message = peewee.TextField()  # the whole MIME message, ASCII (non-ASCII parts are encoded)
    to = peewee.CharField()  # recipients, comma separated
    subject = peewee.CharField(default="")
    created_at = peewee.CharField(index=True)
    attempts = peewee.IntegerField(default=0)
    last_error = peewee.TextField(default="")
    next_attempt_at = peewee.CharField(null=True)  # not before then (backoff after a failure)
    sent_at = peewee.CharField(null=True, index=True)
    message_id = peewee.CharField(default="")  # the Message-ID header, fixed when queued

    class Meta:
        table_name = "outbox"

    @property
    def recipients(self) -> list[str]:
        return [a.strip() for a in self.to.split(",") if a.strip()]

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in FIELDS if name != "message"}


FIELDS = tuple(OutboxMail._meta.sorted_field_names)


@dataclass(frozen=True)
class Outgoing:
    """A mail ready for the outbox: recipients, subject, the whole ASCII MIME text, its Message-ID."""
    recipients: tuple[str, ...]
    subject: str
    text: str
    message_id: str


def header_message_id(message: str) -> str:
    """The Message-ID header of a stored MIME message ("" when it has none)."""
    return (HeaderParser().parsestr(message, headersonly=True).get("Message-ID") or "").strip()


class OutboxStore(Store):
    """The mails waiting for (or done with) the SMTP server, in the database at ``database_path``."""

    MODELS = (OutboxMail,)

    def _get(self, id: int) -> OutboxMail:
        row = OutboxMail.get_or_none(OutboxMail.id == id)
        if row is None:
            raise RecordNotFound(f"{self.path}: no mail {id} in the outbox")
        return row

    def add(self, to: list[str], subject: str, message: str, created_at: datetime) -> OutboxMail:
        """Store a message to send; returns once it is committed. Its Message-ID is kept in the row."""
        with self._write():
            return OutboxMail.create(message=message, to=", ".join(to), subject=subject,
                                     created_at=to_text(created_at), message_id=header_message_id(message))

    def add_mail(self, mail: Outgoing, created_at: datetime) -> OutboxMail:
        """Store a composed mail (``Mailer.compose``) with the Message-ID it was given."""
        with self._write():
            return OutboxMail.create(message=mail.text, to=", ".join(mail.recipients), subject=mail.subject,
                                     created_at=to_text(created_at), message_id=mail.message_id)

    def delete_sent_before(self, cutoff: datetime) -> int:
        """Delete the rows of mails sent before ``cutoff`` (unsent mails always stay)."""
        with self._write():
            return OutboxMail.delete().where(OutboxMail.sent_at.is_null(False),
                                             OutboxMail.sent_at < to_text(cutoff)).execute()

    def mark_sent(self, id: int, at: datetime) -> OutboxMail:
        with self._write():
            row = self._get(id)
            row.sent_at, row.message, row.next_attempt_at = to_text(at), "", None
            row.save()
        return row

    def mark_failed(self, id: int, error: str, retry_at: datetime) -> OutboxMail:
        """One more failed attempt, with the server's answer and when to try again."""
        with self._write():
            row = self._get(id)
            row.attempts += 1
            row.last_error = (error or "")[:ERROR_MAX_CHARS]
            row.next_attempt_at = to_text(retry_at)
            row.save()
        return row

    def get(self, id: int) -> OutboxMail:
        with self._read():
            return self._get(id)

    def pending(self) -> list[OutboxMail]:
        """Mails not yet accepted by the server, oldest first."""
        with self._read():
            return list(OutboxMail.select().where(OutboxMail.sent_at.is_null())
                        .order_by(OutboxMail.created_at, OutboxMail.id))

    def list(self, n: int = 20) -> list[OutboxMail]:
        """The ``n`` most recent mails, sent or not, oldest first."""
        with self._read():
            rows = list(OutboxMail.select().order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()).limit(n))
        return rows[::-1]
