"""Import kind `history` (batch_code,item_code,institution_code,history_qty): upserts ImportedHistory,
all-or-nothing with row/column errors, and a bureau only loads institutions of its subtree."""

import pytest

from jicai.core.errors import ImportRejected
from jicai.demand.models import ImportedHistory
from jicai.ingest.pipeline import run_import

pytestmark = pytest.mark.django_db

HEADER = "batch_code,item_code,institution_code,history_qty\n"


def test_history_rows_are_upserted(world):
    csv = HEADER + "GY-YD2023-1,GY7-001,H37100200001,1200\nGY-YD2023-1,GY7-001,H37100200002,0\n"
    result = run_import(
        kind="history",
        rows_or_file=csv.encode(),
        filename="h.csv",
        actor=world.province_bureau,
        source="test",
    )
    assert (result.created, result.updated) == (2, 0)
    again = run_import(
        kind="history",
        rows_or_file=(HEADER + "GY-YD2023-1,GY7-001,H37100200001,1300\n").encode(),
        filename="h.csv",
        actor=world.province_bureau,
        source="test",
    )
    assert (again.created, again.updated) == (0, 1)
    assert sorted(ImportedHistory.objects.values_list("institution__code", "qty")) == [
        ("H37100200001", 1300),
        ("H37100200002", 0),
    ]


def test_bad_rows_reject_the_whole_file(world):
    csv = HEADER + (
        "GY-YD2023-1,GY7-001,H37100200001,12\nGY-YD2023-1,GY7-001,H37100200002,-1\n"
        "GY-YD2023-1,NOPE,H37100200002,3\nGY-YD2023-1,GY7-001,H37020200001,3\n"
    )
    with pytest.raises(ImportRejected) as exc:
        run_import(
            kind="history",
            rows_or_file=csv.encode(),
            filename="h.csv",
            actor=world.province_bureau,
            source="test",
        )
    assert {(e.row, e.column) for e in exc.value.errors} == {(3, "history_qty"), (4, "item_code")}
    assert ImportedHistory.objects.count() == 0


def test_bureau_only_loads_its_subtree(world):
    csv = HEADER + "GY-YD2023-1,GY7-001,H37020200001,3\n"
    with pytest.raises(ImportRejected) as exc:
        run_import(
            kind="history",
            rows_or_file=csv.encode(),
            filename="h.csv",
            actor=world.city_bureau,
            source="test",
        )
    assert [(e.row, e.column) for e in exc.value.errors] == [(2, "institution_code")]
    assert ImportedHistory.objects.count() == 0


def test_non_bureau_cannot_import_history(world):
    from jicai.core.errors import NotFound

    with pytest.raises(NotFound):
        run_import(
            kind="history",
            rows_or_file=(HEADER + "GY-YD2023-1,GY7-001,H37100200001,1\n").encode(),
            filename="h.csv",
            actor=world.pharmacist,
            source="test",
        )
