"""Hook step: run monitoring over the demo data (SPEC §10: `jicai demo` runs monitoring) as of the demo's
today, which the calendar shift puts two thirds into the national batch's first agreement year (the year
the trade step fills), then report the alerts per type. Ticket SLA evaluation runs first when the tickets app provides it.

Before running, a few cases the earlier steps never produce are added so the demo province shows every
alert type of SPEC §7 (each minimal and realistic, through the owning apps' actions where they exist):

* UNSIGNED_AGREEMENT: one year-1 agreement the institution signed but the supplier never did (its due
  date long past);
* PRICE_ABOVE_CAP: an institution that, under a bureau price exception, ordered a national winner that does
  not supply this province above its cap (max(listing_cap_multiple × own winning price, highest winning
  price of the item)); listings themselves stay within the rules;
* OVER_PURCHASE: one institution that ordered, received and stocked up on its main product far beyond
  over_purchase_multiple × its agreed volume (placed, delivered and received through trade.actions).
"""

import datetime as dt
from collections import Counter
from decimal import Decimal

from django.db import transaction

from jicai.accounts.access import TokenActor
from jicai.agreements.models import AgreedVolume, PurchaseAgreement
from jicai.batches.models import AgreementYear, Winner
from jicai.core.errors import DomainError
from jicai.demo.context import DemoContext
from jicai.monitoring import scorecards
from jicai.monitoring.evaluate import run_monitoring as monitor_region
from jicai.monitoring.models import Alert, AlertStatus
from jicai.policy import rules as policy_rules
from jicai.policy.resolve import effective_policy
from jicai.trade import actions as trade_actions


def monitoring_date(ctx: DemoContext) -> dt.date | None:
    """The demo's today, about two thirds into year 1 of the national batch (scales.calendar_shift): late
    receipts/payments and lagging buyers are visible while the year is still running, and the pages, which
    use the real date, show the same picture as the run."""
    if not any(b.kind == "national" for b in ctx.batches):
        return None
    return ctx.today


def _actor(ctx: DemoContext, kind: str, pk: int, role: str) -> TokenActor:
    return TokenActor(organisation=ctx.organisations[(kind, pk)], role=role, token_id=None)


def _unsigned_agreement(ctx: DemoContext, year: AgreementYear, as_of: dt.date) -> str | None:
    agreement = (
        PurchaseAgreement.objects.filter(agreement_year=year, status="effective")
        .select_related("institution", "supplier")
        .order_by("-id")
        .first()
    )
    if agreement is None:
        return None
    # The supplier never counter-signed: back to "institution signed", due date as the year's sign_due.
    agreement.status = "institution_signed"
    agreement.supplier_signed_at = agreement.supplier_signed_by = agreement.effective_at = None
    agreement.due_date = min(year.sign_due or year.start, as_of - dt.timedelta(days=1))
    agreement.save(
        update_fields=["status", "supplier_signed_at", "supplier_signed_by", "effective_at", "due_date"]
    )
    return f"{agreement.institution.name}–{agreement.supplier.name}"


def _order_above_cap(ctx: DemoContext, year: AgreementYear, as_of: dt.date) -> str | None:
    """A bureau let one institution buy a non-supply national winner at a price above its listing cap
    (a price exception) and the institution ordered at that price: an order price above its cap."""
    nonsupply = (
        Winner.objects.filter(item__batch=year.batch, province=ctx.province, role="nonsupply")
        .select_related("item", "product")
        .order_by("item__item_code", "product__code")
        .first()
    )
    if nonsupply is None:
        return None
    highest = max(Winner.objects.filter(item=nonsupply.item).values_list("winning_price", flat=True))
    policy = effective_policy(region=ctx.province, batch=year.batch)
    verdict = policy_rules.listing_verdict(
        price=nonsupply.winning_price,
        role=nonsupply.role,
        own_winning_price=nonsupply.winning_price,
        highest_winning_price=highest,
        multiple=policy.listing_cap_multiple,
        other_spec_of_winner=False,
    )
    if verdict.cap is None:
        return None
    price = (verdict.cap * Decimal("1.05")).quantize(Decimal("0.0001"))
    institution = ctx.institutions[-1]
    day = as_of - dt.timedelta(days=10)
    bureau = _actor(ctx, "bureau", ctx.province.pk, "bureau")
    staff = _actor(ctx, "institution", institution.pk, "institution")
    trade_actions.grant_price_exception(
        actor=bureau,
        institution=institution,
        product=nonsupply.product,
        unit_price=price,
        valid_from=day,
        valid_to=as_of,
        reason="临床急需，按企业报价临时采购",
    )
    trade_actions.place_order(
        actor=staff,
        lines=[trade_actions.LineInput(product=nonsupply.product, qty=100, unit_price=price)],
        ordered_on=day,
    )
    return f"{institution.name} 以 {price} 采购 {nonsupply.product.code}（限价 {verdict.cap}）"


def _over_purchase(ctx: DemoContext, year: AgreementYear, as_of: dt.date) -> str | None:
    policy = effective_policy(region=ctx.province, batch=year.batch)
    volumes = (
        AgreedVolume.objects.filter(agreement_year=year, agreed_qty__gt=0)
        .select_related("institution", "item")
        .order_by("agreed_qty", "id")[:5]
    )
    day = as_of - dt.timedelta(days=20)
    for volume in volumes:
        main = (
            Winner.objects.filter(item=volume.item, province=ctx.province, role="main")
            .select_related("product")
            .first()
        )
        if main is None:
            continue
        # Enough on its own to pass the multiple, whatever the institution bought already.
        qty = int(volume.agreed_qty * (policy.over_purchase_multiple + 1)) + 1
        staff = _actor(ctx, "institution", volume.institution_id, "institution")
        supplier = _actor(ctx, "company", main.product.manufacturer_id, "manufacturer")
        try:
            with transaction.atomic():
                order = trade_actions.place_order(
                    actor=staff,
                    lines=[trade_actions.LineInput(product=main.product, qty=qty)],
                    ordered_on=day,
                )
                line = order.lines.get()
                trade_actions.record_delivery(
                    actor=supplier, line=line, qty=qty, delivered_on=day + dt.timedelta(days=1)
                )
                line.refresh_from_db()
                trade_actions.confirm_receipt(
                    actor=staff, line=line, accepted_qty=qty, received_on=day + dt.timedelta(days=2)
                )
        except DomainError:
            continue  # e.g. the main supplier is blocked for this institution: take the next one
        return (
            f"{volume.institution.name} {volume.item.generic_name} 约定 {volume.agreed_qty}，一次采购 {qty}"
        )
    return None


def add_missing_cases(ctx: DemoContext, as_of: dt.date) -> list[str]:
    batch = next(b for b in ctx.batches if b.kind == "national")
    year = AgreementYear.objects.get(batch=batch, number=1)
    added = []
    for label, build in (
        ("购销协议未按期签订", _unsigned_agreement),
        ("采购价格超过限价", _order_above_cap),
        ("超量采购", _over_purchase),
    ):
        what = build(ctx, year, as_of)
        if what:
            added.append(f"{label}：{what}")
    return added


def run_monitoring_step(ctx: DemoContext) -> None:
    as_of = monitoring_date(ctx)
    if as_of is None:
        ctx.log("没有国家集采批次，跳过监测")
        return
    for line in add_missing_cases(ctx, as_of):
        ctx.log(f"补充监测案例 {line}")
    outcome = monitor_region(as_of, ctx.province)
    counts = Counter(Alert.objects.exclude(status=AlertStatus.CLOSED).values_list("type", flat=True))
    ctx.extra["monitoring"] = {"as_of": as_of.isoformat(), "alerts": dict(counts)}
    summary = "、".join(f"{t} {n}" for t, n in sorted(counts.items())) or "无"
    ctx.log(f"监测日期 {as_of}：预警 {outcome.found} 条（{summary}），用时 {outcome.seconds:.1f} 秒")
    # As the daily `jicai monitor` does: the scorecard pages of a bureau with more than
    # scorecards.LIVE_LIMIT institutions read stored delivery figures.
    for run in scorecards.store_due(as_of, [ctx.province]):
        ctx.log(
            f"企业评价：{run.batch.code} {run.quarter} 配送数据已存储（统计至 {run.as_of}，{run.seconds:.1f} 秒）"
        )


run_monitoring = run_monitoring_step  # the runner imports this name
