"""The /policy/ page: scoped region selector, every parameter with value/source/SPEC text, override form."""

from decimal import Decimal

import pytest
from django.urls import reverse

from jicai.core.models import AuditLog
from jicai.policy.models import PolicyProfile
from jicai.policy.parameters import PARAMETERS

URL = "/policy/"


def test_url_name_resolves():
    assert reverse("policy:profile") == URL


def test_admin_sees_platform_defaults_for_every_parameter(world, client_for):
    response = client_for(world.admin).get(URL)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["row"].name for r in rows] == [p.name for p in PARAMETERS]
    assert response.context["view"].region is None
    html = response.content.decode()
    assert 'data-testid="source-report_drop_threshold">默认值（SPEC）<' in html
    assert "1 家：0.50；2 家：0.60；3 家：0.70；4+ 家：0.80" in html
    assert "Yantai 一: ≤ max(1.5 × own winning price, highest winning price of the item)" in html
    assert ">全平台</option>" in html


def test_bureau_defaults_to_its_region_and_lists_only_its_subtree(world, client_for, profile):
    profile(world.province, report_drop_threshold="0.15")
    response = client_for(world.city_bureau).get(URL)
    assert response.status_code == 200
    assert response.context["view"].region == world.city
    assert [r.code for r in response.context["regions"]] == ["371000", "371002"]
    html = response.content.decode()
    assert 'data-testid="source-report_drop_threshold">山东省配置<' in html
    assert ">全平台</option>" not in html
    assert response.context["view"].can_edit


def test_bureau_picks_a_county_and_a_batch(world, client_for, profile):
    profile(world.city, world.batch, over_purchase_multiple="5")
    response = client_for(world.city_bureau).get(URL, {"region": "371002", "batch": "GY-YD2023-1"})
    row = next(r for r in response.context["rows"] if r["row"].name == "over_purchase_multiple")
    assert (row["row"].value, row["row"].source) == (Decimal("5"), "威海市配置（批次 GY-YD2023-1）")
    assert row["override"] == ""  # nothing stored at the county itself


@pytest.mark.parametrize("region", ["370000", "370200", "370202", "999999"])
def test_city_bureau_asking_for_a_region_outside_its_subtree_gets_404(world, client_for, region):
    client = client_for(world.city_bureau)
    assert client.get(URL, {"region": region}).status_code == 404
    response = client.post(URL, {"region": region, "delivery_grace_days": "9"})
    assert response.status_code == 404
    assert not PolicyProfile.objects.exists()
    assert not AuditLog.objects.filter(action="set_policy_values").exists()


def test_unknown_batch_is_404(world, client_for):
    assert client_for(world.admin).get(URL, {"batch": "NOPE"}).status_code == 404


@pytest.mark.parametrize("who", ["pharmacist", "doctor", "manufacturer", "distributor_user"])
def test_institutions_and_companies_get_404(world, client_for, who):
    client = client_for(getattr(world, who))
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"delivery_grace_days": "9"}).status_code == 404
    assert not PolicyProfile.objects.exists()


def post_all(client, region="", batch="", **values):
    data = {p.name: "" for p in PARAMETERS}
    data.update(values)
    data.update(region=region, batch=batch)
    return client.post(URL, data)


def test_bureau_saves_overrides_and_sees_them(world, client_for):
    client = client_for(world.city_bureau)
    response = post_all(
        client,
        region="371000",
        batch="GY-YD2023-1",
        report_drop_threshold="0.05",
        agreed_ratio_by_winners="1:0.6, 2+:0.7",
        note="威医保〔2025〕1号",
    )
    assert response.status_code == 302
    assert response["Location"] == "/policy/?region=371000&batch=GY-YD2023-1"
    stored = PolicyProfile.objects.get(region=world.city, batch=world.batch)
    assert stored.values == {
        "report_drop_threshold": "0.05",
        "agreed_ratio_by_winners": {"1": "0.6", "2+": "0.7"},
    }
    assert stored.note == "威医保〔2025〕1号"

    page = client.get(response["Location"])
    rows = {r["row"].name: r for r in page.context["rows"]}
    assert rows["report_drop_threshold"]["override"] == "0.05"
    assert rows["agreed_ratio_by_winners"]["override"] == "1:0.6, 2+:0.7"
    assert rows["report_drop_threshold"]["row"].source == "威海市配置（批次 GY-YD2023-1）"


def test_invalid_values_show_errors_and_write_nothing(world, client_for):
    client = client_for(world.admin)
    response = post_all(client, report_drop_threshold="abc", months_to_complete="12", delivery_grace_days="4")
    assert response.status_code == 400
    rows = {r["row"].name: r for r in response.context["rows"]}
    assert rows["report_drop_threshold"]["error"] == "应为数字，实际为“abc”"
    assert rows["months_to_complete"]["error"].startswith("应为 10（10 个月）、11（11 个月） 之一")
    assert rows["delivery_grace_days"]["override"] == "4"  # what was typed is kept
    assert not PolicyProfile.objects.exists()


def test_admin_edits_the_platform_profile(world, client_for):
    response = post_all(client_for(world.admin), payment_due_rule="end_of_next_month")
    assert response.status_code == 302 and response["Location"] == "/policy/"
    assert PolicyProfile.objects.get(region=None, batch=None).values == {
        "payment_due_rule": "end_of_next_month"
    }


def test_county_bureau_sees_inherited_values_read_only_above_but_edits_its_own(world, client_for, profile):
    profile(world.city, delivery_grace_days=6)
    response = client_for(world.county_bureau).get(URL)
    assert response.context["view"].region == world.county
    row = next(r for r in response.context["rows"] if r["row"].name == "delivery_grace_days")
    assert (row["row"].value, row["row"].source) == (6, "威海市配置")
    assert client_for(world.county_bureau).get(URL, {"region": "371000"}).status_code == 404
