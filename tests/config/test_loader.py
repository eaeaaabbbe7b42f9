"""The loader on small files: every error path names file, line and key; raw text for numbers."""

from __future__ import annotations

import textwrap

import pytest

from centralino.config.loader import ConfigError, load_yaml
from centralino.config.schema import load_settings

from .test_config import EXAMPLE, _broken, _line_of


def _file(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _error(fn) -> str:
    with pytest.raises(ConfigError) as err:
        fn()
    return str(err.value)


def test_typed_getters_and_their_bounds(tmp_path):
    path = _file(tmp_path, """\
        a:
          slots: 300
          speed: 1_000_000
          ratio: .nan
          ok: yes
          bad: maybe
          kind: fxq
          word: ""
          empty:
    """)
    a = load_yaml(path).get_section("a")
    assert _error(lambda: a.get_int("slots", minval=1, maxval=128)) == \
        f"{path}:2: a.slots: 300 is out of range (expected 1..128)"
    assert a.get_int("speed") == 1_000_000
    assert _error(lambda: a.get_float("ratio", minval=0.0)) == \
        f"{path}:4: a.ratio: '.nan' is not a number (expected at least 0)"
    assert a.get_bool("ok") is True
    assert _error(lambda: a.get_bool("bad")) == \
        f"{path}:6: a.bad: 'maybe' is not true or false (expected true or false)"
    assert _error(lambda: a.get_choice("kind", ("fxs", "fxo"))) == \
        f"{path}:7: a.kind: 'fxq' is not valid (expected one of fxs, fxo)"
    assert a.get_str("word") == ""  # a quoted empty string is a value
    assert a.get_str("empty", "dflt") == "dflt"  # "key:" with nothing is "not given"
    assert _error(lambda: a.get_str("empty")) == f"{path}:9: a.empty: no value given"
    assert _error(lambda: a.get_str("absent")) == f"{path}:2: a.absent: missing required key 'absent'"
    assert _error(lambda: a.get_section("slots")) == f"{path}:2: a.slots: expected a mapping of keys, found '300'"
    assert _error(lambda: a.get_list("speed")) == f"{path}:3: a.speed: expected a list, found '1_000_000'"


def test_unknown_key_lists_every_key_the_code_knows(tmp_path):
    path = _file(tmp_path, """\
        features:
          pickup: "*8"
          transfer_recal_s: 30
    """)
    root = load_yaml(path)
    features = root.get_section("features")
    for name in ("pickup", "transfer_recall_s", "ring_timeout_s"):
        features.get_str(name, None)
    assert _error(root.check_unused) == (f"{path}:3: features.transfer_recal_s: unknown key 'transfer_recal_s' "
                                         "(known: pickup, ring_timeout_s, transfer_recall_s)")


def test_duplicate_keys_are_found_anywhere_in_file_order(tmp_path):
    path = _file(tmp_path, """\
        board:
          ports:
            - {name: fxs1, kind: fxs}
            - name: fxs2
              kind: fxs
              kind: fxo
        comune: {name: a, name: b}
    """)
    assert _error(lambda: load_yaml(path)) == f"{path}:6: board.ports[1].kind: given twice (first on line 5)"


def test_tabs_and_syntax_errors_have_a_line(tmp_path):
    path = _file(tmp_path, "board:\n\tkind: sim\n")
    assert _error(lambda: load_yaml(path)) == \
        f"{path}:2: YAML syntax error: found character '\\t' that cannot start any token (indent with spaces, not tabs)"
    path.write_text("a: [1, 2\nb: 3\n")
    assert _error(lambda: load_yaml(path)).startswith(f"{path}:2: YAML syntax error")


def test_unreadable_files(tmp_path):
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"a: \xff\xfe\n")
    assert _error(lambda: load_yaml(binary)) == \
        f"{binary}:1: not UTF-8 text: byte 0xff at column 4 (expected UTF-8: save the file as UTF-8)"
    assert _error(lambda: load_yaml(tmp_path)).startswith(f"{tmp_path}: cannot read the file")
    assert _error(lambda: load_yaml(tmp_path / "none.yaml")) == f"{tmp_path / 'none.yaml'}: file not found"


@pytest.mark.parametrize("written", ['"201"', "201"])
def test_quoted_and_unquoted_numbers_read_the_same(tmp_path, written):
    path = _broken(tmp_path, '{number: "201", port: fxs2', f'{{number: {written}, port: fxs2')
    assert load_settings(path).extensions[1].number == "201"


def test_leading_zero_numbers_keep_their_digits(tmp_path):
    # YAML 1.1 reads an unquoted 0550 as the octal 360: centralino keeps the digits as written
    path = _broken(tmp_path, '{number: "201", port: fxs2', '{number: 0550, port: fxs2')
    assert _error(lambda: load_settings(path)).endswith(
        "extensions[1].number: 0550 starts with the outside prefix '0' (expected a number not starting with 0)")
    path = _broken(tmp_path, 'number: "0558450150"', "number: 0558450150")
    assert load_settings(path).lines[2].number == "0558450150"


def test_a_float_number_is_not_an_extension(tmp_path):
    path = _broken(tmp_path, '{number: "201", port: fxs2', '{number: 20.1, port: fxs2')
    assert _error(lambda: load_settings(path)).endswith(
        "extensions[1].number: '20.1' is not valid (expected 2 to 6 digits)")


@pytest.mark.parametrize("old,new,needle,key,message", [
    ('port: fxs8, name: "Polizia Municipale"', 'port: fxo1, name: "Polizia Municipale"', 'port: fxo1, name',
     "extensions[7].port", "unknown port 'fxo1' (expected one of fxs1"),
    ('port: fxs8, name: "Polizia Municipale"', 'port: fxs7, name: "Polizia Municipale"', 'port: fxs7, name: "Pol',
     "extensions[7].port", "port fxs7 is already extension 206"),
    ('{number: "207",', '{number: "112",', 'number: "112"', "extensions[7].number",
     "extension 112 is also the emergency number 112 (dialplan.emergency_numbers[0], line "),
    ('{name: anagrafe, number: "610"', '{name: anagrafe, number: "201"', 'number: "201", members',
     "groups[0].number", "number 201 is already used by extension Protocollo-URP"),
    ('{name: anagrafe,', '{name: "207",', 'name: "207"', "groups[0].name", "'207' is also an extension number"),
    ('{name: anagrafe,', '{name: sportello_cittadini,', 'number: "600"', "groups[1].name",
     "group 'sportello_cittadini' is defined twice"),
    ('members: ["202", "203"]', 'members: ["202", "202"]', '"202", "202"', "groups[0].members",
     "member '202' is listed twice"),
    ('members: ["202", "203"]', 'members: []', 'members: []', "groups[0].members", "a group needs at least one member"),
    ('strategy: longest_idle}', 'strategy: random}', 'random', "groups[1].strategy",
     "'random' is not valid (expected one of ring_all, hunt, round_robin, longest_idle)"),
    ('{port: fxo2, number: "0558450100"', '{port: fxo1, number: "0558450199"', '0558450199', "lines[1].port",
     "port fxo1 has two line entries"),
    ('{port: fxo2, number', '{port: fxs2, number', 'port: fxs2, number', "lines[1].port",
     "unknown port 'fxs2' (expected one of fxo1, fxo2, fxo3, fxo4)"),
    ('hangup_detect: [polarity, busy_tone]', 'hangup_detect: []', 'hangup_detect: []', "lines[3].hangup_detect",
     "no hang-up signal"),
    ('hangup_detect: [polarity, busy_tone]', 'hangup_detect: [polarity, silence]', 'silence',
     "lines[3].hangup_detect", "'silence' is not a hang-up signal (expected one of loop_drop, polarity, busy_tone)"),
    ('operator: "200"            #', 'operator: "201"            #', 'operator: "201"', "dialplan.operator",
     "'201' is not an extension with 'operator: true' (expected one of 200)"),
    ('outside_prefix: "0"', 'outside_prefix: "00"', 'outside_prefix: "00"', "dialplan.outside_prefix",
     "'00' is not valid (expected one digit)"),
    ('emergency_numbers: ["112", "113", "115", "118"]', 'emergency_numbers: []', 'emergency_numbers: []',
     "dialplan.emergency_numbers", "the list is empty: emergency calls must always be possible"),
    ('emergency_numbers: ["112", "113", "115", "118"]', 'emergency_numbers: ["112", "11x"]', '11x',
     "dialplan.emergency_numbers[1]", "emergency number '11x' is not valid (expected digits)"),
    ('pickup: "*8"', 'pickup: "8*"', 'pickup: "8*"', "features.pickup", "'8*' is not valid (expected * or # and 1-3"),
    ('ring_timeout_s: 60', 'ring_timeout_s: 1', 'ring_timeout_s: 1', "features.ring_timeout_s",
     "1 is out of range (expected 5..600)"),
    ('keep_days: 365', 'keep_days: 0', 'keep_days: 0', "records.keep_days", "0 is out of range (expected 1..3650)"),
    ('kind: sim', 'kind: pi', 'kind: pi', "board.kind", "'pi' is not valid (expected one of pi-hat, sim)"),
])
def test_cross_reference_and_value_errors(tmp_path, old, new, needle, key, message):
    path = _broken(tmp_path, old, new)
    text = _error(lambda: load_settings(path))
    assert text.startswith(f"{path}:{_line_of(path, needle)}: {key}: "), text
    assert message in text, text


def test_block_style_errors_point_at_the_key_line(tmp_path):
    path = _broken(tmp_path, '  - {number: "207", port: fxs8, name: "Polizia Municipale"}',
                   '  - number: "207"\n    port: fxs8\n    name: "Polizia Municipale"\n    operator: forse')
    assert _error(lambda: load_settings(path)) == \
        f"{path}:{_line_of(path, 'forse')}: extensions[7].operator: " \
        "'forse' is not true or false (expected true or false)"
    path = _broken(tmp_path, '  - {number: "207", port: fxs8, name: "Polizia Municipale"}',
                   '  - number: "207"\n    name: "Polizia Municipale"\n    port: fxs1')
    assert _error(lambda: load_settings(path)) == \
        f"{path}:{_line_of(path, '    port: fxs1')}: extensions[7].port: port fxs1 is already extension 200"


def test_defaults_and_relative_database(tmp_path):
    path = _file(tmp_path, """\
        comune: {name: "Comune di Prova"}
        board:
          kind: sim
          hat: centralino-8fxs-4fxo
          ports:
            - {name: fxs1, kind: fxs, spi: /dev/spidev0.0, irq_gpio: 5, timeslot: 0}
            - {name: fxs2, kind: fxs, spi: /dev/spidev0.1, irq_gpio: 6, timeslot: 1}
            - {name: fxo1, kind: fxo, spi: /dev/spidev1.0, irq_gpio: 7, timeslot: 2}
        extensions:
          - {number: "20", port: fxs1, name: Uno}
          - {number: "21", port: fxs2, name: Due, operator: true}
        lines:
          - {port: fxo1, incoming: "21"}
        records: {database: data/c.db}
    """)
    s = load_settings(path)
    assert s.comune.timezone == "Europe/Rome"
    assert (s.board.pcm_slots, s.board.spi_speed_hz, s.board.gpiochip, s.board.i2c_bus) == \
        (32, 1_000_000, "/dev/gpiochip0", "/dev/i2c-0")
    assert s.port("fxs1").part == "Si3210" and s.port("fxs1").reset_gpio is None
    assert s.dialplan.operator == "21"  # the first operator, not the first extension
    assert (s.dialplan.outside_prefix, s.dialplan.interdigit_timeout_s) == ("0", 4.0)
    assert s.dialplan.emergency_numbers == ("112", "113", "115", "118")
    assert (s.features.pickup, s.features.transfer_recall_s, s.features.ring_timeout_s, s.features.hold_tone) == \
        ("*8", 30.0, 60.0, "it:hold")
    assert s.records.database == str(tmp_path / "data" / "c.db") and s.records.keep_days == 365
    assert s.groups == () and s.lines[0].number is None and s.lines[0].hangup_detect == \
        ("loop_drop", "polarity", "busy_tone")


def test_example_defaults_match_an_example_without_them(tmp_path):
    full = load_settings(EXAMPLE)
    text = EXAMPLE.read_text()
    for line in ('  operator: "200"            # default: the first extension with operator: true\n',):
        assert line in text
        text = text.replace(line, "")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert load_settings(path) == full.__class__(**{**full.__dict__, "source_path": str(path)})
