"""Step: fund prepayment of the demo province (SPEC §12) as of the monitoring date: tranches triggered by the
funds engine, then the bureau's disbursements in every state (paid in full, partly, not yet due, overdue),
and, when the trade step bought every agreed item somewhere, one effective agreement never bought (未进院).

Disbursements are written in bulk (thousands of tranches at province scale) with the same rule the
bureau's action enforces: never above the tranche, never before its trigger."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from jicai.agreements.models import AgreementStatus, PurchaseAgreement
from jicai.batches.models import AgreementYear, Winner
from jicai.core.money import money
from jicai.demo.context import DemoContext
from jicai.demo.steps.monitoring import monitoring_date
from jicai.funds import findings
from jicai.funds.models import Disbursement, FundAccount, PrepaymentTranche
from jicai.funds.prepayment import trigger_tranches
from jicai.trade.models import OrderLine


def _disburse(ctx: DemoContext, as_of: dt.date) -> dict[str, int]:
    states = {"paid": 0, "partial": 0, "overdue": 0, "not_due": 0}
    rows, changed = [], []
    today = timezone.localdate()
    for t in PrepaymentTranche.objects.order_by("pk"):
        draw = ctx.rng.random()
        latest = min(as_of, today)
        if t.due_on >= as_of:
            states["not_due"] += 1
            continue
        if draw < 0.12:
            states["overdue"] += 1
            continue
        paid_on = min(max(t.triggered_on, t.due_on - dt.timedelta(days=ctx.rng.randint(0, 7))), latest)
        amount = t.amount if draw >= 0.25 else money(t.amount * Decimal("0.5"))
        if amount <= 0:
            continue
        states["paid" if amount == t.amount else "partial"] += 1
        rows.append(Disbursement(tranche=t, amount=amount, paid_on=paid_on))
        t.paid_amount, t.paid_on = amount, paid_on
        changed.append(t)
    Disbursement.objects.bulk_create(rows, batch_size=2000)
    PrepaymentTranche.objects.bulk_update(changed, ["paid_amount", "paid_on"], batch_size=2000)
    balances: dict[int, Decimal] = {}
    for t in changed:
        balances[t.institution_id] = balances.get(t.institution_id, Decimal("0.00")) + t.paid_amount
    FundAccount.objects.bulk_create(
        [FundAccount(institution_id=pk, balance=b) for pk, b in balances.items()], batch_size=2000
    )
    return states


def _unadmitted_agreements(ctx: DemoContext, as_of: dt.date) -> list[str]:
    """Effective year-1 agreements for items the institution never ordered, until there are two (the monitoring
    step turns the newest effective agreement back into an unsigned one for UNSIGNED_AGREEMENT)."""
    region_ids = [r.pk for r in ctx.regions.values()]
    missing = 2 - len(findings.not_admitted(as_of, region_ids))
    added: list[str] = []
    if missing <= 0:
        return added
    batch = next(b for b in ctx.batches if b.kind == "national")
    year = AgreementYear.objects.get(batch=batch, number=1)
    agreed = set(
        PurchaseAgreement.objects.filter(agreement_year=year).values_list("institution_id", "item_id")
    )
    taken = agreed | set(
        OrderLine.objects.filter(item__batch=batch).values_list("institution_id", "item_id").distinct()
    )
    for institution in ctx.institutions:
        for item in ctx.items:
            if item.batch_id != batch.pk or (institution.pk, item.pk) in taken:
                continue
            main = Winner.objects.filter(item=item, province=ctx.province, role="main").first()
            if main is None:
                continue
            start = dt.datetime.combine(year.start, dt.time(9), tzinfo=timezone.get_current_timezone())
            PurchaseAgreement.objects.create(
                agreement_year=year,
                institution=institution,
                item=item,
                supplier=main.product.manufacturer,
                agreed_qty=1000,
                winning_price=main.winning_price,
                budget=money(main.winning_price * 1000),
                status=AgreementStatus.EFFECTIVE,
                institution_signed_at=start,
                supplier_signed_at=start,
                effective_at=start,
            )
            taken.add((institution.pk, item.pk))
            added.append(f"{institution.name} {item.generic_name}")
            if len(added) == missing:
                return added
    return added


def build_funds(ctx: DemoContext) -> None:
    as_of = monitoring_date(ctx)
    if as_of is None:
        ctx.log("没有国家集采批次，跳过医保基金预付")
        return
    for case in _unadmitted_agreements(ctx, as_of):
        ctx.log(f"补充未进院案例：{case}")
    tranches = trigger_tranches(as_of=as_of)
    states = _disburse(ctx, as_of)
    ctx.log(
        f"预付款 {len(tranches)} 笔（已拨付 {states['paid']}、部分拨付 {states['partial']}、"
        f"逾期未拨付 {states['overdue']}、未到期 {states['not_due']}）"
    )
