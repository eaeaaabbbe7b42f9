"""The web service's defences, over HTTP against the running stack: redirects, CSRF, sessions,
rate limits, roles, headers, a missing daemon, and what is stored on disk."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import ssl
import stat
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from centralino.web.accounts import AccountStore

from .conftest import ADMIN_PASSWORD
from .harness import CENTRALINO, HttpSession, start_web


def _ticket(stack, office: str, caller: str) -> int:
    return stack.daemon.call(lambda s: s.tickets.open_ticket("c-sec", caller, office, s.wall_clock(), "", "busy").id)


def _status_of(stack, number: int) -> str:
    with sqlite3.connect(f"file:{stack.base / 'data' / 'centralino.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT status FROM tickets WHERE id = ?", (number,)).fetchone()[0]


def _first_login(web) -> HttpSession:
    """Log in with the one-time password and set a new one; returns the session."""
    http = HttpSession(web.base)
    assert http.login("admin", web.admin_password) == 303
    status, headers, _ = http.request("/password")
    assert status == 200
    status, headers, _ = http.request("/password", {"attuale": web.admin_password, "nuova": ADMIN_PASSWORD,
                                                     "conferma": ADMIN_PASSWORD})
    assert status == 303, "password changed"
    http.request("/")  # the new session's token, for the next form
    return http


def test_http_only_redirects_to_https(stack):
    conn = socket.create_connection(("127.0.0.1", stack.web.http_port))
    conn.sendall(b"GET /chiamate?numero=333 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = b""
    while chunk := conn.recv(4096):
        answer += chunk
    conn.close()
    head = answer.decode(errors="replace").split("\r\n")
    assert head[0].startswith("HTTP/1.1 301")
    assert f"Location: https://127.0.0.1:{stack.web.https_port}/chiamate?numero=333" in head
    assert b"<html" not in answer.lower() or b"Stato" not in answer, "no page over HTTP"


def test_every_form_needs_its_csrf_token_and_a_refusal_changes_nothing(stack, admin):
    number = _ticket(stack, "anagrafe", "3330001111")
    http = HttpSession(stack.web.base)
    assert http.login("admin", ADMIN_PASSWORD) == 303
    for token in (None, "forged-token"):
        fields = {"nota": "chiusa da un sito estraneo"} | ({"csrf": token} if token else {})
        status, _, body = http.request(f"/segnalazioni/{number}/chiudi", fields, csrf=False)
        assert status == 403 and "Modulo scaduto" in body
    assert _status_of(stack, number) == "open"
    http.request(f"/segnalazioni/{number}")
    status, _, _ = http.request(f"/segnalazioni/{number}/chiudi", {"nota": "fatto"})
    assert status == 303 and _status_of(stack, number) == "closed"
    log = [json.loads(line) for line in (stack.web.state_dir / "audit.log").read_text().splitlines()]
    assert [e["outcome"] for e in log if e["action"] == "csrf-refused"][-2:] == ["refused", "refused"]
    assert any(e["action"] == "ticket-done" and e["target"] == str(number) and e["account"] == "admin" for e in log)


def test_a_forged_session_cookie_is_no_session(stack, admin):
    http = HttpSession(stack.web.base)
    assert http.login("admin", ADMIN_PASSWORD) == 303
    assert http.request("/stato")[0] == 200
    for cookie in http.jar:
        if cookie.name == "centralino_sessione":
            session_id, signature = cookie.value.rsplit(".", 1)
            cookie.value = session_id + "x." + signature
    status, headers, _ = http.request("/stato")
    assert status == 303 and headers["Location"].startswith("/accesso")


def test_pages_carry_a_strict_content_security_policy_and_hsts(stack, admin):
    http = HttpSession(stack.web.base)
    http.login("admin", ADMIN_PASSWORD)
    status, headers, body = http.request("/stato")
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"] and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"
    assert "<script>" not in body and "style=" not in body, "nothing inline for the policy to allow"


def test_login_is_rate_limited_even_for_the_right_password(fresh_web):
    http = HttpSession(fresh_web.base)
    for _ in range(5):
        assert http.login("admin", "wrong-password") == 401
    http.request("/accesso")
    status, _, body = http.request("/accesso", {"nome": "admin", "password": fresh_web.admin_password, "dopo": ""})
    assert status == 429 and "Troppi tentativi" in body and "Riprovi tra 10 minuti" in body
    assert "/password" not in body


def test_after_login_only_a_path_of_this_site_is_followed(fresh_web):
    http = _first_login(fresh_web)
    http.request("/uscita", {})
    http.request("/accesso")
    status, headers, _ = http.request("/accesso", {"nome": "admin", "password": ADMIN_PASSWORD, "dopo": "//elsewhere.example/x"})
    assert status == 303 and headers["Location"] == "/stato"


def test_office_staff_see_and_change_only_their_offices(stack, fresh_web):
    AccountStore(fresh_web.state_dir / "accounts.json").create("tributi1", "office", "Tributi-Ufficio-1", ("tributi",))
    ours, theirs = _ticket(stack, "tributi", "3330002222"), _ticket(stack, "anagrafe", "3330003333")
    http = HttpSession(fresh_web.base)
    assert http.login("tributi1", "Tributi-Ufficio-1") == 303
    http.request("/password")
    http.request("/password", {"attuale": "Tributi-Ufficio-1", "nuova": "Tributi-Ufficio-2", "conferma": "Tributi-Ufficio-2"})
    status, _, body = http.request("/segnalazioni?stato=tutte")
    assert status == 200 and f"n. {ours}<" in body and f"n. {theirs}<" not in body
    for page in ("/stato", "/chiamate", "/configurazione", "/account"):
        assert http.request(page)[0] == 403, page
    assert http.request(f"/segnalazioni/{theirs}")[0] == 403
    http.request(f"/segnalazioni/{ours}")
    assert http.request(f"/segnalazioni/{theirs}/chiudi", {"nota": ""})[0] == 403
    assert _status_of(stack, theirs) == "open"
    assert http.request(f"/segnalazioni/{ours}/prendi", {})[0] == 303
    assert _status_of(stack, ours) == "in_progress"
    status, _, body = http.request("/wallboard")
    assert 'data-office="tributi"' in body and 'data-office="anagrafe"' not in body


def test_read_only_accounts_cannot_change_or_listen(stack, fresh_web):
    AccountStore(fresh_web.state_dir / "accounts.json").create("lettore", "readonly", "Sola-Lettura-1")
    number = _ticket(stack, "anagrafe", "3330004444")
    http = HttpSession(fresh_web.base)
    http.login("lettore", "Sola-Lettura-1")
    http.request("/password")
    http.request("/password", {"attuale": "Sola-Lettura-1", "nuova": "Sola-Lettura-2", "conferma": "Sola-Lettura-2"})
    assert http.request("/stato")[0] == 200
    assert "Chiudi la segnalazione" not in http.request(f"/segnalazioni/{number}")[2]
    assert http.request(f"/segnalazioni/{number}/chiudi", {"nota": ""})[0] == 403
    assert http.request("/segreteria/1/audio")[0] == 403
    assert _status_of(stack, number) == "open"


def test_without_the_daemon_the_pages_say_so_and_logins_still_work(stray_web):
    http = _first_login(stray_web)
    status, _, body = http.request("/stato")
    assert status == 503 and "Il centralino non risponde" in body and "Le chiamate non dipendono" in body


def test_secrets_on_disk_are_hashed_and_private(stack, admin):
    state = stack.web.state_dir
    text = (state / "accounts.json").read_text()
    assert "$argon2id$" in text and ADMIN_PASSWORD not in text and stack.web.admin_password not in text
    for name in ("accounts.json", "session.key", "tls/self-signed.key", "audit.log"):
        assert stat.S_IMODE(os.stat(state / name).st_mode) == 0o600, name


def _pair(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "centralino.comune.example.it")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=90)).sign(key, hashes.SHA256()))
    (tmp_path / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / f"{name}.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    return cert


def test_the_comunes_own_certificate_is_checked_installed_and_served(stack, tmp_path):
    cert = _pair(tmp_path, "comune")
    _pair(tmp_path, "other")
    state = tmp_path / "state"
    wrong = subprocess.run([str(CENTRALINO), "web", "--state-dir", str(state), "install-cert",
                            str(tmp_path / "comune.crt"), str(tmp_path / "other.key")], capture_output=True, text=True)
    assert wrong.returncode == 2 and "does not belong to the certificate" in wrong.stderr
    assert not (state / "tls" / "comune.crt").exists()
    good = subprocess.run([str(CENTRALINO), "web", "--state-dir", str(state), "install-cert",
                           str(tmp_path / "comune.crt"), str(tmp_path / "comune.key")], capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    web = start_web(stack.base / "control.sock", state, tmp_path / "web.log", citizen=False)
    try:
        served = ssl.get_server_certificate(("127.0.0.1", web.https_port))
    finally:
        web.stop()
    assert x509.load_pem_x509_certificate(served.encode()).fingerprint(hashes.SHA256()) == cert.fingerprint(hashes.SHA256())
    assert stat.S_IMODE(os.stat(state / "tls" / "comune.key").st_mode) == 0o600


@pytest.mark.parametrize("digits", ["12", "abcd", "123456"])
def test_the_citizens_page_refuses_malformed_digits_without_asking_the_daemon(stack, digits):
    http = HttpSession(f"http://127.0.0.1:{stack.web.citizen_port}")
    status, _, body = http.request("/", {"numero": "1", "cifre": digits}, csrf=False)
    assert status == 400 and "ultime 4 cifre" in body
