"""Purchase agreements (SPEC §6): generation values, distributor choice, signing order, consortium lead."""

import datetime as dt
from decimal import Decimal

import pytest

from jicai.agreements import actions
from jicai.agreements.models import AgreedVolume, DeliveryRelationship, PurchaseAgreement
from jicai.batches.models import AgreementYear
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.core.models import AuditLog


@pytest.fixture
def agreements(world, reports):
    """Volumes computed, relationships set (province → world.distributor, county 371002 → distributor_b),
    sign_due of year 1 = 2024-03-31, agreements generated."""
    AgreementYear.objects.filter(batch=world.batch, number=1).update(sign_due=dt.date(2024, 3, 31))
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    actions.set_delivery_relationship(
        actor=world.manufacturer, region_code="370000", distributor_code=world.distributor.code
    )
    actions.set_delivery_relationship(
        actor=world.manufacturer, region_code="371002", distributor_code=reports.distributor_b.code
    )
    actions.generate_agreements(actor=world.province_bureau, batch=world.batch, agreement_year=1)
    return {
        (a.institution.code, a.item.item_code): a
        for a in PurchaseAgreement.objects.select_related("institution", "item")
    }


def test_generation_values(world, agreements, reports):
    a = agreements[(world.hospital.code, "T-001")]
    # 51 × 0.1235 = 6.2985 → 6.30
    assert (a.agreed_qty, a.winning_price, a.budget) == (51, Decimal("0.1235"), Decimal("6.30"))
    assert (a.supplier_id, a.distributor_id, a.status, a.due_date) == (
        world.maker.pk,
        reports.distributor_b.pk,  # the county relationship beats the province one
        "draft",
        dt.date(2024, 3, 31),
    )
    other = agreements[(world.other_hospital.code, "T-005")]
    assert (other.agreed_qty, other.winning_price, other.budget) == (8, Decimal("2.0000"), Decimal("16.00"))
    assert other.distributor_id == world.distributor.pk  # Qingdao: only the province relationship applies
    assert len(agreements) == 6


def test_budget_rounds_half_up_to_cents(world, av):
    from tests.agreements.conftest import approved_report

    approved_report(world, world.hospital, {av.item1: 60})  # agreed 30; 30 × 0.1235 = 3.705 → 3.71
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    actions.generate_agreements(actor=world.province_bureau, batch=world.batch, agreement_year=1)
    assert PurchaseAgreement.objects.get().budget == Decimal("3.71")


def test_generation_is_idempotent_and_signed_agreements_keep_their_terms(world, agreements):
    a = agreements[(world.hospital.code, "T-001")]
    actions.sign_agreement(actor=world.pharmacist, agreement_id=a.pk)
    volume = AgreedVolume.objects.get(institution=world.hospital, item=a.item)
    actions.adjust_agreed_volume(actor=world.county_bureau, volume_id=volume.pk, agreed_qty=90, reason="扩容")
    draft = agreements[(world.hospital.code, "T-002")]
    other_volume = AgreedVolume.objects.get(institution=world.hospital, item=draft.item)
    actions.adjust_agreed_volume(
        actor=world.county_bureau, volume_id=other_volume.pk, agreed_qty=61, reason="x"
    )
    result = actions.generate_agreements(actor=world.province_bureau, batch=world.batch, agreement_year=1)
    assert (result.created, result.updated, result.unchanged, result.kept) == (0, 0, 5, 1)
    a.refresh_from_db()
    draft.refresh_from_db()
    assert (a.agreed_qty, a.budget) == (51, Decimal("6.30"))  # signed: unchanged
    assert (draft.agreed_qty, draft.budget) == (61, Decimal("30.50"))  # draft followed the adjustment


def test_no_distributor_is_reported_but_the_agreement_is_generated(world, reports):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    result = actions.generate_agreements(actor=world.province_bureau, batch=world.batch, agreement_year=1)
    assert result.created == 6
    assert len(result.problems) == 6
    assert set(PurchaseAgreement.objects.values_list("distributor_id", flat=True)) == {None}


def test_signing_order_institution_then_supplier_then_effective(world, agreements):
    a = agreements[(world.hospital.code, "T-001")]
    with pytest.raises(DomainError):
        actions.sign_agreement(actor=world.manufacturer, agreement_id=a.pk)  # supplier cannot sign first
    a.refresh_from_db()
    assert a.status == "draft" and a.supplier_signed_at is None
    actions.sign_agreement(actor=world.pharmacist, agreement_id=a.pk)
    a.refresh_from_db()
    assert (a.status, a.institution_signed_by_id) == ("institution_signed", world.pharmacist.pk)
    with pytest.raises(DomainError):
        actions.sign_agreement(actor=world.pharmacist, agreement_id=a.pk)  # not twice
    actions.sign_agreement(actor=world.manufacturer, agreement_id=a.pk)
    a.refresh_from_db()
    assert a.status == "effective"
    assert a.supplier_signed_by_id == world.manufacturer.pk and a.effective_at == a.supplier_signed_at
    transitions = [
        c["status"]
        for c in AuditLog.objects.filter(action="sign_agreement", object_id=str(a.pk))
        .order_by("id")
        .values_list("changes", flat=True)
    ]
    assert transitions == [
        ["draft", "institution_signed"],
        ["institution_signed", "supplier_signed"],
        ["supplier_signed", "effective"],
    ]


def test_consortium_lead_signs_for_a_member(world, agreements):
    member = agreements[(world.clinic.code, "T-001")]
    actions.sign_agreement(actor=world.pharmacist, agreement_id=member.pk)
    member.refresh_from_db()
    assert (member.status, member.institution_signed_by_id) == ("institution_signed", world.pharmacist.pk)


def test_a_member_cannot_sign_for_its_lead(world, agreements):
    lead = agreements[(world.hospital.code, "T-001")]
    with pytest.raises(NotFound):
        actions.sign_agreement(actor=world.clinic_user, agreement_id=lead.pk)
    lead.refresh_from_db()
    assert lead.status == "draft"


@pytest.mark.parametrize("who", ["other_pharmacist", "other_manufacturer", "other_city_bureau"])
def test_outsiders_cannot_sign(world, agreements, who):
    a = agreements[(world.hospital.code, "T-001")]
    with pytest.raises(NotFound):
        actions.sign_agreement(actor=getattr(world, who), agreement_id=a.pk)
    a.refresh_from_db()
    assert a.status == "draft"


@pytest.mark.parametrize("who", ["city_bureau", "other_distributor_user"])
def test_parties_that_see_but_may_not_sign_are_refused(world, agreements, who):
    a = agreements[(world.hospital.code, "T-001")]
    with pytest.raises(PermissionDenied):
        actions.sign_agreement(actor=getattr(world, who), agreement_id=a.pk)
    a.refresh_from_db()
    assert a.status == "draft"


def test_doctor_does_not_see_the_agreement_it_may_not_sign(world, agreements):
    # SPEC §1, §9: a doctor sees no agreements of its institution, so signing one answers 404.
    a = agreements[(world.hospital.code, "T-001")]
    with pytest.raises(NotFound):
        actions.sign_agreement(actor=world.doctor, agreement_id=a.pk)
    a.refresh_from_db()
    assert a.status == "draft"


def test_bulk_sign_is_all_or_nothing(world, agreements):
    own = [a.pk for (code, _), a in agreements.items() if code == world.hospital.code]
    foreign = agreements[(world.other_hospital.code, "T-005")].pk
    with pytest.raises(NotFound):
        actions.sign_agreements(actor=world.pharmacist, agreement_ids=[*own, foreign])
    assert set(PurchaseAgreement.objects.values_list("status", flat=True)) == {"draft"}
    signed = actions.sign_agreements(actor=world.pharmacist, agreement_ids=own)
    assert len(signed) == 4
    assert PurchaseAgreement.objects.filter(status="institution_signed").count() == 4


def test_delivery_relationship_only_for_manufacturers_winning_there(world, av):
    with pytest.raises(PermissionDenied):
        actions.set_delivery_relationship(
            actor=world.distributor_user, region_code="370000", distributor_code=world.distributor.code
        )
    with pytest.raises(DomainError):
        actions.set_delivery_relationship(
            actor=world.manufacturer, region_code="370000", distributor_code=world.other_maker.code
        )
    rel = actions.set_delivery_relationship(
        actor=world.manufacturer, region_code="371000", distributor_code=world.distributor.code
    )
    again = actions.set_delivery_relationship(
        actor=world.manufacturer, region_code="371000", distributor_code=av.distributor_b.code
    )
    assert rel.pk == again.pk and DeliveryRelationship.objects.get().distributor_id == av.distributor_b.pk
    actions.remove_delivery_relationship(actor=world.manufacturer, region_code="371000")
    assert not DeliveryRelationship.objects.exists()
