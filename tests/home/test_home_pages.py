"""One home page per role, built from the database (tests/factories.build_world)."""

import pytest

from jicai.core import audit
from tests.web.helpers import assert_csp_clean, html, json_script, make_consortium, table_rows

pytestmark = pytest.mark.django_db


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_admin_home_counts_master_tables_and_shows_recent_audit_rows(world, client_for):
    audit.record(actor=world.admin, action="edit_batch", obj=world.batch, summary="调整采购周期")
    response = client_for(world.admin).get("/")
    assert response.status_code == 200
    counts = dict((label, int(n)) for label, n in table_rows(response, "master-counts"))
    assert counts["行政区划"] == 5
    assert counts["医疗机构"] == 3
    assert counts["企业"] == 3
    assert counts["产品"] == 2
    assert counts["集采批次"] == 1
    assert counts["采购品种"] == 1
    assert counts["中选结果"] == 1
    assert counts["机构账户"] == 10
    assert counts["用户"] == 11
    audit_rows = table_rows(response, "audit-rows")
    assert audit_rows[0][1:] == ["admin", "edit_batch", f"batches.batch:{world.batch.pk}", "调整采购周期"]
    assert_csp_clean(response)


@pytest.mark.parametrize(
    "persona, title, total, levels, children",
    [
        ("province_bureau", "山东省医疗保障局", 3, [1, 1, 0, 1], [["青岛市", "1"], ["威海市", "2"]]),
        ("city_bureau", "威海市医疗保障局", 2, [0, 1, 0, 1], [["环翠区", "2"]]),
        ("county_bureau", "环翠区医疗保障局", 2, [0, 1, 0, 1], []),
        ("other_city_bureau", "青岛市医疗保障局", 1, [1, 0, 0, 0], [["市南区", "1"]]),
    ],
)
def test_bureau_home_shows_its_subtree_by_level(world, client_for, persona, title, total, levels, children):
    response = client_for(getattr(world, persona)).get("/")
    body = html(response)
    assert title in body
    assert f'data-testid="institution-total">{total}<' in body
    chart = json_script(response, "level-chart")
    assert chart == {"labels": ["三级", "二级", "一级", "基层"], "values": levels, "series": "医疗机构数"}
    rows = table_rows(response, "home-children")
    assert rows == (children or [["无下级区划"]])
    assert table_rows(response, "home-batches")[0][0] == "GY-YD2023-1"
    assert table_rows(response, "home-batches")[0][4] == "1"
    assert "vendor/echarts.min.js" in body and "web/charts.js" in body
    assert_csp_clean(response)


def test_pharmacist_home_shows_institution_and_batches(world, client_for):
    response = client_for(world.pharmacist).get("/")
    body = html(response)
    assert "威海市环翠区人民医院 · 药学部工作台" in body
    assert "未加入医共体" in body
    assert table_rows(response, "home-batches")[0][:3] == ["GY-YD2023-1", "GY-YD2023-1 集采", "国家集采"]
    assert 'data-testid="members"' not in body
    assert_csp_clean(response)


def test_consortium_lead_home_lists_members(world, client_for):
    make_consortium(world)
    response = client_for(world.pharmacist).get("/")
    assert "环翠区医共体" in html(response) and "（牵头机构）" in html(response)
    members = table_rows(response, "members")
    assert [m[0] for m in members] == ["H37100200001", "H37100200002"]


def test_doctor_home_shows_own_institution_and_no_invented_numbers(world, client_for):
    response = client_for(world.doctor).get("/")
    body = html(response)
    assert "医师工作台" in body and "威海市环翠区人民医院" in body
    assert "处方提示" in body and "尚未建设" in body
    assert "青岛市市南区人民医院" not in body


def test_manufacturer_home_shows_products_and_winning_roles(world, client_for):
    response = client_for(world.manufacturer).get("/")
    body = html(response)
    assert "齐鲁制药有限公司 · 企业工作台" in body
    assert 'data-testid="product-count">1<' in body
    assert table_rows(response, "home-winners") == [
        ["GY-YD2023-1", "阿托伐他汀钙", "20mg", "山东省", "主供", "0.1200"]
    ]
    assert json_script(response, "role-chart")["values"] == [1, 0, 0, 0]
    assert "华北制药" not in body
    assert_csp_clean(response)


def test_other_manufacturer_without_winners_sees_empty_roles(world, client_for):
    response = client_for(world.other_manufacturer).get("/")
    assert table_rows(response, "home-winners") == [["暂无中选记录"]]
    assert json_script(response, "role-chart")["values"] == [0, 0, 0, 0]


def test_distributor_home_shows_company(world, client_for):
    response = client_for(world.distributor_user).get("/")
    body = html(response)
    assert "国药控股山东有限公司 · 配送工作台" in body and "配送企业" in body
    assert table_rows(response, "home-deliveries") == [
        ["待配送订单行", "0"],
        ["待配送数量", "0"],
        ["已超过配送时限", "0"],
    ]
    assert "暂无待配送订单" in body


def test_user_without_organisation_gets_explanation(world, client_for):
    from jicai.accounts.models import User

    orphan = User.objects.create_user(username="orphan", password="x-Pass-2026", role="bureau")
    response = client_for(orphan).get("/")
    assert response.status_code == 200 and "尚未关联机构" in html(response)


def test_nav_lists_pages_by_role(world, client_for):
    body = html(client_for(world.doctor).get("/"))
    assert 'href="/registry/institutions/"' in body and 'href="/registry/products/"' in body
    # API tokens are the pharmacy's business (issue 15): a doctor's menu does not offer them.
    assert 'href="/accounts/tokens/"' not in body and 'href="/trade/orders/"' not in body


def test_admin_menu_has_no_entries_that_act_for_one_party(world, client_for):
    """Ordering, opening tickets and reviewing reports are done by institutions and bureaus, not admins."""
    page = client_for(world.admin).get("/").content.decode()
    for href in ('href="/trade/order/"', 'href="/tickets/new/"', 'href="/demand/queue/"'):
        assert href not in page
    assert 'href="/trade/order/"' in client_for(world.pharmacist).get("/").content.decode()
