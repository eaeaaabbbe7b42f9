"""Tickets' life cycle from the console: by state, office and due date, overdue ones, changes, history."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from .test_control import control_session


def test_tickets_by_state_and_due_date_with_overdue_ones_and_their_history(tmp_path):
    async def story(s, client, ctx):
        tickets, now = s.tickets, s.wall_clock()
        tickets.open_ticket("late", "3331111111", "anagrafe", now - timedelta(days=10))  # due 3 days ago
        tickets.open_ticket("today", "3332222222", "tributi", now, deadline="same_day")
        tickets.open_ticket("later", "0553333333", "anagrafe", now - timedelta(days=1), deadline="40_days")
        ask = client.ask
        answers = {"open": await ask("tickets"), "overdue": await ask("tickets", "overdue"),
                   "new_anagrafe": await ask("tickets", "new", "anagrafe"),
                   "wait": await ask("ticket", "wait", "1", "Agenzia", "delle", "Entrate"),
                   "overdue_after_wait": await ask("tickets", "overdue"),
                   "waiting": await ask("tickets", "waiting"),
                   "wait_again": await ask("ticket", "wait", "1", "Regione"),
                   "wait_nobody": await ask("ticket", "wait", "2"),
                   "resume": await ask("ticket", "resume", "1"),
                   "resume_bad": await ask("ticket", "resume", "2"),
                   "close": await ask("ticket", "close", "2", "not_reached", "numero", "spento"),
                   "history": await ask("ticket", "history", "1"),
                   "bad_state": await ask("tickets", "finished"),
                   "bad_number": await ask("ticket", "resume", "x")}
        return answers

    answers = control_session(tmp_path, story)
    listed = answers["open"]["result"]["tickets"]
    assert [t["id"] for t in listed] == [1, 2, 3]  # soonest due first: 3 days ago, tonight, in 39 days
    assert [t["overdue"] for t in listed] == [True, False, False] and answers["open"]["result"]["overdue"] == 1
    assert [t["id"] for t in answers["overdue"]["result"]["tickets"]] == [1]
    assert [t["id"] for t in answers["new_anagrafe"]["result"]["tickets"]] == [1, 3]
    assert answers["wait"]["result"]["status"] == "waiting"
    assert answers["overdue_after_wait"]["result"]["tickets"] == []  # the deadline is suspended
    assert [t["id"] for t in answers["waiting"]["result"]["tickets"]] == [1]
    errors = {k: a["error"] for k, a in answers.items() if not a["ok"]}
    assert set(errors) == {"wait_again", "wait_nobody", "resume_bad", "bad_state", "bad_number"}
    assert errors["wait_again"].startswith("ticket wait: ticket 1 is waiting for Agenzia delle Entrate")
    assert errors["wait_nobody"].startswith("ticket wait: say whom ticket 2 waits for")
    assert errors["resume_bad"] == "ticket resume: ticket 2 is open: only a waiting ticket can resume"
    assert errors["bad_state"].startswith("tickets: no office 'finished'; offices: anagrafe, tributi,") and "nor a state" in errors["bad_state"]
    assert errors["bad_number"].startswith("ticket resume: N must be a whole number from 1, got 'x'")
    assert answers["resume"]["result"]["status"] == "open"
    assert (answers["close"]["result"]["outcome"], answers["close"]["result"]["note"]) == ("not_reached",
                                                                                          "numero spento")
    history = answers["history"]["result"]["history"]
    assert [(e["action"], e["by"]) for e in history] == [("opened", ""), ("waiting", "console"), ("resumed", "console")]
    with sqlite3.connect(tmp_path / "data" / "centralino.db") as db:  # read back from the file
        assert db.execute("SELECT status, outcome, closed_by FROM tickets WHERE id = 2").fetchone() == \
            ("closed", "not_reached", "console")
        assert db.execute("SELECT action, detail FROM ticket_history WHERE ticket = 1 AND action = 'waiting'"
                          ).fetchone() == ("waiting", "Agenzia delle Entrate")
