"""Every write of the hospital app (SPEC §11): automatic target generation and the manual edits, each
edit logged (TargetChange) and audited."""

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Sum

from jicai.accounts import access
from jicai.accounts.models import Role
from jicai.agreements.models import AgreedVolume
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.core.money import parse_qty
from jicai.hospital import rules
from jicai.hospital.models import (
    Department,
    DepartmentTarget,
    Doctor,
    DoctorStatus,
    DoctorTarget,
    InterviewAction,
    InterviewRecord,
    TargetChange,
    TargetSource,
)
from jicai.hospital.usage import rollup, usage_by_key
from jicai.policy.resolve import PolicyResolver

BULK = 2000


def _user(actor):
    return actor if getattr(actor, "pk", None) is not None else None


def history_window(start: dt.date) -> tuple[dt.date, dt.date]:
    """The 12 months before the agreement year's start S."""
    return rules.add_months(start, -12), start - dt.timedelta(days=1)


# ---- automatic generation ------------------------------------------------------------------------


def generate_targets(*, institution_ids=None, volume_ids=None) -> int:
    """Department and doctor targets for every agreed volume of an institution that has departments and
    whose department targets do not (yet) sum to its agreed qty — new volumes and changed ones. Volumes
    whose targets already sum to A keep them (including the pharmacy's edits). Returns the number of
    volumes (re)split. One usage query per agreement year, bulk writes."""
    # Only institutions with departments have targets: a subquery, so a province-size year costs nothing.
    with_departments = Department.objects.values("institution_id")
    volumes = AgreedVolume.objects.filter(institution_id__in=with_departments)
    if institution_ids is not None:
        volumes = volumes.filter(institution_id__in=list(institution_ids))
    if volume_ids is not None:
        volumes = volumes.filter(pk__in=volume_ids if isinstance(volume_ids, QuerySet) else list(volume_ids))
    rows = list(
        volumes.annotate(dept_sum=Sum("department_targets__target")).values(
            "id", "institution_id", "institution__region_id", "item_id", "agreed_qty",
            "agreement_year__start", "agreement_year__batch_id", "dept_sum",
        )
    )  # fmt: skip
    stale = [r for r in rows if r["dept_sum"] != r["agreed_qty"]]
    with transaction.atomic():
        done = _split_departments(stale) if stale else 0
        _split_missing_doctors(volumes)
    return done


def _split_departments(stale: list[dict]) -> int:
    """Phase 1 of generate_targets: department targets (and their doctors) of the volumes given."""
    resolver = PolicyResolver.load()
    from jicai.batches.models import Batch
    from jicai.registry.models import Region

    regions = Region.objects.in_bulk({r["institution__region_id"] for r in stale})
    batches = Batch.objects.in_bulk({r["agreement_year__batch_id"] for r in stale})
    policies = {}
    inst_ids = {r["institution_id"] for r in stale}
    departments = defaultdict(dict)
    for d in Department.objects.filter(institution_id__in=inst_ids).values("id", "institution_id", "code"):
        departments[d["institution_id"]][d["code"]] = d["id"]
    doctors = defaultdict(list)  # department id -> [(code, id)] of active doctors
    for d in Doctor.objects.filter(institution_id__in=inst_ids, status=DoctorStatus.ACTIVE).values(
        "id", "code", "department_id"
    ):
        doctors[d["department_id"]].append((d["code"], d["id"]))
    by_start = defaultdict(list)
    for r in stale:
        by_start[r["agreement_year__start"]].append(r)
    done = 0
    with transaction.atomic():
        for start, group in by_start.items():
            a, b = history_window(start)
            usage = usage_by_key(
                institution_ids={r["institution_id"] for r in group},
                item_ids={r["item_id"] for r in group},
                start=a,
                end=b,
            )
            dept_use = rollup(usage, "department")
            doctor_use: dict = defaultdict(lambda: 0)
            for (inst, item, _dept, doctor), (won, other) in usage.items():
                doctor_use[(inst, item, doctor)] += won + other
            new_depts, splits = [], {}
            for r in group:
                key = (r["institution__region_id"], r["agreement_year__batch_id"])
                if key not in policies:
                    policies[key] = resolver.resolve(regions.get(key[0]), batches.get(key[1]))
                policy = policies[key]
                codes = departments[r["institution_id"]]
                use = {
                    code: sum(dept_use.get((r["institution_id"], r["item_id"], code), (0, 0)))
                    for code in codes
                }
                split = rules.department_split(r["agreed_qty"], use, policy.dept_min_share)
                if not split:
                    continue  # no history: the pharmacy enters targets by hand (SPEC §11)
                splits[r["id"]] = (r, split)
            if not splits:
                continue
            DepartmentTarget.objects.filter(volume_id__in=list(splits)).delete()
            for volume_id, (r, split) in splits.items():
                codes = departments[r["institution_id"]]
                for code, target in split.items():
                    new_depts.append(
                        DepartmentTarget(volume_id=volume_id, department_id=codes[code], target=target)
                    )
            DepartmentTarget.objects.bulk_create(new_depts, batch_size=BULK)
            stored = DepartmentTarget.objects.filter(volume_id__in=list(splits)).values(
                "id", "volume_id", "department_id", "target"
            )
            new_doctors = []
            for t in stored:
                r = splits[t["volume_id"]][0]
                active = doctors.get(t["department_id"], [])
                use = {
                    code: doctor_use.get((r["institution_id"], r["item_id"], code), 0) for code, _ in active
                }
                ids = dict(active)
                for code, target in rules.doctor_split(t["target"], use, [c for c, _ in active]).items():
                    new_doctors.append(
                        DoctorTarget(department_target_id=t["id"], doctor_id=ids[code], target=target)
                    )
            DoctorTarget.objects.bulk_create(new_doctors, batch_size=BULK)
            done += len(splits)
    return done


def _split_missing_doctors(volumes: QuerySet) -> None:
    """Phase 2: department targets that have active doctors but no doctor targets yet (doctors imported
    after the departments were split) get their doctors' split; one usage query per agreement year."""
    missing = list(
        DepartmentTarget.objects.filter(volume_id__in=volumes.values("id"))
        .filter(~Exists(DoctorTarget.objects.filter(department_target=OuterRef("pk"))))
        .filter(Exists(Doctor.objects.filter(department=OuterRef("department"), status=DoctorStatus.ACTIVE)))
        .values(
            "id", "target", "department_id", "volume__institution_id", "volume__item_id",
            "volume__agreement_year__start",
        )
    )  # fmt: skip
    if not missing:
        return
    doctors = defaultdict(list)
    for d in Doctor.objects.filter(
        department_id__in={m["department_id"] for m in missing}, status=DoctorStatus.ACTIVE
    ).values("id", "code", "department_id"):
        doctors[d["department_id"]].append((d["code"], d["id"]))
    by_start = defaultdict(list)
    for m in missing:
        by_start[m["volume__agreement_year__start"]].append(m)
    new = []
    for start, group in by_start.items():
        a, b = history_window(start)
        usage = usage_by_key(
            institution_ids={m["volume__institution_id"] for m in group},
            item_ids={m["volume__item_id"] for m in group},
            start=a,
            end=b,
        )
        doctor_use: dict = defaultdict(lambda: 0)
        for (inst, item, _dept, doctor), (won, other) in usage.items():
            doctor_use[(inst, item, doctor)] += won + other
        for m in group:
            active = sorted(doctors[m["department_id"]])
            ids = dict(active)
            use = {c: doctor_use.get((m["volume__institution_id"], m["volume__item_id"], c), 0) for c in ids}
            for code, target in rules.doctor_split(m["target"], use, list(ids)).items():
                new.append(DoctorTarget(department_target_id=m["id"], doctor_id=ids[code], target=target))
    DoctorTarget.objects.bulk_create(new, batch_size=BULK)


def _resplit_doctors(department_target: DepartmentTarget) -> None:
    """After the pharmacy changes a department total, its doctors are split again. When the department
    head has edited the doctor split, the head's split is kept: the new total is spread in proportion to
    the current doctor targets (largest remainder, ties by code) and stays a manual split; otherwise the
    doctors are split again by last year's use as in generation."""
    current = {
        t.doctor.code: t
        for t in department_target.doctor_targets.select_related("doctor").filter(
            doctor__status=DoctorStatus.ACTIVE
        )
    }
    edited = any(t.source == TargetSource.MANUAL for t in current.values())
    if edited and sum(t.target for t in current.values()) > 0:
        split = rules.doctor_split(
            department_target.target, {c: t.target for c, t in current.items()}, sorted(current)
        )
        department_target.doctor_targets.exclude(pk__in=[t.pk for t in current.values()]).delete()
        for code, t in current.items():
            t.target, t.source = split[code], TargetSource.MANUAL
        DoctorTarget.objects.bulk_update(list(current.values()), ["target", "source"])
        return
    volume = department_target.volume
    a, b = history_window(volume.agreement_year.start)
    usage = usage_by_key(institution_ids=[volume.institution_id], item_ids=[volume.item_id], start=a, end=b)
    use: dict = defaultdict(lambda: 0)
    for (_i, _g, _d, doctor), (won, other) in usage.items():
        use[doctor] += won + other
    active = list(
        Doctor.objects.filter(department_id=department_target.department_id, status=DoctorStatus.ACTIVE)
        .order_by("code")
        .values_list("code", "id")
    )
    ids = dict(active)
    department_target.doctor_targets.all().delete()
    split = rules.doctor_split(department_target.target, {c: use.get(c, 0) for c in ids}, list(ids))
    DoctorTarget.objects.bulk_create(
        [
            DoctorTarget(department_target=department_target, doctor_id=ids[c], target=t)
            for c, t in split.items()
        ]
    )


# ---- manual edits --------------------------------------------------------------------------------


def _parse_targets(targets: dict) -> dict[str, int]:
    parsed = {}
    for code, value in targets.items():
        try:
            parsed[str(code)] = parse_qty(value, allow_zero=True)
        except ValueError as exc:
            raise DomainError(f"{code} 的目标使用量无效：{exc}", code="invalid_qty") from exc
    return parsed


def set_department_targets(*, actor, volume_id: int, targets: dict, reason: str) -> list[TargetChange]:
    """The pharmacy sets the department targets of one agreed volume; their sum must stay the agreed qty
    (SPEC §11, consensus 3.1.2). Departments not named keep their target. Reason required, every change
    logged; a changed department's doctors are split again."""
    reason = (reason or "").strip()
    institution = access.institution_of(actor)
    if institution is None or getattr(actor, "role", None) != Role.INSTITUTION:
        raise PermissionDenied("只有本院药学部（医疗机构账户）可以调整科室目标")
    if not reason:
        raise DomainError("调整科室目标必须填写原因", code="reason_required")
    parsed = _parse_targets(targets)
    with transaction.atomic():
        volume = (
            AgreedVolume.objects.select_for_update()
            .select_related("agreement_year")
            .filter(pk=volume_id, institution=institution)
            .first()
        )
        if volume is None:
            raise NotFound("未找到该记录，或您无权查看")
        departments = {d.code: d for d in Department.objects.filter(institution=institution)}
        unknown = sorted(set(parsed) - set(departments))
        if unknown:
            raise DomainError(f"本院没有这些科室：{'、'.join(unknown)}", code="unknown_department")
        current = {t.department.code: t for t in volume.department_targets.select_related("department")}
        desired = {code: t.target for code, t in current.items()} | parsed
        total = sum(desired.values())
        if total != volume.agreed_qty:
            raise DomainError(
                f"科室目标合计 {total} 与约定采购量 {volume.agreed_qty} 不一致，未作修改", code="sum_mismatch"
            )
        changes = []
        for code, new in sorted(desired.items()):
            old_target = current.get(code)
            old = old_target.target if old_target else 0
            if old == new and old_target is not None:
                continue
            if old_target is None:
                old_target = DepartmentTarget.objects.create(
                    volume=volume, department=departments[code], target=new, source=TargetSource.MANUAL
                )
            else:
                old_target.target, old_target.source = new, TargetSource.MANUAL
                old_target.save(update_fields=["target", "source"])
            old_target.volume = volume
            _resplit_doctors(old_target)
            changes.append(
                TargetChange(
                    volume=volume, department=departments[code], actor=_user(actor),
                    old_target=old, new_target=new, reason=reason,
                )
            )  # fmt: skip
        _log_target_changes(actor, "set_department_targets", volume, f"调整科室目标 {len(changes)} 个科室",
                            changes, lambda c: c.department.code, reason)  # fmt: skip
    return changes


def set_doctor_targets(
    *, actor, department_target_id: int, targets: dict, reason: str = ""
) -> list[TargetChange]:
    """The department head (or the pharmacy) moves quantity between the department's doctors; the
    department total cannot change here (that needs the pharmacy, consensus 3.1.3). Logged."""
    from jicai.hospital.queries import editable_department_targets

    parsed = _parse_targets(targets)
    reason = (reason or "").strip()
    with transaction.atomic():
        dept_target = (
            editable_department_targets(actor)
            .select_for_update()
            .select_related("volume", "department")
            .filter(pk=department_target_id)
            .first()
        )
        if dept_target is None:
            raise NotFound("未找到该记录，或您无权查看")
        doctors = {d.code: d for d in Doctor.objects.filter(department_id=dept_target.department_id)}
        foreign = sorted(set(parsed) - set(doctors))
        if foreign:
            raise DomainError(
                f"医师 {'、'.join(foreign)} 不属于{dept_target.department.name}，只能在本科室医师之间调整",
                code="foreign_doctor",
            )
        current = {t.doctor.code: t for t in dept_target.doctor_targets.select_related("doctor")}
        desired = {code: t.target for code, t in current.items()} | parsed
        total = sum(desired.values())
        if total != dept_target.target:
            raise DomainError(
                f"医师目标合计 {total} 与科室目标 {dept_target.target} 不一致；调整科室合计须由药学部办理，未作修改",
                code="sum_mismatch",
            )
        changes = []
        for code, new in sorted(desired.items()):
            row = current.get(code)
            old = row.target if row else 0
            if row is not None and old == new:
                continue
            if row is None:
                DoctorTarget.objects.create(
                    department_target=dept_target,
                    doctor=doctors[code],
                    target=new,
                    source=TargetSource.MANUAL,
                )
            else:
                row.target, row.source = new, TargetSource.MANUAL
                row.save(update_fields=["target", "source"])
            changes.append(
                TargetChange(
                    volume=dept_target.volume, department=dept_target.department, doctor=doctors[code],
                    actor=_user(actor), old_target=old, new_target=new, reason=reason,
                )
            )  # fmt: skip
        _log_target_changes(actor, "set_doctor_targets", dept_target, f"调整医师目标 {len(changes)} 名医师",
                            changes, lambda c: c.doctor.code, reason)  # fmt: skip
    return changes


def _log_target_changes(actor, action: str, obj, summary: str, changes: list, code_of, reason: str) -> None:
    """The change log rows (shown on the pages) and the audit row of one edit of targets."""
    TargetChange.objects.bulk_create(changes)
    audit.record(
        actor=actor,
        action=action,
        obj=obj,
        summary=summary,
        changes={"targets": {code_of(c): [c.old_target, c.new_target] for c in changes}, "reason": reason},
    )


def record_interview_action(
    *,
    actor,
    item_id: int,
    quarter: str,
    department_code: str,
    doctor_code: str = "",
    action: str,
    note: str = "",
) -> InterviewRecord:
    """The pharmacy records its action on a listed department or doctor (预警 → 约谈 → 通报 → …), logged."""
    institution = access.institution_of(actor)
    if institution is None or getattr(actor, "role", None) != Role.INSTITUTION:
        raise PermissionDenied("只有本院药学部可以登记约谈处理")
    if action not in InterviewAction.values:
        raise DomainError(f"无效的处理措施：{action}", code="invalid_action")
    department = Department.objects.filter(institution=institution, code=department_code).first()
    if department is None:
        raise NotFound("未找到该记录，或您无权查看")
    doctor = None
    if doctor_code:
        doctor = Doctor.objects.filter(institution=institution, code=doctor_code).first()
        if doctor is None:
            raise NotFound("未找到该记录，或您无权查看")
    from jicai.batches.models import Item

    if not Item.objects.filter(pk=item_id).exists():
        raise NotFound("未找到该记录，或您无权查看")
    with transaction.atomic():
        record = InterviewRecord.objects.create(
            institution=institution, item_id=item_id, quarter=quarter, department=department, doctor=doctor,
            action=action, note=note, actor=_user(actor),
        )  # fmt: skip
        audit.record(actor=actor, action="record_interview_action", obj=record, summary=f"约谈处理：{action}")
    return record
