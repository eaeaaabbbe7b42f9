"""What the pages call things: the daemon's words in Italian, and times in the comune's zone.

The control socket answers in the console's English words (``no_answer``, ``in_progress``) and
in stored UTC text; the pages show Italian and local time. Unknown words are shown as they are,
so a state added later still appears (and this table is the one place to name it).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

DISPOSITIONS = {"answered": "risposta", "no_answer": "senza risposta", "busy": "occupato", "failed": "non riuscita",
                "transferred": "trasferita", "failover": "deviata al cellulare", "interrupted": "interrotta",
                "abandoned": "abbandonata", "voicemail": "segreteria", "callback": "richiamata prenotata",
                "in_progress": "in corso"}
CALL_STATES = {"setup": "in preparazione", "ringing": "squilla", "answered": "in conversazione", "ended": "terminata"}
DIRECTIONS = {"inbound": "in arrivo", "outbound": "in uscita", "internal": "interna"}
# The ticket states (records/tickets.py): open is "new", in_progress "in charge".
TICKET_STATES = {"open": "aperta", "in_progress": "presa in carico", "waiting": "in attesa di altri uffici",
                 "closed": "chiusa"}
TICKET_BADGES = {"open": "bg-danger", "in_progress": "bg-warning text-dark", "waiting": "bg-secondary",
                 "closed": "bg-success"}
TICKET_REASONS = {"no_answer": "nessuna risposta", "busy": "ufficio occupato", "closed": "ufficio chiuso",
                  "requested": "richiesta dal cittadino", "transfer_failed": "trasferimento non riuscito",
                  "queue_callback": "richiamata dalla coda senza risposta",
                  "stopped": "richiamata dalla coda interrotta dall'arresto"}
HISTORY = {"opened": "aperta", "taken": "presa in carico", "closed": "chiusa", "waiting": "in attesa",
           "resumed": "ripresa", "reopened": "riaperta", "sms": "SMS", "migrated": "importata"}
STATION_STATES = {"free": "libero", "busy": "occupato", "away": "assente", "fault": "guasto", "idle": "libero",
                  "ringing": "squilla", "dialling": "compone", "calling": "chiama", "talking": "in conversazione",
                  "tone": "tono", "feature": "servizio"}
PORT_STATES = {"idle": "a riposo", "ringing": "squilla", "off-hook": "sganciato", "fault": "guasto",
               "seized": "impegnata", "answered": "in conversazione", "dialling": "compone", "in_call": "in chiamata"}
SERVICE_MODES = {"auto": "automatico (orari e festività)", "day": "forzato giorno", "night": "forzato notte",
                 "crisis": "crisi (Protezione Civile): uffici aperti 24 ore su 24"}
STATS_KINDS = {"day": "un giorno, per ora", "month": "un mese, per ora", "days": "un mese, giorno per giorno",
               "months": "un anno, mese per mese"}


OFFICE_NONE = ("(no office)", "(nessun ufficio)")  # calls that reached no office, in the statistics


def office(name: str) -> str:
    return OFFICE_NONE[1] if name in ("", OFFICE_NONE[0]) else name


def word(table: dict, key) -> str:
    return table.get(key, str(key) if key is not None else "")


def local_time(text: str | None, zone: str, with_date: bool = True) -> str:
    """Stored UTC text (or an ISO time with offset) as ``24/11/2026 09:30:05`` in ``zone``."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(zone))
    return moment.strftime("%d/%m/%Y %H:%M:%S" if with_date else "%H:%M:%S")


def duration(seconds) -> str:
    """``75.2`` -> ``1 min 15 s``; ``None`` -> ``-``."""
    if seconds is None:
        return "-"
    s = int(round(float(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def percent(share) -> str:
    return "-" if share is None else f"{round(100 * share)}%"
