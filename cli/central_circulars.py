"""``pishkhan central publish circular FILE.pdf --number … --title … --kind … --summary … --scope …``: the PDF into
the circulars' pool, the scope's next index signed and published retained (central/circulars, docs/circulars.md).

The options are added to ``central publish`` (cli/central_publish.py) and used only with the kind ``circular``.
"""

from __future__ import annotations

DEFAULT_DB = "fleet.db"
DEFAULT_POOL = "circulars/pool"


def add_arguments(p):
    """The circular's options on the ``publish`` parser (ignored by the other kinds)."""
    g = p.add_argument_group("circular", "with the kind circular: FILE is the PDF (at most 20 MiB)")
    g.add_argument("--number", default=None, help="the circular's number, e.g. 1405/123")
    g.add_argument("--title", default=None, help="its title (Persian, at most 200 characters)")
    g.add_argument("--kind", dest="circular_kind", default="circular",
                   choices=("circular", "instruction", "regulation", "tariff_list"),
                   help="بخشنامه circular (default), دستورالعمل instruction, آیین‌نامه regulation, "
                        "فهرست تعرفه tariff_list")
    g.add_argument("--summary", default=None, help="a short Persian summary (at most 2,000 characters)")
    g.add_argument("--issuer", default=None, help="who issues it (default: the centre, or the scope's province)")
    g.add_argument("--issued-on", default=None, metavar="JALALI", help="Jalali date YYYY-MM-DD (default: today)")
    g.add_argument("--effective-on", default=None, metavar="JALALI",
                   help="Jalali date YYYY-MM-DD, not before --issued-on (default: the issue date)")
    g.add_argument("--supersedes", action="append", default=[], metavar="NUMBER",
                   help="a circular this one replaces (repeatable, at most 20)")
    g.add_argument("--urgent", action="store_true", help="mark it urgent")
    g.add_argument("--db", default=DEFAULT_DB, metavar="URL", help="fleet database (default: fleet.db)")
    g.add_argument("--circulars-pool", default=DEFAULT_POOL, metavar="DIR",
                   help=f"the attachments' pool the enrolment server serves (default: {DEFAULT_POOL})")


def cmd_publish_circular(args, *, broker) -> int:
    """``pishkhan central publish circular``, publishing through *broker* (a :class:`central.publish.Broker`)."""
    from central.circulars.pool import PdfPool
    from central.circulars.publisher import BrokerPublisher, Circulars
    from central.db import open_db
    from central.keys import KeyRing
    from central.trust import TrustList
    from pishkhan.exc import ConfigError

    missing = [f"--{name}" for name in ("number", "title", "summary", "key") if not getattr(args, name)]
    if missing:
        raise ConfigError(f"publish circular needs {', '.join(missing)}")
    trust = TrustList.load(args.trust)
    key = KeyRing(args.keys_dir).load(args.key)
    db = open_db(args.db)
    try:
        circulars = Circulars(db, pool=PdfPool(args.circulars_pool),
                              publisher=BrokerPublisher(broker, trust=trust, timeout=args.timeout))
        done = circulars.publish(args.file, number=args.number, kind=args.circular_kind, title=args.title,
                                 summary=args.summary, scope=args.scope, key=key, issuer=args.issuer,
                                 issued_on=args.issued_on, effective_on=args.effective_on,
                                 supersedes=args.supersedes, urgent=args.urgent)
    finally:
        db.close()
    entry = done["entry"]
    print(f"published circular {entry['number']} ({entry['kind']}, {entry['attachment']['size']:,} bytes, sha256 "
          f"{entry['attachment']['sha256']}) in the {done['scope']} index v{done['version']} "
          f"({done['entries']} circulars, {done['verification_code']}) to {done['topic']}, retained; the broker "
          f"accepted it (reason code 0x{done['reason_code']:02x})")
    return 0
