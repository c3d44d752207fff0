"""Pure batch rules: agreement years of a cycle (SPEC §10: consecutive 12-month slices, numbered from 1)."""

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def agreement_years(cycle_start: dt.date, cycle_end: dt.date) -> list[tuple[int, dt.date, dt.date]]:
    """[(n, start, end)]: 12-month slices from cycle_start; the last one is cut at cycle_end."""
    if cycle_end < cycle_start:
        raise ValueError("采购周期结束日期早于开始日期")
    years, n, start = [], 1, cycle_start
    while start <= cycle_end:
        end = min(add_months(cycle_start, 12 * n) - dt.timedelta(days=1), cycle_end)
        years.append((n, start, end))
        n, start = n + 1, end + dt.timedelta(days=1)
    return years


def year_containing(years: list[tuple[int, dt.date, dt.date]], day: dt.date):
    """The agreement year containing `day`; the last one when day is after the cycle; None before it."""
    if not years or day < years[0][1]:
        return None
    for year in years:
        if year[1] <= day <= year[2]:
            return year
    return years[-1]
