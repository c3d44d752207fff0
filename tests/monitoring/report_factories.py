"""Small factories for the report tests (dashboards, notices, scorecards): stored facts and alerts written
directly, as a monitoring run would leave them, so the pages are tested on exact hand-worked numbers."""

import datetime as dt
import itertools
from decimal import Decimal

from jicai.batches.models import AgreementYear, Item
from jicai.monitoring.models import Alert, DeliveryFact, FactDate, ProgressFact

AS_OF = dt.date(2024, 8, 31)
_keys = itertools.count(1)


def year1(world) -> AgreementYear:
    return AgreementYear.objects.get(batch=world.batch, number=1)


def second_item(world) -> Item:
    return Item.objects.create(
        batch=world.batch, item_code="GY7-002", generic_name="氨氯地平", dosage_form_group="口服常释剂型"
    )


def progress(
    institution,
    item,
    year,
    *,
    agreed,
    winning,
    nonwinning=0,
    substitute=0,
    same_days=0,
    time_progress="0.500000",
    as_of=AS_OF,
    reported=None,
):
    winning = Decimal(winning)
    completion = (winning / agreed).quantize(Decimal("0.000001")) if agreed else None
    FactDate.objects.update_or_create(
        institution=institution,
        agreement_year=year,
        defaults={"as_of": as_of, "time_progress": Decimal(time_progress)},
    )
    return ProgressFact.objects.create(
        institution=institution,
        item=item,
        agreement_year=year,
        agreed_qty=agreed,
        reported_qty=reported if reported is not None else agreed * 2,
        purchased_winning=winning,
        purchased_nonwinning=Decimal(nonwinning),
        purchased_substitute=Decimal(substitute),
        substitute_same_days_last_year=Decimal(same_days),
        completion=completion,
    )


def delivery(supplier, institution, year, *, ordered, delivered, as_of=AS_OF):
    FactDate.objects.update_or_create(institution=institution, agreement_year=year, defaults={"as_of": as_of})
    return DeliveryFact.objects.create(
        supplier=supplier,
        institution=institution,
        agreement_year=year,
        ordered_qty=ordered,
        delivered_qty=delivered,
        rate=(Decimal(delivered) / ordered).quantize(Decimal("0.000001")) if ordered else None,
    )


def alert(
    type_,
    *,
    institution=None,
    item=None,
    supplier=None,
    product=None,
    year=None,
    province=None,
    first_seen=AS_OF,
    last_seen=None,
    closed_on=None,
    status="open",
    value=None,
    threshold=None,
    tier=None,
    order_id="",
    line_no=None,
):
    province = province or (None if institution is None else _province_of(institution))
    return Alert.objects.create(
        key=f"{type_}:{next(_keys)}",
        type=type_,
        institution=institution,
        item=item,
        supplier=supplier,
        product=product,
        agreement_year=year,
        batch=year.batch if year else None,
        province=province,
        first_seen_on=first_seen,
        last_seen_on=last_seen or first_seen,
        closed_on=closed_on,
        status="closed" if closed_on and status == "open" else status,
        value=None if value is None else Decimal(value),
        threshold=None if threshold is None else Decimal(threshold),
        tier=tier,
        order_id=order_id,
        line_no=line_no,
    )


def _province_of(institution):
    from jicai.registry.models import Region

    return Region.objects.get(code=institution.region.path[:6])
