"""`jicai quotas --as-of YYYY-MM-DD [--institution CODE] [--format json|table]` (SPEC §10, §11): targets,
plan to date, use and completion of institutions, departments and doctors, read straight from usage."""

import json

from django.core.management.base import BaseCommand, CommandError

from jicai.core.commands import parse_as_of, write_table
from jicai.hospital.queries import quota_rows
from jicai.registry.models import Institution

COLUMNS = (
    "institution",
    "item",
    "agreement_year",
    "department",
    "doctor",
    "target",
    "monthly",
    "plan_to_date",
    "used",
    "completion",
)


class Command(BaseCommand):
    help = "院内目标与完成情况（机构、科室、医师）"

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="统计日期 YYYY-MM-DD")
        parser.add_argument("--institution", default="", help="只输出该医疗机构")
        parser.add_argument("--format", choices=("json", "table"), default="json")

    def handle(self, *args, **options):
        as_of = parse_as_of(options["as_of"])
        code = options["institution"].strip()
        if code and not Institution.objects.filter(code=code).exists():
            raise CommandError(f"未知的医疗机构代码：{code}")
        rows = [r.as_json() for r in quota_rows(None, as_of, institution_code=code or None)]
        if options["format"] == "json":
            self.stdout.write(json.dumps({"as_of": as_of.isoformat(), "quotas": rows}, ensure_ascii=False))
            return
        write_table(self.stdout, COLUMNS, rows)
