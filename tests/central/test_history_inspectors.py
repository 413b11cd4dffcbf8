"""Issue 22, the inspectors' share: exports an inspector opens in a spreadsheet (Persian header, BOM, Jalali
dates, province names, a right-to-left sheet), «این ماه در برابر ماه پیش» on /history, and closed days."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from central import history
from central.history import Period

from tests.central.test_history import START, day_report, sample, seed

SQLITE = pytest.mark.parametrize("fleet_db", ["sqlite"], indirect=True)
WEEK = Period(START, START + dt.timedelta(days=6))


@SQLITE
def test_the_csv_has_a_bom_a_persian_header_jalali_dates_and_province_names(fleet_db):
    sample(fleet_db)
    rows = history.offices(fleet_db, WEEK, province="23")
    text = history.to_csv(rows)
    assert text.startswith("\ufeff")  # Excel reads the file as UTF-8 only with it
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0][:8] == ["شناسه دستگاه", "شناسه دفتر", "نام دفتر", "کد استان", "استان", "از تاریخ", "تا تاریخ",
                            "از تاریخ (میلادی)"]
    assert len(table[0]) == len(history.EXPORT_COLUMNS)
    first = dict(zip(history.EXPORT_COLUMNS, table[1]))
    assert first["province"] == "23" and first["province_name"] == "تهران"
    assert (first["start_jalali"], first["end_jalali"], first["start"]) == ("1405/08/10", "1405/08/16", "2026-11-01")
    assert first["office_name"] == "'=HYPERLINK(\"x\")"  # still formula-safe
    machine = history.to_csv(rows, header="en")
    assert not machine.startswith("\ufeff")
    assert next(csv.reader(io.StringIO(machine))) == list(history.EXPORT_COLUMNS)
    with pytest.raises(history.HistoryRefused) as refused:
        history.to_csv(rows, header="de")
    assert refused.value.reason == "header"


@SQLITE
def test_the_xlsx_is_right_to_left_sized_and_types_text_without_a_visible_apostrophe(fleet_db):
    from openpyxl import load_workbook

    sample(fleet_db)
    rows = history.offices(fleet_db, WEEK, province="23")
    sheet = load_workbook(io.BytesIO(history.to_xlsx(rows))).active
    assert sheet.sheet_view.rightToLeft and sheet.freeze_panes == "A2"
    assert sheet.cell(row=1, column=3).value == "نام دفتر"
    name = history.EXPORT_COLUMNS.index("office_name") + 1
    assert sheet.column_dimensions["C"].width == history.XLSX_WIDTHS["office_name"]
    cell = sheet.cell(row=2, column=name)
    assert cell.value == "=HYPERLINK(\"x\")" and cell.data_type == "s" and cell.quotePrefix
    plain = sheet.cell(row=3, column=name)
    assert plain.value == "دفتر دو" and not plain.quotePrefix
    assert sheet.cell(row=2, column=history.EXPORT_COLUMNS.index("province_name") + 1).value == "تهران"
    assert sheet.cell(row=2, column=history.EXPORT_COLUMNS.index("start_jalali") + 1).value == "1405/08/10"
