"""``pishkhan central publish|keys|command``: the centre pushes signed documents and commands.

:func:`register_publish` adds the three subcommands to ``pishkhan central``
(cli/central.py calls it). Until that module exists, :func:`register` makes
a ``central`` command holding only these.
"""

from __future__ import annotations


import json
import sys

from . import context


def _broker_args(p):
    p.add_argument("--broker", default="mqtt://localhost:1883", metavar="URL",
                   help="mqtt://HOST:PORT or mqtts://HOST:PORT (default: mqtt://localhost:1883)")
    p.add_argument("--username", default=None, metavar="U", help="MQTT user name")
    p.add_argument("--password-file", default=None, metavar="F", help="file whose first line is the password")
    p.add_argument("--ca-file", default=None, metavar="F", help="CA certificate for mqtts://")
    p.add_argument("--root", default=None, metavar="ROOT", help="topic root (default: pishkhan/v1)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the broker (default: 10)")


def _broker(args):
    from central.publish import Broker
    from pishkhan.protocol.topics import DEFAULT_ROOT

    return Broker.from_args(args.broker, username=args.username, password_file=args.password_file,
                            ca_file=args.ca_file, root=args.root or DEFAULT_ROOT)


def register_publish(central_subparsers, common):
    """Add ``publish``, ``keys`` and ``command`` under ``pishkhan central``."""
    s = central_subparsers
    p = s.add_parser("publish", parents=[common], help="sign and publish a board, schedule, holiday or trust list",
                     description="Sign the document (unless it is a signed envelope already), check it against "
                                 "the centre's trust list (the signature, and the key's scope against the "
                                 "document's), publish it retained at QoS 1 over MQTT 5 to its scope's topic, and "
                                 "check the broker accepted it. A document that fails the check is not published "
                                 "(exit 1, with a reason: signature_invalid, key_not_allowed, wrong_scope, …).")
    p.add_argument("kind", choices=("board", "schedule", "holidays", "trust", "circular"))
    p.add_argument("file", metavar="FILE", help="the document (JSON), or a signed envelope; a circular's PDF")
    p.add_argument("--scope", required=True, help="national, province:CODE, office:ID (with --device) or device:ID")
    p.add_argument("--device", default=None, help="the device that serves office:ID")
    p.add_argument("--key", default=None, metavar="K", help="private key file, or a key name in --keys-dir")
    p.add_argument("--keys-dir", default="keys", metavar="DIR", help="the keys folder (default: ./keys)")
    p.add_argument("--trust", required=True, metavar="FILE",
                   help="the centre's trust list (the file `central monitor --trust` reads): PEM public keys, each "
                        "after a 'Scope: national|province:CODE|office:CODE|any' line; a document is published only "
                        "if it verifies with a key allowed for its scope")
    _broker_args(p)
    from cli.central_circulars import add_arguments as circular_arguments
    circular_arguments(p)
    p.set_defaults(handler=cmd_publish)

    k = s.add_parser("keys", parents=[common], help="the centre's issuer and command keys")
    ks = k.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    new = ks.add_parser("new", parents=[common], help="make a key pair NAME in the keys folder")
    new.add_argument("name", metavar="NAME")
    new.add_argument("--kind", choices=("issuer", "command"), default="issuer")
    new.add_argument("--scope", default=None, help="issuer keys: national (default), province:CODE or office:CODE")
    new.add_argument("--dir", default="keys", metavar="DIR", help="the keys folder (default: ./keys)")
    new.set_defaults(handler=cmd_keys_new)
    ls = ks.add_parser("list", parents=[common], help="list the keys in the keys folder")
    ls.add_argument("--dir", default="keys", metavar="DIR", help="the keys folder (default: ./keys)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=cmd_keys_list)
    tl = ks.add_parser("trust-list", parents=[common],
                       help="write the trust list (`monitor --trust`, `publish --trust`) of the folder's issuer keys")
    tl.add_argument("--dir", default="keys", metavar="DIR", help="the keys folder (default: ./keys)")
    tl.add_argument("--out", required=True, metavar="FILE", help="the trust list file to write")
    tl.set_defaults(handler=cmd_keys_trust_list)

    c = s.add_parser("command", parents=[common], help="send a signed command to a device and wait for its result",
                     description="Sign a command with an expiry and a nonce, send it to dev/DEVICE/cmd and wait "
                                 "for its result on dev/DEVICE/result. Exit 1 when the device refuses or fails it.")
    c.add_argument("device", metavar="DEVICE")
    c.add_argument("name", metavar="NAME", help="ping, snapshot, resend_report, reload_config, set_log_level, "
                                                "restart_service or screen")
    c.add_argument("args", nargs="*", metavar="ARG=VALUE", help="the command's arguments, e.g. date=2026-12-01")
    c.add_argument("--key", required=True, metavar="K", help="command key: private key file or a name in --keys-dir")
    c.add_argument("--keys-dir", default="keys", metavar="DIR", help="the keys folder (default: ./keys)")
    c.add_argument("--lifetime", type=float, default=600, help="seconds until the command expires (default: 600)")
    c.add_argument("--wait", type=float, default=30, help="seconds to wait for the result (default: 30)")
    c.add_argument("--save-snapshot", default=None, metavar="PNG", help="snapshot: write the PNG here")
    _broker_args(c)
    c.set_defaults(handler=cmd_command)


def _load_key(args):
    from central.keys import KeyRing

    return KeyRing(args.keys_dir).load(args.key)


def cmd_publish(args) -> int:
    from central.publish import publish_document
    from central.trust import TrustList
    from pishkhan.boards.jsonlimits import load_json_file
    from pishkhan.exc import BoardInvalid, CentralError

    if args.kind == "circular":  # a PDF and its fields, not a JSON document (cli/central_circulars.py)
        from cli.central_circulars import cmd_publish_circular
        return cmd_publish_circular(args, broker=_broker(args))
    trust = TrustList.load(args.trust)
    try:
        data = load_json_file(args.file)
    except BoardInvalid as e:
        raise CentralError(f"{args.file}: {e}") from None
    key = _load_key(args) if args.key else None
    done = publish_document(_broker(args), args.kind, data, scope=args.scope, trust=trust, key=key,
                            device=args.device, timeout=args.timeout)
    print(f"published {done['kind']} v{done['version']} ({done['verification_code']}, key {done['key']}, "
          f"verified against {done['trust']} with scope {done['key_scope']}) to {done['topic']}, retained; "
          f"the broker accepted it (reason code 0x{done['reason_code']:02x})")
    return 0


def cmd_keys_new(args) -> int:
    from central.keys import KeyRing

    info = KeyRing(args.dir).new(args.name, kind=args.kind, scope=args.scope)
    print(f"{info.kind} key {info.name} {info.fingerprint} (scope {info.scope})\n"
          f"  private: {info.path} (keep it secret)\n  public:  {info.path.with_suffix('.pub')}")
    return 0


def cmd_keys_list(args) -> int:
    from central.keys import KeyRing

    keys = KeyRing(args.dir).list()
    if args.json:
        context.print_json([k.to_json() for k in keys])
        return 0
    for k in keys:
        print(f"{k.name:20} {k.kind:8} {k.scope:16} {k.fingerprint}  {k.created_at}")
    if not keys:
        print(f"no keys in {args.dir}", file=sys.stderr)
    return 0


def cmd_keys_trust_list(args) -> int:
    from central.keys import KeyRing
    from central.trust import TrustList
    from pishkhan.tls import write_file

    text = KeyRing(args.dir).trust_list()
    write_file(args.out, text.encode("ascii"), mode=0o644)
    print(f"{args.out}: {len(TrustList.load(args.out).keys)} issuer key(s) with their scopes")
    return 0


def _parse_args(items) -> dict:
    from pishkhan.exc import CentralError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CentralError(f"command arguments are NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def cmd_command(args) -> int:
    import base64

    from central.publish import send_command

    result = send_command(_broker(args), args.device, args.name, _parse_args(args.args), key=_load_key(args),
                          lifetime_s=args.lifetime, timeout=args.wait)
    detail = result.get("detail") or {}
    if args.save_snapshot and result.get("ok") and "png_base64" in detail:
        from pathlib import Path
        Path(args.save_snapshot).write_bytes(base64.b64decode(detail["png_base64"]))
    shown = dict(result)
    if "png_base64" in detail:
        shown["detail"] = detail | {"png_base64": f"({len(detail['png_base64'])} base64 characters)"}
    print(json.dumps(shown, ensure_ascii=False, indent=1))
    if not result.get("ok"):
        print(f"pishkhan: error: {args.device} refused {args.name}: {result.get('reason')}: "
              f"{detail.get('message', '')}", file=sys.stderr)
        return 1
    return 0



