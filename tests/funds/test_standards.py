"""Payment standards from the tender results and the settlement quote API (SPEC §12), with scoping."""

import datetime as dt
import io
import json
from decimal import Decimal as D

import openpyxl
import pytest

from jicai.batches.models import ItemFactor, ListingPrice, Winner
from jicai.funds.models import ReferencePrice
from jicai.funds.standards import compute_standards
from jicai.policy.models import PolicyProfile
from tests.factories import product

YEAR_2 = dt.date(2025, 6, 1)  # the world's batch runs from 2024-03-01: year 2 is 2025-03-01 … 2026-02-28
HALF_CODE = "XC10AAA001A001010100003"


@pytest.fixture
def priced(world):
    """Main winner 0.1200 (factor 1); a 10 mg backup (factor 0.5); other_product non-winning, listed at 0.3000
    (above 2 × 0.12), pre-VBP reference 1.5000 per reference unit; glide over 3 years in the province."""
    half = product(HALF_CODE, world.other_maker, spec="10mg")
    Winner.objects.create(
        item=world.item, product=half, province=world.province, role="backup", winning_price=D("0.0650")
    )
    ItemFactor.objects.create(item=world.item, product=half, factor=D("0.5"))
    ListingPrice.objects.create(
        product=world.other_product,
        province=world.province,
        price=D("0.3000"),
        valid_from=dt.date(2024, 1, 1),
    )
    ReferencePrice.objects.create(item=world.item, province=world.province, reference_price=D("1.5000"))
    PolicyProfile.objects.create(region=world.province, values={"standard_glide_years": 3})
    world.half = half
    return world


def by_code(rows):
    return {r.product_code: r for r in rows}


def test_standards_from_the_main_winner_factor_and_glide_path(priced):
    w = priced
    rows = by_code(compute_standards(province=w.province, on=YEAR_2))
    assert rows[w.product.code].standard == D("0.1200")
    assert rows[w.product.code].role == "main"
    assert rows[HALF_CODE].standard == D("0.0600")
    other = rows[w.other_product.code]
    # p₀ = 1.5000 × 1; year 2 of 3: 1.5 − (1.5 − 0.12) × 2/3 = 0.5800.
    assert (other.role, other.gliding, other.winning_standard, other.standard) == (
        "",
        True,
        D("0.1200"),
        D("0.5800"),
    )
    assert other.valid_from == dt.date(2025, 3, 1)
    # Year 3 reaches the winning standard.
    year_3 = by_code(compute_standards(province=w.province, on=dt.date(2026, 6, 1)))
    assert year_3[w.other_product.code].standard == D("0.1200")


def test_no_glide_without_glide_years(world):
    ListingPrice.objects.create(
        product=world.other_product,
        province=world.province,
        price=D("0.3000"),
        valid_from=dt.date(2024, 1, 1),
    )
    ReferencePrice.objects.create(item=world.item, province=world.province, reference_price=D("1.5000"))
    rows = by_code(compute_standards(province=world.province, on=YEAR_2))
    assert rows[world.other_product.code].standard == D("0.1200")
    assert not rows[world.other_product.code].gliding


def post_quote(client, **body):
    return client.post("/api/v1/settlement/quote", json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    ("code", "price", "qty", "selfpay", "expected"),
    [
        # below the standard: 0.1000 × 100 = 10.00; fund 70 % = 7.00
        ("main", "0.1000", 100, "0", ("0.1200", "10.00", "10.00", "0.00", "7.00", "3.00")),
        # at the standard
        ("main", "0.1200", 100, "0", ("0.1200", "12.00", "12.00", "0.00", "8.40", "3.60")),
        # above: the 3.00 above the standard is the patient's
        ("main", "0.1500", 100, "0", ("0.1200", "15.00", "12.00", "3.00", "8.40", "6.60")),
        # 10 mg product: standard 0.0600; 0.0650 × 1 000 = 65.00, eligible 60.00, fund 42.00
        ("half", "0.0650", 1000, "0", ("0.0600", "65.00", "60.00", "5.00", "42.00", "23.00")),
    ],
)
def test_quote_api_below_at_and_above_the_standard(
    priced, api_client_for, code, price, qty, selfpay, expected
):
    product_code = priced.product.code if code == "main" else HALF_CODE
    response = post_quote(
        api_client_for(priced.pharmacist),
        product_code=product_code,
        qty=qty,
        unit_price=price,
        on="2024-06-01",
        selfpay_ratio=selfpay,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (
        body["standard"],
        body["total"],
        body["eligible"],
        body["above_standard"],
        body["fund"],
        body["patient"],
    ) == expected


def test_quote_non_winning_above_the_standard_adds_ten_points(priced, api_client_for):
    # Year 1 of the glide: standard 1.5 − 1.38/3 = 1.0400; price 1.2000 × 10 = 12.00, eligible 10.40;
    # s = 0.05 + 0.10 = 0.15 → fund 10.40 × 0.85 × 0.70 = 6.188 → 6.19; patient 5.81.
    response = post_quote(
        api_client_for(priced.pharmacist),
        product_code=priced.other_product.code,
        qty=10,
        unit_price="1.2000",
        on="2024-06-01",
        selfpay_ratio="0.05",
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["non_winning"] is True
    assert (body["standard"], body["total"], body["eligible"], body["selfpay_ratio"]) == (
        "1.0400",
        "12.00",
        "10.40",
        "0.15",
    )
    assert (body["fund"], body["patient"]) == ("6.19", "5.81")


def test_quote_uses_the_regions_fund_ratio(priced, api_client_for):
    PolicyProfile.objects.create(region=priced.county, values={"fund_payment_ratio": "0.80"})
    body = post_quote(
        api_client_for(priced.pharmacist),
        product_code=priced.product.code,
        qty=100,
        unit_price="0.1200",
        on="2024-06-01",
    ).json()
    assert (body["fund_ratio"], body["fund"], body["patient"]) == ("0.8", "9.60", "2.40")


def test_quote_refuses_a_product_without_standard_and_bad_input(priced, api_client_for):
    client = api_client_for(priced.pharmacist)
    response = post_quote(
        client, product_code="XC10AAA001A001010199999", qty=1, unit_price="1", on="2024-06-01"
    )
    assert response.status_code == 400
    assert "没有医保支付标准" in response.json()["error"]["message"]
    assert post_quote(client, product_code=priced.product.code, qty=0, unit_price="1").status_code == 422
    assert (
        post_quote(client, product_code=priced.product.code, qty=1, unit_price="0.12345").status_code == 422
    )
    # Before the cycle: no standard yet.
    response = post_quote(client, product_code=priced.product.code, qty=1, unit_price="1", on="2023-01-01")
    assert response.status_code == 400


def test_standards_api_and_scoping(priced, api_client_for):
    body = api_client_for(priced.city_bureau).get("/api/v1/settlement/standards?on=2025-06-01").json()
    rows = {r["product_code"]: r for r in body["results"]}
    assert body["count"] == 3
    assert rows[priced.other_product.code]["standard"] == "0.5800"
    assert rows[HALF_CODE]["standard"] == "0.0600"
    # A supplier sees nothing of it; another province is 404 too; an admin must name the province.
    for user in (priced.manufacturer, priced.distributor_user):
        assert api_client_for(user).get("/api/v1/settlement/standards").status_code == 404
        response = post_quote(api_client_for(user), product_code=priced.product.code, qty=1, unit_price="0.1")
        assert response.status_code == 404
    assert (
        api_client_for(priced.pharmacist).get("/api/v1/settlement/standards?province_code=110000").status_code
        == 404
    )
    assert api_client_for(priced.admin).get("/api/v1/settlement/standards").status_code == 404
    admin = api_client_for(priced.admin).get(
        "/api/v1/settlement/standards?province_code=370000&on=2025-06-01"
    )
    assert admin.json()["count"] == 3


def test_standards_page_and_exports(priced, client_for):
    client = client_for(priced.pharmacist)
    page = client.get("/funds/standards/?on=2025-06-01")
    assert page.status_code == 200
    assert "0.5800" in page.content.decode()
    xlsx = client.get("/funds/standards/?on=2025-06-01&export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["产品编码", "通用名/规格", "生产企业"]
    values = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values[priced.other_product.code][header.index("执行支付标准（元）")] == pytest.approx(0.58)
    csv = client.get("/funds/standards/?on=2025-06-01&export=csv")
    text = csv.content.decode("utf-8-sig")
    assert f"{priced.other_product.code},370000,0.5800,2025-03-01" in text
    assert client_for(priced.manufacturer).get("/funds/standards/").status_code == 404


def test_calculator_page(priced, client_for):
    client = client_for(priced.pharmacist)
    assert client.get("/funds/calculator/").status_code == 200
    response = client.post(
        "/funds/calculator/",
        {
            "product_code": priced.product.code,
            "qty": "100",
            "unit_price": "0.1500",
            "on": "2024-06-01",
            "selfpay_ratio": "0",
        },
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "8.40" in text and "6.60" in text
    bad = client.post(
        "/funds/calculator/", {"product_code": priced.product.code, "qty": "-1", "unit_price": "x"}
    )
    assert bad.status_code == 200
    assert "数量" in bad.content.decode()
    assert client_for(priced.manufacturer).get("/funds/calculator/").status_code == 404


def test_a_nonsupply_winner_is_non_winning_in_the_quote_too(priced, api_client_for):
    """One rule (batches.models.supplies): a national winner that does not supply this province (`nonsupply`)
    is non-winning here, as in monitoring's N and the assessment: priced above the standard, +10 points —
    the same hand-worked numbers as a product without a winners row (1.0400, fund 6.19, patient 5.81)."""
    Winner.objects.create(
        item=priced.item,
        product=priced.other_product,
        province=priced.province,
        role="nonsupply",
        winning_price=D("0.2000"),
    )
    response = post_quote(
        api_client_for(priced.pharmacist),
        product_code=priced.other_product.code,
        qty=10,
        unit_price="1.2000",
        on="2024-06-01",
        selfpay_ratio="0.05",
    )
    body = response.json()
    assert response.status_code == 200, body
    assert (body["non_winning"], body["selfpay_ratio"]) == (True, "0.15")
    assert (body["standard"], body["eligible"], body["fund"], body["patient"]) == (
        "1.0400",
        "10.40",
        "6.19",
        "5.81",
    )
    # At or below the standard there is no increase: 0.9000 × 10 = 9.00 × 0.95 × 0.70 = 5.985 → 5.99.
    below = post_quote(
        api_client_for(priced.pharmacist),
        product_code=priced.other_product.code,
        qty=10,
        unit_price="0.9000",
        on="2024-06-01",
        selfpay_ratio="0.05",
    ).json()
    assert (below["selfpay_ratio"], below["fund"], below["patient"]) == ("0.05", "5.99", "3.01")


def test_the_cached_standards_follow_every_input_at_once(priced, api_client_for):
    """The list is served from an in-process cache keyed on the reference-data version: a change to the main
    winner's price, a factor, the reference price or the glide policy shows in the very next request."""
    client = api_client_for(priced.city_bureau)

    def standards(q=""):
        body = client.get(f"/api/v1/settlement/standards?on=2025-06-01&q={q}").json()
        return {r["product_code"]: r["standard"] for r in body["results"]}

    first = standards()
    assert (first[priced.product.code], first[HALF_CODE], first[priced.other_product.code]) == (
        "0.1200",
        "0.0600",
        "0.5800",
    )
    main = Winner.objects.get(product=priced.product, role="main")
    main.winning_price = D("0.1400")
    main.save()
    # 0.14 main; the half at 0.5 × 0.14 = 0.0700; the listing 0.30 is still above 2 × 0.14, so the glide goes on:
    # 1.5 − (1.5 − 0.14) × 2/3 = 0.59333… → 0.5933.
    assert standards() == {
        priced.product.code: "0.1400",
        HALF_CODE: "0.0700",
        priced.other_product.code: "0.5933",
    }
    factor = ItemFactor.objects.get(product=priced.half)
    factor.factor = D("0.4")
    factor.save()
    assert standards()[HALF_CODE] == "0.0560"  # 0.4 × 0.14
    reference = ReferencePrice.objects.get()
    reference.reference_price = D("0.9000")
    reference.save()
    assert standards()[priced.other_product.code] == "0.3933"  # 0.9 − (0.9 − 0.14) × 2/3 = 0.39333…
    profile = PolicyProfile.objects.get(region=priced.province)
    profile.values = {}
    profile.save()
    assert standards()[priced.other_product.code] == "0.1400"  # no glide path any more
    main.winning_price = D("0.1500")
    main.save()
    # Exactly 2 × 0.15 = 0.30 is not above the glide multiple: the winning standard (with the glide restored).
    profile.values = {"standard_glide_years": 3}
    profile.save()
    assert standards()[priced.other_product.code] == "0.1500"
    # Search filters the cached rows by product code, generic name or item code.
    assert set(standards(HALF_CODE)) == {HALF_CODE}
    assert set(standards(priced.item.item_code)) == set(first)
    assert standards("no-such-product") == {}
