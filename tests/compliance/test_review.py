"""Demand review after the cycle (SPEC §14): agreement year 1 of the trade world's batch (2024-03-01 …
2025-02-28) is finished on 2025-06-30. report_deviation_threshold 0.50; purchases counted as received, in
the item's reference units (华北 10 mg has item_factor 0.5)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from jicai.batches.models import AgreementYear
from jicai.compliance import review
from jicai.compliance.models import ReviewRun
from jicai.core.errors import DomainError, NotFound
from jicai.demand.models import DemandLine, DemandReport, ReportingWindow
from jicai.trade import actions
from tests.trade.conftest import TODAY

pytestmark = pytest.mark.django_db


def received(buyer, supplier_user, product, qty, ordered_on, received_on):
    order = actions.place_order(actor=buyer, lines=[actions.LineInput(product, qty)], ordered_on=ordered_on)
    line = order.lines.get()
    actions.record_delivery(actor=supplier_user, line=line, qty=qty, delivered_on=ordered_on)
    line.refresh_from_db()
    actions.confirm_receipt(actor=buyer, line=line, accepted_qty=qty, received_on=received_on)


@pytest.fixture
def year1(trade):
    w = trade
    window = ReportingWindow.objects.create(
        batch=w.batch,
        agreement_year=1,
        bureau=w.province_bureau_org,
        region=w.province,
        title="报量",
        opens_on=dt.date(2024, 1, 1),
        deadline=dt.date(2024, 1, 31),
    )
    for institution, history, reported in (
        (w.hospital, 1000, 1000),
        (w.other_hospital, 800, 1000),
        (w.clinic, 300, 0),
    ):
        report = DemandReport.objects.create(window=window, institution=institution, status="approved")
        DemandLine.objects.create(report=report, item=w.item, history_qty=history, reported_qty=reported)
    d = dt.date(2024, 6, 1)
    # 威海: 1000 × 1 + 1000 × 0.5 = 1500 → |1500 − 1000| / 1000 = 0.5000, exactly the threshold: not listed
    received(w.pharmacist, w.manufacturer, w.product, 1000, d, d)
    received(w.pharmacist, w.other_manufacturer, w.backup_product, 1000, d, dt.date(2025, 2, 28))
    # received in year 2: not counted
    received(w.pharmacist, w.manufacturer, w.product, 100, dt.date(2025, 2, 20), dt.date(2025, 3, 1))
    # 青岛: 1501 → 0.5010 > 0.50: listed
    received(w.other_pharmacist, w.manufacturer, w.product, 1501, d, d)
    return AgreementYear.objects.get(batch=w.batch, number=1)


def test_deviation_at_the_threshold_is_not_listed_above_is(trade, year1):
    rows = review.review(trade.province_bureau, year1, today=TODAY)
    got = [(r.institution.code, r.history, r.reported, r.purchased, r.deviation, r.flags) for r in rows]
    assert got == [
        (
            trade.other_hospital.code,
            800,
            1000,
            Decimal("1501.00"),
            Decimal("0.5010"),
            [review.FLAG_DEVIATION],
        ),
        (trade.clinic.code, 300, 0, Decimal("0.00"), None, [review.FLAG_NO_REPORT]),
    ]
    everything = review.review(trade.province_bureau, year1, today=TODAY, flagged_only=False)
    (weihai,) = [r for r in everything if r.institution == trade.hospital]
    assert (weihai.purchased, weihai.deviation, weihai.flags) == (Decimal("1500.00"), Decimal("0.5000"), [])


def test_spot_check_list_totals_only_pairs_that_can_be_flagged(trade, year1, django_assert_max_num_queries):
    """The flagged list equals the full list filtered to flagged rows, with the same purchased figures; a
    pair nobody reported for and without history (here: the whole year after the reports are removed)
    reads no purchases at all."""
    flagged = review.review(trade.province_bureau, year1, today=TODAY)
    everything = review.review(trade.province_bureau, year1, today=TODAY, flagged_only=False)
    key = lambda r: (r.institution.code, r.item_code, r.history, r.reported, r.purchased, r.flags)  # noqa: E731
    assert [key(r) for r in flagged] == [key(r) for r in everything if r.flags]
    DemandLine.objects.all().delete()
    assert review.review(trade.province_bureau, year1, today=TODAY) == []
    with django_assert_max_num_queries(3) as captured:
        review.review(trade.province_bureau, year1, today=TODAY)
    assert not any("receipt" in q["sql"] or "orderline" in q["sql"] for q in captured.captured_queries)
    # Without the filter the purchases still make rows (nothing flagged).
    assert {
        r.institution for r in review.review(trade.province_bureau, year1, today=TODAY, flagged_only=False)
    } == {
        trade.hospital,
        trade.other_hospital,
    }


def test_unfinished_year_is_refused(trade, year1):
    year2 = AgreementYear.objects.get(batch=trade.batch, number=2)
    with pytest.raises(DomainError):
        review.review(trade.province_bureau, year2, today=TODAY)
    with pytest.raises(DomainError):
        review.review(trade.province_bureau, year1, today=year1.end)  # the last day itself: not ended yet


def test_city_bureau_sees_its_own_institutions(trade, year1):
    assert [r.institution for r in review.review(trade.city_bureau, year1, today=TODAY)] == [trade.clinic]
    assert [r.institution for r in review.review(trade.other_city_bureau, year1, today=TODAY)] == [
        trade.other_hospital
    ]


def test_page_export_api_and_wrong_organisation(trade, year1, client_for, api_client_for, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a: TODAY)
    url = reverse("compliance:review") + f"?batch={trade.batch.code}&year=1"
    page = client_for(trade.province_bureau).get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert trade.other_hospital.name in text and "0.5010" in text and trade.hospital.name not in text
    xlsx = client_for(trade.province_bureau).get(url + "&export=xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    body = (
        api_client_for(trade.city_bureau).get(f"/api/v1/demand-review?batch={trade.batch.code}&year=1").json()
    )
    assert [(r["institution_code"], r["flags"]) for r in body["results"]] == [
        (trade.clinic.code, [review.FLAG_NO_REPORT])
    ]
    for user in (trade.pharmacist, trade.manufacturer):
        assert client_for(user).get(url).status_code == 404
        assert (
            api_client_for(user).get(f"/api/v1/demand-review?batch={trade.batch.code}&year=1").status_code
            == 404
        )
    with pytest.raises(NotFound):
        review.get_year(trade.pharmacist, trade.batch.code, 1)


def test_the_quarterly_notice_lists_years_that_ended_in_the_quarter(trade, year1):
    from jicai.monitoring.notices import Quarter, build_notice

    rows = build_notice(trade.province, Quarter(2025, 1)).sections[1].rows
    assert [(r[2], r[8], r[9]) for r in rows] == [
        (trade.other_hospital.code, Decimal("0.5010"), review.FLAG_DEVIATION),
        (trade.clinic.code, None, review.FLAG_NO_REPORT),
    ]
    assert build_notice(trade.province, Quarter(2025, 2)).sections[1].rows == []


def test_the_notice_reads_the_stored_run_or_names_the_command(trade, year1, monkeypatch):
    """A province's live list takes about a minute: the notice lists the year's stored run (its subtree's
    rows, with when it was computed); without one and above LIVE_LIMIT institutions, no rows and the
    command that stores it."""
    from jicai.monitoring.notices import Quarter, build_notice

    monkeypatch.setattr(review, "LIVE_LIMIT", 1)
    section = build_notice(trade.province, Quarter(2025, 1)).sections[1]
    assert section.rows == []
    assert len(section.notes) == 1 and review.store_command(year1) in section.notes[0]
    review.store(year1, today=TODAY)
    DemandLine.objects.filter(
        report__institution=trade.clinic
    ).delete()  # after the run: the run still has it
    section = build_notice(trade.province, Quarter(2025, 1)).sections[1]
    assert [(r[2], r[8], r[9]) for r in section.rows] == [
        (trade.other_hospital.code, Decimal("0.5010"), review.FLAG_DEVIATION),
        (trade.clinic.code, None, review.FLAG_NO_REPORT),
    ]
    assert "抽查名单计算于" in section.notes[0]
    city = build_notice(trade.city, Quarter(2025, 1)).sections[1]
    assert [r[2] for r in city.rows] == [trade.clinic.code]


def _figures(rows):
    return [
        (
            r.institution.code,
            r.item_code,
            r.item_name,
            r.history,
            r.reported,
            r.purchased,
            r.threshold,
            str(r.threshold),
            r.deviation,
            r.flags,
            r.flag_text,
        )
        for r in rows
    ]


def test_stored_run_equals_live(trade, year1):
    """`store` keeps exactly the live rows (the same function computes both): hand-worked, 青岛 1501 vs 1000
    → 0.5010 over the threshold, the clinic's history 300 with nothing reported."""
    live = review.review(trade.province_bureau, year1, today=TODAY)
    run = review.store(year1, today=TODAY)
    assert run.rows_count == 2
    stored = list(review.run_rows(trade.province_bureau, run))
    assert _figures(stored) == _figures(live)
    assert _figures(stored)[0][3:] == (
        800,
        1000,
        Decimal("1501.00"),
        Decimal("0.50"),
        "0.50",
        Decimal("0.5010"),
        [review.FLAG_DEVIATION],
        review.FLAG_DEVIATION,
    )
    for bureau in (trade.city_bureau, trade.other_city_bureau):
        assert _figures(review.run_rows(bureau, run)) == _figures(review.review(bureau, year1, today=TODAY))
    # A second store replaces the run; nobody outside a bureau or admin reads stored rows.
    again = review.store(year1, today=TODAY)
    assert list(ReviewRun.objects.values_list("pk", flat=True)) == [again.pk]
    assert list(review.run_rows(trade.pharmacist, again)) == []


def test_page_and_api_read_the_stored_run(trade, year1, client_for, api_client_for, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a: TODAY)
    api = f"/api/v1/demand-review?batch={trade.batch.code}&year=1"
    live_body = api_client_for(trade.province_bureau).get(api).json()
    review.store(year1, today=TODAY)
    assert api_client_for(trade.province_bureau).get(api).json() == live_body
    DemandLine.objects.filter(
        report__institution=trade.clinic
    ).delete()  # after the run: the run still has it
    url = reverse("compliance:review") + f"?batch={trade.batch.code}&year=1"
    text = client_for(trade.province_bureau).get(url).content.decode()
    assert "抽查名单计算于" in text and "jicai review --batch" in text
    assert trade.clinic.name in text and trade.other_hospital.name in text and "0.5010" in text
    text = client_for(trade.province_bureau).get(url + "&q=" + trade.clinic.code).content.decode()
    assert trade.clinic.name in text and trade.other_hospital.name not in text
    body = api_client_for(trade.province_bureau).get(api).json()
    assert body["count"] == 2 and [r["institution_code"] for r in body["results"]] == [
        trade.other_hospital.code,
        trade.clinic.code,
    ]
    assert body["results"][0] == {
        "institution_code": trade.other_hospital.code,
        "item_code": trade.item.item_code,
        "history_qty": 800,
        "reported_qty": 1000,
        "purchased_qty": "1501.00",
        "deviation": "0.5010",
        "threshold": "0.5",
        "flags": [review.FLAG_DEVIATION],
    }
    body = api_client_for(trade.city_bureau).get(api).json()
    assert [r["institution_code"] for r in body["results"]] == [trade.clinic.code]
    # Wrong organisation: 404 on page, export and API, stored run or not.
    for user in (trade.pharmacist, trade.manufacturer):
        assert client_for(user).get(url).status_code == 404
        assert client_for(user).get(url + "&export=xlsx").status_code == 404
        assert api_client_for(user).get(api).status_code == 404


def test_scope_beyond_live_limit_without_run_names_the_command(trade, year1, monkeypatch):
    monkeypatch.setattr(review, "LIVE_LIMIT", 1)
    rows, run, note = review.listing(trade.province_bureau, year1, today=TODAY)
    assert (rows, run) == ([], None) and review.store_command(year1) in note
    with pytest.raises(DomainError):  # an unfinished year is still refused as such
        review.listing(trade.province_bureau, year1, today=year1.end)
    review.store(year1, today=TODAY)
    rows, run, note = review.listing(trade.province_bureau, year1, today=TODAY)
    assert run is not None and note == "" and len(rows) == 2


def test_store_missing_stores_each_finished_year_once(trade, year1):
    """What `jicai monitor` does daily: the run of a finished year without one; year 2 (not finished) none."""
    (run,) = review.store_missing(TODAY)
    assert run.agreement_year == year1 and run.rows_count == 2
    assert review.store_missing(TODAY) == []
    assert review.latest_run(year1) == run
