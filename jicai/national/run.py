"""`jicai national` (SPEC §10, §13): the §7 indicators of every province exported under DIR, on DuckDB or
Spark, from the one definition in indicators.py.

The run checks every input file first (present, a readable Parquet footer, the columns the definition
reads) and names the first bad one; it builds the contexts from the exported policies with the same code as
`jicai monitor` (monitoring.facts._context), runs the steps, and writes facts, alerts and rankings into a
temporary folder beside the output, renamed into place only when everything succeeded."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jicai.funds.findings import _month_number
from jicai.hospital.queries import quarter_bounds
from jicai.monitoring.evaluate import _number
from jicai.monitoring.facts import NO_BATCH, _context, agreement_year_for, one_year_before
from jicai.national import indicators
from jicai.national.alert_json import alerts_json
from jicai.national.engines import KEY_SHIFT, compile_sql, is_key, make_engine
from jicai.national.rankings import RANKING_SHEETS, write_rankings
from jicai.prescribing.rule import quarter_of
from jicai.trade import rules as trade_rules

PROVINCE_DIR = re.compile(r"^\d{6}$")


class NationalInputError(Exception):
    """A missing or unreadable input file (the message names it)."""


@dataclass
class NationalResult:
    as_of: dt.date
    provinces: list[str]
    alert_count: int
    # The printed alerts as the JSON array text (alert_json.alerts_json): made column-wise, not per alert.
    alerts_json: str
    output: Path

    @property
    def alerts(self) -> list[dict]:
        """The alerts as dicts (parsed from alerts_json; for the table format and tests)."""
        return json.loads(self.alerts_json)


def province_dirs(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        raise NationalInputError(f"导出目录不存在：{directory}")
    found = {p.name: p for p in sorted(directory.iterdir()) if p.is_dir() and PROVINCE_DIR.match(p.name)}
    if not found:
        raise NationalInputError(f"目录中没有省份导出数据（DIR/<省代码>/）：{directory}")
    return found


def check_inputs(provinces: dict[str, Path]) -> dict[str, dict[str, Path]]:
    """table → province → file, after checking each file is there and readable with the needed columns."""
    files: dict[str, dict[str, Path]] = {}
    for code, folder in provinces.items():
        for table, columns in indicators.INPUT_COLUMNS.items():
            path = folder / f"{table}.parquet"
            if not path.is_file():
                raise NationalInputError(f"缺少 Parquet 文件：{path}")
            try:
                metadata = pq.read_metadata(path)
            except Exception as exc:  # noqa: BLE001 - any reader error means the file is unusable
                raise NationalInputError(f"Parquet 文件损坏或无法读取：{path}（{exc}）") from None
            schema = metadata.schema.to_arrow_schema()
            missing = [c for c in columns if c not in schema.names]
            if missing:
                raise NationalInputError(f"Parquet 文件缺少列 {', '.join(missing)}：{path}")
            for column in columns:
                if is_key(column, pa.types.is_integer(schema.field(column).type)):
                    if _largest(path, metadata, schema.get_field_index(column)) >= KEY_SHIFT:
                        raise NationalInputError(
                            f"Parquet 文件的 {column} 超出 2^40，无法合并各省的编号：{path}"
                        )
            files.setdefault(table, {})[code] = path
    return files


def _largest(path: Path, metadata: pq.FileMetaData, index: int) -> int:
    """The largest value of an integer column, from the row groups' statistics in the footer (read from the
    column itself when a row group has none)."""
    largest = 0
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            column = pq.read_table(
                path, columns=[metadata.schema.to_arrow_schema().field(index).name]
            ).column(0)
            return max(largest, pc.max(column).as_py() or 0)
        largest = max(largest, stats.max)
    return largest


CTX_SCHEMA = pa.schema(
    # The province as an integer key (engines.py: inside the engines; the files carry the code as text).
    [("province", pa.int32())]
    + [(c, pa.int64()) for c in ("region_id", "batch_id", "province_id", "year_id")]
    + [
        (c, pa.date32())
        for c in (
            "s",
            "d",
            "ly_s",
            "ly_e",
            "sd_e",
            "s90",
            "grace_cut",
            "receipt_cut",
            "fw_s",
            "report_month",
            "report_due",
            "quarter_start",
        )
    ]
    + [("basis", pa.string()), ("quarter", pa.string())]
    + [
        (c, pa.int64())
        for c in (
            "elapsed",
            "total_days",
            "receipt_days",
            "pay_days",
            "fw_days",
            "fw_remaining",
            "fw_ready",
            "company_report_day",
            "admission_check_month",
            "admission_month",
        )
    ]
    + [
        (c, pa.decimal128(20, 10))
        for c in (
            "tolerance",
            "over_mult",
            "floor_rate",
            "t1",
            "t2",
            "t3",
            "growth",
            "abnormal_multiple",
            "listing_cap_multiple",
        )
    ]
)


def _read(path: Path, columns) -> list[dict]:
    try:
        return pq.read_table(path, columns=list(columns)).to_pylist()
    except Exception as exc:  # noqa: BLE001
        raise NationalInputError(f"Parquet 文件损坏或无法读取：{path}（{exc}）") from None


def build_contexts(files: dict[str, dict[str, Path]], as_of: dt.date) -> pa.Table:
    """The `ctx` table: per province, the contexts `jicai monitor` would build (one per region with
    institutions and started batch, plus batch 0), from the small exported tables read on the driver."""
    rows = []
    for code in sorted(files["policies"]):
        regions = _read(files["regions"][code], ("id", "code"))
        province = next((SimpleNamespace(pk=r["id"]) for r in regions if r["code"] == code), None)
        if province is None:
            raise NationalInputError(f"省份 {code} 的 regions.parquet 中没有该省：{files['regions'][code]}")
        batches = {
            b["id"]: SimpleNamespace(pk=b["id"])
            for b in _read(files["batches"][code], ("id", "cycle_start"))
            if b["cycle_start"] <= as_of
        }
        years: dict[int, list] = {}
        for y in _read(files["agreement_years"][code], ("id", "batch_id", "number", "start", "end")):
            years.setdefault(y["batch_id"], []).append(
                SimpleNamespace(pk=y["id"], number=y["number"], start=y["start"], end=y["end"])
            )
        for p in _read(files["policies"][code], [f.name for f in pq.read_schema(files["policies"][code])]):
            batch = batches.get(p["batch_id"]) if p["batch_id"] != NO_BATCH else None
            if p["batch_id"] != NO_BATCH and batch is None:
                continue  # not started
            year = agreement_year_for(years.get(p["batch_id"], []), as_of) if batch else None
            if batch is not None and year is None:
                continue
            policy = SimpleNamespace(
                **p,
                delivery_rate_tiers=(
                    p["delivery_rate_tier1"],
                    p["delivery_rate_tier2"],
                    p["delivery_rate_tier3"],
                ),
            )
            c = _context(SimpleNamespace(pk=p["region_id"]), province, batch, year, as_of, policy)
            # LATE_SUPPLIER_REPORT: the month whose report is past due on D and its due day (trade.rules,
            # as monitoring.facts._missing_reports), calendar arithmetic done once here like the other dates.
            month = trade_rules.latest_overdue_report_month(as_of, p["company_report_day"])
            c.update(
                report_month=month, report_due=trade_rules.monthly_report_due(month, p["company_report_day"])
            )
            # NOT_ADMITTED (funds.findings.not_admitted): the month of D in the context's year, when D is in it.
            running = year is not None and year.start <= as_of <= year.end
            c.update(
                admission_check_month=p["admission_check_month"],
                admission_month=_month_number(year.start, as_of) if running else None,
            )
            # SUBSTITUTE_LIMIT_EXCEEDED (prescribing.catalogue.limit_exceeded): D's quarter and its first day.
            c.update(quarter=quarter_of(as_of), quarter_start=quarter_bounds(quarter_of(as_of))[0])
            rows.append(
                {"province": int(code), **{f.name: c.get(f.name) for f in CTX_SCHEMA if f.name != "province"}}
            )
    return pa.Table.from_pylist(rows, schema=CTX_SCHEMA)


def build_days(ctx: pa.Table, as_of: dt.date) -> pa.Table:
    """Order day → its ABNORMAL_ORDER history window [same day a year earlier, the day before], for every
    day from the earliest S to D (calendar years computed here, exactly as monitoring does)."""
    starts = [s for s in ctx.column("s").to_pylist() if s is not None]
    first = min(starts, default=as_of)
    days = [first + dt.timedelta(days=n) for n in range((as_of - first).days + 1)]
    return pa.table(
        {
            "on_day": pa.array(days, pa.date32()),
            "a": pa.array([one_year_before(d) for d in days], pa.date32()),
            "b": pa.array([d - dt.timedelta(days=1) for d in days], pa.date32()),
        }
    )


def alert_number(num, den):
    """num / den exactly, rounded half up to the 6 places an Alert stores, as `jicai monitor` prints it."""
    if num is None or den is None:
        return None
    with localcontext() as c:
        c.prec = 60
        value = (Decimal(num) / Decimal(den)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    return _number(value)


def run_national(directory: Path, as_of: dt.date, engine_name: str, output: Path | None = None, say=None):
    say = say or (lambda _text: None)
    provinces = province_dirs(directory)
    files = check_inputs(provinces)
    ctx = build_contexts(files, as_of)
    output = output or directory / f"national-{as_of.isoformat()}"
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    engine = None
    try:
        engine = make_engine(engine_name, provinces)
        for table, columns in indicators.INPUT_COLUMNS.items():
            if table == "policies":
                continue
            engine.register_parquet(table, files[table], columns)
        engine.register_table("ctx", ctx)
        engine.register_table("days", build_days(ctx, as_of))
        rankings = {f"ranking_{level}" for level, _title, _keys in RANKING_SHEETS}
        # The workbook is written (Python, under the GIL) as soon as the rankings are there, while the engine
        # (which lets go of the GIL) finds the alerts: written after them, it waited for the alerts' text.
        steps = indicators.steps(f"CAST('{as_of.isoformat()}' AS DATE)")
        with ThreadPoolExecutor(1) as pool:
            pool.submit(lambda: [compile_sql(step.sql, engine.dialect) for step in steps])
            workbook = None
            for step in steps:
                say(f"{engine_name}: {step.name}")
                if step.kind == "result":
                    engine.result(step.name, step.sql, tmp / f"{step.name}.parquet")
                elif step.kind == "work":
                    engine.work(step.name, step.sql, tmp / "work" / f"{step.name}.parquet")
                else:
                    engine.view(step.name, step.sql)
                rankings.discard(step.name)
                if not rankings and workbook is None:
                    workbook = pool.submit(write_rankings, tmp, tmp / "rankings.xlsx")
            # The engine is done: it frees its memory (a province's stored steps: gigabytes) on the worker
            # while the alerts are formatted here.
            closed = pool.submit(engine.close)
            engine = None
            alert_count, alerts = alerts_json(pq.read_table(tmp / "alerts.parquet"))
            workbook.result()
            closed.result()
        shutil.rmtree(tmp / "work", ignore_errors=True)
        if output.exists():
            old = output.parent / f".{output.name}-old-{os.getpid()}"
            output.rename(old)
            tmp.rename(output)
            shutil.rmtree(old)
        else:
            tmp.rename(output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if engine is not None:
            engine.close()
    return NationalResult(
        as_of=as_of, provinces=sorted(provinces), alert_count=alert_count, alerts_json=alerts, output=output
    )
