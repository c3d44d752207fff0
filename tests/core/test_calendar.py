"""Working days (SPEC §8): official 调休 from chinesecalendar, uploaded years first, provisional Mon–Fri otherwise."""

import datetime as dt

import pytest

from jicai.core.actions import upload_calendar_year
from jicai.core.calendar import (
    SOURCE_PACKAGE,
    SOURCE_PROVISIONAL,
    SOURCE_UPLOADED,
    WorkdayCalendar,
    add_workdays,
    add_workdays_checked,
    is_workday,
    package_covers,
)

D = dt.date


def offline() -> WorkdayCalendar:
    """A calendar with no uploaded years, so these tests need no database."""
    return WorkdayCalendar(uploaded={})


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2025, 9, 30), 1, D(2025, 10, 9)),  # National Day + Mid-Autumn: 10-01…10-08 off
        (D(2025, 9, 26), 1, D(2025, 9, 28)),  # Sunday 09-28 is a make-up working day
        (D(2025, 9, 30), 2, D(2025, 10, 10)),
        (D(2025, 9, 26), 2, D(2025, 9, 29)),
        (D(2025, 10, 9), 2, D(2025, 10, 11)),  # Saturday 10-11 is a make-up working day
        (D(2025, 9, 30), 0, D(2025, 9, 30)),
    ],
)
def test_add_workdays_follows_the_official_calendar(start, n, expected):
    answer = offline().add_workdays(start, n)
    assert (answer.date, answer.provisional) == (expected, False)


def test_module_functions_agree_with_the_calendar(db):
    assert add_workdays(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert is_workday(D(2025, 9, 28)) is True
    assert is_workday(D(2025, 10, 1)) is False


def test_sources_by_year():
    calendar = offline()
    assert package_covers(2026) and not package_covers(2027)
    assert [calendar.source(y) for y in (2025, 2026, 2027)] == [
        SOURCE_PACKAGE,
        SOURCE_PACKAGE,
        SOURCE_PROVISIONAL,
    ]


def test_a_2027_date_without_a_schedule_is_provisional_monday_to_friday(db):
    # 2027-01-01 is a Friday: Monday–Friday gives Monday 01-04, flagged provisional.
    answer = add_workdays_checked(D(2027, 1, 1), 1)
    assert (answer.date, answer.provisional) == (D(2027, 1, 4), True)
    assert add_workdays_checked(D(2027, 1, 1), 5).date == D(2027, 1, 8)


def test_a_span_crossing_into_an_unpublished_year_is_provisional(db):
    # 2026-12-31 is a Thursday (a working day), so one working day later falls on Friday 2027-01-01.
    answer = add_workdays_checked(D(2026, 12, 30), 2)
    assert (answer.date, answer.provisional) == (D(2027, 1, 1), True)
    # A span that stays inside 2026 is not provisional.
    answer = add_workdays_checked(D(2026, 12, 29), 1)
    assert (answer.date, answer.provisional) == (D(2026, 12, 30), False)


def test_an_uploaded_2027_schedule_is_used_and_not_provisional(world):
    upload_calendar_year(
        actor=world.admin,
        year=2027,
        rows=[
            {"date": "2027-01-01", "is_workday": "false", "name": "元旦"},  # a Friday off
            {"date": "2027-01-09", "is_workday": "true", "name": "元旦调休上班"},  # a Saturday on
        ],
    )
    calendar = WorkdayCalendar.from_database()
    assert calendar.source(2027) == SOURCE_UPLOADED
    assert calendar.is_workday(D(2027, 1, 1)) is False
    assert calendar.is_workday(D(2027, 1, 9)) is True
    assert calendar.is_workday(D(2027, 1, 10)) is False  # an ordinary Sunday
    # From Thursday 2026-12-31: Friday 01-01 is now a holiday, so the next working day is Monday 01-04.
    answer = add_workdays_checked(D(2026, 12, 31), 1)
    assert (answer.date, answer.provisional) == (D(2027, 1, 4), False)
    # From Friday 01-08: Saturday 01-09 is a make-up working day.
    answer = add_workdays_checked(D(2027, 1, 8), 1)
    assert (answer.date, answer.provisional) == (D(2027, 1, 9), False)


def test_an_uploaded_year_overrides_the_package(world):
    # Pretend 2025's National Day was moved: 2025-10-01 declared a working day by upload.
    upload_calendar_year(
        actor=world.admin, year=2025, rows=[{"date": "2025-10-01", "is_workday": "是", "name": ""}]
    )
    calendar = WorkdayCalendar.from_database()
    assert calendar.is_workday(D(2025, 10, 1)) is True
    assert calendar.is_workday(D(2025, 9, 28)) is False  # no longer the package's make-up Sunday


def test_a_span_from_an_uploaded_year_into_an_unpublished_year_is_provisional():
    calendar = WorkdayCalendar(uploaded={2027: {}})
    answer = calendar.add_workdays(D(2027, 12, 30), 3)  # Thu → Fri 12-31, Mon 2028-01-03, Tue 01-04
    assert (answer.date, answer.provisional) == (D(2028, 1, 4), True)


def test_negative_workdays_are_refused():
    with pytest.raises(ValueError):
        offline().add_workdays(D(2025, 1, 1), -1)


def test_workdays_between_counts_working_days_after_start_up_to_end():
    calendar = offline()
    assert calendar.workdays_between(D(2025, 9, 30), D(2025, 10, 10)) == 2
    assert calendar.workdays_between(D(2025, 9, 26), D(2025, 9, 29)) == 2
    assert calendar.workdays_between(D(2025, 9, 29), D(2025, 9, 29)) == 0
