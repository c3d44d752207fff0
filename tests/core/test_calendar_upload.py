"""upload_calendar_year: all rows validated, every bad row reported, nothing written on error, audited."""

import datetime as dt

import pytest

from jicai.core.actions import upload_calendar_year
from jicai.core.calendar_files import read_calendar_file, template_csv
from jicai.core.errors import DomainError, ImportRejected, NotFound
from jicai.core.models import AuditLog, CalendarDay, CalendarYear

GOOD = [
    {"date": "2027-01-01", "is_workday": "false", "name": "元旦"},
    {"date": "2027-02-20", "is_workday": "true", "name": "春节调休"},
]


def test_upload_writes_the_days_and_an_audit_row(world):
    year = upload_calendar_year(actor=world.admin, year=2027, rows=GOOD, note="国办发明电〔2026〕X号")
    assert (year.year, year.uploaded_by, year.note) == (2027, world.admin, "国办发明电〔2026〕X号")
    assert list(CalendarDay.objects.values_list("date", "is_workday", "name")) == [
        (dt.date(2027, 1, 1), False, "元旦"),
        (dt.date(2027, 2, 20), True, "春节调休"),
    ]
    log = AuditLog.objects.get(action="upload_calendar_year")
    assert (log.actor, log.object_id, log.changes) == (world.admin, "2027", {"days": [0, 2]})
    assert log.summary == "2027 年节假日安排：1 个休息日、1 个调休上班日"


def test_reupload_replaces_the_year(world):
    upload_calendar_year(actor=world.admin, year=2027, rows=GOOD)
    upload_calendar_year(
        actor=world.admin, year=2027, rows=[{"date": "2027-10-01", "is_workday": "否", "name": "国庆"}]
    )
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [dt.date(2027, 10, 1)]
    assert AuditLog.objects.filter(action="upload_calendar_year").first().changes == {"days": [2, 1]}


def test_every_bad_row_is_reported_and_nothing_is_written(world):
    upload_calendar_year(actor=world.admin, year=2027, rows=GOOD)
    rows = [
        {"date": "2027-05-01", "is_workday": "false", "name": "劳动节"},
        {"date": "2028-01-01", "is_workday": "false", "name": ""},
        {"date": "2027/13/01", "is_workday": "maybe", "name": ""},
        {"date": "2027-05-01", "is_workday": "true", "name": "x" * 65},
        {"date": "", "is_workday": "", "name": ""},
    ]
    with pytest.raises(ImportRejected) as caught:
        upload_calendar_year(actor=world.admin, year=2027, rows=rows)
    assert [e.as_dict() for e in caught.value.errors] == [
        {"row": 3, "column": "date", "reason": "日期 2028-01-01 不在 2027 年内"},
        {"row": 4, "column": "date", "reason": "日期格式应为 YYYY-MM-DD，实际为“2027/13/01”"},
        {"row": 4, "column": "is_workday", "reason": "应为 true/false（或 是/否），实际为“maybe”"},
        {"row": 5, "column": "date", "reason": "日期 2027-05-01 与第 2 行重复"},
        {"row": 5, "column": "name", "reason": "名称不能超过 64 个字"},
        {"row": 6, "column": "date", "reason": "日期不能为空"},
        {"row": 6, "column": "is_workday", "reason": "应为 true/false（或 是/否），实际为“”"},
    ]
    assert caught.value.message == "导入被拒绝：共 7 处错误，未写入任何数据"
    # The earlier upload is untouched.
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [
        dt.date(2027, 1, 1),
        dt.date(2027, 2, 20),
    ]
    assert AuditLog.objects.filter(action="upload_calendar_year").count() == 1


def test_empty_upload_is_refused(world):
    with pytest.raises(ImportRejected):
        upload_calendar_year(actor=world.admin, year=2027, rows=[])
    assert not CalendarYear.objects.exists()


def test_year_out_of_range_is_refused(world):
    with pytest.raises(DomainError, match="年度应为 2000–2100 之间的整数"):
        upload_calendar_year(actor=world.admin, year=20277, rows=GOOD)


@pytest.mark.parametrize("who", ["province_bureau", "pharmacist", "manufacturer"])
def test_only_admins_may_upload(world, who):
    with pytest.raises(NotFound):
        upload_calendar_year(actor=getattr(world, who), year=2027, rows=GOOD)
    assert not CalendarYear.objects.exists()


def test_csv_with_bom_and_chinese_booleans_is_read():
    data = "\ufeffdate,is_workday,name\r\n2027-01-01,否,元旦\r\n2027-02-20,是,春节调休\r\n\r\n".encode()
    assert read_calendar_file(data, "x.csv") == [
        {"date": "2027-01-01", "is_workday": "否", "name": "元旦", "_row": 2},
        {"date": "2027-02-20", "is_workday": "是", "name": "春节调休", "_row": 3},
    ]


def test_csv_without_bom_and_with_chinese_headers_is_read():
    data = "日期,是否工作日,名称\n2027-01-01,false,元旦\n".encode()
    assert read_calendar_file(data, "x.csv") == [
        {"date": "2027-01-01", "is_workday": "false", "name": "元旦", "_row": 2}
    ]


def test_blank_lines_keep_the_row_numbers_the_user_sees(world):
    data = b"date,is_workday,name\n\n2027-01-01,nope,\n"
    with pytest.raises(ImportRejected) as caught:
        upload_calendar_year(actor=world.admin, year=2027, rows=read_calendar_file(data, "x.csv"))
    assert [e.row for e in caught.value.errors] == [3]


def test_missing_columns_and_bad_encoding_are_reported():
    with pytest.raises(ImportRejected) as caught:
        read_calendar_file(b"day,name\n2027-01-01,x\n", "x.csv")
    assert [e.as_dict() for e in caught.value.errors] == [
        {"row": 1, "column": "date", "reason": "缺少此列（表头应为 date,is_workday,name）"},
        {"row": 1, "column": "is_workday", "reason": "缺少此列（表头应为 date,is_workday,name）"},
    ]
    with pytest.raises(ImportRejected, match="共 1 处错误"):
        read_calendar_file("date,is_workday\n2027-01-01,否\n".encode("gbk"), "x.csv")


def test_xlsx_with_date_cells_is_read(world, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["date", "is_workday", "name"])
    sheet.append([dt.datetime(2027, 1, 1), False, "元旦"])
    sheet.append([dt.date(2027, 2, 20), "true", None])
    path = tmp_path / "c.xlsx"
    book.save(path)
    rows = read_calendar_file(path.read_bytes(), "c.XLSX")
    upload_calendar_year(actor=world.admin, year=2027, rows=rows)
    assert list(CalendarDay.objects.values_list("date", "is_workday", "name")) == [
        (dt.date(2027, 1, 1), False, "元旦"),
        (dt.date(2027, 2, 20), True, ""),
    ]


def test_template_round_trips_through_the_reader(world):
    rows = read_calendar_file(template_csv(2028), "template.csv")
    assert rows == [{"date": "2028-01-01", "is_workday": "false", "name": "元旦", "_row": 2}]
    upload_calendar_year(actor=world.admin, year=2028, rows=rows)
    assert CalendarDay.objects.get().date == dt.date(2028, 1, 1)
