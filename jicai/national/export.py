"""`jicai export` (SPEC §10, §13): the indicator inputs of one province as Parquet under DIR/<province>/.

One file per table; the schema is the model's concrete fields (foreign keys as their `<name>_id` column), with
money and quantities as decimal(max_digits, decimal_places), dates as date32 and timestamps in UTC. Rows are
streamed from the database in chunks into DuckDB's Parquet writer (write_parquet); a province is written into a
temporary folder beside the target and renamed over it, so a reader never sees a half-written province."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from django.apps import apps
from django.db import models

from jicai.core.fields import ScaledDecimalField
from jicai.national.engines import quote_path
from jicai.registry.models import Region

CHUNK = 50_000
ROW_GROUP = 122_880


@dataclass(frozen=True)
class Table:
    name: str
    model: str  # "app_label.Model"
    # The lookup from this model to the institution's or region's path; None = master data, exported whole.
    path_lookup: str | None
    # Columns of the row's order line carried on each row, as `line_<attname>` after the model's own fields.
    line_columns: tuple[str, ...] = ()


LINE_COLUMNS = ("institution_id", "product_id", "item_id", "ordered_on")

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
    Table("listing_prices", "batches.ListingPrice", None),  # 挂网价 per product and province: PRICE_ABOVE_CAP
    Table("item_factors", "batches.ItemFactor", None),
    Table("substitutes", "batches.Substitute", None),
    Table("agreements", "agreements.PurchaseAgreement", "institution__region__path"),
    Table("agreed_volumes", "agreements.AgreedVolume", "institution__region__path"),
    Table("orders", "trade.Order", "institution__region__path"),
    Table("order_lines", "trade.OrderLine", "institution__region__path"),
    Table("deliveries", "trade.Delivery", "line__institution__region__path"),
    # A receipt carries its line's institution, product, item and order day: the purchase events of §7 are
    # receipts with those, and with them no engine joins a province's 13 M receipts to its 13 M lines (the
    # national warehouse's fact rows carry their dimensions; that join was a sixth of a province's run on
    # DuckDB, bench/RESULTS.md session 18). A receipt's line never changes, so the copies cannot drift.
    Table("receipts", "trade.Receipt", "line__institution__region__path", LINE_COLUMNS),
    Table("payments", "trade.Payment", "line__institution__region__path"),
    Table("usage_lines", "trade.UsageLine", "institution__region__path"),
    Table("batch_overlaps", "compliance.BatchOverlap", None),
    # Suppliers' monthly reports (company × item × month, national like the winners): LATE_SUPPLIER_REPORT.
    Table("supplier_reports", "trade.SupplierMonthlyReport", None),
    # Working-day deadlines travel as per-row due dates, not as a calendar table: a ticket's reply_due /
    # fix_due and a tranche's due_on are computed by the province (tickets.rules, funds.prepayment) with the
    # official working-day calendar when the row is written (and moved by `jicai sla` when a provisional
    # deadline's year gets its calendar), so they are facts of the row. The one definition then only
    # compares dates, and cannot drift from the province's own deadline rules (调休, provisional years).
    Table("tickets", "tickets.Ticket", "institution__region__path"),
    Table("prepayment_tranches", "funds.PrepaymentTranche", "institution__region__path"),
    # Confirmed quarterly limits of catalogue substitutes per institution (SPEC §11): SUBSTITUTE_LIMIT_EXCEEDED.
    Table("substitute_limits", "prescribing.SubstituteLimit", "institution__region__path"),
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


def table_schema(
    model: type[models.Model], line_columns: tuple[str, ...] = ()
) -> tuple[list[str], pa.Schema]:
    """The lookups to read and the Arrow schema: the model's concrete fields, then its line's `line_columns`."""
    fields = [(f.attname, f.attname, f) for f in model._meta.concrete_fields]
    if line_columns:
        line = model._meta.get_field("line").related_model
        by_attname = {f.attname: f for f in line._meta.concrete_fields}
        fields += [(f"line__{name}", f"line_{name}", by_attname[name]) for name in line_columns]
    columns = [lookup for lookup, _name, _f in fields]
    schema = pa.schema([pa.field(name, _arrow_type(f), nullable=True) for _lookup, name, f in fields])
    return columns, schema


def _rows(model, columns, region: Region, path_lookup: str | None):
    qs = model._default_manager.all()
    if path_lookup:
        qs = qs.filter(**{f"{path_lookup}__startswith": region.path})
    return qs.order_by("pk").values_list(*columns).iterator(chunk_size=CHUNK)


def write_parquet(target: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> None:
    """Write the batches (pulled one at a time) as one Parquet file through DuckDB's writer, Snappy-compressed
    in row groups of 122,880 rows. Measured on a province's export (bench/RESULTS.md, session 14): `jicai
    national` on DuckDB took 15.0 s on these files against 17.7 s on pyarrow's zstd files (and 17.2–17.6 s
    on pyarrow's with decimals as integers, Snappy or zstd); the files are about 20 % larger. Snappy is
    Spark's default codec too. DuckDB runs on one thread here, so it pulls the batches on this thread (the
    database cursor behind them belongs to it)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.register("export_rows", pa.RecordBatchReader.from_batches(schema, iter(batches)))
        con.execute(
            f"COPY (SELECT * FROM export_rows) TO {quote_path(target)}"
            f" (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE {ROW_GROUP})"
        )
    finally:
        con.close()


def _write_table(target: Path, model, region: Region, table: Table, progress) -> int:
    columns, schema = table_schema(model, table.line_columns)
    json_columns = {i for i, f in enumerate(model._meta.concrete_fields) if isinstance(f, models.JSONField)}
    written = 0

    def batch(chunk: list[tuple]) -> pa.RecordBatch:
        cols = list(zip(*chunk, strict=True))
        if json_columns:
            import json

            cols = [
                [None if v is None else json.dumps(v, ensure_ascii=False) for v in c]
                if i in json_columns
                else c
                for i, c in enumerate(cols)
            ]
        return pa.RecordBatch.from_arrays(
            [pa.array(c, type=t) for c, t in zip(cols, schema.types, strict=True)], schema=schema
        )

    def batches():
        nonlocal written
        chunk: list[tuple] = []
        for row in _rows(model, columns, region, table.path_lookup):
            chunk.append(row)
            if len(chunk) >= CHUNK:
                yield batch(chunk)
                written += len(chunk)
                progress(written)
                chunk = []
        if chunk:
            yield batch(chunk)
            written += len(chunk)
            progress(written)

    write_parquet(target, schema, batches())
    return written


# The policy in force per (region with institutions, batch), resolved here by policy.resolve (inheritance is the
# province's business): batch_id 0 = the region's policy for lines of no batch. Only the parameters of §7.
POLICY_COLUMNS = (
    ("progress_basis", pa.string()),
    ("progress_tolerance", pa.decimal128(20, 10)),
    ("over_purchase_multiple", pa.decimal128(20, 10)),
    ("delivery_rate_floor", pa.decimal128(20, 10)),
    ("delivery_rate_tier1", pa.decimal128(20, 10)),
    ("delivery_rate_tier2", pa.decimal128(20, 10)),
    ("delivery_rate_tier3", pa.decimal128(20, 10)),
    ("delivery_grace_days", pa.int64()),
    ("receipt_confirm_days", pa.int64()),
    ("payment_due_days", pa.int64()),
    ("abnormal_order_multiple", pa.decimal128(20, 10)),
    ("substitute_growth_threshold", pa.decimal128(20, 10)),
    ("listing_cap_multiple", pa.decimal128(20, 10)),
    ("company_report_day", pa.int64()),
    ("forecast_window_days", pa.int64()),
    ("admission_check_month", pa.int64()),
)
POLICY_SCHEMA = pa.schema(
    [pa.field("region_id", pa.int64()), pa.field("batch_id", pa.int64())]
    + [pa.field(name, type_) for name, type_ in POLICY_COLUMNS]
)


def _write_policies(target: Path, region: Region) -> int:
    from jicai.batches.models import Batch
    from jicai.policy.resolve import PolicyResolver

    resolver = PolicyResolver.load()
    batches = [None, *Batch.objects.order_by("pk")]
    regions = Region.objects.filter(path__startswith=region.path, institutions__isnull=False).distinct()
    rows = []
    for r in regions.order_by("pk"):
        for batch in batches:
            policy = resolver.resolve(r, batch)
            values = {name: getattr(policy, name, None) for name, _ in POLICY_COLUMNS if "tier" not in name}
            tiers = policy.delivery_rate_tiers
            values.update(
                delivery_rate_tier1=tiers[0], delivery_rate_tier2=tiers[1], delivery_rate_tier3=tiers[2]
            )
            rows.append({"region_id": r.pk, "batch_id": batch.pk if batch else 0, **values})
    table = pa.Table.from_pylist(rows, schema=POLICY_SCHEMA)
    write_parquet(target, POLICY_SCHEMA, table.to_batches())
    return len(rows)


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
                table,
                lambda n, name=table.name: say(f"{region.province_code} {name}: {n} 行"),
            )
        counts["policies"] = _write_policies(tmp / "policies.parquet", region)
        say(f"{region.province_code} policies: {counts['policies']} 行")
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
