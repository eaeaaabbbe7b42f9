"""Odd or hostile SDP from the trunk's own address: every offer centralino cannot use is answered
488 (or 400) and leaves its line appearance free, so the next real call still gets through; a
legal offer with a host name in ``c=`` is taken. A request sippy cannot parse gets its 400, and
nothing of sippy's goes to stdout."""

from __future__ import annotations

from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario

from .helpers import DID_DEFAULT, HOST, Peer, free_port, sip_config, status_line

CHANNELS = 4


def _sdp(media: str = "m=audio 40000 RTP/AVP 8 101", connection: str = f"c=IN IP4 {HOST}", extra: str = "") -> str:
    return "\r\n".join(["v=0", f"o=pbx 1 1 IN IP4 {HOST}", "s=-", connection, "t=0 0", media,
                        "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", extra]) + "\r\n"


# more unusable offers than there are line appearances: each must leave its appearance free
CORPUS = {
    "declined stream (port 0)": _sdp("m=audio 0 RTP/AVP 8"),
    "host name that does not resolve": _sdp(connection="c=IN IP4 nowhere.invalid"),
    "superscript digits in the port": _sdp("m=audio 4²000 RTP/AVP 8"),
    "superscript digits in the formats": _sdp("m=audio 40000 RTP/AVP ²8"),
    "no connection line": _sdp(connection=""),
    "no G.711 (G.729 only)": _sdp("m=audio 40000 RTP/AVP 18"),
    "IPv6 media": _sdp(connection="c=IN IP6 ::1"),
    "port out of range": _sdp("m=audio 70000 RTP/AVP 8"),
    "video only": _sdp("m=video 40000 RTP/AVP 96"),
    "no media at all": "v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
    "bad connection address": _sdp(connection="c=IN IP4 300.1.2.3.4!"),
    "huge body": _sdp(extra="a=x-junk:" + "j" * 9000),
    "not SDP at all": "\x00\x01 garbage \u00e8\u00e9 \r\n\r\n",
}


def _play(tmp_path, story):
    trunk = Peer()
    sip_port = free_port()
    path = sip_config(tmp_path, sip_port, trunk_port=trunk.port)

    async def main():
        async with Scenario(path, tmp_path / "data") as s:
            return await story(s, sip_port, trunk)

    try:
        return run(main, virtual=False)
    finally:
        trunk.close()


def _lines(s) -> list[dict]:
    return [c for c in s.daemon.sip.status()["channels"] if c["name"].startswith("trunk")]


def test_every_unusable_offer_is_refused_and_leaves_its_line_free(tmp_path, capfd):
    async def story(s, sip_port, trunk):
        answers = {}
        for name, body in CORPUS.items():
            invite = trunk.request(sip_port, "INVITE", DID_DEFAULT, body=body, from_user="0555000111")
            answers[name] = status_line(await trunk.ask(sip_port, invite, wait_s=4.0, final=True))
        lines_after = [(c["name"], c["state"]) for c in _lines(s)]
        good = trunk.request(sip_port, "INVITE", DID_DEFAULT, body=_sdp(connection="c=IN IP4 localhost"),
                             from_user="0555000222")
        trunk.send(sip_port, good)
        await s.until(lambda: s.station_state("200") == "ringing", "the operator rings for the real call",
                      timeout_s=10)
        return answers, lines_after

    answers, lines_after = _play(tmp_path, story)
    refused = {name: answer for name, answer in answers.items()
               if answer not in ("SIP/2.0 488 Not Acceptable Here", "SIP/2.0 400 Bad Request")}
    assert refused == {}, refused
    assert len(lines_after) == CHANNELS and all(state == "idle" for _, state in lines_after), lines_after
    assert "Truncated" not in capfd.readouterr().out


def test_a_request_sippy_cannot_parse_gets_400_and_nothing_on_stdout(tmp_path, capfd):
    async def story(s, sip_port, trunk):
        peer = Peer("127.0.0.5")
        truncated = peer.request(sip_port, "OPTIONS", "probe").replace(b"Content-Length: 0", b"Content-Length: 400")
        truncated += b"v=0\r\n"
        replies = [status_line(await peer.ask(sip_port, truncated))]
        bad_contact = peer.request(sip_port, "INVITE", "201", headers=("Contact: <sip:@:bad:port;;>",))
        replies.append(status_line(await peer.ask(sip_port, bad_contact, final=True)))
        alive = status_line(await peer.ask(sip_port, peer.request(sip_port, "OPTIONS", "probe")))
        peer.close()
        return replies, alive

    replies, alive = _play(tmp_path, story)
    assert replies[0] == "SIP/2.0 400 Bad Request"
    assert replies[1] is None or replies[1].startswith("SIP/2.0 4"), replies
    assert alive == "SIP/2.0 200 OK"
    out = capfd.readouterr().out
    assert "Truncated" not in out and "can't parse" not in out, out
