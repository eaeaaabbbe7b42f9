"""``centralino prompts preview --config FILE --out DIR``: every sentence a configuration can say,
as WAV files, for a comune to listen to its whole voce guida before switching over.

DIR/index.tsv lists, one line per file: the file name, where it is said (greeting, menu:NAME,
office:NAME, closed:NAME, queue, callback, voicemail...) and the exact text. A missing recording or
a sentence that cannot be rendered stops the preview with a one-line error naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import CliError

# shipped prompts the flows say as they are (no name or time in them)
FIXED_PROMPTS = (("voicemail", "segreteria"), ("voicemail", "messaggio_registrato"), ("goodbye", "arrivederci"))


def register(sub) -> None:
    parser = sub.add_parser("prompts", help="the voce guida's sentences",
                            description="Work with what the voce guida says.")
    commands = parser.add_subparsers(dest="prompts_command", metavar="ACTION")
    commands.required = True
    preview = commands.add_parser("preview", help="write every sentence FILE can say as WAV, with index.tsv")
    preview.add_argument("--config", type=Path, required=True, help="the configuration file")
    preview.add_argument("--out", type=Path, required=True, help="the folder to write into")
    preview.set_defaults(handler=run_preview)


def run_preview(args) -> int:
    from centralino.config.errors import ConfigError
    from centralino.config.schema import load_settings
    from centralino.flows.phrases import PhraseLibrary
    from centralino.flows.sentences import book
    from centralino.flows.speech import RenderError, Speech
    from centralino.media.wavfile import WavError, write_wav

    try:
        settings = load_settings(args.config)
    except ConfigError as err:
        raise CliError(str(err)) from None
    try:
        speech = Speech(PhraseLibrary(comune_dir=settings.rules.prompts if settings.rules else None))
    except WavError as err:
        raise CliError(f"missing or bad recording: {err}") from None
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CliError(f"{args.out}: cannot create the folder: {err.strerror}") from None
    rows = []
    items = [(s.where, s.text, s) for s in book(settings)] + \
        [(where, _text(speech, key), key) for where, key in FIXED_PROMPTS]
    for number, (where, text, what) in enumerate(items, start=1):
        try:
            audio = speech.samples(what) if isinstance(what, str) else speech.sentence(what, strict=True)
        except RenderError as err:
            raise CliError(f"{args.config}: {where}: {err}") from None
        name = f"{number:03d}-{re.sub(r'[^a-z0-9]+', '-', where.lower()).strip('-')}.wav"
        write_wav(args.out / name, audio)
        rows.append(f"{name}\t{where}\t{text}")
    (args.out / "index.tsv").write_text("file\twhere\ttext\n" + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(rows)} sentences written (index.tsv)")
    return 0


def _text(speech, key: str) -> str:
    """The catalogue text of a shipped prompt key."""
    from centralino.config.flows_schema import shipped_texts

    return shipped_texts().get(key, key)
