"""The demo's agreements step, fed by the approved reports of the demand step (or, while that step is not
in runner.STEPS, by a stand-in inserted before it): volumes for both years, relationships, agreements
mostly effective with a few unsigned past due."""

import datetime as dt

import pytest

from jicai.agreements.models import AgreedVolume, DeliveryRelationship, PurchaseAgreement
from jicai.demand.models import DemandLine, DemandReport, ReportingWindow
from jicai.demo import runner
from jicai.demo.scales import BASE_TODAY
from jicai.registry.models import Institution


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def approved_reports(ctx):
    batch = next(b for b in ctx.batches if b.kind == "national")
    bureau = ctx.organisations[("bureau", ctx.province.pk)]
    window = ReportingWindow.objects.create(
        batch=batch,
        bureau=bureau,
        region=ctx.province,
        title="演示报量",
        opens_on=dt.date(2024, 11, 1),
        deadline=dt.date(2024, 11, 30),
    )
    reports = DemandReport.objects.bulk_create(
        [DemandReport(window=window, institution=i, status="approved") for i in ctx.institutions]
    )
    items = [i for i in ctx.items if i.batch_id == batch.pk]
    DemandLine.objects.bulk_create(
        [
            DemandLine(report=r, item=i, reported_qty=ctx.rng.randrange(0, 5000))
            for r in reports
            for i in items
        ]
    )


def test_demo_step_builds_effective_agreements_from_approved_reports(db, monkeypatch):
    steps = list(runner.STEPS)
    at = next(n for n, s in enumerate(steps) if s.name == "agreements")
    if not any(s.name == "demand" for s in steps[:at]):
        steps.insert(at, runner.Step("demand-standin", "报量（测试替身）", approved_reports))
    # Later steps (trade, monitoring) are not what this test is about.
    monkeypatch.setattr(
        runner, "STEPS", steps[: at + 2] if steps[at].name == "demand-standin" else steps[: at + 1]
    )
    ctx = runner.run_demo(scale="small", seed=1, today=BASE_TODAY, write=lambda _: None)

    summary = ctx.extra["agreements"]
    national = next(b for b in ctx.batches if b.kind == "national")
    keys = (
        DemandLine.objects.filter(report__status="approved", report__window__batch=national)
        .values_list("report__institution_id", "item_id")
        .distinct()
        .count()
    )
    assert keys > 0
    # Year 1 computed from every approved line, year 2 carried over from year 1.
    assert summary["volumes"] == AgreedVolume.objects.count() == 2 * keys
    assert set(AgreedVolume.objects.filter(agreement_year__number=1).values_list("source", flat=True)) == {
        "computed"
    }
    assert set(AgreedVolume.objects.filter(agreement_year__number=2).values_list("source", flat=True)) == {
        "carried"
    }
    assert DeliveryRelationship.objects.count() == summary["relationships"] > 0
    by_status = summary["by_status"]
    total = PurchaseAgreement.objects.count()
    assert total > 0 and by_status["effective"] / total > 0.9
    assert by_status["draft"] > 0 and by_status["institution_signed"] > 0
    # Every unsigned agreement is past due (the year-2 due date is 2026-01-31, before today's demo date).
    unsigned = PurchaseAgreement.objects.exclude(status="effective")
    assert not unsigned.filter(due_date__isnull=True).exists()
    assert set(unsigned.values_list("agreement_year__number", flat=True)) == {2}
    # Agreements exist exactly for volumes with a supplier and qty > 0.
    assert total == AgreedVolume.objects.filter(supplier__isnull=False, agreed_qty__gt=0).count()
    assert PurchaseAgreement.objects.filter(distributor__isnull=True).count() == 0
    assert Institution.objects.count() == 50
