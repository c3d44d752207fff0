"""`jicai national` (SPEC §10, §13) on DuckDB: the same alerts and facts as `jicai monitor` on hand-worked
data; inputs checked (a missing or corrupt file is named, nothing written)."""

import datetime as dt

import pytest

from tests.national.scenarios import assert_same_answers, build_busy

D = dt.date


@pytest.mark.parametrize("as_of", [D(2024, 6, 8), D(2024, 3, 1), D(2025, 4, 1)])
def test_busy_scenario_same_answers_as_monitor(mworld, tmp_path, as_of):
    build_busy(mworld)
    alerts = assert_same_answers(as_of, tmp_path, ["duckdb"])
    if as_of == D(2024, 6, 8):
        from jicai.national.indicators import ALERT_TYPES

        assert {a["type"] for a in alerts} == set(ALERT_TYPES)


def test_busy_scenario_counted_by_order_day_same_answers_as_monitor(mworld, tmp_path):
    """progress_basis = ordered for the province: the order-day purchase events (left out of the events when
    no context counts by order day) give W, N, U and the abnormal-order history, as `jicai monitor` does."""
    from jicai.policy.models import PolicyProfile

    build_busy(mworld)
    by_receipt = assert_same_answers(D(2024, 6, 8), tmp_path / "received", ["duckdb"])
    PolicyProfile.objects.create(region=mworld.province, values={"progress_basis": "ordered"})
    by_order = assert_same_answers(D(2024, 6, 8), tmp_path / "ordered", ["duckdb"])
    assert by_order != by_receipt  # the basis changes what counts (lines ordered but not received)


def _national(directory, *args):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("national", str(directory), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_missing_or_corrupt_file_is_named_and_nothing_is_written(mworld, tmp_path):
    from django.core.management import CommandError

    from tests.national.scenarios import export

    build_busy(mworld)
    export(tmp_path)
    out = tmp_path / "national-2024-06-08"
    _national(tmp_path, "--as-of", "2024-06-08", "--engine", "duckdb")
    before = sorted(p.name for p in out.iterdir())
    assert "rankings.xlsx" in before and "alerts.parquet" in before

    receipts = tmp_path / "370000" / "receipts.parquet"
    receipts.rename(tmp_path / "receipts.bak")
    with pytest.raises(CommandError, match=f"缺少 Parquet 文件：{receipts}"):
        _national(tmp_path, "--as-of", "2024-06-08", "--engine", "duckdb")
    (tmp_path / "receipts.bak").rename(receipts)

    lines = tmp_path / "370000" / "order_lines.parquet"
    lines.write_bytes(lines.read_bytes()[:200])  # truncated: no footer
    with pytest.raises(CommandError, match=f"Parquet 文件损坏或无法读取：{lines}"):
        _national(tmp_path, "--as-of", "2024-06-08", "--engine", "duckdb")
    # the previous result is untouched and no temporary folder is left behind
    assert sorted(p.name for p in out.iterdir()) == before
    # (130000: Hebei, a province with a winner and no institution, exported empty)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["130000", "370000", "national-2024-06-08"]


def test_rankings_workbook_and_table_output(mworld, tmp_path):
    import openpyxl

    from tests.national.scenarios import export

    build_busy(mworld)
    export(tmp_path)
    text = _national(tmp_path, "--as-of", "2024-06-08", "--engine", "duckdb", "--format", "table")
    assert text.splitlines()[0].split()[:3] == ["province", "type", "institution"]
    book = openpyxl.load_workbook(tmp_path / "national-2024-06-08" / "rankings.xlsx", read_only=True)
    assert book.sheetnames == ["省份排名", "城市排名", "机构排名"]
    rows = list(book["机构排名"].iter_rows(values_only=True))
    assert rows[0][:7] == ("排名", "省份代码", "省份", "城市代码", "城市", "机构代码", "机构名称")
    # 威海 hospital: 100 of 365 (item factor 0.5); clinic: 100 × 0.5 + 33 (no item) … of 10
    by_code = {r[5]: r for r in rows[1:]}
    assert by_code["H37100200001"][10] == pytest.approx(100 / 365)
    assert [r[0] for r in rows[1:]] == list(range(1, len(rows)))
    provinces = list(book["省份排名"].iter_rows(values_only=True))
    assert [r[1] for r in provinces[1:]] == ["370000"]
