"""Hook step: run monitoring over the demo data (SPEC §10: `jicai demo` runs monitoring) as of a date
inside the national batch's first agreement year (the year the trade step fills), then report the alerts
per type. Ticket SLA evaluation runs first when the tickets app provides it."""

import datetime as dt
from collections import Counter

from jicai.batches.models import AgreementYear
from jicai.demo.context import DemoContext
from jicai.monitoring.evaluate import run_monitoring as monitor_region
from jicai.monitoring.models import Alert, AlertStatus


def monitoring_date(ctx: DemoContext) -> dt.date | None:
    """Two thirds into year 1 of the national batch: late receipts/payments and lagging buyers are visible
    while the year is still running."""
    batch = next((b for b in ctx.batches if b.kind == "national"), None)
    if batch is None:
        return None
    year = AgreementYear.objects.get(batch=batch, number=1)
    return year.start + dt.timedelta(days=(year.end - year.start).days * 2 // 3)


def run_monitoring_step(ctx: DemoContext) -> None:
    as_of = monitoring_date(ctx)
    if as_of is None:
        ctx.log("没有国家集采批次，跳过监测")
        return
    outcome = monitor_region(as_of, ctx.province)
    counts = Counter(Alert.objects.exclude(status=AlertStatus.CLOSED).values_list("type", flat=True))
    ctx.extra["monitoring"] = {"as_of": as_of.isoformat(), "alerts": dict(counts)}
    summary = "、".join(f"{t} {n}" for t, n in sorted(counts.items())) or "无"
    ctx.log(f"监测日期 {as_of}：预警 {outcome.found} 条（{summary}），用时 {outcome.seconds:.1f} 秒")


run_monitoring = run_monitoring_step  # the runner imports this name
