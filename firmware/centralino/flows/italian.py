"""Italian phrases for the voce guida, with the grammar a listener expects.

Each builder returns the words of the phrase; the prompt layer plays one recorded snippet per
word or group ("dalle", "9", "alle", "12", "e", "30"), so no text-to-speech runs on the appliance,
and the text form (``" ".join``) is what tests and logs read. Times use the 24-hour clock as
municipal notices do ("dalle 8 e 30 alle 13"); one o'clock elides ("dall'una").
"""

from __future__ import annotations

from datetime import time

DAY_NAMES = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
_UNITS = ("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove", "dieci",
          "undici", "dodici", "tredici", "quattordici", "quindici", "sedici", "diciassette", "diciotto",
          "diciannove")
_TENS = ("", "", "venti", "trenta", "quaranta", "cinquanta", "sessanta", "settanta", "ottanta", "novanta")


def number_words(n: int) -> str:
    """0..999999 in words: ventuno, ventotto, ventitré, centotto, milleduecento, duemila."""
    if not 0 <= n <= 999_999:
        raise ValueError(f"{n} is outside 0..999999")
    if n < 20:
        return _UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        word = _TENS[tens]
        if unit in (1, 8):
            word = word[:-1]  # venti + uno -> ventuno, trenta + otto -> trentotto
        return word + ("" if unit == 0 else "tré" if unit == 3 else _UNITS[unit])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "cento" if hundreds == 1 else _UNITS[hundreds] + "cento"
        if rest == 0:
            return head
        tail = number_words(rest)
        if tail.startswith("ott"):
            head = head[:-1]  # cento + otto -> centotto, cento + ottanta -> centottanta
        return head + ("tré" if rest == 3 else tail)
    thousands, rest = divmod(n, 1000)
    head = "mille" if thousands == 1 else number_words(thousands).replace("uno", "un") + "mila"
    return head if rest == 0 else head + ("tré" if rest == 3 else number_words(rest))


def clock_words(t: time) -> list[str]:
    """A time as said in an announcement: ["12", "e", "30"], ["9"]."""
    words = [str(t.hour)]
    if t.minute:
        words += ["e", str(t.minute)]
    return words


def _from(t: time) -> list[str]:
    return (["dall'una"] + clock_words(t)[1:]) if t.hour == 1 else ["dalle"] + clock_words(t)


def _to(t: time) -> list[str]:
    return (["all'una"] + clock_words(t)[1:]) if t.hour == 1 else ["alle"] + clock_words(t)


def window_words(start: time, end: time) -> list[str]:
    """ "dalle 9 alle 12 e 30" """
    return _from(start) + _to(end)


def all_day(windows) -> bool:
    """One window from midnight to midnight (00:00-24:00)."""
    return len(windows) == 1 and windows[0].start == time(0) and windows[0].end >= time(23, 59)


def windows_words(windows) -> list[str]:
    """ "dalle 9 alle 12 e 30 e dalle 15 alle 17" (windows have .start and .end); "24 ore su 24"."""
    if all_day(windows):
        return ["24 ore su 24"]
    words: list[str] = []
    for index, window in enumerate(windows):
        if index:
            words.append("e")
        words += window_words(window.start, window.end)
    return words


def days_words(days: list[int]) -> list[str]:
    """ "il lunedì e il giovedì", "il lunedì, il mercoledì e il venerdì", "dal lunedì al venerdì" """
    days = sorted(set(days))
    if not days:
        return []
    if len(days) == 7:
        return ["tutti i giorni"]
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        return ["dal", DAY_NAMES[days[0]], "alla" if days[-1] == 6 else "al", DAY_NAMES[days[-1]]]
    words: list[str] = []
    for index, day in enumerate(days):
        if index:
            words.append("e" if index == len(days) - 1 else ",")
        words += ["la" if day == 6 else "il", DAY_NAMES[day]]
    return words


def hours_words(hours) -> list[str]:
    """An office's whole timetable: days that share their windows are said together."""
    groups: dict[tuple, list[int]] = {}
    for day in sorted(hours.windows):
        groups.setdefault(tuple(hours.windows[day]), []).append(day)
    words: list[str] = []
    for index, (windows, days) in enumerate(groups.items()):
        if index:
            words.append(";")
        words += days_words(days) + windows_words(windows)
    return words


def waiting_words(ahead: int) -> list[str]:
    """ "C'è una persona in attesa prima di Lei", "Ci sono 3 persone in attesa prima di Lei" """
    if ahead < 0:
        raise ValueError(f"callers ahead cannot be negative, got {ahead}")
    if ahead == 0:
        return ["La sua è la prima chiamata in attesa"]
    if ahead == 1:
        return ["C'è", "una persona", "in attesa prima di Lei"]
    return ["Ci sono", str(ahead), "persone", "in attesa prima di Lei"]


def callers_words(count: int) -> list[str]:
    """ "un chiamante", "2 chiamanti", "nessun chiamante" """
    if count == 0:
        return ["nessun chiamante"]
    if count == 1:
        return ["un chiamante"]
    return [str(count), "chiamanti"]


def email_words(address: str) -> list[str]:
    """ "tributi chiocciola comune punto borgofiorito punto it": each part read as a word."""
    if address.count("@") != 1:
        raise ValueError(f"'{address}' is not an e-mail address")
    local, domain = address.split("@")
    words: list[str] = []
    for part_index, part in enumerate((local, domain)):
        if part_index:
            words.append("chiocciola")
        for piece_index, piece in enumerate(part.split(".")):
            if piece_index:
                words.append("punto")
            words += piece.replace("-", " trattino ").replace("_", " trattino basso ").split()
    return words


def say(words: list[str]) -> str:
    """The text form of a phrase: "dalle 9 alle 12 e 30"."""
    text = " ".join(words)
    return text.replace(" ,", ",").replace(" ;", ";")
