"""A small hand-built dataset for the home-page summaries, on top of `world` (tests/factories.py).

"Today" is 2025-06-30 (home.queries.today is patched). Batch GY-YD2023-1's agreement year 2 runs
2025-03-01 … 2026-02-28. Rows are written directly (not through the apps' actions) so each count below is
known by construction; `add_more` adds a second copy of everything for the query-count tests."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from jicai.agreements.models import PurchaseAgreement
from jicai.batches.models import AgreementYear, Item, Winner
from jicai.demand.models import DemandReport, ReportingWindow
from jicai.home import queries as home_queries
from jicai.ingest.models import ImportJob
from jicai.monitoring.models import Alert, FactDate, MonitoringRun, ProgressFact
from jicai.tickets.models import Ticket
from jicai.trade.models import Order, OrderLine, SupplierMonthlyReport

TODAY = dt.date(2025, 6, 30)
D = dt.date
_serial = itertools.count(1)


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr(home_queries, "today", lambda: TODAY)
    return TODAY


@pytest.fixture
def home_data(world, today):
    return build_home_data(world)


# ---- row builders -----------------------------------------------------------------------------------


def window(w, *, opens_on, deadline, closed=False, title=None):
    return ReportingWindow.objects.create(
        batch=w.batch,
        bureau=w.province_bureau_org,
        region=w.province,
        title=title or f"报量窗口 {next(_serial)}",
        opens_on=opens_on,
        deadline=deadline,
        closed_at=timezone.now() if closed else None,
    )


def report(win, institution, status="draft", *, saved=False):
    now = timezone.now()
    return DemandReport.objects.create(
        window=win,
        institution=institution,
        status=status,
        last_saved_at=now if saved else None,
        submitted_at=now if status in ("submitted", "approved") else None,
    )


def agreement(w, institution, status, due_date, *, item=None, distributor=None):
    return PurchaseAgreement.objects.create(
        agreement_year=w.year2,
        institution=institution,
        item=item or w.item,
        supplier=w.maker,
        distributor=distributor,
        agreed_qty=1000,
        winning_price=Decimal("0.1200"),
        budget=Decimal("120.00"),
        status=status,
        due_date=due_date,
    )


def alert(institution, type_, status="open", *, supplier=None, province=None):
    n = next(_serial)
    return Alert.objects.create(
        key=f"{type_}:{n}",
        type=type_,
        institution=institution,
        supplier=supplier,
        province=province,
        status=status,
        first_seen_on=D(2025, 6, 1),
        last_seen_on=TODAY,
    )


def ticket(institution, supplier, status, reply_due, *, fix_due=None, escalated_to=None, distributor=None):
    return Ticket.objects.create(
        institution=institution,
        supplier=supplier,
        distributor=distributor,
        category="shortage",
        description="断供",
        status=status,
        opened_on=D(2025, 6, 18),
        reply_due=reply_due,
        first_reply_due=reply_due,
        fix_due=fix_due,
        escalated_to=escalated_to,
        escalation_level=escalated_to.level if escalated_to else "",
        escalated_on=TODAY if escalated_to else None,
    )


def line(
    institution,
    supplier,
    product,
    qty,
    ordered_on,
    *,
    item=None,
    distributor=None,
    status="open",
    accepted=None,
    delivered=0,
    received=0,
    received_on=None,
    paid=Decimal("0.00"),
    unit_price=Decimal("0.1200"),
):
    order = Order.objects.create(
        order_id=f"HOME{next(_serial):05d}",
        institution=institution,
        supplier=supplier,
        distributor=distributor,
        ordered_on=ordered_on,
    )
    return OrderLine.objects.create(
        order=order,
        line_no=1,
        institution=institution,
        supplier=supplier,
        ordered_on=ordered_on,
        product=product,
        item=item,
        qty=qty,
        unit_price=unit_price,
        amount=(Decimal(qty) * unit_price).quantize(Decimal("0.01")),
        status=status,
        accepted_by_supplier=False if status == "rejected" else accepted,
        delivered_qty=delivered,
        accepted_qty=received,
        paid_amount=paid,
        last_received_on=received_on,
        payment_due_on=received_on + dt.timedelta(days=30) if received_on else None,
    )


def fact(w, institution, item, year, agreed, purchased, completion, time_progress="0.334247"):
    FactDate.objects.update_or_create(
        institution=institution,
        agreement_year=year,
        defaults={"as_of": D(2025, 6, 29), "time_progress": Decimal(time_progress)},
    )
    return ProgressFact.objects.create(
        institution=institution,
        item=item,
        agreement_year=year,
        agreed_qty=agreed,
        purchased_winning=Decimal(purchased),
        completion=Decimal(completion) if completion is not None else None,
    )


# ---- the dataset --------------------------------------------------------------------------------------


def build_home_data(w):
    w.year1 = AgreementYear.objects.get(batch=w.batch, number=1)
    w.year2 = AgreementYear.objects.get(batch=w.batch, number=2)
    w.item2 = Item.objects.create(
        batch=w.batch, item_code="GY7-002", generic_name="瑞舒伐他汀钙", dosage_form_group="口服常释剂型"
    )
    Winner.objects.create(
        item=w.item2, product=w.product, province=w.province, role="main", winning_price=Decimal("0.2000")
    )
    add_round(w)
    return w


def add_round(w):
    """One copy of every counted row; called twice by the query-count tests."""
    # Demand: W_late (deadline passed, hospital's report submitted: unfinished), W_open (deadline ahead),
    # a closed window and a finished one (deadline passed, all approved) that the bureau page leaves out.
    late = window(w, opens_on=D(2025, 6, 10), deadline=D(2025, 6, 20), title="逾期窗口")
    report(late, w.hospital, "submitted")
    open_ = window(w, opens_on=D(2025, 6, 1), deadline=D(2025, 7, 15), title="进行中窗口")
    report(open_, w.hospital)
    report(open_, w.clinic, saved=True)
    report(open_, w.other_hospital, "submitted")
    report(window(w, opens_on=D(2025, 6, 1), deadline=D(2025, 7, 15), closed=True), w.hospital)
    report(window(w, opens_on=D(2025, 5, 1), deadline=D(2025, 5, 31)), w.hospital, "approved")

    # Agreements of year 2 (one per institution and item: each round uses a fresh item).
    item = (
        w.item
        if not hasattr(w, "rounds")
        else Item.objects.create(
            batch=w.batch,
            item_code=f"GY7-1{len(w.rounds):02d}",
            generic_name="其他",
            dosage_form_group="注射剂",
        )
    )
    agreement(w, w.hospital, "institution_signed", D(2025, 6, 15), item=item, distributor=w.distributor)
    agreement(w, w.other_hospital, "draft", D(2025, 7, 31), item=item)
    agreement(w, w.clinic, "effective", D(2025, 6, 1), item=item, distributor=w.distributor)

    # Alerts.
    alert(w.hospital, "PROGRESS_LAG")
    alert(w.hospital, "LATE_PAYMENT", supplier=w.maker)
    alert(w.hospital, "LATE_PAYMENT", "explained")
    alert(w.hospital, "OVER_PURCHASE", "closed")
    alert(w.other_hospital, "PROGRESS_LAG")
    alert(None, "LATE_SUPPLIER_REPORT", supplier=w.maker, province=w.province)

    # Tickets.
    ticket(w.hospital, w.maker, "open", D(2025, 6, 24), escalated_to=w.county)
    ticket(w.hospital, w.maker, "replied", D(2025, 6, 26), fix_due=D(2025, 7, 5))
    ticket(w.other_hospital, w.maker, "open", D(2025, 6, 25), escalated_to=w.other_city)
    ticket(w.hospital, w.maker, "reopened", D(2025, 7, 2), distributor=w.distributor)
    ticket(w.hospital, w.other_maker, "closed", D(2025, 6, 20))

    # Order lines (supplier 齐鲁 unless said).
    h, m, p = w.hospital, w.maker, w.product
    line(h, m, p, 100, D(2025, 6, 25), item=w.item)  # pending
    line(h, m, p, 200, D(2025, 6, 20), item=w.item, accepted=True, distributor=w.distributor)  # due 06-23
    line(h, m, p, 300, D(2025, 6, 28), item=w.item, accepted=True, delivered=100, distributor=w.distributor)
    line(h, m, p, 50, D(2025, 6, 1), item=w.item, accepted=True, delivered=50, distributor=w.distributor)
    line(
        h,
        m,
        p,
        10,
        D(2025, 4, 20),
        item=w.item,
        accepted=True,
        delivered=10,
        received=10,
        received_on=D(2025, 5, 1),
    )  # payable 1.20, due 05-31: overdue
    line(
        h,
        m,
        p,
        20,
        D(2025, 6, 15),
        item=w.item,
        accepted=True,
        delivered=20,
        received=20,
        received_on=D(2025, 6, 20),
        paid=Decimal("1.00"),
    )  # payable 2.40, 1.40 left, due 07-20
    line(h, m, p, 40, D(2025, 6, 2), item=w.item, status="cancelled")
    line(h, m, p, 30, D(2025, 6, 3), item=w.item, status="rejected")
    line(w.other_hospital, m, p, 70, D(2025, 6, 26), item=w.item)  # the other hospital's pending line

    # Monitoring facts: year 2 replaces year 1 for the batch; item2 has no agreed volume.
    if not hasattr(w, "rounds"):
        fact(w, w.hospital, w.item, w.year1, 800, "800", "1.0", time_progress="1.0")
        fact(w, w.hospital, w.item, w.year2, 1000, "250.5", "0.2505")
        fact(w, w.hospital, w.item2, w.year2, 0, "40", None)
        fact(w, w.other_hospital, w.item, w.year2, 500, "400", "0.8")
        # 齐鲁 filed May for item2 only: May's report of GY7-001 (due 06-05) is missing.
        SupplierMonthlyReport.objects.create(
            company=w.maker,
            item=w.item2,
            month=D(2025, 5, 1),
            production_qty=1,
            supply_qty=1,
            inventory_qty=0,
            payment_received=Decimal("0.00"),
        )
    else:
        fact(w, w.hospital, item, w.year2, 10, "1", "0.1")
        fact(w, w.other_hospital, item, w.year2, 10, "1", "0.1")

    ImportJob.objects.create(
        kind="orders",
        source="web",
        filename="orders.csv",
        status="done",
        rows=9,
        created=9,
        actor=w.pharmacist,
        organisation_id=w.hospital_org.pk,
    )
    MonitoringRun.objects.create(
        as_of=D(2025, 6, 29),
        region=w.province,
        counts={
            "facts": {"progress": 4, "delivery": 0},
            "alerts_found": 5,
            "alerts_opened": 5,
            "alerts_reopened": 0,
            "alerts_closed": 1,
        },
    )
    w.rounds = getattr(w, "rounds", []) + [1]
