"""`jicai export DIR [--region CODE]` (SPEC §10): every province's (or the given region's province's) indicator
inputs as Parquet under DIR/<province code>/, replaced atomically; progress on stderr."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jicai.national.export import export_province
from jicai.registry.models import Region, RegionLevel


class Command(BaseCommand):
    help = "导出监测指标所需数据为 Parquet（每省一个目录）"

    def add_arguments(self, parser):
        parser.add_argument("directory", help="导出目录")
        parser.add_argument("--region", default="", help="只导出该行政区划所在的省")

    def handle(self, *args, **options):
        if options["region"]:
            region = Region.objects.filter(code=options["region"]).first()
            if region is None:
                raise CommandError(f"未知的行政区划代码：{options['region']}")
            provinces = list(Region.objects.filter(code=region.province_code))
        else:
            provinces = list(Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code"))
        directory = Path(options["directory"])
        for province in provinces:
            counts = export_province(directory, province, lambda text: self.stderr.write(text))
            self.stderr.write(f"已导出 {province.code}：" + "，".join(f"{k} {v}" for k, v in counts.items()))
            self.stdout.write(str(directory / province.code))
