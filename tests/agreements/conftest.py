"""Fixtures for agreed volumes and agreements: items with 1, 2, 3 and 5 winning companies, approved demand
reports, a consortium led by the world's hospital and two distributors.

Hand-worked numbers used across the tests (ratio table default {1: 0.50, 2: 0.60, 3: 0.70, 4+: 0.80}):
  item1 (1 company)  hospital reports 101 → 101 × 0.50 = 50.5 → 51;  clinic 3 → 1.5 → 2
  item2 (2 companies: maker main here + in 320000, other maker nonsupply) hospital 100 → 60
  item3 (3 companies) hospital 15 → 10.5 → 11
  item5 (5 companies) hospital 7 → 5.6 → 6;   other_hospital 10 → 8
"""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from jicai.accounts.models import OrganisationKind
from jicai.batches.models import Item, Winner
from jicai.demand.models import DemandLine, DemandReport, ReportingWindow, ReportStatus
from jicai.registry.models import Consortium
from tests import factories


def make_item(world, code: str, generic: str) -> Item:
    return Item.objects.create(
        batch=world.batch, item_code=code, generic_name=generic, dosage_form_group="口服常释剂型"
    )


def product(serial: int, maker, generic: str):
    return factories.product(f"XC10AAA{serial:03d}A001010100001", maker, generic_name=generic)


def win(item, prod, province, role="main", price="0.1000"):
    return Winner.objects.create(
        item=item, product=prod, province=province, role=role, winning_price=Decimal(price)
    )


def approved_report(world, institution, lines: dict, *, year: int = 1, opens_on=dt.date(2024, 1, 10)):
    """An approved demand report of `institution` in a new window of world.batch: {item: reported_qty}."""
    window = ReportingWindow.objects.create(
        batch=world.batch,
        agreement_year=year,
        bureau=world.province_bureau_org,
        region=world.province,
        title=f"报量 {institution.code} {opens_on}",
        opens_on=opens_on,
        deadline=opens_on + dt.timedelta(days=20),
    )
    report = DemandReport.objects.create(window=window, institution=institution, status=ReportStatus.APPROVED)
    DemandLine.objects.bulk_create(
        [DemandLine(report=report, item=item, reported_qty=qty, history_qty=0) for item, qty in lines.items()]
    )
    return report


@pytest.fixture
def av(world):
    """Items of world.batch with 1, 2, 3 and 5 distinct winning companies and makers/distributors."""
    w = world
    makers = [w.maker, w.other_maker] + [factories.company(10 + i, f"生产企业{i}") for i in range(3)]
    jiangsu = factories.region("320000", "江苏省")
    item1 = make_item(w, "T-001", "药品一")
    win(item1, product(101, w.maker, "药品一"), w.province, price="0.1235")
    item2 = make_item(w, "T-002", "药品二")
    p2 = product(201, w.maker, "药品二")
    win(item2, p2, w.province, price="0.5000")
    win(item2, p2, jiangsu, price="0.5000")  # same company in another province: still one company
    win(item2, product(202, w.other_maker, "药品二"), w.province, role="nonsupply", price="0.4500")
    item3 = make_item(w, "T-003", "药品三")
    for i, maker in enumerate(makers[:3]):
        win(item3, product(301 + i, maker, "药品三"), w.province, role=["main", "backup", "backup2"][i])
    item5 = make_item(w, "T-005", "药品五")
    for i, maker in enumerate(makers):
        # Two of the five win only in Jiangsu: they count, wherever they won.
        win(
            item5,
            product(501 + i, maker, "药品五"),
            w.province if i < 3 else jiangsu,
            role=["main", "backup", "nonsupply", "main", "backup"][i],
            price="2.0000",
        )
    distributor_b = factories.company(30, "瑞康医药集团股份有限公司", "distributor")
    consortium = Consortium.objects.create(code=w.hospital.code, name="环翠区紧密型医共体", lead=w.hospital)
    for inst in (w.hospital, w.clinic):
        inst.consortium = consortium
        inst.save(update_fields=["consortium"])
    w.clinic_org = factories.org(OrganisationKind.INSTITUTION, institution=w.clinic)
    w.clinic_user = factories.user("zd_clinic", w.clinic_org, "institution")
    w.other_distributor_org = factories.org(OrganisationKind.COMPANY, company=distributor_b)
    w.other_distributor_user = factories.user("ruikang", w.other_distributor_org, "distributor")
    return SimpleNamespace(
        item1=item1, item2=item2, item3=item3, item5=item5, jiangsu=jiangsu, distributor_b=distributor_b
    )


@pytest.fixture
def reports(world, av):
    approved_report(world, world.hospital, {av.item1: 101, av.item2: 100, av.item3: 15, av.item5: 7})
    approved_report(world, world.clinic, {av.item1: 3})
    approved_report(world, world.other_hospital, {av.item5: 10})
    return av
