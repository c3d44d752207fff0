"""A supply world on top of `world`: item GY7-001 in 山东 with main (齐鲁), backup (华北, item_factor 0.5)
and backup2 (扬子江) winners, a non-winning product, a substitute, listing prices, the hospital's
agreed volume for agreement year 2 (2025-03-01 … 2026-02-28), and 齐鲁's distributor (国药). "Today" is
pinned to 2025-06-30 for actions and pages."""

import datetime as dt
from decimal import Decimal

import pytest

from jicai.agreements.models import AgreedVolume, DeliveryRelationship
from jicai.batches.models import AgreementYear, ItemFactor, ListingPrice, Substitute, Winner
from jicai.trade import actions
from tests import factories

TODAY = dt.date(2025, 6, 30)


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr(actions, "today", lambda: TODAY)
    return TODAY


def listing(product, province, price, valid_from=dt.date(2024, 3, 1)):
    return ListingPrice.objects.create(
        product=product, province=province, price=Decimal(price), valid_from=valid_from
    )


@pytest.fixture
def trade(world, today):
    return build_trade(world)


def build_trade(w):
    """Adds the supply world to a `build_world()` world (also used by e2e/test_trade_flow.py)."""
    w.third_maker = factories.company(4, "扬子江药业集团有限公司")
    w.fourth_maker = factories.company(5, "石药集团欧意药业有限公司")
    w.backup_product = w.other_product  # 华北 10mg: item_factor 0.5
    w.backup_product.spec = "10mg"
    w.backup_product.save(update_fields=["spec"])
    w.backup2_product = factories.product("XC10AAA001A001010100003", w.third_maker)
    w.nonwinning_product = factories.product("XC10AAA001A001010100004", w.fourth_maker)
    w.substitute_product = factories.product(
        "XC10AAB001A001010100001", w.maker, generic_name="瑞舒伐他汀钙", spec="10mg"
    )
    Winner.objects.create(
        item=w.item,
        product=w.backup_product,
        province=w.province,
        role="backup",
        winning_price=Decimal("0.1500"),
    )
    Winner.objects.create(
        item=w.item,
        product=w.backup2_product,
        province=w.province,
        role="backup2",
        winning_price=Decimal("0.1800"),
    )
    ItemFactor.objects.create(item=w.item, product=w.backup_product, factor=Decimal("0.5"))
    Substitute.objects.create(item=w.item, product=w.substitute_product, degree="most")
    listing(w.product, w.province, "0.1200")
    listing(w.backup_product, w.province, "0.1500")
    listing(w.backup2_product, w.province, "0.1800")
    listing(w.nonwinning_product, w.province, "0.5000")
    listing(w.substitute_product, w.province, "0.3000")
    w.year2 = AgreementYear.objects.get(batch=w.batch, number=2)
    AgreedVolume.objects.create(
        agreement_year=w.year2,
        institution=w.hospital,
        item=w.item,
        supplier=w.maker,
        reported_qty=2000,
        ratio=Decimal("0.5"),
        agreed_qty=1000,
        source="computed",
    )
    DeliveryRelationship.objects.create(supplier=w.maker, distributor=w.distributor, region=w.province)
    return w


def order(w, product, qty, *, actor=None, on=dt.date(2025, 6, 1), unit_price=None):
    return actions.place_order(
        actor=actor or w.pharmacist, lines=[actions.LineInput(product, qty, unit_price)], ordered_on=on
    )


def delivered_order(w, product, qty, *, on=dt.date(2025, 6, 1), supplier_user=None):
    """An order whose only line the supplier delivered in full on the order date + 2 days."""
    o = order(w, product, qty, on=on)
    line = o.lines.get()
    if supplier_user is not None:
        actions.record_delivery(
            actor=supplier_user, line=line, qty=qty, delivered_on=on + dt.timedelta(days=2)
        )
        line.refresh_from_db()
    return o, line
