"""`jicai monitor --as-of YYYY-MM-DD [--region CODE] [--format json|table]` (SPEC §10): ticket SLA
evaluation, then facts and alerts; prints the alerts found. Exit 0 whenever it ran, whatever it found; 3 when another run holds the lock.

`jicai monitor --follow [--interval S]`: the real-time worker (SPEC §13, monitoring.realtime) — recompute the
institutions touched by committed writes every S seconds until stopped; `jicai serve` starts it itself."""

import json
import os
import sys

from django.core.management.base import BaseCommand, CommandError

from jicai.core.commands import parse_as_of, write_table
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
        parser.add_argument("--as-of", default="", help="监测日期 YYYY-MM-DD（--follow 时可省略）")
        parser.add_argument(
            "--follow", action="store_true", help="实时监测：持续更新有新数据的机构，直到停止"
        )
        parser.add_argument("--interval", type=float, default=0.2, help="--follow 的检查间隔秒数")
        parser.add_argument(
            "--parent", type=int, default=0, help="--follow：该进程结束时停止（jicai serve 使用）"
        )
        parser.add_argument("--region", default="", help="只监测该行政区划（含下级）")
        parser.add_argument("--format", choices=("json", "table"), default="json")

    def handle(self, *args, **options):
        if options["follow"]:
            return self._follow(options)
        if not options["as_of"]:
            raise CommandError("请用 --as-of 指定监测日期")
        as_of = parse_as_of(options["as_of"])
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
        if scope is None:
            from jicai.compliance import review

            for run in review.store_missing(as_of):
                sys.stderr.write(
                    f"报量复核：已存储 {run.agreement_year} 抽查名单 {run.rows_count} 条，用时 {run.seconds:.1f} 秒\n"
                )
            from jicai.monitoring import scorecards

            for run in scorecards.store_due(as_of):
                sys.stderr.write(
                    f"企业评价：已存储 {run.batch.code} {run.quarter} {run.region.name} 配送数据（统计至 "
                    f"{run.as_of}），用时 {run.seconds:.1f} 秒\n"
                )
        alerts = found_alerts(outcome.facts)
        sys.stderr.write(
            f"监测 {as_of}（{scope.code if scope else '全部地区'}）：发现预警 {outcome.found} 条，新增 "
            f"{outcome.opened}，重新打开 {outcome.reopened}，自动关闭 {outcome.closed}；"
            f"诉求时限评估：{outcome.sla}；用时 {outcome.seconds:.2f} 秒\n"
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps({"as_of": as_of.isoformat(), "alerts": alerts}, ensure_ascii=False))
            return
        write_table(self.stdout, COLUMNS, alerts)

    def _follow(self, options):
        from jicai.monitoring import realtime

        as_of = parse_as_of(options["as_of"]) if options["as_of"] else None
        sys.stderr.write(f"实时监测已启动（每 {options['interval']} 秒检查一次；Ctrl+C 停止）\n")

        def report(done):
            sys.stderr.write(json.dumps(done, ensure_ascii=False) + "\n")
            sys.stderr.flush()

        parent = options["parent"]

        def stop():
            return bool(parent) and os.getppid() != parent

        try:
            realtime.follow(options["interval"], as_of, stop=stop, report=report)
        except KeyboardInterrupt:
            pass
