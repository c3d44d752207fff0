"""/regions, /institutions, /consortia, /companies, /products: shapes, filters, pagination and scoping."""

import pytest

from tests.api.conftest import get_json

HOSPITAL = {
    "code": "H37100200001",
    "name": "威海市环翠区人民医院",
    "region_code": "371002",
    "level": "secondary",
    "ownership": "public",
    "consortium_code": None,
}
CLINIC = {
    "code": "H37100200002",
    "name": "环翠区竹岛街道社区卫生服务中心",
    "region_code": "371002",
    "level": "grassroots",
    "ownership": "public",
    "consortium_code": None,
}
OTHER_HOSPITAL = {
    "code": "H37020200001",
    "name": "青岛市市南区人民医院",
    "region_code": "370202",
    "level": "tertiary",
    "ownership": "public",
    "consortium_code": None,
}


def codes(body):
    return [row["code"] for row in body["results"]]


# ---- regions -----------------------------------------------------------------------------------


def test_admin_lists_every_region_in_code_order(world, api_client_for):
    body = get_json(api_client_for(world.admin), "/regions")
    assert body["count"] == 5 and body["page"] == 1 and body["page_size"] == 50
    assert body["results"] == [
        {"code": "370000", "name": "山东省", "parent_code": None, "level": "province"},
        {"code": "370200", "name": "青岛市", "parent_code": "370000", "level": "city"},
        {"code": "370202", "name": "市南区", "parent_code": "370200", "level": "county"},
        {"code": "371000", "name": "威海市", "parent_code": "370000", "level": "city"},
        {"code": "371002", "name": "环翠区", "parent_code": "371000", "level": "county"},
    ]


def test_city_bureau_sees_only_its_region_subtree(world, api_client_for):
    assert codes(get_json(api_client_for(world.city_bureau), "/regions")) == ["371000", "371002"]


def test_region_filters_level_parent_and_q(world, api_client_for):
    client = api_client_for(world.province_bureau)
    assert codes(get_json(client, "/regions?level=county")) == ["370202", "371002"]
    assert codes(get_json(client, "/regions?parent=370000")) == ["370200", "371000"]
    assert codes(get_json(client, "/regions?q=威海")) == ["371000"]
    assert codes(get_json(client, "/regions?q=3710")) == ["371000", "371002"]


def test_region_detail(world, api_client_for):
    body = get_json(api_client_for(world.city_bureau), "/regions/371002")
    assert body == {"code": "371002", "name": "环翠区", "parent_code": "371000", "level": "county"}


def test_region_outside_bureau_subtree_is_404_like_a_missing_one(world, api_client_for, not_found_body):
    client = api_client_for(world.city_bureau)
    assert get_json(client, "/regions/370202", 404) == not_found_body
    assert get_json(client, "/regions/370000", 404) == not_found_body
    assert get_json(client, "/regions/999999", 404) == not_found_body


def test_invalid_region_level_filter_is_a_validation_error(world, api_client_for):
    body = get_json(api_client_for(world.admin), "/regions?level=planet", 422)
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"][0]["loc"] == ["query", "level"]


# ---- institutions ------------------------------------------------------------------------------


def test_institution_list_fields_are_the_csv_columns(world, api_client_for):
    body = get_json(api_client_for(world.province_bureau), "/institutions")
    assert body == {
        "count": 3,
        "count_exact": True,
        "has_more": False,
        "page": 1,
        "page_size": 50,
        "results": [OTHER_HOSPITAL, HOSPITAL, CLINIC],
    }


def test_institution_filters(world, api_client_for):
    client = api_client_for(world.province_bureau)
    assert codes(get_json(client, "/institutions?region=371000")) == ["H37100200001", "H37100200002"]
    assert codes(get_json(client, "/institutions?level=tertiary")) == ["H37020200001"]
    assert codes(get_json(client, "/institutions?ownership=private")) == []
    assert codes(get_json(client, "/institutions?q=竹岛")) == ["H37100200002"]
    assert codes(get_json(client, "/institutions?region=999999")) == []


def test_institution_user_sees_only_itself(world, api_client_for, not_found_body):
    client = api_client_for(world.pharmacist)
    assert get_json(client, "/institutions")["results"] == [HOSPITAL]
    assert get_json(client, "/institutions/H37100200001") == HOSPITAL
    assert get_json(client, "/institutions/H37020200001", 404) == not_found_body
    assert get_json(client, "/institutions/H37100200002", 404) == not_found_body
    assert get_json(client, "/institutions/H99999999999", 404) == not_found_body


def test_consortium_lead_also_sees_its_members(world, consortium, api_client_for):
    body = get_json(api_client_for(world.pharmacist), "/institutions")
    assert codes(body) == ["H37100200001", "H37100200002"]
    assert {r["consortium_code"] for r in body["results"]} == {"H37100200001"}


def test_city_bureau_cannot_read_an_institution_outside_its_subtree(world, api_client_for, not_found_body):
    client = api_client_for(world.city_bureau)
    assert codes(get_json(client, "/institutions")) == ["H37100200001", "H37100200002"]
    assert get_json(client, "/institutions/H37100200002") == CLINIC
    assert get_json(client, "/institutions/H37020200001", 404) == not_found_body


def test_manufacturer_sees_institutions_of_its_supply_provinces_only(
    world, jiangsu, api_client_for, not_found_body
):
    maker = api_client_for(world.manufacturer)
    assert codes(get_json(maker, "/institutions")) == ["H37020200001", "H37100200001", "H37100200002"]
    assert get_json(maker, "/institutions/H32010200001", 404) == not_found_body
    other = api_client_for(world.other_manufacturer)
    assert codes(get_json(other, "/institutions")) == ["H32010200001"]
    assert get_json(other, "/institutions/H37100200001", 404) == not_found_body


def test_distributor_without_winning_roles_sees_no_institution(world, api_client_for, not_found_body):
    client = api_client_for(world.distributor_user)
    assert get_json(client, "/institutions") == {
        "count": 0,
        "count_exact": True,
        "has_more": False,
        "page": 1,
        "page_size": 50,
        "results": [],
    }
    assert get_json(client, "/institutions/H37100200001", 404) == not_found_body


# ---- consortia ---------------------------------------------------------------------------------

CONSORTIUM = {
    "code": "H37100200001",
    "name": "环翠区紧密型医共体",
    "lead_code": "H37100200001",
    "member_codes": ["H37100200001", "H37100200002"],
    "member_count": 2,
}


def test_consortium_list_and_detail_carry_member_codes(world, consortium, api_client_for):
    client = api_client_for(world.county_bureau)
    assert get_json(client, "/consortia") == {
        "count": 1,
        "count_exact": True,
        "has_more": False,
        "page": 1,
        "page_size": 50,
        "results": [CONSORTIUM],
    }
    assert get_json(client, "/consortia/H37100200001") == CONSORTIUM
    assert get_json(api_client_for(world.pharmacist), "/consortia/H37100200001") == CONSORTIUM


def test_consortium_q_filter(world, consortium, api_client_for):
    client = api_client_for(world.admin)
    assert codes(get_json(client, "/consortia?q=环翠")) == ["H37100200001"]
    assert codes(get_json(client, "/consortia?q=青岛")) == []


def test_consortium_outside_scope_is_404(world, consortium, api_client_for, not_found_body):
    for user in (world.other_city_bureau, world.other_pharmacist, world.other_manufacturer):
        client = api_client_for(user)
        assert get_json(client, "/consortia")["results"] == []
        assert get_json(client, "/consortia/H37100200001", 404) == not_found_body


def test_member_institution_does_not_see_the_consortium(world, consortium, api_client_for, not_found_body):
    """The clinic's own user is a member, not the lead: the consortium (led elsewhere) is not its to see."""
    from jicai.accounts.models import OrganisationKind, Role
    from tests.factories import org, user

    clinic_user = user(
        "zd_pharmacy", org(OrganisationKind.INSTITUTION, institution=world.clinic), Role.INSTITUTION
    )
    assert get_json(api_client_for(clinic_user), "/consortia/H37100200001", 404) == not_found_body


# ---- companies ---------------------------------------------------------------------------------

MAKER = {"code": "91370000MA0000001T", "name": "齐鲁制药有限公司", "kind": "manufacturer"}
OTHER_MAKER = {"code": "91370000MA0000002X", "name": "华北制药股份有限公司", "kind": "manufacturer"}
DISTRIBUTOR = {"code": "91370000MA00000031", "name": "国药控股山东有限公司", "kind": "distributor"}


def test_companies_are_public_to_every_signed_in_user(world, api_client_for):
    body = get_json(api_client_for(world.doctor), "/companies")
    assert body == {
        "count": 3,
        "count_exact": True,
        "has_more": False,
        "page": 1,
        "page_size": 50,
        "results": [MAKER, OTHER_MAKER, DISTRIBUTOR],
    }
    assert get_json(api_client_for(world.other_pharmacist), "/companies/91370000MA0000001T") == MAKER


def test_company_filters(world, api_client_for):
    client = api_client_for(world.city_bureau)
    assert get_json(client, "/companies?kind=distributor")["results"] == [DISTRIBUTOR]
    assert get_json(client, "/companies?q=华北")["results"] == [OTHER_MAKER]


def test_missing_company_is_404(world, api_client_for, not_found_body):
    assert get_json(api_client_for(world.admin), "/companies/91370000MA99999999", 404) == not_found_body


# ---- products ----------------------------------------------------------------------------------

PRODUCT = {
    "code": "XC10AAA001A001010100001",
    "generic_name": "阿托伐他汀钙",
    "dosage_form": "片剂",
    "spec": "20mg",
    "pack": "7片/盒",
    "unit": "片",
    "units_per_pack": 7,
    "manufacturer_code": "91370000MA0000001T",
    "category": "western",
    "consistency_passed": True,
    "originator": False,
    "dosage_form_group": "口服常释剂型",
}


def test_product_fields_are_the_csv_columns(world, api_client_for):
    client = api_client_for(world.pharmacist)
    assert get_json(client, "/products/XC10AAA001A001010100001") == PRODUCT
    body = get_json(client, "/products")
    assert body["count"] == 2 and body["results"][0] == PRODUCT
    assert body["results"][1]["manufacturer_code"] == "91370000MA0000002X"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("manufacturer=91370000MA0000002X", ["XC10AAA001A001010100002"]),
        ("category=western", ["XC10AAA001A001010100001", "XC10AAA001A001010100002"]),
        ("category=chinese", []),
        ("dosage_form_group=口服常释剂型&q=00002", ["XC10AAA001A001010100002"]),
        ("q=阿托伐他汀", ["XC10AAA001A001010100001", "XC10AAA001A001010100002"]),
    ],
)
def test_product_filters(world, api_client_for, query, expected):
    assert codes(get_json(api_client_for(world.admin), f"/products?{query}")) == expected


def test_missing_product_is_404(world, api_client_for, not_found_body):
    assert get_json(api_client_for(world.admin), "/products/XC10AAA001A001010199999", 404) == not_found_body


def test_consortium_member_codes_only_list_members_the_actor_may_see(world, consortium, api_client_for):
    """A member in another city stays hidden from the county bureau that can see the lead."""
    world.other_hospital.consortium = consortium
    world.other_hospital.save(update_fields=["consortium"])
    county = get_json(api_client_for(world.county_bureau), "/consortia/H37100200001")
    assert (county["member_codes"], county["member_count"]) == (["H37100200001", "H37100200002"], 2)
    province = get_json(api_client_for(world.province_bureau), "/consortia/H37100200001")
    assert province["member_codes"] == ["H37020200001", "H37100200001", "H37100200002"]
