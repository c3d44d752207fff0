import pytest

from jicai.core.errors import ImportRejected
from jicai.registry.models import Consortium, Institution
from tests.ingest.conftest import csv_bytes, errors_of, state

HEADER = "code,name,region_code,level,ownership,consortium_code"
# The member comes before its lead: the lead may be anywhere in the same file.
VALID = csv_bytes(
    HEADER,
    "H37100200011,竹岛卫生院,371002,grassroots,public,H37100200010",
    "H37100200010,环翠区中心医院,371002,secondary,public,H37100200010",
    "P37020200001,市南大药房,370202,grassroots,private,",
)


def test_institutions_import_creates_rows_and_consortium(world, load):
    result = load("institutions", VALID)
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    assert result.warnings == []
    lead = Institution.objects.get(code="H37100200010")
    consortium = Consortium.objects.get(code="H37100200010")
    assert (consortium.name, consortium.lead_id) == ("环翠区中心医院医共体", lead.pk)
    assert lead.consortium_id == consortium.pk
    member = Institution.objects.get(code="H37100200011")
    assert (member.consortium_id, member.region.code, member.level) == (consortium.pk, "371002", "grassroots")
    pharmacy = Institution.objects.get(code="P37020200001")
    assert (pharmacy.consortium_id, pharmacy.ownership) == (None, "private")


def test_institutions_reimport_changes_nothing(world, load):
    load("institutions", VALID)
    before = state()
    result = load("institutions", VALID)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert state() == before


def test_institutions_consortium_lead_from_database_joins_its_consortium(world, load):
    result = load(
        "institutions", csv_bytes(HEADER, "H37100200011,竹岛卫生院,371002,grassroots,public,H37100200001")
    )
    assert result.created == 1
    consortium = Consortium.objects.get(code="H37100200001")
    assert consortium.name == "威海市环翠区人民医院医共体" and consortium.lead == world.hospital
    world.hospital.refresh_from_db()
    assert world.hospital.consortium_id == consortium.pk
    assert Institution.objects.get(code="H37100200011").consortium_id == consortium.pk


def test_institutions_changed_name_updates_row_and_consortium_name(world, load):
    load("institutions", VALID)
    changed = VALID.decode().replace("环翠区中心医院,", "环翠区第一医院,").encode()
    result = load("institutions", changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert Consortium.objects.get(code="H37100200010").name == "环翠区第一医院医共体"


def test_institutions_region_mismatch_is_a_warning_not_an_error(world, load):
    result = load("institutions", csv_bytes(HEADER, "H37100200012,某诊所,370202,primary,public,"))
    assert result.created == 1
    assert [(w.row, w.column) for w in result.warnings] == [(2, "region_code")]
    assert "371002" in result.warnings[0].reason


def test_institutions_bad_rows_write_nothing(world, load):
    before = state()
    bad = csv_bytes(
        HEADER,
        "H3710020001,短码,371002,secondary,public,",  # 2 bad code
        "H37100200013,甲,379999,secondary,public,",  # 3 unknown region (code warning too)
        "H37100200014,乙,371002,quaternary,public,",  # 4 bad level
        "H37100200015,丙,371002,secondary,state,",  # 5 bad ownership
        "H37100200016,丁,371002,secondary,public,H37100299999",  # 6 unknown lead
        "H37100200017,戊,371002,secondary,public,H37100200016",  # 7 lead is member elsewhere
    )
    with pytest.raises(ImportRejected) as exc:
        load("institutions", bad)
    assert errors_of(exc.value) == [
        (2, "code"),
        (3, "region_code"),
        (4, "level"),
        (5, "ownership"),
        (6, "consortium_code"),
        (6, "consortium_code"),
    ]
    assert state() == before
    fixed = csv_bytes(
        HEADER, "H37100200013,甲,371002,secondary,public,", "H37100200016,丁,371002,secondary,public,"
    )
    assert load("institutions", fixed).created == 2


def test_institutions_missing_column(world, load):
    with pytest.raises(ImportRejected) as exc:
        load("institutions", csv_bytes("code,name,region_code,level", "H37100200013,甲,371002,secondary"))
    assert errors_of(exc.value) == [(1, "ownership")]
