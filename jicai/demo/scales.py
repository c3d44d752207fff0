"""Scale parameters of the demo generator: one ScaleConfig per scale, the batches it may create, and the
shift that moves their calendar so the demo looks current on the day it is built."""

import datetime as dt
import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class BatchSpec:
    code: str
    name: str
    kind: str
    cycle_start: dt.date
    cycle_end: dt.date
    consumables: bool = False


# The cycles as written, for a demo built on BASE_TODAY. A demo built on another day moves every batch by
# whole months (calendar_shift), so (seed, today) always gives the same data and every month-bound rule
# (cycles from the 1st to a month end, monthly reports on the 15th) still holds.
BATCHES = {
    spec.code: spec
    for spec in (
        BatchSpec(
            "GY-YD2024-1",
            "第十批国家组织药品集中带量采购",
            "national",
            dt.date(2025, 1, 1),
            dt.date(2027, 12, 31),
        ),
        BatchSpec(
            "SD-YP2025-1",
            "山东省2025年第一批药品集中带量采购",
            "provincial",
            dt.date(2025, 7, 1),
            dt.date(2027, 6, 30),
        ),
        BatchSpec(
            "GY-YD2023-1",
            "第九批国家组织药品集中带量采购",
            "national",
            dt.date(2024, 3, 1),
            dt.date(2027, 2, 28),
        ),
        BatchSpec(
            "SD-YP2024-1",
            "山东省2024年药品集中带量采购（接续）",
            "provincial",
            dt.date(2024, 9, 1),
            dt.date(2027, 8, 31),
        ),
        BatchSpec(
            "SD-HC2025-1",
            "山东省2025年医用耗材集中带量采购",
            "provincial",
            dt.date(2025, 7, 1),
            dt.date(2027, 6, 30),
            consumables=True,
        ),
    )
}


@dataclass(frozen=True)
class ScaleConfig:
    name: str
    # City codes in the order used for logins (the first city hosts the city/county/institution logins);
    # None = every city of the province.
    city_codes: tuple[str, ...] | None
    institutions: int  # target number of institutions (hit exactly unless the fixed hospitals exceed it)
    city_hospitals: int  # tertiary hospitals per city (人民医院, 中医医院, …)
    catalogue_lines: int | None  # how many catalogue generics become items; None = all
    batch_codes: tuple[str, ...]  # drug batches take catalogue generics round-robin in this order
    consumables: int  # consumable items in the consumables batch


SMALL = ScaleConfig(
    name="small",
    city_codes=("371000", "371100", "370500"),
    institutions=50,
    city_hospitals=2,
    catalogue_lines=24,
    batch_codes=("GY-YD2024-1", "SD-YP2025-1", "SD-HC2025-1"),
    consumables=3,
)
MEDIUM = ScaleConfig(
    name="medium",
    city_codes=("370100", "370200", "370600", "370700", "371000"),
    institutions=1000,
    city_hospitals=5,
    catalogue_lines=150,
    batch_codes=("GY-YD2024-1", "SD-YP2025-1", "GY-YD2023-1", "SD-HC2025-1"),
    consumables=6,
)
PROVINCE = ScaleConfig(
    name="province",
    city_codes=None,
    institutions=10000,
    city_hospitals=8,
    catalogue_lines=None,
    batch_codes=("GY-YD2024-1", "SD-YP2025-1", "GY-YD2023-1", "SD-YP2024-1", "SD-HC2025-1"),
    consumables=8,
)

SCALES = {scale.name: scale for scale in (SMALL, MEDIUM, PROVINCE)}


# The day the written cycles fit: year 1 of the national batch GY-YD2024-1 (2025-01-01 … 2025-12-31) is two
# thirds elapsed. Tests pass it as `today` so their expected dates and codes stay the ones written here.
BASE_TODAY = dt.date(2025, 8, 31)
_NATIONAL_YEAR1_START = dt.date(2025, 1, 1)
_YEAR_IN_TEXT = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def calendar_shift(today: dt.date) -> int:
    """Whole months to move the written calendar so the national batch's year 1 is about two thirds
    elapsed at `today` (between 62 % and 71 %: the start snaps to the nearest 1st of a month)."""
    start = today - (BASE_TODAY - _NATIONAL_YEAR1_START)
    months = (start.year - _NATIONAL_YEAR1_START.year) * 12 + start.month - _NATIONAL_YEAR1_START.month
    return months + (1 if start.day > 16 else 0)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` (a 1st of a month) moved by whole months."""
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def shifted_spec(spec: BatchSpec, months: int) -> BatchSpec:
    """The batch moved by `months`: start on the same day of month, end the day before the moved day after
    the end (so a cycle ending on 31 December still ends on a month end), and the years in the code and
    name move with the national batch's start year ("SD-YP2025-1" built a year later is "SD-YP2026-1").
    One year offset for every batch, so two codes that differ only in their year never collide."""
    if months == 0:
        return spec
    start = add_months(spec.cycle_start, months)
    end = add_months(spec.cycle_end + dt.timedelta(days=1), months) - dt.timedelta(days=1)
    years = add_months(_NATIONAL_YEAR1_START, months).year - _NATIONAL_YEAR1_START.year

    def move(text: str) -> str:
        return _YEAR_IN_TEXT.sub(lambda m: str(int(m.group(1)) + years), text)

    return replace(spec, code=move(spec.code), name=move(spec.name), cycle_start=start, cycle_end=end)
