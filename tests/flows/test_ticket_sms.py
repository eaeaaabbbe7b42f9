"""The citizen's SMS when a ticket is opened and closed, through the GSM modem simulator's pty."""

from __future__ import annotations

import sqlite3

from centralino.flows import sentences
from centralino.flows.ticket_sms import is_mobile, sms_ascii
from centralino.ops.commands import ControlContext, resolve

from tests.engine.helpers import config_copy, play
from tests.flows.voce_helpers import EARS, call_voce_guida, press

MOBILE = "3331234567"


def _sms(enabled=True, opened="{comune}: richiesta n. {number} presa in carico"):
    def change(data):
        data["gsm"] = {"dialect": "sim7600"}
        data["tickets"] = {"sms": {"enabled": enabled, "opened": opened,
                                   "closed": "{comune}: richiesta n. {number} chiusa. Grazie"}}
    return change


async def _book_tributi_callback(s, number):
    """Tuesday 09:00: the Tributi are closed; the citizen asks to be called back."""
    citizen = await call_voce_guida(s, number)
    t0 = s.clock()
    await s.wait(1.0)
    await press(s, citizen, "2")
    await s.until(lambda: EARS.heard(citizen.heard(t0), sentences.callback_offer()), "the callback offer",
                  timeout_s=60)
    await press(s, citizen, "1")
    await s.until(lambda: len(s.tickets.list()) >= 1, "the ticket is stored", timeout_s=30)
    citizen.hang_up()
    return citizen


def _history(tmp_path):
    with sqlite3.connect(tmp_path / "data" / "centralino.db") as db:
        return db.execute("SELECT ticket, action, detail FROM ticket_history WHERE action = 'sms' ORDER BY id").fetchall()


def test_sms_when_the_ticket_opens_and_a_failed_one_at_closing_costs_nothing(tmp_path):
    async def story(s):
        await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=30)
        await _book_tributi_callback(s, MOBILE)
        await s.until(lambda: s.mobile_network.sms_outbox, "the SMS at opening", timeout_s=30)
        s.modem.no_network()  # the closing SMS cannot go: the ticket closes all the same
        ctx = ControlContext(daemon=s.daemon)
        cmd, args = resolve("ticket close", ["1", "resolved", "pratica", "chiusa"])
        closed = await cmd.handler(ctx, args)
        await s.until(lambda: len(_history(tmp_path)) >= 2, "the closing SMS's failure is noted", timeout_s=60)
        return [(m.to, m.text) for m in s.mobile_network.sms_outbox], closed

    sms, closed = play(tmp_path, story, config=config_copy(tmp_path, _sms(opened="{comune}: n. {number} da {office}")))
    assert sms == [(MOBILE, "Comune di Borgo Fiorito: n. 1 da Ufficio Tributi")]  # the office's name, not its id
    assert (closed["status"], closed["outcome"], closed["note"]) == ("closed", "resolved", "pratica chiusa")
    with sqlite3.connect(tmp_path / "data" / "centralino.db") as db:
        assert db.execute("SELECT status, caller FROM tickets").fetchall() == [("closed", MOBILE)]
    opened, failed = _history(tmp_path)
    assert opened[:2] == (1, "sms") and opened[2].startswith("sent to 3331234567")
    assert failed[:2] == (1, "sms") and failed[2].startswith("failed to 3331234567")


def test_only_italian_mobiles_get_an_sms_in_the_modem_alphabet():
    assert [is_mobile(n) for n in ("3331234567", "+393331234567", "0039333123456", "0551234567", "333123",
                                   "+390551234567", "")] == [True, True, True, False, False, False, False]
    assert sms_ascii("Comune di Forlì: richiesta n. 7 è chiusa") == "Comune di Forli: richiesta n. 7 e chiusa"


def test_sms_texts_are_checked_in_the_config(tmp_path):
    import pytest

    from centralino.config.loader import ConfigError
    from centralino.config.schema import load_settings

    def bad(key, text):
        def change(data):
            _sms()(data)
            data["tickets"]["sms"][key] = text
        return change

    with pytest.raises(ConfigError, match=r"centralino.yaml:\d+: tickets.sms.opened: unknown field \{numero\}"):
        load_settings(config_copy(tmp_path, bad("opened", "{comune}: richiesta {numero}")))
    with pytest.raises(ConfigError, match=r"tickets.sms.closed: too long for one SMS"):
        load_settings(config_copy(tmp_path, bad("closed", "x" * 150 + "{number}{comune}")))
