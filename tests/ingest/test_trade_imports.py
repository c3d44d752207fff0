"""Bulk transaction imports (SPEC §10 orders, deliveries, receipts, payments, usage): exact counts and
running totals, idempotent re-sends, conflicts, every bad row named with nothing written, row scoping and
the bulk API's 422 shape."""

import datetime as dt
from decimal import Decimal

import pytest

from jicai.batches.models import ListingPrice
from jicai.core.errors import ImportRejected
from jicai.ingest.pipeline import run_import
from jicai.trade.models import Delivery, Order, OrderLine, Payment, Receipt, UsageLine
from tests.ingest.conftest import csv_bytes

ORDER_HEADER = "order_id,line_no,institution_code,supplier_code,distributor_code,product_code,qty,unit_price,ordered_on,status"
TRADE_MODELS = (Order, OrderLine, Delivery, Receipt, Payment, UsageLine)
D = dt.date


def trade_state() -> dict:
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in TRADE_MODELS}


def rejected(kind, content, actor=None, **kw) -> list[tuple[int, str, str]]:
    before = trade_state()
    with pytest.raises(ImportRejected) as info:
        run_import(kind=kind, rows_or_file=content, filename=f"{kind}.csv", actor=actor, source="cli", **kw)
    assert trade_state() == before
    return [(e.row, e.column, e.reason) for e in info.value.errors]


def load(kind, content, actor=None, **kw):
    return run_import(
        kind=kind, rows_or_file=content, filename=f"{kind}.csv", actor=actor, source="cli", **kw
    )


@pytest.fixture
def trade(world):
    w = world
    # The listing price of the winner drops from 0.1200 to 0.1100 on 2025-03-01.
    ListingPrice.objects.create(
        product=w.product, province=w.province, price=Decimal("0.1200"), valid_from=D(2024, 3, 1)
    )
    ListingPrice.objects.create(
        product=w.product, province=w.province, price=Decimal("0.1100"), valid_from=D(2025, 3, 1)
    )
    ListingPrice.objects.create(
        product=w.other_product, province=w.province, price=Decimal("0.3000"), valid_from=D(2024, 3, 1)
    )
    w.m, w.d = w.maker.code, w.distributor.code
    w.p, w.op = w.product.code, w.other_product.code
    return w


def orders_csv(w, *extra: str) -> bytes:
    return csv_bytes(
        ORDER_HEADER,
        f"PO1,1,H37100200001,{w.m},{w.d},{w.p},1000,0.1200,2025-02-01,open",
        f"PO1,2,H37100200001,{w.m},{w.d},{w.op},200,0.3000,2025-02-01,open",
        f"PO2,1,H37100200001,{w.m},,{w.p},500,0.1100,2025-03-05,cancelled",
        *extra,
    )


DELIVERIES = csv_bytes(
    "order_id,line_no,qty,delivered_on",
    "PO1,1,600,2025-02-03",
    "PO1,1,400,2025-02-10",
    "PO1,2,200,2025-02-03",
)
RECEIPTS = csv_bytes(
    "order_id,line_no,accepted_qty,rejected_qty,received_on,reason",
    "PO1,1,590,10,2025-02-05,外包装破损",
    "PO1,1,400,0,2025-02-12,",
)
PAYMENTS = csv_bytes("order_id,line_no,amount,paid_on", "PO1,1,100.00,2025-03-01", "PO1,1,18.80,2025-03-10")


def line(order_id, line_no) -> OrderLine:
    return OrderLine.objects.get(order__order_id=order_id, line_no=line_no)


def full_chain(w):
    load("orders", orders_csv(w))
    load("deliveries", DELIVERIES)
    load("receipts", RECEIPTS)
    load("payments", PAYMENTS)


# ---- orders ---------------------------------------------------------------------------------------------


def test_orders_create_orders_and_lines_with_amount_item_and_status(trade):
    w = trade
    result = load("orders", orders_csv(w))
    assert (result.rows, result.created, result.unchanged) == (3, 3, 0)
    assert Order.objects.count() == 2
    po1 = Order.objects.get(order_id="PO1")
    assert (po1.institution, po1.supplier, po1.distributor, po1.ordered_on, po1.source) == (
        w.hospital,
        w.maker,
        w.distributor,
        D(2025, 2, 1),
        "import",
    )
    assert Order.objects.get(order_id="PO2").distributor is None
    first, second, cancelled = line("PO1", 1), line("PO1", 2), line("PO2", 1)
    assert (first.amount, first.item, first.qty, first.unit_price) == (
        Decimal("120.00"),
        w.item,
        1000,
        Decimal("0.1200"),
    )
    assert (second.amount, second.product, second.item) == (Decimal("60.00"), w.other_product, w.item)
    assert (cancelled.status, cancelled.amount, cancelled.institution, cancelled.supplier) == (
        "cancelled",
        Decimal("55.00"),
        w.hospital,
        w.maker,
    )


def test_orders_resend_is_a_noop(trade):
    load("orders", orders_csv(trade))
    before = trade_state()
    result = load("orders", orders_csv(trade))
    assert (result.created, result.unchanged) == (0, 3)
    assert trade_state() == before


def test_orders_resend_with_one_new_line_adds_only_it(trade):
    w = trade
    load("orders", orders_csv(w))
    result = load("orders", orders_csv(w, f"PO1,3,H37100200001,{w.m},{w.d},{w.p},10,0.1200,2025-02-01,open"))
    assert (result.created, result.unchanged) == (1, 3)
    assert OrderLine.objects.count() == 4


def test_orders_changed_line_is_a_conflict_not_applied(trade):
    w = trade
    load("orders", orders_csv(w))
    errors = rejected(
        "orders",
        csv_bytes(
            ORDER_HEADER,
            f"PO1,1,H37100200001,{w.m},{w.d},{w.p},999,0.1200,2025-02-01,open",
            f"PO2,1,H37100200001,{w.m},,{w.p},500,0.1100,2025-03-05,open",
            f"PO1,9,H37100200001,{w.m},,{w.p},5,0.1200,2025-02-01,open",
        ),
    )
    assert errors == [
        (2, "qty", "与已导入的订单行冲突（数量 1000→999），未修改"),
        (3, "status", "与已导入的订单行冲突（状态 cancelled→open），未修改"),
        (4, "distributor_code", "与已导入的订单 PO1 不一致：配送企业"),
    ]
    assert line("PO1", 1).qty == 1000


def test_orders_bad_rows_are_all_named_and_nothing_written(trade):
    w = trade
    errors = rejected(
        "orders",
        csv_bytes(
            ORDER_HEADER,
            f"PO1,1,H37100200001,{w.m},{w.d},{w.p},1000,0.1200,2025-02-01,open",
            f"PO1,2,H37100200001,{w.m},{w.d},{w.p},10,0.1300,2025-02-01,open",  # not the listing price: fine
            f"PO1,3,H37100200001,{w.m},{w.d},{w.p},10,0.1200,2025-02-02,open",  # other date than line 1
            f"PO3,1,H37100200001,{w.m},{w.d},{w.p},1.5,abc,2025-02-30,sent",  # bad numbers, date, status
            f"PO3,2,H37100299999,{w.m},{w.d},{w.p},5,0.1200,2025-02-01,open",  # unknown institution
            f"PO1,1,H37100200001,{w.m},{w.d},{w.p},1000,0.1200,2025-02-01,open",  # duplicate key
            f"PO4,1,H37100200001,{w.m},{w.d},{w.p},10,0.1200,2024-01-01,open",  # no listing price that day: fine
            f"PO5,1,H37100200001,{w.m},{w.d},{w.p},1000000001,0.1200,2025-02-01,open",  # over a billion units
            f"PO6,1,H37100200001,{w.m},{w.d},{w.p},10,-0.1200,2025-02-01,open",  # negative price
            f"PO6,2,H37100200001,{w.m},{w.d},{w.p},10,0.12001,2025-02-01,open",  # more than 4 decimals
        ),
    )
    assert [(r, c) for r, c, _ in errors] == [
        (4, "ordered_on"),
        (5, "qty"),
        (5, "unit_price"),
        (5, "ordered_on"),
        (5, "status"),
        (6, "institution_code"),
        (7, "line_no"),
        (9, "qty"),
        (10, "unit_price"),
        (11, "unit_price"),
    ]
    assert errors[7][2] == "数量不能超过 1000000000"
    assert errors[0][2] == "同一订单的各行必须一致（见第 2 行）：下单日期"
    assert errors[5][2] == "医疗机构不存在：H37100299999"
    assert errors[6][2] == "与第 2 行重复（PO1 / 1）"


def test_orders_keep_the_price_they_were_sent_with(trade):
    """SPEC §10 (clarified): imported orders record what happened elsewhere, so neither a price other than
    the listing price nor a day without a listing price is refused (monitoring flags prices above the cap,
    tests/monitoring/test_imported_order_prices.py); a bureau price exception changes nothing here."""
    w = trade
    result = load(
        "orders",
        csv_bytes(
            ORDER_HEADER,
            f"PE1,1,H37100200001,{w.m},,{w.p},10,0.1500,2025-02-01,open",
            f"PE2,1,H37100200001,{w.m},,{w.p},10,0.0900,2024-01-01,open",
            f"PE3,1,H37100200001,{w.m},,{w.op},3,0,2025-02-01,open",
        ),
    )
    assert result.created == 3
    assert [(line(o, 1).unit_price, line(o, 1).amount) for o in ("PE1", "PE2", "PE3")] == [
        (Decimal("0.1500"), Decimal("1.50")),
        (Decimal("0.0900"), Decimal("0.90")),
        (Decimal("0.0000"), Decimal("0.00")),
    ]
    # Re-sending is still idempotent, and a changed price is still a conflict, never applied.
    again = csv_bytes(ORDER_HEADER, f"PE1,1,H37100200001,{w.m},,{w.p},10,0.1500,2025-02-01,open")
    assert load("orders", again).unchanged == 1
    changed = csv_bytes(ORDER_HEADER, f"PE1,1,H37100200001,{w.m},,{w.p},10,0.1600,2025-02-01,open")
    assert rejected("orders", changed) == [
        (2, "unit_price", "与已导入的订单行冲突（单价 0.1500→0.1600），未修改")
    ]


def test_orders_missing_column_is_reported_once_on_the_header(trade):
    content = csv_bytes(
        "order_id,line_no,institution_code,supplier_code,distributor_code,product_code,qty,ordered_on,status",
        f"PO1,1,H37100200001,{trade.m},,{trade.p},10,2025-02-01,open",
    )
    assert rejected("orders", content) == [(1, "unit_price", "缺少必需的列")]


def test_orders_institution_cannot_send_another_institutions_rows(trade):
    w = trade
    errors = rejected("orders", orders_csv(w), actor=w.other_pharmacist)
    assert errors == [(n, "institution_code", "只能导入本机构的订单：H37100200001") for n in (2, 3, 4)]
    assert load("orders", orders_csv(w), actor=w.pharmacist).created == 3
    assert Order.objects.get(order_id="PO1").created_by == w.pharmacist


def test_orders_order_ids_spanning_chunks_stay_consistent(trade, monkeypatch):
    from jicai.ingest import pipeline

    w = trade
    monkeypatch.setattr(pipeline, "STREAM_CHUNK", 2)
    rows = [f"PO9,{n},H37100200001,{w.m},,{w.p},10,0.1200,2025-02-01,open" for n in range(1, 6)]
    assert load("orders", csv_bytes(ORDER_HEADER, *rows)).created == 5
    assert Order.objects.filter(order_id="PO9").count() == 1
    errors = rejected(
        "orders",
        csv_bytes(
            ORDER_HEADER,
            f"PO8,1,H37100200001,{w.m},,{w.p},10,0.1200,2025-02-01,open",
            f"PO8,2,H37100200001,{w.m},,{w.p},10,0.1200,2025-02-01,open",
            f"PO8,1,H37100200001,{w.m},,{w.p},10,0.1200,2025-02-01,open",  # duplicate in the next chunk
            f"PO8,3,H37100200001,{w.m},,{w.p},10,0.1200,2025-02-02,open",
        ),
    )
    assert errors == [
        (4, "line_no", "与本文件前面的行重复（PO8 / 1）"),
        (5, "ordered_on", "与本文件前面各行的订单 PO8 不一致：下单日期"),
    ]


def test_orders_dry_run_counts_but_writes_nothing(trade):
    before = trade_state()
    result = load("orders", orders_csv(trade), dry_run=True)
    assert (result.dry_run, result.created) == (True, 3)
    assert trade_state() == before


# ---- deliveries -------------------------------------------------------------------------------------------


def test_deliveries_update_running_totals(trade):
    load("orders", orders_csv(trade))
    result = load("deliveries", DELIVERIES)
    assert (result.created, result.unchanged) == (3, 0)
    first = line("PO1", 1)
    assert (first.delivered_qty, first.last_delivered_on) == (1000, D(2025, 2, 10))
    assert (line("PO1", 2).delivered_qty, line("PO2", 1).delivered_qty) == (200, 0)
    assert Delivery.objects.count() == 3


def test_deliveries_resend_is_noop_and_changed_qty_is_conflict(trade):
    load("orders", orders_csv(trade))
    load("deliveries", DELIVERIES)
    before = trade_state()
    assert load("deliveries", DELIVERIES).unchanged == 3
    assert trade_state() == before
    errors = rejected("deliveries", csv_bytes("order_id,line_no,qty,delivered_on", "PO1,1,500,2025-02-03"))
    assert errors == [(2, "qty", "与已导入的配送记录冲突（数量 600→500），未修改")]


def test_deliveries_bad_rows(trade):
    load("orders", orders_csv(trade))
    load("deliveries", csv_bytes("order_id,line_no,qty,delivered_on", "PO1,1,600,2025-02-03"))
    errors = rejected(
        "deliveries",
        csv_bytes(
            "order_id,line_no,qty,delivered_on",
            "PO1,1,300,2025-02-04",
            "PO1,1,200,2025-02-05",  # 600 + 300 + 200 > 1000
            "PO7,1,5,2025-02-05",  # unknown line
            "PO2,1,5,2025-03-06",  # cancelled line
            "PO1,2,-3,2025-01-01",  # negative qty
            "PO1,2,5,2025-01-31",  # before the order date
            "PO1,x,5,2025-02-05",
        ),
    )
    assert errors == [
        (3, "qty", "累计配送 1100 超过订购数量 1000"),
        (4, "line_no", "订单行不存在（或不属于本机构/企业）：PO7 / 1"),
        (5, "line_no", "订单行已撤销，不能配送"),
        (6, "qty", "数量不能为负数"),
        (7, "delivered_on", "日期 2025-01-31 早于下单日期 2025-02-01"),
        (8, "line_no", "不是有效数字：x"),
    ]


def test_deliveries_only_from_the_lines_supplier_or_distributor(trade):
    w = trade
    load("orders", orders_csv(w))
    errors = rejected("deliveries", DELIVERIES, actor=w.other_manufacturer)
    assert [(r, c) for r, c, _ in errors] == [(2, "line_no"), (3, "line_no"), (4, "line_no")]
    assert load("deliveries", DELIVERIES, actor=w.distributor_user).created == 3
    assert load("deliveries", DELIVERIES, actor=w.manufacturer).unchanged == 3


# ---- receipts ---------------------------------------------------------------------------------------------


def test_receipts_update_totals_and_payment_due(trade):
    load("orders", orders_csv(trade))
    load("deliveries", DELIVERIES)
    result = load("receipts", RECEIPTS)
    assert result.created == 2
    first = line("PO1", 1)
    assert (first.accepted_qty, first.rejected_qty, first.last_received_on) == (990, 10, D(2025, 2, 12))
    # 30 days after the last receipt (policy default after_receipt).
    assert first.payment_due_on == D(2025, 3, 14)
    assert line("PO1", 2).payment_due_on is None
    assert Receipt.objects.get(received_on=D(2025, 2, 5)).reason == "外包装破损"


def test_receipts_resend_noop_conflict_and_bad_rows(trade):
    load("orders", orders_csv(trade))
    load("deliveries", DELIVERIES)
    load("receipts", RECEIPTS)
    before = trade_state()
    assert load("receipts", RECEIPTS).unchanged == 2
    assert trade_state() == before
    errors = rejected(
        "receipts",
        csv_bytes(
            "order_id,line_no,accepted_qty,rejected_qty,received_on,reason",
            "PO1,1,580,20,2025-02-05,外包装破损",  # changed
            "PO1,2,150,0,2025-02-06,",
            "PO1,2,40,20,2025-02-07,",  # no reason, and 150 + 60 > 200 delivered
            "PO1,2,0,0,2025-02-08,",
            "PO1,1,1,0,2025-02-13,",  # 1000 already received of 1000 delivered
        ),
    )
    assert errors == [
        (2, "accepted_qty", "与已导入的入库验收记录冲突（验收合格数量 590→580、拒收数量 10→20），未修改"),
        (4, "reason", "有拒收数量时必须填写拒收原因"),
        (5, "accepted_qty", "验收合格数量与拒收数量不能同时为 0"),
        (6, "accepted_qty", "累计验收与拒收 1001 超过已配送数量 1000"),
    ]


def test_receipt_above_delivered_counts_earlier_receipts_in_the_file(trade):
    load("orders", orders_csv(trade))
    load("deliveries", DELIVERIES)
    errors = rejected(
        "receipts",
        csv_bytes(
            "order_id,line_no,accepted_qty,rejected_qty,received_on,reason",
            "PO1,2,150,0,2025-02-06,",
            "PO1,2,51,0,2025-02-07,",
        ),
    )
    assert errors == [(3, "accepted_qty", "累计验收与拒收 201 超过已配送数量 200")]


def test_receipts_only_from_the_ordering_institution(trade):
    w = trade
    load("orders", orders_csv(w))
    load("deliveries", DELIVERIES)
    errors = rejected("receipts", RECEIPTS, actor=w.other_pharmacist)
    assert [(r, c) for r, c, _ in errors] == [(2, "line_no"), (3, "line_no")]
    assert load("receipts", RECEIPTS, actor=w.pharmacist).created == 2


# ---- payments ---------------------------------------------------------------------------------------------


def test_payments_update_paid_amount(trade):
    full_chain(trade)
    assert line("PO1", 1).paid_amount == Decimal("118.80")
    assert line("PO1", 1).last_paid_on == dt.date(2025, 3, 10)
    assert Payment.objects.filter(line=line("PO1", 1)).count() == 2


def test_payments_resend_noop_conflict_and_bad_rows(trade):
    full_chain(trade)
    before = trade_state()
    assert load("payments", PAYMENTS).unchanged == 2
    assert trade_state() == before
    errors = rejected(
        "payments",
        csv_bytes(
            "order_id,line_no,amount,paid_on",
            "PO1,1,100.01,2025-03-01",  # changed
            "PO1,1,1.21,2025-03-11",  # 118.80 + 1.21 > 120.00
            "PO1,2,60.001,2025-03-11",  # 3 decimals
            "PO1,2,0,2025-03-11",
            "PO5,1,1.00,2025-03-11",
        ),
    )
    assert errors == [
        (2, "amount", "与已导入的付款记录冲突（金额 100.00→100.01），未修改"),
        (3, "amount", "累计付款 120.01 超过订单行金额 120.00"),
        (4, "amount", "最多 2 位小数：60.001"),
        (5, "amount", "必须大于 0"),
        (6, "line_no", "订单行不存在（或不属于本机构/企业）：PO5 / 1"),
    ]


def test_payment_up_to_the_line_amount_is_accepted(trade):
    full_chain(trade)
    load("payments", csv_bytes("order_id,line_no,amount,paid_on", "PO1,1,1.20,2025-03-11"))
    assert line("PO1", 1).paid_amount == Decimal("120.00")


def test_payments_only_from_the_ordering_institution(trade):
    w = trade
    load("orders", orders_csv(w))
    errors = rejected("payments", PAYMENTS, actor=w.other_pharmacist)
    assert [(r, c) for r, c, _ in errors] == [(2, "line_no"), (3, "line_no")]


# ---- usage ------------------------------------------------------------------------------------------------

USAGE_HEADER = "institution_code,product_code,department,doctor_code,qty,used_on"


def usage_csv(w, *extra):
    return csv_bytes(
        USAGE_HEADER,
        f"H37100200001,{w.p},心内科,D001,28,2025-03-06",
        f"H37100200001,{w.p},心内科,D002,14,2025-03-06",
        f"H37100200001,{w.p},,,7,2025-03-06",
        *extra,
    )


def test_usage_import_resend_and_conflict(trade):
    w = trade
    assert load("usage", usage_csv(w)).created == 3
    assert sum(UsageLine.objects.values_list("qty", flat=True)) == 49
    before = trade_state()
    assert load("usage", usage_csv(w)).unchanged == 3
    assert trade_state() == before
    errors = rejected("usage", csv_bytes(USAGE_HEADER, f"H37100200001,{w.p},心内科,D001,30,2025-03-06"))
    assert errors == [(2, "qty", "与已导入的使用数据冲突（数量 28→30），未修改")]


def test_usage_bad_rows_and_scoping(trade):
    w = trade
    errors = rejected(
        "usage",
        csv_bytes(
            USAGE_HEADER,
            f"H37100200001,{w.p},心内科,D001,2.5,2025-03-06",
            "H37100200001,XNOTACODE,心内科,D001,2,2025-03-06",
            f"H37100200001,{w.p},心内科,D001,2,06/03/2025",
            f"H37100200001,{w.p},心内科,D009,2,2025-03-06",
            f"H37100200001,{w.p},心内科,D009,3,2025-03-06",
        ),
    )
    assert [(r, c) for r, c, _ in errors] == [(2, "qty"), (3, "product_code"), (4, "used_on"), (6, "used_on")]
    errors = rejected("usage", usage_csv(w), actor=w.other_pharmacist)
    assert errors == [(n, "institution_code", "只能导入本机构的使用数据：H37100200001") for n in (2, 3, 4)]


# ---- bulk API ---------------------------------------------------------------------------------------------


def test_bulk_api_orders_then_resend_is_idempotent(trade, api_client_for):
    w = trade
    client = api_client_for(w.pharmacist)
    rows = [
        {
            "order_id": "API1",
            "line_no": 1,
            "institution_code": "H37100200001",
            "supplier_code": w.m,
            "distributor_code": w.d,
            "product_code": w.p,
            "qty": 100,
            "unit_price": "0.1200",
            "ordered_on": "2025-02-01",
            "status": "open",
        },
    ]
    response = client.post("/api/v1/imports/orders", {"rows": rows}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert (response.json()["created"], Order.objects.get(order_id="API1").source) == (1, "api")
    again = client.post("/api/v1/imports/orders", {"rows": rows}, content_type="application/json")
    assert (again.status_code, again.json()["created"], again.json()["unchanged"]) == (200, 0, 1)


def test_bulk_api_rejects_with_422_and_every_bad_row(trade, api_client_for):
    w = trade
    load("orders", orders_csv(w))
    before = trade_state()
    client = api_client_for(w.pharmacist)
    rows = [
        {
            "order_id": "PO1",
            "line_no": 1,
            "accepted_qty": 5,
            "rejected_qty": 0,
            "received_on": "2025-02-05",
            "reason": "",
        },
        {"order_id": "PO1", "line_no": 2, "accepted_qty": 1, "rejected_qty": 2, "received_on": "2025-02-05"},
        {
            "order_id": "PO1",
            "line_no": 2,
            "accepted_qty": "x",
            "rejected_qty": 0,
            "received_on": "2025-02-06",
            "reason": "",
        },
    ]
    response = client.post("/api/v1/imports/receipts", {"rows": rows}, content_type="application/json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "import_rejected"
    assert error["details"] == [
        {"row": 1, "column": "accepted_qty", "reason": "累计验收与拒收 5 超过已配送数量 0"},
        {"row": 2, "column": "reason", "reason": "缺少字段"},
        {"row": 3, "column": "accepted_qty", "reason": "不是有效数字：x"},
    ]
    assert trade_state() == before


def test_bulk_api_every_trade_kind_is_accepted(trade, api_client_for):
    w = trade
    load("orders", orders_csv(w))
    company = api_client_for(w.distributor_user)
    institution = api_client_for(w.pharmacist)
    posts = [
        (
            company,
            "deliveries",
            [{"order_id": "PO1", "line_no": 2, "qty": 200, "delivered_on": "2025-02-03"}],
        ),
        (
            institution,
            "receipts",
            [
                {
                    "order_id": "PO1",
                    "line_no": 2,
                    "accepted_qty": 200,
                    "rejected_qty": 0,
                    "received_on": "2025-02-04",
                    "reason": "",
                }
            ],
        ),
        (
            institution,
            "payments",
            [{"order_id": "PO1", "line_no": 2, "amount": "60.00", "paid_on": "2025-02-20"}],
        ),
        (
            institution,
            "usage",
            [
                {
                    "institution_code": "H37100200001",
                    "product_code": w.op,
                    "department": "",
                    "doctor_code": "",
                    "qty": 10,
                    "used_on": "2025-02-21",
                }
            ],
        ),
    ]
    for client, kind, rows in posts:
        response = client.post(f"/api/v1/imports/{kind}", {"rows": rows}, content_type="application/json")
        assert (kind, response.status_code, response.json()["created"]) == (kind, 200, 1)
    second = line("PO1", 2)
    assert (second.delivered_qty, second.accepted_qty, second.paid_amount, second.payment_due_on) == (
        200,
        200,
        Decimal("60.00"),
        D(2025, 3, 6),
    )


def test_bulk_api_company_may_not_send_orders(trade, api_client_for):
    before = trade_state()
    response = api_client_for(trade.manufacturer).post(
        "/api/v1/imports/orders", {"rows": []}, content_type="application/json"
    )
    assert response.status_code == 404
    assert trade_state() == before


BAD_BULK_ROWS = {
    # kind: (who sends, a good row, a bad row, the column the error names)
    "orders": (
        "pharmacist",
        None,
        {
            "order_id": "APIBAD",
            "line_no": 1,
            "institution_code": "H37100200001",
            "supplier_code": None,
            "distributor_code": "",
            "product_code": None,
            "qty": "-3",
            "unit_price": "0.1200",
            "ordered_on": "2025-02-01",
            "status": "open",
        },
        "qty",
    ),
    "deliveries": (
        "distributor_user",
        {"order_id": "PO1", "line_no": 2, "qty": 10, "delivered_on": "2025-02-03"},
        {"order_id": "NO-SUCH", "line_no": 1, "qty": 10, "delivered_on": "2025-02-03"},
        "line_no",  # the key order_id + line_no names no known line
    ),
    "payments": (
        "pharmacist",
        None,
        {"order_id": "PO1", "line_no": 2, "amount": "abc", "paid_on": "2025-02-20"},
        "amount",
    ),
    "usage": (
        "pharmacist",
        None,
        {
            "institution_code": "H37100200001",
            "product_code": None,
            "department": "",
            "doctor_code": "",
            "qty": "1.5",
            "used_on": "2025-02-21",
        },
        "qty",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_BULK_ROWS))
def test_bulk_api_refuses_a_request_with_one_bad_row_whole(trade, api_client_for, kind):
    """Every bulk endpoint: one bad row → 422 naming that row and column, and nothing is written."""
    w = trade
    load("orders", orders_csv(w))
    persona, good, bad, column = BAD_BULK_ROWS[kind]
    bad = dict(bad)
    for key, value in (("supplier_code", w.maker.code), ("product_code", w.op)):
        if key in bad and bad[key] is None:
            bad[key] = value
    rows = ([good] if good else []) + [bad]
    before = trade_state()
    response = api_client_for(getattr(w, persona)).post(
        f"/api/v1/imports/{kind}", {"rows": rows}, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    details = response.json()["error"]["details"]
    assert {"row": len(rows), "column": column} in [{"row": d["row"], "column": d["column"]} for d in details]
    assert trade_state() == before
