"""``pishkhan provision enroll``: enrol this device with the centre by claim code (docs/enrolment.md)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers, common):
    from provisioning.enroll_messages import EPILOG

    p = subparsers.add_parser(
        "enroll", parents=[common], help="enrol this device with the centre by claim code",
        description="Enrol this device: make its key, send a CSR with the claim code over HTTPS (the centre's CA "
                    "pinned), write its certificate and configuration. docs/enrolment.md.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", metavar="URL", help="the enrolment server, https://HOST:PORT")
    p.add_argument("--claim", metavar="CODE", help="the claim code, XXXX-XXXX-XXXX")
    p.add_argument("--claim-file", metavar="FILE",
                   help="read server, claim (and ca) from this file and erase it after success "
                        "(the boot unit uses /boot/firmware/pishkhan-claim.txt)")
    p.add_argument("--ca", metavar="FILE", help="the centre's CA certificate (default: the claim file's `ca`, else "
                                                "/etc/pishkhan/centre-ca.pem); the system's CAs are not used")
    p.add_argument("--wait", action="store_true", help="without network, retry with backoff until it comes")
    p.add_argument("--fake-serial", metavar="TEXT", help=argparse.SUPPRESS)  # tests and machines without a Pi
    p.set_defaults(handler=cmd_enroll)


def _places(args):
    import os
    from pathlib import Path

    from pishkhan.config import load_config
    from provisioning.enroll import DEFAULT_CONFIG, Places

    path = Path(args.config or os.environ.get("PISHKHAN_CONFIG") or DEFAULT_CONFIG)
    return Places(config=path, state_dir=load_config(path).state_dir)


def _enrolled_as(places) -> str | None:
    """This device's id when it is enrolled already, else None."""
    from pishkhan.config import load_config
    from pishkhan.exc import PishkhanError
    from pishkhan.text.safety import terminal_safe

    if not places.enrolled():
        return None
    try:
        return terminal_safe(load_config(places.config).device_id, newlines=False)
    except PishkhanError:
        return None


def cmd_enroll(args):
    from pishkhan.exc import ConfigError
    from pishkhan.text.safety import terminal_safe
    from provisioning import claim_file
    from provisioning.enroll import DEFAULT_CA, Enroller, EnrolmentFailed
    from provisioning.enroll_messages import (ALREADY, ALREADY_EN, BAD_INPUT, ENROLLED, ENROLLED_EN, EXIT_CODES, NEXT,
                                              NEXT_EN)
    from provisioning.hardware_serial import FakeSerial, PiSerial

    server, claim, ca = args.server, args.claim, args.ca
    source = None
    try:
        if args.claim_file:
            source = claim_file.read(args.claim_file)
            server, claim, ca = server or source.server, claim or source.claim, ca or source.ca or None
        if not server or not claim:
            raise ConfigError("give --server and --claim, or --claim-file")
        if not server.startswith("https://"):
            raise ConfigError(f"--server: expected https://HOST:PORT, got {server!r}")
        places = _places(args)
    except ConfigError as e:
        print(f"خطا: {BAD_INPUT}\npishkhan: error: {terminal_safe(str(e))}", file=sys.stderr)
        return EXIT_CODES["local"]
    serial = FakeSerial(args.fake_serial) if args.fake_serial else PiSerial()
    enroller = Enroller(server=server, ca_file=ca or DEFAULT_CA, serial=serial, places=places)
    try:
        answer = enroller.enroll(claim, wait=args.wait, say=lambda line: print(line, file=sys.stderr, flush=True))
    except EnrolmentFailed as e:
        print(f"خطا: {e.message_fa}\nerror: {terminal_safe(e.message_en)}"
              + (f" ({terminal_safe(e.detail)})" if e.detail else ""), file=sys.stderr)
        enrolled_as = _enrolled_as(places) if e.reason == "claim_used" else None
        if enrolled_as:
            print(ALREADY.format(device_id=enrolled_as) + "\n" + ALREADY_EN.format(device_id=enrolled_as),
                  file=sys.stderr)
        return e.exit_code
    if source is not None:
        claim_file.erase(source.path)
    office = answer["office"]
    named = f"{office['office_id']} ({office['name']})" if office.get("name") else office["office_id"]
    fields = {"device_id": answer["device_id"], "office": terminal_safe(named, newlines=False),
              "province": answer["province"]}
    print(ENROLLED.format(**fields))
    print(ENROLLED_EN.format(**fields))
    print(NEXT)
    print(NEXT_EN)
    return 0
