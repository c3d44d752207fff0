"""Every write of demand reporting (SPEC §5.1–5.5): windows, report lines, submission, review, reminders.

State changes lock the report row (select_for_update) through the actor's scope, so a report outside the
scope is NotFound (404) and two reviewers cannot both act on the same submission. Each transition writes
one ReportTransition row (the append-only log) and one audit row.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Organisation, OrganisationKind, Role
from jicai.accounts.notify import notify
from jicai.batches.models import AgreementYear, Batch, Item
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.demand import history
from jicai.demand.models import (
    DemandLine,
    DemandReport,
    ImportedHistory,
    ReportingWindow,
    ReportStatus,
    ReportTransition,
)
from jicai.policy.resolve import effective_policy
from jicai.policy.rules import needs_explanation
from jicai.registry.models import Institution

EDITABLE = (ReportStatus.DRAFT, ReportStatus.RETURNED)
MAX_TEXT = 2000
BULK = 2000


# ---- windows ------------------------------------------------------------------------------------


def _window_institutions(window: ReportingWindow):
    """Institutions in the window's scope as a queryset (used as a subquery, never as an id list)."""
    if window.scope == ReportingWindow.Scope.INSTITUTIONS:
        return Institution.objects.filter(reporting_windows=window)
    return Institution.objects.filter(region__path__startswith=window.region.path)


def open_window(
    *,
    actor,
    batch: Batch,
    title: str,
    opens_on: dt.date,
    deadline: dt.date,
    agreement_year: int = 1,
    institutions: Iterable[Institution] | None = None,
) -> ReportingWindow:
    """A bureau opens reporting of `batch` for its subtree (institutions=None) or for chosen institutions
    inside it. Creates one draft report per institution with one line per item of the batch."""
    region = access.bureau_region(actor)
    if region is None or getattr(actor, "role", None) != Role.BUREAU:
        raise NotFound("未找到该页面，或您无权发起报量")
    title = (title or "").strip()
    if not title:
        raise DomainError("请填写报量窗口名称", details=[{"field": "title", "reason": "不能为空"}])
    if deadline < opens_on:
        raise DomainError(
            "截止日期不能早于开始日期", details=[{"field": "deadline", "reason": "早于开始日期"}]
        )
    if not AgreementYear.objects.filter(batch=batch, number=agreement_year).exists():
        raise DomainError(
            f"批次 {batch.code} 没有第 {agreement_year} 协议年度",
            details=[{"field": "agreement_year", "reason": "协议年度不存在"}],
        )
    chosen = None
    if institutions is not None:
        chosen = list({i.pk: i for i in institutions}.values())
        if not chosen:
            raise DomainError(
                "请至少选择一家医疗机构", details=[{"field": "institutions", "reason": "不能为空"}]
            )
        outside = [i.code for i in chosen if not i.region.path.startswith(region.path)]
        if outside:
            raise DomainError(
                f"以下机构不在本辖区：{'、'.join(outside)}",
                details=[{"field": "institutions", "reason": f"不在本辖区：{code}"} for code in outside],
            )
    items = list(Item.objects.filter(batch=batch).order_by("item_code"))
    if not items:
        raise DomainError(f"批次 {batch.code} 还没有采购品种，无法发起报量")

    with transaction.atomic():
        window = ReportingWindow.objects.create(
            batch=batch,
            agreement_year=agreement_year,
            bureau=actor.organisation,
            region=region,
            scope=ReportingWindow.Scope.INSTITUTIONS if chosen is not None else ReportingWindow.Scope.REGION,
            title=title[:128],
            opens_on=opens_on,
            deadline=deadline,
        )
        if chosen is not None:
            window.institutions.set(chosen)
        in_scope = _window_institutions(window)
        clash = (
            DemandReport.objects.filter(
                window__batch=batch, window__agreement_year=agreement_year, institution__in=in_scope
            )
            .select_related("institution", "window")
            .first()
        )
        if clash is not None:
            raise DomainError(
                f"{clash.institution.name}（{clash.institution.code}）已在报量窗口“{clash.window.title}”中，"
                f"同一批次同一协议年度不能重复发起",
                code="window_overlap",
            )
        scope_rows = list(in_scope.order_by("code").values_list("pk", "consortium__lead_id"))
        if not scope_rows:
            raise DomainError("范围内没有医疗机构")
        # A consortium member's report is filed by its lead (SPEC §5.4); the lead and others file their own.
        DemandReport.objects.bulk_create(
            [
                DemandReport(
                    window=window,
                    institution_id=pk,
                    filed_by_id=lead_id if lead_id and lead_id != pk else None,
                )
                for pk, lead_id in scope_rows
            ],
            batch_size=BULK,
        )
        _create_lines(window)
        platform = _apply_platform_history(window, items, in_scope)
        audit.record(
            actor=actor,
            action="open_reporting_window",
            obj=window,
            summary=f"发起报量 {window.title}：{len(scope_rows)} 家机构 × {len(items)} 个品种",
            changes={
                "batch": batch.code,
                "agreement_year": agreement_year,
                "scope": window.scope,
                "institutions": len(scope_rows),
                "items": len(items),
                "platform_history_lines": platform,
                "opens_on": opens_on.isoformat(),
                "deadline": deadline.isoformat(),
            },
        )
    return window


def _create_lines(window: ReportingWindow) -> None:
    """One line per (report, item) with the imported history, in ONE INSERT … SELECT: 10 000 institutions ×
    160 items is 1.6 million rows, which bulk_create would first build as model instances in Python."""
    line, report = DemandLine._meta, DemandReport._meta
    item, imported = Item._meta, ImportedHistory._meta
    qn = connection.ops.quote_name
    sql = f"""
        INSERT INTO {qn(line.db_table)}
            (report_id, item_id, history_qty, history_source, reported_qty, explanation, return_reason,
             below_history, history_not_reported)
        SELECT r.id, i.id, COALESCE(h.qty, 0),
               CASE WHEN h.id IS NULL THEN %s ELSE %s END,
               NULL, '', '', %s, %s
        FROM {qn(report.db_table)} r
        JOIN {qn(item.db_table)} i ON i.batch_id = %s
        LEFT JOIN {qn(imported.db_table)} h ON h.institution_id = r.institution_id AND h.item_id = i.id
        WHERE r.window_id = %s
        ORDER BY r.id, i.item_code
    """
    params = [history.NONE, history.IMPORTED, False, False, window.batch_id, window.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _apply_platform_history(window: ReportingWindow, items: list[Item], in_scope) -> int:
    """Platform purchases replace the imported value for the (institution, item) pairs that have any."""
    policy = effective_policy(region=window.region, batch=window.batch)
    start, end = history.history_period(window.opens_on)
    found = history.platform_history(
        institutions=in_scope, items=items, start=start, end=end, basis=policy.progress_basis
    )
    if not found:
        return 0
    institution_ids = sorted({inst for inst, _ in found})
    changed = []
    for offset in range(0, len(institution_ids), 500):
        chunk = institution_ids[offset : offset + 500]
        for line in (
            DemandLine.objects.filter(report__window=window, report__institution_id__in=chunk)
            .only("pk", "item_id", "report__institution_id")
            .select_related("report")
        ):
            qty = found.get((line.report.institution_id, line.item_id))
            if qty is not None:
                line.history_qty, line.history_source = qty, history.PLATFORM
                changed.append(line)
    DemandLine.objects.bulk_update(changed, ["history_qty", "history_source"], batch_size=500)
    return len(changed)


# ---- report lines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    """One line as entered (form, XLSX row or API): reported None = not filled in yet."""

    item_code: str
    reported_qty: int | None
    explanation: str = ""
    row: int | None = None  # the spreadsheet row, for error messages


def _locked_report(actor, report) -> DemandReport:
    """Re-read and lock the report through the actor's scope: out of scope → NotFound, nothing changed."""
    pk = report.pk if isinstance(report, DemandReport) else report
    qs = access.scope_by_parties(
        actor,
        DemandReport.objects.select_for_update(of=("self",)),
        institution="institution",
        consortium_members=True,
    )
    locked = (
        qs.filter(pk=pk)
        .select_related("window", "window__batch", "institution", "institution__region")
        .first()
    )
    if locked is None:
        raise NotFound("未找到该报量，或您无权查看")
    return locked


def can_edit(actor, report: DemandReport) -> bool:
    """The filing institution's pharmacy user, while the report is a draft or returned."""
    own = access.institution_of(actor)
    return (
        own is not None
        and getattr(actor, "role", None) == Role.INSTITUTION
        and report.filer_id == own.pk
        and report.status in EDITABLE
    )


def _require_editable(actor, report: DemandReport) -> None:
    if can_edit(actor, report):
        return
    own = access.institution_of(actor)
    if own is not None and report.filer_id != own.pk:
        raise PermissionDenied("本机构报量由医共体牵头机构填报，您只能查看")
    if report.status not in EDITABLE:
        raise DomainError(f"报量当前状态为“{report.get_status_display()}”，不能修改", code="invalid_state")
    raise PermissionDenied("只有填报机构的药学部用户可以修改报量")


def _log(report: DemandReport, actor, from_status: str, to_status: str, reason: str = "") -> None:
    ReportTransition.objects.create(
        report=report,
        actor=actor if getattr(actor, "pk", None) and hasattr(actor, "username") else None,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
    )


def drop_threshold(report: DemandReport) -> Decimal:
    """report_drop_threshold for the institution's region and the window's batch (policy, never a literal)."""
    return effective_policy(region=report.institution.region, batch=report.window.batch).report_drop_threshold


def _set_flags(line: DemandLine, threshold: Decimal) -> None:
    reported = line.reported_qty
    line.below_history = reported is not None and needs_explanation(reported, line.history_qty, threshold)
    line.history_not_reported = reported == 0 and line.history_qty > 0


def _line_label(line: DemandLine) -> str:
    return f"{line.item.item_code} {line.item.generic_name}"


def _share(threshold: Decimal) -> str:
    share = (1 - threshold) * 100
    return f"{share.normalize():f}%"


def line_problems(line: DemandLine, threshold: Decimal) -> list[dict]:
    """What keeps a line from being submitted: no number (零报量: 0 is a number), or a drop below history
    without an explanation. Each problem names the line (item code and generic name)."""
    label = _line_label(line)
    if line.reported_qty is None:
        return [
            {
                "item_code": line.item.item_code,
                "column": "reported_qty",
                "reason": f"{label}：请填写报量（无需求请填 0）",
            }
        ]
    if needs_explanation(line.reported_qty, line.history_qty, threshold) and not line.explanation.strip():
        if threshold == 0:
            why = f"报量 {line.reported_qty} 低于历史采购量 {line.history_qty}"
        else:
            why = f"报量 {line.reported_qty} 低于历史采购量 {line.history_qty} 的 {_share(threshold)}"
        return [
            {
                "item_code": line.item.item_code,
                "column": "explanation",
                "reason": f"{label}：{why}，须填写说明",
            }
        ]
    return []


def _problems_error(problems: list[dict], prefix: str = "") -> DomainError:
    shown = "；".join(p["reason"] for p in problems[:5])
    more = f" 等 {len(problems)} 处" if len(problems) > 5 else ""
    return DomainError(f"{prefix}{shown}{more}", code="report_incomplete", details=problems)


def _parse_inputs(report: DemandReport, lines: dict[str, DemandLine], inputs: list[LineInput]) -> list[dict]:
    errors = []
    seen: dict[str, LineInput] = {}
    for entry in inputs:
        where = {"row": entry.row} if entry.row is not None else {}
        if entry.item_code not in lines:
            errors.append(
                {
                    **where,
                    "item_code": entry.item_code,
                    "column": "item_code",
                    "reason": f"品种 {entry.item_code} 不在本次报量中",
                }
            )
            continue
        if entry.item_code in seen:
            errors.append(
                {
                    **where,
                    "item_code": entry.item_code,
                    "column": "item_code",
                    "reason": f"品种 {entry.item_code} 重复",
                }
            )
            continue
        seen[entry.item_code] = entry
        qty = entry.reported_qty
        if qty is not None and (isinstance(qty, bool) or not isinstance(qty, int) or qty < 0):
            errors.append(
                {
                    **where,
                    "item_code": entry.item_code,
                    "column": "reported_qty",
                    "reason": f"{_line_label(lines[entry.item_code])}：报量必须是不小于 0 的整数",
                }
            )
        elif qty is not None and qty > 9_000_000_000_000:
            errors.append(
                {
                    **where,
                    "item_code": entry.item_code,
                    "column": "reported_qty",
                    "reason": f"{_line_label(lines[entry.item_code])}：报量过大",
                }
            )
        if len(entry.explanation or "") > MAX_TEXT:
            errors.append(
                {
                    **where,
                    "item_code": entry.item_code,
                    "column": "explanation",
                    "reason": f"{_line_label(lines[entry.item_code])}：说明不能超过 {MAX_TEXT} 字",
                }
            )
    return errors


def _begin_edit(actor, report: DemandReport) -> None:
    """A returned report becomes a draft again at its first edit (SPEC: returned → draft), logged."""
    if report.status == ReportStatus.RETURNED:
        _log(report, actor, ReportStatus.RETURNED, ReportStatus.DRAFT, "退回后修改")
        report.status = ReportStatus.DRAFT


def save_report_lines(*, actor, report, lines: list[LineInput], complete: bool = False) -> DemandReport:
    """Save reported quantities and explanations (a draft may have empty lines). `complete=True` (an
    uploaded spreadsheet) also applies the submission rules to every line and to the lines given."""
    with transaction.atomic():
        report = _locked_report(actor, report)
        _require_editable(actor, report)
        stored = {
            line.item.item_code: line
            for line in DemandLine.objects.filter(report=report)
            .select_related("item")
            .order_by("item__item_code")
        }
        errors = _parse_inputs(report, stored, lines)
        threshold = drop_threshold(report)
        if not errors and complete:
            given = {entry.item_code for entry in lines}
            missing = [code for code in stored if code not in given]
            errors += [
                {
                    "item_code": code,
                    "column": "item_code",
                    "reason": f"{_line_label(stored[code])}：缺少该品种的行",
                }
                for code in missing
            ]
        changed = []
        for entry in lines if not errors else ():
            line = stored[entry.item_code]
            explanation = (entry.explanation or "").strip()
            if (line.reported_qty, line.explanation) == (entry.reported_qty, explanation):
                continue
            line.reported_qty, line.explanation = entry.reported_qty, explanation
            _set_flags(line, threshold)
            changed.append(line)
        if complete and not errors:
            rows = {entry.item_code: entry.row for entry in lines}
            for line in (stored[entry.item_code] for entry in lines):
                for problem in line_problems(line, threshold):
                    errors.append({"row": rows.get(line.item.item_code), **problem})
        if errors:
            raise _problems_error(errors, "未保存：")
        if not changed:
            # Nothing differs (e.g. a returned report resubmitted as it was): no edit, no transition.
            return report
        _begin_edit(actor, report)
        DemandLine.objects.bulk_update(
            changed, ["reported_qty", "explanation", "below_history", "history_not_reported"], batch_size=500
        )
        report.flagged_lines = sum(1 for line in stored.values() if line.flagged)
        report.last_saved_at = timezone.now()
        report.save(update_fields=["status", "flagged_lines", "last_saved_at", "updated_at"])
        audit.record(
            actor=actor,
            action="save_demand_lines",
            obj=report,
            summary=f"保存报量 {report.institution.code}：{len(changed)} 行",
            changes={
                "lines": {line.item.item_code: [line.reported_qty, line.explanation] for line in changed}
            },
        )
    return report


def _submit_locked(actor, report: DemandReport) -> None:
    lines = list(DemandLine.objects.filter(report=report).select_related("item").order_by("item__item_code"))
    threshold = drop_threshold(report)
    problems = [p for line in lines for p in line_problems(line, threshold)]
    if problems:
        raise _problems_error(problems, "不能提交：")
    for line in lines:
        _set_flags(line, threshold)
    DemandLine.objects.bulk_update(lines, ["below_history", "history_not_reported"], batch_size=500)
    before = report.status
    report.status = ReportStatus.SUBMITTED
    report.submitted_at = timezone.now()
    report.flagged_lines = sum(1 for line in lines if line.flagged)
    report.save(update_fields=["status", "submitted_at", "flagged_lines", "updated_at"])
    _log(report, actor, before, ReportStatus.SUBMITTED)
    audit.record(
        actor=actor,
        action="submit_demand_report",
        obj=report,
        summary=f"提交报量 {report.institution.code}（{report.window.title}）",
        changes={"from": before, "flagged_lines": report.flagged_lines},
    )


def submit_report(*, actor, report) -> DemandReport:
    """Every line needs a number (0 allowed); a drop below history needs an explanation; else refused with
    the lines named. A returned report may be resubmitted: it goes back to the reviewer's queue."""
    with transaction.atomic():
        report = _locked_report(actor, report)
        _require_editable(actor, report)
        _submit_locked(actor, report)
    return report


def submit_consortium_reports(*, actor, window) -> int:
    """The consortium lead submits every draft/returned report it files in the window, all or nothing:
    one incomplete member report refuses the whole submission (the message names member and line)."""
    own = access.institution_of(actor)
    if own is None or getattr(actor, "role", None) != Role.INSTITUTION:
        raise NotFound("未找到该报量，或您无权查看")
    window_id = window.pk if isinstance(window, ReportingWindow) else window
    with transaction.atomic():
        qs = access.scope_by_parties(
            actor,
            DemandReport.objects.select_for_update(of=("self",)),
            institution="institution",
            consortium_members=True,
        )
        reports = list(
            qs.filter(window_id=window_id, status__in=EDITABLE)
            .filter(Q(filed_by=own) | Q(filed_by__isnull=True, institution=own))
            .select_related("window", "window__batch", "institution", "institution__region")
            .order_by("institution__code")
        )
        problems = []
        for report in reports:
            try:
                _submit_locked(actor, report)
            except DomainError as exc:
                problems += [
                    {
                        **p,
                        "institution_code": report.institution.code,
                        "reason": f"{report.institution.name}：{p['reason']}",
                    }
                    for p in exc.details
                ]
        if problems:
            raise _problems_error(problems, "未提交任何报量：")
    return len(reports)


# ---- review -------------------------------------------------------------------------------------


def _require_reviewer(actor, report: DemandReport) -> None:
    if getattr(actor, "role", None) != Role.BUREAU or not access.is_reviewer_of(actor, report.institution):
        raise PermissionDenied("只有该机构所在县（区）医保局（无则市、省医保局）可以审核")
    if report.status != ReportStatus.SUBMITTED:
        raise DomainError(f"报量当前状态为“{report.get_status_display()}”，不能审核", code="invalid_state")


def _notify_filer(report: DemandReport, *, kind: str, title: str, body: str, link: str = "") -> None:
    ids = {report.institution_id, report.filer_id}
    orgs = list(
        Organisation.objects.filter(kind=OrganisationKind.INSTITUTION, institution_id__in=ids).values_list(
            "pk", flat=True
        )
    )
    if orgs:
        notify(organisations=orgs, kind=kind, title=title, body=body, link=link)


def approve_report(*, actor, report) -> DemandReport:
    with transaction.atomic():
        report = _locked_report(actor, report)
        _require_reviewer(actor, report)
        report.status = ReportStatus.APPROVED
        report.reviewed_at = timezone.now()
        report.return_reason = ""
        report.save(update_fields=["status", "reviewed_at", "return_reason", "updated_at"])
        DemandLine.objects.filter(report=report).exclude(return_reason="").update(return_reason="")
        _log(report, actor, ReportStatus.SUBMITTED, ReportStatus.APPROVED)
        audit.record(
            actor=actor,
            action="approve_demand_report",
            obj=report,
            summary=f"审核通过报量 {report.institution.code}（{report.window.title}）",
        )
        _notify_filer(
            report,
            kind="demand_approved",
            title=f"报量已审核通过：{report.window.title}",
            body=f"{report.institution.name} 的报量已审核通过。",
        )
    return report


def return_report(
    *, actor, report, reason: str = "", line_reasons: dict[str, str] | None = None
) -> DemandReport:
    """Return a submitted report with a reason for the whole report and/or per line (item code → reason);
    at least one reason is required. The reasons are shown to the institution on the report and lines."""
    reason = (reason or "").strip()
    line_reasons = {code: (text or "").strip() for code, text in (line_reasons or {}).items()}
    line_reasons = {code: text for code, text in line_reasons.items() if text}
    if not reason and not line_reasons:
        raise DomainError(
            "退回须填写原因（整份或逐行）",
            code="reason_required",
            details=[{"field": "reason", "reason": "不能为空"}],
        )
    if len(reason) > MAX_TEXT or any(len(t) > MAX_TEXT for t in line_reasons.values()):
        raise DomainError(f"退回原因不能超过 {MAX_TEXT} 字")
    with transaction.atomic():
        report = _locked_report(actor, report)
        _require_reviewer(actor, report)
        lines = {
            line.item.item_code: line
            for line in DemandLine.objects.filter(report=report).select_related("item")
        }
        unknown = sorted(set(line_reasons) - set(lines))
        if unknown:
            raise DomainError(
                f"品种不在本报量中：{'、'.join(unknown)}",
                details=[{"item_code": c, "reason": "不在本报量中"} for c in unknown],
            )
        changed = []
        for code, line in lines.items():
            new = line_reasons.get(code, "")
            if line.return_reason != new:
                line.return_reason = new
                changed.append(line)
        DemandLine.objects.bulk_update(changed, ["return_reason"], batch_size=500)
        report.status = ReportStatus.RETURNED
        report.reviewed_at = timezone.now()
        report.return_reason = reason
        report.save(update_fields=["status", "reviewed_at", "return_reason", "updated_at"])
        parts = [reason] if reason else []
        parts += [f"{_line_label(lines[code])}：{text}" for code, text in sorted(line_reasons.items())]
        logged = "；".join(parts)
        _log(report, actor, ReportStatus.SUBMITTED, ReportStatus.RETURNED, logged)
        audit.record(
            actor=actor,
            action="return_demand_report",
            obj=report,
            summary=f"退回报量 {report.institution.code}（{report.window.title}）",
            changes={"reason": reason, "lines": line_reasons},
        )
        _notify_filer(
            report,
            kind="demand_returned",
            title=f"报量被退回：{report.window.title}",
            body=f"{report.institution.name} 的报量被退回：{logged}",
        )
    return report


# ---- reminders ----------------------------------------------------------------------------------


def send_reminders(*, actor, window, region_code: str = "") -> int:
    """Notify the institutions (and their consortium leads) in the actor's subtree — or in region_code
    below it — whose report in the window is not submitted yet. Returns how many reports were concerned."""
    region = access.bureau_region(actor)
    if region is None or getattr(actor, "role", None) != Role.BUREAU:
        raise NotFound("未找到该报量窗口，或您无权查看")
    path = region.path
    if region_code:
        target = access.visible_regions(actor).filter(code=region_code).first()
        if target is None:
            raise NotFound("未找到该地区，或您无权查看")
        path = target.path
    window_id = window.pk if isinstance(window, ReportingWindow) else window
    window = ReportingWindow.objects.filter(pk=window_id).first()
    if window is None or not (
        window.region.path.startswith(region.path) or region.path.startswith(window.region.path)
    ):
        raise NotFound("未找到该报量窗口，或您无权查看")
    pending = list(
        DemandReport.objects.filter(
            window=window, status__in=EDITABLE, institution__region__path__startswith=path
        ).values_list("institution_id", "filed_by_id")
    )
    if not pending:
        return 0
    institution_ids = {i for pair in pending for i in pair if i}
    with transaction.atomic():
        orgs = list(
            Organisation.objects.filter(
                kind=OrganisationKind.INSTITUTION, institution_id__in=institution_ids
            ).values_list("pk", flat=True)
        )
        notify(
            organisations=orgs,
            kind="demand_reminder",
            title=f"请按时完成报量：{window.title}",
            body=f"报量截止日期 {window.deadline:%Y-%m-%d}，贵机构（或医共体成员）尚未提交，请尽快填报。",
            link=f"/demand/windows/{window.pk}/",
        )
        audit.record(
            actor=actor,
            action="remind_demand_report",
            obj=window,
            summary=f"催报 {window.title}：{len(pending)} 份未提交",
            changes={
                "reports": len(pending),
                "organisations": len(orgs),
                "region": region_code or region.code,
            },
        )
    return len(pending)
