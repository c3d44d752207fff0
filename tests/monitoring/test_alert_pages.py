"""Alert pages: scoped list with filters, search, pagination and XLSX export; the alert page with value vs
threshold and the explain / resolve / escalate forms; every out-of-scope request answers 404 and changes
nothing."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jicai.monitoring.models import Alert, AlertEvent
from tests.monitoring.conftest import agreed, monitor, received

D = dt.date
LIST = reverse("monitoring:alerts")


def _url(alert):
    return reverse("monitoring:alert", args=[alert.pk])


def _step(alert, step):
    return reverse("monitoring:alert_step", args=[alert.pk, step])


def _make(w, n=1, **kw):
    """n stored alerts (as monitoring would store them) with distinct keys."""
    fields = dict(
        type="LATE_PAYMENT",
        institution=w.hospital,
        supplier=w.maker,
        item=w.item,
        value=Decimal("12.5"),
        threshold=Decimal("30"),
    )
    fields.update(kw)
    start = Alert.objects.count()
    rows = [
        Alert(
            key=f"test:{start + i}",
            first_seen_on=D(2024, 6, 1),
            last_seen_on=D(2024, 6, 8),
            **fields,
        )
        for i in range(n)
    ]
    return Alert.objects.bulk_create(rows)


@pytest.fixture
def lagging(mworld):
    """A real PROGRESS_LAG of the hospital (county 371002): 10 of 365 on day 100 → 2.74% vs 27.40%."""
    w = mworld
    agreed(w, w.hospital, 365)
    received(w.hospital, w.product, 10, D(2024, 4, 1), item=w.item)
    monitor(D(2024, 6, 8))
    return Alert.objects.get(type="PROGRESS_LAG")


def _ids(response):
    table = response.content.decode()
    return {a.pk for a in Alert.objects.all() if f'href="{_url(a)}"' in table}


def test_list_is_scoped_per_organisation(client_for, mworld):
    w = mworld
    mine = _make(w)[0]
    theirs = _make(w, institution=w.other_hospital, supplier=w.other_maker)[0]
    expected = {
        w.county_bureau: {mine.pk},
        w.city_bureau: {mine.pk},
        w.province_bureau: {mine.pk, theirs.pk},
        w.other_city_bureau: {theirs.pk},
        w.pharmacist: {mine.pk},
        w.other_pharmacist: {theirs.pk},
        w.manufacturer: {mine.pk},
        w.other_manufacturer: {theirs.pk},
        w.distributor_user: set(),
    }
    for user, ids in expected.items():
        response = client_for(user).get(LIST)
        assert response.status_code == 200, user.username
        assert _ids(response) == ids, user.username


def test_filters_and_search(client_for, mworld):
    w = mworld
    pay = _make(w)[0]
    lag = _make(w, type="PROGRESS_LAG", status="explained", supplier=None)[0]
    report = _make(w, type="LATE_SUPPLIER_REPORT", institution=None, item=None, province=w.province)[0]
    referred = _make(w, institution=w.other_hospital, supplier=w.other_maker, escalation="referred")[0]
    closed = _make(w, status="closed", institution=w.clinic)[0]
    client = client_for(w.province_bureau)
    cases = {
        "type=PROGRESS_LAG": {lag.pk},
        "status=explained": {lag.pk},
        "status=active": {pay.pk, lag.pk, report.pk, referred.pk},
        "status=closed": {closed.pk},
        "escalation=referred": {referred.pk},
        "escalation=none": {pay.pk, lag.pk, report.pk, closed.pk},
        "region=370200": {referred.pk},
        "region=371002": {pay.pk, lag.pk, closed.pk},
        f"supplier={w.other_maker.code}": {referred.pk},
        "item=GY7-001": {pay.pk, lag.pk, referred.pk, closed.pk},
        "q=青岛": {referred.pk},
        "q=H37100200002": {closed.pk},
        "type=LATE_PAYMENT&region=371002&status=active": {pay.pk},
    }
    for query, ids in cases.items():
        assert _ids(client.get(f"{LIST}?{query}")) == ids, query


def test_pagination_50_per_page_keeps_filters_and_query_count_is_flat(client_for, mworld):
    w = mworld
    _make(w, 51)
    client = client_for(w.county_bureau)
    first = client.get(f"{LIST}?type=LATE_PAYMENT")
    assert len(_ids(first)) == 50
    assert 'href="?type=LATE_PAYMENT&amp;page=2"' in first.content.decode()
    assert len(_ids(client.get(f"{LIST}?type=LATE_PAYMENT&page=2"))) == 1
    with CaptureQueriesContext(connection) as few:
        client.get(f"{LIST}?page=2")
    with CaptureQueriesContext(connection) as many:
        client.get(LIST)
    assert len(many) == len(few)


def test_xlsx_export_has_every_filtered_row(client_for, mworld):
    w = mworld
    _make(w, 60)
    _make(w, type="PROGRESS_LAG", value=Decimal("0.0274"), threshold=Decimal("0.273973"), supplier=None)
    response = client_for(w.county_bureau).get(f"{LIST}?type=LATE_PAYMENT&export=xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "预警类型", "状态")
    assert len(rows) == 61
    assert {r[1] for r in rows[1:]} == {"未及时回款"}
    header = list(rows[0])
    assert rows[1][header.index("指标值")] == "12.50"
    assert rows[1][header.index("阈值")] == "30"


def test_detail_shows_subject_value_threshold_and_log(client_for, mworld, lagging):
    w = mworld
    body = client_for(w.county_bureau).get(_url(lagging)).content.decode()
    assert "采购进度滞后" in body and "威海市环翠区人民医院" in body and "GY7-001" in body
    assert 'data-testid="alert-value">2.74%<' in body
    assert 'data-testid="alert-threshold">27.40%<' in body
    assert "2024-06-08" in body and 'data-testid="event-opened"' in body
    # the bureau of the region gets the escalation (first step) and resolve forms, not the explain form
    assert 'data-testid="escalate-form"' in body and 'value="reminded"' in body
    assert 'data-testid="resolve-form"' in body and 'data-testid="explain-form"' not in body
    body = client_for(w.pharmacist).get(_url(lagging)).content.decode()
    assert 'data-testid="explain-form"' in body
    assert 'data-testid="resolve-form"' not in body and 'data-testid="escalate-form"' not in body
    # a doctor of the same hospital does not see the institution's alerts (SPEC §1, §9; issue 15)
    assert client_for(w.doctor).get(_url(lagging)).status_code == 404


def test_wrong_organisation_gets_404_on_page_and_every_step_and_nothing_changes(client_for, mworld, lagging):
    w = mworld
    for user in (w.other_city_bureau, w.other_pharmacist, w.other_manufacturer, w.distributor_user):
        client = client_for(user)
        assert client.get(_url(lagging)).status_code == 404, user.username
        for step, data in (
            ("explain", {"reason": "x"}),
            ("resolve", {"reason": "x"}),
            ("escalate", {"step": "reminded", "reason": "x"}),
        ):
            assert client.post(_step(lagging, step), data).status_code == 404, (user.username, step)
    lagging.refresh_from_db()
    assert (lagging.status, lagging.escalation, lagging.explanation) == ("open", "", "")
    assert list(lagging.events.values_list("action", flat=True)) == ["opened"]
    assert client_for(w.county_bureau).get(reverse("monitoring:alert", args=[999999])).status_code == 404


def test_explain_then_escalate_then_resolve_through_the_page(client_for, mworld, lagging):
    w = mworld
    pharmacy, bureau = client_for(w.pharmacist), client_for(w.county_bureau)
    response = pharmacy.post(_step(lagging, "explain"), {"reason": "五月停诊装修"}, follow=True)
    assert "说明已提交" in response.content.decode()
    assert "五月停诊装修" in response.content.decode()
    # the subject cannot resolve; that is refused with 403 and nothing changes
    assert pharmacy.post(_step(lagging, "resolve"), {"reason": "自行办结"}).status_code == 403
    # skipping a step is refused with a message, nothing changes
    response = bureau.post(_step(lagging, "escalate"), {"step": "notified", "reason": "跳级"}, follow=True)
    assert "下一步应为：已提醒" in response.content.decode()
    bureau.post(_step(lagging, "escalate"), {"step": "reminded", "reason": "电话提醒"})
    response = bureau.get(_url(lagging))
    assert 'value="notified"' in response.content.decode()
    bureau.post(_step(lagging, "resolve"), {"reason": "已整改"})
    lagging.refresh_from_db()
    assert (lagging.status, lagging.escalation, lagging.explanation) == (
        "resolved",
        "reminded",
        "五月停诊装修",
    )
    events = list(AlertEvent.objects.filter(alert=lagging).values_list("action", "actor__username", "reason"))
    assert events == [
        ("opened", None, ""),
        ("explained", "hc_pharmacy", "五月停诊装修"),
        ("reminded", "hc_bureau", "电话提醒"),
        ("resolved", "hc_bureau", "已整改"),
    ]
    body = bureau.get(_url(lagging)).content.decode()
    assert 'data-testid="resolve-form"' not in body and 'data-testid="escalate-form"' not in body


def test_empty_reason_is_refused_and_get_on_a_step_is_not_allowed(client_for, mworld, lagging):
    w = mworld
    client = client_for(w.pharmacist)
    response = client.post(_step(lagging, "explain"), {"reason": "  "}, follow=True)
    assert "请填写原因" in response.content.decode()
    assert client.get(_step(lagging, "explain")).status_code == 405
    assert client.post(_step(lagging, "unknown"), {"reason": "x"}).status_code == 404
    lagging.refresh_from_db()
    assert lagging.status == "open"


def test_pages_need_login(client, mworld, lagging):
    assert client.get(LIST).status_code == 302
    assert client.get(_url(lagging)).status_code == 302
    assert client.post(_step(lagging, "explain"), {"reason": "x"}).status_code == 302
    lagging.refresh_from_db()
    assert lagging.status == "open"


def test_no_inline_script_or_style(client_for, mworld, lagging):
    w = mworld
    for url in (LIST, _url(lagging)):
        body = client_for(w.county_bureau).get(url).content.decode()
        assert "<script>" not in body and 'style="' not in body and "onclick" not in body


def test_supplier_only_alerts_are_the_province_bureaus_not_a_citys(client_for, mworld):
    w = mworld
    report = _make(w, type="LATE_SUPPLIER_REPORT", institution=None, item=None, province=w.province)[0]
    assert report.pk in _ids(client_for(w.province_bureau).get(LIST))
    for user in (w.city_bureau, w.county_bureau):
        assert report.pk not in _ids(client_for(user).get(LIST)), user.username
        assert client_for(user).get(f"/monitoring/alerts/{report.pk}/").status_code == 404
