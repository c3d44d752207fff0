"""The one prompt rule of SPEC §11, shared by the CDS Hooks service and the plain JSON API. Pure: reads
only the in-process Snapshot, so it costs no database query."""

import datetime as dt
from dataclasses import dataclass, field

from jicai.prescribing.cache import Alternative, ProductInfo, Snapshot
from jicai.prescribing.models import OverrideReason

MESSAGE = "该药品有集中采购中选药品，请优先使用"
SUSPENDED = "本院已暂停使用该可替代药品（{quarter}）"
LIMITED = "本院对该可替代药品本季度（{quarter}）限量 {limit}"
RESTRICTED = "您的处方权已被限制，请使用中选药品"
REASONS = [{"code": c.value, "display": c.label} for c in OverrideReason]


def quarter_of(day: dt.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


@dataclass
class Decision:
    level: str  # "none" / "warning" / "critical"
    product: ProductInfo | None = None
    item_id: int | None = None
    institution_id: int | None = None
    message: str = ""
    alternatives: list[Alternative] = field(default_factory=list)
    limit: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def prompts(self) -> bool:
        return self.level != "none"


NO_PROMPT = Decision(level="none")


def decide(
    snap: Snapshot, institution_code: str, doctor_code: str, product_code: str, today: dt.date
) -> Decision:
    """Warning when the product is a non-winning product of an item with winners in the institution's
    province, or a substitute in the institution's catalogue; critical when that substitute is suspended
    this quarter or the doctor's prescribing is restricted. A winning or unknown product: no prompt."""
    inst = snap.institutions.get(institution_code)
    product = snap.products.get(product_code)
    if inst is None or product is None:
        return NO_PROMPT
    inst_id, province = inst
    if (province, product.id) in snap.winning:
        return NO_PROMPT
    item_id = None
    substitute = False
    own = snap.catalogue.get(inst_id, {})
    if product.id in own:
        item_id, substitute = own[product.id], True
    else:
        for candidate in snap.batch_substitutes.get(product.id, ()):
            if (inst_id, candidate) not in snap.catalogue_items and (province, candidate) in snap.winners:
                item_id, substitute = candidate, True
                break
    if item_id is None:
        item_id = next(
            (i for i in snap.items_by_group.get(product.group, ()) if (province, i) in snap.winners), None
        )
    if item_id is None or (province, item_id) not in snap.winners:
        return NO_PROMPT
    decision = Decision(
        level="warning",
        product=product,
        item_id=item_id,
        institution_id=inst_id,
        message=MESSAGE,
        alternatives=list(snap.winners[(province, item_id)]),
    )
    quarter = quarter_of(today)
    if substitute:
        limit = snap.limits.get((inst_id, product.id, quarter))
        if limit is not None:
            qty, suspended = limit
            decision.limit = {"quarter": quarter, "limit": qty, "suspended": suspended}
            if suspended:
                decision.level = "critical"
                decision.notes.append(SUSPENDED.format(quarter=quarter))
            elif qty is not None:
                decision.notes.append(LIMITED.format(quarter=quarter, limit=qty))
    if (inst_id, doctor_code) in snap.restricted:
        decision.level = "critical"
        decision.notes.append(RESTRICTED)
    return decision
