"""The small demo shows SPEC §12: tranches in every state, a clearance with a refund, a direct settlement,
reference prices, exemptions and a finalised year-1 assessment of the national batch."""

import datetime as dt

import pytest
from django.db.models import F

from jicai.demo.runner import run_demo
from jicai.demo.scales import BASE_TODAY
from jicai.demo.steps.funds import cleared_year, close_year
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
    # Today is two thirds into year 1 (2025-01-01 … 2025-12-31): nothing can be cleared or finalised yet, and
    # the machine's date (a year later) does not change that.
    assert cleared_year(ctx) is None
    assert not AssessmentResult.objects.exists() and not ClearanceRefund.objects.exists()
    # The same province on 2026-02-15 (year 1 ended, clearance open since 2026-01-30): the demo clears year 1
    # with a refund and the county's bureau finalises its assessment, all dated by the demo's today.
    ctx.today = dt.date(2026, 2, 15)
    year = cleared_year(ctx)
    assert (year.batch, year.number) == (national, 1)
    close_year(ctx, year)
    refund = ClearanceRefund.objects.get()
    assert refund.agreement_year == year and refund.refunded_on == dt.date(2026, 1, 30) and refund.amount > 0
    results = AssessmentResult.objects.filter(agreement_year=year)
    assert results.exists() and set(results.values_list("as_of", flat=True)) == {dt.date(2026, 2, 15)}
