"""Quarterly notice (通报): alerts live during the quarter in the bureau's subtree, grouped as the policy
notices are; XLSX with a summary sheet and one sheet per group; printable page; scoping (web and API)."""

import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse

from jicai.core.errors import DomainError
from jicai.monitoring import notices
from jicai.monitoring.models import AlertType
from tests.monitoring.report_factories import alert, year1

D = dt.date
Q3 = notices.Quarter(2024, 3)


@pytest.fixture
def alerts(world):
    w = world
    w.year1 = year1(w)
    w.lag = alert(
        AlertType.PROGRESS_LAG,
        institution=w.hospital,
        item=w.item,
        year=w.year1,
        first_seen=D(2024, 7, 10),
        value="0.35",
        threshold="0.5",
    )
    # Closed on the quarter's second day: it was live during the quarter.
    w.low = alert(
        AlertType.LOW_DELIVERY_RATE,
        institution=w.clinic,
        supplier=w.maker,
        year=w.year1,
        first_seen=D(2024, 5, 1),
        closed_on=D(2024, 7, 2),
        value="0.55",
        threshold="0.8",
        tier=2,
    )
    # Closed before the quarter / first seen after it: not in the Q3 notice.
    alert(
        AlertType.LATE_PAYMENT,
        institution=w.hospital,
        supplier=w.maker,
        first_seen=D(2024, 4, 1),
        closed_on=D(2024, 6, 30),
        order_id="T1",
        line_no=1,
    )
    alert(AlertType.LATE_RECEIPT, institution=w.hospital, first_seen=D(2024, 10, 1), order_id="T2", line_no=1)
    w.qingdao = alert(
        AlertType.NONWINNING_EXCEEDS_WINNING,
        institution=w.other_hospital,
        item=w.item,
        year=w.year1,
        first_seen=D(2024, 8, 1),
        value="120",
        threshold="80",
    )
    w.report = alert(
        AlertType.LATE_SUPPLIER_REPORT, supplier=w.maker, province=w.province, first_seen=D(2024, 9, 6)
    )
    return w


def test_every_alert_type_belongs_to_exactly_one_group():
    grouped = [t for spec in notices.GROUPS for t in spec.types]
    assert sorted(grouped) == sorted(AlertType.values)
    assert len(grouped) == len(set(grouped))


def test_quarter_parsing_and_bounds():
    q = notices.parse_quarter("2025q4")
    assert (q.code, q.start, q.end, q.label) == ("2025Q4", D(2025, 10, 1), D(2025, 12, 31), "2025年第四季度")
    assert notices.parse_quarter("2024Q1").end == D(2024, 3, 31)
    assert notices.quarter_of(D(2024, 9, 30)) == Q3
    for bad in ("2025Q5", "2025", "Q3-2025", ""):
        with pytest.raises(DomainError):
            notices.parse_quarter(bad)


def test_city_notice_lists_its_institutions_only(alerts):
    w = alerts
    notice = notices.build_notice(w.city, Q3)
    by_heading = {g.heading: [a.pk for a in g.alerts] for g in notice.groups}
    assert by_heading["一、采购进度滞后的医疗机构"] == [w.lag.pk]
    assert by_heading["六、配送率偏低的企业"] == [w.low.pk]
    assert notice.total == 2
    assert notice.title == "威海市医疗保障局 2024年第三季度集中带量采购监测情况通报"


def test_province_notice_adds_other_cities_and_supplier_only_alerts(alerts):
    w = alerts
    notice = notices.build_notice(w.province, Q3)
    assert notice.total == 4
    groups = {g.spec.number: g for g in notice.groups}
    assert [a.pk for a in groups["二"].alerts] == [w.qingdao.pk]
    assert [a.pk for a in groups["十"].alerts] == [w.report.pk]
    assert groups["十"].supplier_count == 1 and groups["十"].institution_count == 0


def test_group_columns_and_values_are_formatted_for_the_type(alerts):
    w = alerts
    group = notices.build_notice(w.city, Q3).groups[0]
    headers = [c.header for c in group.columns]
    assert headers == [
        "所在地区",
        "医疗机构",
        "机构代码",
        "采购品种",
        "问题",
        "完成率",
        "序时进度要求",
        "首次发现",
        "最近发现",
        "状态",
    ]
    assert group.rows == [
        [
            "环翠区",
            "威海市环翠区人民医院",
            "H37100200001",
            str(w.item),
            "采购进度滞后",
            "35.00%",
            "50.00%",
            D(2024, 7, 10),
            D(2024, 7, 10),
            "待处理",
        ]
    ]


def test_xlsx_has_a_summary_and_one_sheet_per_group(alerts, client_for):
    w = alerts
    response = client_for(w.city_bureau).get(
        reverse("monitoring:notice", args=["371000", "2024Q3"]) + "?export=xlsx"
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames[0] == "汇总"
    assert book.sheetnames[1:] == [f"{s.number}、{s.title}" for s in notices.GROUPS] + [
        "配送评价（按生产企业平均分）",
        "报量复核抽查名单（本季度结束的协议年度）",
    ]
    summary = book["汇总"]
    assert summary["A1"].value == "威海市医疗保障局 2024年第三季度集中带量采购监测情况通报"
    assert [summary.cell(row=r, column=2).value for r in (5, 10, 19)] == [1, 1, 2]  # 一, 六, 合计
    lag = book["一、采购进度滞后的医疗机构"]
    assert [c.value for c in lag[2]] == [
        "序号",
        "所在地区",
        "医疗机构",
        "机构代码",
        "采购品种",
        "问题",
        "完成率",
        "序时进度要求",
        "首次发现",
        "最近发现",
        "状态",
    ]
    assert [c.value for c in lag[3]][:7] == [
        1,
        "环翠区",
        "威海市环翠区人民医院",
        "H37100200001",
        str(w.item),
        "采购进度滞后",
        "35.00%",
    ]
    assert lag["I3"].value == dt.datetime(2024, 7, 10)
    delivery = book["六、配送率偏低的企业"]
    assert "齐鲁制药有限公司" in [c.value for c in delivery[3]]
    assert "2档" in [c.value for c in delivery[3]]
    assert book["二、非中选产品采购量超过中选产品"]["A3"].value == "本季度无"


def test_printable_page_has_print_css_and_no_inline_script(alerts, client_for):
    response = client_for(alerts.city_bureau).get(reverse("monitoring:notice", args=["371000", "2024Q3"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "monitoring/monitoring.css" in html and "monitoring/notice.js" in html
    assert "onclick" not in html and 'style="' not in html
    assert "一、采购进度滞后的医疗机构（1 项）" in html
    assert "本季度无" in html


def test_notice_index_redirects_to_the_chosen_quarter(alerts, client_for):
    response = client_for(alerts.city_bureau).get(reverse("monitoring:notices") + "?quarter=2024Q3")
    assert response["Location"] == "/monitoring/notices/371000/2024Q3/"


@pytest.mark.parametrize(
    "persona, code, status",
    [
        ("city_bureau", "371000", 200),
        ("city_bureau", "370000", 404),
        ("other_city_bureau", "371000", 404),
        ("county_bureau", "371000", 404),
        ("province_bureau", "370200", 200),
        ("admin", "370000", 200),
        ("pharmacist", "371002", 404),
        ("manufacturer", "370000", 404),
    ],
)
def test_notice_scope(alerts, client_for, api_client_for, persona, code, status):
    user = getattr(alerts, persona)
    assert client_for(user).get(reverse("monitoring:notice", args=[code, "2024Q3"])).status_code == status
    export = reverse("monitoring:notice", args=[code, "2024Q3"]) + "?export=xlsx"
    assert client_for(user).get(export).status_code == status
    assert api_client_for(user).get(f"/api/v1/notices/{code}/2024Q3").status_code == status


def test_notice_api_groups(alerts, api_client_for):
    body = api_client_for(alerts.province_bureau).get("/api/v1/notices/370000/2024Q3").json()
    assert body["total"] == 4
    first = body["groups"][0]
    assert (first["number"], first["title"], first["count"]) == ("一", "采购进度滞后的医疗机构", 1)
    assert first["alerts"][0]["value"] == "0.35" and first["alerts"][0]["institution"] == "H37100200001"
    assert api_client_for(alerts.province_bureau).get("/api/v1/notices/370000/2024Q9").status_code == 404


def test_notice_api_pages_each_group_and_keeps_its_figures(alerts, api_client_for):
    w = alerts
    second = alert(
        AlertType.PROGRESS_LAG, institution=w.clinic, item=w.item, year=w.year1, first_seen=D(2024, 8, 1)
    )
    client = api_client_for(w.province_bureau)
    body = client.get("/api/v1/notices/370000/2024Q3?page_size=1").json()
    assert (body["total"], body["page"], body["page_size"]) == (5, 1, 1)
    lag = body["groups"][0]
    assert (lag["count"], lag["institutions"], lag["suppliers"], lag["has_more"]) == (2, 2, 0, True)
    # The notice's order: region path, then institution code (环翠区 371002 before 乳山 … of the clinic).
    first = [a["institution"] for a in lag["alerts"]]
    body = client.get("/api/v1/notices/370000/2024Q3?page_size=1&page=2&group=一").json()
    assert [g["number"] for g in body["groups"]] == ["一"]
    (lag,) = body["groups"]
    assert lag["has_more"] is False and len(lag["alerts"]) == 1
    assert sorted(first + [lag["alerts"][0]["institution"]]) == sorted(
        [w.hospital.code, second.institution.code]
    )
    assert first != [lag["alerts"][0]["institution"]]
    assert client.get("/api/v1/notices/370000/2024Q3?group=九十九").status_code == 404
    assert client.get("/api/v1/notices/370000/2024Q3?page_size=0").status_code == 422


def test_notice_query_count_is_constant(alerts, client_for, django_assert_max_num_queries):
    client = client_for(alerts.province_bureau)
    url = reverse("monitoring:notice", args=["370000", "2024Q3"])
    client.get(url)
    # +2: the SPEC §14 sections (rating averages, agreement years that ended in the quarter)
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200


def test_page_lists_the_first_rows_of_a_long_group_and_the_export_has_all(alerts, client_for, monkeypatch):
    w = alerts
    monkeypatch.setattr(notices, "PAGE_ROWS", 1)
    alert(AlertType.PROGRESS_LAG, institution=w.clinic, item=w.item, year=w.year1, first_seen=D(2024, 8, 1))
    client = client_for(w.city_bureau)
    url = reverse("monitoring:notice", args=["371000", "2024Q3"])
    html = client.get(url).content.decode()
    assert "本页仅列出前 1 项（共 2 项），完整清单请导出 Excel。" in html
    book = openpyxl.load_workbook(io.BytesIO(b"".join(client.get(url + "?export=xlsx").streaming_content)))
    assert book["一、采购进度滞后的医疗机构"].max_row == 4  # title, header, 2 lines
