"""Writes owned by core: uploading a year's official holiday schedule (SPEC §8)."""

import datetime as dt

from django.db import transaction

from jicai.core import audit
from jicai.core.errors import DomainError, ImportRejected, NotFound, RowError
from jicai.core.models import CalendarDay, CalendarYear

CALENDAR_COLUMNS = ("date", "is_workday", "name")
TRUE_WORDS = frozenset({"true", "是", "1", "yes", "y", "t", "班"})
FALSE_WORDS = frozenset({"false", "否", "0", "no", "n", "f", "休"})
# Years outside this range are almost certainly typing mistakes (e.g. 202 or 20277).
MIN_YEAR, MAX_YEAR = 2000, 2100
NAME_MAX = CalendarDay._meta.get_field("name").max_length


def _is_admin(actor) -> bool:
    # Imported lazily: core must not depend on accounts at import time.
    from jicai.accounts.access import is_admin

    return actor is not None and is_admin(actor)


def parse_bool(value: object) -> bool:
    """true/false with the Chinese 是/否 of SPEC §10 (plus 1/0, 班/休); anything else is a ValueError."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = ("" if value is None else str(value)).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"应为 true/false（或 是/否），实际为“{value if value is not None else ''}”")


def parse_date(value: object) -> dt.date:
    """YYYY-MM-DD text (also YYYY/MM/DD), or a date/datetime cell from an XLSX file."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = ("" if value is None else str(value)).strip()
    if not text:
        raise ValueError("日期不能为空")
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"日期格式应为 YYYY-MM-DD，实际为“{text}”")


@transaction.atomic
def upload_calendar_year(*, actor, year: int, rows: list[dict], note: str = "") -> CalendarYear:
    """Replace one year's uploaded schedule with `rows` ({date, is_workday, name}); admins only.

    Rows are the exceptions to Monday–Friday (holidays on weekdays, make-up working weekends). Every row
    is checked first; any bad row rejects the whole upload (ImportRejected lists them all, row 2 being
    the first data row under the header) and nothing is written.
    """
    if not _is_admin(actor):
        raise NotFound("未找到该页面，或您无权访问")
    errors: list[RowError] = []
    if not isinstance(year, int) or isinstance(year, bool) or not MIN_YEAR <= year <= MAX_YEAR:
        raise DomainError(f"年度应为 {MIN_YEAR}–{MAX_YEAR} 之间的整数", code="invalid_year")
    if not rows:
        raise ImportRejected([RowError(1, "", "文件没有数据行")])

    days: dict[dt.date, CalendarDay] = {}
    first_row_of: dict[dt.date, int] = {}
    for index, raw in enumerate(rows):
        row_no = raw.get("_row") or index + 2
        day = workday = None
        try:
            day = parse_date(raw.get("date"))
        except ValueError as exc:
            errors.append(RowError(row_no, "date", str(exc)))
        if day is not None and day.year != year:
            errors.append(RowError(row_no, "date", f"日期 {day} 不在 {year} 年内"))
            day = None
        if day is not None and day in first_row_of:
            errors.append(RowError(row_no, "date", f"日期 {day} 与第 {first_row_of[day]} 行重复"))
            day = None
        try:
            workday = parse_bool(raw.get("is_workday"))
        except ValueError as exc:
            errors.append(RowError(row_no, "is_workday", str(exc)))
        name = ("" if raw.get("name") is None else str(raw.get("name"))).strip()
        if len(name) > NAME_MAX:
            errors.append(RowError(row_no, "name", f"名称不能超过 {NAME_MAX} 个字"))
        if day is not None:
            first_row_of[day] = row_no
            if workday is not None:
                days[day] = CalendarDay(date=day, is_workday=workday, name=name)
    if errors:
        raise ImportRejected(errors)

    # Lock the year row so two admins uploading the same year at once cannot interleave their days.
    calendar_year = CalendarYear.objects.select_for_update().filter(year=year).first()
    old_count = 0
    user = actor if getattr(actor, "pk", None) else None
    if calendar_year is None:
        calendar_year = CalendarYear.objects.create(year=year, uploaded_by=user, note=note[:255])
    else:
        old_count = calendar_year.days.count()
        calendar_year.uploaded_by = user
        calendar_year.note = note[:255]
        calendar_year.save(update_fields=["uploaded_by", "note", "uploaded_at"])
        calendar_year.days.all().delete()
    for day in days.values():
        day.year = calendar_year
    CalendarDay.objects.bulk_create(sorted(days.values(), key=lambda d: d.date))

    holidays = sum(1 for d in days.values() if not d.is_workday)
    audit.record(
        actor=actor,
        action="upload_calendar_year",
        obj=calendar_year,
        summary=f"{year} 年节假日安排：{holidays} 个休息日、{len(days) - holidays} 个调休上班日",
        changes={"days": [old_count, len(days)]},
    )
    return calendar_year
