"""`jicai review --batch CODE --year N [--store] [--today YYYY-MM-DD]` (SPEC §14 demand review): print the
spot-check list of a finished agreement year (every institution), or with `--store` compute it and store it
as the year's run that the review page and API read (replacing the older run)."""

import json

from django.core.management.base import BaseCommand, CommandError

from jicai.batches.models import AgreementYear, Batch
from jicai.compliance import review
from jicai.core.commands import parse_as_of
from jicai.core.errors import DomainError
from jicai.registry.models import Institution


class Command(BaseCommand):
    help = "报量复核：协议年度结束后的抽查名单（--store 存储供页面与接口读取）"

    def add_arguments(self, parser):
        parser.add_argument("--batch", required=True, help="批次编码")
        parser.add_argument("--year", required=True, type=int, help="协议年度序号")
        parser.add_argument("--today", default="", help="今天 YYYY-MM-DD（默认今天）")
        parser.add_argument("--store", action="store_true", help="存储抽查名单，替换该协议年度的旧结果")

    def handle(self, *args, **options):
        today = parse_as_of(options["today"]) if options["today"] else None
        year = AgreementYear.objects.filter(
            batch__in=Batch.objects.filter(code=options["batch"]), number=options["year"]
        ).first()
        if year is None:
            raise CommandError("未找到该协议年度")
        try:
            if options["store"]:
                run = review.store(year, today=today)
                self.stdout.write(
                    f"已存储 {year.batch.code} 第{year.number}协议年度 报量复核抽查名单："
                    f"{run.rows_count} 条，用时 {run.seconds:.1f} 秒"
                )
                return
            rows = review.review_rows(year, Institution.objects.all(), today=today)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        for r in rows:
            self.stdout.write(
                json.dumps(
                    {
                        "institution": r.institution.code,
                        "item": r.item_code,
                        "history": r.history,
                        "reported": r.reported,
                        "purchased": str(r.purchased),
                        "deviation": None if r.deviation is None else str(r.deviation),
                        "flags": r.flags,
                    },
                    ensure_ascii=False,
                )
            )
