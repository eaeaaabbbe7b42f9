"""The e-mails an office receives from the switchboard, in Italian: a voicemail, a callback request.

Each builder returns ``(to, subject, body, attachments)`` for ``Mailer.queue``. Times are given
already in the comune's zone (the caller converts), written the Italian way ("martedì 24 novembre
2026 alle 9:05"). The subject says office, kind and caller, so a shared mailbox can be sorted by eye.

``voicemail_with_mail`` and ``callback_with_mail`` make the records writer's jobs that store the
message or the ticket together with its mail, in one transaction: the office never gets a mail
for a message that is not there, and no message is stored whose mail was lost. The Message-ID is
fixed when the job is made, so the job can be written later (from memory, after an outage) and
its mail is still the one mail it was.
"""

from __future__ import annotations

import logging
from datetime import datetime

from .italian import DAY_NAMES

log = logging.getLogger("centralino.mail")

MAIL_OVERHEAD_BYTES = 8192  # headers and text of a mail, for the records writer's memory bound

MONTH_NAMES = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
               "settembre", "ottobre", "novembre", "dicembre")
REASON_TEXTS = {
    "no_answer": "nessuno ha risposto",
    "busy": "l'ufficio era occupato",
    "closed": "l'ufficio era chiuso",
    "requested": "il cittadino ha chiesto di essere richiamato",
    "transfer_failed": "l'operatore non ha potuto trasferire la chiamata",
    "queue_callback": "il cittadino ha chiesto di essere richiamato dalla coda, ma non ha risposto alle richiamate",
    "stopped": "il cittadino ha chiesto di essere richiamato dalla coda; il centralino si è fermato prima",
}
UNKNOWN_CALLER = "numero non disponibile"
WAV_MIMETYPE = "audio/wav"
SIGNATURE = "--\nMessaggio inviato automaticamente dal centralino del Comune. Non rispondere a questo indirizzo."


def when_text(when: datetime) -> str:
    """``martedì 24 novembre 2026 alle 9:05``."""
    return (f"{DAY_NAMES[when.weekday()]} {when.day} {MONTH_NAMES[when.month - 1]} {when.year} "
            f"alle {when.hour}:{when.minute:02d}")


def duration_text(seconds: float) -> str:
    """``1 minuto e 5 secondi``, ``45 secondi``, ``2 minuti``."""
    total = max(0, round(seconds))
    minutes, secs = divmod(total, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minut{'o' if minutes == 1 else 'i'}")
    if secs or not minutes:
        parts.append(f"{secs} second{'o' if secs == 1 else 'i'}")
    return " e ".join(parts)


def voicemail_mail(office_name: str, to, caller: str, received_at_local: datetime, duration_s: float,
                   wav_bytes: bytes):
    """A new message in the office's segreteria, with the recording attached (``office_name`` is
    the office's display name: identifiers never reach a mail)."""
    who = caller or UNKNOWN_CALLER
    subject = f"Segreteria {office_name}: nuovo messaggio da {who}"
    body = (f"Nuovo messaggio nella segreteria: {office_name}.\n\n"
            f"Chiamante: {who}\n"
            f"Ricevuto: {when_text(received_at_local)}\n"
            f"Durata: {duration_text(duration_s)}\n\n"
            "La registrazione è allegata a questa e-mail (file WAV). Si può ascoltare anche da un "
            "telefono dell'ufficio con il codice della segreteria.\n\n" + SIGNATURE + "\n")
    filename = f"messaggio-{received_at_local:%Y%m%d-%H%M}.wav"
    return to, subject, body, [(filename, wav_bytes, WAV_MIMETYPE)]


def callback_mail(office_name: str, to, ticket_number: int, caller: str, opened_at_local: datetime,
                  menu_path: str, reason: str, subject_name: str = "", due_local: datetime | None = None):
    """A citizen asked to be called back by the office: the ticket to work on."""
    subject = f"Richiesta di richiamata n. {ticket_number} per {office_name}: {caller}"
    body = (f"Richiesta di richiamata per: {office_name}.\n\n"
            f"Richiesta n.: {ticket_number}\n"
            f"Numero da richiamare: {caller}\n"
            + (f"Argomento: {subject_name}\n" if subject_name else "")
            + f"Ricevuta: {when_text(opened_at_local)}\n"
            + (f"Da evadere entro: {when_text(due_local)}\n" if due_local is not None else "")
            + f"Motivo: {REASON_TEXTS.get(reason, reason)}\n"
            f"Scelte nel menu: {menu_path or 'nessuna'}\n\n"
            "Per richiamare, da un telefono dell'ufficio comporre il codice delle richiamate: il "
            "centralino chiama il primo cittadino in attesa. La richiesta si chiude dal telefono "
            f"o dalla console del centralino (ticket close {ticket_number}).\n\n" + SIGNATURE + "\n")
    return to, subject, body, []


def _mail_identity(mailer, to, what: str) -> tuple[list[str], str] | None:
    """The checked recipients and a fixed Message-ID, or None when there is nobody to mail.

    A bad address costs only the mail: the message or ticket is still stored (and logged).
    """
    if mailer is None or not to:
        return None
    try:
        return mailer.recipients(to), mailer.new_message_id()
    except ValueError as err:
        log.error("%s: no e-mail to the office (%s); it is stored all the same", what, err)
        return None


def voicemail_with_mail(mailer, office_name: str, to, call_id: str, caller: str, received_at: datetime,
                        samples, zone, title: str | None = None):
    """A records job: the message, its mail (recording attached) and its mailed mark, one transaction.

    ``job(stores)`` returns the ``VoicemailMessage``. ``mailer`` None or ``to`` empty: the message alone.
    """
    identity = _mail_identity(mailer, to, f"voicemail for {office_name}")

    def job(stores):
        message = stores.voicemail.save(call_id, office_name, caller, received_at, samples)
        if identity is not None:
            recipients, message_id = identity
            mail = mailer.compose(*voicemail_mail(title or office_name, recipients, caller, received_at.astimezone(zone),
                                                  message.duration_s, stores.voicemail.wav_bytes(message.id)),
                                  message_id=message_id)
            stores.outbox.add_mail(mail, received_at)
            message = stores.voicemail.mark_mailed(message.id, received_at)
        return message
    job.size_bytes = int(getattr(samples, "nbytes", 0)) * 3 + MAIL_OVERHEAD_BYTES  # samples, WAV and base64
    return job


def callback_with_mail(mailer, office_name: str, to, call_id: str, number: str, opened_at: datetime,
                       menu_path: str, reason: str, zone, subject=None, deadline: str | None = None,
                       by: str = "", title: str | None = None):
    """A records job: the callback ticket and its mail to the office, in one transaction.

    ``subject`` is the office's ``Subject`` (config/tickets_schema.py) or None; ``deadline`` the
    ticket's class (the office's when None is given by the caller's rules). ``job(stores)``
    returns the ``Ticket`` (its number is in the mail's subject).
    """
    identity = _mail_identity(mailer, to, f"callback for {office_name}")
    extra = {"subject": subject.code if subject is not None else ""}
    if deadline is not None:
        extra["deadline"] = deadline

    def job(stores):
        ticket = stores.tickets.open_ticket(call_id, number, office_name, opened_at, menu_path, reason,
                                            zone=zone, by=by, **extra)
        if identity is not None:
            recipients, message_id = identity
            due = datetime.fromisoformat(ticket.due_at).astimezone(zone) if ticket.due_at else None
            mail = mailer.compose(*callback_mail(title or office_name, recipients, ticket.id, number,
                                                 opened_at.astimezone(zone), menu_path, reason,
                                                 subject.name if subject is not None else "", due),
                                  message_id=message_id)
            stores.outbox.add_mail(mail, opened_at)
        return ticket
    return job
