"""``pishkhan keys``: issuer keys and this device's trust list."""

from __future__ import annotations

from pishkhan.boards.signing import PublicKey, SigningKey
from pishkhan.boards.trust import trust_key, trusted_keys

from . import context


def register(sub, common):
    p = sub.add_parser("keys", parents=[common], help="make issuer keys, trust them on this device")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = s.add_parser("new", parents=[common], help="make an Ed25519 issuer key pair")
    new.add_argument("--out", required=True, metavar="DIR", help="folder for NAME.key and NAME.pub")
    new.add_argument("--name", default="issuer", help="file name stem (default: issuer)")
    new.set_defaults(handler=cmd_new)
    trust = s.add_parser("trust", parents=[common], help="trust an issuer's public key on this device")
    trust.add_argument("pub", metavar="PUB", help="public key file (PEM)")
    trust.add_argument("--scope", default="any",
                       help="the documents the key may sign (boards, schedules, releases): any, national, "
                            "province:CODE or office:CODE")
    trust.add_argument("--label", default="", help="a note, e.g. the issuer's name")
    trust.set_defaults(handler=cmd_trust)
    ls = s.add_parser("list", parents=[common], help="list the trusted keys")
    ls.set_defaults(handler=cmd_list)


def cmd_new(args):
    key = SigningKey.generate()
    private, public = key.save(args.out, args.name)
    print(f"key {key.public.fingerprint}\n  private: {private} (keep it secret)\n  public:  {public}")


def cmd_trust(args):
    cfg = context.config(args)
    with context.store(cfg) as st:
        fp = trust_key(st, PublicKey.load(args.pub), scope=args.scope, label=args.label, actor=context.actor())
    print(f"trusted {fp} for {args.scope} documents: boards, schedules, holiday lists, releases")


def cmd_list(args):
    cfg = context.config(args)
    with context.store(cfg) as st:
        for fp, (_, scope) in sorted(trusted_keys(st).items()):
            print(f"{fp}  {scope}")
