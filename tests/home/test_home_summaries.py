"""The work summaries of each role's home page on the hand-built dataset of tests/home/conftest.py:
exact numbers, only the actor's own organisation's rows, links that resolve, and a query count that does
not grow with the data."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.home.conftest import add_round
from tests.web.helpers import assert_csp_clean, html, table_rows

pytestmark = pytest.mark.django_db

PERSONAS = [
    "admin",
    "province_bureau",
    "city_bureau",
    "county_bureau",
    "other_city_bureau",
    "pharmacist",
    "other_pharmacist",
    "doctor",
    "manufacturer",
    "other_manufacturer",
    "distributor_user",
]


def home(world, client_for, persona):
    response = client_for(getattr(world, persona)).get("/")
    assert response.status_code == 200
    return response


def ticket_numbers(response, testid="home-ticket-list") -> list[str]:
    block = re.search(rf'data-testid="{testid}"(.*?)</ul>', html(response), re.S)
    assert block, f"{testid} missing"
    return re.findall(r">#(\d+)</a>", block.group(1))


# ---- bureau ------------------------------------------------------------------------------------------


def test_province_bureau_sees_todo_windows_and_alerts_of_the_province(home_data, client_for):
    w = home_data
    response = home(w, client_for, "province_bureau")
    assert table_rows(response, "home-todo") == [
        ["待本局审核的报量", "0"],  # the county and the other city review their own institutions
        ["逾期未生效的购销协议", "1"],
        ["升级至本局督办的逾期诉求", "0"],
    ]
    # Deadline order; the closed window and the finished one (deadline passed, all approved) are left out.
    assert table_rows(response, "home-windows") == [
        ["逾期窗口", "2025-06-20", "1", "0", "0", "0", "1", "0"],
        ["进行中窗口", "2025-07-15", "3", "1", "1", "0", "1", "0"],
    ]
    assert table_rows(response, "home-alerts") == [
        ["未及时回款", "2"],
        ["采购进度滞后", "2"],
        ["企业月报逾期", "1"],
    ]
    assert 'data-testid="home-alerts-total">5<' in html(response)
    assert 'href="/monitoring/scorecards/"' in html(response)
    assert_csp_clean(response)


def test_county_bureau_sees_its_review_queue_and_tickets_escalated_to_it(home_data, client_for):
    w = home_data
    response = home(w, client_for, "county_bureau")
    assert table_rows(response, "home-todo") == [
        ["待本局审核的报量", "1"],
        ["逾期未生效的购销协议", "1"],
        ["升级至本局督办的逾期诉求", "1"],
    ]
    body = html(response)
    assert 'href="/tickets/?overdue=1&amp;escalation=county"' in body
    escalated = re.findall(
        r">#(\d+)</a>", re.search(r'data-testid="home-escalated"(.*?)</ul>', body, re.S)[1]
    )
    from jicai.tickets.models import Ticket

    assert escalated == [str(Ticket.objects.get(escalation_level="county").pk)]
    assert table_rows(response, "home-windows") == [
        ["逾期窗口", "2025-06-20", "1", "0", "0", "0", "1", "0"],
        ["进行中窗口", "2025-07-15", "2", "1", "1", "0", "0", "0"],
    ]


def test_city_bureau_counts_its_subtree_only(home_data, client_for):
    response = home(home_data, client_for, "city_bureau")
    assert table_rows(response, "home-todo") == [
        ["待本局审核的报量", "0"],  # 环翠区 has its own bureau
        ["逾期未生效的购销协议", "1"],
        ["升级至本局督办的逾期诉求", "0"],  # 青岛's ticket is 青岛's business
    ]
    # Supplier-only alerts (monthly reports) are the province bureau's business, not a city's.
    assert table_rows(response, "home-alerts") == [["未及时回款", "2"], ["采购进度滞后", "1"]]


def test_other_city_bureau_never_counts_the_first_citys_rows(home_data, client_for):
    response = home(home_data, client_for, "other_city_bureau")
    assert table_rows(response, "home-todo") == [
        ["待本局审核的报量", "1"],
        ["逾期未生效的购销协议", "0"],
        ["升级至本局督办的逾期诉求", "1"],
    ]
    # The late window holds no report of 青岛's institutions, so it is not 青岛's business.
    assert table_rows(response, "home-windows") == [
        ["进行中窗口", "2025-07-15", "1", "0", "0", "0", "1", "0"]
    ]
    assert table_rows(response, "home-alerts") == [["采购进度滞后", "1"]]


def test_bureau_home_without_windows_or_alerts_says_so(world, client_for, today):
    response = home(world, client_for, "province_bureau")
    assert table_rows(response, "home-windows") == [["暂无正在进行的报量"]]
    assert table_rows(response, "home-alerts") == [["暂无未办结预警"]]
    assert table_rows(response, "home-todo") == [
        ["待本局审核的报量", "0"],
        ["逾期未生效的购销协议", "0"],
        ["升级至本局督办的逾期诉求", "0"],
    ]


# ---- institution --------------------------------------------------------------------------------------


def test_pharmacist_home_shows_its_own_agreements_progress_orders_payables_alerts_tickets(
    home_data, client_for
):
    w = home_data
    response = home(w, client_for, "pharmacist")
    assert table_rows(response, "home-agreements") == [
        ["待签订（待本机构签订）", "0"],
        ["医疗机构已签", "1"],
        ["企业已签", "0"],
        ["已生效", "0"],
    ]
    # Year 2's facts replace year 1's; item2 has no agreed volume so its 40 purchased do not count.
    assert table_rows(response, "home-progress") == [
        ["GY-YD2023-1", "第2年度", "2025-06-29", "2", "1000", "250.5", "25.1%", "33.4%", "1"]
    ]
    # The other hospital's pending line is not counted; cancelled, rejected and received lines are done.
    assert table_rows(response, "home-lines") == [
        ["待确认", "1"],
        ["已确认待配送", "1"],
        ["部分配送", "1"],
        ["已配送", "1"],
        ["部分入库", "0"],
    ]
    assert table_rows(response, "home-payables") == [
        ["未付金额（元）", "2.60"],
        ["其中逾期未付（元）", "1.20"],
    ]
    assert table_rows(response, "home-alerts") == [["未及时回款", "2"], ["采购进度滞后", "1"]]
    assert table_rows(response, "home-tickets") == [
        ["待企业答复", "1"],
        ["重新打开待答复", "1"],
        ["已答复待解决", "1"],
        ["已逾期", "1"],
    ]
    from jicai.tickets.models import Ticket

    mine = Ticket.objects.filter(institution=w.hospital)
    expected = [mine.get(status=s).pk for s in ("open", "reopened", "replied")]  # reply/fix due order
    assert ticket_numbers(response) == [str(pk) for pk in expected]
    body = html(response)
    assert "后续" not in body and "later" not in body
    assert_csp_clean(response)


def test_other_pharmacist_sees_only_its_own_hospitals_numbers(home_data, client_for):
    response = home(home_data, client_for, "other_pharmacist")
    assert table_rows(response, "home-agreements")[0] == ["待签订（待本机构签订）", "1"]
    assert [n for _, n in table_rows(response, "home-lines")] == ["1", "0", "0", "0", "0"]
    assert table_rows(response, "home-payables") == [
        ["未付金额（元）", "0.00"],
        ["其中逾期未付（元）", "0.00"],
    ]
    assert table_rows(response, "home-alerts") == [["采购进度滞后", "1"]]
    assert [n for _, n in table_rows(response, "home-tickets")] == ["1", "0", "0", "1"]
    assert table_rows(response, "home-progress") == [
        ["GY-YD2023-1", "第2年度", "2025-06-29", "1", "500", "400", "80.0%", "33.4%", "0"]
    ]


def test_pharmacist_home_without_data_shows_empty_states(world, client_for, today):
    response = home(world, client_for, "pharmacist")
    assert table_rows(response, "home-progress") == [["暂无监测数据（监测运行后显示约定采购量与完成情况）"]]
    assert table_rows(response, "home-alerts") == [["暂无未办结预警"]]
    assert [n for _, n in table_rows(response, "home-lines")] == ["0"] * 5
    assert 'data-testid="home-ticket-list"' not in html(response)


# ---- doctor ------------------------------------------------------------------------------------------


def test_doctor_home_says_what_doctors_can_do_and_shows_no_numbers(home_data, client_for):
    response = home(home_data, client_for, "doctor")
    body = html(response)
    assert "处方提示" in body and "尚未建设" in body
    assert table_rows(response, "home-batches")[0][0] == "GY-YD2023-1"
    for testid in ("home-lines", "home-alerts", "home-tickets", "home-agreements", "home-payables"):
        assert f'data-testid="{testid}"' not in body
    assert "后续" not in body


# ---- companies ----------------------------------------------------------------------------------------


def test_manufacturer_home_shows_what_it_must_sign_answer_deliver_and_report(home_data, client_for):
    w = home_data
    response = home(w, client_for, "manufacturer")
    assert table_rows(response, "home-agreements") == [
        ["待签订", "1"],
        ["医疗机构已签（待本企业签订）", "1"],
        ["企业已签", "0"],
        ["已生效", "1"],
    ]
    assert table_rows(response, "home-lines") == [
        ["待确认", "2"],  # both hospitals' unanswered lines name 齐鲁
        ["已确认待配送", "1"],
        ["部分配送", "1"],
        ["已配送", "1"],
        ["部分入库", "0"],
    ]
    assert table_rows(response, "home-deliveries") == [
        ["待配送订单行", "2"],
        ["待配送数量", "400"],
        ["已超过配送时限", "1"],  # ordered 06-20 + 3 grace days = 06-23 < 06-30
    ]
    body = html(response)
    assert "应配送 2025-06-23（已超时）" in body and "应配送 2025-07-01<" in body
    assert table_rows(response, "home-tickets") == [
        ["待企业答复", "2"],
        ["重新打开待答复", "1"],
        ["已答复待解决", "1"],
        ["已逾期", "2"],
    ]
    from jicai.tickets.models import Ticket

    named = Ticket.objects.filter(supplier=w.maker)
    expected = [
        named.get(status="open", institution=w.hospital),
        named.get(status="open", institution=w.other_hospital),
        named.get(status="reopened"),
        named.get(status="replied"),
    ]
    assert ticket_numbers(response) == [str(t.pk) for t in expected]
    assert table_rows(response, "home-alerts") == [["未及时回款", "1"], ["企业月报逾期", "1"]]
    assert table_rows(response, "home-missing-reports") == [
        ["阿托伐他汀钙 GY-YD2023-1", "2025-05 月报", "2025-06-05 到期"]
    ]
    assert f'href="/monitoring/credit/{w.maker.code}/"' in body
    assert_csp_clean(response)


def test_other_manufacturer_sees_nothing_of_qilus_business(home_data, client_for):
    response = home(home_data, client_for, "other_manufacturer")
    assert [n for _, n in table_rows(response, "home-agreements")] == ["0", "0", "0", "0"]
    assert [n for _, n in table_rows(response, "home-lines")] == ["0"] * 5
    assert [n for _, n in table_rows(response, "home-deliveries")] == ["0", "0", "0"]
    assert [n for _, n in table_rows(response, "home-tickets")] == ["0", "0", "0", "0"]
    assert table_rows(response, "home-alerts") == [["暂无未办结预警"]]
    assert table_rows(response, "home-missing-reports") == [["暂无逾期未报的月报"]]
    assert "暂无待配送订单" in html(response)


def test_distributor_home_shows_orders_to_deliver_and_agreements_naming_it(home_data, client_for):
    response = home(home_data, client_for, "distributor_user")
    assert table_rows(response, "home-deliveries") == [
        ["待配送订单行", "2"],
        ["待配送数量", "400"],
        ["已超过配送时限", "1"],
    ]
    assert table_rows(response, "home-agreements") == [
        ["待签订", "0"],
        ["医疗机构已签", "1"],
        ["企业已签", "0"],
        ["已生效", "1"],
    ]
    assert [n for _, n in table_rows(response, "home-tickets")] == ["0", "1", "0", "0"]
    body = html(response)
    assert "配送企业" in body and "后续" not in body
    assert_csp_clean(response)


# ---- admin -------------------------------------------------------------------------------------------


def test_admin_home_shows_recent_imports_and_latest_monitoring_run(home_data, client_for):
    response = home(home_data, client_for, "admin")
    rows = table_rows(response, "import-jobs")
    assert [r[1:] for r in rows] == [["orders", "web", "orders.csv", "hc_pharmacy", "已导入", "9", "9", "0"]]
    run = re.sub(
        r"<[^>]+>|\s+", " ", re.search(r'data-testid="monitoring-run">(.*?)</dl>', html(response), re.S)[1]
    )
    assert "2025-06-29" in run and "山东省（370000）" in run
    assert "采购进度事实 4" in run and "发现预警 5" in run and "自动关闭 1" in run


def test_admin_home_without_imports_or_runs_says_so(world, client_for):
    body = html(home(world, client_for, "admin"))
    assert "暂无导入记录" in body and "暂无监测运行记录" in body


# ---- links and query counts --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_link_on_the_home_page_resolves(home_data, client_for, persona):
    client = client_for(getattr(home_data, persona))
    body = html(client.get("/"))
    main = body[body.index("<main") :]
    links = sorted(set(re.findall(r'href="(/[^"]*)"', main)))
    assert links
    for link in links:
        if link.startswith("/admin/"):
            continue
        response = client.get(link.replace("&amp;", "&"), follow=True)
        assert response.status_code == 200, (link, response.status_code)


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    return len(ctx.captured_queries)


# Measured on this dataset (admin: one count per master table); more means a page gained queries.
MAX_QUERIES = {
    "admin": 23,
    # +5 for the year-end forecast (facts grouped, regions, agreement years, policy profiles, alerts)
    "province_bureau": 22,
    "county_bureau": 22,
    "pharmacist": 22,  # +4 for the year-end forecast (facts, region, agreement years, policy profiles)
    "doctor": 10,  # +1: the hospital staff link behind the §11 targets block
    "manufacturer": 30,  # one indexed probe per model for the sides a company has rows on
    "distributor_user": 18,
}


@pytest.mark.parametrize("persona", list(MAX_QUERIES))
def test_home_query_count_does_not_grow_with_the_data(
    home_data, client_for, persona, django_assert_max_num_queries
):
    client = client_for(getattr(home_data, persona))
    client.get("/")  # warm per-process caches (content types, session)
    before = _queries(client)
    add_round(home_data)
    add_round(home_data)
    assert _queries(client) == before
    with django_assert_max_num_queries(MAX_QUERIES[persona]):
        client.get("/")
