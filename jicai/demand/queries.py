"""Reads of demand reporting, always through the actor's scope (accounts.access.scope_by_parties): an
institution sees its own reports (a consortium lead also its members'), a bureau its subtree, a company
nothing. Anything else is NotFound (404).

Review rule built on access (not in access.py, which this app does not own): the reviewer of an institution
is the bureau of its county, else city, else province — so a bureau reviews the institutions of its subtree
for which no bureau exists on the path below it. `review_queue` expresses that in SQL (NOT EXISTS)."""

from collections import defaultdict

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.lookups import StartsWith
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Organisation, OrganisationKind
from jicai.core.errors import NotFound
from jicai.demand.models import DemandLine, DemandReport, ReportingWindow, ReportStatus, ReportTransition
from jicai.registry.models import Region


def _reports(actor) -> QuerySet[DemandReport]:
    return access.scope_by_parties(
        actor,
        DemandReport.objects.select_related(
            "window", "window__batch", "institution", "institution__region", "filed_by"
        ),
        institution="institution",
        consortium_members=True,
    )


def list_reports(
    actor,
    *,
    window: int | str | None = None,
    status: str = "",
    q: str = "",
    region: str = "",
    flagged: bool = False,
) -> QuerySet[DemandReport]:
    qs = _reports(actor)
    if window:
        qs = qs.filter(window_id=window) if str(window).isdigit() else qs.none()
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(institution__code__startswith=q.upper()) | Q(institution__name__contains=q))
    if region:
        target = Region.objects.filter(code=region).first()
        qs = qs.filter(institution__region__path__startswith=target.path) if target else qs.none()
    if flagged:
        qs = qs.filter(flagged_lines__gt=0)
    # Newest window first (windows are created in the order they open), then institutions as registered:
    # the index report_list_order hands out the page. Ordering by the window's opening date and the
    # institution's code joined and sorted every report first (10,000 per window at province scale).
    return qs.order_by("-window_id", "institution_id")


def get_report(actor, pk) -> DemandReport:
    if not str(pk).isdigit():
        raise NotFound("未找到该报量，或您无权查看")
    return access.get_visible_or_404(_reports(actor), pk=pk)


def report_lines(report: DemandReport) -> QuerySet[DemandLine]:
    """Lines of a report the caller already fetched through get_report (so already scoped)."""
    return DemandLine.objects.filter(report=report).select_related("item").order_by("item__item_code")


def report_log(report: DemandReport) -> QuerySet[ReportTransition]:
    return ReportTransition.objects.filter(report=report).select_related("actor", "actor__organisation")


def review_queue(actor, *, window: int | str | None = None, q: str = "") -> QuerySet[DemandReport]:
    """Submitted reports the actor reviews, flagged ones (most flagged lines) first, then oldest first."""
    region = access.bureau_region(actor)
    if region is None:
        return DemandReport.objects.none()
    deeper = Exists(
        Organisation.objects.filter(kind=OrganisationKind.BUREAU, region__path__startswith=region.path)
        .exclude(region=region)
        .filter(StartsWith(OuterRef("institution__region__path"), F("region__path")))
    )
    qs = list_reports(actor, window=window, status=ReportStatus.SUBMITTED, q=q)
    return qs.filter(~deeper).order_by("-flagged_lines", "submitted_at", "pk")


def is_reviewer(actor, report: DemandReport) -> bool:
    return access.is_bureau(actor) and access.is_reviewer_of(actor, report.institution)


# ---- windows ------------------------------------------------------------------------------------


def visible_windows(actor) -> QuerySet[ReportingWindow]:
    """Admin: all. Bureau: windows opened in its subtree or above it (a province window covers a city).
    Institution: windows holding a report it may see. Others: none."""
    qs = ReportingWindow.objects.select_related("batch", "region", "bureau")
    if access.is_admin(actor):
        return qs
    region = access.bureau_region(actor)
    if region is not None:
        return qs.filter(
            Q(region__path__startswith=region.path) | Q(region__code__in=region.ancestor_codes())
        )
    if access.institution_of(actor) is not None:
        return qs.filter(pk__in=_reports(actor).values("window_id"))
    return qs.none()


def list_windows(actor, *, q: str = "", batch: str = "") -> QuerySet[ReportingWindow]:
    qs = visible_windows(actor)
    if q:
        qs = qs.filter(Q(title__contains=q) | Q(batch__code__icontains=q))
    if batch:
        qs = qs.filter(batch__code=batch)
    return qs.order_by("-opens_on", "-pk")


def get_window(actor, pk) -> ReportingWindow:
    if not str(pk).isdigit():
        raise NotFound("未找到该报量窗口，或您无权查看")
    return access.get_visible_or_404(visible_windows(actor), pk=pk)


def open_windows_for(actor) -> list[dict]:
    """Windows open now in which the actor's institution (or, for a lead, a member) has a report:
    [{"window", "report" (its own or None), "status counts of the reports it files", "overdue"}]."""
    own = access.institution_of(actor)
    if own is None:
        return []
    today = timezone.localdate()
    reports = list(
        _reports(actor)
        .filter(window__opens_on__lte=today, window__closed_at__isnull=True)
        .filter(Q(institution=own) | Q(filed_by=own))
        .order_by("window__deadline", "window_id", "institution__code")
    )
    by_window: dict[int, dict] = {}
    for report in reports:
        entry = by_window.setdefault(
            report.window_id,
            {
                "window": report.window,
                "report": None,
                "filed": 0,
                "pending": 0,
                "overdue": report.window.deadline < today,
            },
        )
        if report.institution_id == own.pk:
            entry["report"] = report
        if report.filer_id == own.pk:
            entry["filed"] += 1
            if report.status in (ReportStatus.DRAFT, ReportStatus.RETURNED):
                entry["pending"] += 1
    return [e for e in by_window.values() if e["pending"] or e["report"] is not None]


def consortium_reports(actor, window: ReportingWindow) -> list[DemandReport]:
    """The reports a consortium lead files in the window (its own and its members'), by institution code."""
    own = access.institution_of(actor)
    if own is None:
        raise NotFound("未找到该报量窗口，或您无权查看")
    return list(
        _reports(actor)
        .filter(window=window)
        .filter(Q(filed_by=own) | Q(institution=own))
        .order_by("institution__code")
    )


# ---- completion ---------------------------------------------------------------------------------

COMPLETION_KEYS = ("not_started", "in_progress", "submitted", "returned", "approved")
COMPLETION_LABELS = {
    "not_started": "未开始",
    "in_progress": "填报中",
    "submitted": "已提交待审",
    "returned": "已退回",
    "approved": "已通过",
}


def _bucket(status: str, started: bool) -> str:
    if status == ReportStatus.DRAFT:
        return "in_progress" if started else "not_started"
    return status


def completion(actor, window: ReportingWindow, *, region_code: str = "") -> dict:
    """Report counts per child region of `region_code` (default: the bureau's region, or the window's for
    an admin): not started / in progress / submitted / returned / approved, plus a row for institutions
    sitting in the region itself. One grouped query; regions are rolled up by their path."""
    if not (access.is_bureau(actor) or access.is_admin(actor)):
        raise NotFound("未找到该页面，或您无权查看")
    base = access.bureau_region(actor) or window.region
    region = base
    if region_code:
        region = access.visible_regions(actor).filter(code=region_code).first()
        if region is None or not region.path.startswith(base.path) and not access.is_admin(actor):
            raise NotFound("未找到该地区，或您无权查看")
    rows = (
        _reports(actor)
        .filter(window=window, institution__region__path__startswith=region.path)
        .values_list("institution__region__path", "status", "last_saved_at", "submitted_at")
    )
    children = list(Region.objects.filter(parent=region).order_by("code"))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COMPLETION_KEYS, 0))
    depth = len(region.path)
    for path, status, saved, submitted in rows.order_by().iterator(chunk_size=5000):
        # The child's code is the path segment right after the region's own path ("" = the region itself).
        child = path[depth : depth + 6] if len(path) > depth else ""
        counts[child][_bucket(status, bool(saved or submitted))] += 1
    table = []
    for child in [*children, None]:
        key = child.code if child else ""
        if child is None and key not in counts:
            continue
        row = {
            "region": child,
            "code": key,
            "name": child.name if child else f"{region.name}本级",
            **counts.get(key, dict.fromkeys(COMPLETION_KEYS, 0)),
        }
        row["total"] = sum(row[k] for k in COMPLETION_KEYS)
        row["pending"] = row["not_started"] + row["in_progress"] + row["returned"]
        table.append(row)
    totals = {k: sum(r[k] for r in table) for k in (*COMPLETION_KEYS, "total", "pending")}
    return {"region": region, "rows": table, "totals": totals, "labels": COMPLETION_LABELS}
