"""Overlapping batches (SPEC §15): the trade world's national batch (cycle from 2024-03-01, item GY7-001
阿托伐他汀钙 口服常释剂型, 齐鲁 wins at 0.1200) and a provincial batch SD-2023 (2023-06-01 … 2026-05-31)
whose item SD-001 has the same generic name and form group; 齐鲁 won it with a 40 mg product at 0.2000."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from jicai.agreements.models import AgreedVolume
from jicai.batches.models import AgreementYear, Winner
from jicai.compliance import overlaps
from jicai.compliance.models import BatchOverlap
from jicai.core.errors import DomainError, NotFound
from jicai.core.models import AuditLog
from jicai.ingest.pipeline import run_import
from jicai.monitoring.evaluate import run_monitoring
from jicai.monitoring.models import Alert, ProgressFact
from jicai.policy.models import PolicyProfile
from jicai.trade import actions, queries
from jicai.trade.models import OrderLine
from tests import factories
from tests.trade.conftest import listing

pytestmark = pytest.mark.django_db
NATIONAL_START = dt.date(2024, 3, 1)


def add_provincial_batch(w, code, item_code, start, end, listed_from):
    """A provincial batch whose one item has the national item's generic name and form group (imported, so
    the overlap is detected); 齐鲁 wins it in 山东 with a 40 mg product listed at 0.2000."""
    w.sd_batch = factories.batch(code, start, end, kind="provincial")
    run_import(
        kind="items",
        rows_or_file=[
            {
                "batch_code": code,
                "item_code": item_code,
                "generic_name": "阿托伐他汀钙",
                "dosage_form_group": "口服常释剂型",
            }
        ],
        actor=None,
        source="cli",
    )
    w.sd_item = w.sd_batch.items.get()
    w.sd_product = factories.product("XC10AAA001A001010100009", w.maker, spec="40mg")
    Winner.objects.create(
        item=w.sd_item,
        product=w.sd_product,
        province=w.province,
        role="main",
        winning_price=Decimal("0.2000"),
    )
    listing(w.sd_product, w.province, "0.2000", valid_from=listed_from)
    return w


@pytest.fixture
def provincial(trade):
    return add_provincial_batch(
        trade, "SD-2023", "SD-001", dt.date(2023, 6, 1), dt.date(2026, 5, 31), dt.date(2023, 6, 1)
    )


def order(w, on):
    return actions.place_order(actor=w.pharmacist, lines=[actions.LineInput(w.sd_product, 10)], ordered_on=on)


def test_import_detects_the_overlap_from_the_national_start(provincial):
    (o,) = BatchOverlap.objects.all()
    assert (o.national_item, o.provincial_item, o.applies_from, o.confirmed_at) == (
        provincial.item,
        provincial.sd_item,
        NATIONAL_START,
        None,
    )
    assert overlaps.detect_overlaps() == 0  # idempotent


def test_unconfirmed_overlap_changes_nothing(provincial):
    assert overlaps.superseded_items(dt.date(2025, 1, 1)) == {}
    order(provincial, dt.date(2024, 6, 1))  # still at the provincial price


def test_confirmed_overlap_applies_from_the_national_start_not_the_day_before(provincial):
    o = BatchOverlap.objects.get()
    overlaps.confirm(actor=provincial.province_bureau, overlap_id=o.pk)
    assert AuditLog.objects.filter(action="compliance.overlap_confirmed").count() == 1
    assert overlaps.superseded_items(NATIONAL_START - dt.timedelta(days=1)) == {}
    assert overlaps.superseded_items(NATIONAL_START) == {provincial.sd_item.pk: provincial.item.pk}
    order(provincial, NATIONAL_START - dt.timedelta(days=1))  # 0.2000 still allowed the day before
    before = OrderLine.objects.count()
    with pytest.raises(DomainError) as exc:
        order(provincial, NATIONAL_START)
    assert exc.value.code == "above_national_price" and "0.1200" in exc.value.message
    assert OrderLine.objects.count() == before
    with pytest.raises(DomainError):
        overlaps.confirm(actor=provincial.province_bureau, overlap_id=o.pk)  # already confirmed


def test_page_api_and_wrong_organisation(provincial, client_for, api_client_for):
    o = BatchOverlap.objects.get()
    for user in (provincial.pharmacist, provincial.manufacturer):
        assert client_for(user).get(reverse("compliance:overlaps")).status_code == 404
        assert api_client_for(user).post(f"/api/v1/batch-overlaps/{o.pk}/confirm").status_code == 404
    # a city bureau sees the overlap but only a province bureau (or admin) confirms it
    assert client_for(provincial.city_bureau).get(reverse("compliance:overlaps")).status_code == 200
    assert (
        client_for(provincial.city_bureau).post(reverse("compliance:overlaps"), {"confirm": o.pk}).status_code
        == 404
    )
    with pytest.raises(NotFound):
        overlaps.confirm(actor=provincial.city_bureau, overlap_id=o.pk)
    o.refresh_from_db()
    assert o.confirmed_at is None
    api = api_client_for(provincial.province_bureau)
    assert api.get("/api/v1/batch-overlaps").json()["results"][0]["confirmed"] is False
    body = api.post(f"/api/v1/batch-overlaps/{o.pk}/confirm").json()
    assert (body["confirmed"], body["applies_from"]) == (True, "2024-03-01")
    assert (
        json.loads(api.post(f"/api/v1/batch-overlaps/{o.pk}/confirm").content)["error"]["code"]
        == "already_confirmed"
    )


# ---- from the national start the provincial item's products are N of the national item ------------------


@pytest.fixture
def same_start(trade):
    """A provincial batch SD-2024 starting on the national start (2024-03-01 … 2026-02-28). Its item SD-101
    is newer than GY7-001, so without a confirmed overlap the "latest cycle start" rule of item resolution
    keeps choosing it on and after 2024-03-01: only the confirmation moves 齐鲁's 40 mg to the national item.
    From the national start 齐鲁 lists the 40 mg at its national price 0.1200 (held to it, SPEC §15)."""
    w = add_provincial_batch(
        trade, "SD-2024", "SD-101", NATIONAL_START, dt.date(2026, 2, 28), dt.date(2024, 2, 1)
    )
    listing(w.sd_product, w.province, "0.1200", valid_from=NATIONAL_START)
    return w


def resolved(w, on):
    return queries.items_for_products([w.sd_product.pk], on, w.province)[w.sd_product.pk]


def confirm_the_overlap(w):
    overlaps.confirm(actor=w.province_bureau, overlap_id=BatchOverlap.objects.get().pk)


def test_item_resolution_moves_to_the_national_item_on_the_national_start(same_start):
    w, day_before = same_start, NATIONAL_START - dt.timedelta(days=1)
    assert (resolved(w, day_before), resolved(w, NATIONAL_START)) == (w.sd_item.pk, w.sd_item.pk)
    confirm_the_overlap(w)
    assert (resolved(w, day_before), resolved(w, NATIONAL_START)) == (w.sd_item.pk, w.item.pk)
    before = order(w, day_before).lines.get()
    on_start = order(w, NATIONAL_START).lines.get()
    assert (before.item, before.unit_price) == (w.sd_item, Decimal("0.2000"))
    assert (on_start.item, on_start.unit_price) == (w.item, Decimal("0.1200"))
    # 40 mg is no winner of GY7-001: the line counts as N of the national item
    assert not Winner.objects.filter(item=w.item, product=w.sd_product).exists()


def test_orders_import_resolves_the_national_item_from_the_national_start(same_start):
    w = same_start
    confirm_the_overlap(w)
    rows = [
        ("PO-A", "2024-02-29", "0.2000"),  # the day before: provincial rules
        ("PO-B", "2024-03-01", "0.1200"),  # the national start: national rules
    ]
    run_import(
        kind="orders",
        rows_or_file=[
            {
                "order_id": order_id,
                "line_no": "1",
                "institution_code": w.hospital.code,
                "supplier_code": w.maker.code,
                "distributor_code": "",
                "product_code": w.sd_product.code,
                "qty": "10",
                "unit_price": price,
                "ordered_on": day,
                "status": "open",
            }
            for order_id, day, price in rows
        ],
        actor=None,
        source="cli",
    )
    items = dict(OrderLine.objects.values_list("order__order_id", "item__item_code"))
    assert items == {"PO-A": "SD-101", "PO-B": "GY7-001"}


def progress(item):
    return list(
        ProgressFact.objects.filter(item=item).values_list(
            "agreed_qty", "purchased_winning", "purchased_nonwinning"
        )
    )


def test_monitoring_of_the_provincial_item_stops_from_the_national_start(provincial):
    """Basis `ordered`. SD-2023 year 1 is 2023-06-01 … 2024-05-31; the hospital agreed 1000 of SD-001 and
    ordered 10 of 齐鲁's 40 mg on 2024-02-20 (W of SD-001) and 10 on 2024-03-01 (N of GY7-001: the national
    batch is the newer one in force that day)."""
    w, day_before = provincial, NATIONAL_START - dt.timedelta(days=1)
    PolicyProfile.objects.create(region=w.province, values={"progress_basis": "ordered"})
    AgreedVolume.objects.create(
        agreement_year=AgreementYear.objects.get(batch=w.sd_batch, number=1),
        institution=w.hospital,
        item=w.sd_item,
        supplier=w.maker,
        reported_qty=2000,
        agreed_qty=1000,
        source="imported",
    )
    listing(w.sd_product, w.province, "0.1200", valid_from=NATIONAL_START)
    order(w, dt.date(2024, 2, 20))
    order(w, NATIONAL_START)

    run_monitoring(day_before, sla=False)  # provincial rules: SD-001 monitored, W = 10 of 1000
    assert progress(w.sd_item) == [(1000, 10, 0)]
    assert progress(w.item) == []  # the national batch has not started
    lag = Alert.objects.get(item=w.sd_item, type="PROGRESS_LAG")
    assert lag.status == "open"

    run_monitoring(NATIONAL_START, sla=False)  # overlap not confirmed yet: SD-001 still monitored
    assert progress(w.sd_item) == [(1000, 10, 0)]
    assert progress(w.item) == [(0, 0, 10)]

    confirm_the_overlap(w)
    run_monitoring(day_before, sla=False)  # confirmed, but the day before the national start
    assert progress(w.sd_item) == [(1000, 10, 0)]
    run_monitoring(NATIONAL_START, sla=False)  # the national start: SD-001's agreement stops, N of GY7-001
    assert progress(w.sd_item) == []
    assert progress(w.item) == [(0, 0, 10)]
    lag.refresh_from_db()
    assert lag.status == "closed"
    assert not Alert.objects.filter(item=w.sd_item, status="open").exists()
