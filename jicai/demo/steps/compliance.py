"""Step: SPEC §4 consistency withdrawal and §14/§15 in the demo — one exempted generic name, the detected
national/provincial overlaps (one continuation item made when none is found) with the first one confirmed, delivery ratings of the last three finished
months, demo-CA certificates with digitally signed agreements, and the review list of finished years."""

import datetime as dt

from django.utils import timezone

from jicai.agreements.models import AgreementStatus, PurchaseAgreement
from jicai.batches.models import AgreementYear, Item, ItemFactor, ListingPrice, Winner, WinnerRole
from jicai.compliance import consistency, overlaps, review, signing
from jicai.compliance.models import AgreementSignature, BatchOverlap, ConsistencyExemption, DeliveryRating
from jicai.core import audit
from jicai.demo.context import DemoContext
from jicai.trade.models import Order

SIGNED_INSTITUTIONS = 3
RATED_PAIRS_PER_MONTH = 400


class _System:
    """The demo acts as the platform administrator when it issues certificates."""

    is_superuser = True
    is_authenticated = False
    role = "admin"


def build_compliance(ctx: DemoContext) -> None:
    _exemption(ctx)
    _overlaps(ctx)
    _ratings(ctx)
    _signatures(ctx)
    finished = AgreementYear.objects.filter(end__lt=ctx.today).select_related("batch")
    for year in finished:
        # Stored, as `jicai review --store` does: the review page of a bureau with more than
        # review.LIVE_LIMIT institutions reads the stored run.
        run = review.store(year, today=ctx.today)
        ctx.log(f"报量复核：{year.batch.code} 第{year.number}年度 抽查 {run.rows_count} 条（已存储）")


def _exemption(ctx: DemoContext) -> None:
    groups = [g for g in consistency.groups(ctx.province, ctx.today) if g.not_passed]
    if not groups:
        ctx.log("一致性评价：没有未通过的挂网产品，跳过暂不撤网")
        return
    group = max(groups, key=lambda g: (len(g.passed), g.generic_name))
    row = ConsistencyExemption.objects.create(
        province=ctx.province, generic_name=group.generic_name, reason="临床替代品种不足，暂不撤网（演示）"
    )
    audit.record(
        actor=None,
        action="compliance.consistency_exemption",
        obj=row,
        summary=f"演示：{row.generic_name} 暂不撤网",
    )
    withdrawn = sum(1 for g in consistency.groups(ctx.province, ctx.today) if g.withdrawn)
    ctx.log(f"一致性评价：{group.generic_name} 暂不撤网；撤网品种组 {withdrawn} 个")


def _overlaps(ctx: DemoContext) -> None:
    found = overlaps.detect_overlaps()
    if not found and _continuation_item(ctx) is not None:
        found = overlaps.detect_overlaps()
    first = BatchOverlap.objects.order_by("applies_from", "pk").first()
    if first is not None:
        first.confirmed_at = timezone.now()
        first.save(update_fields=["confirmed_at"])
        audit.record(
            actor=None, action="compliance.overlap_confirmed", obj=first, summary="演示：确认批次重叠"
        )
    ctx.log(f"批次重叠：发现 {found} 个，确认 {1 if first else 0} 个")


def _continuation_item(ctx: DemoContext) -> Item | None:
    """The catalogue puts each generic name in one batch only, so nothing overlaps by itself: the demo adds
    one continuation item (接续) to the latest provincial drug batch with the generic name and form group of
    the first item of a national batch whose cycle overlaps it. Its main winner is a non-winning product of
    that national item at the reference spec, at its listing price in the province (the national item's
    item factors apply to it too), so after the confirmation its lines stay N of the national item (§15)."""
    drug = {i.batch_id for i in ctx.items if not ctx.item_templates[i.pk].consumable}
    provincial = [b for b in ctx.batches if b.kind == "provincial" and b.pk in drug]
    for batch in sorted(provincial, key=lambda b: (b.cycle_start, b.pk), reverse=True):
        for national in sorted(
            (i for i in ctx.items if i.batch.kind == "national" and i.batch_id in drug),
            key=lambda i: i.pk,
        ):
            if not (
                national.batch.cycle_start <= batch.cycle_end
                and batch.cycle_start <= national.batch.cycle_end
            ):
                continue
            winners = set(Winner.objects.filter(item=national).values_list("product_id", flat=True))
            listed = dict(
                ListingPrice.objects.filter(
                    province=ctx.province, product__in=ctx.item_products.get(national.pk, [])
                )
                .order_by("product_id", "valid_from")
                .values_list("product_id", "price")
            )  # the latest listing price of each product (later rows overwrite earlier ones)
            factors = list(ItemFactor.objects.filter(item=national))
            # at the reference spec (no item factor), so it can be the main winner
            scaled = {f.product_id for f in factors}
            candidates = sorted(pk for pk in listed if pk not in winners and pk not in scaled)
            if not candidates:
                continue
            item = Item.objects.create(
                batch=batch,
                item_code=f"{batch.code}-JX01",
                generic_name=national.generic_name,
                dosage_form_group=national.dosage_form_group,
            )
            ItemFactor.objects.bulk_create(
                [ItemFactor(item=item, product_id=f.product_id, factor=f.factor) for f in factors]
            )
            Winner.objects.create(
                item=item,
                product_id=candidates[0],
                province=ctx.province,
                role=WinnerRole.MAIN,
                winning_price=listed[candidates[0]],
            )
            ctx.log(
                f"批次重叠：{batch.code} 接续品种 {national.generic_name}（{national.dosage_form_group}）"
            )
            return item
    return None


def _month_start(day: dt.date, back: int) -> dt.date:
    month0 = day.year * 12 + day.month - 1 - back
    return dt.date(month0 // 12, month0 % 12 + 1, 1)


def _ratings(ctx: DemoContext) -> None:
    rows = []
    for back in (3, 2, 1):
        start, end = _month_start(ctx.today, back), _month_start(ctx.today, back - 1) - dt.timedelta(days=1)
        pairs = sorted(
            Order.objects.filter(ordered_on__gte=start, ordered_on__lte=end, distributor__isnull=False)
            .values_list("institution_id", "supplier_id", "distributor_id")
            .order_by()
            .distinct()
        )
        # Most institutions rate; a few do not (the reminder's audience).
        chosen = [p for p in pairs if ctx.rng.random() < 0.85][:RATED_PAIRS_PER_MONTH]
        for inst, sup, dist in chosen:
            base = ctx.rng.choice((3, 4, 4, 5, 5))
            rows.append(
                DeliveryRating(
                    institution_id=inst,
                    supplier_id=sup,
                    distributor_id=dist,
                    month=start,
                    timeliness=max(1, min(5, base + ctx.rng.choice((-1, 0, 0, 1)))),
                    completeness=max(1, min(5, base + ctx.rng.choice((-1, 0, 0)))),
                    service=base,
                    comment=ctx.rng.choice(("", "", "配送及时", "偶有缺货", "服务良好")),
                )
            )
    DeliveryRating.objects.bulk_create(rows, batch_size=2000)
    ctx.log(f"配送评价：近三个月 {len(rows)} 条")


def _signatures(ctx: DemoContext) -> None:
    effective = PurchaseAgreement.objects.filter(status=AgreementStatus.EFFECTIVE)
    # The first institutions by id, chosen in SQL: a province has a million effective agreements.
    institutions = list(
        effective.order_by("institution_id")
        .values_list("institution_id", flat=True)
        .distinct()[:SIGNED_INSTITUTIONS]
    )
    agreements = list(
        effective.filter(institution_id__in=institutions)
        .select_related("agreement_year__batch", "institution", "item", "supplier", "distributor")
        .order_by("institution__code", "pk")
    )
    with signing.decrypted_keys():  # each key (the CA's, each organisation's) loaded once, not once per use
        count = _sign(ctx, agreements)
    ctx.log(f"电子签章：{count[0]} 个机构的演示证书，{count[1]} 个签名")


def _sign(ctx: DemoContext, agreements: list) -> tuple[int, int]:
    orgs = {}
    times = [t for a in agreements for t in (a.institution_signed_at, a.supplier_signed_at) if t is not None]
    not_before = min(times) - dt.timedelta(days=1) if times else None
    for kind, pk in {("institution", a.institution_id) for a in agreements} | {
        ("company", a.supplier_id) for a in agreements
    }:
        org = ctx.organisations.get((kind, pk))
        if org is not None:
            signing.issue_demo_certificate(actor=_System(), organisation=org, not_before=not_before)
            orgs[(kind, pk)] = org
    signings = []
    for a in agreements:
        for party, key, at in (
            (
                AgreementSignature.Party.INSTITUTION,
                ("institution", a.institution_id),
                a.institution_signed_at,
            ),
            (AgreementSignature.Party.SUPPLIER, ("company", a.supplier_id), a.supplier_signed_at),
        ):
            if key in orgs and at is not None:
                signings.append((a, party, _Signer(orgs[key]), at))
    # Nothing is signed yet in a fresh demo: one bulk insert instead of an update_or_create per signature.
    return len(orgs), signing.sign_unsigned(signings)


class _Signer:
    def __init__(self, organisation):
        self.organisation = organisation
        self.is_authenticated = False
