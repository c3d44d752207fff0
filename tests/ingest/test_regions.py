import pytest

from jicai.core.errors import ImportRejected
from jicai.ingest.models import ImportJob
from jicai.registry.models import Region
from tests.ingest.conftest import csv_bytes, errors_of, state

HEADER = "code,name,parent_code,level"
# Children before parents on purpose: parents in the same file may come in any order.
VALID = csv_bytes(
    HEADER,
    "320102,玄武区,320100,county",
    "320100,南京市,320000,city",
    "320000,江苏省,,province",
    "429004,仙桃市,420000,county",
    "420000,湖北省,,province",
)


def test_regions_import_creates_tree_with_paths_in_any_order(load, audits):
    result = load("regions", VALID)
    assert (result.rows, result.created, result.updated, result.unchanged) == (5, 5, 0, 0)
    got = {
        r.code: (r.name, r.level, r.parent.code if r.parent else None, r.path) for r in Region.objects.all()
    }
    assert got == {
        "320000": ("江苏省", "province", None, "320000/"),
        "320100": ("南京市", "city", "320000", "320000/320100/"),
        "320102": ("玄武区", "county", "320100", "320000/320100/320102/"),
        "420000": ("湖北省", "province", None, "420000/"),
        "429004": ("仙桃市", "county", "420000", "420000/429004/"),
    }
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.source, job.filename) == ("done", 5, "cli", "data.csv")
    log = audits.get(action="import_regions")
    assert log.changes["created"] == 5 and log.changes["sha256"] == job.sha256 and len(job.sha256) == 64


def test_regions_reimport_same_file_changes_nothing(load):
    load("regions", VALID)
    before = state()
    result = load("regions", VALID)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 5)
    assert state() == before


def test_regions_parent_in_database_and_changed_name_updates(world, load):
    result = load(
        "regions", csv_bytes(HEADER, "371000,威海市（新）,370000,city", "371003,文登区,371000,county")
    )
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    assert Region.objects.get(code="371000").name == "威海市（新）"
    assert Region.objects.get(code="371003").path == "370000/371000/371003/"


def test_regions_moving_a_city_rewrites_paths_of_its_stored_subtree(world, load):
    load("regions", csv_bytes(HEADER, "320000,江苏省,,province"))
    # 371000 moved under another province is refused (different province prefix) ...
    with pytest.raises(ImportRejected) as exc:
        load("regions", csv_bytes(HEADER, "371000,威海市,320000,city"))
    assert errors_of(exc.value) == [(2, "parent_code")]
    # ... but a county re-parented to another city of the same province carries nothing along.
    result = load("regions", csv_bytes(HEADER, "371002,环翠区,370200,county"))
    assert result.updated == 1
    assert Region.objects.get(code="371002").path == "370000/370200/371002/"


def test_regions_bad_rows_write_nothing_and_name_row_and_column(world, load):
    before = state()
    bad = csv_bytes(
        HEADER,
        "32010,短代码,320100,county",  # 2 bad code
        "320100,南京市,320000,town",  # 3 bad enum
        "320200,无锡市,,city",  # 4 missing parent
        "320300,徐州市,330000,city",  # 5 unknown parent (and other province)
        "320400,常州市,320000,county",  # 6 level does not match code shape
        "320581,常熟市,320500,county",  # 7 unknown parent city
        "320000,江苏省,,province",
    )
    with pytest.raises(ImportRejected) as exc:
        load("regions", bad)
    assert errors_of(exc.value) == [
        (2, "code"),
        (3, "level"),
        (4, "parent_code"),
        (5, "parent_code"),
        (6, "level"),
        (7, "parent_code"),
    ]
    assert "不存在" in exc.value.errors[-1].reason
    assert state() == before
    job = ImportJob.objects.get()
    assert job.status == "rejected" and len(job.errors) == 6 and job.errors[0]["row"] == 2
    fixed = csv_bytes(
        HEADER, "320100,南京市,320000,city", "320200,无锡市,320000,city", "320000,江苏省,,province"
    )
    assert load("regions", fixed).created == 3


def test_regions_missing_column_is_reported_on_header_row(db, load):
    with pytest.raises(ImportRejected) as exc:
        load("regions", csv_bytes("code,name,parent_code", "320000,江苏省,"))
    assert errors_of(exc.value) == [(1, "level")]
    assert Region.objects.count() == 0


def test_regions_duplicate_code_in_one_file(db, load):
    with pytest.raises(ImportRejected) as exc:
        load("regions", csv_bytes(HEADER, "320000,江苏省,,province", "320000,江苏,,province"))
    assert errors_of(exc.value) == [(3, "code")]
    assert "第 2 行重复" in exc.value.errors[0].reason
    assert Region.objects.count() == 0


def test_regions_chinese_headers_accepted(db, load):
    result = load("regions", csv_bytes("行政区划代码,名称,上级代码,级别", "320000,江苏省,,province"))
    assert result.created == 1
