"""Fixtures shared with the monitoring tests (the hand-built world with agreement year 1), and the one Spark
session of the test run (starting a JVM takes seconds: every Spark test shares it)."""

import pytest

from tests.monitoring.conftest import mworld  # noqa: F401


@pytest.fixture(scope="session")
def spark():
    from jicai.national import engines

    session = engines.spark_session()
    yield session
    session.stop()
    engines._spark_session = None
