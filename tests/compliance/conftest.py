from tests.trade.conftest import today, trade  # noqa: F401  (the supply world of tests/trade)
