import datetime as dt
from decimal import Decimal

import pytest

from jicai.batches.models import AgreementYear, Batch, Item, ItemFactor, ListingPrice, Substitute, Winner
from jicai.core.errors import ImportRejected
from tests.factories import product
from tests.ingest.conftest import csv_bytes, errors_of, state

B_HEADER = "code,name,kind,cycle_start,cycle_end"
BATCHES = csv_bytes(
    B_HEADER,
    "JS-2024-1,江苏省第一批,provincial,2024-07-01,2026-06-30",
    "LM-2025-1,十省联盟,alliance,2025-01-01,2025-12-31",
)


def test_batches_import_creates_agreement_years_and_reimport_is_unchanged(db, load):
    result = load("batches", BATCHES)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    years = list(AgreementYear.objects.filter(batch__code="JS-2024-1").values_list("number", "start", "end"))
    assert years == [
        (1, dt.date(2024, 7, 1), dt.date(2025, 6, 30)),
        (2, dt.date(2025, 7, 1), dt.date(2026, 6, 30)),
    ]
    before = state()
    again = load("batches", BATCHES)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert state() == before


def test_batches_changed_cycle_resyncs_agreement_years(db, load):
    load("batches", BATCHES)
    result = load("batches", csv_bytes(B_HEADER, "JS-2024-1,江苏省第一批,provincial,2024-07-01,2027-06-30"))
    assert result.updated == 1
    assert AgreementYear.objects.filter(batch__code="JS-2024-1").count() == 3


def test_batches_bad_rows_write_nothing(db, load):
    bad = csv_bytes(
        B_HEADER,
        "JS 2024,有空格,provincial,2024-07-01,2026-06-30",  # 2 bad code
        "JS-2024-2,乙,county,2024-07-01,2026-06-30",  # 3 bad enum
        "JS-2024-3,丙,provincial,2024/07/01,2026-06-30",  # 4 bad date
        "JS-2024-4,丁,provincial,2024-07-01,2024-02-30",  # 5 impossible date
        "JS-2024-5,戊,provincial,2024-07-01,2024-06-30",
    )  # 6 end before start
    with pytest.raises(ImportRejected) as exc:
        load("batches", bad)
    assert errors_of(exc.value) == [
        (2, "code"),
        (3, "kind"),
        (4, "cycle_start"),
        (5, "cycle_end"),
        (6, "cycle_end"),
    ]
    assert Batch.objects.count() == 0 and AgreementYear.objects.count() == 0
    assert load("batches", BATCHES).created == 2


I_HEADER = "batch_code,item_code,generic_name,dosage_form_group"


def test_items_import_reimport_update_and_errors(world, load):
    good = csv_bytes(
        I_HEADER, "GY-YD2023-1,GY7-002,氨氯地平,口服常释剂型", "GY-YD2023-1,GY7-003,头孢曲松钠,注射剂"
    )
    result = load("items", good)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert Item.objects.get(item_code="GY7-003").dosage_form_group == "注射剂"
    before = state()
    assert (load("items", good).unchanged, state()) == (2, before)
    changed = load("items", csv_bytes(I_HEADER, "GY-YD2023-1,GY7-002,苯磺酸氨氯地平,口服常释剂型"))
    assert (changed.created, changed.updated) == (0, 1)
    before = state()
    bad = csv_bytes(
        I_HEADER,
        "NOPE-1,GY7-004,甲,注射剂",
        "GY-YD2023-1,GY7-005,乙,神奇剂型",
        "GY-YD2023-1,,丙,注射剂",
        "GY-YD2023-1,GY7-002,丁,注射剂",
        "GY-YD2023-1,GY7-002,戊,注射剂",
    )
    with pytest.raises(ImportRejected) as exc:
        load("items", bad)
    assert errors_of(exc.value) == [
        (2, "batch_code"),
        (3, "dosage_form_group"),
        (4, "item_code"),
        (6, "item_code"),
    ]
    assert state() == before


def test_items_batch_option_fills_empty_batch_code_and_refuses_a_different_one(world, load):
    rows = csv_bytes(I_HEADER, ",GY7-010,甲,注射剂", "GY-YD2023-1,GY7-011,乙,注射剂")
    assert load("items", rows, batch_code="GY-YD2023-1").created == 2
    assert Item.objects.filter(batch=world.batch, item_code__in=["GY7-010", "GY7-011"]).count() == 2
    with pytest.raises(ImportRejected) as exc:
        load("items", csv_bytes(I_HEADER, "OTHER-1,GY7-012,丙,注射剂"), batch_code="GY-YD2023-1")
    assert errors_of(exc.value) == [(2, "batch_code")]
    # With --batch the column itself may be left out.
    assert (
        load(
            "items",
            csv_bytes("item_code,generic_name,dosage_form_group", "GY7-013,丁,注射剂"),
            batch_code="GY-YD2023-1",
        ).created
        == 1
    )


W_HEADER = "batch_code,item_code,product_code,province_code,role,winning_price,item_factor"
P1, P2 = "XC10AAA001A001010100001", "XC10AAA001A001010100002"


@pytest.fixture
def jiangsu(world, load):
    load(
        "regions",
        csv_bytes("code,name,parent_code,level", "320000,江苏省,,province", "320100,南京市,320000,city"),
    )
    return world


def winners_csv(*extra):
    return csv_bytes(
        W_HEADER,
        f"GY-YD2023-1,GY7-001,{P1},370000,main,0.12,",
        f"GY-YD2023-1,GY7-001,{P2},370000,backup,0.1350,0.5",
        f"GY-YD2023-1,GY7-001,{P2},320000,main,0.1350,0.5",
        *extra,
    )


def test_winners_import_upserts_winner_and_item_factor(jiangsu, load):
    w = jiangsu
    result = load("winners", winners_csv())
    # The world already holds P1's main role in 370000 at 0.1200 but no ItemFactor row for it.
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 2, 1, 0)
    got = {
        (x.product.code, x.province.code): (x.role, x.winning_price)
        for x in Winner.objects.filter(item=w.item)
    }
    assert got == {
        (P1, "370000"): ("main", Decimal("0.1200")),
        (P2, "370000"): ("backup", Decimal("0.1350")),
        (P2, "320000"): ("main", Decimal("0.1350")),
    }
    factors = {f.product.code: f.factor for f in ItemFactor.objects.filter(item=w.item)}
    assert factors == {P1: Decimal("1"), P2: Decimal("0.5")}
    before = state()
    again = load("winners", winners_csv())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert state() == before


def test_winners_changed_price_or_factor_counts_as_update(jiangsu, load):
    load("winners", winners_csv())
    changed = winners_csv().decode().replace(f"{P1},370000,main,0.12,", f"{P1},370000,main,0.11,2").encode()
    result = load("winners", changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert Winner.objects.get(product__code=P1).winning_price == Decimal("0.1100")
    assert ItemFactor.objects.get(product__code=P1).factor == Decimal(2)


def test_winners_bad_rows_write_nothing(jiangsu, load):
    w = jiangsu
    product("XC10AAA002A001010100009", w.maker, generic_name="瑞舒伐他汀钙")
    before = state()
    bad = csv_bytes(
        W_HEADER,
        f"GY-YD2023-1,GY7-001,{P1},320100,main,0.12,",  # 2 city, not a province
        f"GY-YD2023-1,GY7-001,{P1},370000,main,-0.12,",  # 3 negative price
        f"GY-YD2023-1,GY7-001,{P1},370000,main,abc,",  # 4 non-numeric price
        f"GY-YD2023-1,GY7-001,{P1},370000,primary,0.12,",  # 5 bad role
        f"GY-YD2023-1,GY7-001,{P1},370000,main,0.12345,",  # 6 five decimals
        f"GY-YD2023-1,GY7-001,{P1},370000,main,0.12,0",  # 7 factor must be > 0
        "GY-YD2023-1,GY7-001,XC10AAA002A001010100099,370000,main,0.12,",  # 8 unknown product
        "GY-YD2023-1,GY7-001,XC10AAA002A001010100009,370000,main,0.12,",  # 9 product of another generic
        f"GY-YD2023-1,GY7-999,{P1},370000,main,0.12,",  # 10 unknown item
        f"GY-YD2023-1,GY7-001,{P1},350000,main,0.12,",  # 11 unknown province
        f"GY-YD2023-1,GY7-001,{P2},370000,backup,0.13,0.5",  # 12 ok
        f"GY-YD2023-1,GY7-001,{P2},320000,backup,0.13,0.25",  # 13 factor disagrees with row 12
    )
    with pytest.raises(ImportRejected) as exc:
        load("winners", bad)
    assert errors_of(exc.value) == [
        (2, "province_code"),
        (3, "winning_price"),
        (4, "winning_price"),
        (5, "role"),
        (6, "winning_price"),
        (7, "item_factor"),
        (8, "product_code"),
        (9, "product_code"),
        (10, "item_code"),
        (11, "province_code"),
        (13, "item_factor"),
    ]
    assert state() == before
    assert load("winners", winners_csv()).rows == 3


S_HEADER = "batch_code,item_code,product_code,degree"


def test_substitutes_import_reimport_and_errors(world, load):
    product("XC10AAA002A001010100009", world.maker, generic_name="瑞舒伐他汀钙")
    good = csv_bytes(S_HEADER, "GY-YD2023-1,GY7-001,XC10AAA002A001010100009,most")
    assert load("substitutes", good).created == 1
    assert Substitute.objects.get().degree == "most"
    before = state()
    assert (load("substitutes", good).unchanged, state()) == (1, before)
    changed = load("substitutes", csv_bytes(S_HEADER, "GY-YD2023-1,GY7-001,XC10AAA002A001010100009,full"))
    assert (changed.updated, Substitute.objects.get().degree) == (1, "full")
    before = state()
    bad = csv_bytes(
        S_HEADER,
        f"GY-YD2023-1,GY7-001,{P1},full",  # 2 product of the item itself
        "GY-YD2023-1,GY7-001,XC10AAA002A001010100009,some",  # 3 bad degree
        "GY-YD2023-1,GY7-001,X123,full",
    )  # 4 bad code
    with pytest.raises(ImportRejected) as exc:
        load("substitutes", bad)
    assert errors_of(exc.value) == [(2, "product_code"), (3, "degree"), (4, "product_code")]
    assert "本身" in exc.value.errors[0].reason
    assert state() == before


L_HEADER = "product_code,province_code,price,valid_from"


def test_listing_prices_import_reimport_and_errors(world, load):
    good = csv_bytes(
        L_HEADER,
        f"{P1},370000,0.12,2024-03-01",
        f"{P1},370000,0.1150,2025-03-01",
        f"{P2},370000,0.2000,2024-03-01",
    )
    result = load("listing-prices", good)
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert ListingPrice.objects.get(product=world.product, valid_from=dt.date(2025, 3, 1)).price == Decimal(
        "0.1150"
    )
    before = state()
    again = load("listing-prices", good)
    assert (again.created, again.updated, again.unchanged, state()) == (0, 0, 3, before)
    changed = load("listing-prices", csv_bytes(L_HEADER, f"{P2},370000,0.19,2024-03-01"))
    assert (changed.updated, ListingPrice.objects.get(product=world.other_product).price) == (
        1,
        Decimal("0.1900"),
    )
    before = state()
    bad = csv_bytes(
        L_HEADER,
        f"{P1},370000,-1,2024-03-01",
        f"{P1},370000,x,2024-03-01",
        f"{P1},370000,1,20240301",
        f"{P1},371000,1,2024-03-01",
        "XC10AAA002A001010100099,370000,1,2024-03-01",
        f"{P2},370000,0.2,2024-03-01",
        f"{P2},370000,0.3,2024-03-01",
    )
    with pytest.raises(ImportRejected) as exc:
        load("listing-prices", bad)
    assert errors_of(exc.value) == [
        (2, "price"),
        (3, "price"),
        (4, "valid_from"),
        (5, "province_code"),
        (6, "product_code"),
        (8, "valid_from"),
    ]
    assert state() == before
