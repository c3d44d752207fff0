"""API for demand reporting (SPEC §5, §10): windows, reports with lines and log, saving lines, submission,
review and completion. Thin: every read goes through demand.queries (scoped), every write through
demand.actions; out-of-scope objects answer 404 exactly like missing ones."""

import datetime as dt

from ninja import Field, Query, Router, Schema

from jicai.accounts import access
from jicai.api.pagination import PageParams, optional_related, page_of, paginate, with_errors
from jicai.api.types import Id, Qty
from jicai.batches.models import Batch
from jicai.core.errors import DomainError, NotFound
from jicai.demand import actions, queries
from jicai.registry.models import Institution

router = Router()


# ---- schemas -----------------------------------------------------------------------------------


class WindowOut(Schema):
    id: int
    title: str
    batch_code: str = Field(..., alias="batch.code")
    agreement_year: int
    region_code: str = Field(..., alias="region.code", description="发起医保局的行政区划代码")
    scope: str = Field(..., description="region（本辖区全部机构）或 institutions（指定机构）")
    opens_on: dt.date
    deadline: dt.date


class WindowIn(Schema):
    title: str
    batch_code: str
    agreement_year: int = 1
    opens_on: dt.date
    deadline: dt.date
    institution_codes: list[str] | None = Field(
        None, description="指定机构代码；省略或 null 表示本辖区全部机构"
    )


class ReportOut(Schema):
    id: int
    window_id: int
    institution_code: str = Field(..., alias="institution.code")
    institution_name: str = Field(..., alias="institution.name")
    filed_by_code: str | None = Field(..., description="代为填报的医共体牵头机构代码；本机构填报为 null")
    status: str = Field(..., description="draft / submitted / approved / returned")
    return_reason: str
    flagged_lines: int = Field(..., description="低于历史采购量或有历史未报量的明细数")
    submitted_at: dt.datetime | None
    reviewed_at: dt.datetime | None

    resolve_filed_by_code = optional_related("filed_by.code")


class LineOut(Schema):
    item_code: str = Field(..., alias="item.item_code")
    generic_name: str = Field(..., alias="item.generic_name")
    dosage_form_group: str = Field(..., alias="item.dosage_form_group")
    history_qty: int
    history_source: str = Field(..., description="platform / imported / none")
    reported_qty: int | None
    explanation: str
    below_history: bool
    history_not_reported: bool
    return_reason: str


class TransitionOut(Schema):
    at: dt.datetime
    actor: str | None
    from_status: str
    to_status: str
    reason: str

    resolve_actor = optional_related("actor.username")


class ReportDetailOut(ReportOut):
    lines: list[LineOut]
    log: list[TransitionOut]

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(queries.report_lines(obj))

    @staticmethod
    def resolve_log(obj) -> list:
        return list(queries.report_log(obj))


class LineIn(Schema):
    item_code: str
    reported_qty: Qty | None = Field(None, description="报量（最小制剂单位）；null 表示未填")
    explanation: str = ""


class LinesIn(Schema):
    lines: list[LineIn]


class LineReasonIn(Schema):
    item_code: str
    reason: str


class ReturnIn(Schema):
    reason: str = ""
    lines: list[LineReasonIn] = []


class CompletionRowOut(Schema):
    region_code: str = Field(..., description="下级地区代码；空字符串表示本级机构")
    region_name: str
    not_started: int
    in_progress: int
    submitted: int
    returned: int
    approved: int
    total: int


class CompletionOut(Schema):
    region_code: str
    rows: list[CompletionRowOut]
    totals: dict[str, int]


class RemindOut(Schema):
    reports: int = Field(..., description="催报涉及的未提交报量份数")


class SubmitAllOut(Schema):
    submitted: int


# ---- helpers -----------------------------------------------------------------------------------


def _fresh(request, pk):
    """The report as the actor now sees it (re-read after a write)."""
    return queries.get_report(request.actor, pk)


# ---- windows ------------------------------------------------------------------------------------


@router.get("/demand/windows", response=with_errors(page_of(WindowOut)), summary="报量窗口列表")
def list_windows(request, paging: Query[PageParams], q: str = "", batch: str = ""):
    return paginate(queries.list_windows(request.actor, q=q, batch=batch), paging)


@router.post("/demand/windows", response=with_errors(WindowOut, 400, 404, ok_status=201), summary="发起报量")
def create_window(request, payload: WindowIn):
    if not access.is_bureau(request.actor):
        raise NotFound("未找到该接口，或您无权发起报量")
    batch = Batch.objects.filter(code=payload.batch_code).first()
    if batch is None:
        raise DomainError(
            f"批次不存在：{payload.batch_code}", details=[{"field": "batch_code", "reason": "不存在"}]
        )
    institutions = None
    if payload.institution_codes is not None:
        codes = [c.strip().upper() for c in payload.institution_codes if c.strip()]
        found = {i.code: i for i in Institution.objects.filter(code__in=codes).select_related("region")}
        unknown = [c for c in codes if c not in found]
        if unknown:
            raise DomainError(
                f"机构不存在：{'、'.join(unknown)}",
                details=[{"field": "institution_codes", "reason": f"不存在：{c}"} for c in unknown],
            )
        institutions = list(found.values())
    window = actions.open_window(
        actor=request.actor,
        batch=batch,
        title=payload.title,
        opens_on=payload.opens_on,
        deadline=payload.deadline,
        agreement_year=payload.agreement_year,
        institutions=institutions,
    )
    return 201, window


@router.get("/demand/windows/{window_id}", response=with_errors(WindowOut, 404), summary="报量窗口")
def get_window(request, window_id: Id):
    return queries.get_window(request.actor, window_id)


@router.get(
    "/demand/windows/{window_id}/completion",
    response=with_errors(CompletionOut, 404),
    summary="报量完成情况（按下级地区）",
)
def window_completion(request, window_id: Id, region: str = ""):
    window = queries.get_window(request.actor, window_id)
    data = queries.completion(request.actor, window, region_code=region)
    return {
        "region_code": data["region"].code,
        "rows": [
            {
                **{
                    k: r[k]
                    for k in ("not_started", "in_progress", "submitted", "returned", "approved", "total")
                },
                "region_code": r["code"],
                "region_name": r["name"],
            }
            for r in data["rows"]
        ],
        "totals": data["totals"],
    }


@router.post("/demand/windows/{window_id}/reminders", response=with_errors(RemindOut, 404), summary="催报")
def window_reminders(request, window_id: Id, region: str = ""):
    window = queries.get_window(request.actor, window_id)
    return {"reports": actions.send_reminders(actor=request.actor, window=window, region_code=region)}


@router.post(
    "/demand/windows/{window_id}/submit-all",
    response=with_errors(SubmitAllOut, 400, 403, 404),
    summary="医共体牵头机构提交全部报量",
)
def window_submit_all(request, window_id: Id):
    window = queries.get_window(request.actor, window_id)
    return {"submitted": actions.submit_consortium_reports(actor=request.actor, window=window)}


# ---- reports ------------------------------------------------------------------------------------


@router.get("/demand/reports", response=with_errors(page_of(ReportOut)), summary="报量列表")
def list_reports(
    request,
    paging: Query[PageParams],
    window: Id | None = None,
    status: str = "",
    q: str = "",
    region: str = "",
    flagged: bool = False,
):
    qs = queries.list_reports(
        request.actor, window=window, status=status, q=q, region=region, flagged=flagged
    )
    return paginate(qs, paging)


@router.get(
    "/demand/review-queue",
    response=with_errors(page_of(ReportOut)),
    summary="待本局审核的报量（需关注的在前）",
)
def review_queue(request, paging: Query[PageParams], window: Id | None = None):
    return paginate(queries.review_queue(request.actor, window=window), paging)


@router.get(
    "/demand/reports/{report_id}",
    response=with_errors(ReportDetailOut, 404),
    summary="报量详情（明细与流转记录）",
)
def get_report(request, report_id: Id):
    return _fresh(request, report_id)


@router.put(
    "/demand/reports/{report_id}/lines",
    response=with_errors(ReportDetailOut, 400, 403, 404),
    summary="保存报量明细（草稿）",
)
def save_lines(request, report_id: Id, payload: LinesIn):
    report = queries.get_report(request.actor, report_id)
    actions.save_report_lines(
        actor=request.actor,
        report=report,
        lines=[
            actions.LineInput(line.item_code, line.reported_qty, line.explanation) for line in payload.lines
        ],
    )
    return _fresh(request, report_id)


@router.post(
    "/demand/reports/{report_id}/submit",
    response=with_errors(ReportDetailOut, 400, 403, 404),
    summary="提交报量",
)
def submit(request, report_id: Id):
    actions.submit_report(actor=request.actor, report=queries.get_report(request.actor, report_id))
    return _fresh(request, report_id)


@router.post(
    "/demand/reports/{report_id}/approve",
    response=with_errors(ReportDetailOut, 400, 403, 404),
    summary="审核通过",
)
def approve(request, report_id: Id):
    actions.approve_report(actor=request.actor, report=queries.get_report(request.actor, report_id))
    return _fresh(request, report_id)


@router.post(
    "/demand/reports/{report_id}/return",
    response=with_errors(ReportDetailOut, 400, 403, 404),
    summary="退回（整份或逐行原因）",
)
def return_report(request, report_id: Id, payload: ReturnIn):
    actions.return_report(
        actor=request.actor,
        report=queries.get_report(request.actor, report_id),
        reason=payload.reason,
        line_reasons={line.item_code: line.reason for line in payload.lines},
    )
    return _fresh(request, report_id)
