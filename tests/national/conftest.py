"""Fixtures shared with the monitoring tests (the hand-built world with agreement year 1)."""

from tests.monitoring.conftest import mworld  # noqa: F401
