"""Pure rules of supply tickets (SPEC §8): deadlines on the working-day calendar, when a ticket is overdue,
which bureau supervises it, supplier-figure rates, and what an attachment really is. No database here."""

import datetime as dt
import io
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import PurePosixPath

from jicai.core.calendar import WorkdayAnswer, WorkdayCalendar

REPLY = "reply"
FIX = "fix"

# ---- deadlines -----------------------------------------------------------------------------------------


def reply_deadline(opened_on: dt.date, reply_workdays: int, calendar: WorkdayCalendar) -> WorkdayAnswer:
    """reply_due = add_workdays(open date, ticket_reply_workdays); provisional when it rests on the
    Monday–Friday fallback (a year with neither an uploaded schedule nor package data)."""
    return calendar.add_workdays(opened_on, reply_workdays)


def fix_deadline(replied_on: dt.date, fix_max_workdays: int, calendar: WorkdayCalendar) -> WorkdayAnswer:
    """The latest fix date a supplier may promise, and the fix deadline when it promises none."""
    return calendar.add_workdays(replied_on, fix_max_workdays)


def promise_problem(
    promised: dt.date | None, replied_on: dt.date, latest: dt.date, max_workdays: int
) -> str | None:
    """Why a promised fix date is refused (None: accepted). A promise cannot lie in the past nor after
    add_workdays(reply date, ticket_fix_max_workdays)."""
    if promised is None:
        return None
    if promised < replied_on:
        return f"承诺解决日期 {promised} 早于答复日期 {replied_on}"
    if promised > latest:
        return f"承诺解决日期 {promised} 晚于最迟可承诺日期 {latest}（答复日后第 {max_workdays} 个工作日）"
    return None


def is_overdue(due: dt.date | None, as_of: dt.date) -> bool:
    """Overdue from the first day after the due date; on the due date itself the supplier is still in time."""
    return due is not None and as_of > due


def overdue_kind(status: str, reply_due: dt.date, fix_due: dt.date | None, as_of: dt.date) -> str | None:
    """reply / fix / None for a ticket in `status` on `as_of` (mirrors queries.overdue_q in SQL)."""
    if status in ("open", "reopened"):
        return REPLY if is_overdue(reply_due, as_of) else None
    if status == "replied":
        return FIX if is_overdue(fix_due, as_of) else None
    return None


def workdays_taken(start: dt.date, end: dt.date, calendar: WorkdayCalendar) -> int:
    """Working days in (start, end]: a ticket opened on Friday and fixed on Monday took 1 working day."""
    return calendar.workdays_between(start, end)


# ---- supervision along the region path --------------------------------------------------------------


def lowest_bureau(path_codes: list[str], bureau_codes: set[str]) -> str | None:
    """The bureau that first supervises an institution: county, else city, else province (the lowest code
    on its region path that has a bureau)."""
    for code in reversed(path_codes):
        if code in bureau_codes:
            return code
    return None


def next_bureau_up(path_codes: list[str], bureau_codes: set[str], current: str) -> str | None:
    """The next bureau above `current` on the institution's path (county → city → province), or None."""
    if current not in path_codes:
        return None
    above = path_codes[: path_codes.index(current)]
    return lowest_bureau(above, bureau_codes)


# ---- figures ------------------------------------------------------------------------------------------

RATE_PLACES = Decimal("0.0001")
MEAN_PLACES = Decimal("0.01")


def rate(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator to 4 decimals; None without a denominator (no data is never 100 %)."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def mean(total: int | None, count: int) -> Decimal | None:
    if not count or total is None:
        return None
    return (Decimal(total) / Decimal(count)).quantize(MEAN_PLACES, rounding=ROUND_HALF_UP)


# ---- attachments --------------------------------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS_PER_STEP = 5
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
ALLOWED_LABEL = "PDF、PNG、JPG、XLSX、DOCX"
# The part an Office Open XML package of each kind must contain.
OOXML_MAIN_PART = {".xlsx": "xl/workbook.xml", ".docx": "word/document.xml"}


def _content_matches(suffix: str, stream) -> bool:
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    if suffix == ".pdf":
        return head.startswith(b"%PDF-")
    if suffix == ".png":
        return head == b"\x89PNG\r\n\x1a\n"
    if suffix in (".jpg", ".jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if suffix in OOXML_MAIN_PART:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(stream) as package:
                names = set(package.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return False
        finally:
            stream.seek(0)
        return "[Content_Types].xml" in names and OOXML_MAIN_PART[suffix] in names
    return False


def attachment_problem(name: str, size: int, stream, max_bytes: int = MAX_ATTACHMENT_BYTES) -> str | None:
    """Why an upload is refused (None: accepted): empty, too large, an extension not allowed, or content
    that is not what the extension claims (a renamed executable, an HTML page called .pdf …)."""
    suffix = PurePosixPath(name or "").suffix.lower()
    if suffix not in CONTENT_TYPES:
        return f"附件“{name}”的类型不允许，只接受 {ALLOWED_LABEL}"
    if size <= 0:
        return f"附件“{name}”是空文件"
    if size > max_bytes:
        return f"附件“{name}”超过 {max_bytes // (1024 * 1024)} MB"
    if not _content_matches(suffix, stream):
        return f"附件“{name}”的内容与扩展名不符"
    return None


def content_type_for(name: str) -> str:
    return CONTENT_TYPES[PurePosixPath(name).suffix.lower()]


def sniff_bytes(name: str, data: bytes) -> str | None:
    """attachment_problem for bytes already in memory (tests, API clients sending small files)."""
    return attachment_problem(name, len(data), io.BytesIO(data))
