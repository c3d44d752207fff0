"""Re-running monitoring replaces the scope's facts by writing only what changed (facts._merge_facts): a fact
found again keeps its row (same id) and gets the new values, a new subject gets a new row, a subject no
longer found loses its row."""

import datetime as dt

from jicai.monitoring.models import ProgressFact
from jicai.trade.models import OrderLine
from tests.monitoring.conftest import agreed, monitor, received

D = dt.date
AS_OF = D(2024, 6, 8)


def _facts():
    return {
        (f.institution_id, f.item_id): (f.pk, f.as_of, f.agreed_qty, f.purchased_winning)
        for f in ProgressFact.objects.all()
    }


def test_rerun_keeps_rows_updates_values_adds_and_removes_subjects(mworld):
    w = mworld
    agreed(w, w.hospital, 1000)
    received(w.hospital, w.product, 100, D(2024, 5, 1), item=w.item)
    other = received(w.other_hospital, w.product, 40, D(2024, 5, 2), item=w.item)
    monitor(AS_OF)
    first = _facts()
    hospital_id, _, _, bought = first[(w.hospital.pk, w.item.pk)]
    assert bought == 100
    assert (w.other_hospital.pk, w.item.pk) in first

    monitor(AS_OF)  # same data: same rows, same values
    assert _facts() == first

    received(w.hospital, w.product, 50, D(2024, 5, 3), item=w.item)
    OrderLine.objects.filter(pk=other.pk).delete()  # the other hospital no longer bought anything
    monitor(AS_OF + dt.timedelta(days=1))
    after = _facts()
    assert after[(w.hospital.pk, w.item.pk)] == (hospital_id, AS_OF + dt.timedelta(days=1), 1000, 150)
    assert (w.other_hospital.pk, w.item.pk) not in after
    assert set(after) == {(w.hospital.pk, w.item.pk)}
