"""Calendar, office hours and Italian phrases: the facts a caller hears must be right."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from centralino.flows.calendar import Calendar, Closure, easter_sunday, national_holidays
from centralino.flows.hours import OfficeHours, parse_window
from centralino.flows.italian import (callers_words, days_words, email_words, hours_words, number_words, say,
                                      waiting_words, window_words)

ROME = ZoneInfo("Europe/Rome")


@pytest.mark.parametrize("year,easter", [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
                                         (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)),
                                         (2038, date(2038, 4, 25)), (2000, date(2000, 4, 23))])
def test_easter(year, easter):
    assert easter_sunday(year) == easter


def test_national_holidays_include_easter_monday_and_san_francesco_from_2026():
    days = national_holidays(2027)
    assert days[date(2027, 3, 29)] == "Lunedì dell'Angelo"
    assert days[date(2027, 10, 4)] == "San Francesco d'Assisi"
    assert days[date(2027, 6, 2)] == "Festa della Repubblica"
    assert len(days) == 13  # ten fixed dates, 4 October, Easter Sunday and Easter Monday
    assert date(2025, 10, 4) not in national_holidays(2025)


def test_calendar_patron_closures_and_override():
    cal = Calendar(patron_day=(6, 24), patron_name="San Giovanni Battista",
                   closures=[Closure(date(2026, 12, 24), date(2026, 12, 24), "Vigilia di Natale")])
    assert cal.holiday(date(2026, 6, 24)) == "San Giovanni Battista"
    assert cal.holiday(date(2026, 12, 24)) == "Vigilia di Natale"
    assert cal.holiday(date(2026, 11, 24)) is None
    hours = OfficeHours.from_spec({"martedi": ["09:00-12:30"]})
    tuesday_10 = datetime(2026, 11, 24, 10, 0, tzinfo=ROME)
    assert hours.is_open(tuesday_10, cal)
    cal.set_override("night")
    assert not hours.is_open(tuesday_10, cal)
    cal.set_override("day")
    assert hours.is_open(datetime(2026, 11, 24, 22, 0, tzinfo=ROME), cal)
    with pytest.raises(ValueError, match="override must be"):
        cal.set_override("sera")


def test_hours_across_daylight_saving_and_holidays():
    hours = OfficeHours.from_spec({"lunedi": ["09:00-12:30", "15:00-17:00"], "domenica": ["09:00-10:00"]})
    # Sunday 29 March 2026: clocks go forward at 02:00; 09:30 local is still open
    assert hours.is_open(datetime(2026, 3, 29, 7, 30, tzinfo=ZoneInfo("UTC")))  # 09:30 CEST
    assert not hours.is_open(datetime(2026, 3, 29, 8, 30, tzinfo=ZoneInfo("UTC")))  # 10:30 CEST
    monday = datetime(2026, 11, 23, 12, 30, tzinfo=ROME)
    assert not hours.is_open(monday)  # the end of a window is closed
    assert hours.next_opening(monday) == datetime(2026, 11, 23, 15, 0, tzinfo=ROME)
    cal = Calendar()
    # Easter Monday 2027 is a holiday: the next opening skips it
    sunday = datetime(2027, 3, 28, 11, 0, tzinfo=ROME)
    assert hours.next_opening(sunday, cal) == datetime(2027, 4, 4, 9, 0, tzinfo=ROME)
    with pytest.raises(ValueError, match="aware datetime"):
        hours.is_open(datetime(2026, 11, 23, 10, 0))


@pytest.mark.parametrize("text,message", [("9-12", "not a time window"), ("12:00-09:00", "ends before it starts"),
                                          ("25:00-26:00", "impossible time")])
def test_bad_windows_say_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_window(text)


def test_bad_weekday_and_overlaps():
    with pytest.raises(ValueError, match="'lundi' is not a weekday"):
        OfficeHours.from_spec({"lundi": ["09:00-12:00"]})
    with pytest.raises(ValueError, match="overlap"):
        OfficeHours.from_spec({"lunedi": ["09:00-12:00", "11:00-13:00"]})


@pytest.mark.parametrize("n,words", [(1, "uno"), (21, "ventuno"), (23, "ventitré"), (28, "ventotto"),
                                     (100, "cento"), (108, "centotto"), (180, "centottanta"), (203, "duecentotré"),
                                     (1000, "mille"), (1200, "milleduecento"), (2000, "duemila"),
                                     (21000, "ventunmila")])
def test_number_words(n, words):
    assert number_words(n) == words


def test_phrases_have_italian_grammar():
    assert say(window_words(time(9), time(12, 30))) == "dalle 9 alle 12 e 30"
    assert say(window_words(time(13), time(1, 15))) == "dalle 13 all'una e 15"
    assert say(days_words([3, 0])) == "il lunedì e il giovedì"
    assert say(days_words([0, 2, 4])) == "il lunedì, il mercoledì e il venerdì"
    assert say(days_words([0, 1, 2, 3, 4])) == "dal lunedì al venerdì"
    assert say(days_words([6])) == "la domenica"
    assert say(waiting_words(1)) == "C'è una persona in attesa prima di Lei"
    assert say(waiting_words(3)) == "Ci sono 3 persone in attesa prima di Lei"
    assert say(callers_words(1)) == "un chiamante" and say(callers_words(4)) == "4 chiamanti"
    assert say(email_words("tributi@comune.borgo-fiorito.it")) == \
        "tributi chiocciola comune punto borgo trattino fiorito punto it"
    hours = OfficeHours.from_spec({"lunedi": ["09:00-12:30", "15:00-17:00"], "giovedi": ["09:00-12:30", "15:00-17:00"],
                                   "mercoledi": ["08:30-13:00"]})
    assert say(hours_words(hours)) == ("il lunedì e il giovedì dalle 9 alle 12 e 30 e dalle 15 alle 17; "
                                       "il mercoledì dalle 8 e 30 alle 13")
