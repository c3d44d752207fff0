"""Facts keep their date apart (issue 16): the run's as_of and the year's time progress live in one FactDate row
per (institution, agreement year), so the next day's run on unchanged data moves the date by updating those
rows and writes no fact row at all; a fact whose quantities changed is rewritten (same row), and readers (the
model's properties, the API) show the new date and time progress. Counted by the rows each write statement
reported (Facts.written) and, on PostgreSQL, by the rows' xmin: a row that was rewritten has a new one."""

import datetime as dt
from decimal import Decimal

from django.db import connection

from jicai.monitoring import realtime
from jicai.monitoring.evaluate import run_monitoring
from jicai.monitoring.models import DeliveryFact, DirtyInstitution, FactDate, ProgressFact
from jicai.policy import rules
from tests.monitoring.conftest import agreed, received

D = dt.date
AS_OF = D(2024, 6, 8)
NEXT = AS_OF + dt.timedelta(days=1)
FACT_TABLES = (ProgressFact, DeliveryFact)


def _versions() -> dict:
    """(table, id) → the row's version: xmin on PostgreSQL (changes whenever the row is written), else the
    row's values (the written counts carry the SQLite side)."""
    versions = {}
    with connection.cursor() as cursor:
        for model in FACT_TABLES:
            table = connection.ops.quote_name(model._meta.db_table)
            if connection.vendor == "postgresql":
                cursor.execute(f"SELECT id, xmin::text FROM {table}")
            else:
                cursor.execute(f"SELECT * FROM {table}")
            for row in cursor.fetchall():
                versions[(model._meta.model_name, row[0])] = row[1:]
    return versions


def _written(outcome, table: str) -> int:
    return sum(outcome.facts.written[table].values())


def _data(w):
    agreed(w, w.hospital, 1000)
    agreed(w, w.other_hospital, 500)
    received(w.hospital, w.product, 100, D(2024, 5, 1), item=w.item)
    received(w.other_hospital, w.product, 40, D(2024, 5, 2), item=w.item)


def test_next_day_without_new_data_writes_no_fact_row_and_moves_the_date(mworld, api_client_for):
    w = mworld
    _data(w)
    first = run_monitoring(AS_OF)
    assert first.facts.written["progress"]["inserted"] == 2
    assert first.facts.written["delivery"]["inserted"] == 2
    before = _versions()
    assert len(before) == 4

    nxt = run_monitoring(NEXT)
    assert _written(nxt, "progress") == 0
    assert _written(nxt, "delivery") == 0
    # The date moved once per (institution, agreement year), not once per fact.
    assert nxt.facts.written["dates"]["updated"] == FactDate.objects.count() >= 2
    assert _versions() == before

    tp = rules.time_progress(w.year1.start, w.year1.end, NEXT).quantize(Decimal("0.000001"))
    for fact in ProgressFact.objects.select_related("dated"):
        assert (fact.as_of, fact.time_progress) == (NEXT, tp)
    for fact in DeliveryFact.objects.select_related("dated"):
        assert fact.as_of == NEXT
    rows = api_client_for(w.pharmacist).get("/api/v1/facts/progress").json()["results"]
    assert [(r["as_of"], Decimal(r["time_progress"]), r["purchased_winning"]) for r in rows] == [
        (NEXT.isoformat(), tp, "100")
    ]
    rows = api_client_for(w.pharmacist).get("/api/v1/facts/delivery").json()["results"]
    assert [r["as_of"] for r in rows] == [NEXT.isoformat()]

    again = run_monitoring(NEXT)  # the same day again: nothing at all is written
    assert sum(_written(again, t) for t in ("progress", "delivery", "dates")) == 0


def test_a_fact_whose_quantity_changed_is_rewritten_alone(mworld):
    w = mworld
    _data(w)
    run_monitoring(AS_OF)
    ids = {f.institution_id: f.pk for f in ProgressFact.objects.all()}
    before = _versions()

    received(w.hospital, w.product, 50, D(2024, 6, 9), item=w.item)  # bought on the next day
    nxt = run_monitoring(NEXT)
    assert nxt.facts.written["progress"] == {"deleted": 0, "updated": 1, "inserted": 0}
    # Ordered after D − delivery_grace_days: not yet in the delivery rate, whose facts stay as they are.
    assert _written(nxt, "delivery") == 0
    after = _versions()
    assert {key for key in before if before[key] != after[key]} == {("progressfact", ids[w.hospital.pk])}
    facts = {f.institution_id: f for f in ProgressFact.objects.select_related("dated")}
    assert {i: f.pk for i, f in facts.items()} == ids
    assert facts[w.hospital.pk].purchased_winning == 150
    assert facts[w.other_hospital.pk].purchased_winning == 40
    assert {f.as_of for f in facts.values()} == {NEXT}


def test_realtime_drain_writes_only_what_changed(mworld):
    w = mworld
    _data(w)
    run_monitoring(AS_OF)
    ids = {f.institution_id: f.pk for f in ProgressFact.objects.all()}
    DirtyInstitution.objects.all().delete()
    before = _versions()

    # The hospital is marked but none of its quantities changed: nothing is written.
    DirtyInstitution.objects.create(institution_id=w.hospital.pk)
    assert realtime.drain(AS_OF)["institutions"] == 1
    assert _versions() == before

    received(w.hospital, w.product, 25, D(2024, 6, 3), item=w.item)  # the triggers mark the hospital
    assert realtime.drain(AS_OF)["institutions"] == 1
    after = _versions()
    changed = {key for key in before if before[key] != after[key]}
    assert ("progressfact", ids[w.hospital.pk]) in changed
    assert ("progressfact", ids[w.other_hospital.pk]) not in changed
    assert ProgressFact.objects.get(institution=w.hospital).purchased_winning == 125
    assert ProgressFact.objects.get(institution=w.hospital).as_of == AS_OF


def test_institution_leaving_the_scope_keeps_its_date(mworld):
    """A run for some institutions moves only their dates (as each of their facts' as_of used to move)."""
    w = mworld
    _data(w)
    run_monitoring(AS_OF)
    run_monitoring(NEXT, sla=False, institutions=frozenset({w.hospital.pk}))
    dates = dict(FactDate.objects.values_list("institution_id", "as_of"))
    assert dates[w.hospital.pk] == NEXT
    assert dates[w.other_hospital.pk] == AS_OF
    assert ProgressFact.objects.get(institution=w.other_hospital).as_of == AS_OF
