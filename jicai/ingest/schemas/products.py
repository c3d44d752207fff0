"""products: code,generic_name,dosage_form,spec,pack,unit,units_per_pack,manufacturer_code,category,
consistency_passed,originator,dosage_form_group (an empty group is derived from the dosage form)."""

from jicai.core.codes import check_product_code, check_uscc, product_category
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    boolean,
    code,
    counts_from,
    enum,
    execute,
    integer,
    lookup,
    plan_upsert,
    text,
)
from jicai.registry.dosage_forms import KNOWN_GROUPS, form_group
from jicai.registry.models import Company, CompanyKind, Product, ProductCategory

CATEGORY_NAMES = {"western": "西药（X）", "chinese": "中成药（Z）", "consumable": "耗材（C）"}


class ProductSchema(Schema):
    kind = "products"
    title = "产品"
    columns = (
        Column("code", "医保编码"),
        Column("generic_name", "通用名"),
        Column("dosage_form", "剂型"),
        Column("spec", "规格"),
        Column("pack", "包装"),
        Column("unit", "最小制剂单位"),
        Column("units_per_pack", "包装数量"),
        Column("manufacturer_code", "生产企业代码"),
        Column("category", "类别"),
        Column("consistency_passed", "通过一致性评价"),
        Column("originator", "原研"),
        Column("dosage_form_group", "剂型组", required=False),
    )
    key_columns = ("code",)
    example = {
        "code": "XC10AAA001A001010100001",
        "generic_name": "阿托伐他汀钙",
        "dosage_form": "片剂",
        "spec": "20mg",
        "pack": "7片/盒",
        "unit": "片",
        "units_per_pack": "7",
        "manufacturer_code": "91370000MA0000001T",
        "category": "western",
        "consistency_passed": "true",
        "originator": "false",
        "dosage_form_group": "",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["code"] = code(ctx, row, "code", check_product_code)
        v["generic_name"] = text(ctx, row, "generic_name", max_length=128)
        v["dosage_form"] = text(ctx, row, "dosage_form", max_length=64)
        v["spec"] = text(ctx, row, "spec", max_length=128)
        v["pack"] = text(ctx, row, "pack", max_length=128, required=False)
        v["unit"] = text(ctx, row, "unit", max_length=16)
        v["units_per_pack"] = integer(ctx, row, "units_per_pack", positive=True)
        v["manufacturer_code"] = code(ctx, row, "manufacturer_code", check_uscc, warn=False)
        v["category"] = enum(ctx, row, "category", ProductCategory)
        v["consistency_passed"] = boolean(ctx, row, "consistency_passed")
        v["originator"] = boolean(ctx, row, "originator")
        if v["code"] and v["category"] and product_category(v["code"]) != v["category"]:
            ctx.error(
                row,
                "category",
                f"类别 {v['category']} 与代码前缀不符：应为 {CATEGORY_NAMES[product_category(v['code'])]}",
            )
        group = row.raw.get("dosage_form_group", "")
        if group:
            if group not in KNOWN_GROUPS:
                ctx.error(row, "dosage_form_group", f"未知的剂型组：{group}")
            v["dosage_form_group"] = group
        elif v["dosage_form"]:
            v["dosage_form_group"] = form_group(v["dosage_form"])
            if v["dosage_form_group"] is None:
                ctx.error(
                    row,
                    "dosage_form",
                    f"剂型“{v['dosage_form']}”不在剂型组对照表中，请填写 dosage_form_group",
                )

    def resolve(self, ctx: ImportContext) -> None:
        makers = lookup(
            Company.objects.only("id", "code", "kind"),
            "code",
            {r.values.get("manufacturer_code") for r in ctx.rows} - {None},
        )
        ctx.extra["makers"] = makers
        ctx.extra["stored"] = lookup(Product.objects.all(), "code", {r.values["code"] for r in ctx.good_rows})
        for row in ctx.good_rows:
            maker = makers.get(row.values["manufacturer_code"])
            if maker is None:
                ctx.error(row, "manufacturer_code", f"企业不存在：{row.values['manufacturer_code']}")
            elif maker.kind == CompanyKind.DISTRIBUTOR:
                ctx.error(row, "manufacturer_code", f"企业 {maker.code} 是配送企业，不是生产企业")

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        makers = ctx.extra["makers"]
        desired = {}
        for row in ctx.rows:
            v = row.values
            desired[v["code"]] = {
                "generic_name": v["generic_name"],
                "dosage_form": v["dosage_form"],
                "dosage_form_group": v["dosage_form_group"],
                "spec": v["spec"],
                "pack": v["pack"],
                "unit": v["unit"],
                "units_per_pack": v["units_per_pack"],
                "manufacturer_id": makers[v["manufacturer_code"]].pk,
                "category": v["category"],
                "consistency_passed": v["consistency_passed"],
                "originator": v["originator"],
            }
        plan = plan_upsert(Product, desired, ctx.extra["stored"], {c: {"code": c} for c in desired})
        if write:
            execute(Product, plan)
        return counts_from(plan.status.values())
