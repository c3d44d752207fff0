"""Every write of agreed volumes, delivery relationships and purchase agreements (SPEC §5.6, §6).

Computing volumes and generating agreements are set-based: the inputs of a whole batch are read in a
fixed number of queries (jicai.agreements.volumes), compared with the stored rows in memory, and written
with bulk_create / bulk_update. Runs for the same agreement year serialise on a row lock of the
AgreementYear, so two concurrent runs cannot both insert the same keys.
"""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Role
from jicai.agreements import queries
from jicai.agreements.models import (
    AgreedVolume,
    AgreedVolumeAdjustment,
    AgreementStatus,
    DeliveryRelationship,
    PurchaseAgreement,
)
from jicai.agreements.volumes import DistributorChooser, RatioTables, main_winners, winner_counts
from jicai.batches.models import AgreementYear, Batch, Winner
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.core.money import money, parse_qty
from jicai.policy import rules
from jicai.registry.models import Company, CompanyKind, Institution, Region

BULK_BATCH = 1000
INSERT_BATCH = 5000

# Fields a (re)computation owns; `adjusted` rows keep their agreed_qty (see compute_agreed_volumes).
VOLUME_FIELDS = ("supplier_id", "reported_qty", "ratio", "agreed_qty", "source")


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

# Institutions handled per round trip: a province has ~10⁴ institutions × ~10² items, so volumes are
# computed, compared and written one slice of institutions at a time with bounded memory.
INSTITUTION_CHUNK = 500
PROBLEMS_KEPT = 1000


def _approved_lines(batch: Batch, number: int):
    from jicai.demand.models import DemandLine, ReportStatus

    return DemandLine.objects.filter(
        report__status=ReportStatus.APPROVED,
        report__window__batch=batch,
        report__window__agreement_year=number,
        reported_qty__isnull=False,
        item__batch=batch,
    )


def _reported(batch: Batch, number: int, institution_ids) -> dict[tuple[int, int], int]:
    """{(institution id, item id): reported qty} from approved reports of the batch's windows for this
    agreement year. When an institution has approved reports in several windows, the latest window wins."""
    rows = (
        _approved_lines(batch, number)
        .filter(report__institution_id__in=institution_ids)
        .order_by("report__window__opens_on", "report__window_id")
        .values_list("report__institution_id", "item_id", "reported_qty")
    )
    return {(inst, item): qty for inst, item, qty in rows}


def _institution_regions(institution_ids) -> dict[int, tuple[int, str]]:
    """{institution id: (region id, region path)}."""
    rows = Institution.objects.filter(pk__in=list(institution_ids)).values_list(
        "pk", "region_id", "region__path"
    )
    return {pk: (region_id, path) for pk, region_id, path in rows}


def _chunks(ids: list, size: int = INSTITUTION_CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def insert_rows(model, columns: list[str], rows: list[tuple]) -> None:
    """INSERT plain tuples with executemany. Django's bulk_create builds a model instance and compiles SQL
    per row, which costs ~5× the database's own work at province scale (1.6 million volumes per year);
    values are still adapted by each column's field, so SQLite and PostgreSQL get what the ORM would send."""
    if not rows:
        return
    fields = [
        model._meta.get_field(c.removesuffix("_id")) if c.endswith("_id") else model._meta.get_field(c)
        for c in columns
    ]
    adapt = [
        (i, f)
        for i, f in enumerate(fields)
        if f.get_internal_type() in ("DecimalField", "DateField", "DateTimeField", "BooleanField")
    ]
    if adapt:
        rows = [list(r) for r in rows]
        for r in rows:
            for i, f in adapt:
                r[i] = f.get_db_prep_save(r[i], connection)
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            cursor.executemany(sql, rows[start : start + INSERT_BATCH])


class VolumeInputs:
    """Batch-wide inputs loaded once: winner counts, main winners, province ids, ratio tables by region."""

    def __init__(self, batch: Batch):
        self.batch = batch
        self.counts = winner_counts(batch)
        self.mains = main_winners(batch)
        self.provinces = dict(Region.objects.filter(level="province").values_list("code", "pk"))
        self.tables = RatioTables(batch)
        self._ratios: dict[tuple[int, int], object] = {}

    def main(self, item_id: int, region_path: str):
        return self.mains.get((item_id, self.provinces.get(region_path[:6])))

    def ratio(self, region_id: int, count: int):
        key = (region_id, count)
        if key not in self._ratios:
            self._ratios[key] = self.tables.ratio(region_id, count)
        return self._ratios[key]


def desired_volumes(
    inputs: VolumeInputs, number: int, institution_ids: list[int], result: "RunResult"
) -> dict[tuple[int, int], dict]:
    """{(institution id, item id): field values} the ratio rule (and for year n > 1 the carry-over) gives
    for these institutions; problems (no winners, no main supplier) are added to `result`."""
    batch = inputs.batch
    reports = _reported(batch, number, institution_ids)
    carried = {}
    if number > 1:
        carried = {
            (v["institution_id"], v["item_id"]): v
            for v in AgreedVolume.objects.filter(
                agreement_year__batch=batch,
                agreement_year__number=number - 1,
                institution_id__in=institution_ids,
            ).values("institution_id", "item_id", "reported_qty", "ratio", "agreed_qty", "supplier_id")
        }
    regions = _institution_regions(institution_ids)
    inputs.tables.preload({region_id for region_id, _ in regions.values()})
    desired = {}
    for key in sorted(set(reports) | set(carried)):
        institution_id, item_id = key
        region_id, path = regions[institution_id]
        main = inputs.main(item_id, path)
        if key in reports:
            count = inputs.counts.get(item_id)
            if not count:
                result.problem(institution_id, item_id, "该品种尚无中选结果，无法计算约定采购量")
                continue
            ratio = inputs.ratio(region_id, count)
            values = {
                "reported_qty": reports[key],
                "ratio": ratio,
                "agreed_qty": rules.agreed_qty(reports[key], ratio),
                "source": AgreedVolume.Source.COMPUTED,
            }
        else:
            previous = carried[key]
            values = {
                "reported_qty": previous["reported_qty"],
                "ratio": previous["ratio"],
                "agreed_qty": previous["agreed_qty"],
                "source": AgreedVolume.Source.CARRIED,
            }
        # The supplier is the province's main winner today; a year carried over keeps last year's supplier
        # only when the province has no main winner any more (so it still shows who it was).
        if main is None:
            result.problem(institution_id, item_id, "本省无主供企业，约定采购量未分配供应企业")
        values["supplier_id"] = main.supplier_id if main else carried.get(key, {}).get("supplier_id")
        desired[key] = values
    return desired


def _volume_institutions(batch: Batch, number: int) -> list[int]:
    """Institutions with approved lines for this year, or (year n > 1) with volumes of year n − 1."""
    ids = set(
        _approved_lines(batch, number).values_list("report__institution_id", flat=True).order_by().distinct()
    )
    if number > 1:
        ids |= set(
            AgreedVolume.objects.filter(agreement_year__batch=batch, agreement_year__number=number - 1)
            .values_list("institution_id", flat=True)
            .order_by()
            .distinct()
        )
    return sorted(ids)


def write_agreed_volumes(year: AgreementYear) -> RunResult:
    """The set-based body of compute_agreed_volumes for a caller already inside a transaction that holds the
    agreement year (the action; the demo, whose step is one transaction: a nested atomic would open a
    savepoint, and SQLite keeps a savepoint's journal of a million-row write in memory)."""
    batch, number = year.batch, year.number
    inputs = VolumeInputs(batch)
    result = RunResult()
    for chunk in _chunks(_volume_institutions(batch, number)):
        desired = desired_volumes(inputs, number, chunk, result)
        stored = {
            (v.institution_id, v.item_id): v
            for v in AgreedVolume.objects.filter(agreement_year=year, institution_id__in=chunk).only(
                "id", "institution_id", "item_id", *VOLUME_FIELDS, "adjusted"
            )
        }
        create, update = [], []
        for key, values in desired.items():
            row = stored.get(key)
            if row is None:
                create.append((year.pk, key[0], key[1], False, *(values[f] for f in VOLUME_FIELDS)))
                continue
            if row.source == AgreedVolume.Source.IMPORTED:
                result.kept += 1
                continue
            if row.adjusted:
                values = {k: v for k, v in values.items() if k not in ("agreed_qty", "source")}
                result.kept += 1
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            if changed:
                for name in changed:
                    setattr(row, name, values[name])
                update.append(row)
                if not row.adjusted:
                    result.updated += 1
            elif not row.adjusted:
                result.unchanged += 1
        insert_rows(
            AgreedVolume,
            ["agreement_year_id", "institution_id", "item_id", "adjusted", *VOLUME_FIELDS],
            create,
        )
        if update:
            fields = ["supplier", "reported_qty", "ratio", "agreed_qty", "source"]
            AgreedVolume.objects.bulk_update(update, fields, batch_size=BULK_BATCH)
        result.created += len(create)
    return result


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

AGREEMENT_FIELDS = ("supplier_id", "distributor_id", "agreed_qty", "winning_price", "budget", "due_date")


def _generate_chunk(year: AgreementYear, inputs: VolumeInputs, chooser, chunk: list[int], result: RunResult):
    volumes = AgreedVolume.objects.filter(agreement_year=year, institution_id__in=chunk).values_list(
        "institution_id", "item_id", "supplier_id", "agreed_qty"
    )
    regions = _institution_regions(chunk)
    stored = {
        (a.institution_id, a.item_id): a
        for a in PurchaseAgreement.objects.filter(agreement_year=year, institution_id__in=chunk).only(
            "id", "institution_id", "item_id", "status", *AGREEMENT_FIELDS
        )
    }
    create, update, changed_fields = [], [], set()
    for institution_id, item_id, supplier_id, qty in volumes:
        if supplier_id is None:
            result.problem(institution_id, item_id, "无主供企业，未生成购销协议")
            continue
        if qty <= 0:
            continue
        _, path = regions[institution_id]
        main = inputs.main(item_id, path)
        if main is None or main.supplier_id != supplier_id:
            result.problem(institution_id, item_id, "约定的供应企业不是本省主供企业")
            continue
        distributor_id = chooser.choose(supplier_id, path)
        if distributor_id is None:
            result.problem(institution_id, item_id, "供应企业尚未设置本地区配送关系")
        values = {
            "supplier_id": supplier_id,
            "distributor_id": distributor_id,
            "agreed_qty": qty,
            "winning_price": main.winning_price,
            "budget": money(qty * main.winning_price),
            "due_date": year.sign_due,
        }
        row = stored.get((institution_id, item_id))
        if row is None:
            create.append(
                (
                    year.pk,
                    institution_id,
                    item_id,
                    AgreementStatus.DRAFT.value,
                    *(values[f] for f in AGREEMENT_FIELDS),
                )
            )
            continue
        if row.status != AgreementStatus.DRAFT:
            result.kept += 1
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        if changed:
            for name in changed:
                setattr(row, name, values[name])
            changed_fields.update(changed)
            update.append(row)
            result.updated += 1
        else:
            result.unchanged += 1
    insert_rows(
        PurchaseAgreement,
        ["agreement_year_id", "institution_id", "item_id", "status", *AGREEMENT_FIELDS],
        create,
    )
    if update:
        fields = sorted(f.removesuffix("_id") for f in changed_fields)
        PurchaseAgreement.objects.bulk_update(update, fields, batch_size=BULK_BATCH)
    result.created += len(create)


def write_agreements(year: AgreementYear) -> RunResult:
    """The set-based body of generate_agreements, for a caller inside a transaction (see
    write_agreed_volumes)."""
    inputs = VolumeInputs(year.batch)
    chooser = DistributorChooser(
        AgreedVolume.objects.filter(agreement_year=year, supplier__isnull=False)
        .values_list("supplier_id", flat=True)
        .order_by()
        .distinct()
    )
    institution_ids = sorted(
        AgreedVolume.objects.filter(agreement_year=year)
        .values_list("institution_id", flat=True)
        .order_by()
        .distinct()
    )
    result = RunResult()
    for chunk in _chunks(institution_ids):
        _generate_chunk(year, inputs, chooser, chunk, result)
    return result


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
