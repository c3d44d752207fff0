"""GET /api/v1/policy: the same values and scoping as the page."""

import pytest

from jicai.policy.parameters import PARAMETERS


def test_admin_gets_platform_defaults(world, api_client_for):
    response = api_client_for(world.admin).get("/api/v1/policy")
    assert response.status_code == 200
    body = response.json()
    assert (body["region"], body["batch"]) == (None, None)
    assert [p["name"] for p in body["parameters"]] == [p.name for p in PARAMETERS]
    first = body["parameters"][0]
    assert first == {
        "name": "report_drop_threshold",
        "label": "报量低于历史采购量需说明的比例",
        "value": "0.20",
        "source": "默认值（SPEC）",
        "source_text": 'Shandong (一); Henan uses 0.0 ("低于历史采购量")',
    }
    ratio = next(p for p in body["parameters"] if p["name"] == "agreed_ratio_by_winners")
    assert ratio["value"] == {"1": "0.50", "2": "0.60", "3": "0.70", "4+": "0.80"}


def test_bureau_defaults_to_its_region_and_sees_inherited_sources(world, api_client_for, profile):
    profile(world.province, delivery_grace_days=4)
    profile(world.city, world.batch, delivery_grace_days=2)
    client = api_client_for(world.county_bureau)
    body = client.get("/api/v1/policy").json()
    grace = next(p for p in body["parameters"] if p["name"] == "delivery_grace_days")
    assert (body["region"], grace["value"], grace["source"]) == ("371002", 4, "山东省配置")
    body = client.get("/api/v1/policy", {"region": "371002", "batch": "GY-YD2023-1"}).json()
    grace = next(p for p in body["parameters"] if p["name"] == "delivery_grace_days")
    assert (body["batch"], grace["value"], grace["source"]) == (
        "GY-YD2023-1",
        2,
        "威海市配置（批次 GY-YD2023-1）",
    )


@pytest.mark.parametrize("region", ["370000", "370200", "370202"])
def test_city_bureau_asking_outside_its_subtree_gets_404(world, api_client_for, region):
    response = api_client_for(world.city_bureau).get("/api/v1/policy", {"region": region})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("who", ["pharmacist", "manufacturer", "distributor_user"])
def test_institutions_and_companies_get_404(world, api_client_for, who):
    response = api_client_for(getattr(world, who)).get("/api/v1/policy")
    assert response.status_code == 404


def test_unknown_batch_is_404_and_no_token_is_401(world, api_client_for, client):
    assert api_client_for(world.admin).get("/api/v1/policy", {"batch": "NOPE"}).status_code == 404
    assert client.get("/api/v1/policy").status_code == 401


def test_session_login_works_too(world, client_for):
    assert client_for(world.province_bureau).get("/api/v1/policy").json()["region"] == "370000"
