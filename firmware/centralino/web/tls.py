"""HTTPS certificates: one made at the first start, or the comune's own, installed by a command.

At the first start the service makes a self-signed certificate (ECDSA P-256, ten years, the
host's name, ``localhost`` and the loopback addresses as names) in its state folder: the browser
warns once, and the IT department can check the fingerprint the log prints. ``centralino web
install-cert CERT KEY`` installs the comune's own certificate and key after checking that they
are a pair and the certificate is valid now; the service uses it from its next start. Keys are
written with mode 0600.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

GENERATED = ("self-signed.crt", "self-signed.key")
INSTALLED = ("comune.crt", "comune.key")
VALID_DAYS = 3650


class CertificateError(ValueError):
    """A certificate or key that cannot be used; the message names the file and the problem."""


def _write(path: Path, data: bytes, mode: int) -> None:
    partial = path.with_name(path.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def generate(folder: Path, hostname: str | None = None) -> tuple[Path, Path]:
    """A new self-signed certificate and key in ``folder``."""
    hostname = hostname or socket.gethostname() or "centralino"
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "centralino")])
    now = datetime.now(timezone.utc)
    alt = [x509.DNSName(hostname), x509.DNSName("localhost"),
           x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / GENERATED[0], folder / GENERATED[1]
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def fingerprint(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def ensure(folder: Path, hostname: str | None = None) -> tuple[Path, Path, bool]:
    """The certificate to serve: the comune's when installed, else the generated one (made now if
    missing). The flag says whether it was made now."""
    folder = Path(folder)
    installed = folder / INSTALLED[0], folder / INSTALLED[1]
    if all(p.exists() for p in installed):
        return installed[0], installed[1], False
    generated = folder / GENERATED[0], folder / GENERATED[1]
    if all(p.exists() for p in generated):
        return generated[0], generated[1], False
    cert, key = generate(folder, hostname)
    return cert, key, True


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as err:
        raise CertificateError(f"{cert} / {key}: cannot be used for HTTPS ({err})") from None
    return context


def install(folder: Path, cert_file: Path, key_file: Path) -> str:
    """Check and install the comune's certificate and key; returns the certificate's fingerprint."""
    try:
        cert_pem, key_pem = Path(cert_file).read_bytes(), Path(key_file).read_bytes()
    except OSError as err:
        raise CertificateError(f"{err.filename}: {err.strerror}") from None
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise CertificateError(f"{cert_file}: not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as err:
        raise CertificateError(f"{key_file}: not an unencrypted PEM private key ({err})") from None
    leaf = certs[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(serialization.Encoding.PEM, public) != \
            key.public_key().public_bytes(serialization.Encoding.PEM, public):
        raise CertificateError(f"{key_file}: this key does not belong to the certificate in {cert_file}")
    now = datetime.now(timezone.utc)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise CertificateError(f"{cert_file}: valid from {leaf.not_valid_before_utc:%Y-%m-%d} to "
                               f"{leaf.not_valid_after_utc:%Y-%m-%d}, not now")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / INSTALLED[1], key_pem, 0o600)
    _write(folder / INSTALLED[0], cert_pem, 0o644)
    return leaf.fingerprint(hashes.SHA256()).hex(":").upper()
