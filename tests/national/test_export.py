"""`jicai export` (SPEC §10, §13): one province's indicator inputs as Parquet, scoped by region path, typed
(decimal money, date dates), replaced atomically."""

import datetime as dt
import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from jicai.national import export as export_mod
from tests.factories import institution, region
from tests.monitoring.conftest import add_line, agreed, received

D = dt.date


def run_export(directory, **kw):
    out, err = io.StringIO(), io.StringIO()
    call_command("export", str(directory), stdout=out, stderr=err, **kw)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def two_provinces(mworld):
    w = mworld
    w.hebei = region("130000", "河北省")
    w.hebei_city = region("130100", "石家庄市", w.hebei)
    w.hebei_hospital = institution("H13010000001", "石家庄市第一医院", w.hebei_city, level="tertiary")
    received(w.hospital, w.product, 100, D(2024, 3, 10), item=w.item)
    add_line(w.other_hospital, w.product, 30, D(2024, 3, 12), item=w.item)
    add_line(w.hebei_hospital, w.product, 7, D(2024, 3, 12), item=w.item)
    agreed(w, w.hospital, 1000)
    agreed(w, w.hebei_hospital, 50)
    return w


def test_export_writes_each_province_with_its_own_rows_and_types(two_provinces, tmp_path):
    out, err = run_export(tmp_path)
    assert out.split() == [str(tmp_path / "130000"), str(tmp_path / "370000")]
    assert "已导出 370000" in err
    sd = tmp_path / "370000"
    lines = pq.read_table(sd / "order_lines.parquet")
    assert lines.num_rows == 2
    assert sorted(lines.column("qty").to_pylist()) == [30, 100]
    assert lines.schema.field("unit_price").type == pa.decimal128(18, 4)
    assert lines.schema.field("amount").type == pa.decimal128(18, 2)
    assert lines.column("unit_price").to_pylist() == [Decimal("0.1200")] * 2
    assert lines.schema.field("ordered_on").type == pa.date32()
    amounts = sorted(lines.column("amount").to_pylist())
    assert amounts == [Decimal("3.60"), Decimal("12.00")]  # 30 × 0.12, 100 × 0.12
    assert pq.read_table(sd / "deliveries.parquet").num_rows == 1
    receipts = pq.read_table(sd / "receipts.parquet")
    assert receipts.num_rows == 1
    # each receipt carries its line's institution, product, item and order day, typed as on the line
    received_line = lines.filter(pc.equal(lines["qty"], 100)).to_pylist()[0]
    receipt = receipts.to_pylist()[0]
    assert receipt["line_id"] == received_line["id"]
    assert [receipt[f"line_{c}"] for c in ("institution_id", "product_id", "item_id", "ordered_on")] == [
        received_line["institution_id"],
        received_line["product_id"],
        received_line["item_id"],
        D(2024, 3, 10),
    ]
    assert receipts.schema.field("line_ordered_on").type == pa.date32()
    assert receipts.schema.field("line_item_id").type == pa.int64()
    assert pq.read_table(sd / "payments.parquet").num_rows == 0  # empty but typed
    assert pq.read_table(sd / "agreed_volumes.parquet").column("agreed_qty").to_pylist() == [1000]
    assert sorted(pq.read_table(sd / "regions.parquet").column("code").to_pylist()) == [
        "370000",
        "370200",
        "370202",
        "371000",
        "371002",
    ]
    hb = tmp_path / "130000"
    assert pq.read_table(hb / "order_lines.parquet").column("qty").to_pylist() == [7]
    assert pq.read_table(hb / "agreed_volumes.parquet").column("agreed_qty").to_pylist() == [50]
    assert pq.read_table(hb / "institutions.parquet").column("code").to_pylist() == ["H13010000001"]
    # master data is national: every province folder has all products
    assert pq.read_table(hb / "products.parquet").num_rows == pq.read_table(sd / "products.parquet").num_rows


def test_export_region_writes_only_its_province_and_replaces_atomically(two_provinces, tmp_path, monkeypatch):
    run_export(tmp_path, region="371002")  # a county: its province is exported
    assert sorted(p.name for p in tmp_path.iterdir()) == ["370000"]
    (tmp_path / "370000" / "stale.txt").write_text("x")
    run_export(tmp_path, region="370000")
    assert not (tmp_path / "370000" / "stale.txt").exists()  # replaced, not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["370000"]  # no temporary folder left

    # a failure half-way leaves the previous export untouched and no temporary folder
    before = pq.read_table(tmp_path / "370000" / "order_lines.parquet").num_rows
    real = export_mod._write_table

    def failing(target, model, *a):
        if target.name == "deliveries.parquet":
            raise RuntimeError("disk full")
        return real(target, model, *a)

    monkeypatch.setattr(export_mod, "_write_table", failing)
    with pytest.raises(RuntimeError):
        run_export(tmp_path, region="370000")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["370000"]
    assert pq.read_table(tmp_path / "370000" / "order_lines.parquet").num_rows == before == 2


def test_export_unknown_region_is_rejected_and_writes_nothing(two_provinces, tmp_path):
    with pytest.raises(CommandError, match="未知的行政区划代码：999999"):
        run_export(tmp_path / "out", region="999999")
    assert not (tmp_path / "out").exists()
