"""Every write of agreed volumes, delivery relationships and purchase agreements (SPEC §5.6, §6).

Computing volumes and generating agreements are set-based SQL: the rules that need Python (the policy's
ratio table per region, the main winner per item and province, the distributor per supplier and region)
are evaluated once per region / item / supplier into small temporary tables (jicai.agreements.volumes),
and the desired rows of a whole agreement year are ONE SELECT joining them to the demand lines or the
volumes. Keys without a stored row are inserted by INSERT … SELECT; keys with one are compared in SQL and
only the differing rows are updated. Quantities and budgets use exact integer arithmetic in SQL (ratios
and prices as integers over a power of ten), so both databases store what the Python rules give. Runs for
the same agreement year serialise on a row lock of the AgreementYear, so two concurrent runs cannot both
insert the same keys.
"""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Role
from jicai.agreements import queries, volumes
from jicai.agreements.models import (
    AgreedVolume,
    AgreedVolumeAdjustment,
    AgreementStatus,
    DeliveryRelationship,
    PurchaseAgreement,
)
from jicai.batches.models import AgreementYear, Batch, Item, Winner
from jicai.compliance import signing
from jicai.compliance.models import AgreementSignature
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.core.money import money, parse_qty
from jicai.core.pg import local_settings
from jicai.registry.models import Company, CompanyKind, Institution, Region

BULK_BATCH = 1000


@dataclass
class Problem:
    institution_id: int
    item_id: int
    reason: str


@dataclass
class RunResult:
    """What a compute/generate run did, for the page message, the API and the demo log."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # rows a bureau adjusted (or an import set) that the run deliberately left alone
    problems: list[Problem] = field(default_factory=list)  # the first PROBLEMS_KEPT of them
    problem_count: int = 0

    def problem(self, institution_id: int, item_id: int, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(Problem(institution_id, item_id, reason))

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kept": self.kept,
            "problems": self.problem_count,
        }


def _user(actor):
    """The User behind an actor for *_by columns; API tokens act for the organisation (kept in the audit)."""
    return actor if getattr(actor, "pk", None) and hasattr(actor, "username") else None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


def _agreement_year(batch: Batch, number: int) -> AgreementYear:
    year = AgreementYear.objects.select_for_update().filter(batch=batch, number=number).first()
    if year is None:
        raise DomainError(f"批次 {batch.code} 没有第 {number} 协议年度", code="no_agreement_year")
    return year


# ---- agreed volumes ------------------------------------------------------------------------------

PROBLEMS_KEPT = 1000
ANALYZE_AFTER = 50_000  # inserted rows

NO_WINNERS = "该品种尚无中选结果，无法计算约定采购量"
NO_MAIN = "本省无主供企业，约定采购量未分配供应企业"
# Problem codes of the desired-row queries (0: none); the reasons are the messages above and below.
VOLUME_PROBLEMS = {1: NO_WINNERS, 2: NO_MAIN}


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _distinct(left: str, right: str) -> str:
    """Null-safe "differs" in both dialects."""
    op = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return f"({left} {op} {right})"


# PostgreSQL settings for the statements over a whole agreement year. They join millions of demand lines or
# volumes to small tables, which only hash joins do well; but right after a bulk load (the demo, an import)
# the tables may not be analysed yet, and on a table's default estimates the planner picks nested loops
# with one index probe per row (50 s instead of 7 s for a province's year). Sorting 1.6 million rows for
# the insert order takes more than the default 4 MB of work_mem.
BULK_SETTINGS = {"enable_nestloop": "off", "work_mem": "256MB"}


def _analyze_after_load(cursor, table: str, rows: int) -> None:
    """After inserting many rows, let PostgreSQL plan the next statements (generating agreements, the next
    agreement year) on real row counts instead of the estimates of a table it has not analysed yet."""
    if connection.vendor == "postgresql" and rows >= ANALYZE_AFTER:
        cursor.execute(f"ANALYZE {table}")


def _fetch_problems(cursor, sql: str, params: list, reasons: dict[int, str], result: "RunResult") -> None:
    """Add the (institution, item, code) rows of `sql` (ordered by institution and item) to `result`."""
    cursor.execute(sql, params)
    while rows := cursor.fetchmany(10000):
        for institution_id, item_id, code in rows:
            result.problem(institution_id, item_id, reasons[code])


class _Volumes:
    """The desired agreed volumes of one agreement year as ONE SELECT over the demand lines (and, for
    year n > 1, year n − 1's volumes), with the Python-only inputs staged in temporary tables
    (jicai.agreements.volumes.stage_*). Columns: institution_id, item_id, reported_qty, ratio, agreed_qty,
    source, supplier_id, problem (0 none, 1 item without winners: no row, 2 no main supplier: row without
    supplier unless carried over)."""

    def __init__(self, cursor, year: AgreementYear):
        from jicai.demand.models import DemandLine, DemandReport, ReportingWindow, ReportStatus

        batch, number = year.batch, year.number
        self.windows = sorted(
            ReportingWindow.objects.filter(batch=batch, agreement_year=number).values_list("pk", flat=True)
        )
        self.previous = (
            AgreementYear.objects.filter(batch=batch, number=number - 1).values_list("pk", flat=True).first()
            if number > 1
            else None
        )
        paths = volumes.stage_regions(cursor)
        region_ids = set(Institution.objects.values_list("region_id", flat=True).order_by().distinct())
        self.counts = volumes.stage_ratios(cursor, batch, region_ids)
        self.mains = volumes.stage_mains(cursor, batch)
        provinces = volumes.province_ids_by_code()
        self.provinces = {pk: provinces.get(path[:6]) for pk, path in paths.items()}
        self.region_ids = region_ids
        self.batch = batch

        t = {
            "line": _table(DemandLine),
            "report": _table(DemandReport),
            "window": _table(ReportingWindow),
            "item": _table(Item),
            "inst": _table(Institution),
            "av": _table(AgreedVolume),
        }
        approved = ReportStatus.APPROVED.value
        parts, params = [], []
        windows = ", ".join(str(int(pk)) for pk in self.windows)
        if self.windows:
            # Approved lines of this year's windows; an institution reporting in several windows counts
            # with its latest one (opens_on, then id), as the lines are read in that order.
            carried_join, supplier = "", "m.supplier_id"
            if self.previous is not None:
                carried_join = (
                    f"LEFT JOIN {t['av']} c ON c.agreement_year_id = %s "
                    "AND c.institution_id = r.institution_id AND c.item_id = l.item_id"
                )
                supplier = "COALESCE(m.supplier_id, c.supplier_id)"
            later = ""
            if len(self.windows) > 1:
                later = f"""
                    AND NOT EXISTS (
                        SELECT 1 FROM {t["report"]} r2
                        JOIN {t["window"]} w2 ON w2.id = r2.window_id
                        JOIN {t["line"]} l2 ON l2.report_id = r2.id
                        WHERE r2.window_id IN ({windows}) AND r2.institution_id = r.institution_id
                          AND r2.status = %s AND l2.item_id = l.item_id AND l2.reported_qty IS NOT NULL
                          AND (w2.opens_on > w.opens_on OR (w2.opens_on = w.opens_on AND w2.id > w.id)))"""
            parts.append(f"""
                SELECT r.institution_id AS institution_id, l.item_id AS item_id,
                       l.reported_qty AS reported_qty, ar.ratio AS ratio,
                       (l.reported_qty / ar.den) * ar.num
                         + ((l.reported_qty %% ar.den) * ar.num * 2 + ar.den) / (2 * ar.den) AS agreed_qty,
                       %s AS source,
                       {supplier} AS supplier_id,
                       CASE WHEN ai.item_id IS NULL THEN 1 WHEN m.supplier_id IS NULL THEN 2 ELSE 0 END
                         AS problem
                FROM {t["report"]} r
                JOIN {t["window"]} w ON w.id = r.window_id
                JOIN {t["line"]} l ON l.report_id = r.id
                JOIN {t["item"]} it ON it.id = l.item_id
                JOIN {t["inst"]} i ON i.id = r.institution_id
                JOIN av_region g ON g.region_id = i.region_id
                LEFT JOIN av_item ai ON ai.item_id = l.item_id
                LEFT JOIN av_ratio ar ON ar.region_id = i.region_id AND ar.winners = ai.winners
                LEFT JOIN av_main m ON m.item_id = l.item_id AND m.province_id = g.province_id
                {carried_join}
                WHERE r.window_id IN ({windows}) AND r.status = %s AND l.reported_qty IS NOT NULL
                  AND it.batch_id = %s {later}""")
            params += [AgreedVolume.Source.COMPUTED.value]
            if self.previous is not None:
                params.append(self.previous)
            params += [approved, batch.pk]
            if later:
                params.append(approved)
        if self.previous is not None:
            # Year n − 1's volumes for the keys without a report this year.
            reported = ""
            if self.windows:
                reported = f"""
                    AND NOT EXISTS (
                        SELECT 1 FROM {t["report"]} r2
                        JOIN {t["line"]} l2 ON l2.report_id = r2.id
                        JOIN {t["item"]} it2 ON it2.id = l2.item_id
                        WHERE r2.window_id IN ({windows}) AND r2.institution_id = c.institution_id
                          AND r2.status = %s AND l2.item_id = c.item_id AND l2.reported_qty IS NOT NULL
                          AND it2.batch_id = %s)"""
            parts.append(f"""
                SELECT c.institution_id AS institution_id, c.item_id AS item_id,
                       c.reported_qty AS reported_qty, c.ratio AS ratio, c.agreed_qty AS agreed_qty,
                       %s AS source, COALESCE(m.supplier_id, c.supplier_id) AS supplier_id,
                       CASE WHEN m.supplier_id IS NULL THEN 2 ELSE 0 END AS problem
                FROM {t["av"]} c
                JOIN {t["inst"]} i ON i.id = c.institution_id
                JOIN av_region g ON g.region_id = i.region_id
                LEFT JOIN av_main m ON m.item_id = c.item_id AND m.province_id = g.province_id
                WHERE c.agreement_year_id = %s {reported}""")
            params += [AgreedVolume.Source.CARRIED.value, self.previous]
            if reported:
                params += [approved, batch.pk]
        self.sql = " UNION ALL ".join(parts)
        self.params = params

    def may_have_problems(self) -> bool:
        """False when every item of the batch has winners and a main winner in every province that has
        institutions, so no desired row can carry a problem (the query for them is skipped)."""
        items = list(Item.objects.filter(batch=self.batch).values_list("pk", flat=True))
        provinces = {self.provinces.get(region_id) for region_id in self.region_ids}
        if any(item_id not in self.counts for item_id in items):
            return True
        return any((item_id, province) not in self.mains for item_id in items for province in provinces)


def write_agreed_volumes(year: AgreementYear) -> RunResult:
    """The set-based body of compute_agreed_volumes for a caller already inside a transaction that holds the
    agreement year (the action; the demo, whose step is one transaction: a nested atomic would open a
    savepoint, and SQLite keeps a savepoint's journal of a million-row write in memory).

    Keys without a stored row are inserted by one INSERT … SELECT (at province scale the first computation
    of a year is ~1.6 million rows); keys with one are compared in SQL and only differing rows are updated.
    """
    result = RunResult()
    with connection.cursor() as cursor:
        desired = _Volumes(cursor, year)
        if not desired.sql:
            volumes.drop_staging(cursor)
            return result
        with local_settings(cursor, **BULK_SETTINGS):
            table = _table(AgreedVolume)
            has_stored = AgreedVolume.objects.filter(agreement_year=year).exists()
            if desired.may_have_problems():
                _fetch_problems(
                    cursor,
                    f"SELECT institution_id, item_id, problem FROM ({desired.sql}) d WHERE problem <> 0 "
                    "ORDER BY institution_id, item_id",
                    desired.params,
                    VOLUME_PROBLEMS,
                    result,
                )
            if has_stored:
                _update_volumes(cursor, year, desired, result)
            new_only = (
                f"AND NOT EXISTS (SELECT 1 FROM {table} s WHERE s.agreement_year_id = %s "
                "AND s.institution_id = d.institution_id AND s.item_id = d.item_id)"
                if has_stored
                else ""
            )
            cursor.execute(
                f"""INSERT INTO {table} (agreement_year_id, institution_id, item_id, adjusted, supplier_id,
                                         reported_qty, ratio, agreed_qty, source)
                    SELECT %s, d.institution_id, d.item_id, %s, d.supplier_id, d.reported_qty, d.ratio,
                           d.agreed_qty, d.source
                    FROM ({desired.sql}) d
                    WHERE d.problem <> 1 {new_only}
                    ORDER BY d.institution_id, d.item_id""",
                [year.pk, False, *desired.params, *([year.pk] if has_stored else [])],
            )
            result.created = cursor.rowcount
        volumes.drop_staging(cursor)
        _analyze_after_load(cursor, table, result.created)
    _generate_hospital_targets(year)
    return result


def _generate_hospital_targets(year: AgreementYear, volume_ids=None) -> None:
    """Department and doctor targets follow agreed volumes at once (SPEC §11); only institutions with
    departments have any, so this is one cheap query elsewhere."""
    from jicai.hospital.actions import generate_targets

    if volume_ids is None:
        volume_ids = AgreedVolume.objects.filter(agreement_year=year).values_list("pk", flat=True)
    generate_targets(volume_ids=volume_ids)


def _update_volumes(cursor, year: AgreementYear, desired: _Volumes, result: RunResult) -> None:
    """Compare the desired rows with the stored ones: an imported row is left alone, an adjusted row keeps
    agreed_qty and source (the rest follows the data), any other row takes every desired value."""
    differs = " OR ".join(
        [
            _distinct("s.supplier_id", "d.supplier_id"),
            "s.reported_qty <> d.reported_qty",
            _distinct("s.ratio", "d.ratio"),
        ]
    )
    cursor.execute(
        f"""SELECT s.id, s.source, s.adjusted,
                   CASE WHEN {differs} THEN 1 ELSE 0 END,
                   CASE WHEN s.agreed_qty <> d.agreed_qty OR s.source <> d.source THEN 1 ELSE 0 END,
                   d.supplier_id, d.reported_qty, d.ratio, d.agreed_qty, d.source
            FROM ({desired.sql}) d
            JOIN {_table(AgreedVolume)} s ON s.agreement_year_id = %s
                 AND s.institution_id = d.institution_id AND s.item_id = d.item_id
            WHERE d.problem <> 1""",
        [*desired.params, year.pk],
    )
    partial, full = [], []
    while rows := cursor.fetchmany(10000):
        for (
            pk,
            source,
            adjusted,
            data_differs,
            qty_differs,
            supplier,
            reported,
            ratio,
            qty,
            new_source,
        ) in rows:
            if source == AgreedVolume.Source.IMPORTED:
                result.kept += 1
            elif adjusted:
                result.kept += 1
                if data_differs:
                    partial.append((supplier, reported, ratio, pk))
            elif data_differs or qty_differs:
                full.append((supplier, reported, ratio, qty, new_source, pk))
                result.updated += 1
            else:
                result.unchanged += 1
    table = _table(AgreedVolume)
    for sets, rows in (
        ("supplier_id = %s, reported_qty = %s, ratio = %s", partial),
        ("supplier_id = %s, reported_qty = %s, ratio = %s, agreed_qty = %s, source = %s", full),
    ):
        for start in range(0, len(rows), BULK_BATCH):
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", rows[start : start + BULK_BATCH])


def compute_agreed_volumes(*, actor, batch: Batch, agreement_year: int = 1) -> RunResult:
    """agreed_qty = round_half_up(reported × ratio(winner count)) for every approved demand line of the
    batch's windows of this agreement year; year n > 1 first takes year n − 1's volumes (source carried).

    Idempotent: a second run finds every row equal and writes nothing. A row a bureau adjusted keeps its
    agreed_qty (only reported qty, ratio and supplier follow the data), and a row set by an import
    (source imported) is left entirely alone: the import is the authority for that key until re-imported.
    """
    if actor is not None:
        _require(access.can_manage_batches(actor), "只有省级医保局或平台管理员可以计算约定采购量")
    with transaction.atomic():
        year = _agreement_year(batch, agreement_year)
        result = write_agreed_volumes(year)
        audit.record(
            actor=actor,
            action="compute_agreed_volumes",
            obj=year,
            summary=f"计算约定采购量 {batch.code} 第{agreement_year}年度：新增 {result.created}，更新 {result.updated}",
            changes={"batch": batch.code, "agreement_year": agreement_year, **result.as_dict()},
        )
    return result


def adjust_agreed_volume(*, actor, volume_id: int, agreed_qty, reason: str) -> AgreedVolume:
    """A bureau sets an agreed volume of an institution in its subtree, with a reason (logged).

    The row is locked (select_for_update) so two bureau users adjusting at once are applied one after the
    other and each log entry's old_qty is the value the other one left."""
    reason = (reason or "").strip()
    try:
        new_qty = parse_qty(agreed_qty)
    except ValueError as exc:
        raise DomainError(f"约定采购量无效：{exc}", code="invalid_qty") from exc
    if not reason:
        raise DomainError("调整约定采购量必须填写原因", code="reason_required")
    with transaction.atomic():
        volume = queries.adjustable_volumes(actor).select_for_update().filter(pk=volume_id).first()
        if volume is None:
            raise NotFound("未找到该记录，或您无权查看")
        old_qty = volume.agreed_qty
        volume.agreed_qty = new_qty
        volume.adjusted = True
        volume.save(update_fields=["agreed_qty", "adjusted"])
        AgreedVolumeAdjustment.objects.create(
            agreed_volume=volume, actor=_user(actor), old_qty=old_qty, new_qty=new_qty, reason=reason
        )
        # A draft agreement follows its volume at once; a signed one is a contract and is not rewritten.
        draft = PurchaseAgreement.objects.filter(
            agreement_year_id=volume.agreement_year_id,
            institution_id=volume.institution_id,
            item_id=volume.item_id,
            status=AgreementStatus.DRAFT,
        ).first()
        if draft is not None:
            draft.agreed_qty = new_qty
            draft.budget = money(new_qty * draft.winning_price)
            draft.save(update_fields=["agreed_qty", "budget"])
        audit.record(
            actor=actor,
            action="adjust_agreed_volume",
            obj=volume,
            summary=f"调整约定采购量 {old_qty} → {new_qty}",
            changes={"agreed_qty": [old_qty, new_qty], "reason": reason},
        )
        _generate_hospital_targets(volume.agreement_year, [volume.pk])
    return volume


# ---- delivery relationships -----------------------------------------------------------------------


def set_delivery_relationship(*, actor, region_code: str, distributor_code: str) -> DeliveryRelationship:
    """The acting manufacturer chooses its distributor for a region (province, city or county); the most
    specific relationship containing an institution applies to it. Setting it again replaces it."""
    supplier = access.company_of(actor)
    _require(
        supplier is not None and getattr(actor, "role", None) == Role.MANUFACTURER,
        "只有中选生产企业可以设置配送关系",
    )
    region = Region.objects.filter(code=(region_code or "").strip()).first()
    if region is None:
        raise DomainError(f"地区不存在：{region_code}", code="unknown_region")
    distributor = Company.objects.filter(code=(distributor_code or "").strip()).first()
    if distributor is None:
        raise DomainError(f"企业不存在：{distributor_code}", code="unknown_company")
    if distributor.kind not in (CompanyKind.DISTRIBUTOR, CompanyKind.BOTH):
        raise DomainError(f"{distributor.name} 不是配送企业", code="not_a_distributor")
    if not Winner.objects.filter(
        product__manufacturer=supplier, province__code=region.province_code
    ).exists():
        raise DomainError(
            f"贵企业在 {region.name} 所在省份没有中选产品，无需设置配送关系", code="not_a_supplier_here"
        )
    with transaction.atomic():
        relationship = (
            DeliveryRelationship.objects.select_for_update().filter(supplier=supplier, region=region).first()
        )
        old = relationship.distributor_id if relationship else None
        if relationship is None:
            relationship = DeliveryRelationship.objects.create(
                supplier=supplier, region=region, distributor=distributor
            )
        elif relationship.distributor_id != distributor.pk:
            relationship.distributor = distributor
            relationship.save(update_fields=["distributor"])
        audit.record(
            actor=actor,
            action="set_delivery_relationship",
            obj=relationship,
            summary=f"配送关系 {region.name}：{distributor.name}",
            changes={"region": region.code, "distributor": [old, distributor.pk]},
        )
    return relationship


def remove_delivery_relationship(*, actor, region_code: str) -> None:
    supplier = access.company_of(actor)
    _require(
        supplier is not None and getattr(actor, "role", None) == Role.MANUFACTURER,
        "只有中选生产企业可以设置配送关系",
    )
    with transaction.atomic():
        relationship = (
            DeliveryRelationship.objects.select_for_update()
            .filter(supplier=supplier, region__code=region_code)
            .first()
        )
        if relationship is None:
            raise NotFound("未找到该记录，或您无权查看")
        audit.record(
            actor=actor,
            action="remove_delivery_relationship",
            obj=relationship,
            summary=f"删除配送关系 {region_code}",
            changes={"region": region_code, "distributor": relationship.distributor_id},
        )
        relationship.delete()


# ---- purchase agreements --------------------------------------------------------------------------

NO_SUPPLIER = "无主供企业，未生成购销协议"
NOT_MAIN = "约定的供应企业不是本省主供企业"
NO_DISTRIBUTOR = "供应企业尚未设置本地区配送关系"
# Codes of the desired-agreement query: 0 generate; 1 and 2 problems without an agreement; 3 a problem with
# an agreement (no distributor yet). A volume of 0 with a supplier has nothing to agree and is no row.
AGREEMENT_PROBLEMS = {1: NO_SUPPLIER, 2: NOT_MAIN, 3: NO_DISTRIBUTOR}


def _budget_sql(qty: str) -> str:
    """money(qty × price) in integer cents from av_main's price in 1/10,000 yuan (core.fields.PriceField):
    (qty × price + 50) div 100 rounds half up, exactly as the ORM's MoneyField would store it."""
    return f"(({qty} * m.price + 50) / 100)"


def _desired_agreements(cursor, year: AgreementYear) -> str:
    """The desired agreements of `year`, one row per agreed volume: institution_id, item_id, supplier_id,
    distributor_id, agreed_qty, winning_price, budget and code (AGREEMENT_PROBLEMS). Stages av_region,
    av_main and av_dist; the SQL takes [year id] as parameters."""
    paths = volumes.stage_regions(cursor)
    volumes.stage_mains(cursor, year.batch)
    suppliers = (
        AgreedVolume.objects.filter(agreement_year=year, supplier__isnull=False)
        .values_list("supplier_id", flat=True)
        .order_by()
        .distinct()
    )
    region_ids = set(Institution.objects.values_list("region_id", flat=True).order_by().distinct())
    volumes.stage_distributors(cursor, suppliers, {pk: paths[pk] for pk in region_ids})
    return f"""
        SELECT v.institution_id AS institution_id, v.item_id AS item_id, v.supplier_id AS supplier_id,
               ds.distributor_id AS distributor_id, v.agreed_qty AS agreed_qty, m.price AS winning_price,
               {_budget_sql("v.agreed_qty")} AS budget,
               CASE WHEN v.supplier_id IS NULL THEN 1
                    WHEN m.supplier_id IS NULL OR m.supplier_id <> v.supplier_id THEN 2
                    WHEN ds.distributor_id IS NULL THEN 3
                    ELSE 0 END AS code
        FROM {_table(AgreedVolume)} v
        JOIN {_table(Institution)} i ON i.id = v.institution_id
        JOIN av_region g ON g.region_id = i.region_id
        LEFT JOIN av_main m ON m.item_id = v.item_id AND m.province_id = g.province_id
        LEFT JOIN av_dist ds ON ds.supplier_id = v.supplier_id AND ds.region_id = i.region_id
        WHERE v.agreement_year_id = %s AND (v.agreed_qty > 0 OR v.supplier_id IS NULL)"""


def write_agreements(year: AgreementYear) -> RunResult:
    """The set-based body of generate_agreements, for a caller inside a transaction (see
    write_agreed_volumes): one INSERT … SELECT for the volumes without an agreement, an SQL comparison
    for those with one (only drafts follow; signed agreements are kept)."""
    result = RunResult()
    table = _table(PurchaseAgreement)
    with connection.cursor() as cursor:
        desired = _desired_agreements(cursor, year)
        has_stored = PurchaseAgreement.objects.filter(agreement_year=year).exists()
        with local_settings(cursor, **BULK_SETTINGS):
            _fetch_problems(
                cursor,
                f"SELECT institution_id, item_id, code FROM ({desired}) d WHERE code IN (1, 2, 3) "
                "ORDER BY institution_id, item_id",
                [year.pk],
                AGREEMENT_PROBLEMS,
                result,
            )
            if has_stored:
                _update_agreements(cursor, year, desired, result)
            new_only = (
                f"AND NOT EXISTS (SELECT 1 FROM {table} s WHERE s.agreement_year_id = %s "
                "AND s.institution_id = d.institution_id AND s.item_id = d.item_id)"
                if has_stored
                else ""
            )
            due = PurchaseAgreement._meta.get_field("due_date").get_db_prep_value(year.sign_due, connection)
            cursor.execute(
                f"""INSERT INTO {table} (agreement_year_id, institution_id, item_id, status, supplier_id,
                                         distributor_id, agreed_qty, winning_price, budget, due_date)
                    SELECT %s, d.institution_id, d.item_id, %s, d.supplier_id, d.distributor_id, d.agreed_qty,
                           d.winning_price, d.budget, %s
                    FROM ({desired}) d
                    WHERE d.code IN (0, 3) {new_only}
                    ORDER BY d.institution_id, d.item_id""",
                [year.pk, AgreementStatus.DRAFT.value, due, year.pk, *([year.pk] if has_stored else [])],
            )
            result.created = cursor.rowcount
        volumes.drop_staging(cursor)
        _analyze_after_load(cursor, table, result.created)
    _generate_hospital_targets(year)
    return result


def _generate_hospital_targets(year: AgreementYear, volume_ids=None) -> None:
    """Department and doctor targets follow agreed volumes at once (SPEC §11); only institutions with
    departments have any, so this is one cheap query elsewhere."""
    from jicai.hospital.actions import generate_targets

    if volume_ids is None:
        volume_ids = AgreedVolume.objects.filter(agreement_year=year).values_list("pk", flat=True)
    generate_targets(volume_ids=volume_ids)


def _update_agreements(cursor, year: AgreementYear, desired: str, result: RunResult) -> None:
    due = PurchaseAgreement._meta.get_field("due_date").get_db_prep_value(year.sign_due, connection)
    differs = " OR ".join(
        [
            _distinct("s.supplier_id", "d.supplier_id"),
            _distinct("s.distributor_id", "d.distributor_id"),
            "s.agreed_qty <> d.agreed_qty",
            _distinct("s.winning_price", "d.winning_price"),
            _distinct("s.budget", "d.budget"),
            _distinct("s.due_date", "%s"),
        ]
    )
    cursor.execute(
        f"""SELECT s.id, s.status, CASE WHEN {differs} THEN 1 ELSE 0 END,
                   d.supplier_id, d.distributor_id, d.agreed_qty, d.winning_price, d.budget
            FROM ({desired}) d
            JOIN {_table(PurchaseAgreement)} s ON s.agreement_year_id = %s
                 AND s.institution_id = d.institution_id AND s.item_id = d.item_id
            WHERE d.code IN (0, 3)""",
        [due, year.pk, year.pk],
    )
    update = []
    while rows := cursor.fetchmany(10000):
        for pk, status, differ, supplier, distributor, qty, price, budget in rows:
            if status != AgreementStatus.DRAFT:
                result.kept += 1
            elif differ:
                update.append((supplier, distributor, qty, price, budget, due, pk))
                result.updated += 1
            else:
                result.unchanged += 1
    sql = (
        f"UPDATE {_table(PurchaseAgreement)} SET supplier_id = %s, distributor_id = %s, agreed_qty = %s, "
        "winning_price = %s, budget = %s, due_date = %s WHERE id = %s"
    )
    for start in range(0, len(update), BULK_BATCH):
        cursor.executemany(sql, update[start : start + BULK_BATCH])


def generate_agreements(*, actor, batch: Batch, agreement_year: int) -> RunResult:
    """One agreement per (agreement year, institution, item) with an agreed volume > 0 and a supplier:
    the main winner's price for the institution's province, budget = money(qty × price), the distributor
    from the supplier's delivery relationship, due date = AgreementYear.sign_due.

    Idempotent: unchanged rows are not written. Only draft agreements follow changed volumes, prices or
    relationships; an agreement either party has signed keeps the terms that were signed.
    """
    if actor is not None:
        _require(access.can_manage_batches(actor), "只有省级医保局或平台管理员可以生成购销协议")
    with transaction.atomic():
        year = _agreement_year(batch, agreement_year)
        result = write_agreements(year)
        audit.record(
            actor=actor,
            action="generate_agreements",
            obj=year,
            summary=f"生成购销协议 {batch.code} 第{agreement_year}年度：新增 {result.created}，更新 {result.updated}",
            changes={"batch": batch.code, "agreement_year": agreement_year, **result.as_dict()},
        )
    return result


def sign_agreement(*, actor, agreement_id: int) -> PurchaseAgreement:
    return sign_agreements(actor=actor, agreement_ids=[agreement_id])[0]


def sign_agreements(*, actor, agreement_ids) -> list[PurchaseAgreement]:
    """The actor's party signs the selected agreements, all or none.

    Order (SPEC §6): draft → institution_signed (the institution, or its consortium lead for a member)
    → supplier_signed (the main supplier) → effective. The supplier's signature is the second one, so the
    agreement passes through supplier_signed and takes effect in the same step; both transitions are
    audited. Rows are locked first so two users signing at once cannot both move the same agreement.
    """
    ids = sorted({int(i) for i in agreement_ids})
    if not ids:
        raise DomainError("请选择要签订的协议", code="nothing_selected")
    institution = access.institution_of(actor)
    company = access.company_of(actor)
    role = getattr(actor, "role", None)
    with transaction.atomic():
        rows = list(queries.visible_agreements(actor).select_for_update().filter(pk__in=ids).order_by("pk"))
        if len(rows) != len(ids):
            raise NotFound("未找到该记录，或您无权查看")
        now = timezone.now()
        user = _user(actor)
        if institution is not None:
            _require(role == Role.INSTITUTION, "只有医疗机构经办人可以签订购销协议")
            wrong = [a.pk for a in rows if a.status != AgreementStatus.DRAFT]
            if wrong:
                raise DomainError(
                    f"以下协议不是待签订状态，未签订任何协议：{'、'.join(map(str, wrong))}",
                    code="wrong_status",
                    details=[{"id": pk} for pk in wrong],
                )
            for a in rows:
                a.status = AgreementStatus.INSTITUTION_SIGNED
                a.institution_signed_at, a.institution_signed_by = now, user
            fields = ["status", "institution_signed_at", "institution_signed_by"]
            transitions = [(AgreementStatus.DRAFT, AgreementStatus.INSTITUTION_SIGNED)]
        elif company is not None:
            _require(role == Role.MANUFACTURER, "只有中选生产企业可以签订购销协议")
            if any(a.supplier_id != company.pk for a in rows):
                # A distributor sees agreements naming it but is not a party that signs them.
                raise PermissionDenied("只有协议中的供应企业可以签订")
            wrong = [a.pk for a in rows if a.status != AgreementStatus.INSTITUTION_SIGNED]
            if wrong:
                raise DomainError(
                    f"以下协议尚待医疗机构签订（或已生效），未签订任何协议：{'、'.join(map(str, wrong))}",
                    code="wrong_status",
                    details=[{"id": pk} for pk in wrong],
                )
            for a in rows:
                a.status = AgreementStatus.EFFECTIVE
                a.supplier_signed_at, a.supplier_signed_by, a.effective_at = now, user, now
            fields = ["status", "supplier_signed_at", "supplier_signed_by", "effective_at"]
            transitions = [
                (AgreementStatus.INSTITUTION_SIGNED, AgreementStatus.SUPPLIER_SIGNED),
                (AgreementStatus.SUPPLIER_SIGNED, AgreementStatus.EFFECTIVE),
            ]
        else:
            raise PermissionDenied("只有医疗机构和供应企业可以签订购销协议")
        PurchaseAgreement.objects.bulk_update(rows, fields, batch_size=BULK_BATCH)
        party = (
            AgreementSignature.Party.INSTITUTION
            if institution is not None
            else AgreementSignature.Party.SUPPLIER
        )
        signed_rows = (
            PurchaseAgreement.objects.filter(pk__in=ids)
            .select_related("agreement_year__batch", "institution", "item", "supplier", "distributor")
            .order_by("pk")
        )
        for a in signed_rows:
            signing.sign(a, party=party, actor=actor, at=now)
        for a in rows:
            for old, new in transitions:
                audit.record(
                    actor=actor,
                    action="sign_agreement",
                    obj=a,
                    summary=f"购销协议 {a.pk}：{AgreementStatus(old).label} → {AgreementStatus(new).label}",
                    changes={"status": [old.value, new.value], "institution": a.institution_id},
                )
    return rows
