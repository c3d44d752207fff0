"""Pure ticket rules against the official calendar (chinesecalendar with 调休) and the attachment checks."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

from jicai.core.calendar import WorkdayAnswer, WorkdayCalendar
from jicai.tickets import rules
from tests.tickets.conftest import PDF, PNG

D = dt.date
CAL = WorkdayCalendar({})  # no uploaded years: the chinesecalendar package, then Monday–Friday


def test_reply_due_skips_the_national_day_holiday():
    # 2025-10-01 … 10-08 are holidays: the 2 working days after 09-30 are 10-09 and 10-10.
    assert rules.reply_deadline(D(2025, 9, 30), 2, CAL) == WorkdayAnswer(D(2025, 10, 10), False)


def test_reply_due_counts_the_make_up_sunday():
    # Friday 09-26 → Saturday off, Sunday 09-28 a make-up working day (1), Monday 09-29 (2).
    answer = rules.reply_deadline(D(2025, 9, 26), 2, CAL)
    assert answer.date == D(2025, 9, 29)
    assert answer.provisional is False


def test_reply_due_in_a_year_without_calendar_data_is_provisional():
    answer = rules.reply_deadline(D(2027, 3, 5), 2, CAL)  # Friday → Tuesday by Monday–Friday
    assert answer.date == D(2027, 3, 9)
    assert answer.provisional is True


def test_uploaded_schedule_makes_2027_exact():
    uploaded = WorkdayCalendar({2027: {D(2027, 3, 8): False}})  # a holiday on Monday 03-08
    answer = rules.reply_deadline(D(2027, 3, 5), 2, uploaded)
    assert answer == WorkdayAnswer(D(2027, 3, 10), False)


def test_fix_limit_is_five_working_days_after_the_reply():
    # Reply 09-30: 10-09, 10-10, Saturday 10-11 (make-up), 10-13, 10-14.
    assert rules.fix_deadline(D(2025, 9, 30), 5, CAL).date == D(2025, 10, 14)


def test_promise_exactly_at_the_limit_is_accepted_one_day_later_refused():
    latest = D(2025, 10, 14)
    assert rules.promise_problem(D(2025, 10, 14), D(2025, 9, 30), latest, 5) is None
    assert "晚于最迟可承诺日期 2025-10-14" in rules.promise_problem(
        D(2025, 10, 15), D(2025, 9, 30), latest, 5
    )
    assert "早于答复日期" in rules.promise_problem(D(2025, 9, 29), D(2025, 9, 30), latest, 5)
    assert rules.promise_problem(None, D(2025, 9, 30), latest, 5) is None


def test_overdue_starts_the_day_after_the_due_date():
    due = D(2025, 10, 10)
    assert rules.is_overdue(due, D(2025, 10, 10)) is False
    assert rules.is_overdue(due, D(2025, 10, 11)) is True
    assert rules.overdue_kind("open", due, None, D(2025, 10, 11)) == "reply"
    assert rules.overdue_kind("replied", due, D(2025, 10, 14), D(2025, 10, 14)) is None
    assert rules.overdue_kind("replied", due, D(2025, 10, 14), D(2025, 10, 15)) == "fix"
    assert rules.overdue_kind("fixed", due, D(2025, 10, 14), D(2026, 1, 1)) is None


def test_workdays_taken_counts_working_days_after_the_open_date():
    assert rules.workdays_taken(D(2025, 9, 26), D(2025, 10, 10), CAL) == 5
    assert rules.workdays_taken(D(2025, 9, 26), D(2025, 9, 26), CAL) == 0


def test_lowest_bureau_and_the_way_up():
    path = ["370000", "371000", "371002"]
    assert rules.lowest_bureau(path, {"370000", "371000", "371002"}) == "371002"
    assert rules.lowest_bureau(path, {"370000", "371000"}) == "371000"
    assert rules.lowest_bureau(path, set()) is None
    assert rules.next_bureau_up(path, {"370000", "371000", "371002"}, "371002") == "371000"
    assert rules.next_bureau_up(path, {"370000", "371002"}, "371002") == "370000"
    assert rules.next_bureau_up(path, {"370000", "371000", "371002"}, "370000") is None


def test_rates_are_none_without_tickets_never_100_percent():
    assert rules.rate(0, 0) is None
    assert rules.rate(2, 3) == Decimal("0.6667")
    assert rules.mean(7, 2) == Decimal("3.50")
    assert rules.mean(None, 0) is None


def _ooxml(main_part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(main_part, "<x/>")
    return buffer.getvalue()


def test_attachments_are_checked_by_extension_and_content():
    assert rules.sniff_bytes("a.pdf", PDF) is None
    assert rules.sniff_bytes("a.PNG", PNG) is None
    assert rules.sniff_bytes("a.jpg", b"\xff\xd8\xff\xe0" + b"0" * 20) is None
    assert rules.sniff_bytes("a.xlsx", _ooxml("xl/workbook.xml")) is None
    assert rules.sniff_bytes("a.docx", _ooxml("word/document.xml")) is None
    # A workbook renamed .docx, an executable renamed .pdf, HTML renamed .png, a bare zip: refused.
    assert "内容与扩展名不符" in rules.sniff_bytes("a.docx", _ooxml("xl/workbook.xml"))
    assert "内容与扩展名不符" in rules.sniff_bytes("a.pdf", b"MZ\x90\x00" + b"0" * 20)
    assert "内容与扩展名不符" in rules.sniff_bytes("a.png", b"<html><script>alert(1)</script>")
    assert "内容与扩展名不符" in rules.sniff_bytes("a.xlsx", b"PK\x03\x04garbage")
    assert "类型不允许" in rules.sniff_bytes("a.exe", b"MZ")
    assert "类型不允许" in rules.sniff_bytes("a.html", b"<html>")
    assert "空文件" in rules.sniff_bytes("a.pdf", b"")


def test_attachment_size_limit():
    big = PDF + b"0" * 100
    assert "超过 0 MB" in rules.attachment_problem("a.pdf", len(big), io.BytesIO(big), max_bytes=50)
    assert rules.attachment_problem("a.pdf", len(big), io.BytesIO(big), max_bytes=len(big)) is None
