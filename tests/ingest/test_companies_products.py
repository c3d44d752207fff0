import pytest

from jicai.core.codes import make_uscc
from jicai.core.errors import ImportRejected
from jicai.registry.models import Company, Product
from tests.ingest.conftest import csv_bytes, errors_of, state

C_HEADER = "code,name,kind"
MAKER_A = make_uscc("91320000MA1000001")
MAKER_B = make_uscc("91320000MA1000002")
DIST = make_uscc("91320000MA1000003")
COMPANIES = csv_bytes(
    C_HEADER,
    f"{MAKER_A},江苏恒瑞医药,manufacturer",
    f"{MAKER_B},扬子江药业,both",
    f"{DIST},南京医药,distributor",
)


def test_companies_import_and_reimport(db, load):
    result = load("companies", COMPANIES)
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert dict(Company.objects.values_list("code", "kind")) == {
        MAKER_A: "manufacturer",
        MAKER_B: "both",
        DIST: "distributor",
    }
    before = state()
    again = load("companies", COMPANIES)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert state() == before
    changed = load("companies", csv_bytes(C_HEADER, f"{MAKER_A},江苏恒瑞医药股份有限公司,manufacturer"))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    assert Company.objects.get(code=MAKER_A).name == "江苏恒瑞医药股份有限公司"


def test_companies_bad_checksum_and_enum_write_nothing(db, load):
    wrong_check = MAKER_A[:17] + ("0" if MAKER_A[17] != "0" else "1")
    bad = csv_bytes(
        C_HEADER,
        f"{wrong_check},甲,manufacturer",
        f"{MAKER_B},乙,wholesaler",
        f"{DIST},,distributor",
        "91320000MA100000,丁,both",
    )
    with pytest.raises(ImportRejected) as exc:
        load("companies", bad)
    assert errors_of(exc.value) == [(2, "code"), (3, "kind"), (4, "name"), (5, "code")]
    assert "校验位" in exc.value.errors[0].reason
    assert Company.objects.count() == 0
    assert load("companies", COMPANIES).created == 3


P_HEADER = (
    "code,generic_name,dosage_form,spec,pack,unit,units_per_pack,manufacturer_code,category,"
    "consistency_passed,originator,dosage_form_group"
)


def products_csv(maker: str, *extra: str) -> bytes:
    return csv_bytes(
        P_HEADER,
        f"XC10AAA001A001010200001,阿托伐他汀钙,分散片,10mg,7片/盒,片,7,{maker},western,true,false,",
        f"XC10AAA001A001010200002,阿托伐他汀钙,胶囊剂,20mg,14粒/盒,粒,14,{maker},western,是,否,",
        f"Z0000000000000300001,复方丹参滴丸,滴丸剂,27mg,180丸/瓶,丸,180,{maker},chinese,false,false,口服常释剂型",
        f"C01010100100100100001000001,一次性使用输液器,医用耗材,普通型,1支/袋,支,1,{maker},consumable,false,false,",
        *extra,
    )


def test_products_import_derives_form_group_and_reimport_is_unchanged(world, load):
    maker = world.maker.code
    result = load("products", products_csv(maker))
    assert (result.rows, result.created, result.updated, result.unchanged) == (4, 4, 0, 0)
    got = {
        p.code: (p.dosage_form_group, p.units_per_pack, p.consistency_passed, p.originator, p.category)
        for p in Product.objects.filter(
            code__in=[
                "XC10AAA001A001010200001",
                "XC10AAA001A001010200002",
                "Z0000000000000300001",
                "C01010100100100100001000001",
            ]
        )
    }
    assert got == {
        "XC10AAA001A001010200001": ("口服常释剂型", 7, True, False, "western"),
        "XC10AAA001A001010200002": ("口服常释剂型", 14, True, False, "western"),
        "Z0000000000000300001": ("口服常释剂型", 180, False, False, "chinese"),
        "C01010100100100100001000001": ("医用耗材", 1, False, False, "consumable"),
    }
    before = state()
    again = load("products", products_csv(maker))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert state() == before


def test_products_changed_row_updates_only_that_row(world, load):
    maker = world.maker.code
    load("products", products_csv(maker))
    changed = products_csv(maker).decode().replace("7片/盒,片,7,", "10片/盒,片,10,").encode()
    result = load("products", changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 3)
    assert Product.objects.get(code="XC10AAA001A001010200001").units_per_pack == 10


def test_products_bad_rows_write_nothing(world, load):
    maker = world.maker.code
    before = state()
    bad = csv_bytes(
        P_HEADER,
        f"XC10AAA001A00101020000,短码,片剂,10mg,7片/盒,片,7,{maker},western,true,false,",  # 2 code length
        f"XC10AAA001A001010200003,甲,片剂,10mg,7片/盒,片,-7,{maker},western,true,false,",  # 3 negative
        f"XC10AAA001A001010200004,乙,片剂,10mg,7片/盒,片,七,{maker},western,true,false,",  # 4 non-numeric
        f"XC10AAA001A001010200005,丙,片剂,10mg,7片/盒,片,7,{maker},chinese,true,false,",  # 5 category vs prefix
        f"XC10AAA001A001010200006,丁,神奇剂,10mg,7片/盒,片,7,{maker},western,true,false,",  # 6 unknown form
        f"XC10AAA001A001010200007,戊,片剂,10mg,7片/盒,片,7,{make_uscc('91320000MA1999999')},western,true,false,",  # 7
        f"XC10AAA001A001010200008,己,片剂,10mg,7片/盒,片,7,{maker},western,maybe,false,",  # 8 bad boolean
        f"XC10AAA001A001010200009,庚,片剂,10mg,7片/盒,片,7,{world.distributor.code},western,true,false,",  # 9
        f"XC10AAA001A001010200010,辛,片剂,10mg,7片/盒,片,0,{maker},western,true,false,",  # 10 zero pack
    )
    with pytest.raises(ImportRejected) as exc:
        load("products", bad)
    assert errors_of(exc.value) == [
        (2, "code"),
        (3, "units_per_pack"),
        (4, "units_per_pack"),
        (5, "category"),
        (6, "dosage_form"),
        (7, "manufacturer_code"),
        (8, "consistency_passed"),
        (9, "manufacturer_code"),
        (10, "units_per_pack"),
    ]
    reasons = [e.reason for e in exc.value.errors]
    assert reasons[1] == "数量不能为负数" and reasons[2] == "不是有效数字：七"
    assert reasons[5].startswith("企业不存在：")
    assert state() == before
    assert load("products", products_csv(maker)).created == 4


def test_products_duplicate_code_in_file(world, load):
    maker = world.maker.code
    dup = products_csv(
        maker, f"XC10AAA001A001010200001,阿托伐他汀钙,片剂,10mg,7片/盒,片,7,{maker},western,true,false,"
    )
    with pytest.raises(ImportRejected) as exc:
        load("products", dup)
    assert errors_of(exc.value) == [(6, "code")]
