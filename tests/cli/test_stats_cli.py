"""``centralino stats``: the table's figures for a hand-built database, the PNG chart, the errors."""

from __future__ import annotations

import struct

import pytest

from centralino.cli import main
from centralino.cli.stats import duration
from tests.records.test_stats import build_day_database

CONFIG = """\
comune: {name: "Comune di Prova", timezone: Europe/Rome}
board:
  kind: sim
  hat: centralino-8fxs-4fxo
  ports:
    - {name: fxs1, kind: fxs, spi: /dev/spidev0.0, irq_gpio: 5, timeslot: 0}
    - {name: fxs2, kind: fxs, spi: /dev/spidev0.1, irq_gpio: 6, timeslot: 1}
    - {name: fxo1, kind: fxo, spi: /dev/spidev1.0, irq_gpio: 7, timeslot: 2}
extensions:
  - {number: "200", port: fxs1, name: "Centralino", operator: true}
  - {number: "202", port: fxs2, name: "Anagrafe"}
groups:
  - {name: anagrafe, members: ["202"]}
  - {name: tributi, members: ["200"]}
lines:
  - {port: fxo1, incoming: "200"}
offices:
  - {name: anagrafe, group: anagrafe, hours: {lunedi: ["09:00-12:00"]}, target_answer_s: 20}
  - {name: tributi, group: tributi, hours: {lunedi: ["09:00-12:00"]}, target_answer_s: 30}
records:
  database: DATABASE
"""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_config(tmp_path, database="c.db"):
    path = tmp_path / "centralino.yaml"
    path.write_text(CONFIG.replace("DATABASE", str(database)))
    return path


@pytest.fixture()
def config(tmp_path):
    build_day_database(tmp_path / "c.db")
    return write_config(tmp_path)


def run(capsys, *argv):
    code = main(["stats", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def section(out: str, title: str) -> dict[str, list[str]]:
    """The rows of one section of the table, keyed by their first word."""
    lines = out.splitlines()
    start = lines.index(title) + 2  # title, then the column header
    rows = {}
    for line in lines[start:]:
        if not line.strip():
            break
        words = line.split()
        rows[" ".join(words[:-11])] = words[-11:]
    return rows


def test_day_table_has_the_right_figures(capsys, config):
    code, out, err = run(capsys, "--config", str(config), "--day", "2026-11-24")
    assert code == 0 and err == ""
    totals = section(out, "Totals per office")
    #                          offer answ intgt SL% aband ovfl vm cb+ cb- ttc-avg ttc-max
    assert totals["Ufficio Anagrafe"] == ["5", "3", "2", "40", "1", "1", "1", "1", "1", "4d00h", "4d00h"]
    assert totals["Ufficio Tributi"] == ["2", "1", "1", "50", "0", "0", "0", "1", "1", "2h00m", "2h00m"]
    assert totals["(no office)"] == ["1", "0", "0", "0", "1", "0", "0", "0", "0", "-", "-"]
    assert totals["all"] == ["8", "4", "3", "38", "2", "1", "1", "2", "2", "2d01h", "4d00h"]
    anagrafe = section(out, "Per hour: Ufficio Anagrafe (target 20 s)")
    assert list(anagrafe) == ["00-01", "09-10", "10-11", "11-12"]
    assert anagrafe["09-10"] == ["3", "2", "1", "33", "1", "0", "0", "0", "0", "-", "-"]
    assert anagrafe["11-12"] == ["0", "0", "0", "-", "0", "0", "0", "0", "1", "4d00h", "4d00h"]
    assert section(out, "Per hour: all offices")["09-10"][:5] == ["4", "2", "1", "25", "2"]
    assert out.splitlines()[0] == "Comune di Prova: statistics of the day 2026-11-24 (Europe/Rome)"
    assert max(len(line) for line in out.splitlines()) <= 80


def test_month_for_one_office(capsys, config):
    code, out, _ = run(capsys, "--config", str(config), "--month", "2026-11", "--office", "tributi")
    assert code == 0
    totals = section(out, "Totals per office")
    assert list(totals) == ["Ufficio Tributi"]  # no "all" row, no other office; the display name
    # the ticket opened on the 23rd and closed on the 25th counts in the month (2 days to close)
    assert totals["Ufficio Tributi"] == ["2", "1", "1", "50", "0", "0", "0", "2", "2", "1d01h", "2d00h"]
    assert "anagrafe" not in out.lower()


def test_png_chart_is_a_valid_image(capsys, config, tmp_path):
    from matplotlib.image import imread

    chart = tmp_path / "chart.png"
    code, out, _ = run(capsys, "--config", str(config), "--day", "2026-11-24", "--png", str(chart))
    assert code == 0 and "Totals per office" in out
    data = chart.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 500)
    pixels = imread(chart)
    assert pixels.shape[:2] == (500, 1000)
    # the first office's bars are drawn in matplotlib's first colour (#1f77b4)
    blue = ((abs(pixels[..., 0] - 0x1F / 255) < 0.02) & (abs(pixels[..., 1] - 0x77 / 255) < 0.02)
            & (abs(pixels[..., 2] - 0xB4 / 255) < 0.02))
    assert blue.sum() > 2000


def test_png_of_an_empty_period(capsys, config, tmp_path):
    chart = tmp_path / "empty.png"
    code, out, _ = run(capsys, "--config", str(config), "--day", "2025-01-01", "--png", str(chart))
    assert code == 0 and "No calls and no callbacks in this period." in out
    assert chart.read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.parametrize("argv, message", [
    (["--day", "2026-11-31"], "bad day '2026-11-31' (expected YYYY-MM-DD"),
    (["--day", "24/11/2026"], "bad day '24/11/2026'"),
    (["--month", "2026-13"], "bad month '2026-13' (expected YYYY-MM"),
    (["--day", "2026-11-24", "--office", "protocollo"], "unknown office 'protocollo' (expected one of anagrafe, tributi)"),
])
def test_bad_arguments_are_one_line_errors(capsys, config, argv, message):
    code, out, err = run(capsys, "--config", str(config), *argv)
    assert code == 2 and out == ""
    assert err.startswith("centralino: ") and message in err and err.count("\n") == 1


def test_office_only_in_the_records_is_accepted(capsys, tmp_path):
    build_day_database(tmp_path / "c.db")
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace('  - {name: tributi, group: tributi, hours: {lunedi: ["09:00-12:00"]}, '
                                                 'target_answer_s: 30}\n', ""))
    code, out, _ = run(capsys, "--config", str(config), "--day", "2026-11-24", "--office", "tributi")
    assert code == 0 and section(out, "Totals per office")["tributi"][:3] == ["2", "1", "0"]  # default 20 s


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no database there"),
    (lambda p: p.write_text("hello"), "not an SQLite database"),
    (lambda p: p.mkdir(), "cannot read the database"),
])
def test_missing_or_unreadable_database(capsys, tmp_path, make, message):
    database = tmp_path / "records.db"
    make(database)
    code, out, err = run(capsys, "--config", str(write_config(tmp_path, database)), "--day", "2026-11-24")
    assert code == 2 and out == ""
    assert err.startswith(f"centralino: {database}: ") and message in err and err.count("\n") == 1


def test_bad_configuration_and_unwritable_chart(capsys, config, tmp_path):
    code, _, err = run(capsys, "--config", str(tmp_path / "missing.yaml"), "--day", "2026-11-24")
    assert code == 2 and "missing.yaml" in err
    code, out, err = run(capsys, "--config", str(config), "--day", "2026-11-24", "--png",
                         str(tmp_path / "no-such-folder" / "c.png"))
    assert code == 2 and out == "" and "cannot write the chart" in err


def test_day_and_month_are_exclusive(capsys, config):
    with pytest.raises(SystemExit) as exit_:
        main(["stats", "--config", str(config), "--day", "2026-11-24", "--month", "2026-11"])
    assert exit_.value.code == 2


@pytest.mark.parametrize("seconds, text", [(None, "-"), (45, "45s"), (725, "12m05s"), (11100, "3h05m"),
                                           (4 * 86400 + 3 * 3600 + 59, "4d03h")])
def test_duration_words(seconds, text):
    assert duration(seconds) == text


def test_database_option_overrides_the_configuration(capsys, tmp_path):
    other = tmp_path / "elsewhere.db"
    build_day_database(other)
    code, out, _ = run(capsys, "--config", str(write_config(tmp_path)), "--database", str(other),
                       "--day", "2026-11-24")
    assert code == 0 and section(out, "Totals per office")["Ufficio Anagrafe"][0] == "5"
