"""The row-by-row Python computation of agreed volumes and agreements that jicai.agreements.actions used
before it became set-based SQL, kept as the reference the SQL must match (test_sql_matches_reference).

It computes the desired rows per chunk of institutions in Python, compares them with the stored rows and
writes them with executemany / bulk_update, exactly as the actions did.
"""

from django.db import connection

from jicai.agreements.actions import RunResult
from jicai.agreements.models import AgreedVolume, AgreementStatus, PurchaseAgreement
from jicai.agreements.volumes import DistributorChooser, RatioTables, main_winners, winner_counts
from jicai.batches.models import AgreementYear, Batch
from jicai.core.fields import ScaledDecimalField
from jicai.core.money import money
from jicai.policy import rules
from jicai.registry.models import Institution, Region

BULK_BATCH = 1000
INSERT_BATCH = 5000
VOLUME_FIELDS = ("supplier_id", "reported_qty", "ratio", "agreed_qty", "source")
INSTITUTION_CHUNK = 500


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
        if isinstance(f, ScaledDecimalField)
        or f.get_internal_type() in ("DecimalField", "DateField", "DateTimeField", "BooleanField")
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
    inputs: VolumeInputs, number: int, institution_ids: list[int], result: RunResult
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
