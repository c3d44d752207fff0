"""Working-day calendar (SPEC §8): admin-uploaded schedules first, then the chinesecalendar package,
then a provisional Monday–Friday rule for years nobody has published yet."""

import datetime as dt
from dataclasses import dataclass

import chinese_calendar

SOURCE_UPLOADED = "uploaded"
SOURCE_PACKAGE = "chinesecalendar"
SOURCE_PROVISIONAL = "provisional"
SOURCE_LABELS = {
    SOURCE_UPLOADED: "已上传",
    SOURCE_PACKAGE: "chinesecalendar 包",
    SOURCE_PROVISIONAL: "临时：周一至周五",
}


@dataclass(frozen=True)
class DayAnswer:
    is_workday: bool
    provisional: bool


@dataclass(frozen=True)
class WorkdayAnswer:
    date: dt.date
    provisional: bool


def package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkdayCalendar:
    """Answers is-working-day questions. Uploaded years are loaded once per instance (one query)."""

    def __init__(self, uploaded: dict[int, dict[dt.date, bool]] | None = None):
        # uploaded[year] = {date: is_workday} for the exceptions to Monday–Friday of an uploaded year.
        self._uploaded = uploaded
        self._days: dict[dt.date, DayAnswer] = {}  # answers already given (an instance never changes)

    @classmethod
    def from_database(cls) -> "WorkdayCalendar":
        from jicai.core.models import CalendarDay, CalendarYear

        uploaded: dict[int, dict[dt.date, bool]] = {
            y: {} for y in CalendarYear.objects.values_list("year", flat=True)
        }
        for year_id, day, is_workday in CalendarDay.objects.values_list("year_id", "date", "is_workday"):
            uploaded.setdefault(year_id, {})[day] = is_workday
        return cls(uploaded)

    @property
    def uploaded(self) -> dict[int, dict[dt.date, bool]]:
        if self._uploaded is None:
            self._uploaded = WorkdayCalendar.from_database()._uploaded or {}
        return self._uploaded

    def source(self, year: int) -> str:
        if year in self.uploaded:
            return SOURCE_UPLOADED
        if package_covers(year):
            return SOURCE_PACKAGE
        return SOURCE_PROVISIONAL

    def day(self, day: dt.date) -> "DayAnswer":
        answer = self._days.get(day)
        if answer is None:
            answer = self._days[day] = self._answer(day)
        return answer

    def _answer(self, day: dt.date) -> "DayAnswer":
        source = self.source(day.year)
        if source == SOURCE_UPLOADED:
            exceptions = self.uploaded[day.year]
            workday = exceptions.get(day, day.weekday() < 5)
        elif source == SOURCE_PACKAGE:
            workday = chinese_calendar.is_workday(day)
        else:
            workday = day.weekday() < 5
        return DayAnswer(workday, source == SOURCE_PROVISIONAL)

    def is_workday(self, day: dt.date) -> bool:
        return self.day(day).is_workday

    def add_workdays(self, start: dt.date, n: int) -> WorkdayAnswer:
        """The n-th working day after `start` (start itself does not count); n = 0 returns start.

        `provisional` is true when any day walked over comes from the Monday–Friday fallback.
        """
        if n < 0:
            raise ValueError("n must be ≥ 0")
        current, provisional, remaining = start, False, n
        while remaining:
            current += dt.timedelta(days=1)
            answer = self.day(current)
            provisional = provisional or answer.provisional
            if answer.is_workday:
                remaining -= 1
        return WorkdayAnswer(current, provisional)

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: how many working days it took to get from start to end."""
        count, current = 0, start
        while current < end:
            current += dt.timedelta(days=1)
            if self.is_workday(current):
                count += 1
        return count


def is_workday(day: dt.date, calendar: WorkdayCalendar | None = None) -> bool:
    return (calendar or WorkdayCalendar()).is_workday(day)


def add_workdays(start: dt.date, n: int, calendar: WorkdayCalendar | None = None) -> dt.date:
    return (calendar or WorkdayCalendar()).add_workdays(start, n).date


def add_workdays_checked(start: dt.date, n: int, calendar: WorkdayCalendar | None = None) -> WorkdayAnswer:
    """Like add_workdays, also saying whether the answer rests on the provisional Monday–Friday rule."""
    return (calendar or WorkdayCalendar()).add_workdays(start, n)
