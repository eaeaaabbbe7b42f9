"""What the voce guida says, as whole sentences in the formal register of a public office (Lei).

Each builder returns ``Sentence`` objects: the exact text a caller hears, in parts that are either
text (rendered whole by the voice, ``flows/speech.py``) or a recording of the comune's own (an
office's name it recorded itself). ``book`` lists every sentence a configuration can say, with
where it is said, so the voice renders them when the configuration is applied and
``centralino prompts preview`` can write them all for proofreading.

Grammar kept here: articles agree with the name ("l'Ufficio", "la Polizia", "i Musei"); days take
their article ("dal lunedì alla domenica"); a window 00:00-24:00 is "24 ore su 24"; the caller is
addressed with Lei ("Resti in linea", "Può scrivere"), never voi, and in forms that do not assume
the caller's gender ("La sua è la prima chiamata in attesa").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import italian

QUEUE_COUNTS = 10  # callers ahead rendered in advance (0..9); more are glued from recorded words
OPERATOR_WORDS = "Per parlare con un operatore, premere 0."


@dataclass(frozen=True)
class Part:
    text: str
    recording: str | None = None  # a WAV of the comune's own that says ``text``


@dataclass(frozen=True)
class Sentence:
    parts: tuple[Part, ...]
    where: str = ""  # menu:principale, office:tributi, queue, callback...

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.parts)

    def __str__(self) -> str:
        return self.text


def sentence(*parts, where: str = "") -> Sentence:
    return Sentence(tuple(p if isinstance(p, Part) else Part(p) for p in parts if p), where)


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _recording(settings, name: str | None) -> str | None:
    folder = settings.rules.prompts if settings.rules is not None else None
    return str(Path(folder) / name) if folder and name else None


def _prompt_recording(settings, prompt: str | None) -> str | None:
    """An older file's ``prompt:`` key, when the comune has its own recording of it."""
    folder = settings.rules.prompts if settings.rules is not None else None
    if folder and prompt and (Path(folder) / f"{prompt}.wav").is_file():
        return str(Path(folder) / f"{prompt}.wav")
    return None


def name_part(settings, item, option_key: str | None = None, menu=None) -> Part:
    """How an office, menu or group is said after "per": its spoken form or its own recording."""
    if menu is not None and option_key in menu.option_names:
        named = menu.option_names[option_key]
        return Part(named.spoken, _recording(settings, named.recording))
    recording = _recording(settings, getattr(item, "recording", None)) or \
        _prompt_recording(settings, getattr(item, "prompt", None))
    return Part(item.spoken or item.title, recording)


# ---------------------------------------------------------------------------------- the voce guida
def greeting(settings) -> Sentence:
    """The greeting names the comune: "Grazie per aver chiamato il Comune di Empoli." """
    from centralino.config.names import articled

    return sentence(f"Grazie per aver chiamato {articled(settings.comune.name)}.", where="greeting")


def _destination_item(settings, destination):
    if destination.kind in ("office", "voicemail"):
        return settings.office(destination.target)
    if destination.kind == "menu":
        return settings.menu(destination.target)
    if destination.kind == "group":
        return settings.group(destination.target)
    return None


def menu_sentences(settings, menu) -> list[Sentence]:
    """ "Premere 1 per l'Ufficio Anagrafe." one per option, then the operator's key."""
    where = f"menu:{menu.name}"
    out: list[Sentence] = []
    for key, destination in menu.options.items():
        item = _destination_item(settings, destination)
        if not key.isdigit() or (item is None and key not in menu.option_names):
            continue  # nothing to say for it (a bare extension is never announced)
        named = name_part(settings, item, key, menu)
        if destination.kind == "voicemail":
            out.append(sentence("Per lasciare un messaggio per", named, f"premere {key}.", where=where))
        elif named.recording:
            out.append(sentence(f"Premere {key} per", named, where=where))
        else:
            out.append(sentence(f"Premere {key} per {named.text}.", where=where))
    if menu.operator_key is not None:
        out.append(sentence(f"Per parlare con un operatore, premere {spoken_key(menu.operator_key)}.", where=where))
    return out


def spoken_key(key: str) -> str:
    return {"*": "asterisco", "#": "cancelletto"}.get(key, key)


def invalid_choice(no_key: bool) -> Sentence:
    first = "Non è stata effettuata nessuna scelta." if no_key else "Scelta non valida."
    return sentence(first, "Ripetiamo le opzioni.", where="menu")


# ---------------------------------------------------------------------------------- offices
def hours_text(hours) -> str:
    """The timetable as said: "dal lunedì al venerdì dalle 9 alle 13; il giovedì..." """
    return italian.say(italian.hours_words(hours)).replace(";", " e")


def closed_sentences(settings, office, holiday: bool = False) -> list[Sentence]:
    """Outside the hours: closed (or a holiday), when to call, where to write. The forms need no
    agreement with the name ("parlare con i Servizi sociali", "è possibile chiamare")."""
    where = f"closed:{office.name}"
    named = name_part(settings, office)
    if holiday:
        out = [sentence("Oggi gli uffici comunali sono chiusi per festività.", where="closed:holiday")]
    elif named.recording:
        out = [sentence("In questo momento non è possibile parlare con", named, where=where)]
    else:
        out = [sentence(f"In questo momento non è possibile parlare con {named.text}.", where=where)]
    if office.hours.windows:
        out.append(sentence(f"È possibile chiamare {hours_text(office.hours)}.", where=where))
    if office.email:
        out.append(sentence(f"Può scrivere all'indirizzo {italian.say(italian.email_words(office.email))}.",
                            where=where))
    return out


def transfer(settings, office) -> Sentence:
    named = name_part(settings, office)
    if named.recording:
        return sentence("La metto in contatto con", named, "Attenda, prego.", where=f"office:{office.name}")
    return sentence(f"La metto in contatto con {named.text}. Attenda, prego.", where=f"office:{office.name}")


def all_busy() -> Sentence:
    return sentence("Tutti gli operatori sono occupati.", where="queue")


def waiting(ahead: int) -> Sentence:
    """ "C'è una persona in attesa prima di Lei." """
    if ahead == 0:
        return sentence("La sua è la prima chiamata in attesa.", where="queue")
    if ahead == 1:
        return sentence("C'è una persona in attesa prima di Lei.", where="queue")
    return sentence(f"Ci sono {ahead} persone in attesa prima di Lei.", where="queue")


def stay_on_line() -> Sentence:
    return sentence("Resti in linea per non perdere la priorità acquisita.", where="queue")


def expected_wait(seconds: float | None) -> Sentence | None:
    """The estimated wait as people say it (flows/wait_estimate.py rounds it); None: nothing said."""
    from .wait_estimate import wait_time_words

    words = wait_time_words(seconds)
    return None if words is None else sentence(" ".join(words) + ".", where="queue")


# one estimate of each rounding wait_time_words makes, for rendering in advance
EXPECTED_WAITS_S = (30, 60, *(m * 60 for m in range(2, 11)), 15 * 60, 20 * 60, 25 * 60, 31 * 60)


def queue_announcement(ahead: int, first: bool, wait_s: float | None = None) -> list[Sentence]:
    wait = expected_wait(wait_s)
    said = [waiting(ahead)] + ([wait] if wait is not None else [])
    if first:
        return [all_busy(), *said, stay_on_line()]
    return said


# ---------------------------------------------------------------------------------- callbacks
def nobody_answers() -> Sentence:
    return sentence("In questo momento nessuno può rispondere.", where="callback")


def callback_offer() -> Sentence:
    return sentence("Per essere richiamati, premere 1.", where="callback")


def callback_ask_number() -> Sentence:
    return sentence("Inserisca il numero di telefono da richiamare, seguito dal tasto cancelletto.",
                    where="callback")


def callback_number_is() -> Sentence:
    return sentence("Il numero da richiamare è", where="callback")


def callback_confirm_or_correct() -> Sentence:
    return sentence("Premere 1 per confermare, 2 per correggere.", where="callback")


def callback_booked() -> Sentence:
    return sentence("La richiesta è stata registrata. La richiameremo al più presto.", where="callback")


def number_invalid() -> Sentence:
    return sentence("Il numero non è valido.", where="callback")


# ---------------------------------------------------------------------------------- callback from the queue
def queue_callback_offer() -> Sentence:
    return sentence("Premere 1 per essere richiamati senza perdere il turno.", where="queue")


def queue_callback_booked() -> Sentence:
    return sentence("La richiameremo quando sarà il suo turno. Arrivederci.", where="queue")


def queue_callback_for_operator(settings, office) -> Sentence:
    """What a member hears on answering a callback from the queue, before the number's digits."""
    named = name_part(settings, office)
    if named.recording:
        return sentence("Richiamata dalla coda per", named, "Il numero da richiamare è", where="callback")
    return sentence(f"Richiamata dalla coda per {named.text}. Il numero da richiamare è", where="callback")


def crisis_announcement(settings) -> Sentence:
    """Said first to every caller while the crisis service is on (``service crisis``)."""
    from centralino.config.names import articled

    if not settings.crisis.offices:
        return sentence(f"Avviso della Protezione Civile: gli uffici {_of(articled(settings.comune.name))} "
                        "rispondono 24 ore su 24.", where="crisis")
    # only the offices crisis.offices names: "rispondono 24 ore su 24 il Pronto intervento e l'Ufficio sinistri."
    names = [name_part(settings, settings.office(name)) for name in settings.crisis.offices]
    if not any(part.recording for part in names):
        texts = [part.text for part in names]
        listed = f"{', '.join(texts[:-1])} e {texts[-1]}" if len(texts) > 1 else texts[0]
        return sentence(f"Avviso della Protezione Civile: rispondono 24 ore su 24 {listed}.", where="crisis")
    parts: list = ["Avviso della Protezione Civile: rispondono 24 ore su 24"]
    for index, part in enumerate(names):
        if index:
            parts.append("e" if index == len(names) - 1 else ",")
        parts.append(part)
    return sentence(*parts, where="crisis")


def _of(articled_name: str) -> str:
    """ "il Comune di Empoli" -> "del Comune di Empoli" (di + article)."""
    for art, joined in (("il ", "del "), ("lo ", "dello "), ("la ", "della "), ("l'", "dell'"), ("i ", "dei "),
                        ("gli ", "degli "), ("le ", "delle ")):
        if articled_name.startswith(art):
            return joined + articled_name[len(art):]
    return "di " + articled_name


# ------------------------------------------------------------- recording by phone (staff, issue 15)
# What a staff phone hears after the announcements' feature code: short, Lei, one sentence each.
RECORDING_DIALOG = {
    "pin": "Digiti il PIN, poi cancelletto.",
    "pin_wrong": "PIN errato.",
    "refused": "Operazione non consentita.",
    "menu": "Per registrare l'avviso prema 1, per ascoltarlo 2, per attivarlo 3, per disattivarlo 4, "
            "per l'ora di fine 5, per registrare un messaggio del Comune 9.",
    "speak": "Parli dopo il segnale. Al termine prema cancelletto.",
    "review": "Per riascoltare prema 1, per confermare 2, per registrare di nuovo 3.",
    "accepted": "Registrazione confermata.",
    "not_saved": "Registrazione non salvata.",
    "none": "Nessun avviso registrato.",
    "on": "Avviso attivato.",
    "off": "Avviso disattivato.",
    "ask_end": "Digiti l'ora di fine con quattro cifre, per esempio 1 8 3 0.",
    "end_set": "L'avviso termina",
    "ask_prompt": "Digiti il numero del messaggio, poi cancelletto.",
}


def recording_dialog(which: str) -> Sentence:
    return sentence(RECORDING_DIALOG[which], where="recording")


# ---------------------------------------------------------------------------------- everything
def book(settings) -> list[Sentence]:
    """Every sentence the configuration can say that is known in advance, each once, in order."""
    out: list[Sentence] = []
    if settings.menus or settings.offices:
        out.append(crisis_announcement(settings))
    if settings.menus:
        out.append(greeting(settings))
        out.append(invalid_choice(True))
        out.append(invalid_choice(False))
    for menu in settings.menus:
        out += menu_sentences(settings, menu)
    for office in settings.offices:
        out.append(transfer(settings, office))
        if office.queue.callback:
            out.append(queue_callback_for_operator(settings, office))
        if not _always(office):
            out += closed_sentences(settings, office)
    if settings.offices:
        out += closed_sentences(settings, settings.offices[0], holiday=True)[:1]
        out += [all_busy(), stay_on_line()] + [waiting(n) for n in range(QUEUE_COUNTS)]
        out += [expected_wait(s) for s in EXPECTED_WAITS_S]
        out += [nobody_answers(), callback_offer(), callback_ask_number(), callback_number_is(),
                callback_confirm_or_correct(), callback_booked(), number_invalid()]
        if any(o.queue.callback for o in settings.offices):
            out += [queue_callback_offer(), queue_callback_booked()]
    if getattr(settings, "announcements", None) is not None and settings.announcements.staff:
        out += [recording_dialog(which) for which in RECORDING_DIALOG]
    seen: set[tuple] = set()
    unique: list[Sentence] = []
    for s in out:
        if (s.parts, s.where) not in seen:
            seen.add((s.parts, s.where))
            unique.append(s)
    return unique


def _always(office) -> bool:
    """Open day and night every day: there is no closed message to say."""
    windows = office.hours.windows
    return getattr(office.hours, "mode", None) == "always" or (
        len(windows) == 7 and all(italian.all_day(ws) for ws in windows.values()))
