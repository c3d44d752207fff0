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


def _answers_by_province(directory, engine, output):
    """national's alerts and facts per province: {province: (alerts, progress facts, delivery facts)}."""
    import json

    import pyarrow.parquet as pq

    data = json.loads(
        _national(directory, "--as-of", "2024-06-08", "--engine", engine, "--output", str(output))
    )
    answers = {}
    for province in sorted({a["province"] for a in data["alerts"]}):
        facts = [
            sorted(
                tuple(sorted(r.items()))
                for r in pq.read_table(output / f"{kind}_facts.parquet").to_pylist()
                if r["province"] == province
            )
            for kind in ("progress", "delivery")
        ]
        answers[province] = ([a for a in data["alerts"] if a["province"] == province], *facts)
    return answers


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_provinces_whose_ids_coincide_are_kept_apart(mworld, tmp_path, request, engine):
    """Ids are per province: two provinces whose databases use the same ids for different rows each get, run
    together, exactly the answers they get alone (the engines' keys carry the province, engines.py)."""
    import shutil

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from jicai.national.relabel import relabel
    from tests.national.scenarios import export

    if engine == "spark":
        request.getfixturevalue("spark")
    build_busy(mworld)
    export(tmp_path / "export")
    shutil.copytree(tmp_path / "export" / "370000", tmp_path / "one" / "370000")
    relabel(tmp_path / "export" / "370000", tmp_path / "other" / "910000", "370000", "910000")
    # The other province's rows of the same ids differ: the deliveries, receipts and payments of the lines
    # with an even id are gone.
    for table in ("deliveries", "receipts", "payments"):
        path = tmp_path / "other" / "910000" / f"{table}.parquet"
        rows = pq.read_table(path)
        pq.write_table(rows.filter(pc.equal(pc.bit_wise_and(rows["line_id"], 1), 1)), path)
    for code in ("370000", "910000"):
        shutil.copytree(tmp_path / ("one" if code == "370000" else "other") / code, tmp_path / "both" / code)

    alone = _answers_by_province(tmp_path / "one", "duckdb", tmp_path / "out-one")
    alone |= _answers_by_province(tmp_path / "other", "duckdb", tmp_path / "out-other")
    together = _answers_by_province(tmp_path / "both", engine, tmp_path / "out-both")
    assert sorted(together) == ["370000", "910000"]
    assert together == alone
    # the two provinces' facts differ (the same ids stand for different rows); how many alerts each has may
    # coincide, depending on which ids the database gave
    one, other = (alone[code] for code in ("370000", "910000"))
    assert one[1] != other[1]


def test_an_id_beyond_the_keys_range_is_named_and_nothing_is_written(mworld, tmp_path):
    """Keys are province code × 2⁴⁰ + id inside the engines: an id of 2⁴⁰ or more is refused, naming the file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from django.core.management import CommandError

    from jicai.national.engines import KEY_SHIFT
    from tests.national.scenarios import export

    build_busy(mworld)
    export(tmp_path)
    path = tmp_path / "370000" / "tickets.parquet"
    rows = pq.read_table(path)
    rows = rows.set_column(
        rows.schema.get_field_index("supplier_id"),
        rows.schema.field("supplier_id"),
        pa.array([KEY_SHIFT] * rows.num_rows, rows.schema.field("supplier_id").type),
    )
    pq.write_table(rows, path)
    assert rows.num_rows and pc.max(rows["supplier_id"]).as_py() == KEY_SHIFT
    with pytest.raises(
        CommandError, match=f"Parquet 文件的 supplier_id 超出 2\\^40，无法合并各省的编号：{path}"
    ):
        _national(tmp_path, "--as-of", "2024-06-08", "--engine", "duckdb")
    assert not (tmp_path / "national-2024-06-08").exists()
