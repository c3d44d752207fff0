"""Overlapping batches (SPEC §15): the trade world's national batch (cycle from 2024-03-01, item GY7-001
阿托伐他汀钙 口服常释剂型, 齐鲁 wins at 0.1200) and a provincial batch SD-2023 (2023-06-01 … 2026-05-31)
whose item SD-001 has the same generic name and form group; 齐鲁 won it with a 40 mg product at 0.2000."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from jicai.batches.models import Winner
from jicai.compliance import overlaps
from jicai.compliance.models import BatchOverlap
from jicai.core.errors import DomainError, NotFound
from jicai.core.models import AuditLog
from jicai.ingest.pipeline import run_import
from jicai.trade import actions
from jicai.trade.models import OrderLine
from tests import factories
from tests.trade.conftest import listing

pytestmark = pytest.mark.django_db
NATIONAL_START = dt.date(2024, 3, 1)


@pytest.fixture
def provincial(trade):
    w = trade
    w.sd_batch = factories.batch("SD-2023", dt.date(2023, 6, 1), dt.date(2026, 5, 31), kind="provincial")
    run_import(
        kind="items",
        rows_or_file=[
            {
                "batch_code": "SD-2023",
                "item_code": "SD-001",
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
    listing(w.sd_product, w.province, "0.2000", valid_from=dt.date(2023, 6, 1))
    return w


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
