"""Fixtures for demand reporting: the persona world plus a second item, a consortium (the county hospital
leads, the community centre is a member with its own login), imported history and a helper that opens a
province-wide window."""

import datetime as dt

import pytest

from jicai.accounts.models import OrganisationKind, Role
from jicai.batches.models import Item
from jicai.demand import actions
from jicai.demand.models import ImportedHistory
from jicai.registry.models import Consortium
from tests import factories

OPENS = dt.date(2024, 1, 15)
DEADLINE = dt.date(2024, 2, 15)


@pytest.fixture
def dw(world):
    """world + item2, consortium (hospital leads, clinic member), clinic login, imported history."""
    w = world
    w.item2 = Item.objects.create(
        batch=w.batch, item_code="GY7-002", generic_name="苯磺酸氨氯地平", dosage_form_group="口服常释剂型"
    )
    w.consortium = Consortium.objects.create(code=w.hospital.code, name="环翠区紧密型医共体", lead=w.hospital)
    for inst in (w.hospital, w.clinic):
        inst.consortium = w.consortium
        inst.save(update_fields=["consortium"])
    w.clinic_org = factories.org(OrganisationKind.INSTITUTION, institution=w.clinic)
    w.clinic_pharmacist = factories.user("zd_pharmacy", w.clinic_org, Role.INSTITUTION)
    ImportedHistory.objects.create(institution=w.hospital, item=w.item, qty=100)
    ImportedHistory.objects.create(institution=w.hospital, item=w.item2, qty=40)
    ImportedHistory.objects.create(institution=w.clinic, item=w.item, qty=10)
    return w


@pytest.fixture
def window(dw):
    return actions.open_window(
        actor=dw.province_bureau,
        batch=dw.batch,
        title="第七批国家集采报量",
        opens_on=OPENS,
        deadline=DEADLINE,
    )


def report_of(window, institution):
    return window.reports.get(institution=institution)


def fill(actor, report, values: dict):
    """values: item_code → reported qty or (qty, explanation)."""
    lines = []
    for code, value in values.items():
        qty, text = value if isinstance(value, tuple) else (value, "")
        lines.append(actions.LineInput(code, qty, text))
    return actions.save_report_lines(actor=actor, report=report, lines=lines)
