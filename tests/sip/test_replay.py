"""A captured Authorization header is worth nothing to whoever captured it: replayed to another
request-URI, from another address or a second time, it is refused and no call is placed; a
registered phone's binding stays where it was. Forged sources cost only themselves: the trunk's
address and a registered phone's address are never banned; an unauthenticated INVITE's 401 is
repeated at most once; new calls beyond the set-up ceiling get 503 with Retry-After."""

from __future__ import annotations

import re

from .helpers import HOST, PHONE_PASSWORD, PHONE_USER, Peer, challenge_of, credentials, play_on_sip, status_line

OK, UNAUTHORIZED = "SIP/2.0 200 OK", "SIP/2.0 401 Unauthorized"
OTHER_HOST = "127.0.0.2"  # another machine on the LAN (Linux answers for all of 127/8)


def _play(tmp_path, story, **config):
    return play_on_sip(tmp_path, story, **config)


async def _register(peer: Peer, sip_port: int, password: str = PHONE_PASSWORD) -> tuple[str, str | None]:
    """A phone's REGISTER as phones do it: challenged, then with qop=auth credentials; returns the
    Authorization it sent and the final answer."""
    uri = f"sip:{PHONE_USER}@{HOST}:{sip_port}"
    first = await peer.ask(sip_port, peer.request(sip_port, "REGISTER", PHONE_USER))
    if first is None:  # dropped: a banned source
        return "", None
    challenge = challenge_of(first)
    auth = credentials(challenge, "REGISTER", PHONE_USER, password, uri)
    return auth, await peer.ask(sip_port, peer.request(sip_port, "REGISTER", PHONE_USER, auth))


def test_a_digest_is_refused_from_another_address_a_second_time_and_for_another_uri(tmp_path):
    async def story(s, sip_port):
        phone, thief = Peer(), Peer(OTHER_HOST)
        auth, registered = await _register(phone, sip_port)
        binding_before = s.daemon.sip.status()["registered"]
        answers = {"registered": status_line(registered)}
        # the same header again, on a new REGISTER: from the thief's machine, and from the phone's
        answers["register from elsewhere"] = status_line(await thief.ask(
            sip_port, thief.request(sip_port, "REGISTER", PHONE_USER, auth)))
        answers["register again"] = status_line(await phone.ask(
            sip_port, phone.request(sip_port, "REGISTER", PHONE_USER, auth)))
        binding_after = s.daemon.sip.status()["registered"]
        # an INVITE digest computed for extension 201, sent to 112 and to an outside number
        for target in ("112", "0555123456", "201"):
            challenge = challenge_of(await phone.ask(sip_port, phone.request(sip_port, "INVITE", "201",
                                                                             from_user=PHONE_USER), final=True))
            invite_auth = credentials(challenge, "INVITE", PHONE_USER, PHONE_PASSWORD, f"sip:201@{HOST}:{sip_port}")
            if target != "201":
                answers[f"invite {target}"] = status_line(await phone.ask(
                    sip_port, phone.request(sip_port, "INVITE", target, invite_auth, from_user=PHONE_USER), final=True))
            else:  # the genuine one is used once by the phone, then replayed by the thief
                first = await phone.ask(sip_port, phone.request(sip_port, "INVITE", "201", invite_auth,
                                                                from_user=PHONE_USER), final=False)
                answers["invite 201 genuine"] = status_line(first)
                answers["invite 201 replayed elsewhere"] = status_line(await thief.ask(
                    sip_port, thief.request(sip_port, "INVITE", "201", invite_auth, from_user=PHONE_USER), final=True))
        called = [c.called for c in s.records_now()] + [getattr(c, "called", None) for c in s.switchboard.calls]
        called += ["112"] * len(s.events("emergency.placing"))
        security = s.daemon.sip.status()["security"]
        phone.close()
        thief.close()
        return answers, binding_before, binding_after, called, security

    answers, before, after, called, security = _play(tmp_path, story)
    assert answers["registered"] == OK
    assert answers["register from elsewhere"] == UNAUTHORIZED
    assert answers["register again"] == UNAUTHORIZED
    assert before == after and before[PHONE_USER]["address"].startswith(f"{HOST}:")  # not hijacked
    assert answers["invite 112"] == UNAUTHORIZED
    assert answers["invite 0555123456"] == UNAUTHORIZED
    assert answers["invite 201 genuine"].startswith("SIP/2.0 1")  # trying, ringing: the call is being placed
    assert answers["invite 201 replayed elsewhere"] == UNAUTHORIZED
    assert "112" not in called and "0555123456" not in called
    assert security["replayed"] >= 5


def test_challenges_carry_opaque_single_source_nonces_with_qop(tmp_path):
    async def story(s, sip_port):
        peer = Peer()
        replies = [await peer.ask(sip_port, peer.request(sip_port, "REGISTER", PHONE_USER)) for _ in range(3)]
        peer.close()
        return [challenge_of(r) for r in replies]

    challenges = _play(tmp_path, story)
    nonces = [c["nonce"] for c in challenges]
    assert len(set(nonces)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", n) for n in nonces)  # random: no clock, no counter in clear
    assert all(c["qop"] == "auth" and c["realm"] == "centralino" for c in challenges)


def test_forged_guesses_from_the_trunks_and_a_phones_address_ban_neither(tmp_path):
    trunk = Peer()  # the trunk's proxy is this socket's address

    async def story(s, sip_port):
        phone, stranger = Peer("127.0.0.4"), Peer("127.0.0.3")
        await _register(phone, sip_port)
        for attacker in (trunk, phone, stranger):  # eight wrong passwords each, through their source address
            for n in range(8):
                await _register(attacker, sip_port, password=f"guess-{n}")
        after = {name: status_line(await peer.ask(sip_port, peer.request(sip_port, "OPTIONS", "probe")))
                 for name, peer in (("trunk", trunk), ("phone", phone), ("stranger", stranger))}
        _, again = await _register(phone, sip_port)
        security = s.daemon.sip.status()["security"]
        phone.close()
        stranger.close()
        return after, status_line(again), security

    try:
        after, again, security = _play(tmp_path, story, trunk_port=trunk.port, failed_auth_limit=5)
    finally:
        trunk.close()
    assert after == {"trunk": OK, "phone": OK, "stranger": None}  # only the stranger is dropped
    assert again == OK  # the phone still registers with its password
    assert security["banned_sources"] == ["127.0.0.3"]
    assert security["ban_spared"] >= 2


def test_an_unanswered_401_to_an_unknown_source_is_repeated_at_most_once(tmp_path):
    async def story(s, sip_port):
        peer = Peer(OTHER_HOST)
        peer.send(sip_port, peer.request(sip_port, "INVITE", "201", from_user=PHONE_USER))  # never ACKed
        replies = []
        while (reply := await peer.receive(wait_s=4.0)) is not None:  # sippy would repeat at 0.5, 1, 2, 4 s
            replies.append(status_line(reply))
        peer.close()
        return replies

    replies = _play(tmp_path, story)
    finals = [r for r in replies if r == UNAUTHORIZED]
    assert 1 <= len(finals) <= 2, replies


def test_new_calls_beyond_the_ceiling_get_503_with_retry_after_but_112_is_challenged(tmp_path):
    async def story(s, sip_port):
        peer = Peer(OTHER_HOST)
        for n in range(30):
            peer.send(sip_port, peer.request(sip_port, "INVITE", "112" if n == 29 else "201", from_user=PHONE_USER,
                                             call_id=f"burst-{n}"))
        replies = []
        while (reply := await peer.receive(wait_s=1.5)) is not None:
            replies.append(reply)
        peer.close()
        return replies, s.daemon.sip.status()["overload"]

    replies, overload = _play(tmp_path, story, max_setups_per_s=10)
    refused = [r for r in replies if r.startswith("SIP/2.0 503")]
    assert refused and all(re.search(r"(?im)^retry-after:\s*\d+", r) for r in refused)
    assert not any("burst-29" in r for r in refused)  # the emergency number is never refused for load
    assert any("burst-29" in r and r.startswith("SIP/2.0 401") for r in replies)
    assert overload["refused_rate"] + overload["refused_lag"] >= 15
