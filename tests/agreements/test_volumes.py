"""Agreed volumes (SPEC §5.6): ratio by winner count, rounding, carry-over, adjustments, idempotence."""

import datetime as dt
from decimal import Decimal

import pytest

from jicai.agreements import actions
from jicai.agreements.models import AgreedVolume, AgreedVolumeAdjustment
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.core.models import AuditLog
from jicai.policy.models import PolicyProfile
from tests.agreements.conftest import approved_report


def volumes(world, year=1) -> dict:
    rows = AgreedVolume.objects.filter(agreement_year__batch=world.batch, agreement_year__number=year)
    return {(v.institution.code, v.item.item_code): v for v in rows.select_related("institution", "item")}


def test_ratio_follows_winner_count_and_rounds_half_up(world, reports):
    result = actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    got = volumes(world)
    expected = {
        (world.hospital.code, "T-001"): (101, "0.50", 51),  # 50.5 → 51
        (world.hospital.code, "T-002"): (100, "0.60", 60),
        (world.hospital.code, "T-003"): (15, "0.70", 11),  # 10.5 → 11
        (world.hospital.code, "T-005"): (7, "0.80", 6),  # 5.6 → 6
        (world.clinic.code, "T-001"): (3, "0.50", 2),  # 1.5 → 2
        (world.other_hospital.code, "T-005"): (10, "0.80", 8),
    }
    assert {k: (v.reported_qty, f"{v.ratio:.2f}", v.agreed_qty) for k, v in got.items()} == expected
    assert result.created == 6 and result.updated == 0
    assert all(v.source == "computed" and not v.adjusted for v in got.values())


def test_winner_count_counts_distinct_companies_across_provinces_and_nonsupply(world, reports):
    # item2: the maker wins in two provinces (one company) and the other maker is nonsupply → 2 → 0.60;
    # item5: two of its five companies win only in Jiangsu → still 5 → 0.80.
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    got = volumes(world)
    assert got[(world.hospital.code, "T-002")].ratio == Decimal("0.60")
    assert got[(world.hospital.code, "T-005")].ratio == Decimal("0.80")


def test_supplier_is_the_main_winner_of_the_institutions_province(world, reports):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    got = volumes(world)
    assert got[(world.hospital.code, "T-001")].supplier_id == world.maker.pk
    assert got[(world.hospital.code, "T-002")].supplier_id == world.maker.pk
    assert got[(world.hospital.code, "T-003")].supplier_id == world.maker.pk


def test_item_without_main_winner_in_the_province_has_no_supplier_and_is_a_problem(world, reports):
    from jicai.batches.models import Winner

    Winner.objects.filter(item=reports.item3, role="main").update(role="backup")
    result = actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    row = volumes(world)[(world.hospital.code, "T-003")]
    assert row.supplier_id is None and row.agreed_qty == 11
    assert [(p.institution_id, p.item_id) for p in result.problems] == [(world.hospital.pk, reports.item3.pk)]


def test_per_batch_ratio_override_from_the_policy_profile(world, reports):
    PolicyProfile.objects.create(
        region=world.province,
        batch=world.batch,
        values={"agreed_ratio_by_winners": {"1": "0.55", "2+": "0.65"}},
    )
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    got = volumes(world)
    assert got[(world.hospital.code, "T-001")].agreed_qty == 56  # 101 × 0.55 = 55.55 → 56
    assert got[(world.clinic.code, "T-001")].agreed_qty == 2  # 3 × 0.55 = 1.65 → 2
    assert got[(world.hospital.code, "T-002")].agreed_qty == 65  # 100 × 0.65
    assert got[(world.hospital.code, "T-005")].agreed_qty == 5  # 7 × 0.65 = 4.55 → 5


def test_rerun_is_idempotent_and_keeps_a_bureau_adjustment(world, reports):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    row = volumes(world)[(world.hospital.code, "T-001")]
    actions.adjust_agreed_volume(
        actor=world.county_bureau, volume_id=row.pk, agreed_qty=70, reason="新院区开业"
    )
    again = actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    assert (again.created, again.updated, again.unchanged, again.kept) == (0, 0, 5, 1)
    row.refresh_from_db()
    assert (row.agreed_qty, row.adjusted, row.reported_qty) == (70, True, 101)


def test_a_later_approved_report_updates_a_computed_volume(world, reports):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    approved_report(world, world.clinic, {reports.item1: 41}, opens_on=dt.date(2024, 2, 1))
    result = actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    assert result.updated == 1
    assert volumes(world)[(world.clinic.code, "T-001")].agreed_qty == 21  # 41 × 0.5 = 20.5 → 21


def test_year_two_defaults_to_year_one_including_adjustments(world, reports):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    row = volumes(world)[(world.hospital.code, "T-003")]
    actions.adjust_agreed_volume(actor=world.city_bureau, volume_id=row.pk, agreed_qty=9, reason="科室调整")
    result = actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch, agreement_year=2)
    year2 = volumes(world, year=2)
    assert result.created == 6
    assert {k: v.agreed_qty for k, v in year2.items()} == {
        (world.hospital.code, "T-001"): 51,
        (world.hospital.code, "T-002"): 60,
        (world.hospital.code, "T-003"): 9,
        (world.hospital.code, "T-005"): 6,
        (world.clinic.code, "T-001"): 2,
        (world.other_hospital.code, "T-005"): 8,
    }
    assert {v.source for v in year2.values()} == {"carried"}
    # A year-2 report replaces the carried value for that key only.
    approved_report(world, world.hospital, {reports.item1: 40}, year=2)
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch, agreement_year=2)
    year2 = volumes(world, year=2)
    assert (
        year2[(world.hospital.code, "T-001")].agreed_qty,
        year2[(world.hospital.code, "T-001")].source,
    ) == (
        20,
        "computed",
    )
    assert year2[(world.hospital.code, "T-003")].source == "carried"


def test_adjustment_is_logged_and_audited(world, reports):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    row = volumes(world)[(world.hospital.code, "T-002")]
    actions.adjust_agreed_volume(
        actor=world.county_bureau, volume_id=row.pk, agreed_qty="75", reason="扩大使用"
    )
    actions.adjust_agreed_volume(actor=world.province_bureau, volume_id=row.pk, agreed_qty=72, reason="复核")
    log = list(
        AgreedVolumeAdjustment.objects.filter(agreed_volume=row).values_list(
            "actor__username", "old_qty", "new_qty", "reason"
        )
    )
    assert log == [("hc_bureau", 60, 75, "扩大使用"), ("sd_bureau", 75, 72, "复核")]
    assert AuditLog.objects.filter(action="adjust_agreed_volume", object_id=str(row.pk)).count() == 2


@pytest.mark.parametrize("who", ["other_city_bureau", "pharmacist", "manufacturer", "admin"])
def test_only_a_bureau_above_the_institution_adjusts(world, reports, who):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    row = volumes(world)[(world.hospital.code, "T-001")]
    with pytest.raises(NotFound):
        actions.adjust_agreed_volume(actor=getattr(world, who), volume_id=row.pk, agreed_qty=1, reason="x")
    row.refresh_from_db()
    assert (row.agreed_qty, row.adjusted) == (51, False)
    assert not AgreedVolumeAdjustment.objects.exists()


@pytest.mark.parametrize("qty, reason", [(-1, "原因"), ("abc", "原因"), (5, "  ")])
def test_adjustment_needs_a_valid_qty_and_a_reason(world, reports, qty, reason):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    row = volumes(world)[(world.hospital.code, "T-001")]
    with pytest.raises(DomainError):
        actions.adjust_agreed_volume(
            actor=world.county_bureau, volume_id=row.pk, agreed_qty=qty, reason=reason
        )
    row.refresh_from_db()
    assert row.agreed_qty == 51


def test_only_batch_managers_compute(world, reports):
    with pytest.raises(PermissionDenied):
        actions.compute_agreed_volumes(actor=world.city_bureau, batch=world.batch)
    assert not AgreedVolume.objects.exists()


def test_unapproved_reports_are_ignored(world, av):
    from jicai.demand.models import DemandReport

    report = approved_report(world, world.hospital, {av.item1: 100})
    DemandReport.objects.filter(pk=report.pk).update(status="submitted")
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    assert not AgreedVolume.objects.exists()
