"""`jicai demo [--scale small|medium|province] [--seed N] [--today YYYY-MM-DD] [--force]`: build a synthetic
province whose dates are anchored on `today` (default: today in Asia/Shanghai)."""

import datetime as dt
import unicodedata

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from jicai.demo.runner import DemoRefused, local_today, run_demo
from jicai.demo.scales import SCALES


def pad(text: str, width: int) -> str:
    """Left-align text in a terminal column; CJK characters take two cells."""
    cells = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(1, width - cells)


def parse_today(value) -> dt.date:
    if value is None:
        return local_today()
    if isinstance(value, dt.date):  # call_command(..., today=date)
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise CommandError(f"--today 应为 YYYY-MM-DD 格式的日期，收到“{value}”") from None


class Command(BaseCommand):
    help = "生成演示用的模拟省份数据（地区、机构、企业、批次、品种、中选结果、挂网价、演示账户）"

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", choices=list(SCALES), default="small", help="规模：small / medium / province"
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="随机种子（相同规模与种子生成完全相同的数据）"
        )
        parser.add_argument(
            "--today",
            default=None,
            help="演示数据的“今天”（YYYY-MM-DD），默认取北京时间当天；相同规模、种子与日期生成完全相同的数据",
        )
        parser.add_argument("--force", action="store_true", help="数据库中有非演示数据时仍然清空并生成")

    def handle(self, *args, scale, seed, force, today=None, **options):
        day = parse_today(today)
        self.stdout.write(f"生成演示数据：规模 {scale}，种子 {seed}，日期 {day.isoformat()}")
        try:
            ctx = run_demo(scale=scale, seed=seed, today=day, force=force, write=self.stdout.write)
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        run = ctx.extra["run"]
        self.stdout.write("")
        self.stdout.write(f"完成，共用时 {run.seconds:.1f} 秒。各表行数：")
        for label, count in run.counts.items():
            model = apps.get_model(label)
            self.stdout.write(f"  {model._meta.db_table:<32} {count:>9,}  {model._meta.verbose_name}")
        self.stdout.write("")
        self.stdout.write("=" * 72)
        self.stdout.write("演示登录账户（每个角色一个）")
        self.stdout.write("-" * 72)
        self.stdout.write(f"  {pad('角色', 20)}{pad('用户名', 14)}{pad('密码', 18)}所属机构")
        for login in ctx.logins:
            self.stdout.write(
                f"  {pad(login.role_label, 20)}{pad(login.username, 14)}{pad(login.password, 18)}{login.organisation}"
            )
        self.stdout.write("=" * 72)
