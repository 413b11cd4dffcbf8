"""A search's matches sorted by office name read in natural order (the analyst's N12: «۵۵» listed 155, 255, 55),
numbers in any digits by value, on SQLite and PostgreSQL; past NATURAL_MAX matches, the database's order."""

from __future__ import annotations

import datetime as dt

from central import device_list as L
from central.device_list import ListQuery, device_list

NOW = dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.timezone.utc)
NAMES = {"dev-1": "دفتر پیشخوان دولت 155", "dev-2": "دفتر پیشخوان دولت ۲۵۵", "dev-3": "دفتر پیشخوان دولت ۵۵",
         "dev-4": "دفتر پیشخوان دولت 5", "dev-5": "دفتر پیشخوان دولت 1055"}


def names(db, **kw):
    page = device_list(db, ListQuery(**kw), day=NOW.date(), now=NOW)
    return [NAMES[d["device_id"]].rsplit(" ", 1)[1] for d in page["devices"]], page


def test_a_searchs_names_sort_by_their_numbers(fleet_db, monkeypatch):
    fleet_db.write(lambda c: c.executemany(fleet_db.sql(
        "INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?)"),
        [(d, "23", f"23-{i}", n) for i, (d, n) in enumerate(NAMES.items())]))
    assert names(fleet_db, q="55")[0] == ["۵۵", "155", "۲۵۵", "1055"]
    assert names(fleet_db, q="۵۵", sort="office", descending=True)[0] == ["1055", "۲۵۵", "155", "۵۵"]
    second, page = names(fleet_db, q="55", size=2, page=2)
    assert second == ["۲۵۵", "1055"] and (page["total"], page["pages"]) == (4, 2)
    assert L.natural_key("دولت ۵۵") < L.natural_key("دولت 155") < L.natural_key("دولت ۲۵۵")
    monkeypatch.setattr(L, "NATURAL_MAX", 3)  # more matches than that: the database's text order
    assert names(fleet_db, q="55")[1]["total"] == 4
