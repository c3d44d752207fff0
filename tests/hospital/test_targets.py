"""Automatic targets, edits with their log, and real-time completion (SPEC §11), worked out by hand in
conftest.py."""

from decimal import Decimal

import pytest

from jicai.agreements.actions import adjust_agreed_volume
from jicai.agreements.models import AgreedVolume
from jicai.core.errors import DomainError, ImportRejected, NotFound
from jicai.hospital import actions, queries
from jicai.hospital.models import DepartmentTarget, DoctorTarget, TargetChange
from tests.hospital.conftest import AS_OF, current_usage, load


def dept_targets():
    return {t.department.code: t.target for t in DepartmentTarget.objects.select_related("department")}


def doctor_targets():
    return {t.doctor.code: t.target for t in DoctorTarget.objects.select_related("doctor")}


def test_targets_are_generated_from_last_years_use(hosp):
    assert dept_targets() == {"D01": 603, "D02": 397, "D03": 0}
    # DR03 is away: no target; DR02's history counts 200 × item_factor 0.5 = 100.
    assert doctor_targets() == {"DR01": 452, "DR02": 151, "DR04": 397, "DR05": 0}


def test_a_changed_agreed_volume_resplits(hosp):
    volume = AgreedVolume.objects.get()
    adjust_agreed_volume(actor=hosp.w.county_bureau, volume_id=volume.pk, agreed_qty=1003, reason="调整")
    # 1003 over 600 : 395 → 604.82 / 398.18 → 604 / 398, the remainder 0.82 > 0.18 → 605 / 398.
    assert dept_targets() == {"D01": 605, "D02": 398, "D03": 0}
    assert sum(doctor_targets()[c] for c in ("DR01", "DR02")) == 605


def test_no_history_means_no_automatic_split(world):
    from tests.hospital.conftest import DEPARTMENTS

    load("departments", world.pharmacist, *DEPARTMENTS)
    load(
        "agreed-volumes",
        world.province_bureau,
        "batch_code,agreement_year,institution_code,item_code,reported_qty,agreed_qty",
        "GY-YD2023-1,1,H37100200001,GY7-001,2000,1000",
    )
    assert not DepartmentTarget.objects.exists()


def test_pharmacy_moves_ten_units_between_departments_with_a_reason(hosp):
    volume = AgreedVolume.objects.get()
    actions.set_department_targets(
        actor=hosp.w.pharmacist,
        volume_id=volume.pk,
        targets={"D01": 593, "D02": 407},
        reason="神经内科病人增加",
    )
    assert dept_targets() == {"D01": 593, "D02": 407, "D03": 0}
    # The doctors of a changed department are split again: 593 × 3/4 = 444.75 → 445, 148.25 → 148.
    assert doctor_targets() == {"DR01": 445, "DR02": 148, "DR04": 407, "DR05": 0}
    log = [(c.department.code, c.old_target, c.new_target, c.reason) for c in TargetChange.objects.all()]
    assert log == [("D01", 603, 593, "神经内科病人增加"), ("D02", 397, 407, "神经内科病人增加")]
    assert TargetChange.objects.first().actor == hosp.w.pharmacist


@pytest.mark.parametrize(
    "targets,reason,message",
    [
        ({"D01": 593}, "原因", "科室目标合计 990 与约定采购量 1000 不一致"),
        ({"D01": 593, "D02": 407}, "", "必须填写原因"),
        ({"D09": 0}, "原因", "本院没有这些科室：D09"),
    ],
)
def test_department_edit_that_breaks_the_total_is_refused(hosp, targets, reason, message):
    volume = AgreedVolume.objects.get()
    with pytest.raises(DomainError, match=message):
        actions.set_department_targets(
            actor=hosp.w.pharmacist, volume_id=volume.pk, targets=targets, reason=reason
        )
    assert dept_targets() == {"D01": 603, "D02": 397, "D03": 0}
    assert not TargetChange.objects.exists()


def test_only_the_own_pharmacy_edits_department_targets(hosp):
    volume = AgreedVolume.objects.get()
    with pytest.raises(NotFound):
        actions.set_department_targets(
            actor=hosp.w.other_pharmacist, volume_id=volume.pk, targets={"D01": 593, "D02": 407}, reason="x"
        )
    with pytest.raises(DomainError, match="只有本院药学部"):
        actions.set_department_targets(
            actor=hosp.head, volume_id=volume.pk, targets={"D01": 593, "D02": 407}, reason="x"
        )
    assert dept_targets() == {"D01": 603, "D02": 397, "D03": 0}


def test_pharmacy_change_of_a_department_total_keeps_the_heads_distribution(hosp):
    """D01 603 split DR01 452 / DR02 151 by last year's use; the head moves it to 403 / 200. The pharmacy
    then sets D01 605 (D02 395): 605 × 403/603 = 404.34, 605 × 200/603 = 200.66 → floors 404 + 200 = 604,
    the last unit to the larger remainder (DR02) → 404 / 201. (A re-split by use would give 454 / 151.)"""
    d01 = DepartmentTarget.objects.get(department__code="D01")
    actions.set_doctor_targets(
        actor=hosp.head, department_target_id=d01.pk, targets={"DR01": 403, "DR02": 200}
    )
    volume = AgreedVolume.objects.get()
    actions.set_department_targets(
        actor=hosp.w.pharmacist, volume_id=volume.pk, targets={"D01": 605, "D02": 395}, reason="科室调整"
    )
    doctors = dict(
        DoctorTarget.objects.filter(department_target__department__code="D01").values_list(
            "doctor__code", "target"
        )
    )
    assert doctors == {"DR01": 404, "DR02": 201}
    assert dict(
        DoctorTarget.objects.filter(department_target__department__code="D02").values_list(
            "doctor__code", "target"
        )
    ) == {"DR04": 395}


def test_department_head_moves_quantity_between_own_doctors_only(hosp):
    d01 = DepartmentTarget.objects.get(department__code="D01")
    actions.set_doctor_targets(
        actor=hosp.head,
        department_target_id=d01.pk,
        targets={"DR01": 400, "DR02": 203},
        reason="王芳门诊量增加",
    )
    assert doctor_targets()["DR01"] == 400 and doctor_targets()["DR02"] == 203
    with pytest.raises(DomainError, match="医师 DR04 不属于心血管内科"):
        actions.set_doctor_targets(
            actor=hosp.head, department_target_id=d01.pk, targets={"DR01": 390, "DR04": 10}
        )
    with pytest.raises(DomainError, match="医师目标合计 613 与科室目标 603 不一致"):
        actions.set_doctor_targets(actor=hosp.head, department_target_id=d01.pk, targets={"DR01": 410})
    d02 = DepartmentTarget.objects.get(department__code="D02")
    with pytest.raises(NotFound):
        actions.set_doctor_targets(actor=hosp.head, department_target_id=d02.pk, targets={"DR04": 397})
    with pytest.raises(NotFound):
        actions.set_doctor_targets(actor=hosp.doctor, department_target_id=d01.pk, targets={"DR01": 400})
    assert doctor_targets() == {"DR01": 400, "DR02": 203, "DR04": 397, "DR05": 0}
    assert [(c.doctor.code, c.old_target, c.new_target) for c in TargetChange.objects.all()] == [
        ("DR01", 452, 400),
        ("DR02", 151, 203),
    ]


def test_completion_reads_usage_lines_at_once_and_ignores_later_lines(hosp):
    current_usage(hosp.w)
    rows = {(r.department, r.doctor): r for r in queries.quota_rows(None, AS_OF)}
    total = rows[(None, None)]
    # W used by 2024-04-10: 50 + 20 (DR04's 40 are non-winning; DR01's 30 on 04-20 come after D).
    assert (total.target, total.used, total.completion) == (1000, Decimal(70), Decimal("0.0700"))
    # P = 2024-12-31: 306 days; D is day 41 → 1000 × 41 / 306 = 133.99.
    assert total.plan_to_date == Decimal("133.99")
    assert total.monthly == [100] * 10 + [0, 0]
    assert total.lag  # 0.07 < 133.99 / 1000
    d01 = rows[("D01", None)]
    assert (d01.target, d01.used, d01.completion, d01.plan_to_date) == (
        603,
        70,
        Decimal("0.1161"),
        Decimal("80.79"),
    )
    assert rows[("D01", "DR01")].completion == Decimal("0.1106")  # 50 / 452
    assert rows[("D01", "DR02")].completion == Decimal("0.1325")  # 20 / 151
    assert rows[("D02", None)].used == 0
    assert rows[("D03", "DR05")].completion is None


def test_usage_naming_an_unknown_department_or_doctor_is_refused(hosp):
    p = hosp.w.product.code
    with pytest.raises(ImportRejected) as exc:
        load(
            "usage",
            hosp.w.pharmacist,
            "institution_code,product_code,department,doctor_code,qty,used_on",
            f"H37100200001,{p},D09,DR01,5,2024-03-02",
            f"H37100200001,{p},D01,DR99,5,2024-03-02",
        )
    assert [(e.row, e.column, e.reason) for e in exc.value.errors] == [
        (2, "department", "本机构没有该科室：D09"),
        (3, "doctor_code", "本机构没有该医师：DR99"),
    ]


def test_scoped_rows(hosp):
    current_usage(hosp.w)

    def keys(actor):
        return sorted((r.department or "", r.doctor or "") for r in queries.quota_rows(actor, AS_OF))

    assert keys(hosp.doctor) == [("D01", "DR01")]
    assert keys(hosp.head) == [("D01", ""), ("D01", "DR01"), ("D01", "DR02")]
    assert keys(hosp.w.county_bureau) == [("", "")]
    assert keys(hosp.w.other_city_bureau) == []
    assert keys(hosp.w.other_pharmacist) == []
    assert len(keys(hosp.w.pharmacist)) == 1 + 3 + 4


def test_doctors_imported_after_the_split_get_their_targets(world):
    from tests.hospital.conftest import DEPARTMENTS, DOCTORS

    load("departments", world.pharmacist, *DEPARTMENTS)
    p = world.product.code
    load(
        "usage",
        world.pharmacist,
        "institution_code,product_code,department,doctor_code,qty,used_on",
        f"H37100200001,{p},D01,,600,2023-06-01",
        f"H37100200001,{p},D02,,400,2023-06-01",
    )
    load(
        "agreed-volumes",
        world.province_bureau,
        "batch_code,agreement_year,institution_code,item_code,reported_qty,agreed_qty",
        "GY-YD2023-1,1,H37100200001,GY7-001,2000,1000",
    )
    assert dept_targets() == {"D01": 600, "D02": 400} and doctor_targets() == {}
    load("doctors", world.pharmacist, *DOCTORS)
    # No doctor has use: equal split over the active ones (DR03 is away).
    assert doctor_targets() == {"DR01": 300, "DR02": 300, "DR04": 400}


def test_a_new_department_total_keeps_the_heads_doctor_split(hosp):
    d01 = DepartmentTarget.objects.get(department__code="D01")
    actions.set_doctor_targets(
        actor=hosp.head, department_target_id=d01.pk, targets={"DR01": 300, "DR02": 303}, reason="轮岗"
    )
    volume = AgreedVolume.objects.get()
    actions.set_department_targets(
        actor=hosp.w.pharmacist, volume_id=volume.pk, targets={"D01": 593, "D02": 407}, reason="调整"
    )
    # The head's 300 : 303 is kept, not last year's use (445 / 148): 593 × 300/603 = 295.02 → 295,
    # 593 × 303/603 = 297.98 → 297, the one unit left goes to the larger remainder (DR02) → 298.
    assert doctor_targets() == {"DR01": 295, "DR02": 298, "DR04": 407, "DR05": 0}
    assert set(DoctorTarget.objects.filter(department_target=d01).values_list("source", flat=True)) == {
        "manual"
    }
