"""Demand review after the cycle (SPEC §14, Henan 一). After an agreement year ends, per institution and
item: reported (approved demand reports of that batch and year), history, and purchased(W ∪ N) — every
product counted for the item, under the policy's progress_basis, converted by item_factor into the item's
reference units, over the year. An institution is listed for spot checks when it had history but reported
nothing, or when |purchased − reported| / reported > report_deviation_threshold."""

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, Sum
from django.utils import timezone

from jicai.accounts import access
from jicai.batches.models import AgreementYear, Batch, ItemFactor
from jicai.core.counts import capped_count
from jicai.core.errors import DomainError, NotFound
from jicai.policy.resolve import effective_policy
from jicai.registry.models import Institution

NOT_FOUND = "未找到该记录，或您无权查看"
FLAG_NO_REPORT = "有历史采购未报量"
FLAG_DEVIATION = "采购量与报量偏差超过阈值"
# Up to this many institutions the purchases are read for the listed institutions by id, beyond it for the
# actor's scope (a sub-query) narrowed to the listed items.
MAX_LISTED_INSTITUTIONS = 2000


def deviation(purchased: Decimal, reported: int) -> Decimal | None:
    """|purchased − reported| / reported, 4 places; None when nothing was reported."""
    if not reported:
        return None
    return (abs(purchased - reported) / reported).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def flag_list(no_report: bool, over_threshold: bool) -> list[str]:
    return [flag for flag, on in ((FLAG_NO_REPORT, no_report), (FLAG_DEVIATION, over_threshold)) if on]


@dataclass
class ReviewRow:
    institution: Institution
    item_code: str
    item_name: str
    history: int
    reported: int
    purchased: Decimal
    threshold: Decimal
    flags: list[str]

    @property
    def deviation(self) -> Decimal | None:
        return deviation(self.purchased, self.reported)

    @property
    def flag_text(self) -> str:
        return "；".join(self.flags)


def get_year(actor, batch_code: str, number) -> AgreementYear:
    if not (access.is_admin(actor) or access.is_bureau(actor)):
        raise NotFound(NOT_FOUND)
    batch = Batch.objects.filter(code=(batch_code or "").strip()).first()
    if batch is None:
        raise NotFound("未找到该批次")
    try:
        number = int(number or 1)
    except (TypeError, ValueError):
        raise DomainError("协议年度应为整数") from None
    year = AgreementYear.objects.filter(batch=batch, number=number).select_related("batch").first()
    if year is None:
        raise NotFound("未找到该协议年度")
    return year


def check_finished(year: AgreementYear, today: dt.date | None = None) -> None:
    today = today or timezone.localdate()
    if year.end >= today:
        raise DomainError(f"{year} 尚未结束（{year.end} 结束），结束后才能复核报量", code="year_not_finished")


def review(
    actor, year: AgreementYear, *, today: dt.date | None = None, flagged_only: bool = True
) -> list[ReviewRow]:
    """The review rows of the actor's institutions (bureau: its subtree; admin: all) for a finished year."""
    return review_rows(year, access.visible_institutions(actor), today=today, flagged_only=flagged_only)


def review_rows(
    year: AgreementYear, institutions, *, today: dt.date | None = None, flagged_only: bool = True
):
    from jicai.demand.models import DemandLine, ImportedHistory, ReportStatus
    from jicai.trade.models import OrderLine, Receipt

    check_finished(year, today)
    lines = (
        DemandLine.objects.filter(
            report__window__batch=year.batch,
            report__window__agreement_year=year.number,
            report__institution__in=institutions,
        )
        .values("report__institution_id", "item_id")
        .annotate(
            reported=Sum("reported_qty", filter=Q(report__status=ReportStatus.APPROVED)),
            history=Max("history_qty"),
        )
    )
    figures: dict[tuple[int, int], dict] = defaultdict(
        lambda: {"reported": 0, "history": 0, "purchased": Decimal(0)}
    )
    for r in lines:
        key = (r["report__institution_id"], r["item_id"])
        figures[key]["reported"] += r["reported"] or 0
        figures[key]["history"] = max(figures[key]["history"], r["history"] or 0)
    # The batch's items with an imported history first (one index probe per item): PostgreSQL assumes every
    # batch holds its share of the history table and read all of it (477,705 rows, 80–150 ms at province
    # scale) for a batch that has none.
    with_history = list(
        year.batch.items.filter(
            Exists(ImportedHistory.objects.filter(item_id=OuterRef("pk"), qty__gt=0))
        ).values_list("pk", flat=True)
    )
    if with_history:
        imported = ImportedHistory.objects.filter(
            item_id__in=with_history, institution__in=institutions, qty__gt=0
        )
        for inst, item, qty in imported.values_list("institution_id", "item_id", "qty"):
            figures[(inst, item)]["history"] = max(figures[(inst, item)]["history"], qty)
    # Only a pair with a demand line or a history can be flagged (no report with history, or a deviation
    # from what was reported), so the spot-check list totals the purchases of those pairs only: purchases
    # of the other pairs would make rows that are never shown. A year nobody reported for and without
    # imported history reads no purchases at all (it totalled the province's receipts of the year: 1.4 s).
    if flagged_only:
        wanted = set(figures)
        if not wanted:
            return []
        buyers = {inst for inst, _item in wanted}
        scope = buyers if len(buyers) <= MAX_LISTED_INSTITUTIONS else institutions
        item_filter = {"item_id__in": sorted({item for _inst, item in wanted})}
    else:
        wanted, scope, item_filter = None, institutions, {"item__batch": year.batch}
    policy_year = effective_policy(region=None, batch=year.batch)
    if policy_year.progress_basis == "received":
        purchases = (
            Receipt.objects.filter(
                **{f"line__{k}": v for k, v in item_filter.items()},
                line__institution__in=scope,
                line__ordered_on__gte=year.start,
                received_on__gte=year.start,
                received_on__lte=year.end,
            )
            .values("line__institution_id", "line__item_id", "line__product_id")
            .annotate(q=Sum("accepted_qty"))
        )
        keys = ("line__institution_id", "line__item_id", "line__product_id")
    else:
        purchases = (
            OrderLine.objects.filter(
                **item_filter,
                institution__in=scope,
                ordered_on__gte=year.start,
                ordered_on__lte=year.end,
            )
            .exclude(status="cancelled")
            .values("institution_id", "item_id", "product_id")
            .annotate(q=Sum("qty"))
        )
        keys = ("institution_id", "item_id", "product_id")
    factors = {(f.item_id, f.product_id): f.factor for f in ItemFactor.objects.filter(item__batch=year.batch)}
    for r in purchases:
        inst, item, product = (r[k] for k in keys)
        if wanted is not None and (inst, item) not in wanted:
            continue
        figures[(inst, item)]["purchased"] += Decimal(r["q"] or 0) * factors.get((item, product), Decimal(1))
    insts = Institution.objects.in_bulk({i for i, _ in figures})
    items = {i.pk: i for i in year.batch.items.all()}
    thresholds: dict[int, Decimal] = {}
    rows = []
    for (inst_id, item_id), f in figures.items():
        institution = insts[inst_id]
        if institution.region_id not in thresholds:
            thresholds[institution.region_id] = effective_policy(
                region=institution.region, batch=year.batch
            ).report_deviation_threshold
        threshold = thresholds[institution.region_id]
        row = ReviewRow(
            institution,
            items[item_id].item_code,
            f"{items[item_id].generic_name} {items[item_id].dosage_form_group}",
            f["history"],
            f["reported"],
            f["purchased"].quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            threshold,
            [],
        )
        row.flags = flag_list(
            row.history > 0 and not row.reported,
            bool(row.reported) and abs(f["purchased"] - row.reported) > threshold * row.reported,
        )
        if row.flags or not flagged_only:
            rows.append(row)
    rows.sort(key=lambda r: (r.institution.code, r.item_code))
    return rows


# ---- stored runs --------------------------------------------------------------------------------------

# A review page or API call computes live (no stored run of the year) only for a scope of at most this many
# institutions; a city or province reads the stored run (`jicai review --store`, 52.7 s at province scale
# live), the page saying when it was computed or naming the command.
LIVE_LIMIT = 100


def live_allowed(institutions) -> bool:
    return capped_count(institutions, LIVE_LIMIT)[1]  # exact: at most LIVE_LIMIT


def latest_run(year: AgreementYear):
    from jicai.compliance.models import ReviewRun

    return ReviewRun.objects.filter(agreement_year=year).order_by("-computed_at", "-id").first()


def store(year: AgreementYear, *, today: dt.date | None = None):
    """Compute the flagged rows of every institution of `year` with `review_rows` (the live list's own
    function, so stored and live cannot differ in definition) and store them as the year's run, replacing
    the older run in one transaction (readers see the old run or the new one, never a mix)."""
    from jicai.compliance.models import ReviewRun, ReviewRunRow

    started = time.perf_counter()
    rows = review_rows(year, Institution.objects.all(), today=today)
    regions = dict(Institution.objects.values_list("pk", "region__path"))
    seconds = time.perf_counter() - started
    with transaction.atomic():
        ReviewRun.objects.filter(agreement_year=year).delete()
        run = ReviewRun.objects.create(agreement_year=year, seconds=round(seconds, 3), rows_count=len(rows))
        ReviewRunRow.objects.bulk_create(
            (
                ReviewRunRow(
                    run=run,
                    institution_id=r.institution.pk,
                    institution_code=r.institution.code,
                    region_path=regions[r.institution.pk],
                    item_code=r.item_code,
                    item_name=r.item_name,
                    history=r.history,
                    reported=r.reported,
                    purchased=r.purchased,
                    threshold_text=str(r.threshold),
                    no_report=FLAG_NO_REPORT in r.flags,
                    over_threshold=FLAG_DEVIATION in r.flags,
                )
                for r in rows
            ),
            batch_size=2000,
        )
    return run


def store_missing(today: dt.date) -> list:
    """Store the run of every agreement year that ended before `today` and has none (`jicai monitor` of the
    whole database calls it daily, so a year's list is computed once, the day after it ends; a later change
    of its figures shows only after `jicai review --store`, the page showing when its run was computed)."""
    from jicai.compliance.models import ReviewRun

    years = (
        AgreementYear.objects.filter(end__lt=today)
        .exclude(pk__in=ReviewRun.objects.values("agreement_year_id"))
        .select_related("batch")
        .order_by("end", "batch__code", "number")
    )
    return [store(year, today=today) for year in years]


def run_rows(actor, run, q: str = ""):
    """The stored run's rows the actor may see (bureau: its subtree by region path; admin: all), in the
    live list's order, as a queryset: the page reads its 50 rows and a capped count, not the whole list."""
    rows = run.rows.select_related("institution")
    if not access.is_admin(actor):
        if not access.is_bureau(actor):
            return rows.none()
        rows = rows.filter(region_path__startswith=actor.organisation.region.path)
    if q:
        rows = rows.filter(Q(institution_code__contains=q) | Q(institution__name__contains=q))
    return rows.order_by("institution_code", "item_code")


def store_command(year: AgreementYear) -> str:
    return f"jicai review --batch {year.batch.code} --year {year.number} --store"


def listing(actor, year: AgreementYear, *, q: str = "", today: dt.date | None = None):
    """What the page and API list: (rows — a queryset of the stored run or a list computed live —, the run
    or None, a note). The stored run when the year has one; else live for a scope of at most LIVE_LIMIT
    institutions; else nothing, the note naming the command that stores it."""
    run = latest_run(year)
    if run is not None:
        return run_rows(actor, run, q), run, ""
    check_finished(year, today)
    institutions = access.visible_institutions(actor)
    if not live_allowed(institutions):
        return [], None, f"范围内机构超过 {LIVE_LIMIT} 家，请先运行 {store_command(year)} 计算并存储抽查名单"
    rows = review(actor, year, today=today)
    if q:
        rows = [r for r in rows if q in r.institution.code or q in r.institution.name]
    return rows, None, ""
