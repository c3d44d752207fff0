"""Hand-worked data for `jicai national` against `jicai monitor`, and the comparison itself: the alerts
`jicai monitor` finds (of the types the export supports) and the facts it stores, against what
`jicai national` computes from the export on one engine."""

import datetime as dt
import io
import json
from decimal import Decimal

import pyarrow.parquet as pq
from django.core.management import call_command

from jicai.agreements.models import PurchaseAgreement
from jicai.batches.models import AgreementYear, ItemFactor, Substitute
from jicai.monitoring.evaluate import alert_sort_key, found_alerts, run_monitoring
from jicai.monitoring.models import DeliveryFact, ProgressFact
from jicai.national.indicators import ALERT_TYPES
from jicai.trade.models import UsageLine
from tests import factories as f
from tests.monitoring.conftest import add_line, agreed, received

D = dt.date


def build_busy(w):
    """Every supported alert type at least once on 2024-06-08 (year 1 = 2024-03-01 … 2025-02-28), with
    boundary cases beside each (exactly at the threshold: no alert)."""
    ItemFactor.objects.create(item=w.item, product=w.product, factor=Decimal("0.5"))
    substitute = f.product("XC10AAA001A001010100009", w.other_maker, generic_name="瑞舒伐他汀钙", spec="10mg")
    Substitute.objects.create(item=w.item, product=substitute, degree="full")
    ItemFactor.objects.create(item=w.item, product=substitute, factor=Decimal("0.333333"))
    agreed(w, w.hospital, 365)  # lag: 200 × 0.5 = 100 = time progress → no PROGRESS_LAG
    received(w.hospital, w.product, 200, D(2024, 4, 1), item=w.item)
    agreed(w, w.other_hospital, 365, reported=0)  # lag, unreported, non-winning above winning
    received(w.other_hospital, w.product, 20, D(2024, 4, 2), item=w.item)
    received(w.other_hospital, w.other_product, 60, D(2024, 4, 3), item=w.item)
    agreed(w, w.clinic, 10)  # over purchase: 100 × 0.5 = 50 > 4 × 10
    received(w.clinic, w.product, 100, D(2024, 3, 20), item=w.item)
    # substitutes: this year 90 (× 0.333333), last year 30 and same days last year 20
    received(w.hospital, substitute, 90, D(2024, 5, 1))
    received(w.hospital, substitute, 10, D(2023, 10, 1))
    received(w.hospital, substitute, 20, D(2023, 5, 1))
    # low delivery rate: 10 of 100 delivered; rejected line counts as undelivered
    add_line(
        w.hospital, w.product, 100, D(2024, 5, 10), item=w.item, delivered=10, delivered_on=D(2024, 5, 12)
    )
    add_line(w.clinic, w.product, 40, D(2024, 5, 10), item=w.item, status="rejected")
    # late receipt: delivered 2024-05-20, nothing received by D; one delivered 2024-06-04 (not yet late)
    add_line(
        w.other_hospital,
        w.product,
        50,
        D(2024, 5, 18),
        item=w.item,
        delivered=50,
        delivered_on=D(2024, 5, 20),
    )
    add_line(
        w.other_hospital, w.product, 5, D(2024, 6, 1), item=w.item, delivered=5, delivered_on=D(2024, 6, 4)
    )
    # late payment: received 2024-04-02 (due 05-02), half paid; a line of no item too
    half_paid_line(w)
    received(w.clinic, w.product, 33, D(2024, 4, 5))
    # abnormal order: agreed 120/12 = 10 per month, k = 3 → above 30
    add_line(w.clinic, w.product, 200, D(2024, 5, 3), item=w.item)
    # offline purchase suspect: used 200, received 100 + 70 + 20 … of other_hospital
    UsageLine.objects.create(institution=w.other_hospital, product=w.product, qty=500, used_on=D(2024, 5, 1))
    UsageLine.objects.create(institution=w.hospital, product=w.product, qty=220, used_on=D(2024, 5, 1))
    # unsigned agreement, due the day before D
    year = AgreementYear.objects.get(batch=w.batch, number=1)
    PurchaseAgreement.objects.create(
        institution=w.hospital,
        due_date=D(2024, 6, 7),
        agreement_year=year,
        item=w.item,
        supplier=w.maker,
        agreed_qty=10,
        winning_price=Decimal("0.12"),
    )
    build_tickets(w)
    build_tranches(w)
    build_admission(w)
    build_limits(w)
    build_caps(w)
    return w


def half_paid_line(w):
    """The other hospital's 70 of w.product (0.12 each: 8.40), received 2024-04-02 (due 05-02), 4.20 paid on
    2024-04-20."""
    return received(
        w.other_hospital,
        w.product,
        70,
        D(2024, 4, 2),
        item=w.item,
        paid=Decimal("4.20"),
        paid_on=D(2024, 4, 20),
    )


def build_caps(w):
    """SPEC §4 caps of GY7-001 in Shandong (listing_cap_multiple 1.5): maker's product supplies here at 0.12
    (cap 0.12); XC…031 is a `nonsupply` winner here at 0.1235, other maker's product the Hebei main winner at
    0.15 (the item's highest): caps max(1.5 × 0.1235, 0.15) = 0.18525 and max(1.5 × 0.15, 0.15) = 0.225."""
    from jicai.batches.models import ListingPrice, Winner

    hebei = f.region("130000", "河北省")
    w.nonsupply = f.product("XC10AAA001A001010100031", w.other_maker)
    Winner.objects.create(
        item=w.item,
        product=w.nonsupply,
        province=w.province,
        role="nonsupply",
        winning_price=Decimal("0.1235"),
    )
    Winner.objects.create(
        item=w.item, product=w.other_product, province=hebei, role="main", winning_price=Decimal("0.15")
    )
    for product, price, valid_from in (
        (w.product, "0.1200", D(2024, 1, 1)),
        (w.product, "0.1300", D(2024, 6, 9)),  # after D: not in force
        (w.nonsupply, "0.3000", D(2024, 1, 1)),
        (w.nonsupply, "0.1853", D(2024, 5, 1)),  # above 0.18525, although it shows as 0.1853
        (w.other_product, "0.2250", D(2024, 1, 1)),  # at the cap
    ):
        ListingPrice.objects.create(
            product=product, province=w.province, price=Decimal(price), valid_from=valid_from
        )
    for institution, product, price, day, status in (
        (w.hospital, w.product, "0.1201", D(2024, 5, 2), "open"),  # above 0.12
        (w.hospital, w.product, "0.1300", D(2024, 5, 3), "cancelled"),
        (w.hospital, w.product, "0.1250", D(2024, 2, 20), "open"),  # before S
        (w.clinic, w.nonsupply, "0.1852", D(2024, 5, 2), "open"),  # below 0.18525
        (w.clinic, w.nonsupply, "0.1853", D(2024, 5, 4), "open"),
        (w.other_hospital, w.other_product, "0.2251", D(2024, 5, 2), "open"),
        (w.other_hospital, w.other_product, "0.2300", D(2024, 5, 5), "open"),
    ):
        add_line(institution, product, 1, day, item=w.item, status=status, unit_price=Decimal(price))


def build_admission(w):
    """Item GY7-002 (maker's XC…012 the Shandong main winner; other maker's XC…013 not a winner) with effective
    agreements of year 1: hospital never orders it; the clinic orders the winner on 2024-04-10; the other
    hospital's one winning line is cancelled and it buys the non-winner."""
    from jicai.batches.models import Item, Winner

    year = AgreementYear.objects.get(batch=w.batch, number=1)
    w.item2 = Item.objects.create(
        batch=w.batch, item_code="GY7-002", generic_name="氨氯地平", dosage_form_group="口服常释剂型"
    )
    w.product2 = f.product("XC10AAA001A001010100012", w.maker, generic_name="氨氯地平")
    w.other_product2 = f.product("XC10AAA001A001010100013", w.other_maker, generic_name="氨氯地平")
    Winner.objects.create(
        item=w.item2, product=w.product2, province=w.province, role="main", winning_price=Decimal("0.5")
    )
    for institution, supplier, status in (
        (w.hospital, w.maker, "effective"),
        (w.clinic, w.maker, "effective"),
        (w.other_hospital, w.maker, "effective"),
    ):
        PurchaseAgreement.objects.create(
            institution=institution,
            agreement_year=year,
            item=w.item2,
            supplier=supplier,
            agreed_qty=10,
            winning_price=Decimal("0.5"),
            status=status,
            due_date=D(2024, 12, 31),
        )
    add_line(w.clinic, w.product2, 5, D(2024, 4, 10), item=w.item2)
    add_line(w.other_hospital, w.product2, 5, D(2024, 4, 10), item=w.item2, status="cancelled")
    add_line(w.other_hospital, w.other_product2, 5, D(2024, 4, 11), item=w.item2)


def build_limits(w):
    """Quarterly limits of catalogue substitutes (SPEC §11) around 2024Q2 (from 2024-04-01)."""
    from jicai.prescribing.models import SubstituteLimit

    s1 = f.product("XC10AAA001A001010100021", w.other_maker, generic_name="瑞舒伐他汀钙", spec="5mg")
    s2 = f.product("XC10AAA001A001010100022", w.other_maker, generic_name="瑞舒伐他汀钙", spec="20mg")
    for institution, product, quarter, limit, suspended, status in (
        (w.hospital, s1, "2024Q2", 100, False, "confirmed"),  # used 70 + 31 = 101 > 100
        (w.clinic, s1, "2024Q2", 50, False, "confirmed"),  # used 50 (and 5 after D): at the limit
        (w.other_hospital, s1, "2024Q2", None, True, "confirmed"),  # suspended: limit 0, used 1
        (w.hospital, s2, "2024Q2", 0, False, "proposed"),  # not confirmed
        (w.clinic, s2, "2024Q2", None, False, "confirmed"),  # no limit set
        (w.other_hospital, s2, "2024Q1", 0, False, "confirmed"),  # another quarter
    ):
        SubstituteLimit.objects.create(
            institution=institution,
            item=w.item,
            product=product,
            quarter=quarter,
            limit_qty=limit,
            suspended=suspended,
            status=status,
        )
    for institution, product, qty, day in (
        (w.hospital, s1, 60, D(2024, 3, 31)),
        (w.hospital, s1, 70, D(2024, 4, 1)),
        (w.hospital, s1, 31, D(2024, 6, 8)),
        (w.clinic, s1, 50, D(2024, 5, 5)),
        (w.clinic, s1, 5, D(2024, 6, 9)),
        (w.other_hospital, s1, 1, D(2024, 5, 5)),
        (w.hospital, s2, 10, D(2024, 5, 5)),
        (w.clinic, s2, 10, D(2024, 5, 5)),
        (w.other_hospital, s2, 10, D(2024, 5, 5)),
    ):
        UsageLine.objects.create(institution=institution, product=product, qty=qty, used_on=day)


def ticket(w, institution, status, opened_on, reply_due, fix_due=None, supplier=None):
    from jicai.tickets.models import Ticket

    return Ticket.objects.create(
        institution=institution,
        supplier=supplier or w.maker,
        category="late_delivery",
        description="配送不及时",
        status=status,
        opened_on=opened_on,
        reply_due=reply_due,
        first_reply_due=reply_due,
        fix_due=fix_due,
        replied_on=opened_on if status == "replied" else None,
    )


def build_tickets(w):
    """Tickets against the maker around D = 2024-06-08 (due dates as the province stored them)."""
    ticket(w, w.hospital, "open", D(2024, 5, 27), D(2024, 5, 31))  # reply 8 days overdue
    ticket(w, w.hospital, "reopened", D(2024, 6, 3), D(2024, 6, 7))  # 1 day overdue
    ticket(w, w.clinic, "open", D(2024, 6, 4), D(2024, 6, 8))  # due on D: not overdue
    ticket(w, w.other_hospital, "replied", D(2024, 5, 6), D(2024, 5, 10), D(2024, 6, 5))  # fix 3 days
    ticket(w, w.clinic, "replied", D(2024, 5, 6), D(2024, 5, 10), D(2024, 6, 8))  # fix due on D
    ticket(w, w.clinic, "fixed", D(2024, 4, 1), D(2024, 4, 3), D(2024, 4, 20))  # done: never overdue
    ticket(w, w.clinic, "closed", D(2024, 4, 1), D(2024, 4, 3))


def build_tranches(w):
    """Prepayment tranches of year 1 (due dates as the province stored them)."""
    from jicai.funds.models import PrepaymentTranche

    year = AgreementYear.objects.get(batch=w.batch, number=1)
    for institution, tranche, amount, paid, due in (
        (w.hospital, "1", "1000.00", "400.50", D(2024, 6, 7)),  # 599.50 unpaid, overdue
        (w.hospital, "2", "500.00", "0.00", D(2024, 6, 8)),  # due on D: not overdue
        (w.clinic, "1", "300.00", "300.00", D(2024, 4, 1)),  # paid in full
        (w.other_hospital, "topup-2024-05", "80.00", "0.00", D(2024, 5, 20)),  # 80 unpaid
    ):
        PrepaymentTranche.objects.create(
            institution=institution,
            agreement_year=year,
            tranche=tranche,
            amount=Decimal(amount),
            paid_amount=Decimal(paid),
            triggered_on=D(2024, 3, 15),
            due_on=due,
        )


def monitor_answers(as_of, scope=None):
    outcome = run_monitoring(as_of, scope)
    alerts = [a for a in found_alerts(outcome.facts) if a["type"] in ALERT_TYPES]
    progress = sorted(
        (
            p.institution_id,
            p.item_id,
            p.agreement_year_id,
            p.agreed_qty,
            p.reported_qty,
            p.purchased_winning,
            p.purchased_nonwinning,
            p.purchased_substitute,
            p.substitute_last_year,
            p.substitute_same_days_last_year,
            p.time_progress,
            p.completion,
        )
        for p in ProgressFact.objects.select_related("dated")
    )
    delivery = sorted(
        (d.supplier_id, d.institution_id, d.agreement_year_id, d.ordered_qty, d.delivered_qty, d.rate)
        for d in DeliveryFact.objects.all()
    )
    return alerts, progress, delivery


def _six(value):
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.000001"))


def national_answers(directory, as_of, engine, output):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "national",
        str(directory),
        "--as-of",
        as_of.isoformat(),
        "--engine",
        engine,
        "--output",
        str(output),
        stdout=out,
        stderr=err,
    )
    data = json.loads(out.getvalue())
    assert data["as_of"] == as_of.isoformat()
    four = Decimal("0.0001")
    progress = sorted(
        (
            r["institution_id"],
            r["item_id"],
            r["agreement_year_id"],
            r["agreed_qty"],
            r["reported_qty"],
            *(
                Decimal(r[k]).quantize(four)
                for k in (
                    "purchased_winning",
                    "purchased_nonwinning",
                    "purchased_substitute",
                    "substitute_last_year",
                    "substitute_same_days_last_year",
                )
            ),
            _six(r["time_progress"]),
            _six(r["completion"]),
        )
        for r in pq.read_table(output / "progress_facts.parquet").to_pylist()
    )
    delivery = sorted(
        (
            r["supplier_id"],
            r["institution_id"],
            r["agreement_year_id"],
            r["ordered_qty"],
            r["delivered_qty"],
            _six(r["rate"]),
        )
        for r in pq.read_table(output / "delivery_facts.parquet").to_pylist()
    )
    return data["alerts"], progress, delivery


def export(directory, region=None):
    call_command(
        "export",
        str(directory),
        *(["--region", region] if region else []),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def _canonical(alert: dict) -> str:
    return json.dumps(alert, sort_keys=True)


def assert_same_answers(as_of, tmp_path, engines, scope=None):
    """`jicai national` on each engine finds exactly the alerts and facts `jicai monitor` stores."""
    alerts, progress, delivery = monitor_answers(as_of, scope)
    export(tmp_path / "export")
    for engine in engines:
        n_alerts, n_progress, n_delivery = national_answers(
            tmp_path / "export", as_of, engine, tmp_path / f"out-{engine}"
        )
        assert all(a.pop("province") for a in n_alerts)
        missing = [a for a in alerts if a not in n_alerts]
        extra = [a for a in n_alerts if a not in alerts]
        assert (missing, extra) == ([], []), f"{engine}: missing {missing} extra {extra}"
        # Same alerts, printed in the same order (alerts that tie on monitor's sort key, e.g. one institution's
        # unsigned agreements of two batches, come in the database's order there).
        assert sorted(n_alerts, key=_canonical) == sorted(alerts, key=_canonical), engine
        assert [alert_sort_key(a) for a in n_alerts] == [alert_sort_key(a) for a in alerts], engine
        assert n_progress == progress, engine
        assert n_delivery == delivery, engine
    return alerts
