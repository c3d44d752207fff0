"""accounts.access.scope_by_parties for companies: rows naming the company as supplier or as distributor,
whichever sides it has rows on (access._company_rows probes them), and the consortium lead's members."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from jicai.accounts import access
from jicai.trade.models import Delivery, OrderLine
from tests.monitoring.conftest import add_line

D = dt.date


def _lines(actor):
    return set(
        access.scope_by_parties(
            actor,
            OrderLine.objects.all(),
            institution="institution",
            supplier="supplier",
            distributor="order__distributor",
        )
    )


def test_supplier_distributor_and_both(world):
    supplied = add_line(world.hospital, world.product, 10, D(2025, 6, 1))  # maker supplies, no distributor
    distributed = add_line(world.hospital, world.other_product, 10, D(2025, 6, 2))
    distributed.order.distributor = world.distributor
    distributed.order.save()
    assert _lines(world.manufacturer) == {supplied}
    assert _lines(world.distributor_user) == {distributed}
    assert _lines(world.other_manufacturer) == {distributed}
    # The maker delivers another supplier's order itself: both sides count.
    own_delivery = add_line(world.hospital, world.other_product, 5, D(2025, 6, 3))
    own_delivery.order.distributor = world.maker
    own_delivery.order.save()
    world.manufacturer.__dict__.pop("_company_sides", None)
    assert _lines(world.manufacturer) == {supplied, own_delivery}
    # A company with no rows at all sees none.
    world.other_manufacturer.__dict__.pop("_company_sides", None)
    OrderLine.objects.filter(supplier=world.other_maker).delete()
    assert _lines(world.other_manufacturer) == set()


def test_probes_run_once_per_model_and_request(world):
    add_line(world.hospital, world.product, 10, D(2025, 6, 1), delivered=10, delivered_on=D(2025, 6, 2))
    with CaptureQueriesContext(connection) as first:
        _lines(world.manufacturer)
    with CaptureQueriesContext(connection) as second:
        _lines(world.manufacturer)
    assert len(first) == 2 + 1  # two probes, then the list itself
    assert len(second) == 1  # the probes' answer is remembered for this user object (one request)
    deliveries = access.scope_by_parties(
        world.manufacturer,
        Delivery.objects.all(),
        institution="line__institution",
        supplier="line__supplier",
        distributor="line__order__distributor",
    )
    assert deliveries.count() == 1
    # A filtered queryset is probed with its filter (its answer may differ), and not remembered.
    filtered = OrderLine.objects.filter(qty__gt=100)
    assert not access.scope_by_parties(
        world.manufacturer,
        filtered,
        institution="institution",
        supplier="supplier",
        distributor="order__distributor",
    ).exists()


def test_province_bureau_without_the_region_join_only_while_it_holds_every_institution(world):
    from tests import factories

    mine = add_line(world.hospital, world.product, 10, D(2025, 6, 1))
    other = add_line(world.other_hospital, world.product, 10, D(2025, 6, 1))

    def lines(actor):
        return set(access.scope_by_parties(actor, OrderLine.objects.all(), institution="institution"))

    assert access.holds_every_institution(world.province_bureau)
    assert lines(world.province_bureau) == {mine, other}
    assert not access.holds_every_institution(world.city_bureau)
    assert lines(world.city_bureau) == {mine}
    # An institution of another province: the province bureau no longer holds them all.
    beijing = factories.region("110000", "北京市")
    outside = add_line(
        factories.institution("H11010100001", "北京某医院", beijing), world.product, 10, D(2025, 6, 1)
    )
    world.province_bureau.__dict__.pop("_holds_every_institution")
    assert not access.holds_every_institution(world.province_bureau)
    assert lines(world.province_bureau) == {mine, other}
    assert outside not in lines(world.province_bureau)


def test_province_bureau_holding_every_institution_filters_nothing_along_non_null_keys(world):
    """Deliveries reach an institution through two NOT NULL keys: no filter, so no join to the order lines;
    a nullable key on the path (a line's item) keeps the IS NOT NULL filter."""
    from jicai.trade.models import Delivery

    line = add_line(world.hospital, world.product, 10, D(2025, 6, 1))
    Delivery.objects.create(line=line, qty=10, delivered_on=D(2025, 6, 2))
    scoped = access.scope_by_parties(
        world.province_bureau, Delivery.objects.all(), institution="line__institution"
    )
    assert not scoped.query.where and list(scoped) == list(Delivery.objects.all())
    kept = access.scope_by_parties(world.province_bureau, OrderLine.objects.all(), institution="item")
    assert kept.query.where
