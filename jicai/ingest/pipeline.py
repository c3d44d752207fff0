"""The one import pipeline used by the CLI, the upload page and the bulk API (SPEC §9, §10).

read → map headers → parse every row → duplicate keys → resolve references in bulk → compare with the
database → write (one transaction) → ImportJob + audit row. Any row error rejects the whole file:
nothing is written and every error is reported (`ImportRejected`).
"""

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from jicai.accounts import access
from jicai.core import audit
from jicai.core.errors import ImportRejected, NotFound, RowError
from jicai.ingest.models import ImportJob
from jicai.ingest.readers import Table, UnreadableFile, read_json_rows, read_upload
from jicai.ingest.schemas import SCHEMAS
from jicai.ingest.schemas.base import ImportContext, Row, Schema

PROGRESS_EVERY = 5000
STORED_ERRORS = 1000  # an ImportJob keeps this many errors; the caller always gets all of them


@dataclass
class ImportResult:
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    warnings: list[RowError] = field(default_factory=list)
    job_id: int | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "dry_run": self.dry_run,
            "warnings": [w.as_dict() for w in self.warnings],
        }

    def summary(self) -> str:
        verb = "试运行" if self.dry_run else "已导入"
        return (
            f"{verb} {self.kind}：{self.rows} 行（新增 {self.created}，更新 {self.updated}，"
            f"未变 {self.unchanged}）"
        )


def get_schema(kind: str) -> Schema:
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise NotFound(f"未知的导入类型：{kind}（可选：{'、'.join(SCHEMAS)}）", code="unknown_kind")
    return schema


def importable_kinds(actor) -> list[str]:
    """Kinds the actor may load, in SPEC order; the system (actor None) may load all."""
    return [k for k in SCHEMAS if actor is None or access.can_import(actor, k)]


def _load(rows_or_file, filename: str) -> tuple[Table, str]:
    """Table and the SHA-256 of what was sent (file bytes, or the canonical JSON of API rows)."""
    if isinstance(rows_or_file, list):
        canonical = json.dumps(rows_or_file, ensure_ascii=False, sort_keys=True, default=str).encode()
        return read_json_rows(rows_or_file), hashlib.sha256(canonical).hexdigest()
    if isinstance(rows_or_file, str | Path):
        path = Path(rows_or_file)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise UnreadableFile(f"无法读取文件 {path}：{exc.strerror or exc}") from exc
        filename = filename or path.name
    elif isinstance(rows_or_file, bytes | bytearray):
        content = bytes(rows_or_file)
    elif hasattr(rows_or_file, "read"):
        content = rows_or_file.read()
    else:
        raise UnreadableFile("无法识别的导入数据")
    return read_upload(content, filename), hashlib.sha256(content).hexdigest()


def _map_rows(schema: Schema, table: Table, ctx: ImportContext) -> None:
    """Header names (English or Chinese) → column names; missing required columns are errors."""
    mapping = schema.header_map()
    required = schema.required_columns(ctx)
    if table.header is not None:
        seen: dict[str, str] = {}
        for header in table.header:
            name = mapping.get(header.strip().lower())
            if name is None:
                if header.strip():
                    ctx.warn(1, header, "未知的列，已忽略")
                continue
            if name in seen:
                ctx.error(1, name, f"列重复：{seen[name]} 与 {header}")
            seen[name] = header
        for name in required:
            if name not in seen:
                ctx.error(1, name, "缺少必需的列")
        rename = {
            header: mapping[header.strip().lower()]
            for header in table.header
            if header.strip().lower() in mapping
        }
        for number, raw in table.rows:
            ctx.rows.append(Row(number, {rename[h]: v for h, v in raw.items() if h in rename}))
        return
    # JSON rows: each object is checked on its own; the row number is its 1-based index.
    unknown: set[str] = set()
    for number, raw in table.rows:
        if "__invalid__" in raw:
            ctx.error(number, "", "每一行应为一个对象")
            continue
        values = {}
        for key, value in raw.items():
            name = mapping.get(key.lower())
            if name is None:
                unknown.add(key)
            else:
                values[name] = value
        row = Row(number, values)
        for name in required:
            if name not in values:
                ctx.error(row, name, "缺少字段")
        ctx.rows.append(row)
    for key in sorted(unknown):
        ctx.warn(0, key, "未知的字段，已忽略")


def _check_duplicates(schema: Schema, ctx: ImportContext) -> None:
    first: dict[tuple, int] = {}
    for row in ctx.good_rows:
        key = schema.row_key(row)
        if key in first:
            shown = " / ".join(str(k) for k in key)
            ctx.error(row, schema.key_columns[-1], f"与第 {first[key]} 行重复（{shown}）")
        else:
            first[key] = row.number


def validate(schema: Schema, ctx: ImportContext, progress: Callable | None = None) -> None:
    total = len(ctx.rows)
    for index, row in enumerate(ctx.rows, start=1):
        if row.ok:
            schema.parse(ctx, row)
        if progress and index % PROGRESS_EVERY == 0:
            progress(index, total)
    if progress and total % PROGRESS_EVERY:
        progress(total, total)
    _check_duplicates(schema, ctx)
    # References are checked even when some rows are already bad, so one run reports every problem.
    schema.resolve(ctx)


def _sorted(errors: list[RowError], schema: Schema) -> list[RowError]:
    order = {name: i for i, name in enumerate(schema.column_names())}
    return sorted(errors, key=lambda e: (e.row, order.get(e.column, len(order)), e.reason))


def _org_id(actor) -> int | None:
    return getattr(actor, "organisation_id", None) if actor is not None else None


def _user(actor):
    # API token actors are not users; the job then records only the organisation.
    return actor if getattr(actor, "pk", None) and hasattr(actor, "username") else None


def run_import(
    *,
    kind: str,
    rows_or_file,
    actor,
    source: str,
    filename: str = "",
    dry_run: bool = False,
    batch_code: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Validate every row and, when all are valid and this is not a dry run, upsert them atomically.

    Raises NotFound for an unknown kind or one the actor may not import (both answer 404),
    UnreadableFile for a file that cannot be read, ImportRejected (with every row error) otherwise.
    """
    schema = get_schema(kind)
    if actor is not None and not access.can_import(actor, kind):
        raise NotFound("未找到该导入类型，或您无权导入")
    started = time.monotonic()
    sha256 = ""
    ctx = ImportContext(schema, batch_code=batch_code)
    try:
        table, sha256 = _load(rows_or_file, filename)
        _map_rows(schema, table, ctx)
        with transaction.atomic():
            # A missing column would make every row fail on it: report the header alone.
            if not (table.header is not None and ctx.errors):
                validate(schema, ctx, progress)
            if ctx.errors:
                raise ImportRejected(_sorted(ctx.errors, schema))
            counts = schema.apply(ctx, write=not dry_run)
            if not dry_run:
                schema.after_write(ctx)
            seconds = time.monotonic() - started
            job = ImportJob.objects.create(
                kind=kind,
                source=source,
                filename=filename[:255],
                sha256=sha256,
                status=ImportJob.Status.DRY_RUN if dry_run else ImportJob.Status.DONE,
                rows=len(ctx.rows),
                created=counts.created,
                updated=counts.updated,
                unchanged=counts.unchanged,
                errors=[],
                actor=_user(actor),
                organisation_id=_org_id(actor),
                seconds=seconds,
            )
            if not dry_run:
                log = audit.record(
                    actor=_user(actor),
                    action=f"import_{kind}"[:64],
                    obj=job,
                    summary=f"导入 {kind} {filename}：新增 {counts.created}，更新 {counts.updated}，未变 {counts.unchanged}",
                    changes={
                        "kind": kind,
                        "file": filename,
                        "sha256": sha256,
                        "rows": len(ctx.rows),
                        "created": counts.created,
                        "updated": counts.updated,
                        "unchanged": counts.unchanged,
                    },
                )
                if _user(actor) is None and _org_id(actor) is not None:
                    # audit.record only takes users; an API token still acts for its organisation.
                    type(log).objects.filter(pk=log.pk).update(organisation_id=_org_id(actor))
    except (ImportRejected, UnreadableFile) as exc:
        errors = exc.errors if isinstance(exc, ImportRejected) else [RowError(0, "", exc.message)]
        ImportJob.objects.create(
            kind=kind,
            source=source,
            filename=filename[:255],
            sha256=sha256,
            status=ImportJob.Status.REJECTED,
            rows=len(ctx.rows),
            errors=[e.as_dict() for e in errors[:STORED_ERRORS]],
            actor=_user(actor),
            organisation_id=_org_id(actor),
            seconds=time.monotonic() - started,
        )
        raise
    return ImportResult(
        kind=kind,
        rows=len(ctx.rows),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        dry_run=dry_run,
        warnings=_sorted(ctx.warnings, schema),
        job_id=job.pk,
        seconds=seconds,
    )
