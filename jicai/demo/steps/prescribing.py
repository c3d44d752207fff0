"""Step: prescribing prompts and the substitute catalogue (SPEC §11) for the pharmacist's hospital — the
catalogue seeded from the batches' substitute lists, one substitute limited and one suspended for the
current quarter (confirmed by the pharmacy; both already used beyond it), and prompts of this quarter for a few doctors: some accepted,
some overridden with a reason, some never answered (so the interview list has explained and unexplained
use)."""

import datetime as dt
import uuid

from django.utils import timezone

from jicai.accounts.models import User
from jicai.agreements.models import AgreedVolume
from jicai.batches.models import SUPPLY_ROLES
from jicai.demo.context import DemoContext
from jicai.demo.steps.monitoring import monitoring_date
from jicai.hospital.queries import quarter_bounds
from jicai.prescribing import catalogue
from jicai.prescribing.models import CatalogueEntry, LimitStatus, OverrideReason, Prompt, SubstituteLimit
from jicai.prescribing.rule import quarter_of
from jicai.trade.models import UsageLine

PROMPT_DOCTORS = ("DR01", "DR02", "DR07")
REASONS = [r.value for r in OverrideReason if r != OverrideReason.OTHER]


def build_prescribing(ctx: DemoContext) -> None:
    as_of = monitoring_date(ctx)
    pharmacist = User.objects.filter(username="pharmacist").select_related("organisation").first()
    if as_of is None or pharmacist is None:
        return
    hospital = pharmacist.organisation.institution
    rng = ctx.rng
    seeded = catalogue.seed(hospital)
    quarter = quarter_of(as_of)
    entries = list(
        CatalogueEntry.objects.filter(institution=hospital, active=True).order_by("item_id", "product__code")[
            :2
        ]
    )
    now = timezone.now()
    for entry, suspended in zip(entries, (False, True), strict=False):
        SubstituteLimit.objects.create(
            institution=hospital, item=entry.item, product=entry.product, quarter=quarter,
            last_year_qty=0, proposed_qty=None if suspended else 20, proposed_suspend=suspended,
            limit_qty=None if suspended else 20, suspended=suspended, status=LimitStatus.CONFIRMED,
            note="演示：药事会确认", decided_by=pharmacist, decided_at=now,
        )  # fmt: skip
    # This quarter the limited substitute is already used beyond its limit and the suspended one a little
    # (both raise SUBSTITUTE_LIMIT_EXCEEDED in the monitoring step).
    UsageLine.objects.bulk_create(
        [
            UsageLine(
                institution=hospital,
                product=entry.product,
                department="D01",
                doctor_code="DR02",
                qty=qty,
                used_on=as_of,
            )  # fmt: skip
            for entry, qty in zip(entries, (35, 3), strict=False)
        ]
    )
    start, _end = quarter_bounds(quarter)
    days = max(1, (as_of - start).days + 1)
    item_ids = AgreedVolume.objects.filter(
        institution=hospital, agreement_year__start__lte=as_of
    ).values_list("item_id", flat=True)
    prompts, stamps = [], []
    for item_id in sorted(set(item_ids)):
        other = next((p for p in ctx.item_products.get(item_id, []) if p.demo_role not in SUPPLY_ROLES), None)
        if other is None:
            continue
        for doctor in PROMPT_DOCTORS:
            for _ in range(3):
                roll = rng.random()
                outcome = "accepted" if roll < 0.4 else ("overridden" if roll < 0.8 else "")
                reason = rng.choice(REASONS) if outcome == "overridden" else ""
                at = dt.datetime.combine(
                    start + dt.timedelta(days=rng.randrange(days)), dt.time(9 + rng.randrange(8))
                )
                prompts.append(
                    Prompt(
                        uuid=uuid.UUID(int=rng.getrandbits(128), version=4), institution=hospital,
                        doctor_code=doctor, product=other, item_id=item_id, qty=rng.randrange(14, 60),
                        level="warning", source=rng.choice(["cds", "json"]), hook="order-sign",
                        outcome=outcome, reason=reason,
                    )
                )  # fmt: skip
                stamps.append(timezone.make_aware(at))
    Prompt.objects.bulk_create(prompts)
    for prompt, at in zip(Prompt.objects.filter(institution=hospital).order_by("id"), stamps, strict=True):
        Prompt.objects.filter(pk=prompt.pk).update(created_at=at, outcome_at=at if prompt.outcome else None)
    ctx.log(
        f"可替代药品目录 {seeded} 条（限量 1、暂停 {1 if len(entries) > 1 else 0}，{quarter}）；"
        f"处方提醒 {len(prompts)} 条"
    )
