"""Which Italian voice: espeak-ng's ``it`` (media/tts.py) against the human recordings of Debian's
``asterisk-core-sounds-it-wav``, by listening tests that can be measured.

For each sentence the voce guida says that the Asterisk Italian set also has (queue phrases,
numbers, days, "attendere", the voicemail prompt...; the files are found by their text in the
package's index, core-sounds-it.txt), both voices say the same words: Asterisk its files played
back to back, as Asterisk plays them, unchanged; espeak-ng the index text through the firmware's
own pipeline (tts.Synthesiser: band limit, -16 dBm0, pauses shortened). Each is measured with
media/voice_measures.py, the measures of tests/flows/test_voice.py: active speech level (dBm0),
duration, words a second, the longest pause inside and the pauses over 150 ms (-45 dBm0
threshold), clipped samples, energy outside 300-3400 Hz. Figures are medians per voice.

Then the comune's own sentences: every sentence of ``book(settings)`` for examples/empoli.yaml is
cut into whole Asterisk files word for word (a number counts as sayable: Asterisk composes it from
digits/*); a sentence is Asterisk-only when every word is covered, mixed when some are not (it
would need a second voice inside the sentence), and the words that are missing are counted by
kind (office names, the comune's name, e-mail addresses, hours). The index's use of "tu" (the
voce guida speaks Lei) is counted too.

Run:  apt-get install asterisk-core-sounds-it-wav   (not in ``make debs``: benches are not tests)
      .venv/bin/python bench/voice_compare.py
Without the package (or without espeak-ng and sox) it prints why and a "skipped" line, exit 0.

Licence: the Italian recordings are (c) 2012 Carlo Flora, recorded for Asterisk, under CC-BY-3.0
(/usr/share/doc/asterisk-core-sounds-it-wav/copyright); nothing of them is copied into this
repository, the bench reads them from the installed package.
"""

from _common import ROOT, report  # first: it puts firmware/ on the import path
import gzip
import re
import statistics
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import numpy as np

from centralino.config.schema import load_settings
from centralino.flows import sentences
from centralino.media import tts
from centralino.media import voice_measures as measures
from centralino.media.wavfile import read_info, read_wav

SOUNDS = Path("/usr/share/asterisk/sounds/it_IT_m_Carlo")
INDEX = Path("/usr/share/doc/asterisk-core-sounds-it/core-sounds-it.txt.gz")
PACKAGE = "asterisk-core-sounds-it-wav"
EMPOLI = ROOT / "examples" / "empoli.yaml"
READ_BACK = "0571757999"  # a number read back digit by digit
LOST_ACCENTS = {"pu?": "può", "sar?": "sarà", "pi?": "più", "cos?": "così"}  # the index's mojibake
TU_FORMS = re.compile(r"\b(tu|tua|tuo|tuoi|sei|hai|puoi|devi|vuoi|desideri|attendi|prova|riprova|componi|"
                      r"controlla|digita|premi|inserisci|scegli|ti)\b", re.IGNORECASE)


def pairs(settings) -> list[tuple[str, tuple[str, ...]]]:
    """(what the voce guida says, the Asterisk files that say the same thing)."""
    office = settings.offices[0]
    return [
        (sentences.all_busy().text, ("queue-periodic-announce",)),
        (sentences.waiting(0).text, ("queue-youarenext",)),
        (sentences.waiting(3).text, ("queue-thereare", "digits/4")),
        (sentences.expected_wait(180).text, ("queue-holdtime", "digits/3", "queue-minutes")),
        (sentences.expected_wait(30).text, ("queue-holdtime", "queue-less-than", "digits/un", "queue-minute")),
        (sentences.transfer(settings, office).text, ("transfer",)),
        ("Attenda, prego.", ("vm-dialout",)),
        (sentences.number_invalid().text, ("privacy-incorrect",)),
        (sentences.invalid_choice(False).text, ("conf-errormenu",)),
        (sentences.callback_ask_number().text, ("privacy-prompt", "astcc-followed-by-the-pound-key")),
        (f"{sentences.callback_number_is().text} {' '.join(READ_BACK)}", tuple(f"digits/{d}" for d in READ_BACK)),
        (sentences.hours_text(next(o.hours for o in settings.offices if o.hours.windows)),
         tuple(f"digits/day-{d}" for d in (1, 2, 3, 4, 5, 6, 0))),
        (sentences.recording_dialog("speak").text, ("vm-intro",)),
        (sentences.recording_dialog("review").text, ("vm-review",)),
        (sentences.queue_callback_booked().text, ("goodbye",)),
    ]


# ------------------------------------------------------------------------------ the package
def read_index() -> dict[str, str]:
    """file name (without .wav) -> the text it says, from the package's index."""
    text = gzip.open(INDEX, "rt", encoding="utf-8-sig").read()
    out = {}
    for line in text.splitlines():
        if line.startswith(";") or ":" not in line:
            continue
        name, said = line.split(":", 1)
        for lost, word in LOST_ACCENTS.items():
            said = said.replace(lost, word)
        out[name.strip()] = said.strip()
    return out


def spoken(index_text: str) -> str:
    """What the file says aloud: "[...]" and "(...)" are notes in the index, "..." a trailing off."""
    said = re.sub(r"\[[^]]*\]|\([^)]*\)", "", index_text).replace("…", " ").replace("...", " ")
    return re.sub(r"\s+", " ", said).strip(" .")


def asterisk_audio(names, workdir: Path) -> tuple[np.ndarray, str]:
    """The files back to back, as 8 kHz int16 (converted with sox if they are not), and their format."""
    clips, formats = [], set()
    for name in names:
        path = SOUNDS / f"{name}.wav"
        info = read_info(path)
        formats.add(f"{info.sample_rate_hz} Hz {info.channels} ch {info.format_name} {info.bits_per_sample}-bit")
        if (info.sample_rate_hz, info.channels, info.format_name, info.bits_per_sample) != (8000, 1, "PCM", 16):
            converted = workdir / (name.replace("/", "_") + ".wav")
            subprocess.run(["sox", str(path), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                            str(converted)], check=True, capture_output=True)
            path = converted
        clips.append(read_wav(path))
    return np.concatenate(clips), ", ".join(sorted(formats))


def measured(text: str, audio: np.ndarray) -> dict:
    return {
        "level_dbm0": round(measures.speech_level_dbm0(audio), 1),
        "duration_s": round(measures.duration_s(audio), 2),
        "words_per_s": round(measures.words_per_second(text, audio), 2),
        "longest_pause_s": round(measures.longest_inner_gap_s(audio), 2),
        "pauses_over_150ms": measures.long_pauses(audio),
        "clipped_samples": measures.clipped_samples(audio),
        "out_of_band_db": round(measures.out_of_band_db(audio), 1),
        "below_300hz_db": round(measures.out_of_band_db(audio, (300, 4000)), 1),
        "above_3400hz_db": round(measures.out_of_band_db(audio, (0, 3400)), 1),
    }


def medians(rows: list[dict]) -> dict:
    return {k: round(statistics.median(r[k] for r in rows), 2) for k in rows[0]}


# ------------------------------------------------------------------------------ the comune's book
def words(text: str) -> list[str]:
    """Lower-case words, "l'" apart, every number as ``#``; accents kept."""
    text = unicodedata.normalize("NFC", text.lower()).replace("’", "'")
    return ["#" if w.isdigit() else w for w in re.findall(r"[^\W\d_]+'|[^\W_]+", text)]


class Cover:
    """Cuts a sentence into whole Asterisk files (their words in order), covering the most words."""

    def __init__(self, index: dict[str, str]):
        self.phrases = {tuple(words(spoken(t))) for t in index.values() if words(spoken(t))}
        self.longest = max(len(p) for p in self.phrases)

    def uncovered(self, ws: list[str]) -> list[str]:
        best = [(0, [])] + [None] * len(ws)  # best[i]: (covered words, missing words) of ws[:i]
        for i in range(len(ws)):
            covered, missing = best[i]
            step = (covered, missing + [ws[i]])
            if best[i + 1] is None or best[i + 1][0] < step[0]:
                best[i + 1] = step
            if ws[i] == "#":  # Asterisk says any number from digits/*
                if best[i + 1][0] < covered + 1:
                    best[i + 1] = (covered + 1, missing)
            for n in range(1, min(self.longest, len(ws) - i) + 1):
                if tuple(ws[i:i + n]) in self.phrases and (best[i + n] is None or best[i + n][0] < covered + n):
                    best[i + n] = (covered + n, missing)
        return best[-1][1]


def kinds(settings, text: str) -> set[str]:
    """The comune's own content in a sentence: what a recorded set cannot have."""
    found = set()
    names = [o.spoken or o.title for o in settings.offices] + [m.spoken or m.title for m in settings.menus] + \
        [named.spoken for m in settings.menus for named in m.option_names.values()]
    if any(n and n in text for n in names):
        found.add("office_name")
    if settings.comune.name in text:
        found.add("comune_name")
    if "chiocciola" in text:
        found.add("email")
    if any(o.hours.windows and sentences.hours_text(o.hours) in text for o in settings.offices):
        found.add("hours")
    return found


def book_cover(settings, index: dict[str, str], paraphrased: set[str]) -> dict:
    cover = Cover(index)
    whole = mixed = none = 0
    needing = {"office_name": 0, "comune_name": 0, "email": 0, "hours": 0, "nothing_comune_specific": 0}
    examples = []
    book = sentences.book(settings)
    for s in book:
        ws = [w for p in s.parts if not p.recording for w in words(p.text)]
        missing = cover.uncovered(ws)
        own_recording = any(p.recording for p in s.parts)  # the comune's own voice: a second voice already
        if not missing and not own_recording:
            whole += 1
            continue
        if len(missing) == len(ws) and not own_recording:
            none += 1
        else:
            mixed += 1
        found = kinds(settings, s.text) or {"nothing_comune_specific"}
        for k in found:
            needing[k] += 1
        if len(examples) < 3 and missing and "office_name" in found:
            examples.append({"text": s.text, "missing": " ".join(missing)})
    return {"sentences": len(book), "asterisk_only": whole, "mixed_voices": mixed, "no_asterisk_word": none,
            "paraphrase_in_asterisk_set": sum(s.text in paraphrased for s in book),
            "not_asterisk_only_with": needing, "examples": examples}


# ------------------------------------------------------------------------------ main
def skip(why: str) -> None:
    print(f"voice_compare: skipped: {why}", file=sys.stderr)
    report("voice_compare", skipped=why)


def main() -> None:
    if not SOUNDS.is_dir() or not INDEX.is_file():
        return skip(f"{PACKAGE} is not installed (apt-get install {PACKAGE}); its Italian recordings "
                    f"are read from {SOUNDS}")
    if not tts.available():
        return skip("espeak-ng and sox are needed (apt-get install espeak-ng sox)")
    settings = load_settings(EMPOLI)
    index = read_index()
    chosen = pairs(settings)
    rows = {"espeak-ng": [], "asterisk": []}
    per_sentence, formats = [], set()
    with tempfile.TemporaryDirectory(prefix="voice-compare-") as workdir:
        synthesiser = tts.Synthesiser(cache_dir=Path(workdir) / "cache")
        for stands_for, names in chosen:
            text = " ".join(spoken(index[n]) for n in names)
            human, fmt = asterisk_audio(names, Path(workdir))
            formats.add(fmt)
            synthetic = synthesiser.render(text)
            a, e = measured(text, human), measured(text, synthetic)
            rows["asterisk"].append(a)
            rows["espeak-ng"].append(e)
            per_sentence.append({"voce_guida": stands_for, "asterisk_files": list(names), "said": text,
                                 "asterisk": a, "espeak-ng": e})
    med = {voice: medians(r) for voice, r in rows.items()}
    cover = book_cover(settings, index, {s for s, _ in chosen})
    tu = [n for n, t in index.items() if TU_FORMS.search(spoken(t))]
    sayable = {"files": len(index), "using_tu_not_lei": len(tu),
               "chosen_using_tu": sorted(n for _, names in chosen for n in names if n in tu)}
    report("voice_compare", package=PACKAGE, licence="CC-BY-3.0 (c) 2012 Carlo Flora", asterisk_format=sorted(formats),
           pairs=len(chosen), medians=med, asterisk_index=sayable, empoli_book=cover, per_sentence=per_sentence)
    print(conclusion(med, rows, cover))


def conclusion(med: dict, rows: dict, cover: dict) -> str:
    """One line, from the figures only."""
    a, e = med["asterisk"], med["espeak-ng"]
    target = tts.TARGET_DBM0
    better = []
    if abs(a["level_dbm0"] - target) < abs(e["level_dbm0"] - target):
        better.append("level")
    if sum(r["pauses_over_150ms"] for r in rows["asterisk"]) < sum(r["pauses_over_150ms"] for r in rows["espeak-ng"]):
        better.append("pauses")
    if a["out_of_band_db"] < e["out_of_band_db"]:
        better.append("band")
    if sum(r["clipped_samples"] for r in rows["asterisk"]) < sum(r["clipped_samples"] for r in rows["espeak-ng"]):
        better.append("clipping")
    alone = cover["asterisk_only"] == cover["sentences"]
    choice = "Asterisk recordings" if alone and better else "espeak-ng for whole sentences"
    return (f"conclusion: asterisk level {a['level_dbm0']} dBm0 vs espeak-ng {e['level_dbm0']} (target {target}); "
            f"pauses >150 ms {sum(r['pauses_over_150ms'] for r in rows['asterisk'])} vs "
            f"{sum(r['pauses_over_150ms'] for r in rows['espeak-ng'])} in {len(rows['asterisk'])} sentences, "
            f"longest {a['longest_pause_s']} vs {e['longest_pause_s']} s (median); "
            f"asterisk better on: {', '.join(better) or 'nothing measured'}; "
            f"Empoli book: {cover['asterisk_only']} of {cover['sentences']} sentences Asterisk-only, "
            f"{cover['mixed_voices'] + cover['no_asterisk_word']} would need another voice -> {choice}")


if __name__ == "__main__":
    main()
