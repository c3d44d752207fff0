"""Supplier scorecard per batch and quarter (SPEC §7): delivery rate overall and by institution level,
ticket figures, the policy tier of each rate and the resulting recommendation (1 报量风险提示 / 2 减少约定
采购量 / 3 不接受参加集采); a bureau confirms or dismisses each recommendation with a reason, and confirmed
sanctions form the supplier's credit record (招采信用评价).

Quarter delivery rate (the SPEC's rule over a quarter instead of the agreement year): over the supplier's
order lines for the batch's winning products of each institution's province, ordered in
[quarter start, min(quarter end, D − delivery_grace_days)] with D = min(quarter end, today),
Σ delivered by D / Σ ordered, capped at 1; rejected lines count as ordered and undelivered, cancelled
lines are left out, no lines → no data (never 100 %).
"""

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, Exists, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse

from jicai.accounts import access
from jicai.accounts.models import Organisation
from jicai.accounts.notify import notify
from jicai.batches.models import SUPPLY_ROLES, Batch, Winner
from jicai.core import audit
from jicai.core.counts import capped_count
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.monitoring.dashboards import LEVEL_LABELS, LEVEL_ORDER, NOT_FOUND, pct, ratio
from jicai.monitoring.models import SanctionDecision
from jicai.monitoring.notices import Quarter
from jicai.policy.resolve import effective_policy
from jicai.policy.rules import rate_tier
from jicai.registry.models import Company, Institution, Region
from jicai.tickets.models import Ticket
from jicai.tickets.queries import supplier_ticket_figures
from jicai.trade.models import Delivery, LineStatus, OrderLine

Recommendation = SanctionDecision.Recommendation
DELIVERY = "delivery_rate"
TICKET_REPLY = "ticket_reply"
TICKET_FIX = "ticket_fix"
METRIC_LABELS = {
    DELIVERY: "配送率（总体）",
    **{f"{DELIVERY}_{level}": f"配送率（{LEVEL_LABELS[level]}医疗机构）" for level in LEVEL_ORDER},
    TICKET_REPLY: "诉求及时答复率",
    TICKET_FIX: "诉求及时解决率",
}


@dataclass
class Metric:
    key: str
    rate: Decimal | None  # 6 decimals, for display and the decision row
    tier: int | None  # None: no data; 0: no problem; 1–3: the policy tier
    numerator: int | None = None
    denominator: int | None = None

    @property
    def label(self) -> str:
        return METRIC_LABELS[self.key]

    @property
    def recommendation(self) -> str:
        return Recommendation(self.tier).label if self.tier else ""

    @property
    def rate_pct(self) -> str:
        return pct(self.rate)

    @property
    def sanctionable(self) -> bool:
        return bool(self.tier)


@dataclass
class Scorecard:
    supplier: Company
    batch: Batch
    quarter: Quarter
    region: Region
    as_of: dt.date
    metrics: list[Metric]
    # tickets.queries.supplier_ticket_figures' row: tickets, replied_on_time, on_time_reply_rate, fixed,
    # fixed_on_time, timely_fix_rate, mean_workdays_to_fix (rates and mean None without tickets).
    tickets: dict
    decisions: dict[str, SanctionDecision] = field(default_factory=dict)
    # SPEC §14 delivery evaluation: compliance.ratings.Average of the region's ratings in the quarter, or None.
    ratings: object = None
    # The stored run (monitoring.models.ScorecardRun) the delivery figures come from; None: computed live.
    run: object = None

    def metric(self, key: str) -> Metric | None:
        return next((m for m in self.metrics if m.key == key), None)

    @property
    def tier(self) -> int | None:
        tiers = [m.tier for m in self.metrics if m.tier is not None]
        return max(tiers) if tiers else None

    @property
    def recommendation(self) -> str:
        return Recommendation(self.tier).label if self.tier else ""

    @property
    def has_data(self) -> bool:
        return self.tier is not None


def evaluation_date(quarter: Quarter, today: dt.date) -> dt.date:
    return min(quarter.end, today)


def line_sums(
    *,
    batch: Batch,
    region: Region,
    quarter: Quarter,
    as_of: dt.date,
    grace_days: int,
    by: tuple,
    suppliers=None,
):
    """Σ ordered and Σ delivered by D (`o`, `d`) of the quarter window's lines, grouped by `by` (order-line
    lookups): the one definition of the delivery figures, read live and stored by `store_run`. None when the
    window is empty (the quarter's first grace days)."""
    last_order_day = min(quarter.end, as_of - dt.timedelta(days=grace_days))
    if last_order_day < quarter.start:
        return None
    # A region's subtree lies in one province, so the winning products (W) are one small list.
    winning = list(
        Winner.objects.filter(item__batch=batch, role__in=SUPPLY_ROLES, province__code=region.province_code)
        .values_list("product_id", flat=True)
        .distinct()
    )
    lines = OrderLine.objects.filter(
        item__batch=batch,
        product_id__in=winning,
        institution__in=Institution.objects.filter(region__path__startswith=region.path).values("pk"),
        ordered_on__gte=quarter.start,
        ordered_on__lte=last_order_day,
    ).exclude(status=LineStatus.CANCELLED)
    if suppliers is not None:
        lines = lines.filter(supplier__in=suppliers)
    # Delivered by D: the line's running total when its last delivery is on or before D (the usual case
    # for a past quarter); otherwise the sum of its deliveries up to D, read only for those lines.
    delivered_by_d = Delivery.objects.filter(line=OuterRef("pk"), delivered_on__lte=as_of).values("line")
    delivered_by_d = delivered_by_d.annotate(s=Sum("qty")).values("s")
    delivered = Case(
        When(Q(status=LineStatus.REJECTED) | Q(accepted_by_supplier=False), then=Value(0)),
        When(delivered_qty=0, then=Value(0)),
        When(last_delivered_on__lte=as_of, then=F("delivered_qty")),
        default=Coalesce(Subquery(delivered_by_d, output_field=BigIntegerField()), Value(0)),
        output_field=BigIntegerField(),
    )
    return lines.order_by().values(*by).annotate(o=Sum("qty"), d=Sum(delivered))


@dataclass
class Figures:
    """{supplier id: {institution level: (ordered, delivered)}}, the evaluation date D they are as of, and
    the stored run they come from (None: computed live)."""

    levels: dict[int, dict[str, tuple[int, int]]]
    as_of: dt.date
    run: object = None


class NotStored(DomainError):
    def __init__(self, batch: Batch, region: Region, quarter: Quarter):
        super().__init__(
            f"范围内机构超过 {LIVE_LIMIT} 家，配送率不逐次实时计算；请先运行 "
            f"{store_command(batch, region, quarter)} 计算并存储",
            code="scorecards_not_stored",
        )


def delivery_figures(
    *, batch: Batch, region: Region, quarter: Quarter, today: dt.date, suppliers=None, live: bool = False
) -> Figures:
    """The quarter's delivery figures over the region's subtree: computed live (one grouped query) for a
    scope of at most LIVE_LIMIT institutions or when `live`; else summed from the newest stored run that
    covers the region with its policy's grace days (NotStored when there is none)."""
    grace_days = effective_policy(region=region, batch=batch).delivery_grace_days
    if not live and not live_allowed(region):
        run = latest_run(batch, region, quarter, grace_days)
        if run is None:
            raise NotStored(batch, region, quarter)
        return Figures(stored_levels(run, region, suppliers), run.as_of, run)
    as_of = evaluation_date(quarter, today)
    grouped = line_sums(
        batch=batch,
        region=region,
        quarter=quarter,
        as_of=as_of,
        grace_days=grace_days,
        by=("supplier", "institution__level"),
        suppliers=suppliers,
    )
    return Figures(_levels(grouped if grouped is not None else (), "institution__level"), as_of)


def _levels(rows, level_key: str) -> dict[int, dict[str, tuple[int, int]]]:
    """{supplier id: {institution level: (ordered, delivered)}} of grouped rows with `o` and `d`."""
    levels: dict[int, dict[str, tuple[int, int]]] = {}
    for r in rows:
        levels.setdefault(r["supplier"], {})[r[level_key]] = (int(r["o"] or 0), int(r["d"] or 0))
    return levels


# ---- stored runs ---------------------------------------------------------------------------------------

# A scorecard page or API call computes the delivery figures live only for a scope of at most this many
# institutions; a larger one (a province: ≈ 5 M order lines a quarter, seconds) reads the stored run.
LIVE_LIMIT = 100


def live_allowed(region: Region) -> bool:
    institutions = Institution.objects.filter(region__path__startswith=region.path)
    return capped_count(institutions, LIVE_LIMIT)[1]  # exact: at most LIVE_LIMIT


def latest_run(batch: Batch, region: Region, quarter: Quarter, grace_days: int):
    """The newest run of the batch and quarter whose subtree holds `region` (its own or an ancestor's) and
    that was computed with the region's grace days."""
    from jicai.monitoring.models import ScorecardRun

    return (
        ScorecardRun.objects.filter(
            batch=batch, quarter=quarter.code, region__code__in=region.ancestor_codes(), grace_days=grace_days
        )
        .select_related("batch", "region")
        .order_by("-computed_at", "-id")
        .first()
    )


def stored_levels(run, region: Region, suppliers=None) -> dict[int, dict[str, tuple[int, int]]]:
    rows = run.figures.all()
    if region.pk != run.region_id:
        rows = rows.filter(region_path__startswith=region.path)
    if suppliers is not None:
        rows = rows.filter(supplier__in=suppliers)
    grouped = (
        rows.order_by().values("supplier", "level").annotate(o=Sum("ordered_qty"), d=Sum("delivered_qty"))
    )
    return _levels(grouped, "level")


def store_run(*, batch: Batch, region: Region, quarter: Quarter, today: dt.date):
    """Sum the quarter window's lines per (supplier, institution region, level) with `line_sums` and store
    them as a run, replacing the older runs of the same batch, quarter and region in one transaction
    (readers see the old run or the new one, never a mix)."""
    from jicai.monitoring.models import ScorecardFigure, ScorecardRun

    started = time.perf_counter()
    grace_days = effective_policy(region=region, batch=batch).delivery_grace_days
    as_of = evaluation_date(quarter, today)
    by = ("supplier", "institution__region__path", "institution__level")
    grouped = line_sums(
        batch=batch, region=region, quarter=quarter, as_of=as_of, grace_days=grace_days, by=by
    )
    rows = list(grouped) if grouped is not None else []
    with transaction.atomic():
        ScorecardRun.objects.filter(batch=batch, quarter=quarter.code, region=region).delete()
        run = ScorecardRun.objects.create(
            batch=batch,
            region=region,
            quarter=quarter.code,
            as_of=as_of,
            grace_days=grace_days,
            seconds=round(time.perf_counter() - started, 3),
        )
        ScorecardFigure.objects.bulk_create(
            (
                ScorecardFigure(
                    run=run,
                    supplier_id=r["supplier"],
                    region_path=r["institution__region__path"],
                    level=r["institution__level"],
                    ordered_qty=int(r["o"] or 0),
                    delivered_qty=int(r["d"] or 0),
                )
                for r in rows
            ),
            batch_size=2000,
        )
    return run


def store_due(today: dt.date, regions=None) -> list:
    """Store the runs a daily `jicai monitor` keeps fresh, for each province (or the given regions) and each
    batch with winners there: the quarter of `today` (as of today) and the previous quarter unless it has a
    run as of its end. A quarter without order lines of the batch is skipped."""
    from jicai.monitoring.models import ScorecardRun
    from jicai.monitoring.notices import quarter_of

    current = quarter_of(today)
    stored = []
    for region in (
        regions if regions is not None else Region.objects.filter(parent__isnull=True).order_by("code")
    ):
        batches = Batch.objects.filter(
            pk__in=Winner.objects.filter(province__code=region.province_code).values("item__batch")
        ).order_by("code")
        for batch in batches:
            for quarter in (current.previous(), current):
                final = ScorecardRun.objects.filter(
                    batch=batch, region=region, quarter=quarter.code, as_of=quarter.end
                ).exists()
                if (
                    final
                    or not OrderLine.objects.filter(
                        item__batch=batch,
                        ordered_on__gte=quarter.start,
                        ordered_on__lte=min(quarter.end, today),
                    ).exists()
                ):
                    continue
                stored.append(store_run(batch=batch, region=region, quarter=quarter, today=today))
    return stored


def store_command(batch: Batch, region: Region, quarter: Quarter) -> str:
    return f"jicai scorecards --batch {batch.code} --quarter {quarter.code} --region {region.code} --store"


def _delivery_metric(key: str, ordered: int, delivered: int, tiers) -> Metric:
    if not ordered:
        return Metric(key, None, None, delivered, ordered)
    exact = min(Fraction(delivered, ordered), Fraction(1))
    return Metric(
        key, min(ratio(delivered, ordered), Decimal(1)), rate_tier(exact, tiers), delivered, ordered
    )


def _count_metric(key: str, numerator: int, denominator: int, tiers) -> Metric:
    """A ticket rate tiered on the exact fraction of the counts (the tickets app rounds its rates to 4
    places, which could cross a tier boundary); no tickets → no data, never 100 %."""
    if not denominator:
        return Metric(key, None, None)
    exact = Fraction(numerator, denominator)
    return Metric(key, ratio(numerator, denominator), rate_tier(exact, tiers), numerator, denominator)


def build_scorecards(
    *,
    batch: Batch,
    region: Region,
    quarter: Quarter,
    today: dt.date,
    suppliers: list[Company] | None = None,
    live: bool = False,
) -> list[Scorecard]:
    """Scorecards of the given suppliers, or of every supplier with winning-product lines in the quarter
    or with tickets in the quarter while it holds a supply role of the batch in the region's province."""
    policy = effective_policy(region=region, batch=batch)
    found = delivery_figures(
        batch=batch, region=region, quarter=quarter, today=today, suppliers=suppliers, live=live
    )
    figures = found.levels
    if suppliers is None:
        # Also a winner of the batch in the province with tickets from the region in the quarter but no
        # lines in it: its ticket rates can still be tiered. (The same ticket selection as
        # supplier_ticket_figures below.)
        supplies_batch = Exists(
            Winner.objects.filter(
                item__batch=batch,
                role__in=SUPPLY_ROLES,
                province__code=region.province_code,
                product__manufacturer=OuterRef("pk"),
            )
        )
        has_tickets = Exists(
            Ticket.objects.filter(
                supplier=OuterRef("pk"),
                opened_on__gte=quarter.start,
                opened_on__lte=quarter.end,
                institution__region__path__startswith=region.path,
            )
        )
        suppliers = list(
            Company.objects.filter(Q(pk__in=list(figures)) | (supplies_batch & has_tickets)).order_by("code")
        )
    # Ticket figures over tickets of the region's institutions opened in the quarter; one row per supplier.
    tickets = (
        supplier_ticket_figures(suppliers=suppliers, start=quarter.start, end=quarter.end, region=region)
        if suppliers
        else {}
    )
    decisions: dict[tuple[int, str], SanctionDecision] = {
        (d.supplier_id, d.metric): d
        for d in SanctionDecision.objects.filter(
            supplier__in=suppliers, batch=batch, region=region, quarter=quarter.code
        ).select_related("decided_by")
    }
    cards = []
    for supplier in suppliers:
        levels = figures.get(supplier.pk, {})
        ordered = sum(o for o, _ in levels.values())
        delivered = sum(d for _, d in levels.values())
        metrics = [_delivery_metric(DELIVERY, ordered, delivered, policy.delivery_rate_tiers)]
        for level in LEVEL_ORDER:
            o, d = levels.get(level, (0, 0))
            metrics.append(_delivery_metric(f"{DELIVERY}_{level}", o, d, policy.delivery_rate_tiers))
        ticket_row = tickets[supplier.pk]
        tiers = policy.ticket_resolution_tiers
        metrics.append(
            _count_metric(TICKET_REPLY, ticket_row["replied_on_time"], ticket_row["tickets"], tiers)
        )
        metrics.append(_count_metric(TICKET_FIX, ticket_row["fixed_on_time"], ticket_row["tickets"], tiers))
        card = Scorecard(
            supplier,
            batch,
            quarter,
            region,
            found.as_of,
            metrics,
            ticket_row,
            {m: d for (s, m), d in decisions.items() if s == supplier.pk},
            run=found.run,
        )
        cards.append(card)
    _attach_rating_averages(cards, region, quarter)
    return cards


def _attach_rating_averages(cards: list[Scorecard], region: Region, quarter: Quarter) -> None:
    """Delivery-rating averages (SPEC §14) of each card's supplier over the region's ratings in the quarter."""
    from jicai.compliance.models import DeliveryRating
    from jicai.compliance.ratings import averages

    if not cards:
        return
    rows = DeliveryRating.objects.filter(
        institution__region__path__startswith=region.path, supplier__in=[c.supplier for c in cards]
    )
    found = averages(rows, quarter.start, quarter.end)
    for card in cards:
        card.ratings = found.get(card.supplier.pk)


# ---- scope -----------------------------------------------------------------------------------------


def scorecard_region(actor, code: str = "", *, supplier: Company | None = None) -> Region:
    """The bureau's own region (or a region of its subtree); a supplier or admin picks any region,
    by default the province where the supplier holds winning roles."""
    if access.is_bureau(actor) and not access.is_admin(actor):
        own = access.bureau_region(actor)
        return own if not code else access.get_visible_or_404(access.visible_regions(actor), code=code)
    if code:
        return access.get_visible_or_404(Region.objects.all(), code=code)
    province = None
    if supplier is not None:
        province = Region.objects.filter(winner_rows__product__manufacturer=supplier).order_by("code").first()
    province = province or Region.objects.filter(parent__isnull=True).order_by("code").first()
    if province is None:
        raise NotFound(NOT_FOUND)
    return province


def can_list_scorecards(actor) -> bool:
    return access.is_admin(actor) or access.is_bureau(actor)


def scorecard_supplier(actor, code: str) -> Company:
    """Bureaus and admins see any supplier's scorecard; a company only its own; everyone else 404."""
    if can_list_scorecards(actor):
        return access.get_visible_or_404(Company.objects.all(), code=code)
    own = access.company_of(actor)
    if own is not None and own.code == code:
        return own
    raise NotFound(NOT_FOUND)


def scorecard_batch(code: str) -> Batch:
    return access.get_visible_or_404(Batch.objects.all(), code=code)


def can_decide(actor) -> bool:
    return access.is_bureau(actor) and not access.is_admin(actor)


# ---- decisions and credit record ----------------------------------------------------------------------


@transaction.atomic
def decide_sanction(
    *,
    actor,
    supplier: Company,
    batch: Batch,
    quarter: Quarter,
    metric: str,
    confirm: bool,
    reason: str,
    today: dt.date,
) -> SanctionDecision:
    """The deciding bureau confirms or dismisses one metric's recommendation, with a reason. The tier is
    recomputed here (never taken from the form); one decision per supplier, batch, region, quarter, metric."""
    if not can_decide(actor):
        raise PermissionDenied("只有医保局可以确认或驳回信用评价建议")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写确认或驳回的理由", code="reason_required")
    if metric not in METRIC_LABELS:
        raise DomainError(f"未知的评价指标：{metric}", code="invalid_metric")
    region = access.bureau_region(actor)
    card = build_scorecards(batch=batch, region=region, quarter=quarter, today=today, suppliers=[supplier])[0]
    current = card.metric(metric)
    if current is None or not current.sanctionable:
        raise DomainError(f"{METRIC_LABELS[metric]}没有需要处理的分档建议", code="no_recommendation")
    status = SanctionDecision.Status.CONFIRMED if confirm else SanctionDecision.Status.DISMISSED
    try:
        with transaction.atomic():
            decision = SanctionDecision.objects.create(
                supplier=supplier,
                batch=batch,
                region=region,
                quarter=quarter.code,
                metric=metric,
                rate=current.rate,
                tier=current.tier,
                status=status,
                reason=reason,
                decided_by=access_user(actor),
            )
    except IntegrityError:
        raise DomainError("该指标本季度已处理，不能重复处理", code="already_decided") from None
    audit.record(
        actor=actor,
        action=f"sanction.{status}",
        obj=decision,
        summary=f"{supplier.name} {quarter.code} {METRIC_LABELS[metric]} {Recommendation(current.tier).label}"
        f"：{decision.get_status_display()}",
        changes={"metric": metric, "rate": str(current.rate), "tier": current.tier, "reason": reason},
    )
    if confirm:
        notify(
            organisations=list(Organisation.objects.filter(company=supplier)),
            kind="sanction",
            title=f"{region.name}医保局确认{Recommendation(current.tier).label}（{quarter.code} {batch.code}）",
            body=f"{METRIC_LABELS[metric]}：理由：{reason}",
            link=reverse("monitoring:credit_record", args=[supplier.code]),
        )
    return decision


def access_user(actor):
    """The User behind the actor (None for an API token: the audit row keeps the token)."""
    from django.contrib.auth import get_user_model

    return actor if isinstance(actor, get_user_model()) else None


def credit_supplier(actor, code: str) -> Company:
    """Admins and bureaus see any supplier's credit record; a company only its own; others 404."""
    return scorecard_supplier(actor, code)


def credit_record(actor, supplier: Company):
    """Confirmed sanctions of the supplier: a bureau sees those decided in its subtree or above it."""
    qs = SanctionDecision.objects.filter(supplier=supplier, status=SanctionDecision.Status.CONFIRMED)
    region = access.bureau_region(actor)
    if region is not None and not access.is_admin(actor):
        qs = qs.filter(Q(region__path__startswith=region.path) | Q(region__code__in=region.ancestor_codes()))
    return qs.select_related("batch", "region", "decided_by").order_by("-quarter", "batch__code", "metric")
