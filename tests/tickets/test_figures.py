"""Per-supplier ticket figures for monitoring's scorecard: exact counts, rates (None without tickets, never
100 %), mean working days to fix on the official calendar, period, supplier and region filters."""

import datetime as dt
from decimal import Decimal

from jicai.tickets import actions, queries
from tests.tickets.conftest import open_ticket, replied_ticket

D = dt.date
Q3 = {"start": D(2025, 7, 1), "end": D(2025, 9, 30)}


def build(world):
    # 1: opened Fri 09-26, replied in time, fixed 10-10 → 5 working days, on time.
    a = replied_ticket(world, D(2025, 9, 26), D(2025, 9, 28), promise=D(2025, 10, 10))
    actions.confirm_fix(actor=world.pharmacist, ticket=a, on=D(2025, 10, 10))
    # 2: opened 09-30, replied late (10-11 > 10-10), fixed 10-13 → 10-09, 10-10, Saturday 10-11 (make-up),
    #    10-13 = 4 working days, on time (promise 10-14).
    b = replied_ticket(world, D(2025, 9, 30), D(2025, 10, 11), promise=D(2025, 10, 14))
    actions.confirm_fix(actor=world.pharmacist, ticket=b, on=D(2025, 10, 13))
    # 3: opened 09-01, replied in time, promise 09-05, fixed late 09-08 → 09-02 … 09-08 = 5 working days.
    c = replied_ticket(world, D(2025, 9, 1), D(2025, 9, 2), promise=D(2025, 9, 5))
    actions.confirm_fix(actor=world.pharmacist, ticket=c, on=D(2025, 9, 8))
    # 4: opened 09-10, never replied.
    open_ticket(world, D(2025, 9, 10))
    # 5: outside the quarter.
    open_ticket(world, D(2025, 10, 9))
    # 6: another supplier, another city.
    open_ticket(world, D(2025, 9, 10), actor=world.other_pharmacist, supplier=world.other_maker, product=None)


def test_figures_per_supplier_are_exact(world):
    build(world)
    figures = queries.supplier_ticket_figures(**Q3)
    assert figures[world.maker.pk] == {
        "tickets": 4,
        "replied_on_time": 2,
        "on_time_reply_rate": Decimal("0.5000"),
        "fixed": 3,
        "fixed_on_time": 2,
        "timely_fix_rate": Decimal("0.5000"),
        "mean_workdays_to_fix": Decimal("4.67"),  # (5 + 4 + 5) / 3
    }
    assert figures[world.other_maker.pk]["tickets"] == 1
    assert figures[world.other_maker.pk]["on_time_reply_rate"] == Decimal("0")
    assert figures[world.other_maker.pk]["mean_workdays_to_fix"] is None


def test_a_supplier_without_tickets_has_no_rates(world):
    build(world)
    third = world.distributor  # any company without tickets
    figures = queries.supplier_ticket_figures(suppliers=[third, world.maker.pk], **Q3)
    assert figures[third.pk] == {
        "tickets": 0,
        "replied_on_time": 0,
        "on_time_reply_rate": None,
        "fixed": 0,
        "fixed_on_time": 0,
        "timely_fix_rate": None,
        "mean_workdays_to_fix": None,
    }
    assert set(figures) == {third.pk, world.maker.pk}


def test_region_limits_to_the_subtree(world):
    build(world)
    assert set(queries.supplier_ticket_figures(region=world.other_city, **Q3)) == {world.other_maker.pk}
    assert set(queries.supplier_ticket_figures(region="371000", **Q3)) == {world.maker.pk}


def test_reopened_fix_no_longer_counts_until_fixed_again(world):
    t = replied_ticket(world, D(2025, 9, 26), D(2025, 9, 28), promise=D(2025, 10, 10))
    actions.confirm_fix(actor=world.pharmacist, ticket=t, on=D(2025, 10, 9))
    actions.reopen_ticket(actor=world.pharmacist, ticket=t, text="复发", on=D(2025, 10, 10))
    assert queries.supplier_ticket_figures(**Q3)[world.maker.pk]["fixed"] == 0


def test_figures_query_count_is_fixed(world, django_assert_num_queries):
    build(world)
    with django_assert_num_queries(1):
        queries.supplier_ticket_figures(**Q3)


def test_scoped_figures_for_each_party(world):
    build(world)
    by = lambda actor, **kw: {r.supplier.pk: r.tickets for r in queries.figures_for(actor, **Q3, **kw)}  # noqa: E731
    assert by(world.admin) == {world.maker.pk: 4, world.other_maker.pk: 1}
    assert by(world.city_bureau) == {world.maker.pk: 4}
    assert by(world.other_city_bureau) == {world.other_maker.pk: 1}
    assert by(world.manufacturer) == {world.maker.pk: 4}
    assert by(world.manufacturer, supplier=world.other_maker.code) == {}
    assert by(world.other_pharmacist) == {world.other_maker.pk: 1}
    assert by(world.city_bureau, region="370200") == {}  # outside its subtree: nothing
