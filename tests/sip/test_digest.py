"""The digest authority on its own clock: an expired nonce with a right answer is stale (challenged
again with stale=true, not counted as a guess), nonce counts must rise, a nonce without qop is used
once, and the nonce table stays bounded however many challenges are asked for."""

from __future__ import annotations

from centralino.sip.digest import DigestAuthority, Verdict, digest_response, parse_digest

REALM, USER, PASSWORD = "centralino", "210", "desk-phone-210"
URI = "sip:210@127.0.0.1:5060"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _answer(authority: DigestAuthority, source: str, nc: int | None = 1, password: str = PASSWORD, uri: str = URI):
    nonce = parse_digest(authority.challenge(source))["nonce"]
    return nonce, _params(nonce, nc, password, uri)


def _params(nonce: str, nc: int | None, password: str = PASSWORD, uri: str = URI) -> dict:
    params = {"username": USER, "realm": REALM, "nonce": nonce, "uri": uri}
    if nc is not None:
        params.update(qop="auth", nc=f"{nc:08x}", cnonce="abc")
    params["response"] = digest_response(params, "REGISTER", password, REALM)
    return params


def _check(authority, source, params):
    return authority.check(source, params, "REGISTER", URI, {USER: PASSWORD}.get)


def test_an_expired_nonce_with_the_right_answer_is_stale_and_the_challenge_says_so():
    clock = Clock()
    authority = DigestAuthority(REALM, clock, lifetime_s=300)
    _, params = _answer(authority, "10.0.0.5")
    clock.now += 301
    assert _check(authority, "10.0.0.5", params) is Verdict.STALE
    assert "stale=true" in authority.challenge("10.0.0.5", stale=True)
    _, wrong = _answer(authority, "10.0.0.5", password="guess")
    clock.now += 301
    assert _check(authority, "10.0.0.5", wrong) is Verdict.WRONG_PASSWORD  # stale is only for the right answer


def test_nonce_counts_must_rise_and_a_nonce_without_qop_works_once():
    authority = DigestAuthority(REALM, Clock())
    nonce, first = _answer(authority, "10.0.0.5", nc=1)
    assert _check(authority, "10.0.0.5", first) is Verdict.OK
    assert _check(authority, "10.0.0.5", first) is Verdict.REPLAYED
    assert _check(authority, "10.0.0.5", _params(nonce, 3)) is Verdict.OK  # a later request of the same phone
    assert _check(authority, "10.0.0.5", _params(nonce, 2)) is Verdict.REPLAYED
    _, bare = _answer(authority, "10.0.0.5", nc=None)
    assert _check(authority, "10.0.0.5", bare) is Verdict.OK
    assert _check(authority, "10.0.0.5", bare) is Verdict.REPLAYED


def test_uri_source_and_parameters_are_checked_before_the_password():
    authority = DigestAuthority(REALM, Clock())
    _, params = _answer(authority, "10.0.0.5")
    assert _check(authority, "10.0.0.6", params) is Verdict.WRONG_SOURCE
    _, other = _answer(authority, "10.0.0.5", uri="sip:112@127.0.0.1:5060")
    assert _check(authority, "10.0.0.5", other) is Verdict.WRONG_URI
    nonce, params = _answer(authority, "10.0.0.5")
    assert _check(authority, "10.0.0.5", {**params, "qop": "auth-int"}) is Verdict.BAD_PARAMS
    assert _check(authority, "10.0.0.5", {**params, "nc": "1"}) is Verdict.BAD_PARAMS
    assert _check(authority, "10.0.0.5", {**params, "nonce": "0" * 32}) is Verdict.UNKNOWN_NONCE


def test_the_nonce_table_is_bounded_overall_and_per_source():
    authority = DigestAuthority(REALM, Clock(), kept=100, per_source=4)
    first, params = _answer(authority, "10.0.0.5")
    for _ in range(10):
        authority.challenge("10.0.0.5")
    assert _check(authority, "10.0.0.5", params) is Verdict.UNKNOWN_NONCE  # pushed out by its own source
    for i in range(1000):
        authority.challenge(f"10.1.{i // 250}.{i % 250}")
    assert len(authority) <= 100
