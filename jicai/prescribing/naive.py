"""The same prompt rule written the straightforward way: a handful of ORM queries per request instead of
the in-process cache. Kept as the baseline `bench/prompt.py` measures against (a server started with
JICAI_PROMPT_RULE=orm uses it) and as a cross-check of the cached rule in tests."""

import datetime as dt

from jicai.batches.models import SUPPLY_ROLES, Item, Substitute, Winner
from jicai.hospital.models import InterviewAction, InterviewRecord
from jicai.prescribing.cache import ROLE_ORDER, Alternative, ProductInfo
from jicai.prescribing.models import CatalogueEntry, LimitStatus, SubstituteLimit
from jicai.prescribing.rule import LIMITED, MESSAGE, NO_PROMPT, RESTRICTED, SUSPENDED, Decision, quarter_of
from jicai.registry.models import Institution, Product, Region


def decide_orm(institution_code: str, doctor_code: str, product_code: str, today: dt.date) -> Decision:
    inst = Institution.objects.select_related("region").filter(code=institution_code).first()
    product = Product.objects.select_related("manufacturer").filter(code=product_code).first()
    if inst is None or product is None:
        return NO_PROMPT
    province = Region.objects.filter(code=inst.region.path[:6]).first()
    winners = Winner.objects.filter(province=province, role__in=SUPPLY_ROLES)
    if winners.filter(product=product).exists():
        return NO_PROMPT
    item_id, substitute = None, False
    entry = CatalogueEntry.objects.filter(institution=inst, product=product, active=True).first()
    if entry is not None:
        item_id, substitute = entry.item_id, True
    else:
        for sub in Substitute.objects.filter(product=product).order_by("id"):
            if (
                not CatalogueEntry.objects.filter(institution=inst, item_id=sub.item_id).exists()
                and winners.filter(item_id=sub.item_id).exists()
            ):
                item_id, substitute = sub.item_id, True
                break
    if item_id is None:
        item = (
            Item.objects.filter(
                generic_name=product.generic_name,
                dosage_form_group=product.dosage_form_group,
                winners__in=winners,
            )
            .order_by("-batch__cycle_start", "id")
            .first()
        )
        item_id = item.pk if item else None
    if item_id is None:
        return NO_PROMPT
    alternatives = sorted(
        (
            Alternative(
                w.product.code,
                w.product.generic_name,
                w.product.spec,
                w.product.manufacturer.name,
                w.winning_price,
                w.role,
            )  # fmt: skip
            for w in winners.filter(item_id=item_id).select_related("product__manufacturer")
        ),
        key=lambda a: (ROLE_ORDER.get(a.role, 9), a.price, a.product),
    )
    info = ProductInfo(product.pk, product.code, product.generic_name, product.spec, product.manufacturer.name,
                       (product.generic_name, product.dosage_form_group))  # fmt: skip
    decision = Decision(
        level="warning", product=info, item_id=item_id, institution_id=inst.pk, message=MESSAGE,
        alternatives=alternatives,
    )  # fmt: skip
    quarter = quarter_of(today)
    if substitute:
        limit = SubstituteLimit.objects.filter(
            institution=inst, product=product, quarter=quarter, status=LimitStatus.CONFIRMED
        ).first()
        if limit is not None:
            decision.limit = {"quarter": quarter, "limit": limit.limit_qty, "suspended": limit.suspended}
            if limit.suspended:
                decision.level = "critical"
                decision.notes.append(SUSPENDED.format(quarter=quarter))
            elif limit.limit_qty is not None:
                decision.notes.append(LIMITED.format(quarter=quarter, limit=limit.limit_qty))
    if InterviewRecord.objects.filter(
        institution=inst, doctor__code=doctor_code, action=InterviewAction.RESTRICT
    ).exists():
        decision.level = "critical"
        decision.notes.append(RESTRICTED)
    return decision
