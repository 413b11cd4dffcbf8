"""A small fleet for the dashboard's tests, made of real protocol messages through Fleet.ingest.

Province 23 (four offices): 2301 on time with the current boards; 2302 opened
25 minutes late today; 2303 offline since this morning, still showing last
month's national board (v3; v4 is current) and a lost message; 2304 closed
for 40 minutes in hours today, showing the current national board but not
the province's. Province 11: 1101 current, 1102 offline (a clean stop) whose
late opening was yesterday. Province 5: 0501 online with no board and only
the agent's readings. Official boards: national v3 (last month) and v4,
province 23 v1 and v2, province 11 v1 — each a real signed envelope.
"""

from __future__ import annotations

import datetime as dt
import io
import json

from central import registry
from central.fleet import Fleet
from pishkhan.boards.document import parse_board
from pishkhan.boards.layering import Layer, layer_boards
from pishkhan.boards.signing import SigningKey, verification_code
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics
from pishkhan.text import jalali

T = Topics()
TODAY = jalali.today()
#: The dashboard's "now": 10:52 in Tehran today, two minutes after the online devices' last messages (a device
#: silent past central.verification.SILENT_AFTER is offline, Last Will or not).
NOW = dt.datetime.combine(TODAY, dt.time(10, 52), jalali.TEHRAN)
OPEN, CLOSE = dt.time(8, 0), dt.time(14, 0)


def tehran(hour: int, minute: int = 0, *, day: dt.date = TODAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), jalali.TEHRAN)


def iso(moment: dt.datetime) -> str:
    return payloads.format_time(moment)


def _sample() -> dict:
    from importlib import resources

    return json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))


def national_board(version: int, *, fee_step: int) -> dict:
    board = _sample()
    board["version"] = version
    board["effective_from"] = (TODAY - dt.timedelta(days=40 if version == 3 else 3)).isoformat()
    for category in board["categories"]:
        for service in category["services"]:
            service["government_fee"] += fee_step
    return board


def province_board(province: str, version: int) -> dict:
    return {"format": "pishkhan.board/1", "issuer": f"کارگروه استانی {province}",
            "scope": {"level": "province", "province": province}, "version": version,
            "effective_from": (TODAY - dt.timedelta(days=10)).isoformat(),
            "categories": [{"code": f"P{province}", "title": "خدمات استانی", "services": [
                {"code": f"P{province}-01", "title": "صدور مجوز محلی", "government_fee": 500_000 * version,
                 "office_fee": 150_000}]}]}


class Official:
    """The signed official boards, their codes, and their rows in the ``official`` table."""

    def __init__(self):
        key = SigningKey.generate()
        self.envelopes = {
            ("national", 3): key.sign(national_board(3, fee_step=0)),
            ("national", 4): key.sign(national_board(4, fee_step=100_000)),
            ("province:23", 1): key.sign(province_board("23", 1)),
            ("province:23", 2): key.sign(province_board("23", 2)),
            ("province:11", 1): key.sign(province_board("11", 1)),
        }
        self.codes = {k: verification_code(e) for k, e in self.envelopes.items()}

    def layer(self, scope: str, version: int) -> dict:
        return {"scope": scope, "version": version, "verification_code": self.codes[(scope, version)]}

    def board(self, *layers: tuple[str, int]) -> dict:
        """The ``board`` a device reports when it shows these layers."""
        effective = layer_boards([Layer(parse_board(self.envelopes[l]["payload"]), self.codes[l]) for l in layers])
        return {"version": effective.version_label, "verification_code": effective.verification_code,
                "effective_from": effective.effective_from.isoformat(),
                "layers": [self.layer(*l) for l in layers]}

    def rows(self) -> list[tuple]:
        out = []
        for (scope, version), envelope in self.envelopes.items():
            payload = envelope["payload"]
            published = tehran(9, 0, day=TODAY - dt.timedelta(days=40 if (scope, version) == ("national", 3) else 3))
            out.append((scope, "board", version, self.codes[(scope, version)], payload["effective_from"],
                        payload["issuer"], iso(published), json.dumps(envelope, ensure_ascii=False)))
        return out

    def insert(self, db):
        db.write(lambda c: c.executemany(
            "INSERT INTO official(scope_key, kind, version, verification_code, effective_from, issuer, published_at, "
            "envelope) VALUES (?,?,?,?,?,?,?,?)", self.rows()))


def report_of_day(day: dt.date, runs: list[tuple[str, dt.datetime, dt.datetime]], *, until: dt.datetime,
                  events=(), device: str, office: str, province: str) -> dict:
    """A day's report shaped as pishkhan.compliance.judge.day_report makes it."""
    scheduled = int((dt.datetime.combine(day, CLOSE) - dt.datetime.combine(day, OPEN)).total_seconds() // 60)
    minutes = {s: 0 for s in ("serving", "degraded", "closed", "unknown")}
    for state, start, end in runs:
        minutes[state] += int((end - start).total_seconds() // 60)
    return {"date": day.isoformat(), "date_jalali": jalali.format_numeric(day), "complete": until >= tehran(14, day=day),
            "judged_until": iso(until), "periods": [{"start": iso(tehran(8, day=day)), "end": iso(tehran(14, day=day))}],
            "scheduled_minutes": scheduled, "judged_minutes": sum(minutes.values()),
            **{f"{k}_minutes": v for k, v in minutes.items()},
            "late_opening_minutes": sum(e["minutes"] for e in events if e["kind"] == "late_opening"),
            "early_closing_minutes": 0, "violation_minutes": minutes["closed"], "outages": [],
            "timeline": [{"state": s, "start": iso(a), "end": iso(b), "why": "kiosk" if s == "closed" else ""}
                         for s, a, b in runs],
            "events": list(events), "untrusted_boots": [], "device": device, "office": office, "province": province,
            "tickets_issued": 40, "tickets_served": 38, "wait_mean": 6.5, "wait_p90": 14.0}


def judge_event(kind: str, start: dt.datetime, end: dt.datetime, **detail) -> dict:
    return {"id": f"{kind}@{iso(start)}", "kind": kind, "start": iso(start), "end": iso(end),
            "minutes": int((end - start).total_seconds() // 60), "detail": detail}


class Device:
    def __init__(self, device_id: str, province: str, name: str):
        self.id, self.province, self.name = device_id, province, name
        self.office = f"{province}-{device_id[-4:]}"
        self.seq = 0
        self.messages = []

    def next(self, skip: int = 0) -> int:
        self.seq += 1 + skip
        return self.seq

    def send(self, stream: str, message: dict, received: dt.datetime):
        self.messages.append((T.device(self.id, stream), payloads.encode(message), iso(received)))

    def birth(self, at: dt.datetime, board: dict | None):
        will = self.next()
        self.send("status", payloads.birth(
            device=self.id, seq=self.next(), sent_at=iso(at), agent_version="0.1.0", software_version="0.1.0",
            boot_id=f"boot-{self.id}", started_at=iso(at), will_seq=will, protocol="5", board=board,
            schedule={"version": 2}, clock={"synchronized": True, "source": "adjtimex"}, province=self.province,
            office=self.office, office_name=self.name), at)
        return will

    def offline(self, will_seq: int, reason: str, received: dt.datetime):
        self.send("status", payloads.offline(device=self.id, seq=will_seq, sent_at=iso(received - dt.timedelta(hours=3)),
                                             reason=reason, boot_id=f"boot-{self.id}"), received)

    def telemetry(self, at: dt.datetime, *, depth: int = 0, health: bool = True, skip: int = 0):
        readings = {"cpu_temp_c": 51.5, "load_1m": 0.4, "net_iface": "eth0", "mem_available_kb": 1_200_000} \
            if health else {}
        self.send("telemetry", payloads.telemetry(
            device=self.id, seq=self.next(skip), sent_at=iso(at),
            agent={"uptime_s": 3600.0, "outbox": {"depth": depth, "bytes": depth * 300, "oldest_age_s": None,
                                                  "in_flight": 0, "dropped": {}, "refused": 0}}, readings={"device": readings}), at)

    def event(self, kind: str, start: dt.datetime, end: dt.datetime, **detail):
        minutes = int((end - start).total_seconds() // 60)
        self.send("event", payloads.event(device=self.id, seq=self.next(), sent_at=iso(end), event=kind, at=iso(start),
                                          detail={"minutes": minutes, **detail}), end)

    def report(self, report: dict, at: dt.datetime):
        self.send("report", payloads.report(device=self.id, seq=self.next(), sent_at=iso(at), date=report["date"],
                                            report=report), at)


def snapshot_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 180), "#1b7f3b")
    ImageDraw.Draw(image).rectangle((20, 20, 300, 160), fill="#ffffff")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def build(db) -> dict:
    """Fill *db* with the fleet; returns what the tests compare with."""
    official = Official()
    official.insert(db)
    current23 = official.board(("national", 4), ("province:23", 2))
    current11 = official.board(("national", 4), ("province:11", 1))
    old = official.board(("national", 3), ("province:23", 2))
    devices = {
        "dev-2301": Device("dev-2301", "23", "دفتر پیشخوان میدان انقلاب"),
        "dev-2302": Device("dev-2302", "23", "دفتر پیشخوان ونک"),
        "dev-2303": Device("dev-2303", "23", "دفتر پیشخوان تجریش"),
        "dev-2304": Device("dev-2304", "23", "دفتر پیشخوان نارمک"),
        "dev-1101": Device("dev-1101", "11", "دفتر پیشخوان مرکز تبریز"),
        "dev-1102": Device("dev-1102", "11", "دفتر پیشخوان مرند"),
        "dev-0501": Device("dev-0501", "5", "دفتر پیشخوان اراک"),
    }
    d = devices
    morning = tehran(7, 45)
    for dev, board in (("dev-2301", current23), ("dev-2302", current23), ("dev-2303", old),
                       ("dev-2304", official.board(("national", 4))), ("dev-1101", current11),
                       ("dev-1102", current11), ("dev-0501", None)):
        devices[dev].will = devices[dev].birth(morning, board)
        devices[dev].telemetry(tehran(10, 50), depth=3 if dev == "dev-2304" else 0, health=dev != "dev-0501")
    # 2301: on time all morning
    d["dev-2301"].report(report_of_day(TODAY, [("serving", tehran(8), tehran(10, 50))], until=tehran(10, 50),
                                       device="dev-2301", office=d["dev-2301"].office, province="23"), tehran(10, 50))
    # 2302: opened 25 minutes late, then a printer fault made it degraded for a while
    late = judge_event("late_opening", tehran(8), tehran(8, 25), opened_at=iso(tehran(8, 25)), why="kiosk")
    d["dev-2302"].event("late_opening", tehran(8), tehran(8, 25), opened_at=iso(tehran(8, 25)))
    d["dev-2302"].report(report_of_day(TODAY, [("closed", tehran(8), tehran(8, 25)),
                                               ("serving", tehran(8, 25), tehran(9, 40)),
                                               ("degraded", tehran(9, 40), tehran(10, 0)),
                                               ("serving", tehran(10, 0), tehran(10, 50))],
                                       until=tehran(10, 50), events=[late], device="dev-2302",
                                       office=d["dev-2302"].office, province="23"), tehran(10, 50))
    # 2303: lost a telemetry message, then went offline at 09:10
    d["dev-2303"].telemetry(tehran(9, 0), skip=1)
    d["dev-2303"].report(report_of_day(TODAY, [("serving", tehran(8), tehran(9, 10))], until=tehran(9, 10),
                                       device="dev-2303", office=d["dev-2303"].office, province="23"), tehran(9, 5))
    d["dev-2303"].offline(d["dev-2303"].will, "lost", tehran(9, 10))
    # 2304: closed 40 minutes in hours
    closed = judge_event("closed_during_hours", tehran(9, 30), tehran(10, 10), why="kiosk")
    d["dev-2304"].event("closed_during_hours", tehran(9, 30), tehran(10, 10))
    d["dev-2304"].report(report_of_day(TODAY, [("serving", tehran(8), tehran(9, 30)),
                                               ("closed", tehran(9, 30), tehran(10, 10)),
                                               ("unknown", tehran(10, 10), tehran(10, 20)),
                                               ("serving", tehran(10, 20), tehran(10, 50))],
                                       until=tehran(10, 50), events=[closed], device="dev-2304",
                                       office=d["dev-2304"].office, province="23"), tehran(10, 50))
    # 1101 on time; 1102 was late yesterday, and stopped cleanly today
    d["dev-1101"].report(report_of_day(TODAY, [("serving", tehran(8), tehran(10, 50))], until=tehran(10, 50),
                                       device="dev-1101", office=d["dev-1101"].office, province="11"), tehran(10, 50))
    yesterday = TODAY - dt.timedelta(days=1)
    d["dev-1102"].event("late_opening", tehran(8, day=yesterday), tehran(8, 30, day=yesterday))
    d["dev-1102"].offline(d["dev-1102"].will, "stopped", tehran(10, 0))
    for dev in devices.values():  # the centre's registry says where each device belongs
        registry.register(db, device_id=dev.id, office_id=dev.office, province=dev.province, office_name=dev.name)
    fleet = Fleet(db)
    batch = sorted((m for dev in devices.values() for m in dev.messages), key=lambda m: m[2])
    counts = fleet.ingest(batch)
    assert counts.refused == 0, counts.reasons
    db.execute("INSERT INTO snapshots(device_id, at, sha256, board_version, png) VALUES (?,?,?,?,?)",
               ("dev-2301", iso(tehran(10, 30)), "0" * 64, current23["version"], snapshot_png()))
    return {"fleet": fleet, "official": official, "devices": devices, "current23": current23, "old": old,
            "current11": current11}

