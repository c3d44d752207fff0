import datetime as dt
import subprocess
import sys
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jicai.batches.models import Batch, Item, ListingPrice, Winner
from jicai.core.errors import ImportRejected
from jicai.ingest.models import ImportJob
from jicai.ingest.readers import UnreadableFile
from jicai.registry.models import Company, Product, Region
from tests.ingest.conftest import csv_bytes, errors_of, state, xlsx_bytes

HEADER = "code,name,parent_code,level"


@pytest.mark.parametrize("bom", [True, False])
def test_csv_with_and_without_bom(db, load, bom):
    result = load("regions", csv_bytes(HEADER, "320000,江苏省,,province", bom=bom))
    assert result.created == 1 and Region.objects.get().name == "江苏省"


def test_csv_in_neither_utf8_nor_gb18030_is_unreadable_and_recorded(db, load):
    with pytest.raises(UnreadableFile):
        load("regions", "code,name,parent_code,level\n320000,江苏省,,province\n".encode("utf-16"))
    assert ImportJob.objects.get().status == "rejected" and Region.objects.count() == 0


def test_xlsx_numbers_dates_and_booleans_from_excel_cells(world, load):
    # Excel stores region codes and prices as numbers and dates as dates; the reader restores the text.
    batches = xlsx_bytes(
        ["code", "name", "kind", "cycle_start", "cycle_end"],
        [["JS-2024-1", "江苏省第一批", "provincial", dt.datetime(2024, 7, 1), dt.datetime(2025, 6, 30)]],
    )
    assert load("batches", batches, filename="b.xlsx").created == 1
    assert Batch.objects.get(code="JS-2024-1").cycle_end == dt.date(2025, 6, 30)
    prices = xlsx_bytes(
        ["product_code", "province_code", "price", "valid_from"],
        [["XC10AAA001A001010100001", 370000, 0.1234, dt.datetime(2024, 3, 1)]],
    )
    assert load("listing-prices", prices, filename="p.xlsx").created == 1
    assert ListingPrice.objects.get().price == Decimal("0.1234")
    products = xlsx_bytes(
        [
            "code",
            "generic_name",
            "dosage_form",
            "spec",
            "pack",
            "unit",
            "units_per_pack",
            "manufacturer_code",
            "category",
            "consistency_passed",
            "originator",
            "dosage_form_group",
        ],
        [
            [
                "XC10AAA001A001010100005",
                "阿托伐他汀钙",
                "片剂",
                "40mg",
                "7片/盒",
                "片",
                7,
                world.maker.code,
                "western",
                True,
                False,
                "",
            ]
        ],
    )
    assert load("products", products, filename="x.xlsx").created == 1
    made = Product.objects.get(code="XC10AAA001A001010100005")
    assert (made.units_per_pack, made.consistency_passed, made.dosage_form_group) == (7, True, "口服常释剂型")


def test_xlsx_error_rows_are_sheet_line_numbers(db, load):
    content = xlsx_bytes(
        HEADER.split(","), [["320000", "江苏省", "", "province"], ["320100", "南京市", "", "city"]]
    )
    with pytest.raises(ImportRejected) as exc:
        load("regions", content, filename="r.xlsx")
    assert errors_of(exc.value) == [(3, "parent_code")]


def test_dry_run_validates_fully_and_writes_nothing(db, load, audits):
    before = state()
    result = load(
        "regions", csv_bytes(HEADER, "320100,南京市,320000,city", "320000,江苏省,,province"), dry_run=True
    )
    assert (result.dry_run, result.created, result.updated, result.unchanged) == (True, 2, 0, 0)
    assert state() == before
    assert (
        ImportJob.objects.get().status == "dry_run"
        and audits.filter(action__startswith="import").count() == 0
    )
    with pytest.raises(ImportRejected):
        load("regions", csv_bytes(HEADER, "320100,南京市,329900,city"), dry_run=True)


def test_json_rows_use_the_one_based_index_and_report_missing_fields(db, load):
    rows = [
        {"code": "320000", "name": "江苏省", "parent_code": None, "level": "province"},
        {"code": "320100", "name": "南京市", "level": "city"},
        "not an object",
    ]
    with pytest.raises(ImportRejected) as exc:
        load("regions", rows)
    assert errors_of(exc.value) == [(2, "parent_code"), (3, "")]
    assert Region.objects.count() == 0


# ---- the command line ------------------------------------------------------------------------------


def test_cli_success_prints_counts_and_exits_zero(db, tmp_path):
    path = tmp_path / "regions.csv"
    path.write_bytes(csv_bytes(HEADER, "320000,江苏省,,province", "320100,南京市,320000,city"))
    out, err = StringIO(), StringIO()
    call_command("import_data", "regions", str(path), stdout=out, stderr=err)
    assert out.getvalue().startswith("已导入 regions：2 行（新增 2，更新 0，未变 0）")
    out = StringIO()
    call_command("import_data", "regions", str(path), "--dry-run", stdout=out, stderr=StringIO())
    assert out.getvalue().startswith("试运行 regions：2 行（新增 0，更新 0，未变 2）")


def test_cli_rejected_file_prints_every_row_error_and_exits_one(world, tmp_path):
    path = tmp_path / "products.csv"
    path.write_bytes(
        csv_bytes(
            "code,generic_name,dosage_form,spec,pack,unit,units_per_pack,manufacturer_code,category,"
            "consistency_passed,originator,dosage_form_group",
            f"XC10AAA001A001010200001,甲,片剂,10mg,,片,7,{world.maker.code},western,true,false,",
            "XC10AAA001A001010200002,乙,片剂,10mg,,片,7,91370000MA0000009X,western,true,false,",
            f"XC10AAA001A001010200003,丙,片剂,10mg,,片,-1,{world.maker.code},western,true,false,",
        )
    )
    before = Product.objects.count()
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_data", "products", str(path), stdout=StringIO(), stderr=err)
    assert exit_info.value.code == 1
    lines = [line for line in err.getvalue().splitlines() if line.startswith("第")]
    assert lines[0].startswith("第 3 行 [manufacturer_code] 统一社会信用代码")
    assert lines[1] == "第 4 行 [units_per_pack] 数量不能为负数"
    assert len(lines) == 2 and "共 2 处错误" in err.getvalue()
    assert Product.objects.count() == before


def test_cli_unknown_kind_and_missing_file_exit_two(db, tmp_path):
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_data", "hospitals", str(tmp_path / "x.csv"), stderr=err)
    assert exit_info.value.code == 2 and "未知的导入类型" in err.getvalue()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_data", "regions", str(tmp_path / "missing.csv"), stderr=StringIO())
    assert exit_info.value.code == 2


def test_jicai_console_script_runs_the_import(tmp_path):
    db_path = tmp_path / "cli.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{db_path}", "PATH": "/usr/bin:/bin", "JICAI_DATA_DIR": str(tmp_path)}
    jicai = [sys.executable, "-m", "jicai.cli"]
    subprocess.run([*jicai, "migrate", "-v", "0"], env=env, check=True, capture_output=True)
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes(HEADER, "320000,江苏省,,province"))
    ok = subprocess.run([*jicai, "import", "regions", str(path)], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "新增 1" in ok.stdout
    path.write_bytes(csv_bytes(HEADER, "320100,南京市,,city"))
    bad = subprocess.run([*jicai, "import", "regions", str(path)], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "第 2 行 [parent_code]" in bad.stderr


# ---- queries do not grow with the file -------------------------------------------------------------


def _winner_rows(n: int) -> list[dict]:
    return [
        {
            "batch_code": "GY-YD2023-1",
            "item_code": "GY7-001",
            "product_code": f"XC10AAA001A00101090{i:04d}",
            "province_code": "370000",
            "role": "backup2",
            "winning_price": "0.1",
            "item_factor": "",
        }
        for i in range(n)
    ]


def _count_queries(load, rows) -> int:
    with CaptureQueriesContext(connection) as ctx:
        load("winners", rows)
    return len(ctx.captured_queries)


def test_winners_query_count_does_not_depend_on_row_count(world, load):
    # 150 rather than 200 rows: SQLite caps one INSERT at 999 parameters (199 winners), which would add
    # an INSERT batch that has nothing to do with per-row lookups.
    Product.objects.bulk_create(
        [
            Product(
                code=f"XC10AAA001A00101090{i:04d}",
                generic_name="阿托伐他汀钙",
                dosage_form="片剂",
                dosage_form_group="口服常释剂型",
                spec="20mg",
                unit="片",
                manufacturer=world.maker,
                category="western",
            )
            for i in range(160)
        ]
    )
    small, large = _count_queries(load, _winner_rows(10)), None
    Winner.objects.filter(product__code__startswith="XC10AAA001A00101090").delete()
    from jicai.batches.models import ItemFactor

    ItemFactor.objects.all().delete()
    large = _count_queries(load, _winner_rows(150))
    assert Winner.objects.filter(role="backup2").count() == 150
    assert small == large
    # Re-importing unchanged rows reads and writes no more either.
    assert _count_queries(load, _winner_rows(150)) <= small


def test_products_query_count_does_not_depend_on_row_count(world, load):
    def rows(start, n):
        return [
            {
                "code": f"XC10AAA001A00101080{i:04d}",
                "generic_name": "甲",
                "dosage_form": "片剂",
                "spec": "1mg",
                "pack": "",
                "unit": "片",
                "units_per_pack": 7,
                "manufacturer_code": world.maker.code,
                "category": "western",
                "consistency_passed": "否",
                "originator": "否",
            }
            for i in range(start, start + n)
        ]

    with CaptureQueriesContext(connection) as few:
        load("products", rows(0, 5))
    with CaptureQueriesContext(connection) as many:
        load("products", rows(100, 60))
    assert len(few.captured_queries) == len(many.captured_queries)


def test_unchanged_reimport_writes_no_rows_at_all(world, load):
    content = csv_bytes("code,name,kind", f"{world.maker.code},{world.maker.name},manufacturer")
    with CaptureQueriesContext(connection) as ctx:
        result = load("companies", content)
    assert result.unchanged == 1
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith(("UPDATE", "INSERT")) and "registry_company" in q["sql"]
    ]
    assert writes == []
    assert Company.objects.get(pk=world.maker.pk).name == world.maker.name
    assert Item.objects.count() == 1
