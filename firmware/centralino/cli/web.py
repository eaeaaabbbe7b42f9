"""``centralino web``: the web interface's service, and its two maintenance commands.

    centralino web [--control PATH] [--state-dir DIR] [--https-port N] [--http-port N] ...
    centralino web install-cert CERT KEY [--state-dir DIR]   the comune's own certificate
    centralino web reset-password NAME [--state-dir DIR]     a new one-time password
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from .errors import CliError

DEFAULT_STATE = Path("/var/lib/centralino-web")
DEFAULT_CONTROL = Path("/run/centralino/control.sock")


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(text)
    return value


def register(sub) -> None:
    parser = sub.add_parser("web", help="the web interface (staff pages, wallboard, citizens' page)",
                            description="Serve the staff's pages over HTTPS, redirect HTTP to it, and "
                                        "optionally the citizens' ticket page; talks to the daemon only "
                                        "through its control socket.")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE,
                        help=f"accounts, session key, certificates, audit log (default {DEFAULT_STATE})")
    parser.add_argument("--control", type=Path, default=DEFAULT_CONTROL,
                        help=f"the daemon's control socket (default {DEFAULT_CONTROL})")
    parser.add_argument("--listen", default="0.0.0.0", help="address of the staff's site (default all)")
    parser.add_argument("--https-port", type=_port, default=443, help="default 443")
    parser.add_argument("--http-port", type=_port, default=80, help="redirects to HTTPS; 0: none (default 80)")
    parser.add_argument("--citizen-port", type=_port, default=0,
                        help="the citizens' ticket page on this port, plain HTTP for a reverse proxy (default 0: off)")
    parser.add_argument("--citizen-listen", default="127.0.0.1", help="its address (default 127.0.0.1)")
    parser.add_argument("--trusted-proxy", metavar="ADDRESS",
                        help="the reverse proxy whose X-Forwarded-For names the client (rate limits)")
    parser.add_argument("--hostname", help="the name in the generated certificate (default: this host's)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    actions = parser.add_subparsers(dest="web_action", metavar="ACTION")
    cert = actions.add_parser("install-cert", help="install the comune's certificate and key")
    cert.add_argument("cert", type=Path, help="PEM certificate (the chain may follow it)")
    cert.add_argument("key", type=Path, help="PEM private key, unencrypted")
    reset = actions.add_parser("reset-password", help="give an account a new one-time password")
    reset.add_argument("name")
    parser.set_defaults(handler=run)


def run(args) -> int:
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.web_action == "install-cert":
        from centralino.web.tls import CertificateError, install

        try:
            fingerprint = install(args.state_dir / "tls", args.cert, args.key)
        except (CertificateError, OSError) as err:
            raise CliError(str(err)) from err
        print(f"installed; SHA-256 {fingerprint}; restart the service: systemctl restart centralino-web")
        return 0
    if args.web_action == "reset-password":
        from centralino.web.accounts import AccountError, AccountStore

        try:
            password = AccountStore(args.state_dir / "accounts.json").reset_password(args.name)
        except (AccountError, OSError) as err:
            raise CliError(str(err)) from err
        print(f"one-time password for {args.name}: {password}\n"
              "(it must be changed at the next login; restart centralino-web to end open sessions)")
        return 0
    from centralino.web.accounts import AccountError
    from centralino.web.server import Options, run as serve
    from centralino.web.tls import CertificateError

    options = Options(control=args.control, state_dir=args.state_dir, listen=args.listen,
                      https_port=args.https_port, http_port=args.http_port or None,
                      citizen_port=args.citizen_port or None, citizen_listen=args.citizen_listen,
                      trusted_proxy=args.trusted_proxy, hostname=args.hostname)
    try:
        serve(options)
    except (OSError, AccountError, CertificateError) as err:
        raise CliError(str(err)) from err
    return 0
