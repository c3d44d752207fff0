"""Benchmark: import 1,000,000 order lines from CSV through the real pipeline (`jicai import orders`) into
SQLite and PostgreSQL, and compare with a straightforward row-by-row ORM insert of a sample in the same run.

    .venv/bin/python bench/ingest.py [--lines 1000000] [--sample 5000] [--scale small]
        [--sqlite /tmp/jicai-bench.sqlite3] [--postgres postgres://postgres@127.0.0.1:5432/jicai_bench]
        [--without-realtime]

Each database is rebuilt with `jicai migrate` + `jicai demo --scale SCALE` (the demo's trade step is
skipped: the benchmark wants an empty order book), then the CSV is generated from the demo province
(institutions × winning products at their listing price) and imported. One JSON line per measurement:
{"name", "database", "rows", "seconds", "rows_per_second", ...}; the last line per database gives the ratio
pipeline / row-by-row. Target (DESIGN.md): 1 M lines in a few minutes on either database.

Real time (SPEC §13): the import is followed by one timed `monitoring.realtime.drain()` of the institutions its
triggers marked (`realtime_drain`: how long until the facts are current). `--without-realtime` drops those
triggers after migrate, i.e. the same pipeline as before real time, for a before/after in one session.
`--sqlite none` / `--postgres none` skip a database. The demo's closed year holds a few web order lines, so
the check is on the lines the import added.
"""

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jicai.demo.scales import BASE_TODAY

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 300


def emit(**fields) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def child(database_url: str, args) -> None:
    """Runs in a subprocess with DATABASE_URL set: build the demo, write the CSV, time both inserts."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jicai.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from jicai.demo import runner
    from jicai.ingest.pipeline import run_import
    from jicai.trade.models import Order, OrderLine

    label = connection.vendor
    call_command("migrate", verbosity=0)
    if args.without_realtime:
        # "Before" real time: the same pipeline without the triggers that mark touched institutions dirty.
        import importlib
        from types import SimpleNamespace

        try:
            dirty = importlib.import_module("jicai.monitoring.migrations.0010_realtimeb_dirty")
        except ModuleNotFoundError:
            dirty = None  # code from before real time: no triggers to drop
        if dirty is not None:
            dirty.drop_triggers(None, SimpleNamespace(connection=connection))
    # An empty order book: the benchmark measures imports, not the demo's own bulk trade generator.
    runner.STEPS = [s for s in runner.STEPS if s.name not in ("demand", "agreements", "trade", "monitoring")]
    started = time.perf_counter()
    runner.run_demo(
        scale=args.scale, seed=1, today=dt.date.fromisoformat(args.today), force=True, write=lambda _: None
    )
    emit(name="demo_build", database=label, scale=args.scale, seconds=round(time.perf_counter() - started, 2))

    path = Path(args.csv)
    if not path.exists():
        rows = write_csv(path, args.lines)
        emit(name="csv_generate", database=label, rows=rows, bytes=path.stat().st_size)

    lines_before = OrderLine.objects.count()  # the demo's own few web orders (closed year)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = run_import(kind="orders", rows_or_file=path, actor=None, source="cli", filename=path.name)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    pipeline_rate = result.created / seconds
    emit(
        name="import_orders_csv",
        database=label,
        rows=result.created,
        seconds=round(seconds, 2),
        rows_per_second=round(pipeline_rate),
        python_cpu_seconds=round(cpu_seconds, 2),
        target_seconds=TARGET_SECONDS,
        within_target=seconds <= TARGET_SECONDS,
        peak_rss_mb=peak_rss_mb(),
    )
    assert OrderLine.objects.count() - lines_before == result.created == args.lines
    if not args.without_realtime:
        drain_after_import(label)

    # The naive way: one Order.objects.create / OrderLine.objects.create per CSV line of a sample.
    sample = read_sample(path, args.sample)
    refs = lookups(sample)
    started = time.perf_counter()
    with transaction.atomic():
        orders = {}
        for row in sample:
            order_id = "N" + row["order_id"]
            order = orders.get(order_id)
            if order is None:
                order = orders[order_id] = Order.objects.create(
                    order_id=order_id,
                    institution=refs["institutions"][row["institution_code"]],
                    supplier=refs["companies"][row["supplier_code"]],
                    distributor=refs["companies"].get(row["distributor_code"]),
                    ordered_on=row["ordered_on"],
                    source="import",
                )
            from decimal import Decimal

            price = Decimal(row["unit_price"])
            OrderLine.objects.create(
                order=order,
                line_no=int(row["line_no"]),
                institution=order.institution,
                supplier=order.supplier,
                ordered_on=row["ordered_on"],
                product=refs["products"][row["product_code"]],
                qty=int(row["qty"]),
                unit_price=price,
                amount=(price * int(row["qty"])).quantize(Decimal("0.01")),
                status=row["status"],
            )
    seconds = time.perf_counter() - started
    naive_rate = len(sample) / seconds
    emit(
        name="row_by_row_orm_sample",
        database=label,
        rows=len(sample),
        seconds=round(seconds, 2),
        rows_per_second=round(naive_rate),
    )
    emit(
        name="ratio_pipeline_vs_row_by_row",
        database=label,
        rows=result.created,
        seconds=None,
        ratio=round(pipeline_rate / naive_rate, 2),
    )


def drain_after_import(label: str) -> None:
    """How long until the facts are current after the import: one real-time drain of what it marked."""
    from jicai.monitoring import realtime
    from jicai.monitoring.models import DirtyInstitution

    waiting = DirtyInstitution.objects.count()
    started = time.perf_counter()
    done = realtime.drain() or {}
    emit(
        name="realtime_drain",
        database=label,
        dirty_rows=waiting,
        institutions=done.get("institutions"),
        opened=done.get("opened"),
        closed=done.get("closed"),
        seconds=round(time.perf_counter() - started, 2),
    )


def peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def write_csv(path: Path, lines: int) -> int:
    """Orders of the demo province: each order is one institution × one supplier on one day with up to 8
    lines, product = a winning or listed product at its listing price valid on that day."""
    from jicai.batches.models import ListingPrice
    from jicai.registry.models import Institution

    listings = list(
        ListingPrice.objects.order_by("product_id", "valid_from").values_list(
            "product__code", "product__manufacturer__code", "price", "valid_from"
        )
    )
    institutions = list(Institution.objects.order_by("code").values_list("code", flat=True))
    from jicai.registry.models import Company

    distributors = list(Company.objects.filter(kind="distributor").values_list("code", flat=True)) or [""]
    import datetime as dt
    import random

    rng = random.Random(7)
    by_maker: dict[str, list] = {}
    for entry in listings:
        by_maker.setdefault(entry[1], []).append(entry)
    written = 0
    order_no = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            "order_id,line_no,institution_code,supplier_code,distributor_code,product_code,qty,unit_price,"
            "ordered_on,status".split(",")
        )
        while written < lines:
            order_no += 1
            product, maker, price, valid_from = rng.choice(listings)
            day = max(valid_from, dt.date(2025, 1, 1)) + dt.timedelta(days=rng.randrange(300))
            institution = rng.choice(institutions)
            distributor = rng.choice(distributors)
            same_maker = [entry for entry in by_maker[maker] if entry[3] <= day]
            for line_no in range(1, min(rng.randint(1, 8), lines - written) + 1):
                code, _, unit_price, _ = same_maker[(line_no - 1) % len(same_maker)]
                status = "cancelled" if rng.random() < 0.02 else "open"
                out.writerow(
                    [
                        f"B{order_no:09d}",
                        line_no,
                        institution,
                        maker,
                        distributor,
                        code,
                        rng.randint(10, 5000),
                        unit_price,
                        day.isoformat(),
                        status,
                    ]
                )
                written += 1
    return written


def read_sample(path: Path, count: int) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return [row for _, row in zip(range(count), reader, strict=False)]


def lookups(sample: list[dict]) -> dict:
    from jicai.registry.models import Company, Institution, Product

    return {
        "institutions": {
            i.code: i for i in Institution.objects.filter(code__in={r["institution_code"] for r in sample})
        },
        "companies": {c.code: c for c in Company.objects.all()},
        "products": {p.code: p for p in Product.objects.filter(code__in={r["product_code"] for r in sample})},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=5000)
    parser.add_argument("--scale", default="small", help="demo scale the CSV is drawn from")
    parser.add_argument(
        "--sqlite",
        default=str(Path(tempfile.gettempdir()) / "jicai-bench.sqlite3"),
        help="SQLite file (default: %(default)s); 'none' skips SQLite",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jicai_bench"),
        help="PostgreSQL URL (default: $DATABASE_URL or postgres://postgres@127.0.0.1:5432/jicai_bench); "
        "'none' skips PostgreSQL",
    )
    parser.add_argument(
        "--today", default=BASE_TODAY.isoformat(), help="the demo's today (default: the written calendar's)"
    )
    parser.add_argument("--csv", default=str(Path(tempfile.gettempdir()) / "jicai-bench-orders.csv"))
    parser.add_argument(
        "--without-realtime",
        action="store_true",
        help="drop the real-time triggers (DirtyInstitution marking) after migrate: the pipeline as before real "
        "time; without it, the import is followed by one timed real-time drain",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    if Path(args.csv).exists():
        Path(args.csv).unlink()  # generated from the first database's demo, reused by the second
    targets = []
    if args.sqlite != "none":
        sqlite_path = Path(args.sqlite)
        for suffix in ("", "-wal", "-shm"):
            Path(str(sqlite_path) + suffix).unlink(missing_ok=True)
        targets.append(f"sqlite:///{sqlite_path}")
    if args.postgres and args.postgres != "none" and args.postgres.startswith("postgres"):
        name = args.postgres.rsplit("/", 1)[-1]
        host_part = args.postgres.rsplit("/", 1)[0]
        subprocess.run(
            ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", name],
            check=False,
            capture_output=True,
        )
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=False, capture_output=True
        )
        targets.append(f"{host_part}/{name}")
    for url in targets:
        command = [
            sys.executable,
            __file__,
            "--child",
            url,
            "--lines",
            str(args.lines),
            "--sample",
            str(args.sample),
            "--scale",
            args.scale,
            "--csv",
            args.csv,
            "--today",
            args.today,
            *(["--without-realtime"] if args.without_realtime else []),
        ]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
