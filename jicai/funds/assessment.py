"""Assessment and retained savings (集采执行考核与结余留用, SPEC §12) for one batch agreement year.

Quantities are summed in SQL (agreed volumes per institution and item; accepted quantities per institution,
product, price and order day); the per-item rules (completion, share mode, exclusions of N) run in Python over
those grouped rows with the pure functions of funds.rules. A finalised result is a stored snapshot with its
inputs: `results` reads it instead of recomputing, so later orders do not change it."""

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from jicai.accounts import access
from jicai.agreements.models import AgreedVolume
from jicai.batches.models import AgreementYear, Item, ItemFactor, Substitute, Winner, supplies
from jicai.core import audit
from jicai.core.counts import capped_count
from jicai.core.errors import DomainError, NotFound
from jicai.funds import rules
from jicai.funds.models import (
    AssessmentResult,
    AssessmentRun,
    AssessmentRunRow,
    Exemption,
    ExemptionMode,
    ReferencePrice,
)
from jicai.funds.purchased import purchased
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Institution, Product
from jicai.trade.models import SupplyBlock

ONE = Decimal(1)
RATIO = Decimal("0.0001")


def _ratio(value: Decimal | None) -> float | None:
    return None if value is None else float(Decimal(value).quantize(RATIO, rounding=ROUND_HALF_UP))


def _number(value: Decimal) -> int | float:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass
class _ItemInput:
    agreed: int = 0
    winning: Decimal = Decimal(0)  # W in reference units
    non_winning: Decimal = Decimal(0)  # N counted
    left_out: Decimal = Decimal(0)  # N not counted (verified block, below the standard)


def get_year(batch_code: str, number: int) -> AgreementYear:
    year = AgreementYear.objects.select_related("batch").filter(batch__code=batch_code, number=number).first()
    if year is None:
        raise NotFound(f"未找到批次 {batch_code} 的第 {number} 协议年度")
    return year


def _exemption_for(exemptions: list[Exemption], institution: Institution, item_id: int) -> Exemption | None:
    """The institution's own exemption beats a region's; among regions the nearest one."""
    best, best_depth = None, -1
    for e in exemptions:
        if e.item_id != item_id:
            continue
        if e.institution_id == institution.pk:
            return e
        if (
            e.region_id
            and institution.region.path.startswith(e.region.path)
            and len(e.region.path) > best_depth
        ):
            best, best_depth = e, len(e.region.path)
    return best


def _purchases(kind: str, by_day: bool, inst_ids: list[int], start, end, product_ids: list[int]):
    """(institution, product, unit_price, ordered_on or None, qty) rows of `purchased`."""
    if not inst_ids:
        return []
    if by_day:
        fields = ("institution", "product", "unit_price", "ordered_on")
        return purchased(kind, fields, inst_ids, start, end, product_id__in=product_ids)
    fields = ("institution", "product", "unit_price")
    return (
        (inst, product, price, None, qty)
        for inst, product, price, qty in purchased(
            kind, fields, inst_ids, start, end, product_id__in=product_ids
        )
    )


def compute(year: AgreementYear, institutions, as_of: dt.date, *, detail: bool = True) -> list[dict]:
    """The assessment of each given institution with agreed volumes in `year`, as of `as_of`. Without
    `detail` the rows carry the figures only (score, grade, retention, saving base, retained) and empty
    `items`/`inputs`: what the ranking needs, for a province's million (institution, item) pairs.

    Set-based: the quantities come from grouped queries (agreed per institution and item; purchases per
    institution, product and price), the institutions' items are grouped once (not searched per
    institution), policies are resolved once per region and exemptions looked up per item."""
    batch = year.batch
    end = min(year.end, as_of)
    agreed_rows = list(
        AgreedVolume.objects.filter(agreement_year=year, institution__in=institutions)
        .values("institution_id", "item_id")
        .annotate(agreed=Sum("agreed_qty"))
        .order_by()
    )
    if not agreed_rows:
        return []
    inst_ids = {r["institution_id"] for r in agreed_rows}
    insts = Institution.objects.select_related("region").in_bulk(inst_ids)
    items = Item.objects.in_bulk({r["item_id"] for r in agreed_rows})
    item_ids = list(items)
    winners = list(
        Winner.objects.filter(item_id__in=item_ids).values_list(
            "item_id", "product_id", "province__code", "role", "winning_price"
        )
    )
    factors = {
        (i, p): f
        for i, p, f in ItemFactor.objects.filter(item_id__in=item_ids).values_list(
            "item_id", "product_id", "factor"
        )
    }
    roles = {(i, p, prov): role for i, p, prov, role, _ in winners}
    per_unit = {
        (i, prov): rules.reference_standard(price, factors.get((i, p), ONE))
        for i, p, prov, role, price in winners
        if role == "main"
    }
    references = {
        (i, prov): price
        for i, prov, price in ReferencePrice.objects.filter(item_id__in=item_ids).values_list(
            "item_id", "province__code", "reference_price"
        )
    }
    # Which item of this batch a product counts for: same generic name and form group, or a listed substitute.
    by_name = {(it.generic_name, it.dosage_form_group): it.pk for it in items.values()}
    product_item: dict[int, int] = {}
    # Two IN lists, then the exact pairs here (one OR branch per pair makes a huge statement; see standards).
    for pk, generic, group in Product.objects.filter(
        generic_name__in={g for g, _f in by_name}, dosage_form_group__in={f for _g, f in by_name}
    ).values_list("pk", "generic_name", "dosage_form_group"):
        if (generic, group) in by_name:
            product_item[pk] = by_name[(generic, group)]
    substitutes = set()
    for item_id, product_id in Substitute.objects.filter(item_id__in=item_ids).values_list(
        "item_id", "product_id"
    ):
        product_item.setdefault(product_id, item_id)
        substitutes.add(product_id)
    blocks = defaultdict(list)
    for inst, item_id, created, lifted in SupplyBlock.objects.filter(
        institution_id__in=inst_ids, item_id__in=item_ids
    ).values_list("institution_id", "item_id", "created_at", "lifted_at"):
        blocks[(inst, item_id)].append(
            (timezone.localdate(created), timezone.localdate(lifted) if lifted else None)
        )
    resolver = PolicyResolver.load()
    policies = {}
    for institution in insts.values():
        if institution.region_id not in policies:
            policies[institution.region_id] = resolver.resolve(institution.region, batch)
    basis = {pk: policies[insts[pk].region_id].progress_basis for pk in inst_ids}
    # The order day matters only against a supply block: the institutions with one get their purchases
    # by day, the others by (product, price) alone — a province's year is then a few rows per volume
    # instead of one per order day.
    blocked_ids = {inst for inst, _item in blocks}
    purchases = (
        row
        for kind in set(basis.values())
        for by_day in (False, True)
        for row in _purchases(
            kind,
            by_day,
            [pk for pk in inst_ids if basis[pk] == kind and (pk in blocked_ids) == by_day],
            year.start,
            end,
            list(product_item),
        )
    )
    inputs: dict[tuple[int, int], _ItemInput] = defaultdict(_ItemInput)
    for r in agreed_rows:
        inputs[(r["institution_id"], r["item_id"])].agreed = int(r["agreed"])
    for inst_id, product_id, unit_price, ordered_on, qty in purchases:
        item_id = product_item[product_id]
        if (inst_id, item_id) not in inputs:
            continue
        province = insts[inst_id].region.province_code
        factor = factors.get((item_id, product_id), ONE)
        units = Decimal(qty) * factor
        row = inputs[(inst_id, item_id)]
        if supplies(roles.get((item_id, product_id, province))):
            row.winning += units  # main and backup suppliers alike count as W
            continue
        blocked = any(
            start <= ordered_on and (lifted is None or ordered_on < lifted)
            for start, lifted in blocks[(inst_id, item_id)]
        )
        standard = per_unit.get((item_id, province))
        below = standard is not None and unit_price < rules.product_standard(standard, factor)
        if blocked or below:
            row.left_out += units
        else:
            row.non_winning += units
    exemptions = defaultdict(list)
    for exemption in Exemption.objects.filter(agreement_year=year, item_id__in=item_ids).select_related(
        "region", "institution"
    ):
        exemptions[exemption.item_id].append(exemption)
    by_institution: dict[int, list[int]] = defaultdict(list)
    for inst_id, item_id in inputs:
        by_institution[inst_id].append(item_id)
    out = []
    for inst_id in sorted(inst_ids, key=lambda pk: insts[pk].code):
        institution = insts[inst_id]
        province = institution.region.province_code
        policy = policies[institution.region_id]
        weighted, savings, item_rows, item_inputs = [], [], [], []
        for item_id in sorted(by_institution[inst_id], key=lambda i: items[i].item_code):
            row = inputs[(inst_id, item_id)]
            exemption = _exemption_for(exemptions.get(item_id, ()), institution, item_id)
            mode = exemption.mode if exemption else None
            if mode == ExemptionMode.SHARE:
                whole_w, whole_n = row.winning, row.non_winning
                completion = (
                    min(ONE, whole_w / (whole_w + whole_n) / exemption.target_share)
                    if whole_w + whole_n > 0 and exemption.target_share
                    else Decimal(0)
                )
            else:
                completion = (
                    rules.item_completion(0, 0) if row.agreed <= 0 else min(ONE, row.winning / row.agreed)
                )
            price = per_unit.get((item_id, province), Decimal(0))
            reference = references.get((item_id, province))
            if mode != ExemptionMode.EXCLUDE:
                weighted.append((row.agreed * price, completion))
                if reference is not None:
                    savings.append(
                        rules.item_saving(row.agreed, reference, min(row.winning, Decimal(row.agreed)), price)
                    )
            if not detail:
                continue
            item_rows.append(
                {
                    "item": items[item_id].item_code,
                    "agreed": row.agreed,
                    "purchased": _number(row.winning),
                    "completion": _ratio(completion),
                    "exempt": mode,
                }
            )
            item_inputs.append(
                {
                    "item": items[item_id].item_code,
                    "agreed": row.agreed,
                    "winning_purchased": str(row.winning),
                    "non_winning_counted": str(row.non_winning),
                    "non_winning_left_out": str(row.left_out),
                    "winning_price_per_unit": str(price),
                    "reference_price": str(reference) if reference is not None else None,
                    "exemption": (
                        {
                            "mode": exemption.mode,
                            "target_share": str(exemption.target_share) if exemption.target_share else None,
                            "scope": exemption.institution.code
                            if exemption.institution_id
                            else exemption.region.code,
                            "reason": exemption.reason,
                        }
                        if exemption
                        else None
                    ),
                }
            )
        score = rules.assessment_score(weighted)
        grade = rules.grade_for(score, policy.assessment_grades)
        base = rules.saving_base(savings, policy.fund_payment_ratio)
        retained = rules.retained_saving(base, grade.retention)
        out.append(
            {
                "institution": institution.code,
                "institution_id": inst_id,
                "institution_name": institution.name,
                "score": score,
                "grade": grade.grade,
                "retention_rate": grade.retention,
                "saving_base": base,
                "retained": retained,
                "items": item_rows,
                "inputs": {}
                if not detail
                else {
                    "as_of": as_of.isoformat(),
                    "fund_payment_ratio": str(policy.fund_payment_ratio),
                    "assessment_grades": [
                        {"grade": g.grade, "min_score": str(g.min_score), "retention": str(g.retention)}
                        for g in policy.assessment_grades
                    ],
                    "items": item_inputs,
                },
            }
        )
    return out


def _from_snapshot(result: AssessmentResult) -> dict:
    return {
        "institution": result.institution.code,
        "institution_id": result.institution_id,
        "institution_name": result.institution.name,
        "score": result.score,
        "grade": result.grade,
        "retention_rate": result.retention_rate,
        "saving_base": result.saving_base,
        "retained": result.retained,
        "items": result.items,
        "inputs": result.inputs,
        "finalised": True,
    }


def latest_run(year: AgreementYear, as_of: dt.date | None = None) -> AssessmentRun | None:
    """The newest stored run of `year` (for `as_of` when given)."""
    runs = AssessmentRun.objects.filter(agreement_year=year)
    if as_of is not None:
        runs = runs.filter(as_of=as_of)
    return runs.order_by("-computed_at", "-id").first()


# The figures of one institution's result that a stored run row and a finalised result both keep.
FIGURES = ("score", "grade", "retention_rate", "saving_base", "retained")


def figures(row: dict) -> dict:
    return {name: row[name] for name in FIGURES}


def store(year: AgreementYear, as_of: dt.date) -> AssessmentRun:
    """Compute every institution of `year` as of `as_of` and store it as the run for that date, replacing
    older runs of the same date in one transaction (readers see the old run or the new one, never a mix)."""
    started = time.perf_counter()
    rows = compute(year, Institution.objects.all(), as_of, detail=False)
    seconds = time.perf_counter() - started
    with transaction.atomic():
        AssessmentRun.objects.filter(agreement_year=year, as_of=as_of).delete()
        run = AssessmentRun.objects.create(
            agreement_year=year, as_of=as_of, seconds=round(seconds, 3), institutions=len(rows)
        )
        AssessmentRunRow.objects.bulk_create(
            (AssessmentRunRow(run=run, institution_id=r["institution_id"], **figures(r)) for r in rows),
            batch_size=2000,
        )
    return run


def _from_run(run: AssessmentRun, institutions) -> list[dict]:
    return [
        {
            "institution": code,
            "institution_id": inst_id,
            "institution_name": name,
            "score": score,
            "grade": grade,
            "retention_rate": retention,
            "saving_base": base,
            "retained": retained,
            "items": [],
            "inputs": {},
            "finalised": False,
            "stored_at": run.computed_at,
        }
        for inst_id, code, name, score, grade, retention, base, retained in run.rows.filter(
            institution__in=institutions
        ).values_list(
            "institution_id",
            "institution__code",
            "institution__name",
            "score",
            "grade",
            "retention_rate",
            "saving_base",
            "retained",
        )
    ]


def run_ranking(year: AgreementYear, run: AssessmentRun, institutions):
    """The ranking of a stored run as a queryset ordered and numbered in SQL (`rank` by score, then code), so
    a page reads its 20 rows, not the province's 10,000; None when some institution of the scope has a
    finalised snapshot for the year (those rows are merged in Python by `results`). `ranking_rows` turns a
    page of it into the rows of `results`."""
    if AssessmentResult.objects.filter(agreement_year=year, institution__in=institutions).exists():
        return None
    order = [F("score").desc(), F("institution__code").asc()]
    return (
        run.rows.filter(institution__in=institutions)
        .annotate(rank=Window(RowNumber(), order_by=order))
        .values(
            "rank",
            "institution_id",
            "institution__code",
            "institution__name",
            "score",
            "grade",
            "retention_rate",
            "saving_base",
            "retained",
        )
        .order_by(*order)
    )


def ranking_rows(run: AssessmentRun, rows: list[dict]) -> None:
    """In place: a page of `run_ranking` in the shape of `results` rows."""
    for r in rows:
        r["institution"] = r.pop("institution__code")
        r["institution_name"] = r.pop("institution__name")
        r.update(items=[], inputs={}, finalised=False, stored_at=run.computed_at)


def results(
    year: AgreementYear, institutions, as_of: dt.date, *, run: AssessmentRun | None = None
) -> list[dict]:
    """Finalised snapshots where they exist, the others from the stored `run` when given (its figures as of
    its date, `stored_at` set, no item rows) or else a fresh computation; ranked by score."""
    frozen = {
        r.institution_id: _from_snapshot(r)
        for r in AssessmentResult.objects.filter(
            agreement_year=year, institution__in=institutions
        ).select_related("institution")
    }
    if run is not None:
        live = [r for r in _from_run(run, institutions) if r["institution_id"] not in frozen]
    else:
        live = [
            dict(r, finalised=False) for r in compute(year, institutions.exclude(pk__in=list(frozen)), as_of)
        ]
    rows = list(frozen.values()) + live
    rows.sort(key=lambda r: (-r["score"], r["institution"]))
    return rows


# A ranking page computes live (no stored run for the date) only for a scope of at most this many
# institutions. Measured at medium scale (2025-08-31): `store` took 4.0 s for 1,000 institutions, about
# 4 ms each, so 100 stay under half a second; a city or a province takes seconds to minutes and reads stored
# runs only (`jicai assess --store`), the page saying so.
LIVE_LIMIT = 100


def live_allowed(institutions) -> bool:
    return capped_count(institutions, LIVE_LIMIT)[1]  # exact: at most LIVE_LIMIT


def finalised_results(year: AgreementYear, institutions) -> list[dict]:
    """The finalised snapshots of the scope alone, ranked by score (no live computation)."""
    rows = [
        _from_snapshot(r)
        for r in AssessmentResult.objects.filter(
            agreement_year=year, institution__in=institutions
        ).select_related("institution")
    ]
    rows.sort(key=lambda r: (-r["score"], r["institution"]))
    return rows


def store_command(year: AgreementYear, as_of: dt.date) -> str:
    return f"jicai assess --batch {year.batch.code} --year {year.number} --as-of {as_of.isoformat()} --store"


def result_json(row: dict) -> dict:
    """One institution in the SPEC §10 `jicai assess` shape (numbers as JSON numbers)."""
    return {
        "institution": row["institution"],
        "score": float(row["score"]),
        "grade": row["grade"],
        "retention_rate": _ratio(row["retention_rate"]),
        "saving_base": float(row["saving_base"]),
        "retained": float(row["retained"]),
        "items": row["items"],
    }


# ---- scoped reads and the finalisation action ---------------------------------------------------


def assessable_institutions(actor):
    """Institution: itself; bureau: its subtree; admin: all; suppliers: nothing (404)."""
    if access.is_admin(actor):
        return Institution.objects.all()
    if access.is_bureau(actor):
        return Institution.objects.filter(access.region_subtree_q(actor.organisation.region))
    institution = access.institution_of(actor)
    if institution is not None:
        return Institution.objects.filter(pk=institution.pk)
    raise NotFound("未找到该记录，或您无权查看")


def finalise(*, actor, year: AgreementYear, as_of: dt.date | None = None) -> list[AssessmentResult]:
    """Freeze the assessment of every institution of the bureau's subtree for `year` (after the year ended).
    Refused, with nothing written, if any of them was finalised before."""
    if not (access.is_bureau(actor) or access.is_admin(actor)):
        raise NotFound("未找到该记录，或您无权查看")
    as_of = as_of or timezone.localdate()
    if as_of <= year.end:
        raise DomainError(f"协议年度 {year.end} 结束后才能定稿考核结果")
    institutions = assessable_institutions(actor)
    if AssessmentResult.objects.filter(agreement_year=year, institution__in=institutions).exists():
        raise DomainError("该协议年度的考核结果已定稿，不能重复定稿", code="already_finalised")
    rows = compute(year, institutions, as_of)
    if not rows:
        raise DomainError("辖区内没有该协议年度的约定采购量，无需考核")
    user = audit._user(actor)
    try:
        with transaction.atomic():
            created = AssessmentResult.objects.bulk_create(
                [
                    AssessmentResult(
                        agreement_year=year,
                        institution_id=r["institution_id"],
                        **figures(r),
                        items=r["items"],
                        inputs=r["inputs"],
                        as_of=as_of,
                        finalised_by=user,
                    )
                    for r in rows
                ]
            )
            audit.record(
                actor=actor,
                action="funds.finalise_assessment",
                object_type="batches.agreementyear",
                object_id=year.pk,
                summary=f"{year.batch.code} 第{year.number}协议年度考核定稿：{len(created)} 家机构",
                changes={"institutions": len(created), "as_of": as_of.isoformat()},
            )
    except IntegrityError:
        # Another bureau (a parent or child region) finalised some of them at the same moment.
        raise DomainError("该协议年度的考核结果已定稿，不能重复定稿", code="already_finalised") from None
    return created
