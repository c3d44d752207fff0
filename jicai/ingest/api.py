"""Bulk import API (SPEC §10): JSON rows or an uploaded file, all-or-nothing, idempotent; job list."""

import datetime as dt

from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate

from jicai.api.pagination import with_errors
from jicai.core.errors import ImportRejected
from jicai.ingest import queries
from jicai.ingest.pipeline import run_import

router = Router()

# A rejected import is unprocessable content, not a malformed request: the bulk API answers 422.
REJECTED_STATUS = 422


def _run(**kwargs) -> dict:
    try:
        return run_import(**kwargs).as_dict()
    except ImportRejected as exc:
        exc.status = REJECTED_STATUS
        raise


class ImportIn(Schema):
    rows: list[dict]
    dry_run: bool = False
    batch: str | None = None


class RowErrorOut(Schema):
    row: int
    column: str
    reason: str


class ImportOut(Schema):
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    warnings: list[RowErrorOut]


class JobOut(Schema):
    id: int
    kind: str
    source: str
    filename: str
    sha256: str
    status: str
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]
    started_at: dt.datetime
    seconds: float


@router.post("/imports/{kind}", response=with_errors(ImportOut, 400, 403, 404), summary="批量导入（JSON 行）")
def import_rows(request, kind: str, payload: ImportIn):
    """Rows are objects keyed by the CSV column names; errors answer 422 with every bad row."""
    return _run(
        kind=kind,
        rows_or_file=payload.rows,
        actor=request.actor,
        source="api",
        dry_run=payload.dry_run,
        batch_code=payload.batch,
    )


@router.post(
    "/imports/{kind}/file",
    response=with_errors(ImportOut, 400, 403, 404),
    summary="批量导入（上传 CSV/XLSX 文件）",
)
def import_file(
    request,
    kind: str,
    file: File[UploadedFile],
    dry_run: Form[bool] = False,
    batch: Form[str | None] = None,
):
    return _run(
        kind=kind,
        rows_or_file=file.read(),
        actor=request.actor,
        source="api",
        filename=file.name or "",
        dry_run=dry_run,
        batch_code=batch or None,
    )


@router.get("/imports", response=with_errors(list[JobOut]), summary="本机构的导入记录")
@paginate
def list_imports(request):
    return queries.list_jobs(request.actor)
