"""``pishkhan central claims new|list``, ``pishkhan central enroll-server`` and ``pishkhan central ca
init|server-cert``: enrolling devices (docs/enrolment.md)."""

from __future__ import annotations

import sys

from pishkhan import provinces

DEFAULT_DB = "fleet.db"


def register_enrolment(s, common):
    claims = s.add_parser("claims", parents=[common], help="claim codes that let a device enrol for an office")
    c = claims.add_subparsers(dest="claims_action", metavar="ACTION", required=True)
    new = c.add_parser("new", parents=[common], help="make a one-time claim code for an office and print it")
    new.add_argument("--office", metavar="ID", required=True, help="the office id (as in the registry)")
    new.add_argument("--province", metavar="P", required=True, type=provinces.option,
                     help="the province code, 00-30 (6, 06 and ۰۶ are the same)")
    new.add_argument("--office-name", metavar="NAME", default="", help="the office's name, shown on its board")
    new.add_argument("--licence", metavar="L", default="", help="the office's licence number")
    new.add_argument("--expires", metavar="SPAN", default="7d", help="how long the code works: 30m, 12h, 7d "
                                                                     "(default 7d, at most 90d)")
    new.add_argument("--db", metavar="URL", default=DEFAULT_DB, help="fleet database (default: fleet.db)")
    new.set_defaults(handler=cmd_claims_new)
    ls = c.add_parser("list", parents=[common], help="list the claims (never their codes)")
    ls.add_argument("--office", metavar="ID", help="one office only")
    ls.add_argument("--db", metavar="URL", default=DEFAULT_DB)
    ls.set_defaults(handler=cmd_claims_list)

    srv = s.add_parser("enroll-server", parents=[common], help="serve device enrolment and renewal over HTTPS",
                       description="Serve POST /v1/enroll and /v1/renew over HTTPS (docs/enrolment.md).")
    srv.add_argument("--ca", metavar="DIR", required=True, help="the CA folder (pishkhan central ca init)")
    srv.add_argument("--listen", metavar="HOST:PORT", default="0.0.0.0:8443", help="default: 0.0.0.0:8443")
    srv.add_argument("--db", metavar="URL", default=DEFAULT_DB, help="fleet database (default: fleet.db)")
    srv.add_argument("--tls-cert", metavar="FILE", required=True, help="this server's certificate (PEM)")
    srv.add_argument("--tls-key", metavar="FILE", required=True, help="this server's private key (PEM)")
    srv.add_argument("--broker-url", metavar="URL", required=True, help="mqtts://HOST:PORT devices connect to")
    srv.add_argument("--public-url", metavar="URL",
                     help="this server's URL as devices reach it, for renewals (default: https://, the first "
                          "name in --tls-cert and the port of --listen)")
    srv.add_argument("--keys", metavar="DIR", help="the centre's key folder: its issuer and command public keys "
                                                   "are handed to enrolling devices")
    srv.add_argument("--trusted-proxy", metavar="ADDR", default="",
                     help="a reverse proxy in front (comma-separated addresses) whose X-Forwarded-For is believed; "
                          "default: none, the connection's own address counts")
    srv.add_argument("--pool", metavar="DIR", default=None,
                     help="also serve this release pool at /releases/pool/<sha256>.deb (docs/updates.md)")
    srv.add_argument("--circulars-pool", metavar="DIR", default=None,
                     help="also serve the circulars' attachments at /circulars/pool/<sha256>.pdf (docs/circulars.md)")
    srv.set_defaults(handler=cmd_enroll_server)

    ca = s.add_parser("ca", parents=[common], help="the centre's certificate authority")
    a = ca.add_subparsers(dest="ca_action", metavar="ACTION", required=True)
    init = a.add_parser("init", parents=[common], help="make a new CA in a folder")
    init.add_argument("--dir", metavar="DIR", required=True)
    init.set_defaults(handler=cmd_ca_init)
    sc = a.add_parser("server-cert", parents=[common],
                      help="a server certificate and key (for the enrolment server or the broker)")
    sc.add_argument("--dir", metavar="DIR", required=True, help="the CA folder")
    sc.add_argument("--host", metavar="H", action="append", required=True, help="a DNS name or IP address (repeat)")
    sc.add_argument("--out", metavar="PREFIX", required=True, help="writes PREFIX.pem and PREFIX.key (0600)")
    sc.set_defaults(handler=cmd_ca_server_cert)


def cmd_claims_new(args):
    from central.db import open_db
    from central.enrolment import claims

    span = claims.duration(args.expires)
    with open_db(args.db) as db:
        code, claim = claims.new_claim(db, office_id=args.office, province=args.province,
                                       office_name=args.office_name, licence=args.licence, expires=span)
    print(code)
    from pishkhan.text.safety import terminal_safe

    named = f" ({terminal_safe(claim.office_name)}, licence {terminal_safe(claim.licence) or '-'})" \
        if claim.office_name or claim.licence else ""
    print(f"claim {claim.claim_id}: office {claim.office_id}{named}, province {claim.province}, "
          f"expires {claim.expires_at} (the code is shown only now)", file=sys.stderr)
    if not claim.office_name:
        print("هشدار: نام دفتر داده نشده است؛ تابلوی دستگاه نام پیش‌فرض را نشان می‌دهد: --office-name و --licence را "
              "بدهید.\nwarning: no office name: the device's board shows the package's default name; give "
              "--office-name and --licence.", file=sys.stderr)
    return 0


def cmd_claims_list(args):
    import datetime as dt

    from central.db import open_db
    from central.enrolment import claims

    now = dt.datetime.now(dt.timezone.utc)
    with open_db(args.db) as db:
        for claim in claims.list_claims(db, office_id=args.office):
            print("\t".join((claim.claim_id, claim.state(now), claim.province, claim.office_id, claim.expires_at,
                             claim.device_id or "-", claim.used_at or "-")))
    return 0


def cmd_enroll_server(args):
    import uvicorn

    from central.ca import CertificateAuthority
    from central.db import open_db
    from central.enrolment.server import create_app, uvicorn_config
    from central.enrolment.service import Enrolment
    from cli.central_serve import listen_address
    from pishkhan.exc import ConfigError

    host, port = listen_address(args.listen)
    if not args.broker_url.startswith("mqtts://"):
        raise ConfigError(f"--broker-url: devices connect over TLS only: expected mqtts://HOST:PORT, "
                          f"got {args.broker_url!r}")
    ca = CertificateAuthority.open(args.ca)
    public = args.public_url or _public_url(args.tls_cert, port)
    db = open_db(args.db)
    try:
        service = Enrolment(db, ca=ca, broker_url=args.broker_url, renew_url=public.rstrip("/"), keys_dir=args.keys)
        print(f"enrolment server on https://{host}:{port}/ (fleet database {args.db})", file=sys.stderr)
        app = create_app(service, pool=args.pool, circulars=args.circulars_pool)
        uvicorn.Server(uvicorn_config(app, host=host, port=port, tls_cert=args.tls_cert,
                                      tls_key=args.tls_key, trusted_proxies=args.trusted_proxy)).run()
    finally:
        db.close()
    return 0


def _public_url(cert_file, port: int) -> str:
    """``https://NAME:PORT`` with the first name the server certificate holds."""
    from cryptography import x509

    from pishkhan.exc import ConfigError

    try:
        cert = x509.load_pem_x509_certificate(open(cert_file, "rb").read())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        first = next(iter(names)).value
    except (OSError, ValueError, StopIteration, x509.ExtensionNotFound) as e:
        raise ConfigError(f"--tls-cert: cannot read a host name from {cert_file} ({e}); give --public-url") from None
    host = f"[{first}]" if ":" in str(first) else str(first)
    return f"https://{host}:{port}"


def cmd_ca_init(args):
    from central.ca import CertificateAuthority

    ca = CertificateAuthority.create(args.dir)
    print(ca.cert_file)
    print(f"CA made in {args.dir}: give {ca.cert_file} to devices (the package's /etc/pishkhan/centre-ca.pem) and "
          f"to Mosquitto's cafile; ca.key never leaves the folder", file=sys.stderr)
    return 0


def cmd_ca_server_cert(args):
    from pathlib import Path

    from central.ca import CertificateAuthority, cert_pem, key_pem
    from pishkhan.tls import write_file

    ca = CertificateAuthority.open(args.dir)
    cert, key = ca.issue_server(args.host)
    prefix = Path(args.out)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    write_file(prefix.with_name(prefix.name + ".key"), key_pem(key), mode=0o600)
    write_file(prefix.with_name(prefix.name + ".pem"), cert_pem(cert), mode=0o644)
    print(f"{prefix}.pem")
    print(f"{prefix}.key (mode 0600)", file=sys.stderr)
    return 0
