"""The voce guida: menus, barge-in, repeats, the operator key, as the caller hears them."""

from __future__ import annotations

from tests.engine.helpers import hear_each_other, listen, play
from centralino.flows import sentences
from tests.flows.voce_helpers import EARS, EXAMPLE, GREETING, MENU, call_voce_guida, press


def test_the_caller_hears_the_menu_presses_1_and_reaches_the_anagrafe(tmp_path):
    async def story(s):
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(12.0)
        menu = citizen.heard(t0)
        await press(s, citizen, "1")
        first, second = s.phone("202"), s.phone("203")
        await s.until(lambda: first.ringing, "the first anagrafe desk rings")
        second_rang = second.ringing
        first.off_hook()
        since = await listen(s)
        talking = hear_each_other(citizen, first, since)
        citizen.hang_up()
        await s.until(lambda: len(s.finished) == 1, "the call ends")
        return menu, second_rang, talking, s.records.last(1)[0]

    menu, second_rang, talking, row = play(tmp_path, story)
    assert MENU[0].text == "Premere 1 per l'Ufficio Anagrafe."
    assert EARS.sequence(menu, [GREETING, MENU[0], MENU[1]])
    assert not EARS.heard(menu, sentences.closed_sentences(EXAMPLE, EXAMPLE.office("anagrafe"))[0])
    assert not second_rang  # hunt: one desk at a time
    assert talking
    assert (row.office, row.disposition) == ("anagrafe", "answered")
    assert "menu:principale>office:anagrafe" in row.route


def test_a_key_during_the_greeting_stops_it_and_counts(tmp_path):
    async def story(s):
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(1.0)
        await press(s, citizen, "0", settle_s=0.2)  # the operator key, while "Benvenuti..." plays
        operator = s.phone("200")
        await s.until(lambda: operator.ringing, "the operator rings", timeout_s=5)
        return citizen.heard(t0)

    heard = play(tmp_path, story)
    assert not EARS.heard(heard, MENU[0])  # the options were never reached


def test_no_key_repeats_the_menu_twice_then_the_operator(tmp_path):
    async def story(s):
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        operator = s.phone("200")
        await s.until(lambda: operator.ringing, "the operator rings after the repeats", timeout_s=120)
        return citizen.heard(t0), [e for e in s.log if e[1] == "flow"]

    heard, flows = play(tmp_path, story)
    assert EARS.count(heard, sentences.invalid_choice(no_key=True)) == 2
    assert EARS.count(heard, MENU[0]) == 3
    assert EARS.count(heard, GREETING) == 1  # greeted once, not at every repeat
    assert not EARS.heard(heard, sentences.invalid_choice(no_key=False))


def test_a_wrong_key_is_refused_and_the_menu_said_again(tmp_path):
    async def story(s):
        citizen = await call_voce_guida(s)
        await s.wait(2.0)
        t0 = s.clock()
        await press(s, citizen, "7")
        await s.wait(4.0)
        heard = citizen.heard(t0)
        await press(s, citizen, "9")  # the Sportello Cittadini
        desks = [s.phone(n) for n in ("201", "202", "203")]
        await s.until(lambda: any(p.ringing for p in desks), "a desk of the sportello rings")
        return heard

    heard = play(tmp_path, story)
    assert EARS.heard(heard, sentences.invalid_choice(no_key=False))


def test_an_extension_number_keyed_in_a_menu_is_refused_unless_allowed(tmp_path):
    async def story(s):
        citizen = await call_voce_guida(s)
        await s.wait(1.0)
        await press(s, citizen, "204")
        await s.wait(8.0)
        return s.phone("204").ringing or s.station_state("204") == "ringing"

    assert play(tmp_path, story) is False  # privacy: no direct dialling from outside by default


def test_a_comune_recording_replaces_the_shipped_greeting(tmp_path):
    import numpy as np

    from centralino.media.wavfile import write_wav
    from tests.engine.helpers import config_copy

    folder = tmp_path / "voci"
    folder.mkdir()
    t = np.arange(16000) / 8000
    own = (8000 * np.sin(2 * np.pi * 700 * t) * np.sin(2 * np.pi * 3 * t)).astype(np.int16)
    write_wav(folder / "benvenuto.wav", own)

    def with_prompts(data):
        data["switchboard"]["prompts"] = str(folder)

    async def story(s):
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(4.0)
        return citizen.heard(t0)

    from centralino.hwsim.ears import find

    heard = play(tmp_path, story, config=config_copy(tmp_path, with_prompts))
    assert find(heard, own) and not EARS.heard(heard, GREETING)


def test_with_nobody_logged_in_callers_reach_the_segreteria(tmp_path):
    async def story(s):
        for station in s.switchboard.stations.values():
            station.logged_in = False  # everyone dialled *62
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(8.0)
        return citizen.heard(t0), s.daemon.status()["switchboard"]["calls"][0]["route"].split(">")

    heard, route = play(tmp_path, story)
    assert EARS.heard(heard, "segreteria") and not EARS.heard(heard, MENU[0])
    assert "unattended" in route


def test_with_every_phone_busy_new_callers_go_to_the_sportello_queue(tmp_path):
    async def story(s):
        for number in s.switchboard.stations:
            s.phone(number).off_hook()  # every phone busy
        await s.wait(0.5)
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(12.0)
        return citizen.heard(t0), s.daemon.status()["switchboard"]["calls"][0]

    heard, call = play(tmp_path, story)
    assert EARS.sequence(heard, [sentences.all_busy(), sentences.waiting(0)])
    assert not EARS.heard(heard, MENU[0])  # no menu: straight to the sportello
    assert call["office"] == "sportello" and "all-busy" in call["route"].split(">")
