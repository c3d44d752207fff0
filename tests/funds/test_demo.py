"""The small demo shows SPEC §12: tranches in every state, a clearance with a refund, a direct settlement,
reference prices, exemptions and a finalised year-1 assessment of a national batch."""

import datetime as dt

import pytest
from django.db.models import F

from jicai.agreements.models import AgreedVolume
from jicai.demo.runner import run_demo
from jicai.demo.scales import BASE_TODAY
from jicai.demo.steps.accounts import persona_institution
from jicai.demo.steps.funds import cleared_year
from jicai.funds.models import (
    AssessmentResult,
    ClearanceRefund,
    Exemption,
    FundPayment,
    PrepaymentTranche,
    ReferencePrice,
)


@pytest.mark.django_db
def test_small_demo_has_every_money_case():
    ctx = run_demo(scale="small", seed=1, write=lambda _: None, today=BASE_TODAY)
    national = next(b for b in ctx.batches if b.kind == "national")
    tranches = PrepaymentTranche.objects.all()
    assert tranches.filter(paid_amount=F("amount")).exists()
    assert tranches.filter(paid_amount__gt=0, paid_amount__lt=F("amount")).exists()
    assert tranches.filter(paid_amount=0).exists()
    assert ReferencePrice.objects.filter(item__batch=national).exists()
    assert (
        Exemption.objects.filter(mode="exclude").exists() and Exemption.objects.filter(mode="share").exists()
    )
    assert FundPayment.objects.get().agreement_year.batch == national
    # Today (2025-08-31) is two thirds into year 1 of the national batch, so the demo clears and finalises year 1
    # of the earlier national batch (2024-03-01 … 2025-02-28, clearance open since 2025-03-30), which one county
    # bought through the platform, its first two institutions far below their agreed volume.
    year = cleared_year(ctx)
    assert (year.batch.code, year.number, year.end) == ("GY-YD2023-1", 1, dt.date(2025, 2, 28))
    refund = ClearanceRefund.objects.get()
    assert refund.agreement_year == year and refund.refunded_on == dt.date(2025, 3, 30) and refund.amount > 0
    institution, county = persona_institution(ctx)
    assert refund.institution == institution  # the institution login, one of the two laggards
    results = AssessmentResult.objects.filter(agreement_year=year)
    assert set(results.values_list("as_of", flat=True)) == {BASE_TODAY}
    assert set(results.values_list("institution__region", flat=True)) == {county.pk}
    assert (
        results.count()
        == AgreedVolume.objects.filter(agreement_year=year).values("institution").distinct().count()
    )
    # Bought in full by most, far below by the first two: more than one grade.
    assert len(set(results.values_list("grade", flat=True))) > 1
    assert Exemption.objects.filter(agreement_year=year).count() == 2
