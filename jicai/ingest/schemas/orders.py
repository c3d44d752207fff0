"""orders: `order_id,line_no,institution_code,supplier_code,distributor_code,product_code,qty,unit_price,
ordered_on,status` (SPEC §10). Keyed by the sender's order_id + line_no: an identical re-send is a no-op, a
changed line is a conflict (never applied). Lines of one order agree on institution, supplier, distributor
and date. The price is kept as sent (SPEC §10, clarified): imported orders record what happened elsewhere
(the old platform's history, an ERP), so a price other than the listing price is not refused here; a price
above the §4 cap is flagged by monitoring as PRICE_ABOVE_CAP. Orders placed on the platform keep the
listing-price rule (trade.actions.place_order)."""

import datetime as dt

from jicai.batches.models import Item, Winner
from jicai.compliance import overlaps
from jicai.core.codes import check_uscc
from jicai.core.money import amount
from jicai.ingest.schemas.base import Column, Counts, ImportContext, Row, code, date, decimal, enum, integer
from jicai.ingest.schemas.common import product_code
from jicai.ingest.schemas.trade_common import (
    TradeSchema,
    insert_values,
    institution_code,
    max_pk,
    order_key,
    own_institution_row,
)
from jicai.registry.models import Company, Institution, Product
from jicai.trade.models import LineStatus, Order, OrderLine

HEADER_FIELDS = ("institution_id", "supplier_id", "distributor_id", "ordered_on")
HEADER_LABELS = {
    "institution_id": "医疗机构",
    "supplier_id": "供货企业",
    "distributor_id": "配送企业",
    "ordered_on": "下单日期",
}
HEADER_COLUMNS = {
    "institution_id": "institution_code",
    "supplier_id": "supplier_code",
    "distributor_id": "distributor_code",
    "ordered_on": "ordered_on",
}


class OrderSchema(TradeSchema):
    kind = "orders"
    title = "订单"
    columns = (
        Column("order_id", "订单号"),
        Column("line_no", "行号"),
        Column("institution_code", "医疗机构编码"),
        Column("supplier_code", "供货企业编码"),
        Column("distributor_code", "配送企业编码"),
        Column("product_code", "产品编码"),
        Column("qty", "数量"),
        Column("unit_price", "单价"),
        Column("ordered_on", "下单日期"),
        Column("status", "状态"),
    )
    key_columns = ("order_id", "line_no")
    example = {
        "order_id": "PO20250301001",
        "line_no": "1",
        "institution_code": "H37100200001",
        "supplier_code": "91370000163044541X",
        "distributor_code": "",
        "product_code": "XC10AAA001A001010100001",
        "qty": "1000",
        "unit_price": "0.1200",
        "ordered_on": "2025-03-01",
        "status": "open",
    }

    def start(self, ctx: ImportContext) -> None:
        super().start(ctx)
        ctx.extra.update(
            institutions={},
            companies={},
            products={},
            line_start=max_pk(OrderLine),
            order_start=max_pk(Order),
            items=_ItemResolver(),
        )

    def parse(self, ctx: ImportContext, row: Row) -> None:
        order_key(ctx, row)
        v = row.values
        v["institution_code"] = institution_code(ctx, row)
        v["supplier_code"] = code(ctx, row, "supplier_code", check_uscc, warn=False)
        v["distributor_code"] = code(ctx, row, "distributor_code", check_uscc, required=False, warn=False)
        v["product_code"] = product_code(ctx, row)
        v["qty"] = _memo(ctx, row, "qty", _parse_qty)
        v["unit_price"] = _memo(ctx, row, "unit_price", _parse_price)
        v["ordered_on"] = _memo(ctx, row, "ordered_on", date)
        v["status"] = _memo(ctx, row, "status", _parse_status)

    # ---- per chunk ------------------------------------------------------------------------------------

    def process(self, ctx: ImportContext) -> Counts:
        rows = ctx.good_rows
        institutions = _cached(
            ctx,
            "institutions",
            Institution.objects.values("id", "code", "region__path"),
            {r.values["institution_code"] for r in rows},
        )
        companies = _cached(
            ctx,
            "companies",
            Company.objects.values("id", "code"),
            {r.values["supplier_code"] for r in rows} | {r.values["distributor_code"] for r in rows},
        )
        products = _cached(
            ctx,
            "products",
            Product.objects.values("id", "code", "generic_name", "dosage_form_group"),
            {r.values["product_code"] for r in rows},
        )
        # Reference checks first, so one run names every unknown code.
        for row in rows:
            v = row.values
            inst = institutions.get(v["institution_code"])
            if inst is None:
                ctx.error(row, "institution_code", f"医疗机构不存在：{v['institution_code']}")
            elif not own_institution_row(ctx, inst["id"]):
                ctx.error(row, "institution_code", f"只能导入本机构的订单：{v['institution_code']}")
            if v["supplier_code"] not in companies:
                ctx.error(row, "supplier_code", f"企业不存在：{v['supplier_code']}")
            if v["distributor_code"] and v["distributor_code"] not in companies:
                ctx.error(row, "distributor_code", f"企业不存在：{v['distributor_code']}")
            if v["product_code"] not in products:
                ctx.error(row, "product_code", f"产品不存在：{v['product_code']}")
        rows = ctx.good_rows
        for row in rows:
            v = row.values
            inst = institutions[v["institution_code"]]
            v["institution_id"] = inst["id"]
            v["province_code"] = inst["region__path"][:6]
            v["supplier_id"] = companies[v["supplier_code"]]["id"]
            v["distributor_id"] = companies[v["distributor_code"]]["id"] if v["distributor_code"] else None
            v["product"] = products[v["product_code"]]
        return self._compare_and_write(ctx, ctx.good_rows)

    def _compare_and_write(self, ctx: ImportContext, rows: list[Row]) -> Counts:
        order_ids = {r.values["order_id"] for r in rows}
        stored_orders = (
            {
                o["order_id"]: o
                for o in Order.objects.filter(order_id__in=order_ids).values("id", "order_id", *HEADER_FIELDS)
            }
            if order_ids
            else {}
        )
        stored_lines = {}
        if stored_orders:
            by_pk = {o["id"]: o["order_id"] for o in stored_orders.values()}
            for line in OrderLine.objects.filter(order_id__in=by_pk).values(
                "id", "order_id", "line_no", "product_id", "qty", "unit_price", "status"
            ):
                stored_lines[(by_pk[line["order_id"]], line["line_no"])] = line
        line_start, order_start = ctx.extra["line_start"], ctx.extra["order_start"]
        headers: dict[
            str, tuple[dict, int]
        ] = {}  # order_id → (header of its first row in this chunk, row no.)
        seen: dict[tuple, int] = {}
        counts = Counts()
        new_rows: list[Row] = []
        for row in rows:
            v = row.values
            key = (v["order_id"], v["line_no"])
            header = {name: v[name] for name in HEADER_FIELDS}
            stored = stored_orders.get(v["order_id"])
            if stored is not None:
                differ = [n for n in HEADER_FIELDS if stored[n] != header[n]]
                if differ:
                    where = "已导入的订单" if stored["id"] <= order_start else "本文件前面各行的订单"
                    ctx.error(
                        row,
                        HEADER_COLUMNS[differ[0]],
                        f"与{where} {v['order_id']} 不一致：{'、'.join(HEADER_LABELS[n] for n in differ)}",
                    )
                    continue
            elif v["order_id"] in headers:
                first, number = headers[v["order_id"]]
                differ = [n for n in HEADER_FIELDS if first[n] != header[n]]
                if differ:
                    ctx.error(
                        row,
                        HEADER_COLUMNS[differ[0]],
                        f"同一订单的各行必须一致（见第 {number} 行）：{'、'.join(HEADER_LABELS[n] for n in differ)}",
                    )
                    continue
            else:
                headers[v["order_id"]] = (header, row.number)
            if key in seen:
                ctx.error(row, "line_no", f"与第 {seen[key]} 行重复（{v['order_id']} / {v['line_no']}）")
                continue
            seen[key] = row.number
            line = stored_lines.get(key)
            if line is not None:
                if line["id"] > line_start:
                    ctx.error(row, "line_no", f"与本文件前面的行重复（{v['order_id']} / {v['line_no']}）")
                    continue
                wanted = {
                    "product_id": v["product"]["id"],
                    "qty": v["qty"],
                    "unit_price": v["unit_price"],
                    "status": v["status"],
                }
                differ = [n for n, value in wanted.items() if line[n] != value]
                if differ:
                    shown = "、".join(f"{_LINE_LABELS[n]} {line[n]}→{_shown(wanted[n])}" for n in differ)
                    ctx.error(row, _LINE_COLUMNS[differ[0]], f"与已导入的订单行冲突（{shown}），未修改")
                else:
                    counts.unchanged += 1
                continue
            new_rows.append(row)
        new_rows = [r for r in new_rows if r.ok]
        if new_rows:
            self._write(ctx, new_rows, stored_orders)
            counts.created += len(new_rows)
        return counts

    def _write(self, ctx: ImportContext, rows: list[Row], stored_orders: dict) -> None:
        source = Order.Source.API if getattr(ctx, "source", "") == "api" else Order.Source.IMPORT
        actor = getattr(ctx, "actor", None)
        user_id = actor.pk if actor is not None and hasattr(actor, "username") else None
        new_orders = {}
        for row in rows:
            v = row.values
            if v["order_id"] not in stored_orders and v["order_id"] not in new_orders:
                new_orders[v["order_id"]] = dict(
                    order_id=v["order_id"],
                    source=source,
                    created_by_id=user_id,
                    **{name: v[name] for name in HEADER_FIELDS},
                )
        order_pks = {o["order_id"]: o["id"] for o in stored_orders.values()}
        if new_orders:
            # COPY like the lines (no model instances: their SQL compilation cost more than the insert), then
            # the new ids in one query.
            insert_values(Order, list(new_orders.values()))
            order_pks.update(
                Order.objects.filter(order_id__in=list(new_orders)).values_list("order_id", "id").iterator()
            )
        items = ctx.extra["items"]
        lines = []
        for row in rows:
            v = row.values
            product = v["product"]
            lines.append(
                dict(
                    order_id=order_pks[v["order_id"]],
                    line_no=v["line_no"],
                    institution_id=v["institution_id"],
                    supplier_id=v["supplier_id"],
                    ordered_on=v["ordered_on"],
                    product_id=product["id"],
                    item_id=items.item_for(product, v["province_code"], v["ordered_on"]),
                    qty=v["qty"],
                    unit_price=v["unit_price"],
                    amount=amount(v["qty"], v["unit_price"]),
                    status=v["status"],
                    # The sender's "rejected" is the supplier's refusal (trade.rules.line_status).
                    accepted_by_supplier=False if v["status"] == LineStatus.REJECTED else None,
                )
            )
        insert_values(OrderLine, lines)


_LINE_LABELS = {"product_id": "产品", "qty": "数量", "unit_price": "单价", "status": "状态"}
_LINE_COLUMNS = {"product_id": "product_code", "qty": "qty", "unit_price": "unit_price", "status": "status"}


MEMO_LIMIT = 100_000  # distinct texts remembered per column (a file of all-different cells stays bounded)


class _Probe:
    """Collects the errors one cell parser reports, so its outcome can be replayed on other rows."""

    def __init__(self):
        self.reasons: list[str] = []

    def error(self, row, column: str, reason: str) -> None:
        self.reasons.append(reason)


def _memo(ctx: ImportContext, row: Row, column: str, parse):
    """parse(ctx, row, column) once per distinct cell text of the import: quantities, prices, dates and
    statuses repeat across a million lines, and these parsers are pure functions of the cell's text (the
    same value and the same error reasons for the same text), so a repeat replays the first outcome."""
    memo = ctx.extra.setdefault("memo", {}).setdefault(column, {})
    text = row.raw.get(column, "")
    outcome = memo.get(text)
    if outcome is None:
        probe = _Probe()
        value = parse(probe, Row(row.number, {column: text}), column)
        outcome = (value, tuple(probe.reasons))
        if len(memo) < MEMO_LIMIT:
            memo[text] = outcome
    value, reasons = outcome
    for reason in reasons:
        ctx.error(row, column, reason)
    return value


def _parse_qty(ctx, row: Row, column: str):
    return integer(ctx, row, column, positive=True)


def _parse_price(ctx, row: Row, column: str):
    return decimal(ctx, row, column, places=4, max_digits=14)


def _parse_status(ctx, row: Row, column: str):
    return enum(ctx, row, column, LineStatus)


def _shown(value) -> str:
    return str(value)


def _cached(ctx: ImportContext, name: str, queryset, codes: set) -> dict:
    """{code: values} with a per-import cache: each reference is queried once per import, not per chunk."""
    cache = ctx.extra[name]
    missing = {c for c in codes if c and c not in cache}
    if missing:
        found = {obj["code"]: obj for obj in queryset.filter(code__in=missing)}
        cache.update(found)
    return cache


class _ItemResolver:
    """The item an ordered product counts for: an item of its generic name and form group in a batch whose
    winners cover the institution's province (the batch whose cycle holds the order date, else the latest);
    else the one item of that name and group when there is exactly one; else none (e.g. a substitute).
    From the national start of a confirmed overlap (SPEC §15) a superseded provincial item gives way to the
    national item (compliance.overlaps.superseding), as in trade.queries.items_for_products."""

    def __init__(self):
        self.by_name: dict[tuple[str, str], list[dict]] = {}
        for item in Item.objects.values(
            "id", "generic_name", "dosage_form_group", "batch__cycle_start", "batch__cycle_end"
        ):
            self.by_name.setdefault((item["generic_name"], item["dosage_form_group"]), []).append(item)
        self.covered = set(Winner.objects.values_list("item_id", "province__code").distinct())
        self.confirmed = overlaps.confirmed_overlaps()
        self.cache: dict[tuple[int, str, dt.date], int | None] = {}

    def item_for(self, product: dict, province: str, day: dt.date) -> int | None:
        return overlaps.superseding(self._item_for(product, province, day), day, self.confirmed)

    def _item_for(self, product: dict, province: str, day: dt.date) -> int | None:
        candidates = self.by_name.get((product["generic_name"], product["dosage_form_group"]), [])
        if not candidates:
            return None
        covering = [i for i in candidates if (i["id"], province) in self.covered]
        if covering:
            current = [i for i in covering if i["batch__cycle_start"] <= day <= i["batch__cycle_end"]]
            pool = current or covering
            return max(pool, key=lambda i: (i["batch__cycle_start"], i["id"]))["id"]
        return candidates[0]["id"] if len(candidates) == 1 else None
