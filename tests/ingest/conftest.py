"""Helpers for import tests: build CSV/XLSX bytes, run an import, snapshot every table it may write."""

import io

import pytest

from jicai.batches.models import AgreementYear, Batch, Item, ItemFactor, ListingPrice, Substitute, Winner
from jicai.core.models import AuditLog
from jicai.ingest.models import ImportJob
from jicai.ingest.pipeline import run_import
from jicai.registry.models import Company, Consortium, Institution, Product, Region

WRITTEN_MODELS = (
    Region,
    Consortium,
    Institution,
    Company,
    Product,
    Batch,
    AgreementYear,
    Item,
    Winner,
    ItemFactor,
    Substitute,
    ListingPrice,
)


def csv_bytes(header: str, *rows: str, bom: bool = False) -> bytes:
    text = "\n".join([header, *rows]) + "\n"
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def xlsx_bytes(header: list[str], rows: list[list]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if hasattr(value, "isoformat"):
                sheet.write_datetime(r, c, value, date_format)
            else:
                sheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def state() -> dict:
    """Every row of every table an import may touch, for 'nothing changed' assertions."""
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in WRITTEN_MODELS}


def errors_of(exc) -> list[tuple[int, str]]:
    return [(e.row, e.column) for e in exc.errors]


@pytest.fixture
def load(db):
    """load(kind, content_bytes, filename="x.csv", **kw) → ImportResult, run as the system (CLI actor)."""

    def run(kind: str, content, filename: str = "data.csv", **kwargs):
        kwargs.setdefault("actor", None)
        kwargs.setdefault("source", "cli")
        return run_import(kind=kind, rows_or_file=content, filename=filename, **kwargs)

    return run


@pytest.fixture
def jobs(db):
    return ImportJob.objects


@pytest.fixture
def audits(db):
    return AuditLog.objects
