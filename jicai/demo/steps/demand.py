"""Steps: a finished reporting round (报量) for the national batch, so agreed volumes can be computed, and
a round of the batch's next agreement year still open on the demo's today (build_open_window).

The province bureau opens the window with the real action (demand.actions.open_window: reports, lines and
history in bulk). Imported history, the institutions' answers and the review are written as set-based
statements producing the same rows the actions would (lines, flags, statuses, transition log), because a
province has 10 000 institutions × ~160 items = 1.6 million lines. Most institutions report at or above
history; a few drop below history with an explanation, a few report 0 for an item they used to buy, and a
few reports are returned once, corrected and resubmitted. All reports end approved.

Quantities that vary per line come from integer hashes of the row ids, which are deterministic because a
demo run restarts every id sequence; the handful of special cases are drawn from the step's seeded rng.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from jicai.accounts.models import User
from jicai.batches.models import Item
from jicai.core import audit
from jicai.core.bulkload import bulk_load
from jicai.demand import actions
from jicai.demand.models import (
    DemandLine,
    DemandReport,
    ImportedHistory,
    ReportingWindow,
    ReportStatus,
    ReportTransition,
)
from jicai.demo.context import DemoContext
from jicai.demo.steps import BATCH_SIZE
from jicai.registry.models import Institution

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Share (per cent) of a batch's items an institution bought last year, and its typical yearly qty per item.
USE_SHARE = {"tertiary": 90, "secondary": 70, "primary": 40, "grassroots": 25}
BASE_QTY = {"tertiary": 24000, "secondary": 8000, "primary": 2000, "grassroots": 600}
DROP_SHARE = 0.03  # reports with one line well below history (explained)
ZERO_SHARE = 0.01  # reports with one used item reported as 0 (explained, flagged history_not_reported)
RETURN_SHARE = 0.01  # reports returned once and resubmitted

DROP_REASONS = (
    "门诊量下降，且部分患者转至上级医院",
    "科室调整，该品种使用减少",
    "临床路径调整，改用同类其他品种",
)
ZERO_REASONS = ("该品种已停用", "无相关专科，不再采购")
RETURN_REASONS = ("报量与历史采购量差异较大，请核实", "说明不充分，请补充下降原因")


def _case(column: str, mapping: dict) -> str:
    whens = " ".join(f"WHEN '{key}' THEN {value}" for key, value in mapping.items())
    return f"CASE {column} {whens} ELSE {min(mapping.values())} END"


def _import_history(batch) -> int:
    """Last year's purchases of the batch's items: a share of items per institution level, qty by level
    × 0.5–1.5, as one INSERT … SELECT (the rows a `jicai import history` file would have created)."""
    qn = connection.ops.quote_name
    inst, item, hist = Institution._meta.db_table, Item._meta.db_table, ImportedHistory._meta.db_table
    # "%%" is the modulo operator once the driver substitutes the parameters.
    mix = "((inst.id * 7919 + it.id * 104729) %% 101)"
    sql = f"""
        INSERT INTO {qn(hist)} (institution_id, item_id, qty, updated_at)
        SELECT inst.id, it.id, {_case("inst.level", BASE_QTY)} * (50 + {mix}) / 100, %s
        FROM {qn(inst)} inst CROSS JOIN {qn(item)} it
        WHERE it.batch_id = %s AND ((inst.id * 31 + it.id * 17) %% 100) < {_case("inst.level", USE_SHARE)}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), batch.pk])
        return cursor.rowcount


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def build_demand(ctx: DemoContext) -> None:
    batch = next((b for b in ctx.batches if b.kind == "national"), None)
    if batch is None:
        ctx.log("没有国家集采批次，跳过报量")
        return
    # ~0.5 million history rows and ~1.6 million lines at province scale, inserted and then rewritten:
    # loaded without their secondary indexes and (PostgreSQL) foreign keys, rebuilt once at the end.
    with bulk_load(ImportedHistory, DemandLine, progress=ctx.log):
        _round(ctx, batch)
    if connection.vendor == "postgresql":
        # The next step joins the reports to their lines: plan it on real row counts (bulk_load analysed
        # the lines).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(DemandReport._meta.db_table)}")


def _round(ctx: DemoContext, batch) -> None:
    rng = ctx.rng
    history_rows = _import_history(batch)
    users = {u.username: u for u in User.objects.filter(username__in=["province", "county", "pharmacist"])}
    province = users["province"]
    opens_on = batch.cycle_start - dt.timedelta(days=90)
    deadline = opens_on + dt.timedelta(days=28)
    window = actions.open_window(
        actor=province,
        batch=batch,
        title=f"{batch.name}报量",
        opens_on=opens_on,
        deadline=deadline,
    )
    lines_qs = DemandLine.objects.filter(report__window=window)

    # Everyone answers: at or up to 15 % above history; a few items without history get a first demand.
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {qn(DemandLine._meta.db_table)}
                SET reported_qty = CASE
                    WHEN history_qty > 0 THEN history_qty * (100 + (id * 7919) %% 16) / 100
                    WHEN (id * 104729) %% 10 = 0 THEN 100 * (1 + id %% 20)
                    ELSE 0 END
                WHERE report_id IN (SELECT id FROM {qn(DemandReport._meta.db_table)} WHERE window_id = %s)""",
            [window.pk],
        )

    reports = list(
        DemandReport.objects.filter(window=window).values_list("pk", "institution_id", "filed_by_id")
    )
    n = len(reports)
    # At least a couple of each case, so even the small scale shows them.
    n_drop, n_zero = min(n, max(2, round(n * DROP_SHARE))), max(1, round(n * ZERO_SHARE))
    picked = rng.sample(range(n), k=min(n, n_drop + n_zero))
    special = {reports[i][0]: ("drop" if k < n_drop else "zero") for k, i in enumerate(picked)}
    returned = set(rng.sample([r[0] for r in reports], k=min(n, max(2, round(n * RETURN_SHARE)))))
    # The pharmacist persona's own report is one of the returned ones, so its login shows the whole log.
    pharmacist_inst = users["pharmacist"].organisation.institution_id if "pharmacist" in users else None
    returned |= {pk for pk, inst, _ in reports if inst == pharmacist_inst}

    # One line per special report: the first used item in code order (history > 0).
    changed, flagged = [], {}
    candidates = (
        lines_qs.filter(report_id__in=list(special), history_qty__gt=0)
        .select_related("item")
        .order_by("report_id", "item__item_code")
    )
    seen = set()
    for line in candidates.iterator(chunk_size=BATCH_SIZE):
        if line.report_id in seen:
            continue
        seen.add(line.report_id)
        if special[line.report_id] == "drop":
            line.reported_qty = line.history_qty * rng.randint(30, 70) // 100
            line.explanation = rng.choice(DROP_REASONS)
            line.below_history = True
        else:
            line.reported_qty = 0
            line.explanation = rng.choice(ZERO_REASONS)
            line.below_history = line.history_not_reported = True
        changed.append(line)
        flagged[line.report_id] = 1
    DemandLine.objects.bulk_update(
        changed,
        ["reported_qty", "explanation", "below_history", "history_not_reported"],
        batch_size=BATCH_SIZE,
    )

    submitted, approved = _at(deadline - dt.timedelta(days=5), 10), _at(deadline + dt.timedelta(days=3), 15)
    first_try, back, resubmitted = (
        _at(deadline - dt.timedelta(days=12), 9),
        _at(deadline - dt.timedelta(days=9), 16),
        _at(deadline - dt.timedelta(days=6), 11),
    )
    DemandReport.objects.filter(window=window).update(
        status=ReportStatus.APPROVED, last_saved_at=submitted, submitted_at=submitted, reviewed_at=approved
    )
    DemandReport.objects.filter(window=window, pk__in=list(returned)).update(submitted_at=resubmitted)
    # The round is over: closed once every report is approved, so no page lists it as running (overdue).
    ReportingWindow.objects.filter(pk=window.pk).update(closed_at=approved)
    for pk, count in flagged.items():
        DemandReport.objects.filter(pk=pk).update(flagged_lines=count)

    # The log: the demo personas act for their own organisations, other transitions are unattributed.
    county_user = users.get("county")
    county_region = county_user.organisation.region.path if county_user else None
    reviewed_by_persona = (
        set(
            DemandReport.objects.filter(window=window, institution__region__path=county_region).values_list(
                "pk", flat=True
            )
        )
        if county_region
        else set()
    )
    rows = []
    for pk, institution_id, filed_by_id in reports:
        filer = users.get("pharmacist") if (filed_by_id or institution_id) == pharmacist_inst else None
        reviewer = county_user if pk in reviewed_by_persona else None
        if pk in returned:
            rows += [
                ReportTransition(
                    report_id=pk, actor=filer, from_status="draft", to_status="submitted", at=first_try
                ),
                ReportTransition(
                    report_id=pk,
                    actor=reviewer,
                    from_status="submitted",
                    to_status="returned",
                    reason=rng.choice(RETURN_REASONS),
                    at=back,
                ),
                ReportTransition(
                    report_id=pk,
                    actor=filer,
                    from_status="returned",
                    to_status="draft",
                    reason="退回后修改",
                    at=back,
                ),
                ReportTransition(
                    report_id=pk, actor=filer, from_status="draft", to_status="submitted", at=resubmitted
                ),
            ]
        else:
            rows.append(
                ReportTransition(
                    report_id=pk, actor=filer, from_status="draft", to_status="submitted", at=submitted
                )
            )
        rows.append(
            ReportTransition(
                report_id=pk, actor=reviewer, from_status="submitted", to_status="approved", at=approved
            )
        )
    intended = [r.at for r in rows]
    ReportTransition.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    # `at` is auto_now_add, so bulk_create stamped "now": put the round's dates back, one UPDATE per moment
    # and chunk of ids.
    by_moment: dict[dt.datetime, list[int]] = {}
    for row, moment in zip(rows, intended, strict=True):
        by_moment.setdefault(moment, []).append(row.pk)
    for moment, pks in by_moment.items():
        for offset in range(0, len(pks), BATCH_SIZE):
            ReportTransition.objects.filter(pk__in=pks[offset : offset + BATCH_SIZE]).update(at=moment)
    audit.record(
        actor=province,
        action="demo_demand_round",
        obj=window,
        summary=f"演示报量：{len(reports)} 份全部审核通过",
        changes={
            "reports": len(reports),
            "drops": n_drop,
            "zero": len(special) - min(n_drop, len(special)),
            "returned": len(returned),
        },
    )
    ctx.extra["demand"] = {"window": window, "reports": len(reports), "returned": len(returned)}
    ctx.log(
        f"报量窗口“{window.title}”：导入历史采购量 {history_rows} 行，{len(reports)} 份报量全部审核通过"
        f"（低于历史并说明 {n_drop}，有历史报 0 {len(special) - min(n_drop, len(special))}，退回后重报 {len(returned)}）"
    )


# The window still open on the demo's today: opened a week before, closes three weeks after.
OPEN_WINDOW_DAYS_BEFORE, OPEN_WINDOW_DAYS_AFTER = 7, 21


def build_open_window(ctx: DemoContext) -> None:
    """The county bureau persona has opened reporting of the national batch's next agreement year for its
    county, running on the demo's today: its institutions (the pharmacist persona's among them) find a
    draft report waiting. Only one county, so the province scale writes a few thousand lines here."""
    batch = next((b for b in ctx.batches if b.kind == "national"), None)
    county = User.objects.filter(username="county").first()
    if batch is None or county is None:
        ctx.log("没有国家集采批次或县医保局账户，跳过")
        return
    year = batch.agreement_years.filter(start__gt=ctx.today).order_by("number").first()
    if year is None:
        ctx.log("国家集采批次没有后续协议年度，跳过")
        return
    window = actions.open_window(
        actor=county,
        batch=batch,
        title=f"{batch.name}第{year.number}协议年度报量（{county.organisation.name}）",
        opens_on=ctx.today - dt.timedelta(days=OPEN_WINDOW_DAYS_BEFORE),
        deadline=ctx.today + dt.timedelta(days=OPEN_WINDOW_DAYS_AFTER),
        agreement_year=year.number,
    )
    reports = DemandReport.objects.filter(window=window).count()
    ctx.extra["open_window"] = {"window": window, "reports": reports}
    ctx.log(f"报量窗口“{window.title}”：{window.opens_on} 至 {window.deadline}，{reports} 份报量待填报")
