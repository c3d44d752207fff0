"""The year-end forecast card (SPEC §13) on the institution and bureau home pages, with hand-worked values.

As of 2024-06-08 (agreement year 1 = 2024-03-01 … 2025-02-28, window 90 days, E − D = 265 days) the two
hospitals each received 100 before the window and 180 inside it: projected = 280 + 180 / 90 × 265 = 810.
The Weihai hospital agreed 1000 (projected completion 81.0 %, FORECAST_SHORTFALL), the Qingdao one 810
(100.0 %, no alert). Time progress = 100 / 365 = 27.4 %."""

import datetime as dt

import pytest

from tests.monitoring.conftest import agreed, monitor, received
from tests.web.helpers import assert_csp_clean, json_script, table_rows

pytestmark = pytest.mark.django_db
D = dt.date
ITEM = "阿托伐他汀钙 口服常释剂型"


@pytest.fixture
def forecast_world(world):
    w = world
    agreed(w, w.hospital, 1000)
    agreed(w, w.other_hospital, 810)
    for institution in (w.hospital, w.other_hospital):
        received(institution, w.product, 100, D(2024, 3, 10), item=w.item)
        received(institution, w.product, 180, D(2024, 5, 1), item=w.item)
    monitor(D(2024, 6, 8))
    return w


def test_institution_home_shows_actual_plan_and_projection_per_item(forecast_world, client_for):
    response = client_for(forecast_world.pharmacist).get("/")
    assert response.status_code == 200
    assert table_rows(response, "forecast-table") == [
        [
            f"{ITEM} GY-YD2023-1",
            "第1年度",
            "1000",
            "280",
            "274",
            "810",
            "28.0%",
            "81.0%",
            "预计年末完成不足",
        ]
    ]
    assert json_script(response, "forecast-chart") == {
        "labels": [ITEM],
        "actual": [28.0],
        "plan": [27.4],
        "projected": [81.0],
        "required": 100.0,
    }
    assert 'data-chart="forecast"' in response.content.decode()
    assert_csp_clean(response)


def test_other_institution_sees_only_its_own_forecast(forecast_world, client_for):
    response = client_for(forecast_world.other_pharmacist).get("/")
    assert [r[5:8] for r in table_rows(response, "forecast-table")] == [["810", "34.6%", "100.0%"]]


@pytest.mark.parametrize(
    "persona, row",
    [
        # Σ agreed 1810, Σ purchased 560, Σ projected 1620 → 89.5 %; one item alert (Weihai).
        (
            "province_bureau",
            ["GY-YD2023-1", "第1年度", "1810", "560", "496", "1620", "30.9%", "89.5%", "1"],
        ),
        ("city_bureau", ["GY-YD2023-1", "第1年度", "1000", "280", "274", "810", "28.0%", "81.0%", "1"]),
        (
            "other_city_bureau",
            ["GY-YD2023-1", "第1年度", "810", "280", "222", "810", "34.6%", "100.0%", "0"],
        ),
    ],
)
def test_bureau_home_sums_the_forecast_of_its_region(forecast_world, client_for, persona, row):
    response = client_for(getattr(forecast_world, persona)).get("/")
    assert table_rows(response, "forecast-table") == [row]


def test_home_without_facts_says_there_is_no_forecast(world, client_for):
    body = client_for(world.pharmacist).get("/").content.decode()
    assert "暂无预测" in body
