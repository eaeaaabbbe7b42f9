"""The console's tables for tickets and the segreteria: local times, 80 columns, no raw dicts."""

from centralino.cli.console import format_result

TICKET = {"id": 3, "opened_at": "2026-11-24T08:05:00.000+00:00", "office": "anagrafe", "caller": "3331234567",
          "status": "in_progress", "reason": "no_answer", "taken_by": "202", "closed_by": "",
          "due_at": "2026-12-01T08:05:00.000+00:00", "overdue": True}
MESSAGE = {"id": 1, "received_at": "2026-07-01T16:05:00.000+00:00", "office": "servizi_sociali", "caller": "",
           "duration_s": 12.3, "heard_at": "2026-07-02T07:00:00.000+00:00", "heard_by": "205"}


def test_tickets_are_a_table_in_local_time():
    text = format_result(["tickets"], {"timezone": "Europe/Rome", "which": "open", "tickets": [TICKET]})
    header, row = text.splitlines()
    assert header.split()[:4] == ["N", "opened", "due", "office"]
    assert row.split() == ["3", "24/11", "09:05", "01/12", "09:05", "anagrafe", "3331234567", "in_progress", "YES",
                           "202"]
    assert all(len(line) <= 80 for line in text.splitlines())


def test_messages_show_local_summer_time_who_heard_them_and_fit_80_columns():
    text = format_result(["voicemail"], {"timezone": "Europe/Rome", "unheard": 0, "messages": [MESSAGE]})
    row = text.splitlines()[1]
    assert "01/07 18:05" in row and "anonimo" in row and "205 02/07 09:00" in row
    assert all(len(line) <= 80 for line in text.splitlines())
    assert format_result(["voicemail"], {"timezone": "Europe/Rome", "unheard": 0, "messages": []}) == "no messages"
