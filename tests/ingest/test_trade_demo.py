"""The small demo carries trade data of every sort (tests and `make demo` rely on it)."""

from django.db.models import F, Q, Sum

from jicai.demo.runner import run_demo
from jicai.demo.scales import BASE_TODAY
from jicai.trade.models import Delivery, Order, OrderLine, Payment, Receipt, UsageLine


def test_small_demo_has_trade_data_of_every_sort(db):
    ctx = run_demo(scale="small", seed=1, today=BASE_TODAY, write=lambda _: None)
    summary = ctx.extra["trade"]
    lines = OrderLine.objects
    # Later steps (tickets, monitoring) place a few orders of their own through trade.actions.
    assert lines.count() >= summary["lines"] > 1000 and Order.objects.count() >= summary["orders"]
    assert all(summary["paces"][k] > 0 for k in ("ahead", "on_track", "behind"))
    # Statuses: cancelled, supplier-rejected, partly delivered, received with rejects.
    assert (
        lines.filter(status="cancelled").exists()
        and lines.filter(status="rejected", accepted_by_supplier=False).exists()
    )
    assert lines.filter(status="open", delivered_qty__gt=0, delivered_qty__lt=F("qty")).exists()
    assert lines.filter(rejected_qty__gt=0).exists()
    # Non-winning or substitute purchases, and backups.
    assert lines.filter(~Q(product__winner_rows__role__in=["main", "backup", "backup2"])).exists()
    # Late receipts and late payments against the due date.
    gaps = [(r - d).days for r, d in Receipt.objects.values_list("received_on", "line__last_delivered_on")]
    assert max(gaps) > 5 and min(gaps) >= 0
    assert Payment.objects.filter(paid_on__gt=F("line__payment_due_on")).exists()
    assert lines.filter(last_received_on__isnull=False, paid_amount=0).exists()  # received, not yet paid
    # Children agree with the running totals.
    assert Delivery.objects.count() == lines.filter(delivered_qty__gt=0).count()
    assert Receipt.objects.count() == lines.filter(last_received_on__isnull=False).count()
    assert Payment.objects.count() == lines.filter(paid_amount__gt=0).count()
    assert UsageLine.objects.exists()
    # The poor supplier's grassroots lines are delivered at well under the others' rate.
    poor = summary["poor_supplier"]
    grassroots = lines.filter(status="open", institution__level="grassroots")
    poor_lines = grassroots.filter(supplier_id=poor)
    totals = poor_lines.aggregate(d=Sum("delivered_qty"), q=Sum("qty"))
    assert totals["q"] and totals["d"] / totals["q"] < 0.75
