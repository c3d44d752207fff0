"""`jicai demo --today`: the demo's calendar follows the day it is built for (year 1 of the national batch
about two thirds elapsed, a reporting window open, a ticket reply due on the next working day), and the
same (seed, today) always gives the same rows."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max, Min, Sum

from jicai.batches.models import AgreementYear, Batch
from jicai.demand.models import DemandReport, ReportingWindow
from jicai.demo.models import DemoRun
from jicai.demo.scales import BASE_TODAY, BATCHES, calendar_shift, shifted_spec
from jicai.monitoring.models import Alert, MonitoringRun
from jicai.registry.models import Institution
from jicai.tickets.models import Ticket
from jicai.trade.models import OrderLine

D = dt.date
# A Wednesday and a Thursday, both followed by a working day on the official 2026 calendar.
JUNE, SEPTEMBER = D(2026, 6, 10), D(2026, 9, 10)
# The running national batch (the closed_year step adds an earlier one with its own window and lines).
RUNNING = BATCHES["GY-YD2024-1"].name


# ---- the shift itself (pure) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "today, months",
    [
        (BASE_TODAY, 0),  # 2025-08-31: the written calendar
        (D(2025, 9, 15), 0),  # start would be 2025-01-16: snaps back to 1 January
        (D(2025, 9, 16), 1),  # start 2025-01-17: snaps forward to 1 February
        (JUNE, 9),  # start 2025-10-11 → 1 October 2025
        (SEPTEMBER, 12),  # start 2026-01-11 → 1 January 2026
        (D(2024, 2, 29), -18),  # start 2023-07-02 → 1 July 2023
    ],
)
def test_calendar_shift_in_whole_months(today, months):
    assert calendar_shift(today) == months


def test_national_year_one_is_about_two_thirds_elapsed_on_every_day():
    national = BATCHES["GY-YD2024-1"]
    day = D(2024, 1, 1)
    while day < D(2028, 1, 1):
        start = shifted_spec(national, calendar_shift(day)).cycle_start
        year_days = (start.replace(year=start.year + 1) - start).days
        # Between 242 − 15 and 242 + 15 days of a 365/366-day year: 227/366 = 0.620 … 257/365 = 0.704.
        elapsed = (day - start).days / year_days
        assert 0.62 <= elapsed <= 0.71, day
        day += dt.timedelta(days=1)


def test_shifted_batches_keep_month_bounds_and_move_their_years_together():
    moved = {code: shifted_spec(spec, 12) for code, spec in BATCHES.items()}
    assert moved["GY-YD2024-1"].code == "GY-YD2025-1"
    assert (moved["GY-YD2024-1"].cycle_start, moved["GY-YD2024-1"].cycle_end) == (
        D(2026, 1, 1),
        D(2028, 12, 31),
    )
    assert moved["SD-YP2025-1"].name == "山东省2026年第一批药品集中带量采购"
    assert moved["GY-YD2023-1"].name == "第九批国家组织药品集中带量采购"  # no year in it
    # 2024-03-01 … 2027-02-28 moved by 7 months ends on the last day of September.
    seven = shifted_spec(BATCHES["GY-YD2023-1"], 7)
    assert (seven.code, seven.cycle_start, seven.cycle_end) == ("GY-YD2023-1", D(2024, 10, 1), D(2027, 9, 30))
    # SD-YP2024-1 starts in September, SD-YP2025-1 in July: by +4 months one crosses a new year and the
    # other does not, yet both codes move by the same year offset, so they never collide.
    for months in range(-30, 31):
        codes = [shifted_spec(spec, months).code for spec in BATCHES.values()]
        assert len(set(codes)) == len(codes), months
    assert shifted_spec(BATCHES["SD-YP2024-1"], 4).code == "SD-YP2024-1"


# ---- the built demo --------------------------------------------------------------------------------------


@pytest.fixture
def build(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def run(today, seed=1, **kw):
        call_command("demo", scale="small", seed=seed, today=today, stdout=open("/dev/null", "w"), **kw)

    return run


def dated_snapshot() -> dict:
    """The dated rows of a demo, keyed by codes and dates (ids restart on every run anyway)."""
    # Lines of the running national batch (the closed_year step's earlier batch is bought a year before).
    lines = OrderLine.objects.filter(item__batch__name=RUNNING).aggregate(
        n=Count("id"), first=Min("ordered_on"), last=Max("ordered_on"), qty=Sum("qty")
    )
    return {
        "batches": list(
            Batch.objects.order_by("code").values_list("code", "name", "cycle_start", "cycle_end")
        ),
        "years": list(
            AgreementYear.objects.order_by("batch__code", "number").values_list(
                "batch__code", "number", "start", "end", "sign_due"
            )
        ),
        "windows": list(
            ReportingWindow.objects.filter(batch__name=RUNNING)
            .order_by("opens_on", "title")
            .values_list("title", "agreement_year", "opens_on", "deadline")
        ),
        "tickets": list(
            Ticket.objects.order_by("opened_on", "institution__code", "status", "reply_due").values_list(
                "institution__code", "status", "opened_on", "reply_due", "fix_due", "escalation_level"
            )
        ),
        "lines": lines,
        "monitoring": list(MonitoringRun.objects.order_by("as_of").values_list("as_of", flat=True)),
        "alerts": sorted(Alert.objects.values("type").annotate(n=Count("id")).values_list("type", "n")),
    }


def test_same_seed_and_today_give_identical_data(build):
    build(JUNE.isoformat())
    first = dated_snapshot()
    build(JUNE.isoformat())

    assert dated_snapshot() == first
    assert first["lines"]["n"] > 0 and first["tickets"] and first["alerts"]


def test_a_later_today_moves_every_date(build):
    build(JUNE.isoformat())
    june = dated_snapshot()
    build(SEPTEMBER.isoformat())
    september = dated_snapshot()

    # 9 and 12 months after the written calendar: codes and names follow 2026 only in September.
    assert june["batches"] == [
        ("GY-YD2023-1", "第九批国家组织药品集中带量采购", D(2024, 12, 1), D(2027, 11, 30)),
        ("GY-YD2024-1", "第十批国家组织药品集中带量采购", D(2025, 10, 1), D(2028, 9, 30)),
        ("SD-HC2025-1", "山东省2025年医用耗材集中带量采购", D(2026, 4, 1), D(2028, 3, 31)),
        ("SD-YP2025-1", "山东省2025年第一批药品集中带量采购", D(2026, 4, 1), D(2028, 3, 31)),
    ]
    assert september["batches"] == [
        ("GY-YD2024-1", "第九批国家组织药品集中带量采购", D(2025, 3, 1), D(2028, 2, 29)),
        ("GY-YD2025-1", "第十批国家组织药品集中带量采购", D(2026, 1, 1), D(2028, 12, 31)),
        ("SD-HC2026-1", "山东省2026年医用耗材集中带量采购", D(2026, 7, 1), D(2028, 6, 30)),
        ("SD-YP2026-1", "山东省2026年第一批药品集中带量采购", D(2026, 7, 1), D(2028, 6, 30)),
    ]
    assert june["monitoring"] == [JUNE] and september["monitoring"] == [SEPTEMBER]
    # Orders fill year 1 of the national batch, wherever it now lies.
    assert june["lines"]["first"] >= D(2025, 10, 1) and september["lines"]["first"] >= D(2026, 1, 1)
    assert september["lines"]["first"] - june["lines"]["first"] == D(2026, 1, 1) - D(2025, 10, 1)
    # The finished round ran 90 days before the cycle; the open one runs a week before to three weeks after.
    assert [w[1:] for w in june["windows"]] == [
        (1, D(2025, 7, 3), D(2025, 7, 31)),
        (2, D(2026, 6, 3), D(2026, 7, 1)),
    ]
    assert [w[1:] for w in september["windows"]] == [
        (1, D(2025, 10, 3), D(2025, 10, 31)),
        (2, D(2026, 9, 3), D(2026, 10, 1)),
    ]
    # Nothing is dated after the demo's today.
    assert max(t[2] for t in june["tickets"]) == JUNE
    assert max(t[2] for t in september["tickets"]) == SEPTEMBER


def test_reporting_window_is_open_on_today_for_the_persona_county(build):
    build(JUNE.isoformat())

    window = ReportingWindow.objects.get(batch__name=RUNNING, agreement_year=2)
    assert window.title == "第十批国家组织药品集中带量采购第2协议年度报量（荣成市医疗保障局）"
    assert window.opens_on <= JUNE <= window.deadline and window.closed_at is None
    county = window.region
    in_county = Institution.objects.filter(region__path__startswith=county.path).count()
    reports = DemandReport.objects.filter(window=window)
    assert reports.count() == in_county > 0
    assert set(reports.values_list("status", flat=True)) == {"draft"}
    # The finished round of year 1 was closed when its reports were approved (deadline + 3 days, 15:00).
    finished = ReportingWindow.objects.get(batch__name=RUNNING, agreement_year=1)
    assert finished.closed_at == dt.datetime(2025, 8, 3, 15, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_one_persona_ticket_is_due_on_the_next_working_day_and_others_are_overdue(build):
    build(JUNE.isoformat())

    persona = Ticket.objects.filter(institution__organisation__users__username="pharmacist")
    waiting = persona.filter(status__in=["open", "reopened"])
    # Opened Tuesday 9 June, two working days to reply: due Thursday 11 June, the day after today.
    due_tomorrow = waiting.get(reply_due=D(2026, 6, 11))
    assert (due_tomorrow.opened_on, due_tomorrow.escalation_level) == (D(2026, 6, 9), "")
    overdue = waiting.filter(reply_due__lt=JUNE)
    assert set(overdue.values_list("escalation_level", flat=True)) == {"county", "city", "province"}


def test_bad_today_is_refused_in_chinese_and_nothing_is_written(build):
    with pytest.raises(CommandError, match="--today 应为 YYYY-MM-DD 格式的日期，收到“2026-13-01”"):
        build("2026-13-01")
    assert not DemoRun.objects.exists() and not Batch.objects.exists()
