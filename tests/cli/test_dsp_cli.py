"""The technician's signal tools, run as a technician runs them: the installed command."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from centralino.media import dtmf, wavfile

REPO = Path(__file__).resolve().parents[2]


def centralino(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "firmware"), str(REPO)]))
    return subprocess.run([sys.executable, "-m", "centralino", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)


def test_dtmf_encode_then_decode(tmp_path):
    out = tmp_path / "keys.wav"
    r = centralino("dsp", "dtmf-encode", "0577*12#", "-o", out, "--on-ms", 80, "--off-ms", 60)
    assert r.returncode == 0, r.stderr
    r = centralino("dsp", "dtmf-decode", out)
    assert r.returncode == 0, r.stderr
    lines = [line.split() for line in r.stdout.splitlines()]
    assert "".join(key for _, key, _ in lines) == "0577*12#"
    starts = [float(t) for t, _, _ in lines]
    assert starts == pytest.approx([i * 0.140 for i in range(8)], abs=0.011)
    assert all(abs(float(d) - 0.080) <= 0.011 for _, _, d in lines)


def test_dtmf_decode_reads_alaw(tmp_path):
    out = tmp_path / "keys-alaw.wav"
    wavfile.write_wav(out, dtmf.generate("42"), "alaw")
    r = centralino("dsp", "dtmf-decode", out)
    assert [line.split()[1] for line in r.stdout.splitlines()] == ["4", "2"]


def test_callerid_encode_then_decode(tmp_path):
    out = tmp_path / "cid.wav"
    r = centralino("dsp", "callerid-encode", "--number", "0577123456", "--name", "ROSSI MARIA",
                   "--when", "2026-11-24T09:30", "-o", out)
    assert r.returncode == 0, r.stderr
    r = centralino("dsp", "callerid-decode", out)
    assert r.returncode == 0, r.stderr
    cid = json.loads(r.stdout)
    assert cid["number"] == "0577123456" and cid["name"] == "ROSSI MARIA"
    assert "11-24" in json.dumps(cid) or cid.get("month") == 11


def test_callerid_withheld_number(tmp_path):
    out = tmp_path / "private.wav"
    assert centralino("dsp", "callerid-encode", "--withheld", "--when", "2026-01-02T03:04", "-o", out).returncode == 0
    cid = json.loads(centralino("dsp", "callerid-decode", out).stdout)
    assert cid["number"] is None or cid["number"] == ""
    assert cid["number_absent"] == "P"


def test_tone_file_is_busy_tone(tmp_path):
    out = tmp_path / "busy.wav"
    r = centralino("dsp", "tone", "it:busy", "--seconds", 3, "-o", out, "--encoding", "alaw")
    assert r.returncode == 0, r.stderr
    from centralino.media import progress
    assert [e.tone for e in progress.recognise(wavfile.read_wav(out))] == ["busy"]
    assert wavfile.read_info(out).format_name == "A-law"


def test_no_caller_id_in_silence_exits_1(tmp_path):
    out = tmp_path / "silence.wav"
    wavfile.write_wav(out, np.zeros(8000, np.int16))
    r = centralino("dsp", "callerid-decode", out)
    assert r.returncode == 1
    assert str(out) in r.stderr and "no caller ID" in r.stderr


def make_bad_files(tmp_path):
    stereo = tmp_path / "stereo.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "2", "-b", "16", str(stereo), "synth", "0.1", "sine", "425"], check=True)
    rate = tmp_path / "cd.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "1", "-b", "16", str(rate), "synth", "0.1", "sine", "425"], check=True)
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(rate.read_bytes()[:20])
    text = tmp_path / "notes.wav"
    text.write_text("Ufficio Tributi: lunedi 9-12\n")
    return {
        "missing": (tmp_path / "absent.wav", "no such file"),
        "stereo": (stereo, "2 channels, expected mono"),
        "rate": (rate, "sample rate 44100 Hz, expected 8000 Hz"),
        "truncated": (truncated, "truncated header"),
        "not a wav": (text, "not a WAV file"),
    }


@pytest.mark.parametrize("tool", ["dtmf-decode", "callerid-decode"])
@pytest.mark.parametrize("kind", ["missing", "stereo", "rate", "truncated", "not a wav"])
def test_bad_input_exits_2_with_one_line_naming_file_and_problem(tmp_path, tool, kind):
    path, problem = make_bad_files(tmp_path)[kind]
    r = centralino("dsp", tool, path)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and problem in lines[0]


@pytest.mark.parametrize("args, problem", [
    (["dtmf-encode", "12X4", "-o", "x.wav"], "not DTMF keys: X"),
    (["tone", "it:bussy", "-o", "x.wav"], "no tone 'bussy'"),
    (["tone", "it:busy", "--seconds", "-1", "-o", "x.wav"], "--seconds"),
    (["callerid-encode", "--number", "0577", "--when", "ieri", "-o", "x.wav"], "not an ISO 8601"),
    (["callerid-encode", "--name", "SENZA NUMERO", "-o", "x.wav"], "give --number"),
    (["dtmf-encode", "12", "-o", "/nonexistent-dir/x.wav"], "cannot write"),
])
def test_bad_arguments_exit_2_with_the_reason(tmp_path, args, problem):
    r = centralino("dsp", *args, cwd=tmp_path)
    assert r.returncode == 2
    assert problem in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_demo_decodes_everything(tmp_path):
    r = centralino("signal-demo", "--out", tmp_path / "demo")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all decoded correctly" in r.stdout
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["busy.wav", "callerid.wav", "dtmf.wav"]
