"""Security of the SIP side against an outsider: the same 401 for users that exist and users that
do not, a ban after repeated wrong passwords, garbage datagrams answered 400 or dropped (never a
crash). sipvicious against the same: test_sipvicious.py."""

from __future__ import annotations

import os

from centralino.sip.security import digest_response, parse_digest

from .helpers import HOST, PHONE_PASSWORD, Peer, play_on_sip

REALM = "centralino"


def _play(tmp_path, story, *tools, **config):
    return play_on_sip(tmp_path, story, *tools, **config)


def _status_and_challenge(reply: str | None) -> tuple[str | None, bool]:
    if reply is None:
        return None, False
    first = reply.split("\r\n", 1)[0]
    return first, f'realm="{REALM}"' in reply


def test_existing_and_unknown_users_get_the_same_401_with_the_realm(tmp_path):
    async def story(s, sip_port):
        peer = Peer()
        answers = {}
        for method in ("REGISTER", "INVITE"):
            for user in ("210", "999", "200"):  # a SIP phone, nobody, an analog extension
                answers[(method, user)] = _status_and_challenge(await peer.ask(sip_port, peer.request(sip_port, method, user)))
        peer.close()
        return answers

    answers = _play(tmp_path, story)
    assert set(answers.values()) == {("SIP/2.0 401 Unauthorized", True)}, answers


def test_repeated_wrong_passwords_ban_the_source_and_the_right_one_no_longer_helps(tmp_path):
    async def story(s, sip_port):
        peer = Peer()
        replies = []
        for attempt in range(7):
            challenge = await peer.ask(sip_port, peer.request(sip_port, "REGISTER", "210"))
            if challenge is None:
                replies.append(None)
                continue
            header = next(l for l in challenge.split("\r\n") if l.lower().startswith("www-authenticate:"))
            params = parse_digest(header.split(":", 1)[1])
            password = PHONE_PASSWORD if attempt == 6 else f"guess-{attempt}"
            params.update(username="210", uri=f"sip:210@{HOST}:{sip_port}")
            response = digest_response(params, "REGISTER", password, REALM)
            auth = (f'Digest username="210", realm="{REALM}", nonce="{params["nonce"]}", '
                    f'uri="{params["uri"]}", response="{response}", algorithm=MD5')
            replies.append(await peer.ask(sip_port, peer.request(sip_port, "REGISTER", "210", auth)))
        peer.close()
        return [r.split("\r\n", 1)[0] if r else None for r in replies], s.daemon.sip.status()

    replies, status = _play(tmp_path, story, failed_auth_limit=5)
    assert replies[:5] == ["SIP/2.0 401 Unauthorized"] * 5  # wrong passwords: challenged again
    assert replies[5:] == [None, None]  # banned: even the right password goes unanswered
    assert status["security"]["banned_sources"] == [HOST] and status["registered"] == {}


def test_garbage_datagrams_get_400_or_nothing_and_the_stack_keeps_answering(tmp_path):
    garbage = [os.urandom(200), b"\xff\xfe" * 100, b"INVITE\r\n\r\n" + b"x" * 40,
               b"INVITE sip:201@127.0.0.1 SIP/2.0\r\nVia: nonsense\r\nCSeq: banana\r\n\r\n" + b" " * 20,
               b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
               b"OPTIONS sip:x SIP/2.0\r\n" + b"X-Long: " + b"a" * 6000 + b"\r\n\r\n",
               b"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n"
               b"From: <sip:210@127.0.0.1>;tag=1\r\nTo: <sip:210@127.0.0.1>\r\nCall-ID: g\r\nCSeq: 1 REGISTER\r\n"
               b"Authorization: Digest username=\"210\", nonce=\"\", response=\"\"\r\nContent-Length: 99\r\n\r\n"]

    async def story(s, sip_port):
        peer = Peer()
        replies = [await peer.ask(sip_port, datagram, wait_s=0.3) for datagram in garbage]
        alive = await peer.ask(sip_port, peer.request(sip_port, "OPTIONS", "probe"))
        peer.close()
        return replies, alive, s.daemon.sip.status(), s.switchboard.calls

    replies, alive, status, calls = _play(tmp_path, story)
    for reply in replies:
        assert reply is None or reply.startswith("SIP/2.0 4"), reply
    assert alive is not None and alive.startswith("SIP/2.0 200")
    assert calls == []
