"""`jicai national --engine spark` (local, one shared session): the same alerts and facts as `jicai monitor`
and as DuckDB. Few and small on purpose (`pytest -m spark` selects them, `-m "not spark"` leaves them out)."""

import datetime as dt

import pytest

from tests.national.scenarios import assert_same_answers, build_busy

pytestmark = pytest.mark.spark

D = dt.date


def test_busy_scenario_on_spark_and_duckdb_same_answers_as_monitor(spark, mworld, tmp_path):
    build_busy(mworld)
    alerts = assert_same_answers(D(2024, 6, 8), tmp_path, ["spark", "duckdb"])
    assert len(alerts) > 12
