"""The assessment as it was defined before the set-based rewrite (main at 7d18586, `assessment.compute`),
kept verbatim as the reference the fast path is compared with: it finds each institution's items by
scanning every (institution, item) pair and resolves the policy per institution, which made a province's
ranking quadratic (it did not finish in 600 s). Only the name changed."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from jicai.agreements.models import AgreedVolume
from jicai.batches.models import AgreementYear, Item, ItemFactor, Substitute, Winner, supplies
from jicai.funds import rules
from jicai.funds.assessment import ONE, _ItemInput, _number, _purchases, _ratio
from jicai.funds.models import Exemption, ExemptionMode, ReferencePrice
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Institution, Product
from jicai.trade.models import SupplyBlock


def _exemption_for(exemptions, institution, item_id):
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


def old_compute(year: AgreementYear, institutions, as_of: dt.date) -> list[dict]:
    """The assessment of each given institution with agreed volumes in `year`, as of `as_of`."""
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
    basis = {pk: resolver.resolve(insts[pk].region, batch).progress_basis for pk in inst_ids}
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
    exemptions = list(
        Exemption.objects.filter(agreement_year=year, item_id__in=item_ids).select_related("region")
    )
    out = []
    for inst_id in sorted(inst_ids, key=lambda pk: insts[pk].code):
        institution = insts[inst_id]
        province = institution.region.province_code
        policy = resolver.resolve(institution.region, batch)
        weighted, savings, item_rows, item_inputs = [], [], [], []
        for item_id in sorted((i for (n, i) in inputs if n == inst_id), key=lambda i: items[i].item_code):
            row = inputs[(inst_id, item_id)]
            exemption = _exemption_for(exemptions, institution, item_id)
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
                "inputs": {
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
