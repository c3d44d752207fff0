"""Fixtures for API tests: a consortium led by the world's hospital, a second province, JSON helpers."""

import datetime as dt
from decimal import Decimal

import pytest

from jicai.batches.models import ItemFactor, ListingPrice, Substitute, Winner
from jicai.registry.models import Consortium
from tests import factories

API = "/api/v1"


def get_json(client, path: str, status: int = 200):
    response = client.get(API + path)
    assert response.status_code == status, response.content.decode()
    return response.json()


@pytest.fixture
def not_found_body():
    """The body every missing or out-of-scope object answers with."""
    return {"error": {"code": "not_found", "message": "未找到该记录，或您无权查看", "details": []}}


@pytest.fixture
def consortium(world):
    """环翠区医共体: led by the hospital, with the clinic as member (both in county 371002)."""
    c = Consortium.objects.create(code=world.hospital.code, name="环翠区紧密型医共体", lead=world.hospital)
    for inst in (world.hospital, world.clinic):
        inst.consortium = c
        inst.save(update_fields=["consortium"])
    return c


@pytest.fixture
def jiangsu(world):
    """A second province where only the other maker wins: its institution is outside the maker's provinces."""
    province = factories.region("320000", "江苏省")
    city = factories.region("320100", "南京市", province)
    county = factories.region("320102", "玄武区", city)
    hospital = factories.institution("H32010200001", "南京市玄武区人民医院", county, level="tertiary")
    Winner.objects.create(
        item=world.item,
        product=world.other_product,
        province=province,
        role="main",
        winning_price=Decimal("0.0950"),
    )
    return hospital


@pytest.fixture
def batch_extras(world):
    """A substitute, an item factor and two listing prices on top of the world's one winner."""
    substitute = factories.product(
        "XC10AAA002A001010100003", world.other_maker, generic_name="瑞舒伐他汀钙", spec="10mg"
    )
    Substitute.objects.create(item=world.item, product=substitute, degree="most")
    Winner.objects.create(
        item=world.item,
        product=world.other_product,
        province=world.province,
        role="backup",
        winning_price=Decimal("0.2350"),
    )
    ItemFactor.objects.create(item=world.item, product=world.other_product, factor=Decimal("0.5"))
    ListingPrice.objects.create(
        product=world.product,
        province=world.province,
        price=Decimal("0.1200"),
        valid_from=dt.date(2024, 3, 1),
    )
    ListingPrice.objects.create(
        product=world.other_product,
        province=world.province,
        price=Decimal("0.2350"),
        valid_from=dt.date(2024, 3, 1),
    )
    return substitute
