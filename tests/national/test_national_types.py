"""`jicai national` on DuckDB, one hand-worked scenario per alert type added to the export after the first
version (FORECAST_SHORTFALL, …): the exact alerts worked out by hand, and the same answers as `jicai monitor`
(assert_same_answers compares every alert and fact)."""

import datetime as dt
from decimal import Decimal

import pytest

from tests import factories as f
from tests.monitoring.conftest import agreed, received
from tests.national.scenarios import assert_same_answers, half_paid_line

D = dt.date


def _of_type(alerts, type_):
    return [a for a in alerts if a["type"] == type_]


def _alert(type_, institution=None, item=None, supplier=None, product=None, value=None, threshold=None, **kw):
    return {
        "type": type_,
        "institution": institution,
        "item": item,
        "supplier": supplier,
        "product": product,
        "order_id": kw.get("order_id"),
        "line_no": kw.get("line_no"),
        "value": value,
        "threshold": threshold,
        "tier": kw.get("tier"),
        "agreement_year": kw.get("agreement_year", 1),
        **({"tranche": kw["tranche"]} if "tranche" in kw else {}),
    }


# ---- FORECAST_SHORTFALL ------------------------------------------------------------------------------------
# Year 1 = 2024-03-01 … 2025-02-28, forecast window 90 days, progress_tolerance 1.
# On 2024-06-08: window [2024-03-11, 2024-06-08] (90 days), 265 days left.
#   hospital: agreed 355, 90 received on 05-01: 90 × 90 + 90 × 265 = 31950 = 355 × 90 → at the bar, no alert.
#   other hospital: agreed 356, same purchases: 31950 < 32040 → value 31950 / 32040 = 0.997191.
#   clinic: agreed 1000, 100 received on 03-05 (before the window): 9000 / 90000 = 0.1.
# On 2024-05-30 (first ready day, S + 90): window [03-02, 05-30], 274 days left: hospital and other hospital
#   project 90 + 274 = 364 (≥ 355, 356); clinic 100 × 90 + 100 × 274 = 36400 / 90000 = 0.404444.
# On 2024-05-29: D < S + 90, not ready: no alert.


def build_forecast(w):
    agreed(w, w.hospital, 355)
    agreed(w, w.other_hospital, 356)
    agreed(w, w.clinic, 1000)
    received(w.hospital, w.product, 90, D(2024, 5, 1), item=w.item)
    received(w.other_hospital, w.product, 90, D(2024, 5, 1), item=w.item)
    received(w.clinic, w.product, 100, D(2024, 3, 5), item=w.item)


@pytest.mark.parametrize(
    "as_of, expected",
    [
        (D(2024, 6, 8), [("H37020200001", 0.997191), ("H37100200002", 0.1)]),
        (D(2024, 5, 30), [("H37100200002", 0.404444)]),
        (D(2024, 5, 29), []),
    ],
)
def test_forecast_shortfall(mworld, tmp_path, as_of, expected):
    build_forecast(mworld)
    alerts = assert_same_answers(as_of, tmp_path, ["duckdb"])
    assert _of_type(alerts, "FORECAST_SHORTFALL") == [
        _alert("FORECAST_SHORTFALL", institution, "GY7-001", value=value, threshold=1)
        for institution, value in expected
    ]


# ---- LATE_SUPPLIER_REPORT ----------------------------------------------------------------------------------
# Batch GY-YD2023-1 (cycle from 2024-03-01), company_report_day 5. Supply-role winners in Shandong:
#   GY7-001 maker (main); GY7-002 maker (main) and other maker (backup); GY7-003 other maker (main);
#   GY7-004 other maker as `nonsupply` (not a supplier: never counted).
# Reports filed: maker GY7-001 for 2024-05, maker GY7-002 for 2024-04.
# 2024-06-08: the 2024-05 report (due 06-05) is overdue: maker misses GY7-002 (1), other maker GY7-002 and
#   GY7-003 (2). 2024-06-05: due day itself, so 2024-04 (due 05-05) is the latest overdue month: maker
#   misses GY7-001 (1), other maker 2. 2024-03-06: 2024-02 (due 03-05, the cycle runs by then): every
#   supply pair missing (maker 2, other maker 2). 2024-03-05: 2024-01 is due 02-05, before the cycle: none.


def build_reports(w):
    from jicai.batches.models import Item, Winner
    from jicai.trade.models import SupplierMonthlyReport

    items = {"GY7-001": w.item}
    for n in (2, 3, 4):
        items[f"GY7-00{n}"] = Item.objects.create(
            batch=w.batch, item_code=f"GY7-00{n}", generic_name=f"药品{n}", dosage_form_group="口服常释剂型"
        )
    for code, maker, item_code, role in (
        ("XC10AAA001A001010100012", w.maker, "GY7-002", "main"),
        ("XC10AAA001A001010100013", w.other_maker, "GY7-002", "backup"),
        ("XC10AAA001A001010100014", w.other_maker, "GY7-003", "main"),
        ("XC10AAA001A001010100015", w.other_maker, "GY7-004", "nonsupply"),
    ):
        product = f.product(code, maker, generic_name=items[item_code].generic_name)
        Winner.objects.create(
            item=items[item_code], product=product, province=w.province, role=role, winning_price=Decimal("1")
        )
    for item_code, month in (("GY7-001", D(2024, 5, 1)), ("GY7-002", D(2024, 4, 1))):
        SupplierMonthlyReport.objects.create(
            company=w.maker,
            item=items[item_code],
            month=month,
            production_qty=1,
            supply_qty=1,
            inventory_qty=0,
            payment_received=Decimal("0"),
        )


@pytest.mark.parametrize(
    "as_of, maker_missing, other_missing",
    [(D(2024, 6, 8), 1, 2), (D(2024, 6, 5), 1, 2), (D(2024, 3, 6), 2, 2), (D(2024, 3, 5), 0, 0)],
)
def test_late_supplier_report(mworld, tmp_path, as_of, maker_missing, other_missing):
    w = mworld
    build_reports(w)
    alerts = assert_same_answers(as_of, tmp_path, ["duckdb"])
    expected = [
        _alert("LATE_SUPPLIER_REPORT", supplier=company.code, value=n, threshold=5)
        for company, n in sorted(
            ((w.maker, maker_missing), (w.other_maker, other_missing)), key=lambda x: x[0].code
        )
        if n
    ]
    assert _of_type(alerts, "LATE_SUPPLIER_REPORT") == expected


# ---- TICKET_REPLY_OVERDUE, TICKET_FIX_OVERDUE, PREPAYMENT_OVERDUE ----------------------------------------------
# scenarios.build_tickets / build_tranches, on D = 2024-06-08: the deadlines are the rows' own due dates (worked
# out by the province with the working-day calendar), overdue from the day after.


def test_tickets_and_prepayment_overdue(mworld, tmp_path):
    from tests.national.scenarios import build_tickets, build_tranches

    w = mworld
    build_tickets(w)
    build_tranches(w)
    alerts = assert_same_answers(D(2024, 6, 8), tmp_path, ["duckdb"])
    maker = w.maker.code
    none = {"agreement_year": None}
    # two tickets of one subject: 06-08 − 05-31 = 8 and 06-08 − 06-07 = 1 days (tied subjects: any order)
    reply = _of_type(alerts, "TICKET_REPLY_OVERDUE")
    assert sorted(reply, key=lambda a: a["value"]) == [
        _alert("TICKET_REPLY_OVERDUE", "H37100200001", supplier=maker, value=v, threshold=0, **none)
        for v in (1, 8)
    ]
    assert _of_type(alerts, "TICKET_FIX_OVERDUE") == [
        _alert("TICKET_FIX_OVERDUE", "H37020200001", supplier=maker, value=3, threshold=0, **none)
    ]
    assert _of_type(alerts, "PREPAYMENT_OVERDUE") == [
        _alert("PREPAYMENT_OVERDUE", "H37020200001", value=80, threshold=0, tranche="topup-2024-05"),
        _alert("PREPAYMENT_OVERDUE", "H37100200001", value=599.5, threshold=0, tranche=1),
    ]
    # the day before every deadline: nothing overdue
    alerts = assert_same_answers(D(2024, 5, 10), tmp_path / "early", ["duckdb"])
    assert [a for a in alerts if a["type"].startswith(("TICKET", "PREPAYMENT"))] == []


# ---- NOT_ADMITTED -----------------------------------------------------------------------------------------
# scenarios.build_admission; admission_check_month 3. Month of D in year 1 (from 2024-03-01): 2024-04-30 → 2,
# 2024-05-01 → 3, 2024-06-08 → 4. Hospital (no line) and the other hospital (cancelled winner, non-winner
# bought) are not admitted; the clinic is. 2025-03-01: year 2 runs, the
# year-1 agreements are no longer checked.


@pytest.mark.parametrize(
    "as_of, month", [(D(2024, 6, 8), 4), (D(2024, 5, 1), 3), (D(2024, 4, 30), None), (D(2025, 3, 1), None)]
)
def test_not_admitted(mworld, tmp_path, as_of, month):
    from tests.national.scenarios import build_admission

    build_admission(mworld)
    alerts = assert_same_answers(as_of, tmp_path, ["duckdb"])
    expected = [
        _alert("NOT_ADMITTED", institution, "GY7-002", value=month, threshold=3)
        for institution in ("H37020200001", "H37100200001")
        if month
    ]
    assert _of_type(alerts, "NOT_ADMITTED") == expected


# ---- SUBSTITUTE_LIMIT_EXCEEDED ------------------------------------------------------------------------------
# scenarios.build_limits on 2024-06-08 (quarter 2024Q2 from 04-01): hospital 70 + 31 = 101 > 100; the other
# hospital's suspended limit (0) < 1; the clinic at its limit (50; the 5 of 06-09 is after D), the proposed,
# unset and other-quarter limits never. On 2024-07-01 (2024Q3) there is no confirmed limit: none.


@pytest.mark.parametrize("as_of", [D(2024, 6, 8), D(2024, 7, 1)])
def test_substitute_limit_exceeded(mworld, tmp_path, as_of):
    from tests.national.scenarios import build_limits

    build_limits(mworld)
    alerts = assert_same_answers(as_of, tmp_path, ["duckdb"])
    expected = [
        _alert(
            "SUBSTITUTE_LIMIT_EXCEEDED",
            "H37020200001",
            "GY7-001",
            product="XC10AAA001A001010100021",
            value=1,
            threshold=0,
            agreement_year=None,
        ),
        _alert(
            "SUBSTITUTE_LIMIT_EXCEEDED",
            "H37100200001",
            "GY7-001",
            product="XC10AAA001A001010100021",
            value=101,
            threshold=100,
            agreement_year=None,
        ),
    ]
    assert _of_type(alerts, "SUBSTITUTE_LIMIT_EXCEEDED") == (expected if as_of == D(2024, 6, 8) else [])


# ---- PRICE_ABOVE_CAP ----------------------------------------------------------------------------------------
# scenarios.build_caps on 2024-06-08: the listing of XC…031 (0.1853 > 0.18525; its 0.30 was replaced on 05-01),
# the hospital's line of the supplier's own product at 0.1201 (> 0.12; the cancelled 0.13 and the 0.125 of
# before S not counted), the clinic's 0.1853 of XC…031 and the other hospital's highest price 0.23 (> 0.225).
# On 2024-05-01 (the 0.1853 listing starts; no line yet): only the listing.


@pytest.mark.parametrize("as_of", [D(2024, 6, 8), D(2024, 5, 1)])
def test_price_above_cap(mworld, tmp_path, as_of):
    from tests.national.scenarios import build_caps

    w = mworld
    build_caps(w)
    alerts = assert_same_answers(as_of, tmp_path, ["duckdb"])
    nonsupply, own, other = w.nonsupply.code, w.product.code, w.other_product.code
    expected = [
        _alert("PRICE_ABOVE_CAP", None, "GY7-001", product=nonsupply, value=0.1853, threshold=0.18525),
        _alert("PRICE_ABOVE_CAP", "H37020200001", "GY7-001", product=other, value=0.23, threshold=0.225),
        _alert("PRICE_ABOVE_CAP", "H37100200001", "GY7-001", product=own, value=0.1201, threshold=0.12),
        _alert(
            "PRICE_ABOVE_CAP", "H37100200002", "GY7-001", product=nonsupply, value=0.1853, threshold=0.18525
        ),
    ]
    assert _of_type(alerts, "PRICE_ABOVE_CAP") == (expected if as_of == D(2024, 6, 8) else expected[:1])


# ---- LATE_PAYMENT with payments after D ----------------------------------------------------------------------
# Unit price 0.12, payment due 30 days after receipt. Line A: 70 received 04-02 (payable 8.40, due 05-02), paid
# 4.20 on 04-20 and 4.20 on 06-01. Line B: 50 received 04-05 (payable 6.00, due 05-05), paid 6.00 on 06-01.
# On 2024-05-25 only the payments by D count: A owes 4.20, B owes 6.00 (the running totals say 8.40 and 6.00
# paid, last on 06-01, after D: their payments are read). On 2024-06-08 both are paid. On 2024-05-02 A is due
# that day, B later: neither is late.


@pytest.mark.parametrize(
    "as_of, owed", [(D(2024, 5, 25), {"A": 4.2, "B": 6}), (D(2024, 6, 8), {}), (D(2024, 5, 2), {})]
)
def test_late_payment_counts_only_what_was_paid_by_d(mworld, tmp_path, as_of, owed):
    from jicai.trade.models import OrderLine, Payment

    w = mworld
    line_a = half_paid_line(w)
    line_b = received(w.clinic, w.product, 50, D(2024, 4, 5), item=w.item)
    for line, amount in ((line_a, "4.20"), (line_b, "6.00")):
        Payment.objects.create(line=line, amount=Decimal(amount), paid_on=D(2024, 6, 1))
        OrderLine.objects.filter(pk=line.pk).update(
            paid_amount=line.paid_amount + Decimal(amount), last_paid_on=D(2024, 6, 1)
        )
    alerts = assert_same_answers(as_of, tmp_path, ["duckdb"])
    lines = {"A": line_a, "B": line_b}
    expected = [
        _alert(
            "LATE_PAYMENT",
            lines[key].institution.code,
            w.item.item_code,
            w.maker.code,
            w.product.code,
            value=value,
            threshold=30,
            order_id=lines[key].order.order_id,
            line_no=1,
        )
        for key, value in owed.items()
    ]
    assert _of_type(alerts, "LATE_PAYMENT") == expected
