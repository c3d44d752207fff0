"""Step: year 1 of an earlier national batch, bought and paid in full by one county, so that the money step
can clear it with a refund and finalise its assessment at the demo's own today (SPEC §12 demo).

The demo's today sits two thirds into year 1 of the first national batch, so only a batch that started a
year earlier (GY-YD2023-1) has a year whose clearance has opened. Medium and province scales hold that batch
with its items; the small scale gets it here with a few items of its own. One county's institutions get
approved demand reports, agreed volumes and effective agreements for that year and buy through the platform's own actions (order,
delivery, receipt, payment), most of them close to their agreed volume and two — the institution login among
them — far below it: their prepayment then exceeds what they used, which is what a clearance refund is. The
county is the county login's, so both logins see the clearance and the finalised assessment. The funds step, which
runs next, triggers and disburses the year's tranches like any other year's."""

import datetime as dt
from decimal import Decimal

from jicai.accounts.access import TokenActor
from jicai.agreements.actions import write_agreements
from jicai.agreements.models import AgreedVolume, DeliveryRelationship, PurchaseAgreement
from jicai.batches.actions import sync_agreement_years
from jicai.batches.models import AgreementYear, Batch, Winner, WinnerRole
from jicai.demand.models import DemandLine, DemandReport, ReportingWindow, ReportStatus
from jicai.demo.catalogue import catalogue
from jicai.demo.context import DemoContext
from jicai.demo.scales import BATCHES, shifted_spec
from jicai.demo.steps.accounts import persona_institution
from jicai.demo.steps.agreements import SHANGHAI, SIGN_WINDOW_DAYS, sign_year
from jicai.demo.steps.items import make_items
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Institution
from jicai.trade import actions as trade

CLOSED_BATCH = "GY-YD2023-1"
ITEMS = 3  # items of the closed batch the county bought
INSTITUTIONS = 12  # at most this many institutions of the county
LAGGARDS = 2  # the institution login and the county's first other institution by code buy only LAGGARD_SHARE
LAGGARD_SHARE = Decimal("0.10")
ORDERS_PER_YEAR = 4


def _actor(ctx: DemoContext, kind: str, pk: int, role: str) -> TokenActor:
    return TokenActor(organisation=ctx.organisations[(kind, pk)], role=role, token_id=None)


def closed_batch(ctx: DemoContext) -> Batch:
    """The scale's earlier national batch, created with ITEMS items of its own when the scale lacks it."""
    spec = shifted_spec(BATCHES[CLOSED_BATCH], ctx.shift_months)  # its code moves with the calendar
    batch = next((b for b in ctx.batches if b.code == spec.code), None)
    if batch is not None:
        return batch
    batch = Batch.objects.create(
        code=spec.code, name=spec.name, kind=spec.kind, cycle_start=spec.cycle_start, cycle_end=spec.cycle_end
    )
    batch.demo_spec = spec
    batch.demo_years = sync_agreement_years(batch=batch)
    ctx.batches.append(batch)
    # Catalogue lines after those the scale's items use: new generics, so no product joins a second item.
    used = ctx.scale.catalogue_lines or len(catalogue())
    plans = [
        (batch, f"{n:03d}", template)
        for n, template in enumerate(
            (t for line in catalogue()[used : used + ITEMS] for t in line.items), start=1
        )
    ]
    make_items(ctx, plans)
    return batch


def _mains(batch: Batch, province) -> dict[int, Winner]:
    winners = Winner.objects.filter(item__batch=batch, province=province, role=WinnerRole.MAIN)
    return {w.item_id: w for w in winners.select_related("product", "item").order_by("item__item_code")}


def _relationships(ctx: DemoContext, mains: list[Winner]) -> None:
    """A province-wide distributor for each main supplier that has none yet."""
    suppliers = {w.product.manufacturer_id for w in mains}
    served = set(
        DeliveryRelationship.objects.filter(supplier_id__in=suppliers, region=ctx.province).values_list(
            "supplier_id", flat=True
        )
    )
    DeliveryRelationship.objects.bulk_create(
        [
            DeliveryRelationship(
                supplier_id=s, region=ctx.province, distributor=ctx.rng.choice(ctx.distributors)
            )
            for s in sorted(suppliers - served)
        ]
    )


def _reports(ctx: DemoContext, year: AgreementYear, institutions, mains: list[Winner]) -> dict:
    """The year's closed reporting window (three to two months before the year) with an approved report per
    institution — what the post-cycle demand review compares purchases with (SPEC §14). Returns the reported
    quantity per (institution, item)."""
    window = ReportingWindow.objects.create(
        batch=year.batch,
        agreement_year=year.number,
        bureau=ctx.organisations[("bureau", ctx.province.pk)],
        region=ctx.province,
        title=f"{year.batch.name} 第{year.number}协议年度报量",
        opens_on=year.start - dt.timedelta(days=90),
        deadline=year.start - dt.timedelta(days=60),
        closed_at=dt.datetime.combine(year.start - dt.timedelta(days=59), dt.time(9), tzinfo=SHANGHAI),
    )
    reports = DemandReport.objects.bulk_create(
        [DemandReport(window=window, institution=i, status=ReportStatus.APPROVED) for i in institutions]
    )
    reported, lines = {}, []
    for report in reports:
        for winner in mains:
            qty = ctx.rng.randint(6, 30) * 100
            reported[(report.institution_id, winner.item_id)] = qty
            lines.append(
                DemandLine(
                    report=report,
                    item=winner.item,
                    history_qty=qty * ctx.rng.randint(90, 110) // 100,
                    history_source=DemandLine.HistorySource.IMPORTED,
                    reported_qty=qty,
                )
            )
    DemandLine.objects.bulk_create(lines)
    return reported


def _volumes(ctx: DemoContext, year: AgreementYear, institutions, mains: list[Winner]) -> None:
    reported = _reports(ctx, year, institutions, mains)
    rows = []
    for institution in institutions:
        for winner in mains:
            qty = reported[(institution.pk, winner.item_id)]
            rows.append(
                AgreedVolume(
                    agreement_year=year,
                    institution=institution,
                    item=winner.item,
                    supplier=winner.product.manufacturer,
                    reported_qty=qty,
                    agreed_qty=qty,
                    source=AgreedVolume.Source.IMPORTED,
                )
            )
    AgreedVolume.objects.bulk_create(rows)
    year.sign_due = year.start + dt.timedelta(days=SIGN_WINDOW_DAYS)
    year.save(update_fields=["sign_due"])
    write_agreements(year)
    sign_year(year)


def _purchase(ctx: DemoContext, year: AgreementYear, institutions, mains: dict[int, Winner]) -> int:
    """Quarterly orders of each agreement's main product, delivered two days later, received the next day
    and paid within the policy's payment term, all inside the year; returns the number of order lines."""
    laggards = {i.pk for i in institutions[:LAGGARDS]}
    term = PolicyResolver.load().resolve(ctx.province, year.batch).payment_due_days
    days = (year.end - year.start).days + 1
    lines = 0
    agreements = PurchaseAgreement.objects.filter(agreement_year=year).select_related("distributor")
    for agreement in agreements.order_by("institution__code", "item__item_code"):
        share = (
            LAGGARD_SHARE if agreement.institution_id in laggards else Decimal(ctx.rng.randint(85, 110)) / 100
        )
        total = int(agreement.agreed_qty * share)
        buyer = _actor(ctx, "institution", agreement.institution_id, "institution")
        distributor = _actor(ctx, "company", agreement.distributor_id, "distributor")
        for n in range(ORDERS_PER_YEAR):
            qty = total // ORDERS_PER_YEAR + (1 if n < total % ORDERS_PER_YEAR else 0)
            if qty <= 0:
                continue
            ordered_on = year.start + dt.timedelta(days=n * days // ORDERS_PER_YEAR + ctx.rng.randint(0, 20))
            order = trade.place_order(
                actor=buyer,
                lines=[trade.LineInput(product=mains[agreement.item_id].product, qty=qty)],
                ordered_on=ordered_on,
                distributor=agreement.distributor,
            )
            line = order.lines.get()
            trade.record_delivery(
                actor=distributor, line=line, qty=qty, delivered_on=ordered_on + dt.timedelta(days=2)
            )
            trade.confirm_receipt(
                actor=buyer, line=line, accepted_qty=qty, received_on=ordered_on + dt.timedelta(days=3)
            )
            paid_on = ordered_on + dt.timedelta(days=3 + ctx.rng.randint(10, term))
            line.refresh_from_db()
            trade.record_payment(actor=buyer, line=line, amount=line.amount, paid_on=paid_on)
            lines += 1
    return lines


def build_closed_year(ctx: DemoContext) -> None:
    if not any(b.kind == "national" for b in ctx.batches):
        return
    batch = closed_batch(ctx)
    year = AgreementYear.objects.get(batch=batch, number=1)
    persona, county = persona_institution(ctx)
    others = Institution.objects.filter(region=county).exclude(pk=persona.pk).order_by("code")
    # The institution login first: it is one of the two laggards, so its ledger shows the refund.
    institutions = [persona, *others[: INSTITUTIONS - 1]]
    mains = dict(list(_mains(batch, ctx.province).items())[:ITEMS])
    _relationships(ctx, list(mains.values()))
    _volumes(ctx, year, institutions, list(mains.values()))
    lines = _purchase(ctx, year, institutions, mains)
    ctx.log(
        f"{batch.code} 第1协议年度（{year.start}～{year.end}）：{county.name} {len(institutions)} 家机构、"
        f"{len(mains)} 个品种，{lines} 行订单已配送、入库并付款"
    )
