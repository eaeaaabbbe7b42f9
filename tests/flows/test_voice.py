"""The comune's own voice: its names, whole sentences in correct formal Italian, and the preview.

Written from the Comune di Empoli's configuration (examples/empoli.yaml): about 20 offices the
shipped catalogue has no names for, the Polizia Municipale on its own number, a recording of the
comune's own. Grammar is checked on the rendered text, the audio of a few sentences by measuring it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from centralino.config.schema import load_settings
from centralino.flows import sentences
from centralino.flows.phrases import CATALOGUE_NAME, SHIPPED_DIR, read_catalogue
from centralino.flows.speech import Speech
from centralino.media import voice_measures as measures
from centralino.media.wavfile import read_wav
from tests.engine.helpers import config_copy, play
from tests.flows.voce_helpers import EARS, call_voce_guida, press

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EMPOLI = EXAMPLES / "empoli.yaml"
SETTINGS = load_settings(EMPOLI)
BOOK = sentences.book(SETTINGS)
TEXTS = [s.text for s in BOOK]
VOI_FORMS = re.compile(r"\b(restate|potete|digitate|sarete|siete|avete|volete|chiamate il|lasciate|attendete|"
                       r"premete|vi|vostro|vostra)\b", re.IGNORECASE)
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                                  reason="espeak-ng and sox synthesise the sentences")


def centralino(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "centralino", *args], capture_output=True, text=True, timeout=120)


def test_empoli_passes_config_check_and_its_names_reach_the_caller():
    result = centralino("config", "check", str(EMPOLI))
    assert result.returncode == 0, result.stderr
    assert len(SETTINGS.offices) >= 20
    polizia = [s.text for s in sentences.menu_sentences(SETTINGS, SETTINGS.menu("polizia"))]
    assert polizia[:3] == ["Premere 1 per il Pronto intervento.", "Premere 2 per l'Ufficio sinistri.",
                           "Premere 3 per l'Ufficio verbali."]  # not "la Polizia Locale" three times
    spoken = " ".join(TEXTS)
    for name in ("l'Economato", "l'Ufficio Personale", "l'Edilizia privata", "l'Ufficio Ambiente",
                 "l'Ufficio Patrimonio", "l'Ufficio Viabilità", "i Musei", "il Centro cottura",
                 "la Progettazione di immobili e infrastrutture", "la Biblioteca comunale"):
        assert name in spoken
    for office in SETTINGS.offices:  # identifiers never reach a caller
        if "_" in office.name:
            assert office.name not in spoken and office.name.replace("_", " ") not in spoken
    # the comune's own recording says the Oggetti smarriti's name, inside the sentence
    option = next(s for s in BOOK if "Oggetti smarriti" in s.text and s.where == "menu:cultura")
    assert option.parts[-1].recording.endswith("oggetti_smarriti.wav")


def _empoli_copy(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copytree(EXAMPLES / "empoli-voci", tmp_path / "empoli-voci")
    text = EMPOLI.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "empoli.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_config_check_takes_the_comunes_own_wavs_and_names_a_missing_one(tmp_path):
    own = _empoli_copy(tmp_path, 'name: "Ufficio Scuola",', 'name: "Ufficio Scuola", prompt: oggetti_smarriti,')
    assert centralino("config", "check", str(own)).returncode == 0  # a comune WAV as a prompt key
    missing = _empoli_copy(tmp_path / "b", "recording: oggetti_smarriti.wav", "recording: smarriti.wav")
    result = centralino("config", "check", str(missing))
    line = next(n for n, t in enumerate(missing.read_text().splitlines(), 1) if "smarriti.wav" in t)
    assert result.returncode == 2
    assert f"{missing}:{line}: offices[16].recording: 'smarriti.wav' cannot be used" in result.stderr


# --- correct Italian, one register ------------------------------------------------------------
def test_days_take_their_article_and_all_day_is_24_ore_su_24():
    musei = sentences.closed_sentences(SETTINGS, SETTINGS.office("musei"))
    assert "È possibile chiamare dal martedì alla domenica dalle 10 alle 19." in [s.text for s in musei]
    biblioteca = sentences.hours_text(SETTINGS.office("biblioteca").hours)
    assert biblioteca == "dal lunedì al venerdì dalle 9 alle 19 e il sabato dalle 9 alle 13"
    pronto = SETTINGS.office("pm_pronto_intervento").hours
    assert sentences.hours_text(pronto) == "tutti i giorni 24 ore su 24"
    assert not any("23 e 59" in t or "dalle 0" in t for t in TEXTS)


def test_one_register_the_formal_lei_in_every_sentence_and_shipped_prompt():
    said = TEXTS + [e.text for e in read_catalogue(SHIPPED_DIR / CATALOGUE_NAME)]
    offending = [t for t in said if VOI_FORMS.search(t)]
    assert offending == []
    assert "Resti in linea per non perdere la priorità acquisita." in TEXTS
    # neutral, not "Lei è il primo"
    assert sentences.waiting(0).text == "La sua è la prima chiamata in attesa."
    assert not any("il primo" in t for t in said)
    assert sentences.waiting(1).text == "C'è una persona in attesa prima di Lei."
    assert sentences.waiting(3).text == "Ci sono 3 persone in attesa prima di Lei."


def test_the_greeting_names_the_comune_and_domains_are_read_as_words():
    assert sentences.greeting(SETTINGS).text == "Grazie per aver chiamato il Comune di Empoli."
    urp = [s.text for s in sentences.closed_sentences(SETTINGS, SETTINGS.office("urp"))]
    assert urp[-1] == "Può scrivere all'indirizzo urp chiocciola comune punto empoli punto fi punto it."
    # closed messages need no agreement with the name: "parlare con i Servizi sociali"
    assert urp[0] == "In questo momento non è possibile parlare con l'Ufficio Protocollo-URP."
    assert not any(" è chiuso" in t for t in TEXTS)


def test_after_unanswered_ringing_the_caller_hears_that_nobody_can_answer_then_the_offer(tmp_path):
    async def story(s):  # Tuesday 09:00: the Anagrafe is open, its two desks do not answer
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.wait(1.0)
        await press(s, citizen, "1")
        await s.until(lambda: EARS.heard(citizen.heard(t0), sentences.callback_offer()), "the offer", timeout_s=90)
        return citizen.heard(t0)

    def short_ringing(data):
        next(g for g in data["groups"] if g["name"] == "anagrafe")["member_timeout_s"] = 3

    heard = play(tmp_path, story, config=config_copy(tmp_path, short_ringing))
    assert EARS.sequence(heard, [sentences.nobody_answers(), sentences.callback_offer()])


# --- whole sentences, as audio ------------------------------------------------------------------
@needs_espeak
def test_sentences_are_rendered_whole_without_gaps_at_a_sane_level(tmp_path, monkeypatch):
    monkeypatch.setenv("CENTRALINO_VOICE_CACHE", str(tmp_path / "cache"))
    speech = Speech.for_settings(SETTINGS)
    chosen = [sentences.greeting(SETTINGS), *sentences.closed_sentences(SETTINGS, SETTINGS.office("pm_verbali")),
              sentences.menu_sentences(SETTINGS, SETTINGS.menu("tecnici"))[4], sentences.waiting(2)]
    for sentence in chosen:
        audio = speech.sentence(sentence, strict=True)
        seconds = len(audio) / 8000
        assert measures.longest_inner_gap_s(audio) <= 0.150, sentence.text
        assert -24.0 < measures.speech_level_dbm0(audio) < -8.0, sentence.text
        assert measures.clipped_samples(audio) == 0
        # one voice at a speaking pace: 8-22 characters a second, not glued words with pauses
        assert 8 < measures.chars_per_second(sentence.text, audio) < 22, (sentence.text, seconds)
    # cached by text and voice: the second rendering reads the file the first one wrote
    assert len(list((tmp_path / "cache").glob("*.wav"))) == len(chosen)


# --- proofreading before going live -------------------------------------------------------------
@needs_espeak
def test_prompts_preview_writes_every_sentence_with_its_index(tmp_path):
    out = tmp_path / "voce"
    result = centralino("prompts", "preview", "--config", str(EMPOLI), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in (out / "index.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    assert [r[2] for r in rows][:len(TEXTS)] == TEXTS
    wheres = {r[1] for r in rows}
    assert {"greeting", "menu:polizia", "closed:pm_sinistri", "queue", "callback", "voicemail"} <= wheres
    for name, _, _ in rows[:5] + rows[-3:]:
        assert len(read_wav(out / name)) > 4000  # half a second of speech at least

    broken = _empoli_copy(tmp_path, "recording: oggetti_smarriti.wav", "recording: oggetti_smarriti.wav")
    (tmp_path / "empoli-voci" / "oggetti_smarriti.wav").write_bytes(b"not a wav")
    result = centralino("prompts", "preview", "--config", str(broken), "--out", str(tmp_path / "b"))
    assert result.returncode == 2 and "oggetti_smarriti.wav" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- crisis mode (Protezione Civile) ------------------------------------------------------------
def test_in_a_crisis_offices_answer_at_night_after_the_announcement_and_calls_are_marked(tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.flows.voce_helpers import EXAMPLE, MENU
    from tests.ops.test_control import control_session

    async def story(s, client, ctx):
        on = await client.ask("service", "crisis")
        status = s.daemon.status()["switchboard"]["service_mode"]
        citizen = await call_voce_guida(s)
        t0 = s.clock()
        await s.until(lambda: EARS.heard(citizen.heard(t0), MENU[0]), "the menu", timeout_s=30)
        await press(s, citizen, "1")  # the Anagrafe, at 23:00
        desk = s.phone("202")
        await s.until(lambda: desk.ringing, "the anagrafe desk rings at night", timeout_s=30)
        route = s.daemon.status()["switchboard"]["calls"][0]["route"].split(">")
        off = await client.ask("service", "auto")
        return on, status, citizen.heard(t0), route, off

    night = datetime(2026, 11, 24, 23, 0, tzinfo=ZoneInfo("Europe/Rome"))
    on, status, heard, route, off = control_session(tmp_path, story, start_at=night)
    assert on["ok"] and on["result"] == {"service": "crisis"} and status == "crisis"
    announcement = sentences.crisis_announcement(EXAMPLE)
    assert announcement.text == ("Avviso della Protezione Civile: gli uffici del Comune di Borgo Fiorito "
                                 "rispondono 24 ore su 24.")
    assert EARS.sequence(heard, [announcement, sentences.greeting(EXAMPLE), MENU[0]])
    assert "crisis" in route
    assert off["result"] == {"service": "auto"}
