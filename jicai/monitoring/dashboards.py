"""Monitoring dashboards (SPEC §7): completion against time progress drilled down region → city → county →
institution → item, winning share, substitute trend, delivery rates by supplier and institution level,
alert counts by type. Everything except the substitute trend reads the STORED facts and alerts of the
latest monitoring run (ProgressFact, DeliveryFact, Alert), aggregated in SQL with the Region.path prefix,
so a page is a handful of grouped queries whatever the size of the province.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.db.models.functions import Substr, TruncMonth

from jicai.accounts import access
from jicai.accounts.models import Role
from jicai.batches.models import AgreementYear, Batch, ItemFactor, Substitute
from jicai.core.errors import NotFound
from jicai.monitoring.models import Alert, AlertStatus, AlertType, DeliveryFact, FactDate, ProgressFact
from jicai.policy.resolve import effective_policy
from jicai.registry.models import Institution, InstitutionLevel, Region
from jicai.trade.models import LineStatus, OrderLine, Receipt

RATE_QUANTUM = Decimal("0.000001")
QTY_QUANTUM = Decimal("0.0001")
NOT_FOUND = "未找到该记录，或您无权查看"
# Alerts that still describe a problem: closed ones no longer hold (SPEC §7).
LIVE_STATUSES = (AlertStatus.OPEN, AlertStatus.EXPLAINED, AlertStatus.RESOLVED)
LEVEL_ORDER = [value for value, _ in InstitutionLevel.choices]
LEVEL_LABELS = dict(InstitutionLevel.choices)


def ratio(numerator, denominator) -> Decimal | None:
    """numerator / denominator to 6 decimals (half up); None when the denominator is 0 (no data, never 100 %)."""
    if not denominator:
        return None
    return (Decimal(numerator or 0) / Decimal(denominator)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)


def pct(value: Decimal | None) -> str:
    """A rate for pages: "85.3%", or 暂无数据 when there is nothing to measure (never 100 %)."""
    if value is None:
        return "暂无数据"
    return f"{(Decimal(value) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def qty(value) -> Decimal:
    # SQLite returns decimal sums through floats; re-quantise to the 4 places the facts are stored with.
    return Decimal(value or 0).quantize(QTY_QUANTUM, rounding=ROUND_HALF_UP)


# ---- scope -----------------------------------------------------------------------------------------


def can_see_regions(actor) -> bool:
    return access.is_admin(actor) or access.is_bureau(actor)


def dashboard_region(actor, code: str) -> Region:
    """A region dashboard: admins any region, a bureau its subtree; everyone else 404."""
    if not can_see_regions(actor):
        raise NotFound(NOT_FOUND)
    return access.get_visible_or_404(access.visible_regions(actor), code=code)


def dashboard_institution(actor, code: str) -> Institution:
    """An institution's dashboard: admins, the bureaus above it, and the institution's own procurement
    users (not its doctors, not its consortium lead: "its own dashboard numbers only")."""
    if can_see_regions(actor):
        qs = access.visible_institutions(actor)
    elif access.institution_of(actor) is not None and actor.role == Role.INSTITUTION:
        qs = Institution.objects.filter(pk=access.institution_of(actor).pk)
    else:
        raise NotFound(NOT_FOUND)
    return access.get_visible_or_404(qs.select_related("region"), code=code)


def home_target(actor) -> tuple[str, str] | None:
    """Where /monitoring/dashboard/ sends the actor: ("region", code), ("institution", code) or None."""
    region = access.bureau_region(actor)
    if region is not None:
        return ("region", region.code)
    if access.is_admin(actor):
        province = Region.objects.filter(parent__isnull=True).order_by("code").first()
        return ("region", province.code) if province else None
    institution = access.institution_of(actor)
    if institution is not None and actor.role == Role.INSTITUTION:
        return ("institution", institution.code)
    return None


def alerts_in_region_q(region: Region) -> Q:
    """Alerts about institutions of the region's subtree; alerts naming no institution (a supplier's
    missing monthly report, a listing price above its cap) belong to their province's bureau."""
    return Q(institution__region__path__startswith=region.path) | Q(
        institution__isnull=True, province__path__startswith=region.path
    )


# ---- which facts ----------------------------------------------------------------------------------


@dataclass
class FactsYear:
    """The agreement year of a batch the latest stored run computed facts for, and that run's date."""

    batch: Batch
    agreement_year: AgreementYear | None
    as_of: dt.date | None

    @property
    def has_data(self) -> bool:
        return self.agreement_year is not None


def _fact_years(*, with_volume: bool) -> set[int]:
    """The agreement years that have progress facts (with an agreed volume > 0 if `with_volume`), read as a
    loose index scan: each step asks the index for the next year after the last one, so a few dozen index
    probes instead of a DISTINCT over every fact (0.33 s for a province's 1.6 M facts, on every dashboard
    and scorecard page). An EXISTS per year was worse: PostgreSQL expected a match early in a sequential
    scan and read the whole table for every year without facts."""
    table = connection.ops.quote_name(ProgressFact._meta.db_table)
    volume = " AND agreed_qty >= 1" if with_volume else ""  # the predicate of index progress_fact_volume
    sql = f"""
        WITH RECURSIVE years(id) AS (
            SELECT MIN(agreement_year_id) FROM {table} WHERE 1 = 1{volume}
            UNION ALL
            SELECT (SELECT MIN(agreement_year_id) FROM {table} WHERE agreement_year_id > years.id{volume})
            FROM years WHERE years.id IS NOT NULL
        )
        SELECT id FROM years WHERE id IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {row[0] for row in cursor.fetchall()}


def batches_with_facts() -> list[Batch]:
    """Batches with stored facts, those with agreed volumes first (the default choice should show data)."""
    with_facts = _fact_years(with_volume=False)
    with_volumes = set(
        AgreementYear.objects.filter(pk__in=_fact_years(with_volume=True)).values_list("batch_id", flat=True)
    )
    batches = list(
        Batch.objects.filter(agreement_years__in=with_facts).distinct().order_by("-cycle_start", "code")
    )
    return sorted(batches, key=lambda b: b.pk not in with_volumes)


def facts_year(batch: Batch) -> FactsYear:
    """The latest agreement year of the batch with stored facts (a run in year 2 leaves year 1's rows), and
    the latest date among its facts (the FactDate of an institution with facts of that year). Two queries
    of indexed look-ups, newest first, instead of sorting the year's facts joined to their dates."""
    year = (
        AgreementYear.objects.filter(batch=batch)
        .filter(Exists(ProgressFact.objects.filter(agreement_year=OuterRef("pk"))))
        .order_by("-number")
        .first()
    )
    if year is None:
        return FactsYear(batch, None, None)
    with_facts = ProgressFact.objects.filter(agreement_year=year, institution_id=OuterRef("institution_id"))
    as_of = (
        FactDate.objects.filter(agreement_year=year)
        .filter(Exists(with_facts))
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    return FactsYear(batch, year, as_of)


def choose_batch(batches: list[Batch], code: str) -> Batch | None:
    """The requested batch among those with facts, else the most recent one; an unknown code is a 404."""
    if code:
        for b in batches:
            if b.code == code:
                return b
        raise NotFound(NOT_FOUND)
    return batches[0] if batches else None


# ---- drill-down -----------------------------------------------------------------------------------


@dataclass
class ProgressRow:
    """One bar of the drill-down: a child region or an institution, with its sums over the facts."""

    kind: str  # "region" / "institution"
    code: str
    name: str
    agreed: int = 0
    purchased: Decimal = Decimal(0)  # winning products bought by pairs with agreed > 0
    winning: Decimal = Decimal(0)
    nonwinning: Decimal = Decimal(0)
    substitute: Decimal = Decimal(0)
    pairs: int = 0
    institutions: int = 0
    lagging: int = 0
    level: str = ""
    time_progress: Decimal | None = None

    @property
    def completion(self) -> Decimal | None:
        return ratio(self.purchased, self.agreed)

    @property
    def winning_share(self) -> Decimal | None:
        """W / (W + N): the share of the item's volume bought from winning products."""
        return ratio(self.winning, self.winning + self.nonwinning)

    @property
    def is_lagging(self) -> bool:
        return self.lagging > 0

    @property
    def completion_pct(self) -> str:
        return pct(self.completion)

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS.get(self.level, "")

    @property
    def winning_share_pct(self) -> str:
        return pct(self.winning_share)

    @property
    def time_progress_pct(self) -> str:
        return pct(self.time_progress)


_SUMS = dict(
    agreed_sum=Sum("agreed_qty", filter=Q(agreed_qty__gt=0)),
    purchased_sum=Sum("purchased_winning", filter=Q(agreed_qty__gt=0)),
    winning_sum=Sum("purchased_winning"),
    nonwinning_sum=Sum("purchased_nonwinning"),
    substitute_sum=Sum("purchased_substitute"),
    pair_count=Count("id"),
    institution_count=Count("institution", distinct=True),
    progress=Max("dated__time_progress"),
)


_INSTITUTION_SUMS = {k: v for k, v in _SUMS.items() if k not in ("institution_count", "progress")}
_QTY_SUMS = ("purchased_sum", "winning_sum", "nonwinning_sum", "substitute_sum")


def _child_sums(region: Region, agreement_year) -> dict[str, dict]:
    """_SUMS per child region (code "" for institutions placed in the region itself): the facts summed per
    institution in SQL, without joins, then added up per child in Python. Grouping a province's 1.57 M
    facts by the child's code joined every fact to its institution, region and date and, for the distinct
    institution count, sorted them all on disk (1.8–1.9 s of the 3.1 s dashboard). Per-institution sums
    carry the facts' 4 decimal places, so adding them up is exact."""
    institutions = Institution.objects.filter(region__path__startswith=region.path)
    start = len(region.path)
    child_of = {pk: path[start : start + 6] for pk, path in institutions.values_list("pk", "region__path")}
    progress_of = dict(
        FactDate.objects.filter(agreement_year=agreement_year, institution__in=institutions).values_list(
            "institution_id", "time_progress"
        )
    )
    rows = (
        ProgressFact.objects.filter(agreement_year=agreement_year, institution__in=institutions)
        .values("institution_id")
        .annotate(**_INSTITUTION_SUMS)
    )
    out: dict[str, dict] = {}
    for r in rows:
        sums = out.setdefault(
            child_of[r["institution_id"]],
            {
                "agreed_sum": 0,
                **dict.fromkeys(_QTY_SUMS, Decimal(0)),
                "pair_count": 0,
                "institution_count": 0,
                "progress": None,
            },
        )
        sums["agreed_sum"] += int(r["agreed_sum"] or 0)
        for key in _QTY_SUMS:
            sums[key] += qty(r[key])
        sums["pair_count"] += r["pair_count"]
        sums["institution_count"] += 1
        progress = progress_of.get(r["institution_id"])
        if progress is not None and (sums["progress"] is None or Decimal(progress) > sums["progress"]):
            sums["progress"] = Decimal(progress)
    return out


def _fill(row: ProgressRow, sums: dict) -> ProgressRow:
    row.agreed = int(sums["agreed_sum"] or 0)
    row.purchased = qty(sums["purchased_sum"])
    row.winning = qty(sums["winning_sum"])
    row.nonwinning = qty(sums["nonwinning_sum"])
    row.substitute = qty(sums["substitute_sum"])
    row.pairs = sums["pair_count"]
    row.institutions = sums["institution_count"]
    progress = sums["progress"]
    row.time_progress = (
        None if progress is None else Decimal(progress).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
    )
    return row


def _lagging_alerts(year: FactsYear):
    return Alert.objects.filter(
        type=AlertType.PROGRESS_LAG, agreement_year=year.agreement_year, status__in=LIVE_STATUSES
    )


@dataclass
class RegionBreakdown:
    region: Region
    year: FactsYear
    total: ProgressRow
    rows: list[ProgressRow] = field(default_factory=list)

    @property
    def time_progress(self) -> Decimal | None:
        return self.total.time_progress


def region_breakdown(region: Region, year: FactsYear) -> RegionBreakdown:
    """Sums per child region, plus one row per institution placed directly in the region (all of a
    county's institutions). Four grouped queries: children, direct institutions, and their lag counts."""
    total = ProgressRow("region", region.code, region.name)
    result = RegionBreakdown(region, year, total)
    if not year.has_data:
        return result
    facts = ProgressFact.objects.filter(
        agreement_year=year.agreement_year, institution__region__path__startswith=region.path
    )
    # The child's code is the 6 characters after the region's own path ("" for its direct institutions).
    child = Substr("institution__region__path", len(region.path) + 1, 6)
    by_child = _child_sums(region, year.agreement_year)
    lag_q = _lagging_alerts(year).filter(institution__region__path__startswith=region.path)
    lag_by_child = dict(
        lag_q.annotate(child=child).values("child").annotate(n=Count("id")).values_list("child", "n")
    )
    children = {r.code: r for r in Region.objects.filter(code__in=[c for c in by_child if c])}
    for code in sorted(c for c in by_child if c):
        ref = children.get(code)
        row = _fill(ProgressRow("region", code, ref.name if ref else code), by_child[code])
        row.lagging = lag_by_child.get(code, 0)
        result.rows.append(row)
    if "" in by_child:
        direct = (
            facts.filter(institution__region=region)
            .values("institution__code", "institution__name", "institution__level")
            .annotate(**_SUMS)
            .order_by("institution__code")
        )
        lag_by_inst = dict(
            lag_q.filter(institution__region=region)
            .values("institution__code")
            .annotate(n=Count("id"))
            .values_list("institution__code", "n")
        )
        for r in direct:
            row = _fill(ProgressRow("institution", r["institution__code"], r["institution__name"]), r)
            row.level = r["institution__level"]
            row.lagging = lag_by_inst.get(r["institution__code"], 0)
            result.rows.append(row)
    # The region's own total: the sums of its rows (no extra query).
    for row in result.rows:
        for name in (
            "agreed",
            "purchased",
            "winning",
            "nonwinning",
            "substitute",
            "pairs",
            "institutions",
            "lagging",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    progresses = [r.time_progress for r in result.rows if r.time_progress is not None]
    total.time_progress = max(progresses) if progresses else None
    return result


@dataclass
class ItemRow:
    fact: ProgressFact
    lagging: bool

    @property
    def winning_share(self) -> Decimal | None:
        f = self.fact
        return ratio(f.purchased_winning, f.purchased_winning + f.purchased_nonwinning)

    @property
    def completion_pct(self) -> str:
        return pct(self.fact.completion)

    @property
    def time_progress_pct(self) -> str:
        return pct(self.fact.time_progress)

    @property
    def winning_share_pct(self) -> str:
        return pct(self.winning_share)


def institution_items(institution: Institution, year: FactsYear) -> list[ItemRow]:
    """The institution's items for the agreement year, lagging ones first. Two queries."""
    if not year.has_data:
        return []
    facts = list(
        ProgressFact.objects.filter(institution=institution, agreement_year=year.agreement_year)
        .select_related("item", "dated")
        .order_by("item__item_code")
    )
    lagging = set(_lagging_alerts(year).filter(institution=institution).values_list("item_id", flat=True))
    rows = [ItemRow(f, f.item_id in lagging) for f in facts]
    rows.sort(key=lambda r: (not r.lagging, r.fact.item.item_code))
    return rows


# ---- winning share, delivery, alerts ------------------------------------------------------------------


@dataclass
class DeliveryRow:
    code: str
    name: str
    ordered: int = 0
    delivered: int = 0
    by_level: dict = field(default_factory=dict)  # level → (ordered, delivered)

    @property
    def rate(self) -> Decimal | None:
        return _capped(ratio(self.delivered, self.ordered))

    def level_rate(self, level: str) -> Decimal | None:
        ordered, delivered = self.by_level.get(level, (0, 0))
        return _capped(ratio(delivered, ordered))

    @property
    def rate_pct(self) -> str:
        return pct(self.rate)

    @property
    def level_pcts(self) -> list[str]:
        return [pct(self.level_rate(level)) for level in LEVEL_ORDER]


def _capped(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else min(rate, Decimal(1))


def delivery_by_supplier(
    year: FactsYear, *, region: Region | None = None, institution=None
) -> list[DeliveryRow]:
    """Σ delivered / Σ ordered of the stored delivery facts per supplier and institution level (供应不平衡);
    suppliers with the most ordered first. One grouped query."""
    if not year.has_data:
        return []
    qs = DeliveryFact.objects.filter(agreement_year=year.agreement_year)
    if region is not None:
        qs = qs.filter(institution__region__path__startswith=region.path)
    if institution is not None:
        qs = qs.filter(institution=institution)
    rows: dict[str, DeliveryRow] = {}
    grouped = qs.values("supplier__code", "supplier__name", "institution__level").annotate(
        o=Sum("ordered_qty"), d=Sum("delivered_qty")
    )
    for r in grouped:
        row = rows.setdefault(r["supplier__code"], DeliveryRow(r["supplier__code"], r["supplier__name"]))
        o, d = int(r["o"] or 0), int(r["d"] or 0)
        row.by_level[r["institution__level"]] = (o, d)
        row.ordered += o
        row.delivered += d
    return sorted(rows.values(), key=lambda r: (-r.ordered, r.code))


def alert_counts_by_month(q: Q, *, months: int = 12, until: dt.date) -> dict:
    """Alerts first seen per month and type over the `months` months up to `until`. One grouped query."""
    first = _add_months(dt.date(until.year, until.month, 1), -(months - 1))
    grouped = (
        Alert.objects.filter(q, first_seen_on__gte=first, first_seen_on__lte=until)
        .annotate(month=TruncMonth("first_seen_on"))
        .values("month", "type")
        .annotate(n=Count("id"))
    )
    labels = [_add_months(first, i) for i in range(months)]
    counts: dict[str, list[int]] = {}
    for r in grouped:
        month = r["month"].date() if isinstance(r["month"], dt.datetime) else r["month"]
        series = counts.setdefault(r["type"], [0] * months)
        series[labels.index(month)] += r["n"]
    type_labels = dict(AlertType.choices)
    return {
        "months": [m.strftime("%Y-%m") for m in labels],
        "series": [
            {"type": t, "name": type_labels[t], "values": counts[t]} for t in AlertType.values if t in counts
        ],
    }


def open_alert_counts(q: Q) -> list[tuple[str, str, int]]:
    """(type, label, count) of alerts that still hold, in the SPEC table's order. One grouped query."""
    counts = dict(
        Alert.objects.filter(q, status__in=LIVE_STATUSES)
        .values("type")
        .annotate(n=Count("id"))
        .values_list("type", "n")
    )
    return [(t, label, counts[t]) for t, label in AlertType.choices if t in counts]


def _add_months(day: dt.date, n: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


# ---- substitute trend ------------------------------------------------------------------------------


def substitute_trend(region: Region, year: FactsYear) -> dict:
    """Monthly purchases (Σ qty × item_factor, by the policy's progress basis) of the batch's substitute
    products in the region's subtree, for the agreement year up to the run's date and the same months one
    year earlier. Grouped by month and product in SQL (two queries per basis), factors applied per product."""
    empty = {"months": [], "this_year": [], "last_year": [], "basis": ""}
    if not year.has_data:
        return empty
    ay = year.agreement_year
    end = min(ay.end, year.as_of)
    first = dt.date(ay.start.year, ay.start.month, 1)
    months = []
    while first <= end:
        months.append(first)
        first = _add_months(first, 1)
    factor_rows = (
        ItemFactor.objects.filter(item__batch=year.batch, product__substitute_rows__item__batch=year.batch)
        .order_by("item_id")
        .values_list("product_id", "factor")
    )
    factors: dict[int, Decimal] = {}
    for product_id, factor in factor_rows:
        factors.setdefault(product_id, factor)
    products = Substitute.objects.filter(item__batch=year.batch).values("product")
    basis = effective_policy(region=region, batch=year.batch).progress_basis

    # One grouped query over both periods (last year's months then this year's): the lines of substitute
    # products are read once.
    def window(field: str) -> Q:
        return Q(**{f"{field}__gte": _years_back(ay.start), f"{field}__lte": _years_back(end)}) | Q(
            **{f"{field}__gte": ay.start, f"{field}__lte": end}
        )

    # An id subquery is cheaper for SQLite than joining every line to its institution and region.
    institutions = Institution.objects.filter(region__path__startswith=region.path).values("pk")
    if basis == "ordered":
        qs = (
            OrderLine.objects.filter(
                window("ordered_on"),
                product__in=products,
                institution__in=institutions,
            )
            .exclude(status=LineStatus.CANCELLED)
            .order_by()
            .annotate(month=TruncMonth("ordered_on"))
            .values("month", "product")
            .annotate(q=Sum("qty"))
            .values_list("month", "product", "q")
        )
    else:
        qs = (
            Receipt.objects.filter(
                window("received_on"),
                line__product__in=products,
                line__institution__in=institutions,
            )
            .order_by()
            .annotate(month=TruncMonth("received_on"))
            .values("month", "line__product")
            .annotate(q=Sum("accepted_qty"))
            .values_list("month", "line__product", "q")
        )
    this_year: dict[tuple[int, int], Decimal] = {}
    last_year: dict[tuple[int, int], Decimal] = {}
    for month, product_id, q in qs:
        month = month.date() if isinstance(month, dt.datetime) else month
        target = this_year if month >= dt.date(ay.start.year, ay.start.month, 1) else last_year
        key = (month.year, month.month)
        target[key] = target.get(key, Decimal(0)) + Decimal(q or 0) * factors.get(product_id, Decimal(1))

    return {
        "months": [m.strftime("%Y-%m") for m in months],
        "this_year": [qty(this_year.get((m.year, m.month))) for m in months],
        "last_year": [qty(last_year.get((m.year - 1, m.month))) for m in months],
        "basis": basis,
    }


def _years_back(day: dt.date, years: int = 1) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# ---- chart payloads (json_script → static/monitoring/dashboard.js) --------------------------------------


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else float((value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def drilldown_chart(breakdown: RegionBreakdown, urls: list[str]) -> dict:
    return {
        "labels": [r.name for r in breakdown.rows],
        "completion": [_pct(r.completion) for r in breakdown.rows],
        "urls": urls,
        "time_progress": _pct(breakdown.time_progress),
    }


def share_chart(breakdown: RegionBreakdown) -> dict:
    return {
        "labels": [r.name for r in breakdown.rows],
        "values": [_pct(r.winning_share) for r in breakdown.rows],
    }


def delivery_chart(rows: list[DeliveryRow], limit: int = 15) -> dict:
    top = rows[:limit]
    return {
        "labels": [r.name for r in top],
        "series": [
            {"name": LEVEL_LABELS[level], "values": [_pct(r.level_rate(level)) for r in top]}
            for level in LEVEL_ORDER
        ],
        "overall": [_pct(r.rate) for r in top],
    }


def trend_chart(trend: dict) -> dict:
    return {
        "labels": trend["months"],
        "this_year": [float(v) for v in trend["this_year"]],
        "last_year": [float(v) for v in trend["last_year"]],
    }


def items_chart(rows: list[ItemRow]) -> dict:
    facts = [r.fact for r in rows if r.fact.completion is not None]
    progress = facts[0].time_progress if facts else None
    return {
        "labels": [f.item.generic_name for f in facts],
        "completion": [_pct(f.completion) for f in facts],
        "urls": [],
        "time_progress": _pct(progress),
    }
