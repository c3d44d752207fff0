"""Year-end forecast (SPEC §13) for readers: the projected completion at E of the stored progress facts.

The facts store only quantities (purchased(W) to D and over the run-rate window); the projection also needs
the run's dates (window length, E − D) and the policy of the institution's region and batch
(forecast_window_days, progress_tolerance), which are applied here per (region, agreement year, as_of)
group with policy.rules — the very functions the engine's FORECAST_SHORTFALL condition mirrors. A region's
projection is the sum of its groups' projections (the formula is linear in the quantities), so a page is
one grouped query over the facts plus a few look-ups, whatever the size of the region.

Only items with an agreed volume are forecast: without one there is nothing to complete.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import Count, F, Q, Sum

from jicai.batches.models import AgreementYear
from jicai.monitoring import queries as monitoring_queries
from jicai.monitoring.models import Alert, AlertType
from jicai.policy import rules
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Institution, Region

QTY_QUANTUM = Decimal("0.0001")
RATE_QUANTUM = Decimal("0.000001")
LIVE = ("open", "explained", "resolved")


def _decimal(value: Fraction, quantum: Decimal) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum, rounding=ROUND_HALF_UP)


def _exact(value) -> Fraction:
    # SQLite returns decimal sums as floats: back to the 4 places the facts are stored with, then exact.
    return Fraction(Decimal(str(value or 0)).quantize(QTY_QUANTUM))


@dataclass
class ForecastRow:
    """One forecast: an institution's item, or a batch's items summed over a region."""

    code: str
    name: str
    batch_code: str
    year_number: int
    as_of: dt.date
    agreed: int
    purchased: Fraction
    projected_exact: Fraction
    window: rules.ForecastWindow
    time_progress: Decimal
    tolerance: Decimal
    shortfall: bool  # the item's FORECAST_SHORTFALL condition; a region row: any of its items' alerts
    shortfall_count: int = 0  # region rows: live FORECAST_SHORTFALL alerts of the batch in the region

    @property
    def projected(self) -> Decimal:
        return _decimal(self.projected_exact, QTY_QUANTUM)

    @property
    def purchased_display(self) -> str:
        return f"{_decimal(self.purchased, QTY_QUANTUM).normalize():f}"

    @property
    def projected_display(self) -> str:
        return f"{self.projected.normalize():f}"

    @property
    def completion(self) -> Decimal | None:
        return _decimal(self.purchased / self.agreed, RATE_QUANTUM) if self.agreed else None

    @property
    def projected_completion(self) -> Decimal | None:
        return _decimal(self.projected_exact / self.agreed, RATE_QUANTUM) if self.agreed else None

    @property
    def completion_pct(self) -> str:
        return _pct_text(self.completion)

    @property
    def projected_completion_pct(self) -> str:
        return _pct_text(self.projected_completion)

    @property
    def tolerance_pct(self) -> str:
        return _pct_text(self.tolerance)

    @property
    def plan_to_date(self) -> Decimal:
        """序时计划: the agreed volume × time progress, the bar PROGRESS_LAG measures completion against."""
        return (Decimal(self.agreed) * self.time_progress).quantize(QTY_QUANTUM, rounding=ROUND_HALF_UP)


class _Policies:
    """Window and tolerance per (institution region, agreement year, as_of), from one PolicyResolver and
    bulk look-ups of the regions and years involved."""

    def __init__(self, region_ids: set[int], year_ids: set[int]):
        self.regions = Region.objects.in_bulk(region_ids)
        self.years = AgreementYear.objects.select_related("batch").in_bulk(year_ids)
        self.resolver = PolicyResolver.load()
        self.cache: dict[tuple, tuple[rules.ForecastWindow, Decimal, Decimal]] = {}

    def get(
        self, region_id: int, year_id: int, as_of: dt.date
    ) -> tuple[rules.ForecastWindow, Decimal, Decimal]:
        """(forecast window, progress_tolerance, exact time progress) — the time progress recomputed from
        the dates rather than read from the facts, whose stored rounding differs between databases."""
        key = (region_id, year_id, as_of)
        if key not in self.cache:
            year = self.years[year_id]
            policy = self.resolver.resolve(self.regions[region_id], year.batch)
            window = rules.forecast_window(year.start, year.end, as_of, policy.forecast_window_days)
            tp = rules.time_progress(year.start, year.end, as_of)
            self.cache[key] = (window, policy.progress_tolerance, tp)
        return self.cache[key]


def _latest_years(rows: list[dict]) -> list[dict]:
    """Keep each batch's latest agreement year (a later year's facts replace an earlier year's)."""
    latest = {}
    for r in rows:
        batch = r["agreement_year__batch_id"]
        latest[batch] = max(latest.get(batch, 0), r["agreement_year__number"])
    return [r for r in rows if r["agreement_year__number"] == latest[r["agreement_year__batch_id"]]]


def item_forecasts(actor, institution: Institution) -> list[ForecastRow]:
    """Per item with an agreed volume in the latest agreement year of each batch, from the facts of the
    latest monitoring run visible to the actor. One query for the facts, a few for policy and years."""
    rows = _latest_years(
        list(
            monitoring_queries.visible_progress_facts(actor)
            .filter(institution=institution, agreed_qty__gt=0)
            .order_by("agreement_year__batch__code", "item__item_code")
            .values(
                "agreed_qty",
                "purchased_winning",
                "purchased_winning_window",
                "agreement_year_id",
                "agreement_year__number",
                "agreement_year__batch_id",
                "agreement_year__batch__code",
                "item__item_code",
                "item__generic_name",
                "item__dosage_form_group",
                as_of=F("dated__as_of"),
            )
        )
    )
    policies = _Policies({institution.region_id}, {r["agreement_year_id"] for r in rows})
    out = []
    for r in rows:
        window, tolerance, tp = policies.get(institution.region_id, r["agreement_year_id"], r["as_of"])
        purchased, in_window = _exact(r["purchased_winning"]), _exact(r["purchased_winning_window"])
        out.append(
            ForecastRow(
                code=r["item__item_code"],
                name=f"{r['item__generic_name']} {r['item__dosage_form_group']}",
                batch_code=r["agreement_year__batch__code"],
                year_number=r["agreement_year__number"],
                as_of=r["as_of"],
                agreed=r["agreed_qty"],
                purchased=purchased,
                projected_exact=rules.projected_purchased(purchased, in_window, window),
                window=window,
                time_progress=tp,
                tolerance=tolerance,
                shortfall=rules.forecast_shortfall(
                    agreed=r["agreed_qty"],
                    purchased=purchased,
                    window_purchased=in_window,
                    window=window,
                    tolerance=tolerance,
                ),
            )
        )
    return out


def batch_forecasts(actor, region: Region) -> list[ForecastRow]:
    """Per batch (latest agreement year), the region's items with an agreed volume summed: agreed,
    purchased, projected (Σ of each (institution region, year, as_of) group's projection) and the live
    FORECAST_SHORTFALL alerts. One grouped query over the facts, one over the alerts."""
    groups = _latest_years(
        list(
            monitoring_queries.visible_progress_facts(actor)
            .filter(institution__region__path__startswith=region.path, agreed_qty__gt=0)
            .order_by()
            .values(
                "institution__region_id",
                "agreement_year_id",
                "agreement_year__number",
                "agreement_year__batch_id",
                "agreement_year__batch__code",
                "agreement_year__batch__name",
                as_of=F("dated__as_of"),
            )
            .annotate(
                agreed=Sum("agreed_qty"),
                purchased=Sum("purchased_winning"),
                in_window=Sum("purchased_winning_window"),
            )
        )
    )
    policies = _Policies(
        {g["institution__region_id"] for g in groups}, {g["agreement_year_id"] for g in groups}
    )
    alerts = dict(
        Alert.objects.filter(
            Q(institution__region__path__startswith=region.path),
            type=AlertType.FORECAST_SHORTFALL,
            status__in=LIVE,
            agreement_year_id__in={g["agreement_year_id"] for g in groups},
        )
        .order_by()
        .values("agreement_year_id")
        .annotate(n=Count("id"))
        .values_list("agreement_year_id", "n")
    )
    by_batch: dict[int, ForecastRow] = {}
    for g in groups:
        window, tolerance, tp = policies.get(g["institution__region_id"], g["agreement_year_id"], g["as_of"])
        purchased, in_window = _exact(g["purchased"]), _exact(g["in_window"])
        projected = rules.projected_purchased(purchased, in_window, window)
        row = by_batch.get(g["agreement_year__batch_id"])
        if row is None:
            by_batch[g["agreement_year__batch_id"]] = ForecastRow(
                code=g["agreement_year__batch__code"],
                name=g["agreement_year__batch__name"],
                batch_code=g["agreement_year__batch__code"],
                year_number=g["agreement_year__number"],
                as_of=g["as_of"],
                agreed=int(g["agreed"] or 0),
                purchased=purchased,
                projected_exact=projected,
                window=window,
                time_progress=tp,
                # A region's bar is the province's default; regions with their own policy are
                # summed with their own windows above and judged by their own alerts.
                tolerance=tolerance,
                shortfall=False,
                shortfall_count=alerts.get(g["agreement_year_id"], 0),
            )
        else:
            row.agreed += int(g["agreed"] or 0)
            row.purchased += purchased
            row.projected_exact += projected
            row.as_of = max(row.as_of, g["as_of"])
            row.time_progress = max(row.time_progress, tp)
    rows = sorted(by_batch.values(), key=lambda r: r.batch_code)
    for row in rows:
        row.shortfall = row.shortfall_count > 0
    return rows


def _pct_text(value: Decimal | None) -> str:
    """85.3% for pages; 暂无数据 without an agreed volume (never 100 %)."""
    if value is None:
        return "暂无数据"
    return f"{(Decimal(value) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else float((value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def forecast_chart(rows: list[ForecastRow]) -> dict:
    """ECharts payload (static/web/charts.js, kind "forecast"): per row the completion to date (actual),
    the plan to date (time progress) and the projected completion at year end, in percent of the agreed
    volume, with the bar the projection must reach (progress_tolerance)."""
    return {
        "labels": [r.name if len(rows) <= 12 else r.code for r in rows],
        "actual": [_pct(r.completion) for r in rows],
        "plan": [_pct(r.time_progress) for r in rows],
        "projected": [_pct(r.projected_completion) for r in rows],
        "required": _pct(rows[0].tolerance) if rows else None,
    }
