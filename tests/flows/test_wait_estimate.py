"""The estimated wait announced with the queue position, as the caller hears it."""

from __future__ import annotations

from centralino.flows.italian import say
from centralino.flows.phrases import keys_for
from centralino.flows.wait_estimate import estimate_wait_s, wait_time_words

from tests.engine.helpers import call_in, config_copy, play
from centralino.flows import sentences
from tests.flows.voce_helpers import EARS, press

TALK_S = 170


def test_the_estimate_is_rounded_the_way_people_say_it():
    said = {s: say(wait_time_words(s)) for s in (20, 70, 150, 400, 740, 1290, 2400)}
    assert said == {20: "Il tempo di attesa previsto è di meno di un minuto",
                    70: "Il tempo di attesa previsto è di circa un minuto",
                    150: "Il tempo di attesa previsto è di circa 3 minuti",
                    400: "Il tempo di attesa previsto è di circa 7 minuti",
                    740: "Il tempo di attesa previsto è di circa 10 minuti",
                    1290: "Il tempo di attesa previsto è di circa 20 minuti",
                    2400: "Il tempo di attesa previsto è di più di mezz'ora"}
    assert wait_time_words(None) is None
    for seconds in said:  # every word is in the shipped prompts: the phrase can be spoken
        assert keys_for(wait_time_words(seconds))
    # (ahead + 1) handling times, shared by the members logged in; no basis, no estimate
    assert estimate_wait_s(2, [100, 120, 140], members=2, wrap_up_s=10) == 3 * 130 / 2
    assert estimate_wait_s(0, [100, 120], members=2) is None  # too few calls handled
    assert estimate_wait_s(0, [100, 120, 140], members=0) is None  # nobody logged in


def _one_desk(data):
    for line in data["lines"]:
        line["incoming"] = "menu:principale"
    data["groups"][0]["members"] = ["202"]
    data["offices"][0]["queue"] = {"max_wait_s": 600, "announce_every_s": 300}


async def _served(s, desk, number, line="fxo1"):
    """A citizen reaches the anagrafe through the voce guida and talks to the desk for TALK_S."""
    citizen = await call_in(s, number, line=line)
    await s.until(lambda: citizen.call is not None and citizen.call.answered, "the voce guida answers")
    await s.wait(1.0)
    await press(s, citizen, "1")
    await s.until(lambda: desk.ringing, "the desk rings", timeout_s=30)
    desk.off_hook()
    await s.wait(TALK_S)
    citizen.hang_up()
    await s.wait(0.5)
    desk.on_hook()
    await s.wait(1.0)


async def _queued(s, number, line="fxo2"):
    citizen = await call_in(s, number, line=line)
    await s.until(lambda: citizen.call is not None and citizen.call.answered, "the voce guida answers")
    await s.wait(1.0)
    t0 = s.clock()
    await press(s, citizen, "1")
    await s.wait(15.0)
    return citizen.heard(t0)


def test_a_queued_caller_hears_the_expected_wait_only_once_there_is_a_basis(tmp_path):
    async def story(s):
        desk = s.phone("202")
        desk.off_hook()  # busy: the first caller waits with no handling time known yet
        await s.wait(0.5)
        return await _queued(s, "3330000009")

    async def story_known(s):
        desk = s.phone("202")
        for n in range(3):
            await _served(s, desk, f"333000000{n}")
        desk.off_hook()  # busy again: the next caller is first in the queue
        await s.wait(0.5)
        heard = await _queued(s, "3330000005")
        return heard, [e[2] for e in s.log if e[1] == "queue-position"]

    unknown = play(tmp_path / "unknown", story, config=config_copy(tmp_path, _one_desk))
    assert EARS.sequence(unknown, sentences.queue_announcement(0, first=True))
    assert not any(EARS.heard(unknown, sentences.expected_wait(w)) for w in sentences.EXPECTED_WAITS_S)  # no basis
    heard, positions = play(tmp_path / "known", story_known, config=config_copy(tmp_path, _one_desk))
    assert positions[-1]["ahead"] == 0 and TALK_S <= positions[-1]["ewt_s"] <= TALK_S + 3
    said = sentences.queue_announcement(0, True, positions[-1]["ewt_s"])
    assert said[2].text == "Il tempo di attesa previsto è di circa 3 minuti."
    assert EARS.sequence(heard, said)
