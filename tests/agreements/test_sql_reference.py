"""The set-based SQL of write_agreed_volumes / write_agreements stores exactly what the row-by-row Python
computation they replaced stores (tests/agreements/python_reference.py), value for value and storage type
for type, on the first computation of a year and on re-runs after adjustments, imports, new reports,
price and relationship changes and signatures; plus a few of the same numbers worked by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction

from jicai.agreements import actions
from jicai.agreements.models import AgreedVolume, DeliveryRelationship, PurchaseAgreement
from jicai.batches.models import AgreementYear, Item, Winner
from jicai.demand.models import DemandLine, DemandReport
from jicai.policy.models import PolicyProfile
from tests import factories
from tests.agreements import python_reference as reference
from tests.agreements.conftest import approved_report

VOLUME_COLUMNS = "agreement_year_id, institution_id, item_id, supplier_id, reported_qty, ratio, agreed_qty, source, adjusted"
AGREEMENT_COLUMNS = (
    "agreement_year_id, institution_id, item_id, supplier_id, distributor_id, agreed_qty, winning_price, "
    "budget, status, due_date"
)


def stored(model, columns: str) -> list[tuple]:
    """Every row as the database returns it, with each value's Python type (a REAL 1.0 is not an INTEGER 1)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {model._meta.db_table} ORDER BY 1, 2, 3")
        return [tuple((v, type(v).__name__) for v in row) for row in cursor.fetchall()]


def state() -> tuple:
    return stored(AgreedVolume, VOLUME_COLUMNS), stored(PurchaseAgreement, AGREEMENT_COLUMNS)


def summary(result, ordered: bool) -> tuple:
    problems = [(p.institution_id, p.item_id, p.reason) for p in result.problems]
    return result.as_dict(), problems if ordered else sorted(problems)


def same_as_reference(world, number: int, what: str):
    """Run the reference in a savepoint that is rolled back, then the real action; both must store the same
    rows and report the same counts and problems. Returns the real action's result."""
    year = AgreementYear.objects.select_related("batch").get(batch=world.batch, number=number)
    ref_fn, new_fn = {
        "volumes": (reference.write_agreed_volumes, actions.write_agreed_volumes),
        "agreements": (reference.write_agreements, actions.write_agreements),
    }[what]
    with transaction.atomic():
        expected_result = ref_fn(year)
        expected = state()
        transaction.set_rollback(True)
    before = state()
    result = new_fn(year)
    got = state()
    assert got == expected
    # The reference read agreed volumes in no particular order, so only the volumes' problem order is fixed.
    assert summary(result, what == "volumes") == summary(expected_result, what == "volumes")
    return result, before != got


@pytest.fixture
def scenario(world, reports):
    """On top of `reports`: odd ratios for the hospital's county, an item without winners, a Jiangsu
    institution (no main winner there for item1, no delivery relationship), several windows for the
    hospital (latest wins, ties by id), an unapproved report, an empty line, delivery relationships."""
    w, av = world, reports
    PolicyProfile.objects.create(
        region=w.county,
        batch=w.batch,
        values={"agreed_ratio_by_winners": {"1": "0.555", "2": "0.6667", "3+": "0.7"}},
    )
    av.item9 = Item.objects.create(
        batch=w.batch, item_code="T-009", generic_name="药品九", dosage_form_group="口服常释剂型"
    )
    nanjing = factories.region("320102", "玄武区", factories.region("320100", "南京市", av.jiangsu))
    av.jiangsu_hospital = factories.institution("H32010200001", "南京市玄武区医院", nanjing)
    approved_report(w, av.jiangsu_hospital, {av.item1: 11, av.item5: 13})
    approved_report(w, w.hospital, {w.item: 33, av.item9: 50}, opens_on=dt.date(2024, 1, 11))
    approved_report(w, w.hospital, {av.item1: 41}, opens_on=dt.date(2024, 2, 1))
    approved_report(w, w.hospital, {av.item1: 100}, opens_on=dt.date(2024, 2, 1))  # same day, later id
    draft = approved_report(w, w.other_hospital, {av.item1: 999}, opens_on=dt.date(2024, 3, 1))
    DemandReport.objects.filter(pk=draft.pk).update(status="submitted")
    empty = approved_report(w, w.clinic, {av.item3: 5}, opens_on=dt.date(2024, 3, 2))
    DemandLine.objects.filter(report=empty).update(reported_qty=None)
    DeliveryRelationship.objects.create(supplier=w.maker, region=w.province, distributor=w.distributor)
    DeliveryRelationship.objects.create(supplier=w.maker, region=w.county, distributor=av.distributor_b)
    for number, due in ((1, dt.date(2024, 3, 31)), (2, dt.date(2025, 3, 31))):
        AgreementYear.objects.filter(batch=w.batch, number=number).update(sign_due=due)
    return av


def test_first_computation_matches_the_reference_and_hand_worked_numbers(world, scenario):
    av = scenario
    volumes, _ = same_as_reference(world, 1, "volumes")
    agreements, _ = same_as_reference(world, 1, "agreements")
    got = {
        (v.institution_id, v.item_id): (v.reported_qty, v.agreed_qty, v.supplier_id)
        for v in AgreedVolume.objects.all()
    }
    h = world.hospital.pk
    assert got[(h, av.item1.pk)] == (100, 56, world.maker.pk)  # latest window; 100 × 0.555 = 55.5 → 56
    assert got[(world.clinic.pk, av.item1.pk)] == (3, 2, world.maker.pk)  # 1.665 → 2
    assert got[(h, av.item2.pk)][1] == 67  # 100 × 0.6667 = 66.67 → 67
    assert got[(h, av.item5.pk)][1] == 5  # county 3+ → 0.7: 7 × 0.7 = 4.9 → 5
    assert got[(world.other_hospital.pk, av.item5.pk)][1] == 8  # default table: 10 × 0.80
    assert got[(av.jiangsu_hospital.pk, av.item1.pk)] == (11, 6, None)  # no main winner in Jiangsu
    assert (h, av.item9.pk) not in got  # no winners: a problem, no row
    assert volumes.created == len(got) == 9 and volumes.problem_count == 2
    a = PurchaseAgreement.objects.get(institution=world.hospital, item=av.item1)
    assert (a.budget, a.distributor_id) == (Decimal("6.92"), av.distributor_b.pk)  # 56 × 0.1235 = 6.916
    # Jiangsu: item1 has no supplier, item5's supplier has no distributor there (generated anyway).
    assert agreements.problem_count == 2 and agreements.created == 8


def test_reruns_after_changes_match_the_reference(world, scenario):
    av = scenario
    same_as_reference(world, 1, "volumes")
    same_as_reference(world, 1, "agreements")
    # Nothing changed: every row equal.
    result, changed = same_as_reference(world, 1, "volumes")
    assert not changed and result.unchanged == 9
    result, changed = same_as_reference(world, 1, "agreements")
    assert not changed and result.unchanged == 8

    # A bureau adjusts one volume, an import sets another, a later report changes a third.
    adjusted = AgreedVolume.objects.get(institution=world.hospital, item=av.item2)
    actions.adjust_agreed_volume(actor=world.county_bureau, volume_id=adjusted.pk, agreed_qty=70, reason="x")
    AgreedVolume.objects.filter(institution=world.other_hospital, item=av.item5).update(
        source="imported", agreed_qty=99
    )
    approved_report(world, world.clinic, {av.item1: 77}, opens_on=dt.date(2024, 4, 1))
    # The adjusted row's report also changes (so its ratio-side fields are updated, its qty kept).
    approved_report(world, world.hospital, {av.item2: 90}, opens_on=dt.date(2024, 4, 2))
    result, changed = same_as_reference(world, 1, "volumes")
    assert changed and (result.updated, result.kept) == (1, 2)

    # A price change, a relationship change and a signature.
    Winner.objects.filter(item=av.item1, role="main", province=world.province).update(
        winning_price=Decimal("0.1236")
    )
    DeliveryRelationship.objects.filter(region=world.county).delete()
    signed = PurchaseAgreement.objects.get(institution=world.hospital, item=av.item3)
    actions.sign_agreement(actor=world.pharmacist, agreement_id=signed.pk)
    result, changed = same_as_reference(world, 1, "agreements")
    assert changed and result.kept == 1 and result.updated > 0


def test_year_two_carries_year_one_like_the_reference(world, scenario):
    av = scenario
    same_as_reference(world, 1, "volumes")
    approved_report(world, world.hospital, {av.item1: 20}, year=2)
    result, _ = same_as_reference(world, 2, "volumes")
    assert result.created == 9
    same_as_reference(world, 2, "agreements")
    # The province loses item3's main winner: carried rows keep last year's supplier and are a problem.
    Winner.objects.filter(item=av.item3, role="main").update(role="backup")
    result, changed = same_as_reference(world, 2, "volumes")
    assert result.problem_count >= 2
    same_as_reference(world, 2, "agreements")
