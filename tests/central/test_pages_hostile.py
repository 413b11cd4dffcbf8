"""No stored row can break a page: whatever the fleet database holds, every page answers.

The rows are written straight into the fleet database with plain SQL, past
any validation on the way in, as if the monitor had let anything through
(or an older monitor had): devices with any board, schedule, clock,
telemetry and compliance JSON, events, reports, official rows, snapshots.
Every page, JSON endpoint, the CSV report and ``/metrics`` must answer for
the national user and for a province user, and what could not be read is
shown as unknown and counted.
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import dashboard_fleet as F
import pytest
from dashboard_client import TOKEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.db import open_db
from central.fleet import Fleet
from central.users import Users
from central.web.app import create_app
from pishkhan.protocol import payloads

USERS = {"admin": ("centre-pass-1", None), "ops23": ("tehran-pass-2", "23")}
NOW = F.NOW
TODAY = F.TODAY
RECEIVED = F.iso(NOW - dt.timedelta(minutes=30))
TABLES = ("devices", "events", "reports", "official", "snapshots", "seen", "registry", "claims", "refusals",
          "certificates", "enrolment_log")


def login(client, username: str, password: str):
    """Log *client* in through the real login form (the one place to adapt when the form changes)."""
    form = client.get("/login")
    token = TOKEN.search(form.text).group(1)  # the form's CSRF token (its seed cookie is in the client)
    response = client.post("/login", data={"username": username, "password": password, "next": "/",
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from starlette.testclient import TestClient

    db = open_db(str(tmp_path_factory.mktemp("hostile") / "fleet.db"))
    users = Users(db)
    for name, (password, province) in USERS.items():
        users.add(name, password, province=province)
    app = create_app(Fleet(db), now=lambda: NOW, metrics_cache_seconds=0)
    clients = {}
    for name, (password, _) in USERS.items():
        # entered: one event loop and its worker threads for all requests (each thread holds a connection)
        clients[name] = TestClient(app).__enter__()
        login(clients[name], name, password)
    yield {"db": db, "clients": clients}
    for client in clients.values():
        client.__exit__(None, None, None)
    db.close()


# -- what the rows hold ------------------------------------------------------------------------------------

HOSTILE_CHARS = "\u202e\u202d\u2066\u2069\u200e\u200f\u061c\ufeff\x00\x1b\x07\t\r\n=+-@<>&\"'/%?#\\{}[]"
texts = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.text(alphabet=HOSTILE_CHARS + "۰۱۲23ab", max_size=12),
    st.sampled_from(["23", "11", "", "national", "province:23", "office:23-1234", "=HYPERLINK(\"http://x\")",
                     "23-\u202e4321", "+1", "-1", "@SUM(A1)", "²", "١٢", "9" * 40]),
    st.just("x" * 5000),
)
times = st.one_of(
    st.sampled_from([F.iso(NOW), F.iso(F.tehran(8, 25)), "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                     "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-13-45T99:99:99Z",
                     "", "Z", "2099-01-01T00:00:00Z"]),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)).map(
        lambda t: t.isoformat() + "Z"),
    texts,
)
numbers = st.one_of(st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.integers(0, 1500),
                    st.floats(allow_nan=True, allow_infinity=True), st.booleans())
leaves = st.one_of(st.none(), numbers, texts, times)
json_values = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(texts, inner, max_size=4)),
                           max_leaves=12)


def anything(shaped):
    """A value of the shape the protocol promises (*shaped*) or of any other."""
    return st.one_of(shaped, shaped, json_values)


def shaped_dict(required: dict, optional: dict | None = None):
    return st.fixed_dictionaries({k: anything(v) for k, v in required.items()},
                                 optional={k: anything(v) for k, v in (optional or {}).items()})


official = F.Official()
CODES = list(official.codes.values())
codes = st.one_of(st.sampled_from(CODES + ["FAKE-0000"]), texts)
layer = shaped_dict({"scope": st.sampled_from(["national", "province:23", "province:11", "office:23-1234"]),
                     "version": st.integers(0, 6), "verification_code": codes})
board = st.one_of(
    st.sampled_from([official.board(("national", 4), ("province:23", 2)), official.board(("national", 3)),
                     official.board(("national", 4), ("province:11", 1))]),
    shaped_dict({"version": st.text(max_size=5), "verification_code": codes, "layers": st.lists(layer, max_size=4)},
                {"effective_from": times}),
)
run = shaped_dict({"state": st.sampled_from(["serving", "degraded", "closed", "unknown"]), "start": times,
                   "end": times}, {"why": texts})
event_item = shaped_dict({"kind": st.sampled_from(["late_opening", "closed_during_hours", "early_closing"]),
                          "start": times, "minutes": numbers}, {"detail": shaped_dict({}, {"opened_at": times})})
report = shaped_dict(
    {"date": st.just(TODAY.isoformat()), "scheduled_minutes": numbers, "serving_minutes": numbers,
     "timeline": st.lists(run, max_size=5), "events": st.lists(event_item, max_size=3)},
    {"degraded_minutes": numbers, "closed_minutes": numbers, "unknown_minutes": numbers,
     "late_opening_minutes": numbers,
     "complete": json_values, "judged_until": times, "periods": st.lists(shaped_dict({"start": times, "end": times})),
     "office": texts, "province": texts, "state": texts})
telemetry = shaped_dict({"agent": shaped_dict({"outbox": shaped_dict({"depth": numbers})})},
                        {"health": st.dictionaries(st.sampled_from(["cpu_temp_c", "load_1m", "throttled", "net_addr"]),
                                                   json_values),
                         "device": st.dictionaries(texts, json_values, max_size=5)})
clock = shaped_dict({"synchronized": st.booleans()}, {"source": texts})
schedule = shaped_dict({"version": st.integers(0, 9)})
GARBAGE = ["{", "[" * 5000 + "]" * 5000, "NaN", "1e999", '"\\ud800"', "null", "5", '"text"', "[]", "{}",
           "{\"a\": 1, \"a\": 2}", json.dumps({"layers": 5}), json.dumps({"events": 5}), "9" * 5000]


def stored_json(shaped):
    """A JSON column: the shape it should have, any JSON at all, or text that is not JSON."""
    return st.one_of(anything(shaped).map(lambda v: json.dumps(v, ensure_ascii=False)), st.sampled_from(GARBAGE),
                     st.none())


def not_null(strategy):
    return strategy.map(lambda v: "" if v is None else v)


DEVICE_IDS = ["dev-2301", "dev-2302", "dev-1101", "dev 23/?", "dev-\u202e1032", "=cmd"]
#: Drawn, never filtered: with the lists' unique ids, filtering made hypothesis's filter_too_much health check
#: fail now and then.
device_ids = st.one_of(st.sampled_from(DEVICE_IDS),
                       st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))
provinces = st.one_of(st.sampled_from(["23", "23", "11", ""]), texts)
bigint = st.integers(min_value=0, max_value=2 ** 63 - 1)

device_rows = st.lists(st.tuples(
    device_ids, provinces, not_null(texts), not_null(texts), st.integers(-3, 3), times, not_null(texts),
    st.one_of(st.none(), bigint), times, stored_json(board), stored_json(schedule), stored_json(clock),
    stored_json(telemetry), times, stored_json(report), bigint, bigint, bigint,
), max_size=5, unique_by=lambda r: r[0])
identity = shaped_dict({"province": provinces, "office_id": texts, "office_name": texts})
mismatch = shaped_dict({"fields": st.lists(st.sampled_from(["province", "office_id", "office_name"]) | texts,
                                           max_size=4),
                        "registered": identity, "claimed": identity})
event_rows = st.lists(st.tuples(
    device_ids, provinces, st.one_of(st.none(), bigint),
    st.sampled_from(["late_opening", "closed_during_hours", "early_closing", "offline", "printer_out", "outage",
                     "identity_mismatch", "identity_mismatch"])
    | texts, times, st.one_of(st.just(RECEIVED), times), not_null(st.one_of(stored_json(shaped_dict(
        {"minutes": numbers}, {"opened_at": times, "reason": st.sampled_from(["lost", "stopped"])})),
        stored_json(mismatch)))), max_size=6)
report_rows = st.lists(st.tuples(
    device_ids, st.sampled_from([TODAY.isoformat(), (TODAY - dt.timedelta(days=1)).isoformat()]) | texts,
    provinces, not_null(stored_json(report)), st.one_of(st.just(RECEIVED), times),
), max_size=5, unique_by=lambda r: (r[0], r[1]))
REAL_OFFICIAL = official.rows()
service = shaped_dict({"code": texts, "title": texts, "government_fee": numbers, "office_fee": numbers})
payload = shaped_dict({"format": st.just("pishkhan.board/1"), "issuer": texts, "version": numbers,
                       "scope": shaped_dict({"level": st.sampled_from(["national", "province"])},
                                            {"province": st.just("23")}),
                       "effective_from": st.sampled_from([TODAY.isoformat(), "9999-12-31", "0001-01-01"]) | texts,
                       "categories": st.lists(shaped_dict({"code": texts, "title": texts,
                                                           "services": st.lists(service, max_size=3)}), max_size=2)})
official_rows = st.lists(st.one_of(
    st.sampled_from(REAL_OFFICIAL),
    st.tuples(st.sampled_from(["national", "province:23", "office:23-1234"]) | texts,
              st.sampled_from(["board", "schedule"]), st.integers(0, 2 ** 63 - 1), codes, not_null(times),
              not_null(texts), times, not_null(stored_json(st.sampled_from([e for e in official.envelopes.values()])
                                                            | shaped_dict({"payload": payload})))),
), max_size=5, unique_by=lambda r: (r[1], r[0], r[2]))


def with_its_code(row):
    """An official row whose code is computed from its (hostile) envelope, so the pages read its payload."""
    from pishkhan.boards.signing import verification_code
    from pishkhan.exc import PishkhanError

    try:
        code = verification_code(json.loads(row[7]))
    except (ValueError, TypeError, AttributeError, RecursionError, PishkhanError):
        return row
    return row[:3] + (code,) + row[4:]


official_rows = official_rows.map(lambda rows: [with_its_code(r) for r in rows])
#: The registry, what births claimed, and refused messages (central/registry.py, central.fleet.Fleet.refusals).
listed_ids = device_ids
registry_rows = st.lists(st.tuples(listed_ids, not_null(provinces), not_null(texts), not_null(texts), not_null(times),
                                   not_null(times), st.one_of(st.none(), times)), max_size=4, unique_by=lambda r: r[0])
claim_rows = st.lists(st.tuples(listed_ids, not_null(provinces), not_null(texts), not_null(texts), not_null(times)),
                      max_size=4, unique_by=lambda r: r[0])
REASONS = list(payloads.REFUSALS)
counts = st.one_of(bigint, st.integers(-5, 5), st.floats(allow_nan=False), not_null(texts))
refusal_rows = st.lists(st.tuples(listed_ids, st.sampled_from(REASONS) | not_null(texts), counts, not_null(times),
                                  not_null(texts)), max_size=6, unique_by=lambda r: (r[0], r[1]))
#: Issued certificates and the enrolment log (central/certificates.py), as the dashboard reads them.
LOG_KINDS = ["claim_made", "enrolled", "enrolment_repeated", "enrolment_refused", "renewed", "renewal_refused",
             "revoked"]
certificate_rows = st.lists(st.tuples(not_null(texts), listed_ids, not_null(texts), not_null(times), not_null(times),
                                      not_null(times), st.sampled_from(["enrolled", "renewed"]) | not_null(texts),
                                      st.one_of(st.none(), times), not_null(texts)),
                            max_size=4, unique_by=lambda r: r[0])
enrolment_rows = st.lists(st.tuples(not_null(times), not_null(listed_ids | texts), not_null(texts),
                                    st.sampled_from(LOG_KINDS) | not_null(texts), not_null(texts), not_null(texts),
                                    not_null(stored_json(shaped_dict({}, {"claim": texts, "serial": texts})))),
                          max_size=5)
snapshot_rows = st.lists(st.tuples(device_ids, times, not_null(texts), st.one_of(st.none(), texts),
                                   st.binary(max_size=64)), max_size=2, unique_by=lambda r: r[0])


def fill(db, devices, events, reports, officials, snapshots, registry=(), claims=(), refusals=(), certificates=(),
         enrolment=()):
    """Replace the fleet database's rows with these, by plain SQL."""
    def work(c):
        for table in TABLES:
            c.execute(f"DELETE FROM {table}")
        c.executemany("INSERT INTO devices(device_id, province, office_id, office_name, online, status_since, "
                      "status_reason, will_seq, last_seen, board, schedule, clock, telemetry, telemetry_at, "
                      "compliance, highest_seq, received, duplicates) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", devices)
        c.executemany("INSERT INTO events(device_id, province, seq, kind, at, received_at, detail) "
                      "VALUES (?,?,?,?,?,?,?)", events)
        c.executemany("INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)",
                      reports)
        c.executemany("INSERT INTO official(scope_key, kind, version, verification_code, effective_from, issuer, "
                      "published_at, envelope) VALUES (?,?,?,?,?,?,?,?)", officials)
        c.executemany("INSERT INTO snapshots(device_id, at, sha256, board_version, png) VALUES (?,?,?,?,?)",
                      snapshots)
        c.executemany("INSERT INTO registry(device_id, province, office_id, office_name, registered_at, changed_at, "
                      "retired_at) VALUES (?,?,?,?,?,?,?)", registry)
        c.executemany("INSERT INTO claims(device_id, province, office_id, office_name, at) VALUES (?,?,?,?,?)", claims)
        c.executemany("INSERT INTO refusals(device_id, reason, refused, last_at, last_message) VALUES (?,?,?,?,?)",
                      refusals)
        c.executemany("INSERT INTO certificates(serial, device_id, fingerprint, not_before, not_after, issued_at, how, "
                      "revoked_at, revoked_reason) VALUES (?,?,?,?,?,?,?,?,?)", certificates)
        c.executemany("INSERT INTO enrolment_log(at, device_id, office_id, kind, reason, address, detail) "
                      "VALUES (?,?,?,?,?,?,?)", enrolment)
    db.write(work)


PAGES = ("/", "/?format=json", "/api/fleet", "/?state=late", "/?province=23", "/?state=outdated&province=11",
         "/devices", "/api/devices", "/devices?state=closed", "/devices?province=23&format=json",
         f"/report?date={TODAY}", f"/api/report?date={TODAY}", f"/report?date={TODAY}&format=json",
         f"/report?province=23&date={TODAY}", f"/report.csv?date={TODAY}", "/metrics", "/releases", "/health")


def answers(client, path: str):
    response = client.get(path)
    assert response.status_code < 500, (path, response.status_code)
    if response.status_code == 200 and ("format=json" in path or path.startswith("/api/")):
        response.json()
    return response


def check_every_page(site, device_ids, verify_codes):
    for name, client in site["clients"].items():
        for path in PAGES:
            assert answers(client, path).status_code == 200, (name, path)
        for device_id in device_ids:
            quoted = quote(device_id, safe="")
            for path in (f"/device/{quoted}", f"/api/device/{quoted}", f"/device/{quoted}/snapshot.png",
                         f"/device/{quoted}/day?date={TODAY}"):
                answers(client, path)
        for code in verify_codes:
            quoted = quote(code, safe="")
            for path in (f"/verify/{quoted}", f"/api/verify/{quoted}"):
                answers(client, path)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # the long texts' reprs
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(devices=device_rows, events=event_rows, reports=report_rows, officials=official_rows, snapshots=snapshot_rows,
       registry=registry_rows, claims=claim_rows, refusals=refusal_rows, certificates=certificate_rows,
       enrolment=enrolment_rows)
def test_every_page_answers_whatever_the_database_holds(site, devices, events, reports, officials, snapshots,
                                                        registry, claims, refusals, certificates, enrolment):
    fill(site["db"], devices, events, reports, officials, snapshots, registry, claims, refusals, certificates,
         enrolment)
    verify = {row[3] for row in officials}
    for row in devices:
        try:
            shown = json.loads(row[9])
            verify.add(shown["verification_code"])
        except Exception:
            pass
    verify = {code for code in verify if isinstance(code, str) and code.strip()}
    check_every_page(site, [row[0] for row in devices] + ["dev-2301"], sorted(verify)[:4] + ["A" * 5000])
    # no device is lost from the lists, whatever it holds
    listed = site["clients"]["admin"].get("/api/devices").json()["devices"]
    # a device with no province is not registered: quarantined, in no list
    assert sorted(d["device_id"] for d in listed) == sorted(row[0] for row in devices if row[1] != "")
    listed = site["clients"]["ops23"].get("/api/devices").json()["devices"]
    assert sorted(d["device_id"] for d in listed) == sorted(row[0] for row in devices if row[1] == "23")
    # the quarantine: every device with no province, to a national user only
    quarantine = site["clients"]["admin"].get("/api/fleet").json()["quarantine"]
    assert sorted(d["device_id"] for d in quarantine["devices"]) == sorted(row[0] for row in devices if row[1] == "")
    assert "quarantine" not in site["clients"]["ops23"].get("/api/fleet").json()


# -- the rows that broke the pages, one by one -----------------------------------------------------------------


def a_device(device_id="dev-2301", *, province="23", board=None, telemetry=None, compliance=None):
    return (device_id, province, "23-1234", "دفتر پیشخوان", 1, F.iso(NOW), "", 3, F.iso(NOW),
            board, None, None, telemetry, F.iso(NOW), compliance, 5, 5, 0)


def unreadable_on(client, path: str) -> int:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.json()["unreadable"]


def unreadable_metric(client) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200
    return sum(float(line.rsplit(" ", 1)[1]) for line in response.text.splitlines()
               if line.startswith("pishkhan_unreadable_values{"))


def test_an_event_in_year_9999_is_unknown_and_counted(site):
    fill(site["db"], [a_device()], [("dev-2301", "23", 4, "late_opening", "9999-12-31T23:59:59Z", RECEIVED,
                                     '{"minutes": 12, "opened_at": "9999-12-31T23:59:59Z"}')], [], [], [])
    check_every_page(site, ["dev-2301"], [])
    for client in site["clients"].values():
        assert unreadable_on(client, "/api/fleet") == 1
        assert unreadable_on(client, "/api/device/dev-2301") >= 1
        assert unreadable_metric(client) == 1
        assert 'id="unreadable"' in client.get("/devices").text


def test_a_report_whose_events_is_a_number_is_counted(site):
    report = json.dumps({"date": TODAY.isoformat(), "events": 5, "serving_minutes": 10, "scheduled_minutes": 20})
    fill(site["db"], [a_device()], [], [("dev-2301", TODAY.isoformat(), "23", report, RECEIVED)], [], [])
    check_every_page(site, ["dev-2301"], [])
    for client in site["clients"].values():
        got = client.get(f"/api/report?date={TODAY}").json()
        assert got["unreadable"] == 1 and got["totals"]["serving_minutes"] == 10
        assert unreadable_on(client, "/api/device/dev-2301") >= 1
        assert 'id="unreadable"' in client.get(f"/report?date={TODAY}").text


def test_a_board_whose_layers_is_a_number_is_unknown_and_counted(site):
    fill(site["db"], [a_device(board=json.dumps({"version": "4", "verification_code": "K7QM-2XHD", "layers": 5}))],
         [], [], REAL_OFFICIAL, [])
    check_every_page(site, ["dev-2301"], [])
    for client in site["clients"].values():
        fleet = client.get("/api/devices").json()
        assert fleet["unreadable"] == 1 and fleet["devices"][0]["board"]["layers"] == []
        assert unreadable_metric(client) == 1


def test_minutes_beyond_a_day_are_not_summed(site):
    report = json.dumps({"date": TODAY.isoformat(), "serving_minutes": 2 ** 62, "closed_minutes": -50,
                         "scheduled_minutes": 360, "late_opening_minutes": 1e300})
    fill(site["db"], [a_device()], [], [("dev-2301", TODAY.isoformat(), "23", report, RECEIVED)], [], [])
    got = site["clients"]["admin"].get(f"/api/report?date={TODAY}").json()
    assert got["totals"]["serving_minutes"] == 0 and got["totals"]["closed_minutes"] == 0
    assert got["totals"]["scheduled_minutes"] == 360 and got["unreadable"] == 3


def test_bidi_and_control_characters_are_shown_written_out(site):
    fill(site["db"], [a_device(board=json.dumps({"version": "1", "verification_code": "X\u202eY", "layers": []}))
                      [:3] + ("دفتر \u202e4321-23\x1b",) + a_device()[4:]], [], [], [], [])
    page = site["clients"]["admin"].get("/device/dev-2301").text
    assert "\u202e" not in page and "\x1b" not in page
    assert "\\u202e4321-23\\x1b" in page


def test_a_lone_surrogate_or_nan_in_stored_json_is_not_a_500(site):
    telemetry = '{"device": {"name": "\\ud800", "temp": NaN, "big": 1e999}}'
    fill(site["db"], [a_device(telemetry=telemetry)], [("dev-2301", "23", 4, "offline", F.iso(NOW), RECEIVED,
                                                          '{"reason": "\\udfff", "x": NaN}')], [], [], [])
    check_every_page(site, ["dev-2301"], [])
    office = site["clients"]["admin"].get("/api/device/dev-2301").json()
    assert office["device"]["telemetry"]["device"] == {"name": "\ufffd", "temp": None, "big": None}
    assert office["unreadable"] >= 3


@pytest.mark.parametrize("text", GARBAGE)
def test_text_that_is_not_the_json_expected_in_every_column(site, text):
    """Each of these in every JSON column at once: not JSON, 5,000 levels deep, NaN, a lone surrogate, …"""
    device = a_device(board=text, telemetry=text, compliance=text)[:10] + (text, text) + a_device()[12:]
    fill(site["db"], [device], [("dev-2301", "23", 4, "late_opening", F.iso(NOW), RECEIVED, text)],
         [("dev-2301", TODAY.isoformat(), "23", text, RECEIVED)],
         [REAL_OFFICIAL[0][:7] + (text,)], [])
    check_every_page(site, ["dev-2301"], [REAL_OFFICIAL[0][3]])


def test_refusal_counts_that_are_not_whole_numbers_are_left_out_and_counted(site):
    refusals = [("dev-2301", "schema", 2, F.iso(NOW), "breaks its schema"),
                ("dev-2301", "time", "many", F.iso(NOW), "x"),                                  # text in a count
                ("dev-2301", "\u202enot_json", 1, "9999-12-31T23:59:59Z", "\x1b[2J"),          # a bidi code, year 9999
                ("dev-2301", "too_large", -3, "", ""),                                          # below zero
                ("dev-2301", "minutes", 2 ** 63 - 1, F.iso(NOW), "")]                           # beyond any real count
    fill(site["db"], [a_device()], [], [], [], [], refusals=refusals)
    check_every_page(site, ["dev-2301"], [])
    for client in site["clients"].values():
        office = client.get("/api/device/dev-2301").json()
        assert office["refusals"]["refused"] == 3 and office["unreadable"] == 3
        assert [r["reason"] for r in office["refusals"]["by_reason"]] == ["schema", "\u202enot_json"]
        assert office["refusals"]["last_reason"] == "schema"
        page = client.get("/device/dev-2301").text
        assert "\u202e" not in page and "\x1b" not in page and "\\u202enot_json" in page
        rows = client.get("/api/devices").json()["devices"]
        assert rows[0]["refused"] == 3


def test_an_identity_mismatch_of_any_shape_is_shown_or_left_as_it_is(site):
    details = [{"fields": ["province", 5, None], "registered": {"province": {"x": 1}}, "claimed": {"province": "24"}},
               {"fields": "province", "registered": [], "claimed": 7},
               {"fields": ["office_id"] * 50, "registered": {"office_id": "23-\u202e4321"}, "claimed": {}}]
    events = [("dev-2301", "23", i, "identity_mismatch", F.iso(NOW), RECEIVED, json.dumps(d))
              for i, d in enumerate(details)]
    fill(site["db"], [a_device()], events, [], [], [])
    check_every_page(site, ["dev-2301"], [])
    alerts = site["clients"]["ops23"].get("/api/fleet").json()["alerts"]
    shown = {a["seq"]: a["mismatch"] for a in alerts}
    assert shown[0] == [{"field": "province", "label": "استان", "registered": None, "claimed": "24"}]
    assert shown[1] is None and len(shown[2]) == 5
    assert "\u202e" not in site["clients"]["ops23"].get("/").text


# -- releases: the rollouts, the devices' update steps and reported releases, whatever they hold --------------
RELEASE_TABLES = ("rollouts", "rollout_log", "release_devices", "device_release")
# (no NaN: SQLite stores it as NULL, which the NOT NULL columns refuse)
stored_numbers = st.one_of(st.floats(allow_nan=False, allow_infinity=True), st.integers(-10**12, 10**12), texts)
rollout_rows = st.lists(st.tuples(
    texts, st.sampled_from(["national", "province:23", "office:OFF-1", "device:dev-2301"]) | texts,
    st.sampled_from(['["pishkhan/v1/all/release"]']) | texts, texts, texts, texts,
    st.sampled_from(["canary", "promoted", "complete", "halted", "superseded"]) | texts, times,
    stored_numbers, stored_numbers, stored_numbers, stored_numbers, texts,
    st.sampled_from(GARBAGE) | st.just(json.dumps({"canary_percent": 5})), times, texts,
    st.sampled_from(GARBAGE) | st.just(json.dumps({"message": "\u202eevil"})) | texts), max_size=3,
    unique_by=lambda row: row[0])
release_device_rows = st.lists(st.tuples(
    texts, st.sampled_from(["dev-2301", "dev-1101"]) | texts, st.sampled_from(["23", "11"]) | texts,
    st.sampled_from(["pending", "in_window", "installed", "healthy", "rolled_back", "failed"]) | texts,
    texts, texts, texts, texts, texts, texts, times, times, times), max_size=4, unique_by=lambda row: row[:2])
device_release_rows = st.lists(st.tuples(
    st.sampled_from(["dev-2301", "dev-1101"]) | texts, texts, texts, texts, texts, texts, texts, texts, times, times),
    max_size=3, unique_by=lambda row: row[0])


def fill_releases(db, rollouts, release_devices, device_release, devices=()):
    def work(c):
        for table in RELEASE_TABLES + TABLES:
            c.execute(f"DELETE FROM {table}")
        c.executemany("INSERT INTO devices(device_id, province, office_id, office_name, online, status_since, "
                      "status_reason, will_seq, last_seen, board, schedule, clock, telemetry, telemetry_at, "
                      "compliance, highest_seq, received, duplicates) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", devices)
        c.executemany("INSERT INTO rollouts(rollout, scope_key, topic, sha256, package_version, architecture, stage, "
                      "stage_since, canary_percent, soak_seconds, halt_threshold, doc_version, document_code, "
                      "document, created_at, halted_reason, halted_detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      rollouts)
        c.executemany("INSERT INTO release_devices(rollout, device_id, province, state, step, reason, detail, "
                      "from_version, to_version, document_code, first_at, at, received_at) "
                      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", release_devices)
        c.executemany("INSERT INTO device_release(device_id, rollout, document_code, scope, package_version, state, "
                      "reason, running_version, at, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)", device_release)
    db.write(work)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(rollouts=rollout_rows, release_devices=release_device_rows, device_release=device_release_rows)
def test_the_releases_page_answers_whatever_the_release_tables_hold(site, rollouts, release_devices,
                                                                    device_release):
    fill_releases(site["db"], rollouts, release_devices, device_release,
                  [a_device(), a_device("dev-1101", province="11")])
    for client in site["clients"].values():
        for path in ("/releases", "/api/releases", "/releases?province=11", "/metrics"):
            assert answers(client, path).status_code == 200, path


def test_a_rollout_that_cannot_be_read_is_shown_as_unknown_and_counted(site):
    row = ("R-bad", "national", "[", "x", "0.9", "arm64", "canary", F.iso(NOW), "many", 1, 10, 1, "", "{", F.iso(NOW),
           "", "")
    fill_releases(site["db"], [row], [("R-bad", "dev-2301", "23", "rolled_back", "rolled_back", "unhealthy",
                                       "\u202eevil\x1b[31m", "", "", "", F.iso(NOW), F.iso(NOW), F.iso(NOW))], [],
                  [a_device()])
    client = site["clients"]["admin"]
    data = client.get("/api/releases").json()
    assert data["rollouts"] == [{"rollout": "R-bad", "readable": False}] and data["unreadable"] == 1
    assert "R-bad" in answers(client, "/releases").text


def test_a_province_user_asking_for_another_provinces_office_snapshot_gets_404(site):
    png = F.snapshot_png()
    fill(site["db"], [a_device(), a_device("dev-1101", province="11"), a_device("dev-9902", province="")], [], [], [],
         [(device, RECEIVED, "0" * 64, "4+2", png) for device in ("dev-2301", "dev-1101", "dev-9902")])
    ops23, admin = site["clients"]["ops23"], site["clients"]["admin"]
    mine = ops23.get("/device/dev-2301/snapshot.png")
    assert mine.status_code == 200 and mine.content == png
    for device in ("dev-1101", "dev-9902"):  # another province's office; one no province holds (quarantined)
        theirs = ops23.get(f"/device/{device}/snapshot.png")
        assert theirs.status_code == 404 and theirs.content != png, device
        assert ops23.get(f"/api/device/{device}").status_code == 404
        assert admin.get(f"/device/{device}/snapshot.png").content == png


def test_a_device_whose_name_holds_html_is_escaped_on_its_office_page(site):
    name = '<img src=x onerror="alert(1)"><b>دفتر</b>'
    fill(site["db"], [a_device()[:3] + (name,) + a_device()[4:]], [], [], [], [])
    for path in ("/device/dev-2301", "/devices"):
        text = site["clients"]["ops23"].get(path).text
        assert "<img src=x" not in text and "<b>دفتر" not in text, path
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&lt;b&gt;دفتر&lt;/b&gt;" in text, path
