"""Writes and reads of the hospital substitute catalogue and its quarterly limits (SPEC §11): seeding the
catalogue from the batch's substitute list, adding/removing with a reason, quarter-end proposals of limits
and suspensions, the pharmacy's confirm/edit/dismiss, and the check a platform order must pass. Every
write is audited; the prompt cache is refreshed through the models' signals."""

import datetime as dt
from decimal import ROUND_FLOOR, Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from jicai.accounts import access
from jicai.batches.models import Item, Substitute
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound
from jicai.hospital.queries import quarter_bounds, quota_rows
from jicai.hospital.rules import add_months
from jicai.policy.resolve import PolicyResolver
from jicai.prescribing.models import CatalogueEntry, LimitStatus, SubstituteLimit
from jicai.prescribing.rule import quarter_of
from jicai.registry.models import Institution, Product
from jicai.trade.models import LineStatus, OrderLine, UsageLine

NOT_FOUND = "未找到该记录，或您无权查看"


def require_pharmacy(actor) -> Institution:
    """The institution whose pharmacy the actor is (institution staff or its API token); 404 otherwise."""
    institution = access.institution_of(actor)
    if institution is None or not access.is_pharmacy(actor):
        raise NotFound(NOT_FOUND)
    return institution


def next_quarter(quarter: str) -> str:
    start, _end = quarter_bounds(quarter)
    return quarter_of(add_months(start, 3))


def items_of(institution: Institution):
    """Items of the institution's agreed volumes (the ones a catalogue is kept for)."""
    return Item.objects.filter(agreed_volumes__institution=institution).distinct()


@transaction.atomic
def seed(institution: Institution) -> int:
    """Start the catalogue of every item of the institution from the batch's substitute list (items that
    already have entries are left alone). Returns the number of entries created."""
    have = set(CatalogueEntry.objects.filter(institution=institution).values_list("item_id", flat=True))
    rows = [
        CatalogueEntry(institution=institution, item_id=item_id, product_id=product_id, from_batch=True)
        for item_id, product_id in Substitute.objects.filter(item__in=items_of(institution)).values_list(
            "item_id", "product_id"
        )
        if item_id not in have
    ]
    CatalogueEntry.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        from jicai.prescribing.cache import bump

        bump()
    return len(rows)


def entries(actor):
    institution = require_pharmacy(actor)
    seed(institution)
    return CatalogueEntry.objects.filter(institution=institution).select_related(
        "item", "product", "product__manufacturer"
    )


@transaction.atomic
def set_entry(*, actor, item_code: str, product_code: str, active: bool, reason: str) -> CatalogueEntry:
    """Add (active) or remove a substitute of an item of the actor's hospital; a reason is required."""
    institution = require_pharmacy(actor)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("增加或移除可替代药品须填写原因", code="reason_required")
    item = items_of(institution).filter(item_code=item_code).order_by("-batch__cycle_start").first()
    if item is None:
        raise NotFound(NOT_FOUND)
    product = Product.objects.filter(code=product_code).first()
    if product is None:
        raise DomainError(f"未知的产品编码：{product_code}", code="unknown_product")
    seed(institution)
    entry, created = CatalogueEntry.objects.get_or_create(
        institution=institution, item=item, product=product, defaults={"active": active, "reason": reason}
    )
    if not created:
        if entry.active == active:
            raise DomainError("该药品已在目录中" if active else "该药品不在目录中", code="unchanged")
        entry.active, entry.reason = active, reason
        entry.save(update_fields=["active", "reason", "changed_at"])
    elif not active:
        raise DomainError("该药品不在目录中", code="unchanged")
    audit.record(
        actor=actor,
        action="prescribing.catalogue_add" if active else "prescribing.catalogue_remove",
        obj=entry,
        summary=f"{'加入' if active else '移出'}可替代药品目录：{item.item_code} {product.code}（{reason}）",
        changes={"item": item.item_code, "product": product.code, "active": active, "reason": reason},
    )
    return entry


# ---- quarter-end proposals --------------------------------------------------------------------------


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@transaction.atomic
def propose(*, actor, institution: Institution, quarter: str) -> list[SubstituteLimit]:
    """At the end of `quarter`, for every item whose institution completion is below time progress
    (used(W, S, E) < plan(E)), propose for each catalogue substitute a limit for the next quarter = its use
    in the same quarter last year × (1 − substitute_limit_cut), rounded down, and suspension when
    completion is below half of time progress. Confirmed or dismissed rows are left as decided."""
    start, end = quarter_bounds(quarter)
    target_quarter = next_quarter(quarter)
    seed(institution)
    resolver = PolicyResolver.load()
    created = []
    rows = [
        r
        for r in quota_rows(None, end, institution_code=institution.code)
        if r.department is None and r.target
    ]
    from jicai.agreements.models import AgreedVolume

    volumes = {
        v.pk: v
        for v in AgreedVolume.objects.filter(pk__in=[r.volume_id for r in rows]).select_related(
            "item__batch", "institution__region"
        )
    }
    ly_start, ly_end = dt.date(start.year - 1, start.month, 1), dt.date(end.year - 1, end.month, end.day)
    for row in rows:
        if row.used >= row.plan_to_date:
            continue
        volume = volumes[row.volume_id]
        suspend = row.used < row.plan_to_date / 2
        cut = resolver.resolve(volume.institution.region, volume.item.batch).substitute_limit_cut
        products = list(
            CatalogueEntry.objects.filter(institution=institution, item=volume.item, active=True).values_list(
                "product_id", flat=True
            )
        )
        last_year = dict(
            UsageLine.objects.filter(
                institution=institution, product_id__in=products, used_on__range=(ly_start, ly_end)
            )
            .values("product_id")
            .annotate(q=Sum("qty"))
            .values_list("product_id", "q")
        )
        for product_id in products:
            used_ly = int(last_year.get(product_id) or 0)
            proposed = _floor(Decimal(used_ly) * (Decimal(1) - Decimal(cut)))
            limit, made = SubstituteLimit.objects.get_or_create(
                institution=institution,
                product_id=product_id,
                quarter=target_quarter,
                defaults={
                    "item": volume.item,
                    "last_year_qty": used_ly,
                    "proposed_qty": proposed,
                    "proposed_suspend": suspend,
                },
            )
            if not made and limit.status == LimitStatus.PROPOSED:
                limit.item, limit.last_year_qty = volume.item, used_ly
                limit.proposed_qty, limit.proposed_suspend = proposed, suspend
                limit.save()
            created.append(limit)
    audit.record(
        actor=actor,
        action="prescribing.propose_limits",
        obj=institution,
        summary=f"{quarter} 季末可替代药品限量建议 {len(created)} 条（适用于 {target_quarter}）",
        changes={"quarter": quarter, "target_quarter": target_quarter, "rows": len(created)},
    )
    return created


def limits(actor):
    institution = require_pharmacy(actor)
    return SubstituteLimit.objects.filter(institution=institution).select_related(
        "item", "product", "product__manufacturer", "decided_by"
    )


def limit_for(actor, pk: int) -> SubstituteLimit:
    row = limits(actor).filter(pk=pk).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


@transaction.atomic
def decide(
    *, actor, pk: int, decision: str, limit_qty=None, suspended: bool | None = None, note: str = ""
) -> SubstituteLimit:
    """confirm (the proposal as is), edit (own limit / suspension) or dismiss one proposal (logged)."""
    row = limit_for(actor, pk)
    before = {"status": row.status, "limit_qty": row.limit_qty, "suspended": row.suspended}
    if decision == "confirm":
        row.limit_qty = None if row.proposed_suspend else row.proposed_qty
        row.suspended = row.proposed_suspend
        row.status = LimitStatus.CONFIRMED
    elif decision == "edit":
        suspended = bool(suspended)
        if not suspended:
            try:
                qty = int(str(limit_qty).strip())
            except (TypeError, ValueError):
                raise DomainError("限量应为不小于 0 的整数", code="invalid_limit") from None
            if qty < 0:
                raise DomainError("限量应为不小于 0 的整数", code="invalid_limit")
            row.limit_qty = qty
        else:
            row.limit_qty = None
        row.suspended = suspended
        row.status = LimitStatus.CONFIRMED
    elif decision == "dismiss":
        row.status = LimitStatus.DISMISSED
        row.limit_qty, row.suspended = None, False
    else:
        raise DomainError("操作应为 confirm、edit 或 dismiss", code="invalid_decision")
    row.note = (note or "").strip()
    row.decided_by = actor if getattr(actor, "pk", None) else None
    row.decided_at = timezone.now()
    row.save()
    audit.record(
        actor=actor,
        action=f"prescribing.limit_{decision}",
        obj=row,
        summary=f"{row.quarter} {row.product.code} 限量：{describe(row)}",
        changes={
            "before": before,
            "after": {"status": row.status, "limit_qty": row.limit_qty, "suspended": row.suspended},
        },
    )
    return row


def describe(row: SubstituteLimit) -> str:
    if row.status == LimitStatus.DISMISSED:
        return "不限量（建议已驳回）"
    if row.suspended:
        return "暂停"
    return f"限量 {row.limit_qty}"


# ---- enforcement -------------------------------------------------------------------------------------


def check_order(institution: Institution, lines: list[tuple[int, Product, int]], ordered_on: dt.date) -> None:
    """Refuse (DomainError, nothing written) a platform order that would take this quarter's purchases of
    a product over its confirmed limit, or any order of a suspended one. lines: (line no, product, qty)."""
    quarter = quarter_of(ordered_on)
    product_ids = {p.pk for _n, p, _q in lines}
    confirmed = {
        r.product_id: r
        for r in SubstituteLimit.objects.filter(
            institution=institution, quarter=quarter, status=LimitStatus.CONFIRMED, product_id__in=product_ids
        )
    }
    if not confirmed:
        return
    start, end = quarter_bounds(quarter)
    bought = dict(
        OrderLine.objects.filter(
            institution=institution, product_id__in=list(confirmed), ordered_on__range=(start, end)
        )
        .filter(~Q(status__in=[LineStatus.CANCELLED, LineStatus.REJECTED]))
        .values("product_id")
        .annotate(q=Sum("qty"))
        .values_list("product_id", "q")
    )
    wanted: dict[int, int] = {}
    for _n, product, qty in lines:
        wanted[product.pk] = wanted.get(product.pk, 0) + qty
    for n, product, _qty in lines:
        row = confirmed.get(product.pk)
        if row is None:
            continue
        if row.suspended:
            raise DomainError(
                f"第{n}行：本院已暂停采购可替代药品 {product.code}（{quarter}），不能下单",
                code="substitute_suspended",
            )
        used = int(bought.get(product.pk) or 0)
        if used + wanted[product.pk] > row.limit_qty:
            remaining = max(0, row.limit_qty - used)
            raise DomainError(
                f"第{n}行：可替代药品 {product.code} 本季度（{quarter}）限量 {row.limit_qty}，"
                f"已采购 {used}，剩余 {remaining}，本次 {wanted[product.pk]} 超出限量",
                code="substitute_limit",
                details=[
                    {
                        "product": product.code,
                        "quarter": quarter,
                        "limit": row.limit_qty,
                        "remaining": remaining,
                    }
                ],
            )


def limit_exceeded(as_of: dt.date, regions) -> list[dict]:
    """Confirmed limits of the quarter holding as_of (suspension = limit 0) that the institution's usage of
    the product from the quarter's start to as_of exceeds, for institutions in `regions` (region ids)."""
    quarter = quarter_of(as_of)
    start, _end = quarter_bounds(quarter)
    rows = list(
        SubstituteLimit.objects.filter(
            quarter=quarter, status=LimitStatus.CONFIRMED, institution__region_id__in=list(regions)
        ).values(
            "institution_id", "institution__region_id", "item_id", "product_id", "limit_qty", "suspended"
        )
    )
    if not rows:
        return []
    used = {
        (i, p): q
        for i, p, q in UsageLine.objects.filter(
            institution_id__in={r["institution_id"] for r in rows},
            product_id__in={r["product_id"] for r in rows},
            used_on__range=(start, as_of),
        )
        .values("institution_id", "product_id")
        .annotate(q=Sum("qty"))
        .values_list("institution_id", "product_id", "q")
    }
    found = []
    for r in rows:
        limit = 0 if r["suspended"] else r["limit_qty"]
        qty = int(used.get((r["institution_id"], r["product_id"])) or 0)
        if limit is not None and qty > limit:
            found.append(
                {
                    "institution_id": r["institution_id"], "region_id": r["institution__region_id"],
                    "item_id": r["item_id"], "product_id": r["product_id"], "used": qty, "limit": limit,
                }
            )  # fmt: skip
    return found
