"""`jicai export` (SPEC §10, §13): the indicator inputs of one province as Parquet under DIR/<province>/.

One file per table; the schema is the model's concrete fields (foreign keys as their `<name>_id` column), with
money and quantities as decimal(max_digits, decimal_places), dates as date32 and timestamps in UTC. Rows are
streamed from the database in chunks; a province is written into a temporary folder beside the target and
renamed over it, so a reader never sees a half-written province."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.apps import apps
from django.db import models

from jicai.core.fields import ScaledDecimalField
from jicai.registry.models import Region

CHUNK = 50_000


@dataclass(frozen=True)
class Table:
    name: str
    model: str  # "app_label.Model"
    # The lookup from this model to the institution's or region's path; None = master data, exported whole.
    path_lookup: str | None


# The inputs of §7: master data, batches and winners, agreements and agreed volumes, order lines with their
# deliveries, receipts and payments, and usage.
TABLES = (
    Table("regions", "registry.Region", "path"),
    Table("institutions", "registry.Institution", "region__path"),
    Table("companies", "registry.Company", None),
    Table("products", "registry.Product", None),
    Table("batches", "batches.Batch", None),
    Table("agreement_years", "batches.AgreementYear", None),
    Table("items", "batches.Item", None),
    Table("winners", "batches.Winner", None),
    Table("agreements", "agreements.PurchaseAgreement", "institution__region__path"),
    Table("agreed_volumes", "agreements.AgreedVolume", "institution__region__path"),
    Table("order_lines", "trade.OrderLine", "institution__region__path"),
    Table("deliveries", "trade.Delivery", "line__institution__region__path"),
    Table("receipts", "trade.Receipt", "line__institution__region__path"),
    Table("payments", "trade.Payment", "line__institution__region__path"),
    Table("usage_lines", "trade.UsageLine", "institution__region__path"),
)


def _arrow_type(field: models.Field) -> pa.DataType:
    if isinstance(field, models.ForeignKey):
        return _arrow_type(field.target_field)
    if isinstance(field, ScaledDecimalField):  # integer cents / 1e-4 yuan in the database, decimal here
        return pa.decimal128(18, field.places)
    if isinstance(field, models.DecimalField):
        return pa.decimal128(field.max_digits, field.decimal_places)
    if isinstance(field, models.DateTimeField):
        return pa.timestamp("us", tz="UTC")
    if isinstance(field, models.DateField):
        return pa.date32()
    if isinstance(field, models.BooleanField):
        return pa.bool_()
    if isinstance(field, (models.AutoField, models.BigAutoField, models.IntegerField)):
        return pa.int64()
    if isinstance(field, models.FloatField):
        return pa.float64()
    if isinstance(field, models.JSONField):
        return pa.string()
    return pa.string()


def table_schema(model: type[models.Model]) -> tuple[list[str], pa.Schema]:
    fields = [f for f in model._meta.concrete_fields]
    columns = [f.attname for f in fields]
    schema = pa.schema([pa.field(f.attname, _arrow_type(f), nullable=True) for f in fields])
    return columns, schema


def _rows(model, columns, region: Region, path_lookup: str | None):
    qs = model._default_manager.all()
    if path_lookup:
        qs = qs.filter(**{f"{path_lookup}__startswith": region.path})
    return qs.order_by("pk").values_list(*columns).iterator(chunk_size=CHUNK)


def _write_table(target: Path, model, region: Region, path_lookup, progress) -> int:
    columns, schema = table_schema(model)
    json_columns = {i for i, f in enumerate(model._meta.concrete_fields) if isinstance(f, models.JSONField)}
    written = 0
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        chunk: list[tuple] = []

        def flush():
            nonlocal written
            if not chunk:
                return
            cols = list(zip(*chunk, strict=True))
            if json_columns:
                import json

                cols = [
                    [None if v is None else json.dumps(v, ensure_ascii=False) for v in c]
                    if i in json_columns
                    else c
                    for i, c in enumerate(cols)
                ]
            writer.write_table(
                pa.Table.from_arrays(
                    [pa.array(c, type=t) for c, t in zip(cols, schema.types, strict=True)], schema=schema
                )
            )
            written += len(chunk)
            progress(written)
            chunk.clear()

        for row in _rows(model, columns, region, path_lookup):
            chunk.append(row)
            if len(chunk) >= CHUNK:
                flush()
        flush()
        if written == 0:
            writer.write_table(schema.empty_table())
    return written


def export_province(directory: Path, region: Region, say: Callable[[str], None]) -> dict[str, int]:
    """Write one province atomically; returns rows per table."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / region.province_code
    tmp = Path(tempfile.mkdtemp(prefix=f".{region.province_code}-", dir=directory))
    counts: dict[str, int] = {}
    try:
        for table in TABLES:
            model = apps.get_model(table.model)
            counts[table.name] = _write_table(
                tmp / f"{table.name}.parquet",
                model,
                region,
                table.path_lookup,
                lambda n, name=table.name: say(f"{region.province_code} {name}: {n} 行"),
            )
        old = None
        if final.exists():
            old = directory / f".{region.province_code}-old-{os.getpid()}"
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts
