"""Files as Chinese offices really send them (issue 15): GBK/GB18030 CSV from Excel's default "CSV (逗号分隔)",
files in neither encoding refused with a message naming what was tried, ragged rows named as row errors
and XLSX workbooks with several filled sheets refused — through the pipeline, the CLI, the upload page
and the bulk API."""

import datetime as dt
import io
import subprocess
import sys
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from jicai.batches.models import ListingPrice
from jicai.core.errors import ImportRejected
from jicai.ingest.models import ImportJob
from jicai.ingest.pipeline import SCHEMAS, run_import
from jicai.ingest.readers import NOT_DECODABLE, UnreadableFile
from jicai.registry.models import Region
from jicai.trade.models import Order, OrderLine
from tests.ingest.conftest import state
from tests.ingest.test_trade_imports import ORDER_HEADER, trade_state

REGION_HEADER = "code,name,parent_code,level"
D = dt.date


@pytest.fixture
def trade_world(world):
    """The world with the listing prices order lines are checked against (as in test_trade_imports)."""
    w = world
    for product, price in ((w.product, "0.1200"), (w.other_product, "0.3000")):
        ListingPrice.objects.create(
            product=product, province=w.province, price=Decimal(price), valid_from=D(2024, 3, 1)
        )
    w.m, w.d, w.p, w.op = w.maker.code, w.distributor.code, w.product.code, w.other_product.code
    return w


# Real Chinese names, several outside GB2312 would need GBK (e.g. 喆, 祎 are GBK-only characters).
GBK_REGIONS = (
    "code,name,parent_code,level\r\n"
    "330000,浙江省,,province\r\n"
    "330100,杭州市,330000,city\r\n"
    "330106,西湖区（喆祎测试）,330100,county\r\n"
).encode("gbk")


def test_gbk_csv_imports_with_its_chinese_names(db, load):
    result = load("regions", GBK_REGIONS, filename="regions.csv")
    assert (result.rows, result.created) == (3, 3)
    assert list(Region.objects.order_by("code").values_list("code", "name")) == [
        ("330000", "浙江省"),
        ("330100", "杭州市"),
        ("330106", "西湖区（喆祎测试）"),
    ]


def test_gb18030_four_byte_characters_are_read(db, load):
    # 𠀀 (U+20000) exists only in GB18030's four-byte range, never in GBK.
    content = f"{REGION_HEADER}\n330000,浙江𠀀省,,province\n".encode("gb18030")
    load("regions", content)
    assert Region.objects.get().name == "浙江𠀀省"


def test_utf8_stays_first_so_a_utf8_file_is_never_read_as_gb18030(db, load):
    # These UTF-8 bytes also decode as (wrong) GB18030 text; UTF-8 must win.
    content = f"{REGION_HEADER}\n330000,浙江省,,province\n".encode()
    load("regions", content)
    assert Region.objects.get().name == "浙江省"


def test_file_in_neither_encoding_is_refused_naming_the_encodings_tried(db, load):
    utf16 = f"{REGION_HEADER}\n330000,浙江省,,province\n".encode("utf-16")
    with pytest.raises(UnreadableFile) as info:
        load("regions", utf16)
    assert info.value.message == NOT_DECODABLE
    assert "UTF-8" in NOT_DECODABLE and "GB18030/GBK" in NOT_DECODABLE
    job = ImportJob.objects.get()
    assert job.status == "rejected" and job.errors == [{"row": 0, "column": "", "reason": NOT_DECODABLE}]
    assert Region.objects.count() == 0


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_every_kind_reads_a_gbk_header_with_chinese_column_names(db, kind):
    """Every kind goes through the same two CSV readers (whole-file and streamed); a GBK header made of
    the Chinese column labels must be understood (a mis-decoded one would give "缺少必需的列")."""
    schema = SCHEMAS[kind]
    labels = [c.label or c.name for c in schema.columns]
    content = (",".join(labels) + "\r\n").encode("gbk")
    result = run_import(
        kind=kind, rows_or_file=content, filename=f"{kind}.csv", actor=None, source="cli", dry_run=True
    )
    assert result.rows == 0 and result.warnings == []


# ---- ragged rows -----------------------------------------------------------------------------------


def test_rows_with_more_or_fewer_cells_than_the_header_are_row_errors(db, load):
    content = (
        f"{REGION_HEADER}\n"
        "330000,浙江省,,province\n"
        "330100,杭州市,330000\n"  # 3 cells: a lost column, formerly padded with ""
        "330200,宁波市,330000,city,多出来的\n"  # 5 cells: formerly cut silently
        "330300,温州市,330000,city,\n"  # an empty trailing cell loses nothing
    ).encode()
    before = state()
    with pytest.raises(ImportRejected) as info:
        load("regions", content)
    assert [(e.row, e.column, e.reason) for e in info.value.errors] == [
        (3, "", "本行有 3 个单元格，表头有 4 列：请检查是否多了或少了逗号/单元格"),
        (4, "", "本行有 5 个单元格，表头有 4 列：请检查是否多了或少了逗号/单元格"),
    ]
    assert state() == before


def test_ragged_row_in_a_streamed_orders_file_is_named_and_nothing_written(trade_world):
    w = trade_world
    content = (
        f"{ORDER_HEADER}\n"
        f"PO1,1,H37100200001,{w.m},{w.d},{w.p},1000,0.1200,2025-02-01,open\n"
        f"PO1,2,H37100200001,{w.m},{w.d},{w.op},200,0.3000,2025-02-01\n"
    ).encode()
    before = trade_state()
    with pytest.raises(ImportRejected) as info:
        run_import(kind="orders", rows_or_file=content, filename="orders.csv", actor=None, source="cli")
    assert [(e.row, e.reason) for e in info.value.errors] == [
        (3, "本行有 9 个单元格，表头有 10 列：请检查是否多了或少了逗号/单元格")
    ]
    assert trade_state() == before


def test_gbk_orders_file_streams_in(trade_world):
    w = trade_world
    content = (
        f"{ORDER_HEADER}\r\n"
        f"PO1,1,H37100200001,{w.m},{w.d},{w.p},1000,0.1200,2025-02-01,open\r\n"
        f"PO1,2,H37100200001,{w.m},{w.d},{w.op},200,0.3000,2025-02-01,open\r\n"
    ).encode("gbk")
    result = run_import(kind="orders", rows_or_file=content, filename="订单.csv", actor=None, source="cli")
    assert (result.rows, result.created) == (2, 2)  # two order lines
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2


def _two_sheet_workbook(second_filled: bool) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    first = workbook.add_worksheet("地区")
    first.write_row(0, 0, REGION_HEADER.split(","))
    first.write_row(1, 0, ["330000", "浙江省", "", "province"])
    second = workbook.add_worksheet("Sheet2")
    if second_filled:
        second.write_row(0, 0, REGION_HEADER.split(","))
        second.write_row(1, 0, ["320000", "江苏省", "", "province"])
    workbook.close()
    return buffer.getvalue()


def test_xlsx_with_two_filled_sheets_is_refused_naming_them(db, load):
    with pytest.raises(UnreadableFile) as info:
        load("regions", _two_sheet_workbook(True), filename="regions.xlsx")
    assert info.value.message == (
        "XLSX 文件有 2 个含数据的工作表（地区、Sheet2）：请只保留要导入的一个工作表，或分别导入"
    )
    assert Region.objects.count() == 0 and ImportJob.objects.get().status == "rejected"


def test_xlsx_with_an_empty_extra_sheet_imports_the_filled_one(db, load):
    result = load("regions", _two_sheet_workbook(False), filename="regions.xlsx")
    assert result.created == 1 and Region.objects.get().name == "浙江省"


def test_xlsx_value_beyond_the_header_is_a_row_error(db, load):
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, REGION_HEADER.split(","))
    sheet.write_row(1, 0, ["330000", "浙江省", "", "province", "多余"])
    sheet.write_row(2, 0, ["330100", "杭州市", "330000"])  # short row in a sheet: the cell is just empty
    workbook.close()
    with pytest.raises(ImportRejected) as info:
        load("regions", buffer.getvalue(), filename="regions.xlsx")
    errors = [(e.row, e.column) for e in info.value.errors]
    assert errors == [(2, "")]  # row 3 only leaves the optional level empty: not ragged in a sheet
    assert info.value.errors[0].reason.startswith("本行有 5 个单元格，表头有 4 列")


# ---- the three entry points ------------------------------------------------------------------------


def test_cli_imports_a_gbk_file_and_refuses_a_utf16_one(db, tmp_path):
    path = tmp_path / "regions.csv"
    path.write_bytes(GBK_REGIONS)
    out = StringIO()
    call_command("import_data", "regions", str(path), stdout=out, stderr=StringIO())
    assert out.getvalue().startswith("已导入 regions：3 行（新增 3，更新 0，未变 0）")
    path.write_bytes("code,name\n1,浙江\n".encode("utf-16"))
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_data", "regions", str(path), stdout=StringIO(), stderr=err)
    assert exit_info.value.code != 0 and NOT_DECODABLE in err.getvalue()


def test_console_script_imports_a_gbk_file(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "PATH": "/usr/bin:/bin",
        "JICAI_DATA_DIR": str(tmp_path),
    }
    jicai = [sys.executable, "-m", "jicai.cli"]
    subprocess.run([*jicai, "migrate", "-v", "0"], env=env, check=True, capture_output=True)
    path = tmp_path / "地区.csv"
    path.write_bytes(GBK_REGIONS)
    ok = subprocess.run([*jicai, "import", "regions", str(path)], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "新增 3" in ok.stdout


def test_web_upload_of_a_gbk_file_shows_its_names(world, client_for):
    client = client_for(world.admin)
    response = client.post(
        "/imports/", {"kind": "regions", "file": SimpleUploadedFile("regions.csv", GBK_REGIONS)}
    )
    assert response.status_code == 200 and "导入成功" in response.content.decode()
    assert Region.objects.get(code="330106").name == "西湖区（喆祎测试）"


def test_web_upload_of_a_two_sheet_workbook_shows_the_refusal(world, client_for):
    before = state()
    response = client_for(world.admin).post(
        "/imports/", {"kind": "regions", "file": SimpleUploadedFile("r.xlsx", _two_sheet_workbook(True))}
    )
    assert "XLSX 文件有 2 个含数据的工作表（地区、Sheet2）" in response.content.decode()
    assert state() == before


def test_bulk_api_file_upload_reads_gbk_and_json_rows_are_unaffected(world, api_client_for):
    client = api_client_for(world.admin)
    response = client.post(
        "/api/v1/imports/regions/file", {"file": SimpleUploadedFile("regions.csv", GBK_REGIONS)}
    )
    assert response.status_code == 200 and response.json()["created"] == 3
    rows = [{"code": "320000", "name": "江苏省", "parent_code": "", "level": "province"}]
    response = client.post("/api/v1/imports/regions", data={"rows": rows}, content_type="application/json")
    assert response.status_code == 200 and response.json()["created"] == 1
    assert Region.objects.get(code="320000").name == "江苏省"
