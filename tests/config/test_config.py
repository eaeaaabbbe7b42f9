"""Configuration: the example loads, and every kind of mistake names file, line and key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from centralino.config.loader import ConfigError
from centralino.config.schema import load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "comune.yaml"


def test_example_comune_loads():
    s = load_settings(EXAMPLE)
    assert s.comune.name == "Comune di Borgo Fiorito"
    assert len(s.board.ports) == 12 and len(s.extensions) == 8 and len(s.lines) == 4
    assert [e.number for e in s.operator_extensions] == ["200"]
    assert s.group("sportello_cittadini").members == ("201", "202", "203")
    assert s.dialplan.emergency_numbers == ("112", "113", "115", "118")
    assert s.lines[3].hangup_detect == ("polarity", "busy_tone")
    assert s.lines[0].hangup_detect == ("loop_drop", "polarity", "busy_tone")
    names = {e.name for e in s.extensions}
    for office in ("Protocollo-URP", "Tributi", "Servizi Sociali", "Edilizia-Urbanistica", "Polizia Municipale"):
        assert office in names


def _broken(tmp_path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text()
    assert old in text, old
    path = tmp_path / "comune.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.mark.parametrize("old,new,needle,key,message", [
    ('{number: "204", port: fxs5,', '{number: "204", port: fxs9,', 'port: fxs9',
     "extensions[4].port", "unknown port 'fxs9' (expected one of fxs1, fxs2"),
    ('{number: "205", port: fxs6,', '{number: "204", port: fxs6,', 'number: "204", port: fxs6',
     "extensions[5].number", "number 204 is already used by extension Tributi"),
    ('  definition: centralino-8fxs-4fxo', '  definition: centralino-8fxs-4fxo\n  pcm_slots: 300', 'pcm_slots: 300',
     "board.pcm_slots", "300 is out of range (expected 1..128)"),
    ('members: ["202", "203"]', 'members: ["202", "299"]', 'members: ["202", "299"]',
     "groups[0].members", "'299' is not an extension number"),
    ('incoming: menu:principale', 'incoming: ufficio_inesistente', 'ufficio_inesistente',
     "lines[2].incoming", "neither an extension number nor a group name"),
    ('incoming: menu:principale', 'incoming: menu:secondario', 'menu:secondario',
     "lines[2].incoming", "'menu:secondario' does not exist (expected one of principale)"),
    ('"1": office:anagrafe', '"1": office:anagraf', 'office:anagraf',
     "menus[0].options.1", "'office:anagraf' does not exist (expected one of anagrafe, tributi"),
    ('"9": office:sportello', '"x": office:sportello', '"x": office:sportello',
     "menus[0].options.x", "'x' is not a telephone key"),
    ('martedi: ["10:00-12:30"]', 'martedi: ["10:00-12:70"]', '10:00-12:70',
     "offices[2].hours.martedi", "'10:00-12:70' has an impossible time"),
    ('martedi: ["10:00-12:30"]', 'martedy: ["10:00-12:30"]', 'martedy',
     "offices[2].hours.martedy", "'martedy' is not a weekday"),
    ('    group: tributi\n', '    group: tributii\n', 'group: tributii',
     "offices[1].group", "'tributii' is not a group"),
    ('    closed: callback', '    closed: richiama', 'closed: richiama',
     "offices[1].closed", "'richiama' is not valid"),
    ('prompt: ufficio_tributi', 'prompt: ufficio_tasse', 'ufficio_tasse',
     "offices[1].prompt", "no prompt 'ufficio_tasse' in the prompt set"),
    ('strategy: hunt,', 'strategy: caccia,', 'strategy: caccia', "groups[0].strategy", "'caccia' is not valid"),
    ('{from: "2026-12-24", to: "2026-12-24"', '{from: "2026-12-24", to: "2026-12-23"', 'to: "2026-12-23"',
     "calendar.closures[0].to", "ends (2026-12-23) before it starts (2026-12-24)"),
    ('patron: {month: 6, day: 24,', 'patron: {month: 2, day: 30,', 'month: 2, day: 30',
     "calendar.patron.day", "30/2 is not a day of the year"),
    ('  overflow: office:sportello', '  overflow: office:sportelo', 'office:sportelo',
     "switchboard.overflow", "'office:sportelo' does not exist"),
    ('  interdigit_timeout_s: 4', '  interdigit_timeout_s: quattro', 'quattro',
     "dialplan.interdigit_timeout_s", "'quattro' is not a number"),
    ('  transfer_recall_s: 30', '  transfer_recal_s: 30', 'transfer_recal_s',
     "features.transfer_recal_s", "unknown key 'transfer_recal_s'"),
    ('hold_tone: it:hold', 'hold_tone: it:musica', 'it:musica', "features.hold_tone", "no tone 'musica'"),
    ('timezone: Europe/Rome', 'timezone: Europe/Roma', 'Europe/Roma', "comune.timezone", "unknown time zone"),
    ('{number: "201", port: fxs2,', '{number: "021", port: fxs2,', 'number: "021"',
     "extensions[1].number", "starts with the outside prefix '0'"),
])
def test_mistakes_name_file_line_and_key(tmp_path, old, new, needle, key, message):
    path = _broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    text = str(err.value)
    assert text.startswith(f"{path}:{_line_of(path, needle)}: {key}: "), text
    assert message in text


def test_yaml_syntax_error_has_its_line(tmp_path):
    path = _broken(tmp_path, "extensions:\n", "extensions:\n  - [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert re.match(rf"{re.escape(str(path))}:\d+: YAML syntax error", str(err.value))


def test_duplicate_key_is_refused(tmp_path):
    path = _broken(tmp_path, "  kind: sim ", "  kind: sim\n  kind: pi-hat ")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    first = _line_of(path, "kind: sim")
    assert f":{first + 1}: board.kind: given twice (first on line {first})" in str(err.value)


def test_missing_section_empty_file_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="missing required key 'board'"):
        load_settings(_broken(tmp_path, "board:\n", "scheda:\n"))
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_settings(empty)
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nowhere.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_settings(listing)


def test_numbers_keep_their_leading_zeros(tmp_path):
    path = _broken(tmp_path, '{port: fxo1, number: "0558450100"', '{port: fxo1, number: 0558450100')
    assert load_settings(path).lines[0].number == "0558450100"


def test_a_configuration_without_operator_is_refused(tmp_path):
    path = _broken(tmp_path, 'name: "Centralino", operator: true', 'name: "Centralino"')
    with pytest.raises(ConfigError, match="no extension has 'operator: true'"):
        load_settings(path)


def test_config_check_command(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "centralino", "config", "check", str(EXAMPLE)],
                        capture_output=True, text=True)
    assert ok.returncode == 0
    assert ok.stdout == f"{EXAMPLE}: OK (12 ports, 8 extensions, 6 groups, 4 lines; operator 200)\n"
    bad = _broken(tmp_path, 'port: fxs5,', 'port: fxs9,')
    r = subprocess.run([sys.executable, "-m", "centralino", "config", "check", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == f"centralino: {bad}:{_line_of(bad, 'fxs9')}: extensions[4].port: " \
                               "unknown port 'fxs9' (expected one of fxs1, fxs2, fxs3, fxs4, fxs5, fxs6, fxs7, fxs8)"


def test_gsm_section(tmp_path):
    text = EXAMPLE.read_text() + "\ngsm:\n  dialect: sim7600\n  incoming: sportello_cittadini\n"
    path = tmp_path / "gsm.yaml"
    path.write_text(text)
    gsm = load_settings(path).gsm
    assert (gsm.dialect, gsm.at_port, gsm.audio_port, gsm.incoming) == \
        ("sim7600", "/dev/gsm-at", "/dev/gsm-audio", "sportello_cittadini")
    assert load_settings(EXAMPLE).gsm is None
    path.write_text(text.replace("  incoming: sportello_cittadini\n", "  incoming: ufficio_nessuno\n"))
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert f"{path}:{_line_of(path, 'ufficio_nessuno')}: gsm.incoming: 'ufficio_nessuno' is neither" in str(err.value)
    path.write_text(text.replace("dialect: sim7600", "dialect: nokia3310"))
    with pytest.raises(ConfigError, match=r"gsm.dialect: 'nokia3310' is not valid \(expected one of sim7600, ec25\)"):
        load_settings(path)


def test_the_example_gsm_and_failover_sections_load_when_uncommented(tmp_path):
    text = EXAMPLE.read_text()
    head, tail = text.split("# gsm:", 1)
    lines = ("# gsm:" + tail).splitlines()
    uncommented = "\n".join(line[2:] if line.startswith("# ") else "" if line == "#" else line for line in lines)
    path = tmp_path / "with-gsm.yaml"
    path.write_text(head + uncommented + "\n")
    s = load_settings(path)
    assert s.gsm.dialect == "sim7600" and s.failover.mobile_number == "3471234567"
    assert len(s.failover.windows) == 1 and s.failover.windows[0].start.hour == 18


@pytest.mark.parametrize("window,message", [
    ('{from: "2026-12-05 18:00", to: "domani"}', "failover.windows[0].to: 'domani' is not a date and time"),
    ('{from: "2026-12-05 18:00", to: "2026-12-05 08:00"}', "failover.windows[0].to: the window ends before it starts"),
])
def test_bad_migration_windows(tmp_path, window, message):
    path = tmp_path / "c.yaml"
    path.write_text(EXAMPLE.read_text() + "\ngsm: {dialect: ec25}\nfailover:\n  mobile_number: \"3471234567\"\n"
                    f"  windows:\n    - {window}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert f"{path}:{_line_of(path, window)}: {message}" in str(err.value)
