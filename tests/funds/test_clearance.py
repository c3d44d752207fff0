"""Clearance statements with and without a refund, and direct settlement by the fund (payer = fund) that can
never overdraw the prepayment balance — also with two concurrent requests on PostgreSQL."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connection, transaction

from jicai.core.errors import DomainError, NotFound
from jicai.funds import clearance
from jicai.funds.models import ClearanceRefund, FundAccount, FundPayment, PrepaymentTranche
from jicai.funds.prepayment import record_disbursement, trigger_tranches
from jicai.trade.actions import record_payment
from jicai.trade.models import OrderLine, Payment
from tests.funds.conftest import effective_agreement, receive


def _prepaid(w):
    """Hospital: budget 120 000.00, T1 36 000.00 disbursed in full; clinic: 10 000.08, T1 3 000.02 disbursed."""
    effective_agreement(w, w.hospital, 1_000_000, dt.date(2024, 3, 1))
    effective_agreement(w, w.clinic, 83_334, dt.date(2024, 3, 1))
    trigger_tranches(as_of=dt.date(2024, 3, 31))
    for inst, amount in ((w.hospital, "36000.00"), (w.clinic, "3000.02")):
        t = PrepaymentTranche.objects.get(institution=inst, tranche="1")
        record_disbursement(
            actor=w.province_bureau, tranche_id=t.pk, amount=D(amount), paid_on=dt.date(2024, 3, 12)
        )


def balance(w, institution, number=1):
    from jicai.batches.models import AgreementYear

    return clearance.balance_of(institution.pk, AgreementYear.objects.get(batch=w.batch, number=number).pk)


@pytest.fixture
def prepaid(world):
    _prepaid(world)
    return world


def test_clearance_with_a_refund(prepaid):
    w = prepaid
    line = receive(w, w.hospital, 100_000, dt.date(2024, 5, 1))  # 12 000.00 of the main winner
    record_payment(actor=w.pharmacist, line=line, amount=D("12000.00"), paid_on=dt.date(2024, 5, 20))
    # Not counted as used: a non-winning product, and a W receipt after the year's end.
    other = receive(w, w.hospital, 1_000, dt.date(2024, 6, 1), product=w.other_product, unit_price="0.3000")
    record_payment(actor=w.pharmacist, line=other, amount=D("300.00"), paid_on=dt.date(2024, 6, 20))
    late = receive(w, w.hospital, 1_000, dt.date(2025, 3, 3))
    record_payment(actor=w.pharmacist, line=late, amount=D("120.00"), paid_on=dt.date(2025, 3, 10))
    st = clearance.statement(w.city_bureau, w.hospital.code, "GY-YD2023-1", 1)
    # Opens 30 days after 2025-02-28; prepaid 36 000 − used 12 000 = 24 000 to return.
    assert (st.opens_on, st.prepaid, st.used, st.refund_due, st.outstanding) == (
        dt.date(2025, 3, 30),
        D("36000.00"),
        D("12000.00"),
        D("24000.00"),
        D("24000.00"),
    )
    args = dict(actor=w.city_bureau, institution_code=w.hospital.code, batch_code="GY-YD2023-1", number=1)
    with pytest.raises(DomainError, match="清算自 2025-03-30 起办理"):
        clearance.record_refund(**args, amount=D("100.00"), refunded_on=dt.date(2025, 3, 29))
    with pytest.raises(DomainError, match="超过应退回余额 24000.00"):
        clearance.record_refund(**args, amount=D("24000.01"), refunded_on=dt.date(2025, 4, 1))
    with pytest.raises(NotFound):
        clearance.record_refund(
            **dict(args, actor=w.other_city_bureau), amount=D("1.00"), refunded_on=dt.date(2025, 4, 1)
        )
    with pytest.raises(NotFound):
        clearance.record_refund(
            **dict(args, actor=w.pharmacist), amount=D("1.00"), refunded_on=dt.date(2025, 4, 1)
        )
    assert ClearanceRefund.objects.count() == 0
    clearance.record_refund(**args, amount=D("24000.00"), refunded_on=dt.date(2025, 4, 1))
    st = clearance.statement(w.pharmacist, w.hospital.code, "GY-YD2023-1", 1)
    assert (st.refunded, st.outstanding) == (D("24000.00"), D("0.00"))
    assert balance(w, w.hospital) == D("12000.00")


def test_used_counts_lines_with_a_receipt_in_the_year_whatever_their_last_receipt(prepaid):
    """used reads the lines' running paid amounts: a line counts with all its payments when one of its
    receipts falls in [S, E] (2024-03-01 … 2025-02-28), also when it was ordered before S or last received
    after E; a line received only after E does not count."""
    from jicai.trade.models import Receipt

    w = prepaid
    before_start = receive(w, w.hospital, 1_000, dt.date(2024, 2, 20))  # ordered before S, received in [S, E]
    Receipt.objects.filter(line=before_start).update(received_on=dt.date(2024, 3, 2))
    OrderLine.objects.filter(pk=before_start.pk).update(last_received_on=dt.date(2024, 3, 2))
    straddling = receive(w, w.hospital, 2_000, dt.date(2025, 2, 1))
    Receipt.objects.filter(line=straddling).update(accepted_qty=1_000)
    Receipt.objects.create(line=straddling, accepted_qty=1_000, received_on=dt.date(2025, 3, 5))
    OrderLine.objects.filter(pk=straddling.pk).update(last_received_on=dt.date(2025, 3, 5))
    only_after = receive(w, w.hospital, 1_000, dt.date(2025, 2, 27))
    Receipt.objects.filter(line=only_after).update(received_on=dt.date(2025, 3, 1))
    OrderLine.objects.filter(pk=only_after.pk).update(last_received_on=dt.date(2025, 3, 1))
    for line, amount, day in (
        (before_start, "120.00", dt.date(2024, 3, 20)),
        (straddling, "100.00", dt.date(2025, 2, 20)),
        (straddling, "140.00", dt.date(2025, 3, 20)),
        (only_after, "120.00", dt.date(2025, 3, 20)),
    ):
        record_payment(actor=w.pharmacist, line=line, amount=D(amount), paid_on=day)
    st = clearance.statement(w.city_bureau, w.hospital.code, "GY-YD2023-1", 1)
    assert st.used == D("360.00")  # 120 + 100 + 140


def test_used_counts_a_line_only_when_its_item_and_product_are_a_winner_pair(prepaid):
    """used matches the supply winners' (item, product) pairs exactly, not items and products separately: a
    line of item B with item A's winning product, or of item A with item B's winning product, does not
    count; lines of each item with its own winner do."""
    from jicai.batches.models import AgreementYear, Item, Winner
    from tests.factories import product

    w = prepaid
    item_b = Item.objects.create(
        batch=w.batch, item_code="B2", generic_name="氨氯地平", dosage_form_group="口服常释剂型"
    )
    winner_b = product("XC08CAA001A001010100001", w.other_maker, generic_name="氨氯地平")
    Winner.objects.create(
        item=item_b, product=winner_b, province=w.province, role="main", winning_price=D("0.1200")
    )
    day = dt.date(2024, 5, 1)
    lines = {
        "a": receive(w, w.hospital, 1_000, day),  # item A, its winner: counts
        "b": receive(w, w.hospital, 1_000, day, item=item_b, product=winner_b),  # counts
        "b_with_a": receive(w, w.hospital, 1_000, day, item=item_b),  # item B, item A's winner
        "a_with_b": receive(w, w.hospital, 1_000, day, product=winner_b),  # item A, item B's winner
    }
    for amount, line in zip(("120.00", "60.00", "30.00", "15.00"), lines.values(), strict=True):
        record_payment(actor=w.pharmacist, line=line, amount=D(amount), paid_on=dt.date(2024, 5, 20))
    year = AgreementYear.objects.get(batch=w.batch, number=1)
    assert clearance.used_by([w.hospital.pk, w.clinic.pk], year) == {w.hospital.pk: D("180.00")}


def test_clearance_without_a_refund(prepaid):
    w = prepaid
    from jicai.accounts.models import OrganisationKind, Role
    from tests.factories import org, user

    clinic_user = user(
        "clinic_pharmacy", org(OrganisationKind.INSTITUTION, institution=w.clinic), Role.INSTITUTION
    )
    line = receive(w, w.clinic, 30_000, dt.date(2024, 5, 1))  # 3 600.00
    record_payment(actor=clinic_user, line=line, amount=D("3600.00"), paid_on=dt.date(2024, 5, 20))
    st = clearance.statement(w.county_bureau, w.clinic.code, "GY-YD2023-1", 1)
    assert (st.prepaid, st.used, st.refund_due) == (D("3000.02"), D("3600.00"), D("0.00"))
    with pytest.raises(DomainError, match="超过应退回余额 0.00"):
        clearance.record_refund(
            actor=w.county_bureau,
            institution_code=w.clinic.code,
            batch_code="GY-YD2023-1",
            number=1,
            amount=D("0.01"),
            refunded_on=dt.date(2025, 4, 1),
        )
    with pytest.raises(NotFound):
        clearance.statement(w.other_pharmacist, w.clinic.code, "GY-YD2023-1", 1)
    with pytest.raises(NotFound):
        clearance.statement(w.manufacturer, w.clinic.code, "GY-YD2023-1", 1)


def test_balances_are_per_agreement_year(prepaid):
    """Year 1's prepayment (36 000.00) never pays a line received in year 2 (2025-03-01 …), and a year-2
    disbursement is credited to year 2 only."""
    w = prepaid
    line = receive(w, w.hospital, 1_000, dt.date(2025, 3, 3))  # 120.00, year 2
    with pytest.raises(DomainError, match="超过GY-YD2023-1 第2协议年度预付款余额 0.00"):
        clearance.record_fund_payment(
            actor=w.pharmacist, line=line, amount=D("120.00"), paid_on=dt.date(2025, 3, 10)
        )
    assert (balance(w, w.hospital, 1), balance(w, w.hospital, 2)) == (D("36000.00"), D("0.00"))
    effective_agreement(w, w.hospital, 1_000, dt.date(2025, 3, 1), year=2)  # B = 120.00, T1 = 36.00
    trigger_tranches(as_of=dt.date(2025, 3, 31))
    t = PrepaymentTranche.objects.get(institution=w.hospital, agreement_year__number=2, tranche="1")
    record_disbursement(
        actor=w.province_bureau, tranche_id=t.pk, amount=D("36.00"), paid_on=dt.date(2025, 3, 5)
    )
    clearance.record_fund_payment(
        actor=w.pharmacist, line=line, amount=D("30.00"), paid_on=dt.date(2025, 3, 10)
    )
    assert (balance(w, w.hospital, 1), balance(w, w.hospital, 2)) == (D("36000.00"), D("6.00"))
    assert FundPayment.objects.get().agreement_year.number == 2


def test_fund_payment_over_the_balance_is_refused_with_nothing_written(prepaid):
    w = prepaid
    line = receive(w, w.hospital, 400_000, dt.date(2024, 5, 1))  # 48 000.00
    with pytest.raises(DomainError, match="超过GY-YD2023-1 第1协议年度预付款余额 36000.00"):
        clearance.record_fund_payment(
            actor=w.pharmacist, line=line, amount=D("48000.00"), paid_on=dt.date(2024, 5, 20)
        )
    with pytest.raises(NotFound):
        clearance.record_fund_payment(
            actor=w.other_pharmacist, line=line, amount=D("1.00"), paid_on=dt.date(2024, 5, 20)
        )
    line.refresh_from_db()
    assert (line.paid_amount, Payment.objects.count(), FundPayment.objects.count()) == (D("0.00"), 0, 0)
    assert balance(w, w.hospital) == D("36000.00")
    clearance.record_fund_payment(
        actor=w.pharmacist, line=line, amount=D("30000.00"), paid_on=dt.date(2024, 5, 20)
    )
    line.refresh_from_db()
    assert line.paid_amount == D("30000.00")
    assert balance(w, w.hospital) == D("6000.00")
    assert FundPayment.objects.get().amount == D("30000.00")
    # The exact rest of the balance is accepted; a cent more is not.
    with pytest.raises(DomainError):
        clearance.record_fund_payment(
            actor=w.pharmacist, line=line, amount=D("6000.01"), paid_on=dt.date(2024, 5, 21)
        )
    clearance.record_fund_payment(
        actor=w.pharmacist, line=line, amount=D("6000.00"), paid_on=dt.date(2024, 5, 21)
    )
    assert balance(w, w.hospital) == D("0.00")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_fund_payments_never_overdraw_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are tested on PostgreSQL")
    from tests.factories import build_world

    w = build_world()
    _prepaid(w)
    first = receive(w, w.hospital, 200_000, dt.date(2024, 5, 1))  # 24 000.00
    second = receive(w, w.hospital, 200_000, dt.date(2024, 5, 2))
    drawn, results = threading.Event(), {}

    def pay_and_hold(name, line_id):
        try:
            with transaction.atomic():
                line = OrderLine.objects.get(pk=line_id)
                clearance.record_fund_payment(
                    actor=w.pharmacist, line=line, amount=D("20000.00"), paid_on=dt.date(2024, 5, 20)
                )
                drawn.set()
                # Hold the account row lock a while: the other request must wait for this commit.
                threading.Event().wait(0.5)
            results[name] = "ok"
        except DomainError as exc:
            results[name] = exc.code
        finally:
            drawn.set()
            connection.close()

    def pay_after(name, line_id):
        drawn.wait(5)
        try:
            line = OrderLine.objects.get(pk=line_id)
            clearance.record_fund_payment(
                actor=w.pharmacist, line=line, amount=D("20000.00"), paid_on=dt.date(2024, 5, 20)
            )
            results[name] = "ok"
        except DomainError as exc:
            results[name] = exc.code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=pay_and_hold, args=("a", first.pk)),
        threading.Thread(target=pay_after, args=("b", second.pk)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == {"a": "ok", "b": "over_balance"}
    assert FundAccount.objects.get(institution=w.hospital, agreement_year__number=1).balance == D("16000.00")
    assert FundPayment.objects.count() == 1
    assert Payment.objects.filter(line_id=second.pk).count() == 0


def test_statement_page_xlsx_refund_form_and_fund_payment_api(prepaid, client_for, api_client_for):
    import io
    import json

    import openpyxl

    w = prepaid
    line = receive(w, w.hospital, 100_000, dt.date(2024, 5, 1))
    record_payment(actor=w.pharmacist, line=line, amount=D("12000.00"), paid_on=dt.date(2024, 5, 20))
    url = f"/funds/clearance/{w.hospital.code}/GY-YD2023-1/1/"
    page = client_for(w.pharmacist).get(url)
    assert page.status_code == 200 and "24000.00" in page.content.decode()
    book = openpyxl.load_workbook(io.BytesIO(client_for(w.city_bureau).get(url + "?export=xlsx").content))
    cells = [c for row in book.active.iter_rows(values_only=True) for c in row if c is not None]
    assert "应退回（元）" in cells and 24000.0 in cells
    for actor in (w.other_pharmacist, w.other_city_bureau, w.manufacturer):
        assert client_for(actor).get(url).status_code == 404
        assert client_for(actor).post(url, {"amount": "1.00", "refunded_on": "2025-04-01"}).status_code == 404
    assert (
        client_for(w.pharmacist).post(url, {"amount": "1.00", "refunded_on": "2025-04-01"}).status_code == 404
    )
    assert ClearanceRefund.objects.count() == 0
    response = client_for(w.city_bureau).post(url, {"amount": "24000.00", "refunded_on": "2025-04-01"})
    assert response.status_code == 302
    assert ClearanceRefund.objects.get().amount == D("24000.00")
    # Direct settlement through the API: the institution asks, the fund pays from the balance (12 000 left).
    other = receive(w, w.hospital, 200_000, dt.date(2024, 6, 1))  # 24 000.00
    body = {"order_id": other.order.order_id, "line_no": 1, "amount": "12000.01", "paid_on": "2024-06-20"}
    refused = api_client_for(w.pharmacist).post(
        "/api/v1/prepayment/fund-payments", json.dumps(body), content_type="application/json"
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "over_balance"
    wrong = api_client_for(w.other_pharmacist).post(
        "/api/v1/prepayment/fund-payments", json.dumps(body), content_type="application/json"
    )
    assert wrong.status_code == 404
    assert FundPayment.objects.count() == 0
    body["amount"] = "12000.00"
    ok = api_client_for(w.pharmacist).post(
        "/api/v1/prepayment/fund-payments", json.dumps(body), content_type="application/json"
    )
    assert ok.status_code == 201, ok.content
    assert (ok.json()["payer"], ok.json()["balance"]) == ("fund", "0.00")


def test_clearance_list_page_and_api_scoped_with_exact_amounts(prepaid, client_for, api_client_for):
    """Hospital: prepaid 36 000.00, used 12 000.00 (a W line received 2024-05-01, paid), refund due 24 000.00,
    10 000.00 returned → 14 000.00 outstanding, balance 26 000.00. Clinic: prepaid 3 000.02, used 0, all
    returned → settled, balance 0.00. Clearance opened 2025-03-30 (2025-02-28 + 30 days)."""
    import io

    import openpyxl

    w = prepaid
    line = receive(w, w.hospital, 100_000, dt.date(2024, 5, 1))
    record_payment(actor=w.pharmacist, line=line, amount=D("12000.00"), paid_on=dt.date(2024, 5, 20))
    for inst, amount, bureau in (
        (w.hospital, "10000.00", w.city_bureau),
        (w.clinic, "3000.02", w.county_bureau),
    ):
        clearance.record_refund(
            actor=bureau,
            institution_code=inst.code,
            batch_code="GY-YD2023-1",
            number=1,
            amount=D(amount),
            refunded_on=dt.date(2025, 4, 1),
        )
    hospital_row = {
        "institution": w.hospital.code,
        "institution_name": w.hospital.name,
        "batch": "GY-YD2023-1",
        "agreement_year": 1,
        "opens_on": "2025-03-30",
        "prepaid": "36000.00",
        "used": "12000.00",
        "refund_due": "24000.00",
        "refunded": "10000.00",
        "outstanding": "14000.00",
        "balance": "26000.00",
        "state": "refund_due",
    }
    api = api_client_for(w.city_bureau).get("/api/v1/prepayment/clearances?page_size=1").json()
    assert (api["count"], api["has_more"], api["results"]) == (2, True, [hospital_row])
    second = api_client_for(w.city_bureau).get("/api/v1/prepayment/clearances?page=2&page_size=1").json()
    assert [
        (r["institution"], r["refund_due"], r["outstanding"], r["balance"], r["state"])
        for r in second["results"]
    ] == [(w.clinic.code, "3000.02", "0.00", "0.00", "settled")]
    assert api_client_for(w.pharmacist).get("/api/v1/prepayment/clearances").json()["results"] == [
        hospital_row
    ]
    # Another institution, another city's bureau, a supplier: nothing of it.
    for actor in (w.other_pharmacist, w.other_city_bureau, w.manufacturer):
        assert api_client_for(actor).get("/api/v1/prepayment/clearances").json()["count"] == 0
        assert (
            api_client_for(actor)
            .get(f"/api/v1/prepayment/clearances?institution_code={w.hospital.code}")
            .json()["results"]
            == []
        )

    page = client_for(w.city_bureau).get("/funds/clearance/")
    html = page.content.decode()
    assert page.status_code == 200 and "14000.00" in html and "已结清" in html and "待退回" in html
    assert f"/funds/clearance/{w.hospital.code}/GY-YD2023-1/1/" in html
    searched = client_for(w.city_bureau).get("/funds/clearance/", {"q": w.clinic.code}).content.decode()
    assert w.clinic.name in searched and w.hospital.name not in searched
    own = client_for(w.pharmacist).get("/funds/clearance/").content.decode()
    assert w.hospital.name in own and w.clinic.name not in own
    for actor in (w.other_pharmacist, w.other_city_bureau):
        other = client_for(actor).get("/funds/clearance/").content.decode()
        assert w.hospital.name not in other and w.clinic.name not in other
    assert client_for(w.manufacturer).get("/funds/clearance/").status_code == 404
    book = openpyxl.load_workbook(
        io.BytesIO(b"".join(client_for(w.city_bureau).get("/funds/clearance/?export=xlsx").streaming_content))
    )
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:8] == (
        "机构代码",
        "机构名称",
        "批次",
        "协议年度",
        "清算起始日",
        "已预付（元）",
        "已使用（元）",
        "应退回（元）",
    )
    assert [r[0] for r in rows[1:]] == [w.hospital.code, w.clinic.code]
    assert rows[1][5:11] == (36000, 12000, 24000, 10000, 14000, 26000)
    assert ClearanceRefund.objects.count() == 2


def test_clearance_list_has_one_row_per_pair_with_every_tranche_prepaid(prepaid, client_for):
    """Tranche 2 of the hospital (triggered at half-year, 2024-08-31) disbursed in part: still one row per
    (institution, agreement year), prepaid = 36 000.00 + 5 000.00 over both tranches; the province bureau,
    which holds every institution, sees both pairs."""
    w = prepaid
    trigger_tranches(as_of=dt.date(2024, 9, 30))
    second = PrepaymentTranche.objects.get(institution=w.hospital, tranche="2")
    record_disbursement(
        actor=w.province_bureau, tranche_id=second.pk, amount=D("5000.00"), paid_on=dt.date(2024, 10, 8)
    )
    assert PrepaymentTranche.objects.filter(institution=w.hospital).count() >= 2
    rows = list(clearance.clearance_rows(w.province_bureau))
    clearance.fill_clearance(rows)
    assert [(r["institution__code"], r["prepaid"]) for r in rows] == [
        (w.hospital.code, D("41000.00")),
        (w.clinic.code, D("3000.02")),
    ]
    page = client_for(w.province_bureau).get("/funds/clearance/")
    assert page.context["paginator"].count == 2 and "41000.00" in page.content.decode()
