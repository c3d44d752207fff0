"""Step: fund prepayment of the demo province (SPEC §12) as of the monitoring date: tranches triggered by the
funds engine, then the bureau's disbursements in every state (paid in full, partly, not yet due, overdue),
and, when the trade step bought every agreed item somewhere, one effective agreement never bought (未进院).

Disbursements are written in bulk (thousands of tranches at province scale) with the same rule the
bureau's action enforces: never above the tranche, never before its trigger."""

import datetime as dt
from decimal import Decimal

from django.db.models import Exists, Max, OuterRef, Subquery
from django.utils import timezone

from jicai.accounts.access import TokenActor
from jicai.agreements.models import AgreedVolume, AgreementStatus, PurchaseAgreement
from jicai.batches.models import AgreementYear, ItemFactor, Winner
from jicai.core.errors import DomainError
from jicai.core.money import money, price
from jicai.demo.context import DemoContext
from jicai.demo.steps.accounts import persona_institution
from jicai.demo.steps.monitoring import monitoring_date
from jicai.funds import assessment, clearance, findings
from jicai.funds.models import Disbursement, Exemption, FundAccount, PrepaymentTranche, ReferencePrice
from jicai.funds.prepayment import trigger_tranches
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Institution
from jicai.trade.models import OrderLine


def _disburse(ctx: DemoContext, as_of: dt.date) -> dict[str, int]:
    states = {"paid": 0, "partial": 0, "overdue": 0, "not_due": 0}
    rows, changed = [], []
    for t in PrepaymentTranche.objects.order_by("pk"):
        draw = ctx.rng.random()
        latest = min(as_of, ctx.today)
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
    before = Disbursement.objects.aggregate(last=Max("pk"))["last"] or 0
    Disbursement.objects.bulk_create(rows, batch_size=2000)
    # The tranches take their (single) new disbursement in one UPDATE: bulk_update's CASE per row cost
    # 3.8 s for 2,056 tranches at medium scale and grew with the province's 20,000.
    new = Disbursement.objects.filter(tranche=OuterRef("pk"), pk__gt=before)
    PrepaymentTranche.objects.filter(Exists(new)).update(
        paid_amount=Subquery(new.values("amount")[:1]), paid_on=Subquery(new.values("paid_on")[:1])
    )
    balances: dict[tuple[int, int], Decimal] = {}
    for t in changed:
        key = (t.institution_id, t.agreement_year_id)
        balances[key] = balances.get(key, Decimal("0.00")) + t.paid_amount
    FundAccount.objects.bulk_create(
        [FundAccount(institution_id=i, agreement_year_id=y, balance=b) for (i, y), b in balances.items()],
        batch_size=2000,
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
    taken = set(agreed)
    for institution in ctx.institutions:
        for item in ctx.items:
            if item.batch_id != batch.pk or (institution.pk, item.pk) in taken:
                continue
            # One indexed probe per candidate: a province's distinct (institution, item) pairs over 20 M order
            # lines took a minute to collect, and the first two candidates are usually enough.
            if OrderLine.objects.filter(institution=institution, item=item).exists():
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


def _reference_prices(ctx: DemoContext, batch) -> int:
    """Pre-VBP prices 2–4 × the winning standard per reference unit (VBP cut prices by half or more)."""
    factors = {(f.item_id, f.product_id): f.factor for f in ItemFactor.objects.filter(item__batch=batch)}
    rows = []
    for w in Winner.objects.filter(item__batch=batch, province=ctx.province, role="main").order_by("item_id"):
        per_unit = w.winning_price / factors.get((w.item_id, w.product_id), Decimal(1))
        multiple = Decimal(ctx.rng.randint(200, 400)) / 100
        rows.append(
            ReferencePrice(
                item_id=w.item_id, province=ctx.province, reference_price=price(per_unit * multiple)
            )
        )
    ReferencePrice.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _exemptions(ctx: DemoContext, year, institutions) -> int:
    items = list(
        AgreedVolume.objects.filter(agreement_year=year, institution__in=institutions)
        .values_list("institution_id", "item_id")
        .order_by("institution_id", "item_id")[:2]
    )
    rows = [
        Exemption(
            agreement_year=year,
            item_id=item_id,
            institution_id=inst_id,
            mode=mode,
            target_share=share,
            reason=reason,
        )
        for (inst_id, item_id), (mode, share, reason) in zip(
            items,
            (
                ("exclude", None, "纳入重点监控合理用药药品目录"),
                ("share", Decimal("0.80"), "临床诊疗指南调整"),
            ),
            strict=False,
        )
    ]
    Exemption.objects.bulk_create(rows)
    return len(rows)


def _province_bureau(ctx: DemoContext) -> TokenActor:
    return TokenActor(
        organisation=ctx.organisations[("bureau", ctx.province.pk)], role="bureau", token_id=None
    )


def _refund(ctx: DemoContext, year) -> str | None:
    """One clearance refund: the first institution, by code, whose prepayment exceeded what it used."""
    bureau = _province_bureau(ctx)
    accounts = FundAccount.objects.filter(balance__gt=0, agreement_year=year).select_related("institution")
    for account in accounts.order_by("institution__code")[:200]:
        st = clearance.statement(bureau, account.institution.code, year.batch.code, year.number)
        refund = min(st.outstanding, clearance.balance_of(account.institution_id, year.pk))
        if refund > 0 and st.opens_on <= ctx.today:
            clearance.record_refund(
                actor=bureau,
                institution_code=account.institution.code,
                batch_code=year.batch.code,
                number=year.number,
                amount=refund,
                refunded_on=st.opens_on,
            )
            return f"清算退回 {account.institution.name} {refund} 元（{year.batch.code} 第{year.number}协议年度）"
    return None


def _direct_settlement(ctx: DemoContext, year) -> str | None:
    """One direct settlement by the fund: the first unpaid line, by id, received in the year by an institution
    with a prepayment balance left (one query: a province has thousands of accounts and most lines are paid)."""
    accounts = FundAccount.objects.filter(balance__gt=0, agreement_year=year).values("institution_id")
    line = (
        OrderLine.objects.filter(institution_id__in=accounts, accepted_qty__gt=0, paid_amount=0)
        .filter(item__batch=year.batch, last_received_on__range=(year.start, min(year.end, ctx.today)))
        .select_related("institution")
        .order_by("pk")
        .first()
    )
    if line is None:
        return None
    balance = clearance.balance_of(line.institution_id, year.pk)
    buyer = TokenActor(
        organisation=ctx.organisations[("institution", line.institution_id)],
        role="institution",
        token_id=None,
    )
    amount = min(line.amount - line.paid_amount, balance)
    paid_on = min(line.last_received_on + dt.timedelta(days=3), ctx.today)
    clearance.record_fund_payment(actor=buyer, line=line, amount=amount, paid_on=paid_on)
    return f"医保基金直接结算 {line.institution.name} {amount} 元"


def cleared_year(ctx: DemoContext) -> AgreementYear | None:
    """The latest national-batch agreement year whose clearance has opened by the demo's today (E +
    `clearance_days` ≤ today): the year the demo clears and finalises. The calendar puts today two thirds into
    year 1 of the first national batch, so only a batch that started a year earlier (GY-YD2023-1, medium and
    province scales) has one."""
    resolver = PolicyResolver.load()
    years = AgreementYear.objects.filter(batch__kind="national", end__lt=ctx.today).select_related("batch")
    for year in years.order_by("-end", "batch__code"):
        if (
            year.end + dt.timedelta(days=resolver.resolve(ctx.province, year.batch).clearance_days)
            <= ctx.today
        ):
            return year
    return None


def close_year(ctx: DemoContext, year: AgreementYear) -> None:
    """Clearance refund and the finalised assessment of one county for `year`, both dated by the demo's today
    (never the machine's date, so `jicai demo --today D` gives the same data any day)."""
    refund = _refund(ctx, year)
    if refund:
        ctx.log(refund)
    county = persona_institution(ctx)[1]
    bureau = TokenActor(organisation=ctx.organisations[("bureau", county.pk)], role="bureau", token_id=None)
    if year.end >= ctx.today:
        ctx.log(f"{year.batch.code} 第{year.number}协议年度尚未结束，考核暂不定稿")
        return
    try:
        created = assessment.finalise(actor=bureau, year=year, as_of=ctx.today)
        ctx.log(f"{county.name} {year.batch.code} 第{year.number}协议年度考核已定稿：{len(created)} 家机构")
    except DomainError as exc:
        ctx.log(f"考核未定稿：{exc.message}")


def build_money(ctx: DemoContext) -> None:
    """Reference prices of every national batch and a direct settlement in the running year 1 of the first
    national batch; exemptions, a clearance with a refund and a finalised assessment of one county for the
    latest cleared national agreement year (the closed_year step bought it), or, when no year has cleared by
    today, exemptions for the running year (SPEC §12 demo)."""
    nationals = [b for b in ctx.batches if b.kind == "national"]
    if not nationals:
        return
    ctx.log(f"集采前参考价 {sum(_reference_prices(ctx, b) for b in nationals)} 条")
    running = AgreementYear.objects.get(batch=nationals[0], number=1)
    settled = _direct_settlement(ctx, running)
    if settled:
        ctx.log(settled)
    year = cleared_year(ctx) or running
    county = persona_institution(ctx)[1]
    institutions = Institution.objects.filter(region=county)
    ctx.log(
        f"考核豁免 {_exemptions(ctx, year, institutions)} 条（{year.batch.code} 第{year.number}协议年度）"
    )
    close_year(ctx, year)
