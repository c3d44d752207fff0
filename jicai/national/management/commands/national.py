"""`jicai national DIR --as-of D [--engine spark|duckdb] [--format json|table] [--output PATH]` (SPEC §10):
the §7 indicators of every province exported under DIR; prints the `jicai monitor` JSON with each alert's
province, and writes facts, alerts and rankings (rankings.xlsx) to PATH (default DIR/national-D/)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jicai.core.commands import parse_as_of, write_table
from jicai.monitoring.management.commands.monitor import COLUMNS
from jicai.national.run import NationalInputError, run_national


class Command(BaseCommand):
    help = "全国监测：在 Spark 或 DuckDB 上计算各省导出数据的监测指标与预警"

    def add_arguments(self, parser):
        parser.add_argument("directory", help="jicai export 的导出目录")
        parser.add_argument("--as-of", required=True, help="监测日期 YYYY-MM-DD")
        parser.add_argument("--engine", choices=("spark", "duckdb"), default="spark")
        parser.add_argument("--format", choices=("json", "table"), default="json")
        parser.add_argument("--output", default="", help="结果目录（默认 DIR/national-日期）")

    def handle(self, *args, **options):
        as_of = parse_as_of(options["as_of"])
        directory = Path(options["directory"])
        output = Path(options["output"]) if options["output"] else None
        try:
            result = run_national(
                directory, as_of, options["engine"], output, say=lambda text: self.stderr.write(text)
            )
        except NationalInputError as exc:
            raise CommandError(str(exc)) from None
        except (
            Exception
        ) as exc:  # an engine's error (e.g. a data page of a file unreadable): no result written
            raise CommandError(f"全国监测失败，未写入结果：{exc}") from None
        self.stderr.write(
            f"全国监测 {as_of}（{options['engine']}，{len(result.provinces)} 个省）：预警 {result.alert_count} 条；"
            f"结果与排名：{result.output}"
        )
        if options["format"] == "json":
            # json.dumps({"as_of": …, "alerts": alerts}, ensure_ascii=False), the alerts already as JSON text.
            self.stdout.write(f'{{"as_of": {json.dumps(as_of.isoformat())}, "alerts": {result.alerts_json}}}')
            return
        write_table(self.stdout, ("province", *COLUMNS), result.alerts)
