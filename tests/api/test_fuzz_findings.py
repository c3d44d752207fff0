"""One test per root cause schemathesis found (issue 15), with the tester's exact reproduction: each answers
a 4xx in the SPEC error shape and writes nothing, on SQLite and PostgreSQL alike."""

import datetime as dt

import pytest

from jicai.tickets.models import Ticket
from jicai.trade.models import PriceException

HUGE = "9223372036854775807"  # 2^63 − 1: the OFFSET (page − 1) × page_size overflowed 64 bits
OVER_BIGINT = 2**63  # one past the largest BIGINT id


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


@pytest.mark.parametrize(
    "url",
    ["/api/v1/tickets", "/api/v1/agreements", "/api/v1/agreed-volumes", "/api/v1/price-exceptions"],
)
def test_a_huge_page_is_a_validation_error(world, api_client_for, url):
    client = api_client_for(world.province_bureau)
    error = _error(client.get(url, {"page": HUGE}), 422)
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["query", "page"]
    # The last allowed page is simply empty, as the docs promise for any page past the end.
    body = client.get(url, {"page": 100_000, "page_size": 500}).json()
    assert (body["page"], body["page_size"], body["results"]) == (100_000, 500, [])


def test_page_and_page_size_refuse_booleans_and_the_bound_is_documented(world, api_client_for):
    client = api_client_for(world.province_bureau)
    assert _error(client.get("/api/v1/tickets", {"page": "true"}), 422)["code"] == "validation_error"
    schema = client.get("/api/v1/openapi.json").json()
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/tickets"]["get"]["parameters"]}
    assert (params["page"]["minimum"], params["page"]["maximum"]) == (1, 100_000)
    assert (params["page_size"]["minimum"], params["page_size"]["maximum"]) == (1, 500)


def test_a_ticket_with_an_empty_supplier_code_is_refused(world, api_client_for):
    client = api_client_for(world.pharmacist)
    response = client.post(
        "/api/v1/tickets",
        {"supplier_code": "", "category": "shortage", "description": "断供"},
        content_type="application/json",
    )
    error = _error(response, 422)
    assert error["details"][0]["loc"] == ["body", "payload", "supplier_code"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("quarter", ["0000Q1", "9999Q4", "1999Q4", "2101Q1"])
def test_quarters_outside_the_year_range_are_not_found_in_the_api(world, api_client_for, quarter):
    client = api_client_for(world.province_bureau)
    error = _error(client.get(f"/api/v1/notices/{world.province.code}/{quarter}"), 404)
    assert "2000–2100" in error["message"]
    url = f"/api/v1/scorecards/{world.maker.code}/{world.batch.code}/{quarter}"
    assert "2000–2100" in _error(client.get(url), 404)["message"]
    assert _error(client.get("/api/v1/scorecards", {"batch": world.batch.code, "quarter": quarter}), 404)


@pytest.mark.parametrize("quarter", ["0000Q1", "9999Q4"])
def test_quarters_outside_the_year_range_are_not_found_on_the_web(world, client_for, quarter):
    client = client_for(world.province_bureau)
    assert client.get(f"/monitoring/notices/{world.province.code}/{quarter}/").status_code == 404
    url = f"/monitoring/scorecards/{world.maker.code}/{world.batch.code}/{quarter}/"
    assert client.get(url).status_code == 404
    # The index form shows the message instead of redirecting.
    page = client.get("/monitoring/notices/", {"quarter": quarter})
    assert page.status_code == 200
    assert "季度年份应在 2000–2100 之间" in page.content.decode()


def test_parse_quarter_accepts_the_range_ends():
    from jicai.monitoring.notices import parse_quarter

    assert (parse_quarter("2000Q1").start, parse_quarter("2100Q4").end) == (
        dt.date(2000, 1, 1),
        dt.date(2100, 12, 31),
    )


def test_agreement_ids_beyond_bigint_are_validation_errors(world, api_client_for):
    client = api_client_for(world.pharmacist)
    response = client.post("/api/v1/agreements/sign", {"ids": [OVER_BIGINT]}, content_type="application/json")
    assert _error(response, 422)["details"][0]["loc"] == ["body", "payload", "ids", "0"]
    assert _error(client.post(f"/api/v1/agreements/{OVER_BIGINT}/sign"), 422)["code"] == "validation_error"
    # The largest BIGINT itself is a well-formed id that simply does not exist.
    assert _error(client.post(f"/api/v1/agreements/{OVER_BIGINT - 1}/sign"), 404)["code"] == "not_found"
    response = client.post("/api/v1/agreements/sign", {"ids": [True]}, content_type="application/json")
    assert _error(response, 422)["code"] == "validation_error"


@pytest.mark.parametrize("price", [1e300, "1e300", "1000000000", True])
def test_an_absurd_exception_price_is_refused(world, api_client_for, price):
    client = api_client_for(world.province_bureau)
    payload = {
        "institution_code": world.hospital.code,
        "product_code": world.product.code,
        "unit_price": price,
        "valid_from": "2024-01-01",
        "valid_to": "2024-12-31",
        "reason": "应急采购",
    }
    error = _error(client.post("/api/v1/price-exceptions", payload, content_type="application/json"), 422)
    assert error["details"][0]["loc"] == ["body", "payload", "unit_price"]
    assert not PriceException.objects.exists()


def test_money_helpers_refuse_values_beyond_their_bounds():
    from jicai.core import money

    assert money.price("999999999.9999") == money.PRICE_MAX
    with pytest.raises(ValueError, match="单价不能超过"):
        money.price("1e300")
    with pytest.raises(ValueError, match="金额不能超过"):
        money.money("1e300")


def test_multipart_without_a_boundary_is_a_bad_request(world, api_client_for):
    client = api_client_for(world.province_bureau)
    for url in ("/api/v1/imports/institutions/file", "/api/v1/tickets/1/attachments"):
        response = client.generic("POST", url, b"--x\r\n", content_type="multipart/form-data")
        error = _error(response, 400)
        assert error["code"] == "invalid_upload"
        assert "boundary" in error["message"]


def test_schema_names_are_unique_and_tickets_document_ticket_events(world, api_client_for):
    schema = api_client_for(world.province_bureau).get("/api/v1/openapi.json").json()
    components = schema["components"]["schemas"]
    assert {"TicketEventOut", "AlertEventOut"} <= set(components)
    assert "EventOut" not in components
    ticket = components["TicketDetailOut"]["properties"]["events"]["items"]["$ref"]
    assert ticket == "#/components/schemas/TicketEventOut"
    assert "attachment_ids" in components["TicketEventOut"]["properties"]
    # No operation's responses point at a schema name that is not in components.
    text = str(schema)
    for name in {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in components


@pytest.mark.parametrize("page", [HUGE, "-1", "0", "abc", "1e300"])
def test_web_list_pages_never_fail_on_odd_page_numbers(world, client_for, page):
    # Django's Paginator.get_page falls back to the first or last page; no OFFSET is ever built from it.
    response = client_for(world.province_bureau).get("/tickets/", {"page": page})
    assert response.status_code == 200
    assert response.context["page_obj"].number == 1
