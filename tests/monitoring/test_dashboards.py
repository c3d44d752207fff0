"""Dashboards read the stored facts: drill-down sums, completion against time progress, winning share,
delivery rates by level, substitute trend from receipts, alert counts; scoping of every page and endpoint;
bounded query counts. The world: 山东 370000 → 威海 371000 → 环翠区 371002 (hospital secondary, clinic
grassroots) and 青岛 370200 → 市南区 370202 (other_hospital tertiary)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from jicai.batches.models import Substitute
from jicai.monitoring import dashboards
from jicai.monitoring.models import AlertType
from tests import factories as f
from tests.monitoring.conftest import add_line
from tests.monitoring.report_factories import AS_OF, alert, delivery, progress, second_item, year1

D = dt.date


@pytest.fixture
def facts(world):
    """Hand-built facts. 威海: hospital item 400/1000 (lagging), item2 300/500, clinic 150/200 →
    850/1700 = 50 %; non-winning 100 → share 850/950. 青岛: other_hospital agreed 0 (no completion), bought
    30 winning + 10 non-winning → share 75 %."""
    w = world
    w.year1 = year1(w)
    w.item2 = second_item(w)
    progress(w.hospital, w.item, w.year1, agreed=1000, winning=400, nonwinning=100, substitute=50)
    progress(w.hospital, w.item2, w.year1, agreed=500, winning=300)
    progress(w.clinic, w.item, w.year1, agreed=200, winning=150)
    progress(w.other_hospital, w.item, w.year1, agreed=0, winning=30, nonwinning=10)
    alert(
        AlertType.PROGRESS_LAG,
        institution=w.hospital,
        item=w.item,
        year=w.year1,
        value="0.4",
        threshold="0.5",
    )
    delivery(w.maker, w.hospital, w.year1, ordered=1000, delivered=900)
    delivery(w.maker, w.clinic, w.year1, ordered=1000, delivered=500)
    delivery(w.maker, w.other_hospital, w.year1, ordered=0, delivered=0)
    delivery(w.other_maker, w.other_hospital, w.year1, ordered=400, delivered=400)
    return w


def fy(w):
    return dashboards.facts_year(w.batch)


def rows_by_code(breakdown):
    return {r.code: r for r in breakdown.rows}


# ---- computations ------------------------------------------------------------------------------------


def test_province_drilldown_sums_children_and_excludes_pairs_without_agreed_volume(facts):
    w = facts
    result = dashboards.region_breakdown(w.province, fy(w))
    rows = rows_by_code(result)
    assert list(rows) == ["370200", "371000"]
    weihai = rows["371000"]
    assert (weihai.name, weihai.agreed, weihai.purchased, weihai.pairs, weihai.institutions) == (
        "威海市",
        1700,
        Decimal("850.0000"),
        3,
        2,
    )
    assert weihai.completion == Decimal("0.500000")
    assert weihai.time_progress == Decimal("0.500000")
    assert weihai.lagging == 1
    assert weihai.winning_share == Decimal("0.894737")  # 850 / 950
    qingdao = rows["370200"]
    assert qingdao.completion is None and qingdao.completion_pct == "暂无数据"
    assert qingdao.winning_share == Decimal("0.750000")
    assert qingdao.lagging == 0
    assert (result.total.agreed, result.total.purchased, result.total.completion) == (
        1700,
        Decimal("850.0000"),
        Decimal("0.500000"),
    )


def test_county_lists_its_institutions_with_their_own_completion(facts):
    w = facts
    rows = rows_by_code(dashboards.region_breakdown(w.county, fy(w)))
    assert list(rows) == ["H37100200001", "H37100200002"]
    hospital, clinic = rows["H37100200001"], rows["H37100200002"]
    assert hospital.kind == "institution" and hospital.level_label == "二级"
    assert hospital.completion == Decimal("0.466667")  # 700 / 1500
    assert hospital.is_lagging and not clinic.is_lagging
    assert clinic.completion == Decimal("0.750000")


def test_institution_items_put_lagging_items_first(facts):
    w = facts
    rows = dashboards.institution_items(w.hospital, fy(w))
    assert [(r.fact.item.item_code, r.lagging, r.fact.completion) for r in rows] == [
        ("GY7-001", True, Decimal("0.400000")),
        ("GY7-002", False, Decimal("0.600000")),
    ]
    assert rows[0].winning_share == Decimal("0.800000")  # 400 / 500


def test_closed_lag_alert_no_longer_counts(facts):
    w = facts
    alert(AlertType.PROGRESS_LAG, institution=w.clinic, item=w.item, year=w.year1, closed_on=AS_OF)
    rows = rows_by_code(dashboards.region_breakdown(w.county, fy(w)))
    assert rows["H37100200002"].lagging == 0


def test_delivery_rate_by_supplier_and_level_with_no_data_for_empty_levels(facts):
    w = facts
    rows = dashboards.delivery_by_supplier(fy(w), region=w.province)
    assert [r.code for r in rows] == [w.maker.code, w.other_maker.code]  # most ordered first
    maker = rows[0]
    assert (maker.ordered, maker.delivered, maker.rate) == (2000, 1400, Decimal("0.700000"))
    assert maker.level_rate("secondary") == Decimal("0.900000")
    assert maker.level_rate("grassroots") == Decimal("0.500000")
    assert maker.level_rate("tertiary") is None  # ordered 0 → no data, never 100 %
    assert maker.level_pcts == ["暂无数据", "90.0%", "暂无数据", "50.0%"]
    city_rows = dashboards.delivery_by_supplier(fy(w), region=w.city)
    assert [r.code for r in city_rows] == [w.maker.code]


def test_batch_without_facts_has_no_data(world):
    year = dashboards.facts_year(world.batch)
    assert not year.has_data
    assert dashboards.region_breakdown(world.province, year).rows == []
    assert dashboards.institution_items(world.hospital, year) == []


def substitute_receipts(w):
    """瑞舒伐他汀钙 (a substitute of GY7-001) received: 威海 2024-03 40 + 20 (5 rejected), 2023-03 70, one
    received after the run's date; 青岛 2024-04 99."""
    sub = f.product("XC10AAB001A001010100001", w.maker, generic_name="瑞舒伐他汀钙", spec="10mg")
    Substitute.objects.create(item=w.item, product=sub, degree="most")
    add_line(
        w.hospital,
        sub,
        40,
        D(2024, 3, 5),
        delivered=40,
        delivered_on=D(2024, 3, 6),
        accepted=40,
        received_on=D(2024, 3, 7),
    )
    add_line(
        w.clinic,
        sub,
        25,
        D(2024, 3, 20),
        delivered=25,
        delivered_on=D(2024, 3, 21),
        accepted=20,
        rejected=5,
        received_on=D(2024, 3, 22),
    )
    add_line(
        w.hospital,
        sub,
        70,
        D(2023, 3, 10),
        delivered=70,
        delivered_on=D(2023, 3, 11),
        accepted=70,
        received_on=D(2023, 3, 12),
    )
    add_line(
        w.hospital,
        sub,
        11,
        D(2024, 8, 1),
        delivered=11,
        delivered_on=D(2024, 8, 2),
        accepted=11,
        received_on=D(2024, 9, 1),
    )  # received after the run's date: not in the trend
    add_line(
        w.other_hospital,
        sub,
        99,
        D(2024, 4, 1),
        delivered=99,
        delivered_on=D(2024, 4, 1),
        accepted=99,
        received_on=D(2024, 4, 2),
    )  # 青岛: outside 威海
    return sub


def test_substitute_trend_by_month_against_last_year_from_receipts(facts):
    w = facts
    substitute_receipts(w)
    trend = dashboards.substitute_trend(w.city, fy(w))
    assert trend["months"] == ["2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08"]
    assert trend["this_year"] == [Decimal("60"), 0, 0, 0, 0, 0]
    assert trend["last_year"] == [Decimal("70"), 0, 0, 0, 0, 0]
    assert dashboards.substitute_trend(w.province, fy(w))["this_year"][1] == Decimal("99")


def test_alert_counts_by_type_and_month(facts):
    w = facts
    alert(AlertType.LATE_PAYMENT, institution=w.hospital, first_seen=D(2024, 7, 3))
    alert(AlertType.LATE_PAYMENT, institution=w.other_hospital, first_seen=D(2024, 7, 9))
    alert(AlertType.LATE_SUPPLIER_REPORT, supplier=w.maker, province=w.province, first_seen=D(2024, 6, 6))
    counts = dashboards.alert_counts_by_month(
        dashboards.alerts_in_region_q(w.province), until=AS_OF, months=3
    )
    assert counts["months"] == ["2024-06", "2024-07", "2024-08"]
    assert counts["series"] == [
        {"type": "PROGRESS_LAG", "name": "采购进度滞后", "values": [0, 0, 1]},
        {"type": "LATE_PAYMENT", "name": "未及时回款", "values": [0, 2, 0]},
        {"type": "LATE_SUPPLIER_REPORT", "name": "企业月报逾期", "values": [1, 0, 0]},
    ]
    # A city bureau sees its institutions' alerts, not the province's supplier-only ones.
    city = dashboards.alert_counts_by_month(dashboards.alerts_in_region_q(w.city), until=AS_OF, months=3)
    assert [(s["type"], s["values"]) for s in city["series"]] == [
        ("PROGRESS_LAG", [0, 0, 1]),
        ("LATE_PAYMENT", [0, 1, 0]),
    ]


# ---- pages -----------------------------------------------------------------------------------------


def test_province_page_shows_drilldown_with_links_and_chart_data(facts, client_for):
    w = facts
    response = client_for(w.province_bureau).get(reverse("monitoring:dashboard_region", args=["370000"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="drill-row-371000"' in html
    assert reverse("monitoring:dashboard_region", args=["371000"]) + "?batch=GY-YD2023-1" in html
    chart = response.context["drill_chart"]
    assert chart["labels"] == ["青岛市", "威海市"]
    assert chart["completion"] == [None, 50.0]
    assert chart["time_progress"] == 50.0
    assert chart["urls"][1] == "/monitoring/dashboard/regions/371000/?batch=GY-YD2023-1"
    assert response.context["share_chart"]["values"] == [75.0, 89.5]
    assert "<script>" not in html.split("</footer>")[0]  # CSP: data only through json_script
    assert 'id="drill-data" type="application/json"' in html


def trend_url(code, batch=""):
    url = reverse("monitoring:dashboard_region_trend", args=[code])
    return f"{url}?batch={batch}" if batch else url


def test_region_page_loads_the_substitute_trend_afterwards(facts, client_for):
    """The page only points at the trend fragment (htmx, on load); it never aggregates receipts itself."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = facts
    substitute_receipts(w)
    client = client_for(w.city_bureau)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("monitoring:dashboard_region", args=["371000"]))
    assert not any("trade_receipt" in q["sql"] for q in ctx.captured_queries)
    url = trend_url("371000", "GY-YD2023-1")
    html = response.content.decode()
    assert f'hx-get="{url}" hx-trigger="load"' in html
    assert 'data-testid="trend-table"' not in html

    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "<html" not in body and "<script>" not in body  # a fragment; data through json_script only
    assert fragment.context["trend_rows"] == [
        ("2024-03", Decimal("60.0000"), Decimal("70.0000")),
        *[(f"2024-0{m}", Decimal("0.0000"), Decimal("0.0000")) for m in range(4, 9)],
    ]
    assert fragment.context["trend_chart"] == {
        "labels": ["2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08"],
        "this_year": [60.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        "last_year": [70.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    }
    assert 'id="trend-data" type="application/json"' in body and "按入库日期" in body
    assert '<tr><td>2024-03</td><td class="num">60</td><td class="num">70</td></tr>' in body
    # The province's fragment includes 青岛's April receipt.
    province = client_for(w.province_bureau).get(trend_url("370000"))
    assert province.context["trend_chart"]["this_year"][:2] == [60.0, 99.0]


def test_trend_fragment_without_facts_says_no_data(world, client_for):
    response = client_for(world.province_bureau).get(trend_url("370000"))
    assert response.status_code == 200
    assert 'data-testid="trend-no-data"' in response.content.decode()


def test_county_page_links_institutions_and_item_rows_link_to_orders(facts, client_for):
    w = facts
    client = client_for(w.county_bureau)
    html = client.get(reverse("monitoring:dashboard_region", args=["371002"])).content.decode()
    assert "/monitoring/dashboard/institutions/H37100200001/?batch=GY-YD2023-1" in html
    response = client.get(reverse("monitoring:dashboard_institution", args=["H37100200001"]))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert rows[0].orders_url == (
        "/trade/lines/?institution=H37100200001&batch=GY-YD2023-1&item=GY7-001"
        "&date_from=2024-03-01&date_to=2024-08-31"
    )
    assert 'data-testid="lagging"' in response.content.decode()


def test_item_orders_link_lists_that_institutions_lines_of_that_item(facts, client_for):
    """Following 查看订单 of GY7-001 shows the hospital's lines of GY7-001 ordered in year 1 up to the run's
    date: not its 氨氯地平 (GY7-002) line, not the clinic's line, not a line ordered before the year."""
    from tests.web.helpers import table_rows

    w = facts
    amlodipine = f.product("XC08CAA001A001010100001", w.maker, generic_name="氨氯地平", spec="5mg")
    mine = add_line(w.hospital, w.product, 100, D(2024, 4, 2), item=w.item)
    nonwinning = add_line(w.hospital, w.other_product, 10, D(2024, 5, 6), item=w.item)
    add_line(w.hospital, amlodipine, 50, D(2024, 4, 2), item=w.item2)
    add_line(w.clinic, w.product, 70, D(2024, 4, 2), item=w.item)
    add_line(w.hospital, w.product, 30, D(2024, 2, 20), item=w.item)  # before agreement year 1
    client = client_for(w.county_bureau)
    response = client.get(reverse("monitoring:dashboard_institution", args=["H37100200001"]))
    url = {r.fact.item.item_code: r.orders_url for r in response.context["rows"]}["GY7-001"]
    assert f'href="{url.replace("&", "&amp;")}"' in response.content.decode()
    rows = table_rows(client.get(url))
    assert [(r[0], r[3], r[6]) for r in rows] == [
        (nonwinning.order.order_id, "威海市环翠区人民医院", "阿托伐他汀钙"),
        (mine.order.order_id, "威海市环翠区人民医院", "阿托伐他汀钙"),
    ]


def test_pages_without_facts_say_no_data(world, client_for):
    response = client_for(world.province_bureau).get(reverse("monitoring:dashboard_region", args=["370000"]))
    assert response.status_code == 200
    assert "暂无数据" in response.content.decode()


def test_dashboard_home_sends_each_actor_to_its_own_dashboard(facts, client_for):
    w = facts
    home = reverse("monitoring:dashboard")
    assert client_for(w.city_bureau).get(home)["Location"] == "/monitoring/dashboard/regions/371000/"
    assert (
        client_for(w.pharmacist).get(home)["Location"] == "/monitoring/dashboard/institutions/H37100200001/"
    )
    assert client_for(w.manufacturer).get(home).status_code == 404
    assert client_for(w.doctor).get(home).status_code == 404


@pytest.mark.parametrize(
    "persona, code, status",
    [
        ("province_bureau", "370000", 200),
        ("city_bureau", "371000", 200),
        ("city_bureau", "370000", 404),
        ("city_bureau", "370200", 404),
        ("other_city_bureau", "371002", 404),
        ("county_bureau", "371000", 404),
        ("admin", "370200", 200),
        ("pharmacist", "371002", 404),
        ("manufacturer", "370000", 404),
        ("distributor_user", "370000", 404),
    ],
)
def test_region_dashboard_scope(facts, client_for, api_client_for, persona, code, status):
    user = getattr(facts, persona)
    assert client_for(user).get(reverse("monitoring:dashboard_region", args=[code])).status_code == status
    assert client_for(user).get(trend_url(code)).status_code == status
    assert api_client_for(user).get(f"/api/v1/dashboards/regions/{code}").status_code == status


@pytest.mark.parametrize(
    "persona, code, status",
    [
        ("pharmacist", "H37100200001", 200),
        ("pharmacist", "H37100200002", 404),
        ("pharmacist", "H37020200001", 404),
        ("doctor", "H37100200001", 404),
        ("other_pharmacist", "H37100200001", 404),
        ("county_bureau", "H37100200002", 200),
        ("other_city_bureau", "H37100200001", 404),
        ("manufacturer", "H37100200001", 404),
        ("admin", "H37020200001", 200),
    ],
)
def test_institution_dashboard_scope(facts, client_for, api_client_for, persona, code, status):
    user = getattr(facts, persona)
    assert (
        client_for(user).get(reverse("monitoring:dashboard_institution", args=[code])).status_code == status
    )
    assert api_client_for(user).get(f"/api/v1/dashboards/institutions/{code}").status_code == status


def test_unknown_batch_is_404(facts, client_for):
    url = reverse("monitoring:dashboard_region", args=["370000"]) + "?batch=NOPE"
    assert client_for(facts.province_bureau).get(url).status_code == 404


# ---- API -------------------------------------------------------------------------------------------


def test_region_api_returns_exact_series(facts, api_client_for):
    body = api_client_for(facts.city_bureau).get("/api/v1/dashboards/regions/371000").json()
    assert body["facts"] == {
        "batch": "GY-YD2023-1",
        "agreement_year": 1,
        "start": "2024-03-01",
        "end": "2025-02-28",
        "as_of": "2024-08-31",
    }
    assert body["total"]["completion"] == "0.500000"
    assert [(r["code"], r["agreed_qty"], r["completion"], r["lagging_items"]) for r in body["rows"]] == [
        ("371002", 1700, "0.500000", 1)
    ]
    assert body["delivery"][0]["rate_by_level"] == {
        "tertiary": None,
        "secondary": "0.900000",
        "primary": None,
        "grassroots": "0.500000",
    }


def test_institution_api_lists_items(facts, api_client_for):
    body = api_client_for(facts.pharmacist).get("/api/v1/dashboards/institutions/H37100200001").json()
    assert [(i["item_code"], i["completion"], i["lagging"]) for i in body["items"]] == [
        ("GY7-001", "0.400000", True),
        ("GY7-002", "0.600000", False),
    ]
    assert [(d["supplier_code"], d["rate"]) for d in body["delivery"]] == [(facts.maker.code, "0.900000")]


def test_api_not_found_uses_the_error_shape(facts, api_client_for):
    response = api_client_for(facts.pharmacist).get("/api/v1/dashboards/regions/370000")
    assert response.status_code == 404
    assert json.loads(response.content)["error"]["code"] == "not_found"


# ---- query counts ---------------------------------------------------------------------------------


def _more_facts(w, n):
    """n more institutions in 环翠区 with facts and lag alerts: the page's query count must not change."""
    for i in range(n):
        inst = f.institution(f"H371002{10 + i:05d}", f"机构{i}", w.county, level="primary")
        progress(inst, w.item, w.year1, agreed=100, winning=10 * i)
        alert(AlertType.PROGRESS_LAG, institution=inst, item=w.item, year=w.year1)
        delivery(w.maker, inst, w.year1, ordered=100, delivered=50)


@pytest.mark.parametrize("code", ["370000", "371002"])
def test_region_page_query_count_does_not_grow_with_rows(
    facts, client_for, django_assert_max_num_queries, code
):
    client = client_for(facts.province_bureau)
    url = reverse("monitoring:dashboard_region", args=[code])
    client.get(url)  # warm the session
    with django_assert_max_num_queries(24) as small:
        assert client.get(url).status_code == 200
    _more_facts(facts, 12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200


def test_trend_fragment_query_count_does_not_grow_with_lines_or_products(
    facts, client_for, django_assert_max_num_queries, django_assert_num_queries
):
    w = facts
    substitute_receipts(w)
    client = client_for(w.province_bureau)
    url = trend_url("370000", "GY-YD2023-1")
    client.get(url)  # warm the session
    # Session, user and scope (5), batches with facts, the latest facts row, its agreement year, item
    # factors, policy profiles, the one grouped receipts query (6), the session save (3).
    with django_assert_max_num_queries(15) as small:
        assert client.get(url).status_code == 200
    assert sum("trade_receipt" in q["sql"] for q in small.captured_queries) == 1
    for n in range(3):
        sub = f.product(f"XC10AAB001A00101010000{n + 2}", w.maker, generic_name="瑞舒伐他汀钙", spec=f"{n}mg")
        Substitute.objects.create(item=w.item, product=sub, degree="partial")
        for inst in (w.hospital, w.clinic, w.other_hospital):
            add_line(
                inst,
                sub,
                5,
                D(2024, 5, 2),
                delivered=5,
                delivered_on=D(2024, 5, 3),
                accepted=5,
                received_on=D(2024, 5, 4),
            )
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.context["trend_chart"]["this_year"][2] == 45.0  # May: 3 products × 3 institutions × 5


def test_institution_page_query_count(facts, client_for, django_assert_max_num_queries):
    client = client_for(facts.pharmacist)
    url = reverse("monitoring:dashboard_institution", args=["H37100200001"])
    client.get(url)
    with django_assert_max_num_queries(16):
        assert client.get(url).status_code == 200


# ---- through the engine ----------------------------------------------------------------------------


def test_dashboard_reads_what_a_monitoring_run_stored(mworld, client_for):
    """compute_facts + evaluation on 2024-06-08 (day 100 of 365): the hospital bought 99 of 365 (lagging),
    the 青岛 hospital 100 of 365 (exactly on time progress, not lagging)."""
    from tests.monitoring.conftest import agreed, monitor, received

    w = mworld
    agreed(w, w.hospital, 365)
    received(w.hospital, w.product, 99, D(2024, 4, 1), item=w.item)
    agreed(w, w.other_hospital, 365)
    received(w.other_hospital, w.product, 100, D(2024, 4, 1), item=w.item)
    monitor(D(2024, 6, 8))
    year = dashboards.facts_year(w.batch)
    assert (year.agreement_year.number, year.as_of) == (1, D(2024, 6, 8))
    rows = rows_by_code(dashboards.region_breakdown(w.province, year))
    assert (rows["371000"].completion, rows["371000"].lagging) == (Decimal("0.271233"), 1)  # 99/365
    assert (rows["370200"].completion, rows["370200"].lagging) == (Decimal("0.273973"), 0)  # 100/365
    assert rows["371000"].time_progress == Decimal("0.273973")
    response = client_for(w.pharmacist).get(
        reverse("monitoring:dashboard_institution", args=["H37100200001"])
    )
    assert [(r.fact.item.item_code, r.lagging) for r in response.context["rows"]] == [("GY7-001", True)]
