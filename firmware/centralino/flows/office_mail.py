"""The e-mails an office receives from the switchboard, in Italian: a voicemail, a callback request.

Each builder returns ``(to, subject, body, attachments)`` for ``Mailer.queue``. Times are given
already in the comune's zone (the caller converts), written the Italian way ("martedì 24 novembre
2026 alle 9:05"). The subject says office, kind and caller, so a shared mailbox can be sorted by eye.
"""

from __future__ import annotations

from datetime import datetime

from .italian import DAY_NAMES

MONTH_NAMES = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
               "settembre", "ottobre", "novembre", "dicembre")
REASON_TEXTS = {
    "no_answer": "nessuno ha risposto",
    "busy": "l'ufficio era occupato",
    "closed": "l'ufficio era chiuso",
    "requested": "il cittadino ha chiesto di essere richiamato",
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
    """A new message in the office's segreteria, with the recording attached."""
    who = caller or UNKNOWN_CALLER
    subject = f"Segreteria {office_name}: nuovo messaggio da {who}"
    body = (f"Nuovo messaggio nella segreteria dell'ufficio {office_name}.\n\n"
            f"Chiamante: {who}\n"
            f"Ricevuto: {when_text(received_at_local)}\n"
            f"Durata: {duration_text(duration_s)}\n\n"
            "La registrazione è allegata a questa e-mail (file WAV). Si può ascoltare anche da un "
            "telefono dell'ufficio con il codice della segreteria.\n\n" + SIGNATURE + "\n")
    filename = f"messaggio-{received_at_local:%Y%m%d-%H%M}.wav"
    return to, subject, body, [(filename, wav_bytes, WAV_MIMETYPE)]


def callback_mail(office_name: str, to, ticket_number: int, caller: str, opened_at_local: datetime,
                  menu_path: str, reason: str):
    """A citizen asked to be called back by the office: the ticket to work on."""
    subject = f"Richiesta di richiamata n. {ticket_number} per {office_name}: {caller}"
    body = (f"Un cittadino chiede di essere richiamato dall'ufficio {office_name}.\n\n"
            f"Richiesta n.: {ticket_number}\n"
            f"Numero da richiamare: {caller}\n"
            f"Ricevuta: {when_text(opened_at_local)}\n"
            f"Motivo: {REASON_TEXTS.get(reason, reason)}\n"
            f"Scelte nel menu: {menu_path or 'nessuna'}\n\n"
            "Per richiamare, da un telefono dell'ufficio comporre il codice delle richiamate: il "
            "centralino chiama il primo cittadino in attesa. La richiesta si chiude dal telefono "
            f"o dalla console del centralino (ticket close {ticket_number}).\n\n" + SIGNATURE + "\n")
    return to, subject, body, []
