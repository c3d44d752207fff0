"""Reads for the home pages that belong to no single app: platform row counts, the audit trail, and the
per-role work summaries of the home pages.

The summaries call each app's scoped query functions (they take the actor), so a home page never shows a
number its owner could not open; every summary is a fixed number of grouped queries whatever the data size.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import ApiToken, Organisation, User
from jicai.agreements import queries as agreement_queries
from jicai.agreements.models import AgreementStatus
from jicai.batches.models import SUPPLY_ROLES, Batch, Item, ItemFactor, ListingPrice, Substitute, Winner
from jicai.core.errors import NotFound
from jicai.core.models import AuditLog
from jicai.demand import queries as demand_queries
from jicai.demand.models import ReportStatus
from jicai.ingest.models import ImportJob
from jicai.monitoring import queries as monitoring_queries
from jicai.monitoring.dashboards import pct, ratio
from jicai.monitoring.models import Alert, AlertStatus, AlertType, MonitoringRun
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Company, Consortium, Institution, Product, Region
from jicai.tickets import queries as ticket_queries
from jicai.tickets.models import AWAITING_FIX, AWAITING_REPLY
from jicai.tickets.models import Status as TicketStatus
from jicai.trade import queries as trade_queries
from jicai.trade import rules as trade_rules
from jicai.trade.models import LineStatus, SupplierMonthlyReport


def today() -> dt.date:
    """The business date of the home pages (patched in tests)."""
    return timezone.localdate()


MASTER_TABLES = [
    ("行政区划", Region),
    ("医疗机构", Institution),
    ("紧密型医共体", Consortium),
    ("企业", Company),
    ("产品", Product),
    ("集采批次", Batch),
    ("采购品种", Item),
    ("中选结果", Winner),
    ("折算系数", ItemFactor),
    ("可替代药品", Substitute),
    ("挂网价格", ListingPrice),
    ("机构账户", Organisation),
    ("用户", User),
    ("API 令牌", ApiToken),
]


def master_table_counts(actor) -> list[tuple[str, int]]:
    if not access.is_admin(actor):
        raise NotFound("未找到该记录，或您无权查看")
    return [(label, model.objects.count()) for label, model in MASTER_TABLES]


def recent_audit_rows(actor, limit: int = 20) -> QuerySet[AuditLog]:
    """Platform-wide for admins; otherwise the actor's own organisation's rows."""
    qs = AuditLog.objects.select_related("actor")
    if not access.is_admin(actor):
        qs = qs.filter(organisation_id=getattr(actor, "organisation_id", None))
    return qs.order_by("-at", "-id")[:limit]


# ---- admin -----------------------------------------------------------------------------------------


def recent_import_jobs(actor, limit: int = 10) -> list[ImportJob]:
    """Every organisation's imports, newest first: the platform admin watches them all."""
    if not access.is_admin(actor):
        raise NotFound("未找到该记录，或您无权查看")
    return list(ImportJob.objects.select_related("actor").order_by("-started_at", "-id")[:limit])


# What a run's `counts` JSON holds (monitoring.facts / monitoring.evaluate), as shown to the admin.
RUN_FIGURES = [
    (("facts", "progress"), "采购进度事实"),
    (("facts", "delivery"), "配送率事实"),
    (("alerts_found",), "发现预警"),
    (("alerts_opened",), "新开预警"),
    (("alerts_reopened",), "重新打开"),
    (("alerts_closed",), "自动关闭"),
]


@dataclass
class RunSummary:
    run: MonitoringRun
    figures: list[tuple[str, object]]


def latest_monitoring_run(actor) -> RunSummary | None:
    if not access.is_admin(actor):
        raise NotFound("未找到该记录，或您无权查看")
    run = MonitoringRun.objects.select_related("region").order_by("-started_at", "-id").first()
    if run is None:
        return None
    figures = []
    for path, label in RUN_FIGURES:
        value = run.counts if isinstance(run.counts, dict) else {}
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            figures.append((label, value))
    return RunSummary(run, figures)


# ---- alerts (every role) -----------------------------------------------------------------------------

# "Open" on the home pages = the alert list's status filter "active" (open or explained), so the linked
# list shows exactly the counted rows.
ACTIVE_ALERT_STATUSES = (AlertStatus.OPEN, AlertStatus.EXPLAINED)


@dataclass
class AlertSummary:
    total: int
    top: list[tuple[str, str, int]]  # (type, label, count), most frequent first
    other_types: int  # types left out of `top`


def open_alerts_by_type(actor, limit: int = 5) -> AlertSummary:
    """The actor's open alerts per type (at most 16 groups): one grouped query per disjoint part of the
    actor's alerts (monitoring.queries.visible_alert_parts), summed."""
    by_type: dict[str, int] = {}
    for part in monitoring_queries.visible_alert_parts(actor):
        rows = (
            Alert.objects.filter(part, status__in=ACTIVE_ALERT_STATUSES)
            .order_by()
            .values("type")
            .annotate(n=Count("id"))
            .values_list("type", "n")
        )
        for alert_type, n in rows:
            by_type[alert_type] = by_type.get(alert_type, 0) + n
    labels = dict(AlertType.choices)
    counted = sorted(((t, labels.get(t, t), n) for t, n in by_type.items()), key=lambda r: (-r[2], r[0]))
    return AlertSummary(
        total=sum(n for _, _, n in counted), top=counted[:limit], other_types=max(len(counted) - limit, 0)
    )


# ---- bureau ------------------------------------------------------------------------------------------------


@dataclass
class WindowProgress:
    window: object
    not_started: int = 0
    in_progress: int = 0
    submitted: int = 0
    returned: int = 0
    approved: int = 0

    @property
    def total(self) -> int:
        return self.not_started + self.in_progress + self.submitted + self.returned + self.approved


def open_window_progress(actor, on: dt.date, limit: int = 5) -> tuple[list[WindowProgress], bool]:
    """Reporting windows open on `on` that the bureau sees (its own and those opened above it) holding
    reports of its subtree, not finished (deadline ahead, or such a report not approved yet), soonest
    deadline first, with the reports of the institutions in the actor's scope counted by stage. Two
    queries; the bool says more windows are open than shown."""
    # Only windows holding reports of the actor's scope, and not finished in practice: a window nobody
    # closed whose deadline passed with every such report approved is left out.
    in_scope = demand_queries.list_reports(actor).order_by().filter(window=OuterRef("pk"))
    unfinished = Exists(in_scope.exclude(status=ReportStatus.APPROVED))
    windows = list(
        demand_queries.visible_windows(actor)
        .filter(opens_on__lte=on, closed_at__isnull=True)
        .filter(Exists(in_scope))
        .filter(Q(deadline__gte=on) | unfinished)
        .order_by("deadline", "pk")[: limit + 1]
    )
    more = len(windows) > limit
    windows = windows[:limit]
    draft = Q(status=ReportStatus.DRAFT)
    untouched = Q(last_saved_at__isnull=True, submitted_at__isnull=True)
    rows = (
        demand_queries.list_reports(actor)
        .filter(window_id__in=[w.pk for w in windows])
        .order_by()
        .values("window_id")
        .annotate(
            not_started=Count("id", filter=draft & untouched),
            in_progress=Count("id", filter=draft & ~untouched),
            submitted=Count("id", filter=Q(status=ReportStatus.SUBMITTED)),
            returned=Count("id", filter=Q(status=ReportStatus.RETURNED)),
            approved=Count("id", filter=Q(status=ReportStatus.APPROVED)),
        )
    )
    by_window = {r.pop("window_id"): r for r in rows}
    return [WindowProgress(w, **by_window.get(w.pk, {})) for w in windows], more


def review_queue_count(actor) -> int:
    return demand_queries.review_queue(actor).count()


def overdue_agreement_count(actor, on: dt.date) -> int:
    """Agreements not effective after their signing due date (the agreement list's "逾期未签" filter)."""
    return agreement_queries.list_agreements(actor, overdue_on=on).order_by().count()


@dataclass
class EscalatedTickets:
    level: str  # the bureau's region level: the ticket list's "escalation" filter value
    count: int
    rows: list


def escalated_overdue_tickets(actor, on: dt.date, limit: int = 5) -> EscalatedTickets | None:
    """Overdue tickets escalated to the bureau's own region, oldest deadline first. Inside the bureau's
    subtree the escalation level identifies the region (one region per level on a path), which is also
    what the ticket list filters on, so the count and the linked list agree. Two queries."""
    region = access.bureau_region(actor)
    if region is None:
        return None
    qs = (
        ticket_queries.visible_tickets(actor)
        .filter(escalation_level=region.level)
        .filter(ticket_queries.overdue_q(on))
    )
    rows = list(
        qs.select_related("institution", "supplier")
        .annotate(current_due=ticket_queries.current_due_expression())
        .order_by("current_due", "pk")[:limit]
    )
    return EscalatedTickets(level=region.level, count=qs.count(), rows=rows)


# ---- agreements, order lines, payables, tickets (parties) ------------------------------------------------


def agreement_status_counts(actor) -> list[tuple[str, str, int]]:
    """(status, label, count) of every agreement status, zeros included, over the agreements the actor
    sees (the agreement list's rows). One grouped query."""
    counts = dict(
        agreement_queries.visible_agreements(actor)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return [(value, label, counts.get(value, 0)) for value, label in AgreementStatus.choices]


# Derived line statuses still in progress, in workflow order.
OPEN_LINE_STATUSES = (
    trade_rules.PENDING,
    trade_rules.ACCEPTED,
    trade_rules.PARTIALLY_DELIVERED,
    trade_rules.DELIVERED,
    trade_rules.PARTIALLY_RECEIVED,
)


def open_line_counts(actor, *, supplier: Company | None = None) -> list[tuple[str, str, int]]:
    """(derived status, label, lines) of the actor's order lines that are not finished yet, every open
    status listed (zeros too); `supplier` narrows to the lines a company supplies. One grouped query on
    the same derived status the order-line list filters on."""
    qs = trade_queries.visible_lines(actor).exclude(status=LineStatus.CANCELLED)
    if supplier is not None:
        qs = qs.filter(supplier=supplier)
    counts = dict(
        trade_queries.with_derived_status(qs)
        .order_by()
        .values("derived_status")
        .annotate(n=Count("id"))
        .values_list("derived_status", "n")
    )
    return [(s, trade_rules.STATUS_LABELS[s], counts.get(s, 0)) for s in OPEN_LINE_STATUSES]


@dataclass
class Payables:
    lines: int = 0
    outstanding: Decimal = Decimal("0.00")
    overdue: Decimal = Decimal("0.00")


def institution_payables(actor, on: dt.date) -> Payables:
    """Accepted value not yet paid, and the part past its payment due date (trade.queries.payables)."""
    rows = trade_queries.payables(actor, by="institution", as_of=on)
    total = Payables()
    for row in rows:
        total.lines += row["line_count"]
        total.outstanding += row["outstanding"]
        total.overdue += row["overdue"]
    return total


@dataclass
class DueLine:
    line: object
    due_on: dt.date
    overdue: bool

    @property
    def remaining(self) -> int:
        return self.line.qty - self.line.delivered_qty


@dataclass
class Deliveries:
    lines: int = 0
    remaining_qty: int = 0
    overdue_lines: int = 0
    first: list[DueLine] = field(default_factory=list)


def _to_deliver(qs):
    """Live lines the supplier accepted (explicitly or by delivering some) with quantity still to deliver."""
    return (
        qs.filter(status=LineStatus.OPEN, delivered_qty__lt=F("qty"))
        .exclude(accepted_by_supplier=False)
        .filter(Q(accepted_by_supplier=True) | Q(delivered_qty__gt=0))
    )


def deliveries_due(actor, on: dt.date, *, as_supplier: bool, limit: int = 5) -> Deliveries:
    """Accepted order lines not fully delivered that the actor's company supplies (`as_supplier`) or
    distributes. A line is due `delivery_grace_days` after its order date (policy of the institution's
    region and the item's batch). Fixed queries: lines grouped by (region, batch, order date), the
    regions, the batches, the policy profiles, and the first `limit` lines by order date."""
    company = access.company_of(actor)
    if company is None:
        return Deliveries()
    qs = trade_queries.visible_lines(actor)
    qs = qs.filter(supplier=company) if as_supplier else qs.filter(order__distributor=company)
    qs = _to_deliver(qs)
    groups = list(
        qs.order_by()
        .values("institution__region_id", "item__batch_id", "ordered_on")
        .annotate(n=Count("id"), remaining=Sum(F("qty") - F("delivered_qty")))
    )
    regions = Region.objects.in_bulk({g["institution__region_id"] for g in groups})
    batches = Batch.objects.in_bulk({g["item__batch_id"] for g in groups if g["item__batch_id"]})
    resolver = PolicyResolver.load()
    grace: dict[tuple, int] = {}

    def grace_days(region, batch) -> int:
        key = (region.pk, batch.pk if batch else None)
        if key not in grace:
            grace[key] = resolver.resolve(region, batch).delivery_grace_days
        return grace[key]

    result = Deliveries()
    for g in groups:
        region = regions[g["institution__region_id"]]
        batch = batches.get(g["item__batch_id"])
        result.lines += g["n"]
        result.remaining_qty += int(g["remaining"] or 0)
        if g["ordered_on"] + dt.timedelta(days=grace_days(region, batch)) < on:
            result.overdue_lines += g["n"]
    first = qs.select_related(
        "order", "institution", "institution__region", "product", "item", "item__batch"
    ).order_by("ordered_on", "pk")[:limit]
    for line in first:
        batch = line.item.batch if line.item_id else None
        due_on = line.ordered_on + dt.timedelta(days=grace_days(line.institution.region, batch))
        result.first.append(DueLine(line, due_on, due_on < on))
    return result


@dataclass
class TicketSummary:
    open: int = 0  # awaiting the first reply
    reopened: int = 0
    replied: int = 0  # awaiting the fix
    overdue: int = 0
    first: list = field(default_factory=list)

    @property
    def active(self) -> int:
        return self.open + self.reopened + self.replied


def active_tickets(actor, on: dt.date, limit: int = 5) -> TicketSummary:
    """Tickets still owing a reply or a fix among those the actor sees, counted by status and overdue,
    and the first `limit` by the deadline the supplier works to now (reply due soonest first)."""
    qs = ticket_queries.visible_tickets(actor).filter(status__in=(*AWAITING_REPLY, *AWAITING_FIX))
    counts = qs.aggregate(
        open=Count("id", filter=Q(status=TicketStatus.OPEN)),
        reopened=Count("id", filter=Q(status=TicketStatus.REOPENED)),
        replied=Count("id", filter=Q(status=TicketStatus.REPLIED)),
        overdue=Count("id", filter=ticket_queries.overdue_q(on)),
    )
    first = list(
        qs.select_related("institution", "supplier")
        .annotate(
            current_due=ticket_queries.current_due_expression(),
            overdue_now=ticket_queries.overdue_kind_expression(on),
        )
        .order_by("current_due", "pk")[:limit]
    )
    return TicketSummary(**counts, first=first)


# ---- institution -------------------------------------------------------------------------------------------


@dataclass
class BatchProgress:
    batch_code: str
    batch_name: str
    year_number: int
    as_of: dt.date
    time_progress: Decimal
    items: int
    agreed: int
    purchased: Decimal  # of the items with agreed > 0
    lagging: int  # items whose completion is below time progress

    @property
    def completion(self) -> Decimal | None:
        return ratio(self.purchased, self.agreed)

    @property
    def purchased_display(self) -> str:
        return f"{self.purchased.normalize():f}"

    @property
    def completion_pct(self) -> str:
        return pct(self.completion)

    @property
    def time_progress_pct(self) -> str:
        return pct(self.time_progress)


def institution_progress(actor, institution: Institution) -> list[BatchProgress]:
    """This agreement year's volume progress of the institution per batch, from the facts the latest
    monitoring run stored (ProgressFact): Σ agreed, Σ purchased of winning products (× item_factor) of the
    items with an agreed volume, items below time progress. A later year's facts replace an earlier year's for the same batch. One
    grouped query; empty when monitoring has not run."""
    rows = (
        monitoring_queries.visible_progress_facts(actor)
        .filter(institution=institution)
        .order_by()
        .values(
            "agreement_year__batch__code",
            "agreement_year__batch__name",
            "agreement_year__number",
        )
        .annotate(
            # Named apart from the fields: an annotation called time_progress would shadow the column
            # in the lagging filter below.
            latest_as_of=Max("dated__as_of"),
            year_time_progress=Max("dated__time_progress"),
            item_count=Count("id"),
            agreed=Sum("agreed_qty"),
            # Items without an agreed volume have no completion; their purchases would inflate it.
            purchased=Sum("purchased_winning", filter=Q(agreed_qty__gt=0)),
            lagging=Count("id", filter=Q(completion__lt=F("dated__time_progress"))),
        )
    )
    latest: dict[str, BatchProgress] = {}
    for r in rows:
        code = r["agreement_year__batch__code"]
        if code in latest and latest[code].year_number > r["agreement_year__number"]:
            continue
        latest[code] = BatchProgress(
            batch_code=code,
            batch_name=r["agreement_year__batch__name"],
            year_number=r["agreement_year__number"],
            as_of=r["latest_as_of"],
            time_progress=Decimal(str(r["year_time_progress"])),
            items=r["item_count"],
            agreed=int(r["agreed"] or 0),
            # SQLite sums decimals as floats: back to the 4 places the facts are stored with.
            purchased=Decimal(str(r["purchased"] or 0)).quantize(Decimal("0.0001")),
            lagging=r["lagging"],
        )
    return sorted(latest.values(), key=lambda p: p.batch_code)


# ---- manufacturer ------------------------------------------------------------------------------------------


@dataclass
class MissingMonthly:
    item: Item
    month: dt.date
    due_on: dt.date


def missing_monthly_reports(actor, on: dt.date) -> list[MissingMonthly]:
    """The company's monthly reports past due and not filed: for each item it holds a supply role for
    (any province), the latest month whose report is overdue by `company_report_day` (policy of the
    province and batch) — only months the batch's cycle covers, as trade.queries.missing_monthly_reports
    does for bureaus. Fixed queries: winners, provinces, policy profiles, filed reports."""
    company = access.company_of(actor)
    if company is None:
        return []
    pairs = set(
        Winner.objects.filter(product__manufacturer=company, role__in=SUPPLY_ROLES).values_list(
            "province_id", "item_id"
        )
    )
    provinces = Region.objects.in_bulk({province for province, _ in pairs})
    items = Item.objects.select_related("batch").in_bulk({item for _, item in pairs})
    resolver = PolicyResolver.load()
    required: dict[tuple[int, dt.date], MissingMonthly] = {}
    for province_id, item_id in sorted(
        pairs, key=lambda p: (items[p[1]].batch.code, items[p[1]].item_code, p[0])
    ):
        item = items[item_id]
        day = resolver.resolve(provinces[province_id], item.batch).company_report_day
        month = trade_rules.latest_overdue_report_month(on, day)
        due_on = trade_rules.monthly_report_due(month, day)
        if item.batch.cycle_start > due_on or item.batch.cycle_end < month:
            continue
        required.setdefault((item_id, month), MissingMonthly(item, month, due_on))
    if not required:
        return []
    filed = set(
        SupplierMonthlyReport.objects.filter(
            company=company, month__in={month for _, month in required}
        ).values_list("item_id", "month")
    )
    return [m for key, m in required.items() if key not in filed]
