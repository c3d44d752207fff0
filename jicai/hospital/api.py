"""/api/v1 endpoints of SPEC §11: departments, doctors, targets with real-time completion, target edits,
the change log and the interview list. Scoped through accounts.access like the pages (SPEC §9)."""

import datetime as dt

from ninja import Field, Query, Router, Schema, Status

from jicai.accounts import access
from jicai.api.pagination import PageParams, page_of, paginate, with_errors
from jicai.core.errors import NotFound
from jicai.hospital import actions, queries

router = Router()


class DepartmentOut(Schema):
    institution: str = Field(..., alias="institution.code")
    code: str
    name: str
    parent: str | None = Field(None, alias="parent.code")


class DoctorOut(Schema):
    institution: str = Field(..., alias="institution.code")
    code: str
    name: str
    department: str = Field(..., alias="department.code")
    status: str


class QuotaOut(Schema):
    institution: str
    item: str
    agreement_year: int
    department: str | None
    doctor: str | None
    target: int
    monthly: list[int] | None
    plan_to_date: float
    used: float
    remaining: float
    completion: float | None
    lag: bool
    volume_id: int
    department_target_id: int | None


class QuotaList(Schema):
    as_of: dt.date
    quotas: list[QuotaOut]


class TargetsIn(Schema):
    targets: dict[str, int] = Field(..., description="科室编码或医师编码 → 目标使用量")
    reason: str = ""


class ChangeOut(Schema):
    department: str
    doctor: str | None
    actor: str | None
    at: dt.datetime
    old_target: int
    new_target: int
    reason: str


class InterviewOut(Schema):
    kind: str
    institution: str
    item: str
    department: str
    doctor: str | None
    reason: str
    used_winning: float
    used_other: float
    unexplained: float
    actions: list[str]


class InterviewActionIn(Schema):
    item_code: str
    quarter: str
    department: str
    doctor: str = ""
    action: str = Field(..., description="warning/interview/notice/performance/restrict")
    note: str = ""


@router.get("/departments", response=with_errors(page_of(DepartmentOut)), summary="科室列表")
def list_departments(request, paging: Query[PageParams]):
    qs = (
        access.visible_departments(request.actor)
        .select_related("institution", "parent")
        .order_by("institution__code", "code")
    )
    return paginate(qs, paging)


@router.get("/doctors", response=with_errors(page_of(DoctorOut)), summary="医师列表")
def list_doctors(request, paging: Query[PageParams]):
    qs = (
        access.visible_doctors(request.actor)
        .select_related("institution", "department")
        .order_by("institution__code", "code")
    )
    return paginate(qs, paging)


def _quota(row) -> dict:
    data = row.as_json()
    data.update(
        remaining=float(row.remaining), lag=row.lag, volume_id=row.volume_id,
        department_target_id=row.department_target_id,
    )  # fmt: skip
    return data


@router.get("/quotas", response=with_errors(QuotaList), summary="院内目标与完成情况（实时）")
def list_quotas(request, as_of: dt.date | None = None, institution: str = ""):
    """A doctor sees only their own rows, a department head its department, the pharmacy its hospital, a
    bureau institution totals only."""
    day = as_of or dt.date.today()
    rows = queries.quota_rows(request.actor, day, institution_code=institution.strip() or None)
    return {"as_of": day, "quotas": [_quota(r) for r in rows]}


@router.put(
    "/quotas/{volume_id}/departments",
    response=with_errors(list[ChangeOut], 400, 403, 404),
    summary="调整科室目标",
)
def put_department_targets(request, volume_id: int, body: TargetsIn):
    changes = actions.set_department_targets(
        actor=request.actor, volume_id=volume_id, targets=body.targets, reason=body.reason
    )
    return [_change(c) for c in changes]


@router.put(
    "/department-targets/{target_id}/doctors",
    response=with_errors(list[ChangeOut], 400, 403, 404),
    summary="在本科室医师之间调整目标",
)
def put_doctor_targets(request, target_id: int, body: TargetsIn):
    changes = actions.set_doctor_targets(
        actor=request.actor, department_target_id=target_id, targets=body.targets, reason=body.reason
    )
    return [_change(c) for c in changes]


@router.get("/quotas/{volume_id}/changes", response=with_errors(list[ChangeOut], 404), summary="目标调整记录")
def list_changes(request, volume_id: int):
    changes = list(queries.target_changes(request.actor, volume_id))
    if not changes and not queries.quota_volume_visible(request.actor, volume_id):
        raise NotFound("未找到该记录，或您无权查看")
    return [_change(c) for c in changes]


def _change(c) -> dict:
    return {
        "department": c.department.code,
        "doctor": c.doctor.code if c.doctor_id else None,
        "actor": str(c.actor) if c.actor_id else None,
        "at": c.at,
        "old_target": c.old_target,
        "new_target": c.new_target,
        "reason": c.reason,
    }


@router.get("/interviews", response=with_errors(list[InterviewOut], 400), summary="约谈名单")
def list_interviews(request, quarter: str):
    return [
        {
            "kind": r.kind,
            "institution": r.institution,
            "item": r.item,
            "department": r.department,
            "doctor": r.doctor,
            "reason": r.reason,
            "used_winning": float(r.used_winning),
            "used_other": float(r.used_other),
            "unexplained": float(r.unexplained),
            "actions": [a.action for a in r.actions],
        }  # fmt: skip
        for r in queries.interview_list(request.actor, quarter)
    ]


@router.post(
    "/interviews/actions",
    response=with_errors(dict, 400, 403, 404, ok_status=201),
    summary="登记约谈处理措施",
)
def post_interview_action(request, body: InterviewActionIn):
    item = queries.item_by_code(request.actor, body.item_code)
    record = actions.record_interview_action(
        actor=request.actor, item_id=item.pk, quarter=body.quarter.strip().upper(), department_code=body.department,
        doctor_code=body.doctor, action=body.action, note=body.note,
    )  # fmt: skip
    return Status(201, {"id": record.pk, "action": record.action})
