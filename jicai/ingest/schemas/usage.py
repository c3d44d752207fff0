"""usage: `institution_code,product_code,department,doctor_code,qty,used_on` (SPEC §10), HIS/settlement
usage lines. Keyed by everything but qty (trade.UsageLine's unique constraint): an identical re-send is a
no-op, another qty for the same key is a conflict."""

from jicai.ingest.schemas.base import Column, Counts, ImportContext, Row, date, integer, text
from jicai.ingest.schemas.common import product_code
from jicai.ingest.schemas.orders import _cached
from jicai.ingest.schemas.trade_common import (
    TradeSchema,
    insert_values,
    institution_code,
    max_pk,
    own_institution_row,
)
from jicai.registry.models import Institution, Product
from jicai.trade.models import UsageLine


class UsageSchema(TradeSchema):
    kind = "usage"
    title = "使用数据"
    columns = (
        Column("institution_code", "医疗机构编码"),
        Column("product_code", "产品编码"),
        Column("department", "科室"),
        Column("doctor_code", "医师编码"),
        Column("qty", "数量"),
        Column("used_on", "使用日期"),
    )
    key_columns = ("institution_code", "product_code", "department", "doctor_code", "used_on")
    example = {
        "institution_code": "H37100200001",
        "product_code": "XC10AAA001A001010100001",
        "department": "心内科",
        "doctor_code": "D0001",
        "qty": "28",
        "used_on": "2025-03-06",
    }

    def start(self, ctx: ImportContext) -> None:
        super().start(ctx)
        ctx.extra.update(institutions={}, products={}, usage_start=max_pk(UsageLine))

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["institution_code"] = institution_code(ctx, row)
        v["product_code"] = product_code(ctx, row)
        v["department"] = text(ctx, row, "department", max_length=64, required=False)
        v["doctor_code"] = text(ctx, row, "doctor_code", max_length=32, required=False)
        v["qty"] = integer(ctx, row, "qty", positive=True)
        v["used_on"] = date(ctx, row, "used_on")

    def process(self, ctx: ImportContext) -> Counts:
        rows = ctx.good_rows
        institutions = _cached(
            ctx,
            "institutions",
            Institution.objects.values("id", "code"),
            {r.values["institution_code"] for r in rows},
        )
        products = _cached(
            ctx, "products", Product.objects.values("id", "code"), {r.values["product_code"] for r in rows}
        )
        for row in rows:
            v = row.values
            inst = institutions.get(v["institution_code"])
            if inst is None:
                ctx.error(row, "institution_code", f"医疗机构不存在：{v['institution_code']}")
            elif not own_institution_row(ctx, inst["id"]):
                ctx.error(row, "institution_code", f"只能导入本机构的使用数据：{v['institution_code']}")
            if v["product_code"] not in products:
                ctx.error(row, "product_code", f"产品不存在：{v['product_code']}")
        _check_departments_and_doctors(ctx, institutions)
        rows = ctx.good_rows
        if not rows:
            return Counts()
        for row in rows:
            v = row.values
            v["key"] = (
                institutions[v["institution_code"]]["id"],
                products[v["product_code"]]["id"],
                v["department"],
                v["doctor_code"],
                v["used_on"],
            )
        days = [r.values["used_on"] for r in rows]
        stored = {
            (u["institution_id"], u["product_id"], u["department"], u["doctor_code"], u["used_on"]): u
            for u in UsageLine.objects.filter(
                institution_id__in={r.values["key"][0] for r in rows},
                product_id__in={r.values["key"][1] for r in rows},
                used_on__range=(min(days), max(days)),
            ).values("id", "institution_id", "product_id", "department", "doctor_code", "used_on", "qty")
        }
        start = ctx.extra["usage_start"]
        seen: dict[tuple, int] = {}
        counts = Counts()
        new = []
        for row in rows:
            v = row.values
            key = v["key"]
            if key in seen:
                ctx.error(row, "used_on", f"与第 {seen[key]} 行重复（机构、产品、科室、医师、日期相同）")
                continue
            seen[key] = row.number
            line = stored.get(key)
            if line is None:
                new.append(
                    dict(
                        institution_id=key[0],
                        product_id=key[1],
                        department=key[2],
                        doctor_code=key[3],
                        used_on=key[4],
                        qty=v["qty"],
                    )
                )
            elif line["id"] > start:
                ctx.error(row, "used_on", "与本文件前面的行重复（机构、产品、科室、医师、日期相同）")
            elif line["qty"] != v["qty"]:
                ctx.error(row, "qty", f"与已导入的使用数据冲突（数量 {line['qty']}→{v['qty']}），未修改")
            else:
                counts.unchanged += 1
        insert_values(UsageLine, new)
        counts.created += len(new)
        return counts


def _check_departments_and_doctors(ctx: ImportContext, institutions: dict) -> None:
    """Once an institution has departments (SPEC §11), a row naming a department or doctor it does not
    have is a row error; one query each for the chunk's institutions."""
    from jicai.hospital.models import Department, Doctor

    ids = {inst["id"] for inst in institutions.values()}
    departments: dict[int, set] = {}
    for inst_id, code in Department.objects.filter(institution_id__in=ids).values_list(
        "institution_id", "code"
    ):
        departments.setdefault(inst_id, set()).add(code)
    if not departments:
        return
    doctors: dict[int, set] = {}
    for inst_id, code in Doctor.objects.filter(institution_id__in=set(departments)).values_list(
        "institution_id", "code"
    ):
        doctors.setdefault(inst_id, set()).add(code)
    for row in ctx.good_rows:
        v = row.values
        inst_id = institutions[v["institution_code"]]["id"]
        if inst_id not in departments:
            continue
        if v["department"] and v["department"] not in departments[inst_id]:
            ctx.error(row, "department", f"本机构没有该科室：{v['department']}")
        if v["doctor_code"] and v["doctor_code"] not in doctors.get(inst_id, set()):
            ctx.error(row, "doctor_code", f"本机构没有该医师：{v['doctor_code']}")
