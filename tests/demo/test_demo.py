"""`jicai demo`: the synthetic province is complete, valid, deterministic, replaceable and never overwrites
real data."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory

from jicai.accounts.models import Organisation, Role, User
from jicai.batches.models import (
    AgreementYear,
    Batch,
    Item,
    ItemFactor,
    ListingPrice,
    Substitute,
    Winner,
    WinnerRole,
)
from jicai.compliance.models import BatchOverlap
from jicai.core.codes import check_institution_code, check_product_code, check_uscc
from jicai.demo.catalogue import catalogue, spec_factor
from jicai.demo.models import DemoRun
from jicai.demo.steps.accounts import DEMO_PASSWORD
from jicai.registry.models import Company, Consortium, Institution, Product, Region

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    models = (
        Region,
        Consortium,
        Institution,
        Company,
        Product,
        Batch,
        AgreementYear,
        Item,
        Winner,
        ItemFactor,
        Substitute,
        ListingPrice,
        Organisation,
        User,
    )
    return {m.__name__: m.objects.count() for m in models}


def snapshot() -> dict:
    """Everything a seed decides, keyed by codes (not ids)."""
    return {
        "institutions": list(
            Institution.objects.order_by("code").values_list("code", "name", "level", "ownership")
        ),
        "companies": list(Company.objects.order_by("name").values_list("name", "code")),
        "products": list(
            Product.objects.order_by("code").values_list("code", "spec", "pack", "manufacturer__name")
        ),
        "winners": list(
            Winner.objects.order_by("item__batch__code", "item__item_code", "product__code").values_list(
                "item__batch__code", "item__item_code", "product__code", "role", "winning_price"
            )
        ),
        "listings": list(
            ListingPrice.objects.order_by("product__code").values_list("product__code", "price")
        ),
        "substitutes": list(
            Substitute.objects.order_by("item__batch__code", "item__item_code", "product__code").values_list(
                "item__batch__code", "item__item_code", "product__code", "degree"
            )
        ),
    }


def test_small_scale_builds_with_exact_counts_for_seed_1(run_demo):
    run_demo("small", 1)

    assert (
        counts()
        == {
            "Region": 17,  # 山东省 + 威海/日照/东营 + their 4 + 4 + 5 counties
            "Consortium": 6,  # one per county that is not an urban district: 荣成 乳山 五莲 莒县 利津 广饶
            "Institution": 50,
            "Company": 94,  # 60 generic + 14 originator + 8 consumable makers + 6 provincial + 2×3 city distributors
            "Product": 268,  # 245 + 23 of the earlier national batch the closed_year step adds
            "Batch": 4,
            "AgreementYear": 10,  # 2025-01-01..2027-12-31 and 2024-03-01..2027-02-28 → 3 each; 2025-07-01..2027-06-30 → 2 each
            # 32 items of the first 24 catalogue generics + 3 consumables + 1 continuation (接续) + 3 of generics 25–27
            "Item": 39,
            "Winner": 115,
            "ItemFactor": 31,  # + the national item's 3 factors, copied to the continuation item
            "Substitute": 102,
            "ListingPrice": 268,  # every product is listed once
            "Organisation": 162,  # admin + 17 bureaus + 50 institutions + 94 companies
            "User": 9,  # the eight role logins + the department head
        }
    )
    run = DemoRun.objects.get()
    assert (run.scale, run.seed, run.status) == ("small", 1, DemoRun.Status.DONE)
    assert run.counts["registry.Institution"] == 50
    # SPEC §15: the continuation item of SD-YP2025-1 overlaps GY-YD2024-1 and is confirmed from its start
    overlap = BatchOverlap.objects.select_related("provincial_item", "national_item__batch").get()
    assert (
        overlap.provincial_item.item_code,
        overlap.national_item.batch.code,
        overlap.national_item.generic_name,
        overlap.applies_from,
        overlap.confirmed_at is not None,
    ) == ("SD-YP2025-1-JX01", "GY-YD2024-1", "阿托伐他汀钙", dt.date(2025, 1, 1), True)


@pytest.mark.postgres
def test_postgres_statistics_cover_every_table_after_the_demo(run_demo):
    """The planner needs statistics of the small tables too (regions, institutions): without them the
    province's region prefix was estimated at one row and list pages sorted every order."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL planner statistics")
    run_demo("small", 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tablename FROM pg_stats WHERE tablename IN "
            "('registry_region', 'registry_institution', 'accounts_organisation', 'trade_orderline')"
        )
        analysed = {row[0] for row in cursor.fetchall()}
    assert analysed == {"registry_region", "registry_institution", "accounts_organisation", "trade_orderline"}


def test_same_seed_twice_gives_identical_data(run_demo):
    run_demo("small", 1)
    first = snapshot()
    run_demo("small", 1)

    assert snapshot() == first
    assert (
        first["winners"][0][4]
        == Winner.objects.order_by("item__batch__code", "item__item_code", "product__code")
        .first()
        .winning_price
    )


def test_different_seed_gives_different_data(run_demo):
    run_demo("small", 1)
    first = snapshot()
    run_demo("small", 2)
    second = snapshot()

    assert second["companies"] != first["companies"]  # random USCC bodies
    assert second["products"] != first["products"]
    assert second["winners"] != first["winners"]
    # The region tree and the catalogue are real data, not random.
    assert Region.objects.count() == 17
    assert (
        Item.objects.count() == 39
    )  # 35 catalogue items + the continuation item (SPEC §15) + 3 closed-year items


def test_every_code_passes_the_validators_without_warnings(run_demo):
    run_demo("small", 1)

    for code, region_code, name in Institution.objects.values_list("code", "region__code", "name"):
        assert check_institution_code(code).ok, code
        assert code[1:7] == region_code
        assert (code[0] == "P") == ("药房" in name or "药店" in name), name
    for code in Company.objects.values_list("code", flat=True):
        check = check_uscc(code)
        assert check.ok and check.warnings == [], (code, check)
    for code, category in Product.objects.values_list("code", "category"):
        check = check_product_code(code)
        assert check.ok and check.warnings == [], (code, check)
        assert (len(code), code[0]) == ((27, "C") if category == "consumable" else (23, "X"))
    assert Product.objects.filter(category="consumable").exists()
    assert Institution.objects.filter(code__startswith="P").exists()


def test_every_level_and_ownership_is_present(run_demo):
    run_demo("small", 1)

    assert set(Institution.objects.values_list("level", flat=True)) == {
        "tertiary",
        "secondary",
        "primary",
        "grassroots",
    }
    assert set(Institution.objects.values_list("ownership", flat=True)) == {"public", "private", "military"}


def test_consortia_have_a_county_hospital_lead_and_township_members(run_demo):
    run_demo("small", 1)

    consortia = list(Consortium.objects.select_related("lead"))
    assert consortia
    for consortium in consortia:
        lead = consortium.lead
        assert consortium.code == lead.code and lead.name.endswith("人民医院")
        assert lead.consortium_id == consortium.pk  # the lead is a member, so scoping treats it as lead
        members = [m for m in consortium.members.all() if m.pk != lead.pk]
        assert len(members) == 2
        assert all(m.name.endswith("镇卫生院") and m.region_id == lead.region_id for m in members)
    rongcheng = Consortium.objects.get(code="H37108200001")
    assert rongcheng.name == "荣成市紧密型县域医共体"


def test_each_item_has_exactly_one_main_winner_and_its_products_belong_to_it(run_demo):
    run_demo("small", 1)
    shandong = Region.objects.get(code="370000")

    for item in Item.objects.all():
        mains = Winner.objects.filter(item=item, province=shandong, role=WinnerRole.MAIN)
        assert mains.count() == 1, item
        linked = Product.objects.filter(winner_rows__item=item) | Product.objects.filter(
            item_factors__item=item
        )
        for product in linked.distinct():
            assert (product.generic_name, product.dosage_form_group) == (
                item.generic_name,
                item.dosage_form_group,
            )
        members = Product.objects.filter(
            generic_name=item.generic_name, dosage_form_group=item.dosage_form_group
        )
        # Every item also has non-winning products to compare against.
        assert members.exclude(winner_rows__item=item).exists(), item
    assert Winner.objects.filter(role=WinnerRole.NONSUPPLY, item__batch__kind="national").exists()
    assert not Winner.objects.filter(role=WinnerRole.NONSUPPLY).exclude(item__batch__kind="national").exists()


def test_listing_prices_follow_the_listing_rules(run_demo):
    run_demo("small", 1)

    listing = dict(ListingPrice.objects.values_list("product_id", "price"))
    # The continuation item (SPEC §15) is priced from a product of the national item it overlaps: the price
    # levels below are those of the generated items.
    continuation = set(BatchOverlap.objects.values_list("provincial_item_id", flat=True))
    for item in Item.objects.prefetch_related("winners__product", "factors"):
        winners = list(item.winners.all())
        highest = max(w.winning_price for w in winners)
        main = next(w for w in winners if w.role == WinnerRole.MAIN)
        for w in winners:
            if w.role == WinnerRole.NONSUPPLY:
                assert listing[w.product_id] <= max(w.winning_price * Decimal("1.5"), highest)
            else:
                assert listing[w.product_id] == w.winning_price
        factors = {f.product_id: f.factor for f in item.factors.all()}
        assert main.product_id not in factors  # the main winner is at the reference spec
        winner_ids = {w.product_id for w in winners}
        # Non-winning products of the main winner's dosage form cost more per reference unit (other forms of
        # the same item, e.g. 缓释片 beside 控释片, have their own price level).
        if item.pk in continuation:
            continue
        others = Product.objects.filter(generic_name=item.generic_name, dosage_form=main.product.dosage_form)
        for product in others.exclude(pk__in=winner_ids):
            assert listing[product.pk] / factors.get(product.pk, 1) > main.winning_price, product


def test_item_factors_convert_specs_to_the_reference_spec(run_demo):
    run_demo("small", 1)

    assert spec_factor("10mg", "20mg") == Decimal("0.5")
    assert spec_factor("2ml:20mg", "1ml:10mg") == Decimal(2)
    atorvastatin = Item.objects.get(
        generic_name="阿托伐他汀钙", batch__kind="national"
    )  # not its continuation
    ten_mg = ItemFactor.objects.filter(item=atorvastatin, product__spec="10mg")
    assert ten_mg.exists() and {f.factor for f in ten_mg} == {Decimal("0.5")}
    for factor in ItemFactor.objects.select_related("product", "item"):
        assert factor.factor != 1
        main = factor.item.winners.get(role=WinnerRole.MAIN).product
        assert factor.factor == spec_factor(factor.product.spec, main.spec)


def test_substitutes_are_other_generics_of_the_same_group(run_demo):
    run_demo("small", 1)

    rows = Substitute.objects.select_related("item", "product")
    assert {r.degree for r in rows} == {"full", "most", "partial"}
    for row in rows:
        assert row.product.generic_name != row.item.generic_name
        assert row.product.dosage_form_group == row.item.dosage_form_group


def test_every_printed_login_can_authenticate(run_demo):
    output = run_demo("small", 1)
    request = RequestFactory().post("/accounts/login/")
    expected = {
        "admin": (Role.ADMIN, "admin", None),
        "province": (Role.BUREAU, "bureau", "province"),
        "city": (Role.BUREAU, "bureau", "city"),
        "county": (Role.BUREAU, "bureau", "county"),
        "pharmacist": (Role.INSTITUTION, "institution", None),
        "doctor": (Role.DOCTOR, "institution", None),
        "depthead": (Role.DEPARTMENT_HEAD, "institution", None),
        "manufacturer": (Role.MANUFACTURER, "company", None),
        "distributor": (Role.DISTRIBUTOR, "company", None),
    }

    for username, (role, kind, level) in expected.items():
        assert f"{username}  " in output and DEMO_PASSWORD in output
        user = authenticate(request, username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert (user.role, user.organisation.kind) == (role, kind)
        if level:
            assert user.organisation.region.level == level
    pharmacist = User.objects.get(username="pharmacist").organisation.institution
    assert pharmacist.consortium.lead_id == pharmacist.pk  # the institution persona leads a consortium
    maker = User.objects.get(username="manufacturer").organisation.company
    assert Winner.objects.filter(product__manufacturer=maker, role=WinnerRole.MAIN).exists()


def test_rerun_replaces_the_previous_demo(run_demo):
    run_demo("small", 1)
    before = counts()
    run_demo("small", 1)

    assert counts() == before
    assert Institution.objects.values("code").distinct().count() == 50
    assert DemoRun.objects.count() == 1
    assert User.objects.filter(username="admin").count() == 1


def test_refuses_to_overwrite_a_database_with_non_demo_data(world, run_demo):
    before = counts()

    with pytest.raises(CommandError, match="--force"):
        run_demo("small", 1)

    assert counts() == before
    assert not DemoRun.objects.exists()
    assert User.objects.filter(pk=world.admin.pk).exists()


def test_force_replaces_non_demo_data(world, run_demo):
    run_demo("small", 1, force=True)

    # 青岛市市南区人民医院 of the persona world is not part of the small demo (威海/日照/东营).
    assert not Institution.objects.filter(code=world.other_hospital.code).exists()
    assert not Region.objects.filter(code="370200").exists()
    assert Institution.objects.count() == 50
    assert DemoRun.objects.get().status == DemoRun.Status.DONE


def test_catalogue_reaches_500_items_with_known_dosage_forms():
    items = [t for line in catalogue() for t in line.items]

    assert len(items) >= 500
    assert len({t.key for t in items}) == len(items)
    assert {"阿托伐他汀钙", "苯磺酸氨氯地平", "盐酸二甲双胍", "恩替卡韦", "硫酸氢氯吡格雷"} <= {
        t.generic_name for t in items
    }


def test_hospitals_with_departments_name_one_on_every_usage_line(run_demo):
    """SPEC §11: once an institution has departments every usage line names one, so the hospital total
    of the targets pages is the sum of its departments."""
    from django.db.models import Sum

    from jicai.hospital.models import Department
    from jicai.trade.models import UsageLine

    run_demo("small", 1)
    hospitals = set(Department.objects.values_list("institution_id", flat=True))
    assert len(hospitals) == 8  # every tertiary hospital of the small scale
    lines = UsageLine.objects.filter(institution_id__in=hospitals)
    assert lines.exists() and not lines.filter(department="").exists()
    codes = set(Department.objects.values_list("code", flat=True))
    assert set(lines.values_list("department", flat=True)) <= codes
    by_department = lines.values("department").annotate(q=Sum("qty"))
    assert sum(r["q"] for r in by_department) == lines.aggregate(q=Sum("qty"))["q"]
