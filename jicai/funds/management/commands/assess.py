"""`jicai assess --batch CODE --year N [--as-of YYYY-MM-DD] [--format json|table] [--store]` (SPEC §10, §12):
the assessment of every institution with agreed volumes in that agreement year; finalised ones as frozen.
`--store` computes it once more and stores it as the run the ranking page and API read for that date."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from jicai.core.commands import parse_as_of
from jicai.core.errors import DomainError
from jicai.funds.assessment import get_year, result_json, results, store
from jicai.registry.models import Institution


class Command(BaseCommand):
    help = "集采执行考核：得分、等级、结余基数与结余留用金额"

    def add_arguments(self, parser):
        parser.add_argument("--batch", required=True, help="批次编码")
        parser.add_argument("--year", required=True, type=int, help="协议年度序号")
        parser.add_argument("--as-of", default="", help="计算日期 YYYY-MM-DD（默认今天）")
        parser.add_argument("--format", choices=("json", "table"), default="json")
        parser.add_argument(
            "--store",
            action="store_true",
            help="存储试算结果，供考核排名页面与接口读取（替换同一计算日期的旧结果）",
        )

    def handle(self, *args, **options):
        as_of = parse_as_of(options["as_of"]) if options["as_of"] else timezone.localdate()
        try:
            year = get_year(options["batch"], options["year"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if options["store"]:
            run = store(year, as_of)
            self.stdout.write(
                f"已存储 {year.batch.code} 第{year.number}协议年度 {as_of} 的考核试算："
                f"{run.institutions} 家机构，用时 {run.seconds:.1f} 秒"
            )
            return
        rows = [result_json(r) for r in results(year, Institution.objects.all(), as_of)]
        if options["format"] == "json":
            data = {"batch": year.batch.code, "agreement_year": year.number, "institutions": rows}
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        columns = ("institution", "score", "grade", "retention_rate", "saving_base", "retained")
        self.stdout.write("  ".join(f"{c:>16}" for c in columns))
        for r in rows:
            cells = (
                r["institution"],
                f"{r['score']:.2f}",
                r["grade"],
                f"{r['retention_rate']:.4f}",
                f"{r['saving_base']:.2f}",
                f"{r['retained']:.2f}",
            )
            self.stdout.write("  ".join(f"{c:>16}" for c in cells))
