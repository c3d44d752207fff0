"""The small demo shows SPEC §12: tranches in every state, a clearance with a refund, a direct settlement,
reference prices, exemptions and a finalised year-1 assessment of the national batch."""

import pytest
from django.db.models import F

from jicai.demo.runner import run_demo
from jicai.demo.scales import BASE_TODAY
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
    assert AssessmentResult.objects.filter(agreement_year__batch=national, agreement_year__number=1).exists()
    assert ClearanceRefund.objects.count() == 1
    assert FundPayment.objects.count() == 1
