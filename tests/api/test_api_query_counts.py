"""No N+1: every list answers 5 rows and 100 rows with the same number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jicai.accounts.models import ApiToken
from jicai.batches.models import Item, ItemFactor, ListingPrice, Substitute, Winner
from jicai.core.codes import make_uscc
from jicai.registry.models import Company, Consortium, Institution, Product, Region
from tests import factories
from tests.api.conftest import API


def add_regions(w, start, stop):
    Region.objects.bulk_create(
        [
            Region(code=f"9{n:05d}", name=f"区{n}", level="province", path=f"9{n:05d}/")
            for n in range(start, stop)
        ]
    )


def add_institutions(w, start, stop):
    Institution.objects.bulk_create(
        [
            Institution(
                code=f"H371002{n + 100:05d}",
                name=f"机构{n}",
                region=w.county,
                level="primary",
                ownership="public",
            )
            for n in range(start, stop)
        ]
    )


def add_consortia(w, start, stop):
    add_institutions(w, start, stop)
    for n in range(start, stop):
        lead = Institution.objects.get(code=f"H371002{n + 100:05d}")
        lead.consortium = Consortium.objects.create(code=lead.code, name=f"医共体{n}", lead=lead)
        lead.save(update_fields=["consortium"])


def add_companies(w, start, stop):
    Company.objects.bulk_create(
        [
            Company(code=make_uscc(f"91370000MA{n + 100:07d}"), name=f"企业{n}", kind="both")
            for n in range(start, stop)
        ]
    )


def _products(w, start, stop):
    return Product.objects.bulk_create(
        [
            Product(
                code=f"XC10AAA001A0010101{n + 100:05d}",
                generic_name="阿托伐他汀钙",
                dosage_form="片剂",
                dosage_form_group="口服常释剂型",
                spec=f"{n}mg",
                unit="片",
                manufacturer=w.other_maker,
                category="western",
            )
            for n in range(start, stop)
        ]
    )


def add_products(w, start, stop):
    _products(w, start, stop)


def add_batches(w, start, stop):
    for n in range(start, stop):
        factories.batch(code=f"B-{n:03d}", start=dt.date(2020, 1, 1), end=dt.date(2021, 12, 31))


def add_items(w, start, stop):
    Item.objects.bulk_create(
        [
            Item(
                batch=w.batch,
                item_code=f"GY7-{n + 100:03d}",
                generic_name=f"品种{n}",
                dosage_form_group="口服常释剂型",
            )
            for n in range(start, stop)
        ]
    )


def add_winners(w, start, stop):
    products = _products(w, start, stop)
    Winner.objects.bulk_create(
        [
            Winner(item=w.item, product=p, province=w.province, role="backup2", winning_price=Decimal("0.3"))
            for p in products
        ]
    )
    ItemFactor.objects.bulk_create(
        [ItemFactor(item=w.item, product=p, factor=Decimal("2")) for p in products]
    )


def add_substitutes(w, start, stop):
    Substitute.objects.bulk_create(
        [Substitute(item=w.item, product=p, degree="partial") for p in _products(w, start, stop)]
    )


def add_listing_prices(w, start, stop):
    ListingPrice.objects.bulk_create(
        [
            ListingPrice(
                product=w.product,
                province=w.province,
                price=Decimal("0.12"),
                valid_from=dt.date(2020, 1, 1) + dt.timedelta(days=n),
            )
            for n in range(start, stop)
        ]
    )


def add_tokens(w, start, stop):
    ApiToken.objects.bulk_create(
        [
            ApiToken(
                organisation=w.admin_org,
                name=f"t{n}",
                role="admin",
                prefix=f"p{n:07d}",
                key_hash=f"{n:064d}",
                created_by=w.admin,
            )
            for n in range(start, stop)
        ]
    )


CASES = [
    ("/regions", add_regions),
    ("/institutions", add_institutions),
    ("/consortia", add_consortia),
    ("/companies", add_companies),
    ("/products", add_products),
    ("/batches", add_batches),
    ("/batches/GY-YD2023-1/items", add_items),
    ("/winners", add_winners),
    ("/substitutes", add_substitutes),
    ("/listing-prices", add_listing_prices),
    ("/tokens", add_tokens),
]


@pytest.mark.parametrize("path, grow", CASES, ids=[c[0] for c in CASES])
def test_list_query_count_does_not_grow_with_rows(
    world, client_for, path, grow, django_assert_max_num_queries
):
    # A session client: the token path adds the same two queries to every request either way.
    client = client_for(world.admin)
    grow(world, 0, 5)
    with CaptureQueriesContext(connection) as small:
        response = client.get(f"{API}{path}?page_size=500")
    assert response.status_code == 200
    few = len(response.json()["results"])
    assert few >= 5
    grow(world, 5, 100)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        response = client.get(f"{API}{path}?page_size=500")
    assert len(response.json()["results"]) == few + 95
    assert len(large.captured_queries) == len(small.captured_queries)
