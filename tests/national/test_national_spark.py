"""`jicai national --engine spark` (local, one shared session): the same alerts and facts as `jicai monitor`
and as DuckDB. Few and small on purpose (`pytest -m spark` selects them, `-m "not spark"` leaves them out)."""

import datetime as dt

import pytest

from tests.national.scenarios import assert_same_answers, build_busy

pytestmark = pytest.mark.spark

D = dt.date


def test_busy_scenario_on_spark_and_duckdb_same_answers_as_monitor(spark, mworld, tmp_path):
    build_busy(mworld)
    from jicai.national.indicators import ALERT_TYPES

    alerts = assert_same_answers(D(2024, 6, 8), tmp_path, ["spark", "duckdb"])
    assert {a["type"] for a in alerts} == set(ALERT_TYPES)  # every alert type, on Spark too


@pytest.fixture
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db(transaction=True)
def test_small_demo_on_spark_and_duckdb_same_answers_as_monitor(spark, fast_hasher, tmp_path):
    from jicai.demo.runner import run_demo
    from jicai.demo.scales import BASE_TODAY
    from jicai.national.indicators import ALERT_TYPES

    ctx = run_demo(scale="small", seed=1, today=BASE_TODAY, write=lambda _: None)
    as_of = dt.date.fromisoformat(ctx.extra["monitoring"]["as_of"])
    alerts = assert_same_answers(as_of, tmp_path, ["duckdb", "spark"])
    assert {a["type"] for a in alerts} == set(ALERT_TYPES)  # the demo shows every supported type
