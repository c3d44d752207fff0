"""Step: agreed volumes, delivery relationships and purchase agreements of the national batch.

Runs after the demand step: agreed volumes of year 1 are computed from the approved reports
(write_agreed_volumes, the set-based body of the bureau's compute_agreed_volumes), year 2 carries them over, the main
suppliers choose distributors (a province-wide one, with city-level exceptions), agreements are generated
for both years and signed in bulk: year 1 entirely effective, year 2 mostly effective with a few still
unsigned after their due date (the UNSIGNED_AGREEMENT alerts monitoring should find).

The demo acts as the system (actor None): signatures are written with bulk updates rather than through
sign_agreements, which would write one audit row per agreement for ~10⁵ agreements at province scale.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import Count

from jicai.agreements.actions import write_agreed_volumes, write_agreements
from jicai.agreements.models import AgreedVolume, AgreementStatus, DeliveryRelationship, PurchaseAgreement
from jicai.batches.models import AgreementYear, Winner, WinnerRole
from jicai.core.bulkload import bulk_load
from jicai.demo.context import DemoContext
from jicai.demo.steps import BATCH_SIZE

SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGN_WINDOW_DAYS = 30  # agreements of a year are due one month after the year starts
UNSIGNED_SHARE = 0.04  # year-2 agreements left as drafts past their due date
HALF_SIGNED_SHARE = 0.03  # year-2 agreements the institution signed but the supplier has not
CITY_EXCEPTION_SHARE = 0.3  # main suppliers that name a different distributor for some cities


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def _relationships(ctx: DemoContext, batch) -> int:
    rng = ctx.rng
    suppliers = sorted(
        set(
            Winner.objects.filter(item__batch=batch, role=WinnerRole.MAIN, province=ctx.province).values_list(
                "product__manufacturer_id", flat=True
            )
        )
    )
    rows = []
    for supplier_id in suppliers:
        province_distributor = rng.choice(ctx.distributors)
        rows.append(
            DeliveryRelationship(
                supplier_id=supplier_id, region=ctx.province, distributor=province_distributor
            )
        )
        if rng.random() < CITY_EXCEPTION_SHARE and len(ctx.distributors) > 1:
            others = [d for d in ctx.distributors if d.pk != province_distributor.pk]
            for city in rng.sample(ctx.cities, max(1, len(ctx.cities) // 4)):
                rows.append(
                    DeliveryRelationship(supplier_id=supplier_id, region=city, distributor=rng.choice(others))
                )
    DeliveryRelationship.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return len(rows)


def _signatures(status: str, year: AgreementYear) -> dict:
    """Field values of an agreement of `year` in `status`: the institution signs a week into the year,
    the supplier five days later."""
    institution_at = _at(year.start + dt.timedelta(days=7), 10)
    supplier_at = _at(year.start + dt.timedelta(days=12), 15)
    return {
        "status": status,
        "institution_signed_at": institution_at if status != AgreementStatus.DRAFT else None,
        "supplier_signed_at": supplier_at if status == AgreementStatus.EFFECTIVE else None,
        "effective_at": supplier_at if status == AgreementStatus.EFFECTIVE else None,
    }


def sign_year(year: AgreementYear) -> None:
    """Every agreement of `year` effective, signed by both sides in its first fortnight (one UPDATE)."""
    PurchaseAgreement.objects.filter(agreement_year=year).update(
        **_signatures(AgreementStatus.EFFECTIVE, year)
    )


def _sign(ctx: DemoContext, year: AgreementYear, leave_unsigned: bool) -> None:
    # One UPDATE makes the whole year effective; the few left unsigned are then set back by id.
    sign_year(year)
    if not leave_unsigned:
        return
    ids = list(
        PurchaseAgreement.objects.filter(agreement_year=year).order_by("pk").values_list("pk", flat=True)
    )
    ctx.rng.shuffle(ids)
    unsigned = int(len(ids) * UNSIGNED_SHARE)
    half = int(len(ids) * HALF_SIGNED_SHARE)
    for status, chosen in (
        (AgreementStatus.DRAFT, ids[:unsigned]),
        (AgreementStatus.INSTITUTION_SIGNED, ids[unsigned : unsigned + half]),
    ):
        chosen.sort()
        for start in range(0, len(chosen), BATCH_SIZE):
            PurchaseAgreement.objects.filter(pk__in=chosen[start : start + BATCH_SIZE]).update(
                **_signatures(status, year)
            )


def build_agreements(ctx: DemoContext) -> None:
    batch = next((b for b in ctx.batches if b.kind == "national"), None)
    if batch is None:
        ctx.log("没有国家集采批次，跳过")
        return
    years = list(AgreementYear.objects.filter(batch=batch).order_by("number")[:2])
    for year in years:
        year.sign_due = year.start + dt.timedelta(days=SIGN_WINDOW_DAYS)
    AgreementYear.objects.bulk_update(years, ["sign_due"])
    relationships = _relationships(ctx, batch)

    summary = []
    # ~1.6 million volumes and ~0.6 million agreements per year at province scale: written without their
    # secondary indexes and (PostgreSQL) foreign keys, which are rebuilt and validated once at the end.
    with bulk_load(AgreedVolume, PurchaseAgreement, progress=ctx.log):
        for year in years:
            # The set-based bodies of compute_agreed_volumes / generate_agreements: this step already runs
            # in one transaction, and a nested savepoint would make SQLite hold its journal of ~10⁶ rows in
            # memory.
            volumes = write_agreed_volumes(year)
            agreements = write_agreements(year)
            _sign(ctx, year, leave_unsigned=year.number > 1)
            summary.append(
                f"第{year.number}年度：约定采购量 {volumes.created} 条（问题 {volumes.problem_count}），"
                f"购销协议 {agreements.created} 份"
            )
    counts = dict(
        PurchaseAgreement.objects.filter(agreement_year__batch=batch)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    ctx.extra["agreements"] = {
        "batch": batch.code,
        "volumes": AgreedVolume.objects.filter(agreement_year__batch=batch).count(),
        "relationships": relationships,
        "by_status": counts,
    }
    if not ctx.extra["agreements"]["volumes"]:
        ctx.log(f"{batch.code} 尚无已通过的报量，未生成约定采购量与购销协议（{relationships} 条配送关系）")
        return
    ctx.log(f"{batch.code}：{relationships} 条配送关系；" + "；".join(summary))
    ctx.log("协议状态：" + "、".join(f"{AgreementStatus(s).label} {n}" for s, n in sorted(counts.items())))
