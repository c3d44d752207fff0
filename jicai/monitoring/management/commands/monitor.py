"""`jicai monitor --as-of YYYY-MM-DD [--region CODE] [--format json|table]` (SPEC §10): ticket SLA
evaluation, then facts and alerts; prints the alerts found. Exit 0 whenever it ran, whatever it found; 3 when another run holds the lock."""

import datetime as dt
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from jicai.monitoring.evaluate import found_alerts, run_monitoring
from jicai.monitoring.lock import MonitorBusy, monitor_lock
from jicai.registry.models import Region

COLUMNS = (
    "type",
    "institution",
    "item",
    "supplier",
    "product",
    "order_id",
    "line_no",
    "value",
    "threshold",
    "tier",
    "agreement_year",
)


class Command(BaseCommand):
    help = "运行监测：计算事实、评估预警并保存，输出本次发现的预警"

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="监测日期 YYYY-MM-DD")
        parser.add_argument("--region", default="", help="只监测该行政区划（含下级）")
        parser.add_argument("--format", choices=("json", "table"), default="json")

    def handle(self, *args, **options):
        try:
            as_of = dt.date.fromisoformat(options["as_of"])
        except ValueError:
            raise CommandError(f"--as-of 应为 YYYY-MM-DD，实际为“{options['as_of']}”") from None
        scope = None
        if options["region"]:
            scope = Region.objects.filter(code=options["region"]).first()
            if scope is None:
                raise CommandError(f"未知的行政区划代码：{options['region']}")
        try:
            with monitor_lock(as_of):
                outcome = run_monitoring(as_of, scope)
        except MonitorBusy as exc:
            raise CommandError(str(exc), returncode=3) from None
        alerts = found_alerts(outcome.facts)
        sys.stderr.write(
            f"监测 {as_of}（{scope.code if scope else '全部地区'}）：发现预警 {outcome.found} 条，新增 "
            f"{outcome.opened}，重新打开 {outcome.reopened}，自动关闭 {outcome.closed}；"
            f"诉求时限评估：{outcome.sla}；用时 {outcome.seconds:.2f} 秒\n"
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps({"as_of": as_of.isoformat(), "alerts": alerts}, ensure_ascii=False))
            return
        widths = {c: max([len(c), *(len(_cell(a[c])) for a in alerts)]) for c in COLUMNS}
        self.stdout.write("  ".join(c.ljust(widths[c]) for c in COLUMNS))
        for a in alerts:
            self.stdout.write("  ".join(_cell(a[c]).ljust(widths[c]) for c in COLUMNS))


def _cell(value) -> str:
    return "" if value is None else str(value)
