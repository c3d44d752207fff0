"""The one import pipeline used by the CLI, the upload page and the bulk API (SPEC §9, §10).

read → map headers → parse every row → duplicate keys → resolve references in bulk → compare with the
database → write (one transaction) → ImportJob + audit row. Any row error rejects the whole file:
nothing is written and every error is reported (`ImportRejected`).
"""

import csv
import hashlib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import IntegrityError, transaction

from jicai.accounts import access
from jicai.core import audit
from jicai.core.errors import ImportRejected, NotFound, RowError
from jicai.ingest.models import ImportJob
from jicai.ingest.readers import (
    NOT_DECODABLE,
    RAGGED,
    XLSX_MAGIC,
    Table,
    UnreadableFile,
    detect_encoding,
    ragged_reason,
    read_json_rows,
    read_upload,
    row_cells,
)
from jicai.ingest.schemas import SCHEMAS
from jicai.ingest.schemas.base import Counts, ImportContext, Row, Schema

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
            if RAGGED in raw:
                ctx.error(number, "", ragged_reason(len(table.header), raw))
                continue
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


def _record_job(*, kind, source, filename, sha256, dry_run, rows, counts, actor, seconds) -> ImportJob:
    """The ImportJob of a successful run (or dry run) and, for a real import, its audit row."""
    job = ImportJob.objects.create(
        kind=kind,
        source=source,
        filename=filename[:255],
        sha256=sha256,
        status=ImportJob.Status.DRY_RUN if dry_run else ImportJob.Status.DONE,
        rows=rows,
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
                "rows": rows,
                "created": counts.created,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
            },
        )
        if _user(actor) is None and _org_id(actor) is not None:
            # audit.record only takes users; an API token still acts for its organisation.
            type(log).objects.filter(pk=log.pk).update(organisation_id=_org_id(actor))
    return job


def _record_rejection(*, kind, source, filename, sha256, rows, errors, actor, seconds) -> None:
    ImportJob.objects.create(
        kind=kind,
        source=source,
        filename=filename[:255],
        sha256=sha256,
        status=ImportJob.Status.REJECTED,
        rows=rows,
        errors=[e.as_dict() for e in errors[:STORED_ERRORS]],
        actor=_user(actor),
        organisation_id=_org_id(actor),
        seconds=seconds,
    )


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
    if getattr(schema, "streaming", False):
        return run_streamed(
            schema,
            rows_or_file=rows_or_file,
            actor=actor,
            source=source,
            filename=filename,
            dry_run=dry_run,
            batch_code=batch_code,
            progress=progress,
        )
    started = time.monotonic()
    sha256 = ""
    ctx = ImportContext(schema, batch_code=batch_code)
    ctx.actor, ctx.source = actor, source
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
                if kind in ("items", "winners", "batches"):
                    from jicai.compliance.overlaps import detect_overlaps

                    detect_overlaps()  # SPEC §15: new national/provincial overlaps await the bureau
            seconds = time.monotonic() - started
            job = _record_job(
                kind=kind,
                source=source,
                filename=filename,
                sha256=sha256,
                dry_run=dry_run,
                rows=len(ctx.rows),
                counts=counts,
                actor=actor,
                seconds=seconds,
            )
    except (ImportRejected, UnreadableFile) as exc:
        errors = exc.errors if isinstance(exc, ImportRejected) else [RowError(0, "", exc.message)]
        _record_rejection(
            kind=kind,
            source=source,
            filename=filename,
            sha256=sha256,
            rows=len(ctx.rows),
            errors=errors,
            actor=actor,
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


# ---- the streamed path (transaction kinds: orders, deliveries, receipts, payments, usage) -----------------
#
# ERP/HIS files run to millions of lines, so these kinds never hold the whole file: rows are read as a
# stream and handled in chunks (parse → bulk lookups → checks against the database → bulk write) inside ONE
# transaction. Checks that span chunks (running totals, order headers, keys sent twice) see the rows earlier
# chunks wrote. Any row error anywhere rolls the whole transaction back, so the import stays all-or-nothing;
# a dry run is a real run that is always rolled back.

STREAM_CHUNK = 10_000


class _HashingReader(io.RawIOBase):
    """A binary stream that feeds everything read through it into a SHA-256."""

    def __init__(self, raw):
        self.raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        self.digest.update(data)
        buffer[: len(data)] = data
        return len(data)


class _Stream:
    """Header (None for JSON rows) and an iterator of (row number, {header: text}); sha256 once consumed."""

    def __init__(self, header, records, sha256):
        self.header = header
        self.records = records
        self._sha256 = sha256

    @property
    def sha256(self) -> str:
        return self._sha256() if callable(self._sha256) else self._sha256


def _csv_records(reader, first_number: int, header: list[str]):
    try:
        for number, raw in enumerate(reader, start=first_number):
            values = [v.strip() for v in raw]
            if not any(values):
                continue
            yield number, row_cells(header, values)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(NOT_DECODABLE) from exc
    except csv.Error as exc:
        raise UnreadableFile(f"CSV 格式错误：{exc}") from exc


def _open_stream(rows_or_file, filename: str) -> tuple[_Stream, str]:
    if isinstance(rows_or_file, list):
        table, sha256 = _load(rows_or_file, filename)
        return _Stream(None, iter(table.rows), sha256), filename
    if isinstance(rows_or_file, str | Path):
        path = Path(rows_or_file)
        filename = filename or path.name
        try:
            raw = path.open("rb")
        except OSError as exc:
            raise UnreadableFile(f"无法读取文件 {path}：{exc.strerror or exc}") from exc
    elif isinstance(rows_or_file, bytes | bytearray):
        raw = io.BytesIO(bytes(rows_or_file))
    elif hasattr(rows_or_file, "read"):
        raw = io.BytesIO(rows_or_file.read())
    else:
        raise UnreadableFile("无法识别的导入数据")
    suffix = Path(filename).suffix.lower()
    magic = raw.read(4)
    raw.seek(0)
    if (
        suffix in {".xlsx", ".xls"}
        or (suffix != ".csv" and magic == XLSX_MAGIC)
        or (suffix and suffix not in {".csv", ".txt", ".xlsx", ".xls"})
    ):
        # Spreadsheets are read whole (XLSX cannot be streamed row by row cheaply); big feeds come as CSV.
        content = raw.read()
        raw.close()
        table = read_upload(content, filename)
        return _Stream(table.header, iter(table.rows), hashlib.sha256(content).hexdigest()), filename
    encoding = detect_encoding(raw)
    hashing = _HashingReader(raw)
    text = io.TextIOWrapper(io.BufferedReader(hashing, 1 << 20), encoding=encoding, newline="")
    reader = csv.reader(text)
    header = None
    number = 0
    try:
        for raw_header in reader:
            number += 1
            values = [v.strip() for v in raw_header]
            if any(values):
                header = values
                break
    except UnicodeDecodeError as exc:
        raise UnreadableFile(NOT_DECODABLE) from exc
    except csv.Error as exc:
        raise UnreadableFile(f"CSV 格式错误：{exc}") from exc
    if header is None:
        raise UnreadableFile("文件为空：没有表头行")

    def sha256() -> str:
        # Whatever the reader has not consumed yet still belongs to the file's hash.
        while hashing.read(1 << 20):
            pass
        return hashing.digest.hexdigest()

    return _Stream(header, _csv_records(reader, number + 1, header), sha256), filename


def _header_rename(schema: Schema, header: list[str], ctx: ImportContext) -> dict[str, str]:
    """The same header rules as _map_rows: unknown columns warn, duplicates and missing ones are errors."""
    mapping = schema.header_map()
    seen: dict[str, str] = {}
    for name in header:
        column = mapping.get(name.strip().lower())
        if column is None:
            if name.strip():
                ctx.warn(1, name, "未知的列，已忽略")
            continue
        if column in seen:
            ctx.error(1, column, f"列重复：{seen[column]} 与 {name}")
        seen[column] = name
    for column in schema.required_columns(ctx):
        if column not in seen:
            ctx.error(1, column, "缺少必需的列")
    return {h: mapping[h.strip().lower()] for h in header if h.strip().lower() in mapping}


def _json_row(schema: Schema, ctx: ImportContext, number: int, raw: dict, unknown: set) -> Row | None:
    if "__invalid__" in raw:
        ctx.error(number, "", "每一行应为一个对象")
        return None
    mapping = schema.header_map()
    values = {}
    for key, value in raw.items():
        name = mapping.get(key.lower())
        if name is None:
            unknown.add(key)
        else:
            values[name] = value
    row = Row(number, values)
    for name in schema.required_columns(ctx):
        if name not in values:
            ctx.error(row, name, "缺少字段")
    return row


class _DryRunDone(Exception):
    """Rolls a successful dry run back."""


def run_streamed(
    schema: Schema,
    *,
    rows_or_file,
    actor,
    source: str,
    filename: str = "",
    dry_run: bool = False,
    batch_code: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    kind = schema.kind
    started = time.monotonic()
    ctx = ImportContext(schema, batch_code=batch_code)
    ctx.actor, ctx.source = actor, source
    stream = None
    total = 0
    counts = Counts()
    try:
        stream, filename = _open_stream(rows_or_file, filename)
        rename = _header_rename(schema, stream.header, ctx) if stream.header is not None else None
        header_bad = bool(ctx.errors)
        unknown: set[str] = set()
        try:
            with transaction.atomic():
                if not header_bad:
                    schema.start(ctx)
                chunk: list[Row] = []
                for number, raw in stream.records:
                    total += 1
                    if header_bad:
                        continue  # every row would fail on the missing column: count them only
                    if RAGGED in raw:
                        ctx.error(number, "", ragged_reason(len(stream.header), raw))
                        continue
                    if rename is not None:
                        row = Row(number, {rename[h]: v for h, v in raw.items() if h in rename})
                    else:
                        row = _json_row(schema, ctx, number, raw, unknown)
                        if row is None:
                            continue
                    chunk.append(row)
                    if len(chunk) >= STREAM_CHUNK:
                        _process_chunk(schema, ctx, chunk, counts)
                        chunk = []
                        if progress:
                            progress(total, total)  # a stream's length is known only at its end
                if chunk:
                    _process_chunk(schema, ctx, chunk, counts)
                if progress and total:
                    progress(total, total)
                for key in sorted(unknown):
                    ctx.warn(0, key, "未知的字段，已忽略")
                if ctx.errors:
                    raise ImportRejected(_sorted(ctx.errors, schema))
                if dry_run:
                    raise _DryRunDone
                seconds = time.monotonic() - started
                job = _record_job(
                    kind=kind,
                    source=source,
                    filename=filename,
                    sha256=stream.sha256,
                    dry_run=False,
                    rows=total,
                    counts=counts,
                    actor=actor,
                    seconds=seconds,
                )
        except _DryRunDone:
            seconds = time.monotonic() - started
            job = _record_job(
                kind=kind,
                source=source,
                filename=filename,
                sha256=stream.sha256,
                dry_run=True,
                rows=total,
                counts=counts,
                actor=actor,
                seconds=seconds,
            )
        except IntegrityError as exc:
            # Another import wrote the same keys between our checks and our insert: nothing of ours stays.
            raise ImportRejected([RowError(0, "", f"数据被同时修改（并发导入），请重新提交：{exc}")]) from exc
    except (ImportRejected, UnreadableFile) as exc:
        errors = exc.errors if isinstance(exc, ImportRejected) else [RowError(0, "", exc.message)]
        sha256 = ""
        if stream is not None:
            try:
                sha256 = stream.sha256
            except (UnreadableFile, OSError, ValueError):
                sha256 = ""
        _record_rejection(
            kind=kind,
            source=source,
            filename=filename,
            sha256=sha256,
            rows=total,
            errors=errors,
            actor=actor,
            seconds=time.monotonic() - started,
        )
        raise
    return ImportResult(
        kind=kind,
        rows=total,
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        dry_run=dry_run,
        warnings=_sorted(ctx.warnings, schema),
        job_id=job.pk,
        seconds=seconds,
    )


def _process_chunk(schema: Schema, ctx: ImportContext, chunk: list[Row], counts: Counts) -> None:
    ctx.rows = chunk
    for row in chunk:
        if row.ok:
            schema.parse(ctx, row)
    # Good rows of a chunk are written even when other rows failed: later chunks are then checked against
    # a consistent state, and the transaction is rolled back at the end anyway.
    result = schema.process(ctx)
    counts.created += result.created
    counts.updated += result.updated
    counts.unchanged += result.unchanged
