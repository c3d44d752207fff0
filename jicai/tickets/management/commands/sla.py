"""`jicai sla --as-of YYYY-MM-DD`: evaluate ticket deadlines (SPEC §8, §10); also run by `jicai monitor`."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from jicai.tickets.actions import evaluate_sla


class Command(BaseCommand):
    help = "检查诉求答复/解决期限：逾期的升级至医保局督办并通知各方（可重复运行，不会重复处理）"

    def add_arguments(self, parser):
        parser.add_argument("--as-of", dest="as_of", help="检查日期 YYYY-MM-DD（默认今天）")

    def handle(self, *args, as_of=None, **options):
        try:
            day = dt.date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"日期格式应为 YYYY-MM-DD：{as_of}") from exc
        result = evaluate_sla(as_of=day)
        for line in result.lines():
            self.stdout.write(line)
