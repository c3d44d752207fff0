"""`jicai scorecards --batch CODE --quarter 2025Q3 [--region CODE] [--today YYYY-MM-DD] [--store]
[--format json|table]` (SPEC §7 supplier scorecards): print the quarter's scorecards of a region (default: every
province) computed now, or with `--store` compute the delivery figures and store them as the run that the
scorecard pages and API of a large scope read (replacing the older run of that batch, quarter and region)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from jicai.batches.models import Batch
from jicai.core.commands import parse_as_of, write_table
from jicai.core.errors import DomainError
from jicai.monitoring import scorecards
from jicai.monitoring.notices import parse_quarter
from jicai.registry.models import Region

COLUMNS = ("region", "supplier", "supplier_name", "delivery_rate", "ordered", "delivered", "tickets", "tier")


class Command(BaseCommand):
    help = "企业履约评价：计算某批次某季度的企业评价（--store 存储配送数据供页面与接口读取）"

    def add_arguments(self, parser):
        parser.add_argument("--batch", required=True, help="批次编码")
        parser.add_argument("--quarter", required=True, help="季度，如 2025Q3")
        parser.add_argument("--region", default="", help="行政区划代码（默认每个省）")
        parser.add_argument("--today", default="", help="今天 YYYY-MM-DD（默认今天）")
        parser.add_argument(
            "--store", action="store_true", help="存储配送数据，替换该批次、季度、地区的旧结果"
        )
        parser.add_argument("--format", choices=("json", "table"), default="json")

    def handle(self, *args, **options):
        today = parse_as_of(options["today"]) if options["today"] else timezone.localdate()
        batch = Batch.objects.filter(code=options["batch"]).first()
        if batch is None:
            raise CommandError(f"未知的批次编码：{options['batch']}")
        if options["region"]:
            regions = list(Region.objects.filter(code=options["region"]))
            if not regions:
                raise CommandError(f"未知的行政区划代码：{options['region']}")
        else:
            regions = list(Region.objects.filter(parent__isnull=True).order_by("code"))
        try:
            quarter = parse_quarter(options["quarter"])
            if options["store"]:
                for region in regions:
                    run = scorecards.store_run(batch=batch, region=region, quarter=quarter, today=today)
                    self.stdout.write(
                        f"已存储 {batch.code} {quarter.code} {region.name} 企业评价配送数据："
                        f"{run.figures.count()} 条，统计至 {run.as_of}，用时 {run.seconds:.1f} 秒"
                    )
                return
            rows = [
                _row(region, card)
                for region in regions
                for card in scorecards.build_scorecards(
                    batch=batch, region=region, quarter=quarter, today=today, live=True
                )
            ]
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if options["format"] == "table":
            write_table(self.stdout, COLUMNS, rows)
            return
        for row in rows:
            self.stdout.write(json.dumps(row, ensure_ascii=False))


def _row(region: Region, card: scorecards.Scorecard) -> dict:
    delivery = card.metric(scorecards.DELIVERY)
    return {
        "region": region.code,
        "supplier": card.supplier.code,
        "supplier_name": card.supplier.name,
        "delivery_rate": None if delivery.rate is None else str(delivery.rate),
        "ordered": delivery.denominator,
        "delivered": delivery.numerator,
        "tickets": card.tickets["tickets"],
        "tier": card.tier,
    }
