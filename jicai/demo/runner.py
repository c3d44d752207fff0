"""`jicai demo`: builds a synthetic province as an ordered list of steps sharing one DemoContext.

Later issues append steps (demand reports, agreements, orders, tickets, usage) to STEPS before the
monitoring hook; each step runs in its own transaction (unless it manages its own) with its own seeded
random generator, so adding a step never changes what the existing ones produce.
"""

import datetime as dt
import random
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction

from jicai.demo.context import DemoContext
from jicai.demo.models import DemoRun
from jicai.demo.scales import SCALES
from jicai.demo.steps.accounts import build_logins, build_organisations
from jicai.demo.steps.agreements import build_agreements
from jicai.demo.steps.batches import build_batches
from jicai.demo.steps.closed_year import build_closed_year
from jicai.demo.steps.companies import build_companies
from jicai.demo.steps.compliance import build_compliance
from jicai.demo.steps.demand import build_demand, build_open_window
from jicai.demo.steps.funds import build_funds, build_money
from jicai.demo.steps.hospital import build_hospital
from jicai.demo.steps.institutions import build_institutions
from jicai.demo.steps.items import build_items
from jicai.demo.steps.monitoring import run_monitoring
from jicai.demo.steps.prescribing import build_prescribing
from jicai.demo.steps.regions import build_regions
from jicai.demo.steps.substitutes import build_substitutes
from jicai.demo.steps.tickets import build_tickets
from jicai.demo.steps.trade import build_trade


@dataclass(frozen=True)
class Step:
    name: str  # also the seed of the step's random generator: never rename a step
    label: str
    run: Callable[[DemoContext], None]
    # False for a step that manages its own transactions (the trade step loads from several connections).
    atomic: bool = True


STEPS: list[Step] = [
    Step("regions", "行政区划", build_regions),
    Step("companies", "生产与配送企业", build_companies),
    Step("institutions", "医疗机构与医共体", build_institutions),
    Step("batches", "集采批次与协议年度", build_batches),
    Step("items", "采购品种、产品、中选结果与挂网价", build_items),
    Step("substitutes", "可替代药品", build_substitutes),
    Step("organisations", "机构账户", build_organisations),
    Step("logins", "演示登录账户", build_logins),
    # Steps of later issues go here, before monitoring.
    Step("demand", "报量、审核与退回重报", build_demand),
    Step("agreements", "约定采购量、配送关系与购销协议", build_agreements),
    Step("trade", "订单、配送、入库、付款与使用数据", build_trade, atomic=False),
    Step("hospital", "院内科室、医师、使用数据与目标分解", build_hospital),
    Step("prescribing", "可替代药品目录、限量与处方提醒", build_prescribing),
    Step("tickets", "供应诉求、答复时限与督办", build_tickets),
    Step("open_window", "进行中的报量窗口", build_open_window),
    Step("closed_year", "上一批国家集采第1协议年度：约定量、采购与付款", build_closed_year),
    Step("funds", "医保基金预付与拨付", build_funds),
    Step("monitoring", "运行监测", run_monitoring),
    # After monitoring: the monitoring step turns one effective agreement back into an unsigned one.
    Step("money", "参考价、考核豁免、直接结算、清算与考核定稿", build_money),
    Step("compliance", "一致性评价暂不撤网、批次重叠、配送评价、电子签章与报量复核", build_compliance),
]

# Apps whose tables a demo owns and replaces: every Jicai app plus the framework tables that point at users.
_FRAMEWORK_APPS = ("admin", "sessions", "axes")


class DemoRefused(Exception):
    """The database holds data that no demo run created."""


def _owned_models() -> list:
    models = []
    for config in apps.get_app_configs():
        if config.name.startswith("jicai.") or config.label in _FRAMEWORK_APPS:
            models += [m for m in config.get_models(include_auto_created=True) if m._meta.managed]
    return models


def _domain_models() -> list:
    """Jicai tables whose rows are counted and printed (the demo's own marker excluded)."""
    return [m for m in _owned_models() if m._meta.app_config.name.startswith("jicai.") and m is not DemoRun]


# A real deployment cannot exist without some of these rows; rows a migration might seed (policy
# defaults, calendars) deliberately do not count, so `make demo` works on any freshly migrated database.
DATA_MODELS = (
    "registry.Region",
    "registry.Institution",
    "registry.Company",
    "registry.Product",
    "batches.Batch",
    "accounts.Organisation",
    "accounts.User",
)


def non_demo_data() -> list[str]:
    """Names of tables holding rows while no DemoRun marks the database as a demo (empty: safe to build)."""
    if DemoRun.objects.exists():
        return []
    models = [apps.get_model(label) for label in DATA_MODELS]
    return [str(m._meta.verbose_name) for m in models if m.objects.exists()]


def wipe() -> None:
    """Empty every table the demo owns and restart their id sequences, so a re-run gives identical ids."""
    tables = sorted({m._meta.db_table for m in _owned_models()})
    sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    if connection.vendor == "postgresql":
        # TRUNCATE refuses tables with deferred foreign-key checks still pending in this transaction (a demo
        # built earlier in the same transaction, as in tests): fire them now, then defer again.
        connection.check_constraints()
    connection.ops.execute_sql_flush(sql)


def table_counts() -> dict[str, int]:
    counts = {}
    for model in _domain_models():
        if model._meta.auto_created:
            continue
        counts[model._meta.label] = model.objects.count()
    return counts


# Page cache of the demo's SQLite connection (KiB, negative as SQLite spells it): the province build rewrites
# multi-gigabyte tables and their indexes; the app's own connections keep settings' 64 MB.
DEMO_SQLITE_CACHE_KIB = 1_048_576


@contextmanager
def _exclusive_sqlite_build():
    """While the demo builds an SQLite database it is the only writer (make demo runs before serve): use a
    rollback journal instead of WAL, so the gigabytes written to new pages go to the file once instead of
    through the WAL and back, and a large page cache. Foreign keys are not enforced row by row: inserting one
    order line costs SQLite a parent lookup per foreign key *and* a child lookup per table referencing order
    lines; the generated rows are consistent by construction, which the tests check with enforcement on
    (they build inside a transaction, where none of this applies) and PostgreSQL re-validates every foreign
    key when core.bulkload rebuilds it. Restored afterwards."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size")
        cache = cursor.fetchone()[0]
        cursor.execute("PRAGMA journal_mode=DELETE")  # stays WAL if another connection has the file open
        cursor.execute(f"PRAGMA cache_size=-{DEMO_SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("PRAGMA threads=2")  # index builds sort in two threads
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA cache_size={int(cache)}")
            cursor.execute(f"PRAGMA journal_mode={mode}")


SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_today() -> dt.date:
    """The date in China, whatever the server's time zone: the demo's default "today"."""
    return dt.datetime.now(SHANGHAI).date()


def _refresh_statistics(write: Callable[[str], None]) -> None:
    """PostgreSQL: ANALYZE the whole database once the demo is written. The steps analyse the big tables
    they bulk-load, but the small ones (regions, institutions, organisations …) kept empty-table
    statistics on a server whose autovacuum has not run yet, and the planner then took the province's
    region prefix for one region and sorted every order: list pages took 0.6–2.6 s instead of 30–70 ms at
    medium scale. (SQLite plans these lists the same way with or without statistics.)"""
    if connection.vendor != "postgresql":
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    write(f"      统计信息已更新（ANALYZE，{time.perf_counter() - started:.1f} 秒）")


def run_demo(
    *,
    scale: str,
    seed: int,
    today: dt.date | None = None,
    force: bool = False,
    write: Callable[[str], None] = print,
) -> DemoContext:
    """Build the demo for `today` (default: today in Asia/Shanghai); the same (scale, seed, today) always
    gives the same rows."""
    config = SCALES[scale]
    today = today or local_today()
    with transaction.atomic():
        tables = non_demo_data()
        if tables and not force:
            raise DemoRefused(
                "数据库中已有非演示数据（"
                + "、".join(tables[:6])
                + ("等" if len(tables) > 6 else "")
                + "），为避免覆盖真实数据，已停止生成。确认要清空这些数据并生成演示数据，请加 --force。"
            )
        wipe()
        run = DemoRun.objects.create(scale=scale, seed=seed)
    ctx = DemoContext(scale=config, seed=seed, today=today, write=write)
    started = time.perf_counter()
    with _exclusive_sqlite_build():
        for number, step in enumerate(STEPS, start=1):
            ctx.rng = random.Random(f"jicai-demo/{seed}/{step.name}")
            write(f"[{number}/{len(STEPS)}] {step.label} …")
            step_started = time.perf_counter()
            if step.atomic:
                with transaction.atomic():
                    step.run(ctx)
            else:
                step.run(ctx)
            write(f"      用时 {time.perf_counter() - step_started:.2f} 秒")
    _refresh_statistics(write)
    run.seconds = round(time.perf_counter() - started, 3)
    run.counts = table_counts()
    run.status = DemoRun.Status.DONE
    run.save(update_fields=["seconds", "counts", "status"])
    ctx.extra["run"] = run
    return ctx
