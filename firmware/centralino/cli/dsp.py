"""``centralino dsp ...``: the signal-processing tools, for technicians and for checking.

Bad input (missing file, wrong rate, stereo, not a WAV) exits 2 with one line naming the file
and the problem; a file that is fine but holds no caller ID exits 1.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

import numpy as np

from ..media import callerid, dtmf, tones, wavfile
from ..media.frames import SAMPLE_RATE_HZ, saturate
from .errors import CliError


def register(subparsers) -> None:
    dsp = subparsers.add_parser("dsp", help="telephony signal tools (DTMF, caller ID, tones)",
                                description="Telephony signal tools: decode and generate DTMF, "
                                            "caller ID (ETSI V.23 FSK) and call-progress tones as 8 kHz WAV.")
    sub = dsp.add_subparsers(dest="dsp_command", metavar="TOOL")
    sub.required = True

    p = sub.add_parser("dtmf-decode", help="list the DTMF keys in a WAV: time, key, duration")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=dtmf_decode)

    p = sub.add_parser("dtmf-encode", help="write DTMF keys to a WAV")
    p.add_argument("digits", help="keys to send: 0-9 * # A-D")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--on-ms", type=_positive_ms, default=dtmf.SEND_ON_MS, help="tone length (default 100)")
    p.add_argument("--off-ms", type=_positive_ms, default=dtmf.SEND_OFF_MS, help="pause length (default 100)")
    _encoding_option(p)
    p.set_defaults(handler=dtmf_encode)

    p = sub.add_parser("callerid-decode", help="decode an ETSI caller-ID burst from a WAV, print JSON")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=callerid_decode)

    p = sub.add_parser("callerid-encode", help="write an ETSI caller-ID burst (V.23 FSK, MDMF) to a WAV")
    p.add_argument("--number", help="calling number (omit with --withheld or --unavailable)")
    p.add_argument("--name", help="calling name")
    p.add_argument("--when", help="date and time, ISO 8601 (default: now)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--withheld", action="store_true", help="number withheld by the caller (P)")
    group.add_argument("--unavailable", action="store_true", help="number unavailable (O)")
    p.add_argument("--level-dbm0", type=float, default=-13.0, help="FSK level (default -13 dBm0)")
    p.add_argument("-o", "--output", type=Path, required=True)
    _encoding_option(p)
    p.set_defaults(handler=callerid_encode)

    p = sub.add_parser("tone", help="write a call-progress tone such as it:busy to a WAV")
    p.add_argument("tone", help="PLAN:NAME, e.g. it:busy, it:dial, it:ringback, it:congestion")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("-o", "--output", type=Path, required=True)
    _encoding_option(p)
    p.set_defaults(handler=tone)


def _encoding_option(p) -> None:
    p.add_argument("--encoding", choices=wavfile.ENCODINGS, default="pcm16",
                   help="WAV sample format (default pcm16)")


def _positive_ms(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of milliseconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} ms: must be more than 0")
    return value


def _read(path: Path) -> np.ndarray:
    try:
        return wavfile.read_wav(path)
    except wavfile.WavError as err:
        raise CliError(str(err)) from None


def _write(path: Path, samples: np.ndarray, encoding: str) -> None:
    try:
        wavfile.write_wav(path, samples, encoding)
    except OSError as err:
        raise CliError(f"{path}: cannot write: {err.strerror or err}") from None
    print(f"wrote {path} ({len(samples) / SAMPLE_RATE_HZ:.3f} s, {encoding})")


def dtmf_decode(args) -> int:
    for event in dtmf.detect(_read(args.file)):
        print(f"{event.start_s:.3f} {event.digit} {event.duration_s:.3f}")
    return 0


def dtmf_encode(args) -> int:
    bad = sorted({d for d in args.digits.upper() if d not in dtmf.DIGITS})
    if not args.digits or bad:
        raise CliError(f"digits {args.digits!r}: {'no keys given' if not bad else 'not DTMF keys: ' + ' '.join(bad)}"
                       f" (expected 0-9 * # A-D)")
    _write(args.output, dtmf.generate(args.digits.upper(), args.on_ms, args.off_ms), args.encoding)
    return 0


def callerid_decode(args) -> int:
    samples = _read(args.file)
    try:
        cid = callerid.decode_burst(samples)
    except callerid.CallerIdError as err:
        raise CliError(f"{args.file}: no caller ID decoded: {err}", exit_code=1) from None
    print(json.dumps(cid.to_dict(), ensure_ascii=False, sort_keys=True))
    return 0


def callerid_encode(args) -> int:
    if args.when:
        try:
            when = datetime.fromisoformat(args.when)
        except ValueError:
            raise CliError(f"--when {args.when!r}: not an ISO 8601 date-time (e.g. 2026-11-24T09:30)") from None
    else:
        when = datetime.now().replace(second=0, microsecond=0)
    if args.number and (args.withheld or args.unavailable):
        raise CliError("--number cannot be combined with --withheld or --unavailable")
    if not args.number and not (args.withheld or args.unavailable):
        raise CliError("give --number, or --withheld / --unavailable for a caller without one")
    absent = "P" if args.withheld else "O" if args.unavailable else None
    try:
        cid = callerid.CallerId(number=args.number, name=args.name, when=when, number_absent=absent)
        burst = callerid.encode_burst(cid, level_dbm0=args.level_dbm0)
    except ValueError as err:
        raise CliError(str(err)) from None
    lead = np.zeros(SAMPLE_RATE_HZ // 5, dtype=np.int16)  # 200 ms quiet either side, as on a line
    _write(args.output, saturate(np.concatenate([lead, burst, lead])), args.encoding)
    return 0


def tone(args) -> int:
    try:
        spec = tones.lookup(args.tone)
    except KeyError as err:
        raise CliError(f"tone {args.tone!r}: {err.args[0]}") from None
    if not 0 < args.seconds <= 3600:
        raise CliError(f"--seconds {args.seconds}: must be between 0 and 3600")
    _write(args.output, tones.render(spec, args.seconds), args.encoding)
    return 0
