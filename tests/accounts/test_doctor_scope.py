"""A doctor sees only own quota, prompts and the catalogue (SPEC §1, §9; issue 15): every other page and
API endpoint — list or detail, read or write — answers 404 and changes nothing, the institution's real
orders included; the doctor's menu holds only links it can open."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.urls import get_resolver
from django.urls.resolvers import URLResolver

from jicai.accounts import access
from jicai.accounts.actions import create_api_token
from jicai.batches.models import ListingPrice
from jicai.ingest.pipeline import run_import
from jicai.trade.models import Order, OrderLine

ORDERS = (
    "order_id,line_no,institution_code,supplier_code,distributor_code,product_code,qty,unit_price,ordered_on,status\n"
    "PO1,1,H37100200001,{m},{d},{p},1000,0.1200,2025-02-01,open\n"
)


@pytest.fixture
def hospital_orders(world):
    ListingPrice.objects.create(
        product=world.product,
        province=world.province,
        price=Decimal("0.1200"),
        valid_from=dt.date(2024, 3, 1),
    )
    content = ORDERS.format(m=world.maker.code, d=world.distributor.code, p=world.product.code).encode()
    run_import(kind="orders", rows_or_file=content, filename="orders.csv", actor=None, source="cli")
    return world


def all_paths() -> list[str]:
    """Every route of the site (admin aside) with its parameters filled in with plausible values."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    paths = set()
    for route in walk(get_resolver().url_patterns):
        if route.startswith("admin/") or "^" in route:
            continue  # the Django admin (staff only) and regex catch-alls
        route = re.sub(r"<int:\w+>", "1", route)
        route = re.sub(r"<(?:str:|slug:)?(\w+)>", lambda m: "PO1" if "order" in m.group(1) else "1", route)
        paths.add("/" + route)
    return sorted(paths)


ALL_PATHS = all_paths()
CLOSED = [p for p in ALL_PATHS if not access.doctor_may_open(p)]


def test_the_walk_covers_the_institutions_pages_and_endpoints():
    for path in (
        "/trade/orders/",
        "/trade/payables/",
        "/agreements/",
        "/trade/deliveries/",
        "/tickets/",
        "/monitoring/alerts/",
        "/demand/reports/",
        "/api/v1/orders",
        "/api/v1/payables",
        "/api/v1/agreements",
        "/api/v1/tickets",
        "/api/v1/alerts",
        "/api/v1/demand/reports",
        "/imports/",
        "/accounts/tokens/",
    ):
        assert path in CLOSED
    assert len(CLOSED) > 100


def test_doctor_gets_404_on_every_closed_page_and_endpoint(hospital_orders, client_for):
    client = client_for(hospital_orders.doctor)
    opened = {path: client.get(path).status_code for path in CLOSED}
    assert {path: status for path, status in opened.items() if status != 404} == {}
    body = json.loads(client.get("/api/v1/orders").content)
    assert body == {"error": {"code": "not_found", "message": "未找到该记录，或您无权查看", "details": []}}


def test_doctor_writes_answer_404_and_change_nothing(hospital_orders, client_for):
    client = client_for(hospital_orders.doctor)
    before = (list(Order.objects.values()), list(OrderLine.objects.values()))
    for path in (
        "/api/v1/orders",
        "/api/v1/order-lines/PO1/1/receipts",
        "/trade/orders/PO1/lines/1/receive/",
    ):
        assert client.post(path, data="{}", content_type="application/json").status_code == 404
    assert (list(Order.objects.values()), list(OrderLine.objects.values())) == before


def test_pharmacist_of_the_same_institution_sees_the_orders_the_doctor_may_not(hospital_orders, client_for):
    w = hospital_orders
    pharmacist, doctor = client_for(w.pharmacist), client_for(w.doctor)
    assert pharmacist.get("/trade/orders/").status_code == 200
    assert "PO1" in pharmacist.get("/trade/orders/").content.decode()
    assert pharmacist.get("/trade/orders/PO1/").status_code == 200
    assert [o["order_id"] for o in pharmacist.get("/api/v1/orders").json()["results"]] == ["PO1"]
    assert doctor.get("/trade/orders/").status_code == 404
    assert doctor.get("/trade/orders/PO1/").status_code == 404
    assert doctor.get("/api/v1/orders").status_code == 404
    assert doctor.get("/api/v1/orders/PO1").status_code == 404


def test_doctor_role_token_is_kept_to_the_same_paths(hospital_orders, client):
    w = hospital_orders
    _, key = create_api_token(actor=w.pharmacist, organisation=w.hospital_org, name="HIS", role="doctor")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/v1/orders", **headers).status_code == 404
    assert client.get("/api/v1/payables", **headers).status_code == 404
    assert client.get("/api/v1/products", **headers).status_code == 200
    assert client.get("/api/v1/me", **headers).json()["role"] == "doctor"


def test_doctor_still_reads_the_catalogue(hospital_orders, client_for):
    w = hospital_orders
    client = client_for(w.doctor)
    for path in (
        "/",
        "/registry/products/",
        f"/registry/products/{w.product.code}/",
        "/registry/companies/",
        "/batches/",
        "/batches/listing-prices/",
        f"/batches/{w.batch.code}/",
        f"/batches/{w.batch.code}/items/",
        f"/batches/{w.batch.code}/winners/",
        "/api/v1/products",
        "/api/v1/batches",
        "/api/v1/winners",
        "/api/v1/me",
    ):
        assert client.get(path).status_code == 200, path


def test_doctor_menu_links_all_open(hospital_orders, client_for):
    client = client_for(hospital_orders.doctor)
    page = client.get("/").content.decode()
    nav = page.split("<nav", 1)[1].split("</nav>", 1)[0]
    links = sorted(set(re.findall(r'href="(/[^"#?]*)"', nav)))
    assert "/trade/orders/" not in links and "/accounts/tokens/" not in links
    assert "/registry/products/" in links
    assert {link: client.get(link).status_code for link in links if link != "/logout/"} == {
        link: 200 for link in links if link != "/logout/"
    }
