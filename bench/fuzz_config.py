"""Configuration fuzzing: seeded, bounded mutations of examples/comune.yaml, and the known parser
bombs, each loaded with ``load_settings`` under a time limit.

A mutation is a few random edits of the file's text (lines deleted, doubled, swapped or
re-indented, tokens replaced by values chosen to hurt, characters and bytes inserted, the file cut
short) or of its data (emergency numbers, extension and group numbers, prefixes, lines, office
hours, feature codes changed the way an installer might). Every outcome is judged:

- ``crashes``: an exception other than ConfigError (a bug: a file must never crash the checker);
- ``hangs``: longer than ``--time-limit-s``;
- ``bad_messages``: a refusal that is not one line starting with the file's name;
- ``dangerous_accepted``: a file accepted although the engine's own dial plan would not reach
  112, 113, 115 or 118 as an emergency call (dialled alone, after the outside or trunk prefix,
  digit by digit), or there is no way out (no line, modem or trunk), or an office has no hours.
  The oracle builds ``calls.dialplan.Dialplan`` as the switchboard does and asks it; it does not
  reuse the rules it checks. Must be 0.

Prints one JSON line with those counts, peak RSS, the slowest case and up to three examples of
each finding (seed and case number reproduce it: ``--only N``).

    .venv/bin/python bench/fuzz_config.py [--seed 1] [--cases 2000] [--time-limit-s 5]
"""

from __future__ import annotations

import argparse
import random
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _common import ROOT, report

from centralino.calls.dialplan import Dialplan
from centralino.config.flows_schema import FixedHours
from centralino.config.loader import ConfigError
from centralino.config.schema import load_settings

EXAMPLE = ROOT / "examples" / "comune.yaml"
ALWAYS = ("112", "113", "115", "118")
EXAMPLES_KEPT = 3
NASTY_VALUES = ["11", "1", "112", "0112", "1120", "113", "1180", "999", "20", "2", "", "0", "-1", "1e309", ".nan",
                "~", "null", "yes", "always", "never", "[]", "{}", "*mattine", "&x", "!!python/object:os.system",
                "'", '"', "\\", "::", "- -", "Europe/" + "x" * 300, "9" * 5000, "é", "\u200b", "*8", "#", "0x40",
                "1_000", "08:00-25:00", "menu:", "office:nessuno", "fxs1", "fxo9", "sip210", "../../etc/passwd"]
NASTY_CHARS = ["\t", "\x00", "\x07", "\x1b", ":", "-", "[", "{", "}", "]", ",", "&a ", "*a ", "\ufeff", "é", "#",
               "'", '"', "\n", "\r", "|", ">", "!", "%", "@", "`", "\u2028"]
EMERGENCY_EXTRAS = ["1", "11", "0112", "999", "1530", "1522", "20", "2000", "1120", "118", "11x", "²"]
NUMBERS = ["11", "1", "112", "1120", "113", "1180", "20", "2", "99", "0112", "9", "911", "1515"]


class Hang(Exception):
    """The time limit passed."""


def bombs() -> list[tuple[str, bytes]]:
    """The parser bombs and non-files issue 14 found, and their relatives."""
    laughs = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    laughs += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 12)]
    text = EXAMPLE.read_text()
    return [("alias bomb", "\n".join(laughs).encode()),
            ("alias bomb as keys", ("a: &a {x: 1, y: 2}\n" + "".join(
                f"b{n}: &b{n} {{" + ", ".join(f"k{k}: *{'a' if n == 0 else f'b{n - 1}'}" for k in range(9)) + "}\n"
                for n in range(10))).encode()),
            ("recursive alias", b"comune: &c [a, *c]\n"), ("recursive map", b"comune: &c {name: *c}\n"),
            ("deep flow", b"comune: " + b"[" * 100_000 + b"]" * 100_000),
            ("deep block", "".join(f"{' ' * i}k{i}:\n" for i in range(3000)).encode()),
            ("long time zone", text.replace("timezone: Europe/Rome", "timezone: " + "x" * 5000).encode()),
            ("empty", b""), ("NUL", b"\x00" * 4096), ("binary", bytes(range(256)) * 16),
            ("UTF-16", text.encode("utf-16")), ("huge", b"# " + b"x" * (2 << 20)),
            ("many values", ("a: [" + "1," * 500_000 + "1]\n").encode()),
            ("112 left out", text.replace('["112", "113", "115", "118"]', '["113", "115", "118"]').encode()),
            ("extension 11", text.replace('{number: "207",', '{number: "11",').encode())]


def _lines(rng: random.Random, text: str) -> str:
    rows = text.split("\n")
    i, j = rng.randrange(len(rows)), rng.randrange(len(rows))
    choice = rng.randrange(4)
    if choice == 0:
        del rows[i]
    elif choice == 1:
        rows.insert(i, rows[j])
    elif choice == 2:
        rows[i], rows[j] = rows[j], rows[i]
    else:
        rows[i] = rows[i][2:] if rows[i].startswith("  ") and rng.random() < 0.5 else "  " + rows[i]
    return "\n".join(rows)


def _token(rng: random.Random, text: str) -> str:
    import re

    tokens = list(re.finditer(r'"[^"\n]*"|[A-Za-z0-9_:./*#+&-]+', text))
    match = rng.choice(tokens)
    value = rng.choice(NASTY_VALUES + [m.group() for m in rng.sample(tokens, 3)] + [str(rng.randrange(10**6))])
    if match.group().startswith('"') and rng.random() < 0.7:
        value = f'"{value}"'
    return text[:match.start()] + value + text[match.end():]


def _chars(rng: random.Random, text: str) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + "".join(rng.choice(NASTY_CHARS) for _ in range(rng.randint(1, 4))) + text[at:]


def _data(rng: random.Random, text: str) -> str:
    """An edit an installer might make, through the data (anchors are lost: safe_dump of a copy)."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        return text
    edit = rng.randrange(7)
    plan = data.setdefault("dialplan", {}) if isinstance(data.get("dialplan", {}), dict) else {}
    if edit == 0:
        kept = [n for n in ALWAYS if rng.random() < 0.8]
        plan["emergency_numbers"] = kept + rng.sample(EMERGENCY_EXTRAS, rng.randint(0, 2))
    elif edit == 1 and isinstance(data.get("extensions"), list) and data["extensions"]:
        ext = rng.choice(data["extensions"])
        if isinstance(ext, dict):
            ext["number"] = rng.choice(NUMBERS)
    elif edit == 2 and isinstance(data.get("groups"), list) and data["groups"]:
        group = rng.choice(data["groups"])
        if isinstance(group, dict):
            group["number"] = rng.choice(NUMBERS)
    elif edit == 3:
        plan["outside_prefix"] = str(rng.randrange(10))
    elif edit == 4:
        data["lines"] = []
        if rng.random() < 0.3:
            data["gsm"] = {"dialect": "sim7600"}
        if rng.random() < 0.3:
            data["sip"] = {"listen": "127.0.0.1", "trunk": {"proxy": "127.0.0.1:5070", "register": False,
                                                           "outbound_prefix": rng.choice(["9", "1", "11", "8"])}}
    elif edit == 5 and isinstance(data.get("offices"), list) and data["offices"]:
        office = rng.choice(data["offices"])
        if isinstance(office, dict):
            choice = rng.choice(["drop", None, "always", "never", {}, "sempre", {"lunedi": []}, ["always"]])
            if choice == "drop":
                office.pop("hours", None)
            else:
                office["hours"] = choice
    elif edit == 6 and isinstance(data.get("features"), dict):
        data["features"][rng.choice(["pickup", "login", "voicemail"])] = rng.choice(["*8", "#1", "*61", "11", "1"])
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


TEXT_MUTATIONS = (_lines, _token, _chars, _data)


def mutate(rng: random.Random, text: str) -> tuple[bytes, str]:
    """A few edits of ``text``; sometimes the bytes themselves are cut or flipped."""
    names = []
    for _ in range(rng.randint(1, 3)):
        mutation = rng.choice(TEXT_MUTATIONS)
        try:
            text = mutation(rng, text)
        except (yaml.YAMLError, ValueError, TypeError):  # a data edit needs a file PyYAML can read: kept as is
            continue
        names.append(mutation.__name__.strip("_"))
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.05:
        data = data[:rng.randrange(len(data) + 1)]
        names.append("cut")
    if rng.random() < 0.05 and data:
        at = rng.randrange(len(data))
        data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1:]
        names.append("byte")
    return data, "+".join(names)


def _reaches(plan: Dialplan, digits: str, number: str) -> bool:
    """Dialled key by key, ``digits`` waits until complete and is then an emergency call to ``number``."""
    early = [plan.classify(digits[:k]) for k in range(1, len(digits))]
    last = plan.classify(digits)
    return all(not m.complete for m in early) and (last.kind, last.target) == ("emergency", number)


def dangers(s) -> list[str]:
    """Why an accepted configuration would be dangerous (empty when it is not)."""
    found = []
    trunk = s.sip.trunk if s.sip is not None else None
    features = {getattr(s.features, key): key for key in s.features.CODES if key != "pickup"}
    plan = Dialplan({e.number: e for e in s.extensions}, {g.number: g.name for g in s.groups if g.number},
                    s.dialplan.outside_prefix, tuple(s.dialplan.emergency_numbers), s.features.pickup, features,
                    trunk_prefix=trunk.outbound_prefix if trunk is not None else None)
    prefixes = [""] + [p for p in (s.dialplan.outside_prefix, trunk.outbound_prefix if trunk else None) if p]
    for number in ALWAYS:
        for prefix in prefixes:
            if not _reaches(plan, prefix + number, number):
                found.append(f"{prefix + number} is not an emergency call")
    if not (s.lines or s.gsm is not None or trunk is not None):
        found.append("no way out")
    for office in s.offices:
        if not isinstance(office.hours, FixedHours) and not office.hours.windows:
            found.append(f"office {office.name} has no hours")
    return found


def _deadline(seconds: float):
    def expired(signum, frame):
        raise Hang()

    signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def run_case(path: Path, data: bytes, time_limit_s: float) -> tuple[str, str, float]:
    """(outcome, detail, seconds): accepted, refused, crash, hang, bad_message or dangerous."""
    path.write_bytes(data)
    began = time.perf_counter()
    try:
        _deadline(time_limit_s)
        try:
            settings = load_settings(path)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except Hang:
        return "hang", "", time.perf_counter() - began
    except ConfigError as err:
        text = str(err)
        one_line = "\n" not in text and "\r" not in text and text.startswith(f"{path}") and len(text) < 600
        return ("refused" if one_line else "bad_message"), text[:300], time.perf_counter() - began
    except Exception as err:  # RecursionError, MemoryError, OSError... anything else is a crash
        return "crash", f"{type(err).__name__}: {str(err)[:200]}", time.perf_counter() - began
    seconds = time.perf_counter() - began
    found = dangers(settings)
    return ("dangerous", "; ".join(found), seconds) if found else ("accepted", "", seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=2000, help="mutations (the bombs come on top)")
    parser.add_argument("--time-limit-s", type=float, default=5.0)
    parser.add_argument("--only", type=int, default=None, help="run this case number alone (reproduce a finding)")
    args = parser.parse_args()
    sys.setrecursionlimit(1000)  # Python's default: what the daemon runs with
    rng = random.Random(args.seed)
    text = EXAMPLE.read_text()
    counts = {k: 0 for k in ("accepted", "refused", "crash", "hang", "bad_message", "dangerous")}
    examples: dict[str, list] = {k: [] for k in ("crash", "hang", "bad_message", "dangerous")}
    slowest = (0.0, "")
    began = time.perf_counter()
    cases = [(f"bomb {name}", data) for name, data in bombs()]
    with tempfile.TemporaryDirectory(prefix="fuzz-config-") as tmp:
        path = Path(tmp) / "comune.yaml"
        for number in range(args.cases):
            cases.append((f"case {number}", None))
        for label, data in cases:
            if data is None:
                data, how = mutate(rng, text)  # drawn in order, so --only N reproduces case N
                label = f"{label} ({how})"
            if args.only is not None and label.split(" (")[0] != f"case {args.only}":
                continue
            outcome, detail, seconds = run_case(path, data, args.time_limit_s)
            counts[outcome] += 1
            slowest = max(slowest, (seconds, label))
            if outcome in examples and len(examples[outcome]) < EXAMPLES_KEPT:
                examples[outcome].append(f"{label}: {detail}")
    report("fuzz_config", seed=args.seed, cases=sum(counts.values()), bombs=len(bombs()),
           accepted=counts["accepted"], refused=counts["refused"], crashes=counts["crash"], hangs=counts["hang"],
           bad_messages=counts["bad_message"], dangerous_accepted=counts["dangerous"],
           peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           slowest_case_s=round(slowest[0], 3), slowest_case=slowest[1], time_limit_s=args.time_limit_s,
           seconds=round(time.perf_counter() - began, 1),
           examples={k: v for k, v in examples.items() if v})


if __name__ == "__main__":
    main()
