"""`agreed-volumes` import (SPEC §10): exact columns, empty agreed_qty computed, all-or-nothing, idempotent."""

import pytest

from jicai.agreements import actions
from jicai.agreements.models import AgreedVolume
from jicai.core.errors import ImportRejected
from jicai.ingest.pipeline import run_import
from jicai.ingest.schemas import SCHEMAS

HEADER = "batch_code,agreement_year,institution_code,item_code,reported_qty,agreed_qty"


def load(actor, *lines, **kw):
    content = "\n".join([HEADER, *lines]).encode()
    return run_import(
        kind="agreed-volumes", rows_or_file=content, filename="agreed.csv", actor=actor, source="cli", **kw
    )


def stored(world):
    return {
        (v.institution.code, v.item.item_code): (v.reported_qty, v.agreed_qty, v.source, v.supplier_id)
        for v in AgreedVolume.objects.select_related("institution", "item")
    }


def test_columns_are_exactly_the_spec_columns():
    assert SCHEMAS["agreed-volumes"].column_names() == HEADER.split(",")


def test_empty_agreed_qty_is_computed_by_the_ratio_rule(world, av):
    result = load(
        world.province_bureau,
        f"GY-YD2023-1,1,{world.hospital.code},T-001,101,",
        f"GY-YD2023-1,1,{world.hospital.code},T-003,15,",
        f"GY-YD2023-1,1,{world.clinic.code},T-001,3,",
        f"GY-YD2023-1,1,{world.other_hospital.code},T-005,10,9",
    )
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    assert stored(world) == {
        (world.hospital.code, "T-001"): (101, 51, "imported", world.maker.pk),  # 50.5 → 51
        (world.hospital.code, "T-003"): (15, 11, "imported", world.maker.pk),  # 10.5 → 11
        (world.clinic.code, "T-001"): (3, 2, "imported", world.maker.pk),  # 1.5 → 2
        (world.other_hospital.code, "T-005"): (10, 9, "imported", world.maker.pk),  # given: kept as sent
    }


def test_resending_the_same_file_is_unchanged_and_a_change_updates(world, av):
    line = f"GY-YD2023-1,1,{world.hospital.code},T-002,100,"
    load(world.province_bureau, line)
    again = load(world.province_bureau, line)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    changed = load(world.province_bureau, f"GY-YD2023-1,1,{world.hospital.code},T-002,100,55")
    assert (changed.created, changed.updated) == (0, 1)
    assert stored(world)[(world.hospital.code, "T-002")][:2] == (100, 55)


def test_bad_rows_are_all_reported_and_nothing_is_written(world, av):
    load(world.province_bureau, f"GY-YD2023-1,1,{world.hospital.code},T-001,10,")
    before = stored(world)
    with pytest.raises(ImportRejected) as exc:
        load(
            world.province_bureau,
            f"GY-YD2023-1,1,{world.hospital.code},T-001,200,",  # fine on its own
            "GY-YD2023-1,1,H37100299999,T-002,10,",  # unknown institution
            f"GY-YD2023-1,1,{world.hospital.code},T-003,-5,",  # negative
            f"GY-YD2023-1,1,{world.hospital.code},T-005,十,",  # non-numeric
            f"GY-YD2023-1,1,{world.clinic.code},T-005,4,x",  # non-numeric agreed_qty
            f"GY-YD2023-1,9,{world.clinic.code},T-001,4,",  # no such agreement year
        )
    errors = {(e.row, e.column) for e in exc.value.errors}
    assert errors == {
        (3, "institution_code"),
        (4, "reported_qty"),
        (5, "reported_qty"),
        (6, "agreed_qty"),
        (7, "agreement_year"),
    }
    assert stored(world) == before


def test_an_import_keeps_a_bureau_adjustment_and_warns(world, av):
    load(world.province_bureau, f"GY-YD2023-1,1,{world.hospital.code},T-001,101,")
    row = AgreedVolume.objects.get()
    actions.adjust_agreed_volume(actor=world.county_bureau, volume_id=row.pk, agreed_qty=80, reason="扩容")
    result = load(world.province_bureau, f"GY-YD2023-1,1,{world.hospital.code},T-001,120,")
    row.refresh_from_db()
    assert (row.reported_qty, row.agreed_qty, row.adjusted) == (120, 80, True)
    assert [w.column for w in result.warnings] == ["agreed_qty"]


def test_compute_leaves_imported_rows_alone(world, reports):
    load(world.province_bureau, f"GY-YD2023-1,1,{world.hospital.code},T-001,101,40")
    result = actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    assert stored(world)[(world.hospital.code, "T-001")][:3] == (101, 40, "imported")
    assert result.kept == 1 and result.created == 5


def test_institutions_cannot_import_agreed_volumes(world, av):
    from jicai.core.errors import NotFound

    with pytest.raises(NotFound):
        load(world.pharmacist, f"GY-YD2023-1,1,{world.hospital.code},T-001,101,")
    assert not AgreedVolume.objects.exists()


def test_a_bureau_imports_only_institutions_in_its_subtree(world, av):
    with pytest.raises(ImportRejected) as exc:
        load(world.other_city_bureau, f"GY-YD2023-1,1,{world.hospital.code},T-001,101,")
    assert [(e.row, e.column) for e in exc.value.errors] == [(2, "institution_code")]
    assert not AgreedVolume.objects.exists()
