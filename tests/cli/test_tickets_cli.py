"""``centralino tickets`` and the tickets of ``centralino stats``, on a file built through the store."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from centralino.cli import main
from centralino.records.tickets import TicketStore
from tests.cli.test_stats_cli import write_config

NOW = datetime.now(timezone.utc)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_tickets_list_change_and_refuse_bad_input(tmp_path, capsys):
    db = tmp_path / "c.db"
    with TicketStore(db) as store:
        store.open_ticket("a", "3331111111", "anagrafe", NOW - timedelta(days=9))  # 2 days overdue
        store.open_ticket("b", "3332222222", "tributi", NOW - timedelta(hours=1), deadline="40_days")
        store.open_ticket("c", "0553333333", "anagrafe", NOW - timedelta(days=1))
    config = write_config(tmp_path)
    code, out, _ = run(capsys, "tickets", "--config", str(config))
    assert code == 0
    rows = out.splitlines()
    assert [r.split()[0] for r in rows[1:4]] == ["1", "3", "2"]  # soonest due first
    assert "YES" in rows[1] and "YES" not in rows[2] + rows[3] and rows[-1] == "1 overdue"
    code, out, _ = run(capsys, "tickets", "--config", str(config), "--overdue")
    assert [r.split()[0] for r in out.splitlines()[1:-1]] == ["1"]
    assert run(capsys, "tickets", "wait", "1", "--config", str(config), "--for", "Regione", "--by", "202")[0] == 0
    code, out, _ = run(capsys, "tickets", "--config", str(config), "--state", "waiting", "--office", "anagrafe")
    assert [r.split()[0] for r in out.splitlines()[1:]] == ["1"] and "suspended" in out
    code, out, _ = run(capsys, "tickets", "close", "2", "--database", str(db), "--outcome", "withdrawn",
                       "--note", "non serve più")
    assert code == 0 and out.startswith("ticket 2: closed (withdrawn)")
    code, out, _ = run(capsys, "tickets", "history", "1", "--database", str(db))
    assert [line.split()[3] for line in out.splitlines()[1:]] == ["opened", "waiting"]
    bad = {"state": run(capsys, "tickets", "--database", str(db), "--state", "done"),
           "office": run(capsys, "tickets", "--config", str(config), "--office", "ragioneria"),
           "again": run(capsys, "tickets", "close", "2", "--database", str(db)),
           "missing": run(capsys, "tickets", "take", "99", "--database", str(db)),
           "number": run(capsys, "tickets", "take", "--database", str(db)),
           "outcome": run(capsys, "tickets", "close", "3", "--database", str(db), "--outcome", "fine"),
           "whom": run(capsys, "tickets", "wait", "3", "--database", str(db))}
    assert all(code == 2 and not out for code, out, _ in bad.values())
    err = {k: v[2].strip() for k, v in bad.items()}
    assert err["state"].startswith("centralino: --state: unknown ticket state 'done'")
    assert err["office"] == "centralino: --office: no office 'ragioneria' (expected one of anagrafe, tributi)"
    assert err["again"].startswith("centralino: tickets close: ticket 2 is already closed")
    assert err["missing"] == "centralino: tickets take: no ticket 99"
    assert err["number"].startswith("centralino: tickets take: which ticket?")
    assert err["outcome"].startswith("centralino: tickets close: unknown ticket outcome 'fine'")
    assert err["whom"].startswith("centralino: tickets wait: say whom it waits for")
    with sqlite3.connect(db) as file:  # read back from the file
        assert file.execute("SELECT id, status, outcome FROM tickets ORDER BY id").fetchall() == \
            [(1, "waiting", ""), (2, "closed", "withdrawn"), (3, "open", "")]
        assert file.execute("SELECT by, detail FROM ticket_history WHERE ticket = 1 AND action = 'waiting'"
                            ).fetchall() == [("202", "Regione")]


def test_stats_count_tickets_per_office_and_month(tmp_path, capsys):
    db = tmp_path / "c.db"
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    with TicketStore(db) as store:
        for n in range(3):  # anagrafe: three opened; one closed in a day, one after its 7 days, one never
            store.open_ticket(f"a{n}", "3331111111", "anagrafe", t0 + timedelta(hours=n))
        store.close(1, "202", t0 + timedelta(days=1))
        store.close(2, "202", t0 + timedelta(days=9, hours=1))
        store.open_ticket("t", "3332222222", "tributi", t0, deadline="same_day")
        store.wait(4, "203", t0 + timedelta(hours=1), "Agenzia delle Entrate")  # waiting: never overdue
        store.open_ticket("old", "3332222222", "tributi", datetime(2026, 10, 30, 9, tzinfo=timezone.utc))
    with sqlite3.connect(db) as file:
        file.execute('CREATE TABLE IF NOT EXISTS "calls" ("id" INTEGER PRIMARY KEY, "started_at" VARCHAR, '
                     '"answered_at" VARCHAR, "disposition" VARCHAR, "direction" VARCHAR)')
    code, out, _ = run(capsys, "stats", "--config", str(write_config(tmp_path)), "--month", "2026-11")
    assert code == 0, out
    lines = out.splitlines()
    start = lines.index("Tickets per office and month")
    rows = {(words[0], " ".join(words[1:-5])): words[-5:]
            for words in (line.split() for line in lines[start + 2:] if line.startswith("2026-"))}
    # opened, closed, in-time, overdue, mean time to close
    assert rows[("2026-11", "Ufficio Anagrafe")] == ["3", "2", "1", "2", "5d00h"]  # 1 day and 9 days
    assert rows[("2026-11", "Ufficio Tributi")] == ["1", "0", "0", "1", "-"]  # overdue: the October one, not the waiting one
    assert all(len(line) <= 80 for line in lines)
