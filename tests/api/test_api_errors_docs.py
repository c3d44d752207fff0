"""One error shape for every failure under /api/v1/; OpenAPI lists every path; docs work offline."""

import re

import pytest
from django.test import Client

from jicai.registry import queries as registry_queries
from tests.api.conftest import API, get_json

EXPECTED_PATHS = {
    "/me",
    "/tokens",
    "/tokens/{token_id}",
    "/regions",
    "/regions/{code}",
    "/institutions",
    "/institutions/{code}",
    "/consortia",
    "/consortia/{code}",
    "/companies",
    "/companies/{code}",
    "/products",
    "/products/{code}",
    "/batches",
    "/batches/{code}",
    "/batches/{code}/items",
    "/batches/{code}/items/{item_code}",
    "/winners",
    "/substitutes",
    "/listing-prices",
}


def assert_error_shape(body, code):
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]


@pytest.mark.parametrize(
    "query, loc",
    [
        ("page=0", ["query", "page"]),
        ("page=abc", ["query", "page"]),
        ("page_size=501", ["query", "page_size"]),
        ("page_size=0", ["query", "page_size"]),
    ],
)
def test_bad_pagination_is_422_in_the_error_shape(world, api_client_for, query, loc):
    body = get_json(api_client_for(world.admin), f"/institutions?{query}", 422)
    assert_error_shape(body, "validation_error")
    assert [d["loc"] for d in body["error"]["details"]] == [loc]


def test_page_size_500_is_allowed(world, api_client_for):
    assert get_json(api_client_for(world.admin), "/institutions?page_size=500")["page_size"] == 500


def test_unknown_route_is_json_404(world, api_client_for):
    client = api_client_for(world.admin)
    for path in ("/nothing-here", "/institutions/H37100200001/extra", "/institutions/"):
        response = client.get(API + path)
        assert response.status_code == 404
        assert_error_shape(response.json(), "not_found")
    # Also for anonymous callers and unsafe methods (no CSRF page, no HTML).
    response = Client().post(f"{API}/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["details"] == [
        {"path": "/api/v1/nothing-here"}
    ]


def test_wrong_method_is_json_405_with_allow_header(world, api_client_for):
    response = api_client_for(world.admin).delete(f"{API}/institutions")
    assert response.status_code == 405
    assert response.json() == {
        "error": {
            "code": "method_not_allowed",
            "message": "不支持 DELETE 方法",
            "details": [{"allowed": ["GET"]}],
        }
    }
    assert response["Allow"] == "GET"


def test_api_root_describes_where_the_docs_are(world):
    response = Client().get(f"{API}/")
    assert response.status_code == 200
    assert response.json()["docs"] == "/api/v1/docs" and response.json()["openapi"] == "/api/v1/openapi.json"


def test_unexpected_exception_is_500_in_the_error_shape(world, api_client_for, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(registry_queries, "list_companies", boom)
    response = api_client_for(world.admin).get(f"{API}/companies")
    assert response.status_code == 500
    body = response.json()
    assert_error_shape(body, "server_error")
    assert "secret" not in response.content.decode()


def test_openapi_lists_every_path_and_documents_decimal_strings(world):
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert {p.removeprefix("/api/v1") for p in schema["paths"]} >= EXPECTED_PATHS
    assert set(schema["paths"]["/api/v1/tokens"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/tokens/{token_id}"]) == {"delete"}
    price = schema["components"]["schemas"]["WinnerOut"]["properties"]["winning_price"]
    assert price["type"] == "string" and "never a float" in price["description"]
    listing = schema["components"]["schemas"]["ListingPriceOut"]["properties"]["price"]
    assert listing["type"] == "string" and "never a float" in listing["description"]
    page = schema["components"]["schemas"]["InstitutionPage"]
    assert set(page["properties"]) == {"count", "count_exact", "has_more", "page", "page_size", "results"}
    assert "ErrorOut" in schema["components"]["schemas"]
    assert {"BearerToken", "SessionActor"} <= set(schema["components"]["securitySchemes"])


def test_docs_page_loads_swagger_ui_from_this_server_only(world):
    client = Client()
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) == 5 and all(a.startswith("/api/v1/docs/assets/") for a in assets)
    for asset in assets:
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        assert b"".join(asset_response.streaming_content)
    # The strict CSP is relaxed just enough for Swagger UI on the docs page; no external sources allowed.
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in csp and "http" not in csp
    assert "'unsafe-inline'" not in Client().get(f"{API}/openapi.json")["Content-Security-Policy"]


def test_docs_assets_outside_the_allow_list_are_404(world):
    for name in ("swagger.html", "..%2F..%2F__init__.py", "redoc.standalone.js.map"):
        response = Client().get(f"{API}/docs/assets/{name}")
        assert response.status_code == 404
        assert_error_shape(response.json(), "not_found")
