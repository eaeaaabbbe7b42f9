"""G.711 against sox, over every 16-bit input and every code."""

import shutil
import subprocess

import numpy as np
import pytest

from centralino.media import g711

pytestmark = pytest.mark.skipif(not shutil.which("sox"), reason="sox is installed by `make test`")

ALL_INPUTS = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
LAWS = {  # law: (sox encoding, our encoder, our decoder, bits of the codec's uniform grid)
    "alaw": ("a-law", g711.alaw_encode, g711.alaw_decode, 13),
    "ulaw": ("u-law", g711.ulaw_encode, g711.ulaw_decode, 14),
}


def sox(data: bytes, src: list[str], dst: list[str]) -> bytes:
    cmd = ["sox", "-D", "-t", "raw", "-r", "8000", "-c", "1", *src, "-", "-t", "raw", *dst, "-"]
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


@pytest.mark.parametrize("law", LAWS)
def test_encoder_matches_sox_on_all_65536_inputs(law):
    """sox reduces 16-bit input to the codec grid by rounding, the ITU-T G.191 tools by truncation
    (as we do); given each input already truncated to the grid, sox must produce our code."""
    sox_name, encode, _, grid_bits = LAWS[law]
    truncated = (ALL_INPUTS.astype(np.int32) >> (16 - grid_bits) << (16 - grid_bits)).astype(np.int16)
    theirs = np.frombuffer(sox(truncated.tobytes(), ["-e", "signed", "-b", "16"], ["-e", sox_name, "-b", "8"]), np.uint8)
    ours = encode(ALL_INPUTS)
    assert len(theirs) == 65536
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("law", LAWS)
def test_decoder_matches_sox_on_all_256_codes(law):
    sox_name, _, decode, _ = LAWS[law]
    codes = np.arange(256, dtype=np.uint8)
    theirs = np.frombuffer(sox(codes.tobytes(), ["-e", sox_name, "-b", "8"], ["-e", "signed", "-b", "16"]), np.int16)
    assert np.array_equal(decode(codes), theirs)


def test_known_codes_from_g711_tables():
    # A-law: zero is 0xD5 (0x80 with even bits inverted), full scale +/- are 0xAA / 0x2A
    assert g711.alaw_encode(np.array([0, 32767, -32768], np.int16)).tolist() == [0xD5, 0xAA, 0x2A]
    # u-law: zero is 0xFF, full scale +/- are 0x80 / 0x00
    assert g711.ulaw_encode(np.array([0, 32767, -32768], np.int16)).tolist() == [0xFF, 0x80, 0x00]
    assert g711.alaw_decode(bytes([0xD5, 0xAA])).tolist() == [8, 32256]
    assert g711.ulaw_decode(bytes([0xFF, 0x80])).tolist() == [0, 32124]


@pytest.mark.parametrize("law", LAWS)
def test_round_trip_error_stays_within_the_segment_step(law):
    _, encode, decode, _ = LAWS[law]
    back = decode(encode(ALL_INPUTS)).astype(np.int32)
    err = np.abs(back - ALL_INPUTS.astype(np.int32))
    # the step doubles with each segment, so above the first segments the error (under one
    # step, because of truncation) stays a fixed fraction of the value: 3.1% A-law, 3.5% u-law
    big = np.abs(ALL_INPUTS.astype(np.int32)) > 1024
    assert np.max(err[big] / np.abs(ALL_INPUTS[big].astype(np.int32))) < 0.036
    assert np.max(err[~big]) <= 64
    assert np.array_equal(encode(decode(np.arange(256, dtype=np.uint8))),
                          encode(decode(encode(decode(np.arange(256, dtype=np.uint8))))))


def test_decode_then_encode_is_identity_on_codes():
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(g711.alaw_encode(g711.alaw_decode(codes)), codes)
    # u-law has two zeros (0x7F and 0xFF) that both decode to 0
    back = g711.ulaw_encode(g711.ulaw_decode(codes))
    assert np.array_equal(back[codes != 0x7F], codes[codes != 0x7F]) and back[0x7F] == 0xFF


def test_bad_input_type_and_law_name():
    with pytest.raises(TypeError, match="int16"):
        g711.alaw_encode(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="unknown G.711 law 'gsm'"):
        g711.codec("gsm")
