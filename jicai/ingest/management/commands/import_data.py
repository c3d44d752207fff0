"""`jicai import KIND FILE [--batch CODE] [--dry-run]` (SPEC §10): runs the import pipeline as the system.

Exit codes: 0 imported (or dry run passed), 1 rejected (every row error on stderr), 2 unknown kind or
unreadable file.
"""

import sys

from django.core.management.base import BaseCommand

from jicai.core.errors import ImportRejected, NotFound
from jicai.ingest.pipeline import run_import
from jicai.ingest.readers import UnreadableFile
from jicai.ingest.schemas import SCHEMAS


class Command(BaseCommand):
    help = "导入数据文件（CSV：UTF-8 或 GBK/GB18030；或 XLSX）：全部行校验通过才写入"

    def add_arguments(self, parser):
        parser.add_argument("kind", help="导入类型：" + ", ".join(SCHEMAS))
        parser.add_argument("file", help="CSV 或 XLSX 文件路径")
        parser.add_argument("--batch", dest="batch", default=None, help="批次编码：填充空的 batch_code 列")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")

    def handle(self, *args, kind, file, batch, dry_run, **options):
        if kind not in SCHEMAS:
            self._fail(f"未知的导入类型：{kind}（可选：{', '.join(SCHEMAS)}）", 2)

        def progress(done: int, total: int) -> None:
            self.stderr.write(f"已校验 {done}/{total} 行")

        try:
            result = run_import(
                kind=kind,
                rows_or_file=file,
                actor=None,
                source="cli",
                filename=file,
                dry_run=dry_run,
                batch_code=batch,
                progress=progress,
            )
        except UnreadableFile as exc:
            self._fail(exc.message, 2)
        except NotFound as exc:
            self._fail(exc.message, 2)
        except ImportRejected as exc:
            for error in exc.errors:
                column = f" [{error.column}]" if error.column else ""
                self.stderr.write(f"第 {error.row} 行{column} {error.reason}")
            self._fail(exc.message, 1)
        for warning in result.warnings:
            column = f" [{warning.column}]" if warning.column else ""
            self.stderr.write(f"警告：第 {warning.row} 行{column} {warning.reason}")
        self.stdout.write(result.summary() + f"，用时 {result.seconds:.1f} 秒")

    def _fail(self, message: str, code: int):
        self.stderr.write(message)
        sys.exit(code)
