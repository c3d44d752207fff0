"""Stored scorecard delivery figures: a scope above scorecards.LIVE_LIMIT institutions reads the newest run
(`jicai scorecards --store`, `jicai monitor`), with the same figures as the live query; without a run the
page and API name the command and nothing is computed; a bureau below the run's root sums its own subtree
only; a run computed with other grace days is not used."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from jicai.monitoring import scorecards, views_reports
from jicai.monitoring.models import ScorecardFigure, ScorecardRun
from jicai.monitoring.notices import Quarter
from jicai.policy.models import PolicyProfile
from tests.monitoring.conftest import add_line, winning_line

D = dt.date
Q3 = Quarter(2024, 3)
TODAY = D(2024, 12, 31)
STORE = ("--batch", "GY-TEST", "--quarter", "2024Q3", "--today", "2024-12-31", "--store")


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(views_reports, "today", lambda: TODAY)


@pytest.fixture
def lines(world):
    """The lines of test_scorecards' quarter-window test: over the province 60 delivered of 240 ordered
    (secondary 60/140, grassroots 0/100); 青岛 has none."""
    w = world

    def line(institution, qty, ordered_on, **kw):
        winning_line(w, institution, qty, ordered_on, **kw)

    line(w.hospital, 100, D(2024, 7, 1), delivered=60, delivered_on=D(2024, 7, 5))
    line(w.hospital, 50, D(2024, 9, 28))  # within the grace days: left out
    line(w.hospital, 40, D(2024, 8, 1), status="rejected")
    line(w.hospital, 70, D(2024, 8, 1), status="cancelled")
    line(w.clinic, 100, D(2024, 8, 10), delivered=100, delivered_on=D(2024, 10, 5))
    return w


@pytest.fixture
def large(monkeypatch):
    """Every region counts as a large scope (more than LIVE_LIMIT institutions)."""
    monkeypatch.setattr(scorecards, "LIVE_LIMIT", 0)


def figures(card) -> dict:
    return {m.key: (m.numerator, m.denominator, m.rate, m.tier) for m in card.metrics}


def cards(w, region, supplier=None, live=False):
    return scorecards.build_scorecards(
        batch=w.batch,
        region=region,
        quarter=Q3,
        today=TODAY,
        suppliers=[supplier] if supplier else None,
        live=live,
    )


def store(*args) -> str:
    out = io.StringIO()
    call_command("scorecards", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def batch_code(world):
    world.batch.code = "GY-TEST"
    world.batch.save(update_fields=["code"])
    return world


def test_a_large_scope_without_a_run_names_the_command_and_writes_nothing(
    lines, batch_code, large, client_for, api_client_for
):
    w = lines
    with pytest.raises(scorecards.NotStored) as raised:
        cards(w, w.province)
    command = "jicai scorecards --batch GY-TEST --quarter 2024Q3 --region 370000 --store"
    assert command in raised.value.message
    page = client_for(w.province_bureau).get(
        reverse("monitoring:scorecards") + "?batch=GY-TEST&quarter=2024Q3"
    )
    assert page.status_code == 200 and page.context["cards"] == []
    assert command in page.content.decode()
    detail = client_for(w.province_bureau).get(
        reverse("monitoring:scorecard", args=[w.maker.code, "GY-TEST", "2024Q3"])
    )
    assert detail.status_code == 200 and command in detail.content.decode()
    api = api_client_for(w.province_bureau).get("/api/v1/scorecards?batch=GY-TEST&quarter=2024Q3")
    assert api.status_code == 400 and api.json()["error"]["code"] == "scorecards_not_stored"
    assert not ScorecardRun.objects.exists()


def test_stored_figures_equal_the_live_ones_for_every_region_and_supplier(lines, batch_code, large):
    w = lines
    live = {r.code: [figures(c) for c in cards(w, r, live=True)] for r in (w.province, w.city, w.county)}
    assert "已存储 GY-TEST 2024Q3 山东省" in store(*STORE, "--region", "370000")
    run = ScorecardRun.objects.get()
    assert (run.region, run.as_of, run.grace_days, run.quarter) == (w.province, D(2024, 9, 30), 3, "2024Q3")
    # One row per (supplier, institution region, level): both institutions are in 环翠区.
    assert sorted(
        ScorecardFigure.objects.values_list("region_path", "level", "ordered_qty", "delivered_qty")
    ) == [
        (w.county.path, "grassroots", 100, 0),
        (w.county.path, "secondary", 140, 60),
    ]
    for region in (w.province, w.city, w.county):
        stored = cards(w, region)
        assert [figures(c) for c in stored] == live[region.code]
        assert all(c.run == run and c.as_of == D(2024, 9, 30) for c in stored)
    overall = cards(w, w.province)[0].metric("delivery_rate")
    assert (overall.numerator, overall.denominator, overall.tier) == (60, 240, 3)
    # 青岛 has no lines: its bureau reads the province's run, filtered to its subtree.
    assert cards(w, w.other_city, supplier=w.maker)[0].metric("delivery_rate").rate is None
    # A supplier's own card reads only its own rows.
    assert figures(cards(w, w.province, supplier=w.other_maker)[0])["delivery_rate"] == (0, 0, None, None)


def test_pages_and_api_read_the_run_and_say_when_it_was_computed(
    lines, batch_code, large, client_for, api_client_for
):
    w = lines
    store(*STORE, "--region", "370000")
    run = ScorecardRun.objects.get()
    page = client_for(w.city_bureau).get(reverse("monitoring:scorecards") + "?batch=GY-TEST&quarter=2024Q3")
    html = page.content.decode()
    assert [c.supplier.code for c in page.context["cards"]] == [w.maker.code]
    assert 'data-testid="stored-run"' in html and "统计至 2024-09-30" in html and "山东省全辖区" in html
    body = api_client_for(w.city_bureau).get("/api/v1/scorecards?batch=GY-TEST&quarter=2024Q3").json()
    card = body["results"][0]
    assert card["computed_at"] is not None and card["as_of"] == "2024-09-30"
    assert card["metrics"][0]["numerator"] == 60 and card["metrics"][0]["denominator"] == 240
    detail = api_client_for(w.manufacturer).get(f"/api/v1/scorecards/{w.maker.code}/GY-TEST/2024Q3").json()
    computed_at = dt.datetime.fromisoformat(detail["computed_at"].replace("Z", "+00:00"))
    assert abs(computed_at - run.computed_at) < dt.timedelta(milliseconds=1)
    assert detail["metrics"][0]["rate"] == "0.250000"
    # The other manufacturer still cannot open 齐鲁's card through the stored path.
    assert (
        api_client_for(w.other_manufacturer)
        .get(f"/api/v1/scorecards/{w.maker.code}/GY-TEST/2024Q3")
        .status_code
        == 404
    )


def test_a_small_scope_stays_live_and_a_run_is_a_snapshot(lines, batch_code, client_for):
    """Without `large` every test region is small: computed per request, so a new line shows at once; with a
    large scope the run is a snapshot until it is stored again."""
    w = lines
    store(*STORE, "--region", "370000")
    add_line(w.hospital, w.product, 60, D(2024, 7, 2), item=w.item, delivered=60, delivered_on=D(2024, 7, 3))
    live = cards(w, w.province)[0]
    assert live.run is None and live.metric("delivery_rate").denominator == 300
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scorecards, "LIVE_LIMIT", 0)
        assert cards(w, w.province)[0].metric("delivery_rate").denominator == 240
        store(*STORE, "--region", "370000")
        assert cards(w, w.province)[0].metric("delivery_rate").denominator == 300
    assert ScorecardRun.objects.count() == 1  # the older run of the same scope is replaced


def test_a_run_with_other_grace_days_is_not_used(lines, batch_code, large):
    w = lines
    store(*STORE, "--region", "370000")
    PolicyProfile.objects.create(region=w.city, values={"delivery_grace_days": 0})
    with pytest.raises(scorecards.NotStored):
        cards(w, w.city)
    assert figures(cards(w, w.province)[0])["delivery_rate"][:2] == (60, 240)
    store(*STORE, "--region", "371000")
    # 威海's own run, with 0 grace days: the line of 09-28 counts (60 of 290).
    assert figures(cards(w, w.city)[0])["delivery_rate"][:2] == (60, 290)


def test_store_due_keeps_the_current_quarter_fresh_and_the_last_one_final(lines, batch_code):
    w = lines
    add_line(w.hospital, w.product, 10, D(2024, 10, 2), item=w.item)
    first = scorecards.store_due(D(2024, 10, 20))
    assert sorted((r.region.code, r.quarter, r.as_of) for r in first) == [
        ("370000", "2024Q3", D(2024, 9, 30)),
        ("370000", "2024Q4", D(2024, 10, 20)),
    ]
    # The next day: 2024Q3 has its final run; 2024Q4 is stored again as of the new day.
    second = scorecards.store_due(D(2024, 10, 21))
    assert [(r.quarter, r.as_of) for r in second] == [("2024Q4", D(2024, 10, 21))]
    assert ScorecardRun.objects.count() == 2
    # A quarter without lines of the batch stores nothing.
    assert scorecards.store_due(D(2025, 7, 1)) == []


def test_cli_prints_live_scorecards_and_refuses_unknown_input(lines, batch_code):
    out = store("--batch", "GY-TEST", "--quarter", "2024Q3", "--today", "2024-12-31")
    row = json.loads(out.splitlines()[0])
    assert (
        row["region"],
        row["supplier"],
        row["delivery_rate"],
        row["ordered"],
        row["delivered"],
        row["tier"],
    ) == (
        "370000",
        lines.maker.code,
        "0.250000",
        240,
        60,
        3,
    )
    from django.core.management.base import CommandError

    for bad in (("--batch", "NOPE", "--quarter", "2024Q3"), ("--batch", "GY-TEST", "--quarter", "2024Q5")):
        with pytest.raises(CommandError):
            store(*bad, "--store")
    with pytest.raises(CommandError):
        store("--batch", "GY-TEST", "--quarter", "2024Q3", "--region", "999999", "--store")
    assert not ScorecardRun.objects.exists()
