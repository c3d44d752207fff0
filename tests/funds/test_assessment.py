"""Assessment and retained savings (SPEC §12) with hand-worked values: backup suppliers count as W, an
`exclude` and a `share` exemption, a purchase under a verified supply block and a below-standard non-winning
purchase left out of N; grades at their boundaries; finalisation freezes a snapshot."""

import datetime as dt
import io
import json
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from jicai.agreements.models import AgreedVolume
from jicai.batches.models import AgreementYear, Item, ItemFactor, Winner
from jicai.core.errors import DomainError, NotFound
from jicai.funds import assessment
from jicai.funds.models import AssessmentResult, Exemption, ReferencePrice
from jicai.trade.models import SupplyBlock
from tests.factories import product
from tests.funds.conftest import receive

SH = ZoneInfo("Asia/Shanghai")
AFTER_YEAR = dt.date(2025, 3, 5)


def _item(w, code, generic, main_code, main_price, non_code, reference):
    item = Item.objects.create(
        batch=w.batch, item_code=code, generic_name=generic, dosage_form_group="口服常释剂型"
    )
    main = product(main_code, w.maker, generic_name=generic)
    other = product(non_code, w.other_maker, generic_name=generic)
    Winner.objects.create(
        item=item, product=main, province=w.province, role="main", winning_price=D(main_price)
    )
    ReferencePrice.objects.create(item=item, province=w.province, reference_price=D(reference))
    return item, main, other


def _agreed(w, institution, item, qty):
    AgreedVolume.objects.create(
        agreement_year=w.year1,
        institution=institution,
        item=item,
        supplier=w.maker,
        agreed_qty=qty,
        source="imported",
    )


@pytest.fixture
def assessed(world):
    w = world
    w.year1 = AgreementYear.objects.get(batch=w.batch, number=1)
    # Item A = GY7-001: main world.product 0.1200; a 10 mg backup (factor 0.5); other_product non-winning.
    half = product("XC10AAA001A001010100003", w.other_maker, spec="10mg")
    Winner.objects.create(
        item=w.item, product=half, province=w.province, role="backup", winning_price=D("0.0650")
    )
    ItemFactor.objects.create(item=w.item, product=half, factor=D("0.5"))
    ReferencePrice.objects.create(item=w.item, province=w.province, reference_price=D("0.5000"))
    b, b_main, b_non = _item(
        w, "GY7-002", "氨氯地平", "XC08CAA001A001010100001", "0.2000", "XC08CAA001A001010100002", "0.6000"
    )
    c, c_main, _ = _item(
        w, "GY7-003", "二甲双胍", "XA10BAA001A001010100001", "0.1000", "XA10BAA001A001010100002", "0.3000"
    )
    d, d_main, d_non = _item(
        w, "GY7-004", "头孢呋辛", "XJ01DCA001A001010100001", "1.0000", "XJ01DCA001A001010100002", "2.0000"
    )
    for item, qty in ((w.item, 10_000), (b, 5_000), (c, 2_000), (d, 1_000)):
        _agreed(w, w.hospital, item, qty)
    _agreed(w, w.clinic, w.item, 10_000)
    _agreed(w, w.other_hospital, w.item, 10_000)
    # Hospital, item A: W = 6 000 main + 4 000 × 0.5 backup = 8 000 → 0.8; 3 000 non-winning (above standard).
    receive(w, w.hospital, 6_000, dt.date(2024, 5, 1))
    receive(w, w.hospital, 4_000, dt.date(2024, 6, 1), product=half, unit_price="0.0650")
    receive(w, w.hospital, 3_000, dt.date(2024, 6, 2), product=w.other_product, unit_price="0.3000")
    # Item B: 5 500 main → 1; 1 000 non-winning at 0.1500 < standard 0.2000 (left out of N).
    receive(w, w.hospital, 5_500, dt.date(2024, 7, 1), product=b_main, item=b, unit_price="0.2000")
    receive(w, w.hospital, 1_000, dt.date(2024, 7, 2), product=b_non, item=b, unit_price="0.1500")
    # Item C: exempt for the hospital (exclude), nothing bought.
    Exemption.objects.create(
        agreement_year=w.year1, item=c, institution=w.hospital, mode="exclude", reason="重点监控合理用药目录"
    )
    # Item D: share exemption for the county (target 0.80): W 600; N 400 counted; 300 bought while a verified
    # supply block was in force (left out): 600 / (600 + 400) = 0.6 → 0.6 / 0.8 = 0.75.
    Exemption.objects.create(
        agreement_year=w.year1,
        item=d,
        region=w.county,
        mode="share",
        target_share=D("0.80"),
        reason="临床指南调整",
    )
    receive(w, w.hospital, 600, dt.date(2024, 8, 1), product=d_main, item=d, unit_price="1.0000")
    receive(w, w.hospital, 400, dt.date(2024, 8, 2), product=d_non, item=d, unit_price="1.5000")
    block = SupplyBlock.objects.create(supplier=w.maker, institution=w.hospital, item=d, reason="停产")
    SupplyBlock.objects.filter(pk=block.pk).update(
        created_at=dt.datetime(2024, 5, 1, 9, tzinfo=SH), lifted_at=dt.datetime(2024, 6, 1, 9, tzinfo=SH)
    )
    receive(w, w.hospital, 300, dt.date(2024, 5, 10), product=d_non, item=d, unit_price="1.5000")
    # Clinic: exactly 80.00; other hospital: 59.99.
    receive(w, w.clinic, 8_000, dt.date(2024, 9, 1))
    receive(w, w.other_hospital, 5_999, dt.date(2024, 9, 1))
    return w


def run_assess(*args):
    out = io.StringIO()
    call_command("assess", "--batch", "GY-YD2023-1", "--year", "1", *args, stdout=out)
    return json.loads(out.getvalue())


def store_run(as_of: str) -> str:
    """`jicai assess … --as-of AS_OF --store`; what it printed."""
    out = io.StringIO()
    call_command("assess", "--batch", "GY-YD2023-1", "--year", "1", "--as-of", as_of, "--store", stdout=out)
    return out.getvalue()


def test_assessment_values_worked_by_hand(assessed):
    w = assessed
    data = run_assess("--as-of", "2025-03-05")
    assert (data["batch"], data["agreement_year"]) == ("GY-YD2023-1", 1)
    rows = {r["institution"]: r for r in data["institutions"]}
    hospital = rows[w.hospital.code]
    # Score = 100 × (1 200 × 0.8 + 1 000 × 1 + 1 000 × 0.75) / 3 200 = 84.6875 → 84.69 (C left out).
    # Savings: A 10 000 × 0.5 − 8 000 × 0.12 = 4 040; B 3 000 − 5 000 × 0.2 = 2 000; D 2 000 − 600 = 1 400;
    # base = 7 440 × 0.70 = 5 208.00; grade A keeps 50 % = 2 604.00.
    assert hospital == {
        "institution": w.hospital.code,
        "score": 84.69,
        "grade": "A",
        "retention_rate": 0.5,
        "saving_base": 5208.0,
        "retained": 2604.0,
        "items": [
            {"item": "GY7-001", "agreed": 10000, "purchased": 8000, "completion": 0.8, "exempt": None},
            {"item": "GY7-002", "agreed": 5000, "purchased": 5500, "completion": 1.0, "exempt": None},
            {"item": "GY7-003", "agreed": 2000, "purchased": 0, "completion": 0.0, "exempt": "exclude"},
            {"item": "GY7-004", "agreed": 1000, "purchased": 600, "completion": 0.75, "exempt": "share"},
        ],
    }
    # Exactly 80.00 is A: 5 000 − 960 = 4 040 × 0.7 = 2 828.00, half retained.
    assert (rows[w.clinic.code]["score"], rows[w.clinic.code]["grade"], rows[w.clinic.code]["retained"]) == (
        80.0,
        "A",
        1414.0,
    )
    # 59.99 is D: 5 000 − 5 999 × 0.12 = 4 280.12 × 0.7 = 2 996.084 → 2 996.08, nothing retained.
    other = rows[w.other_hospital.code]
    assert (
        other["score"],
        other["grade"],
        other["retention_rate"],
        other["saving_base"],
        other["retained"],
    ) == (
        59.99,
        "D",
        0.0,
        2996.08,
        0.0,
    )
    # Ranked by score.
    assert [r["institution"] for r in data["institutions"]] == [
        w.hospital.code,
        w.clinic.code,
        w.other_hospital.code,
    ]


def test_inputs_record_what_was_left_out_of_n(assessed):
    w = assessed
    row = next(
        r
        for r in assessment.compute(
            w.year1, w.hospital.__class__.objects.filter(pk=w.hospital.pk), AFTER_YEAR
        )
    )
    by_item = {i["item"]: i for i in row["inputs"]["items"]}
    assert (by_item["GY7-002"]["non_winning_counted"], by_item["GY7-002"]["non_winning_left_out"]) == (
        "0",
        "1000",
    )
    assert (by_item["GY7-004"]["non_winning_counted"], by_item["GY7-004"]["non_winning_left_out"]) == (
        "400",
        "300",
    )
    assert by_item["GY7-004"]["exemption"]["scope"] == "371002"


def test_finalised_assessment_is_frozen_and_cannot_be_finalised_again(assessed):
    w = assessed
    with pytest.raises(DomainError, match="结束后才能定稿"):
        assessment.finalise(actor=w.province_bureau, year=w.year1, as_of=dt.date(2025, 2, 28))
    for actor in (w.pharmacist, w.manufacturer):
        with pytest.raises(NotFound):
            assessment.finalise(actor=actor, year=w.year1, as_of=AFTER_YEAR)
    assert AssessmentResult.objects.count() == 0
    created = assessment.finalise(actor=w.province_bureau, year=w.year1, as_of=AFTER_YEAR)
    assert len(created) == 3
    before = run_assess("--as-of", "2025-03-10")
    # Orders added afterwards (a late receipt inside the year) do not change the finalised result.
    receive(w, w.clinic, 2_000, dt.date(2024, 12, 1))
    receive(w, w.other_hospital, 5_000, dt.date(2024, 12, 1))
    assert run_assess("--as-of", "2025-03-10") == before
    clinic = AssessmentResult.objects.get(institution=w.clinic)
    assert (clinic.score, clinic.grade, clinic.retained) == (D("80.00"), "A", D("1414.00"))
    with pytest.raises(DomainError, match="不能重复定稿"):
        assessment.finalise(actor=w.province_bureau, year=w.year1, as_of=AFTER_YEAR)
    with pytest.raises(DomainError, match="不能重复定稿"):
        assessment.finalise(actor=w.other_city_bureau, year=w.year1, as_of=AFTER_YEAR)
    assert AssessmentResult.objects.count() == 3


def test_table_format(assessed):
    out = io.StringIO()
    call_command(
        "assess",
        "--batch",
        "GY-YD2023-1",
        "--year",
        "1",
        "--as-of",
        "2025-03-05",
        "--format",
        "table",
        stdout=out,
    )
    assert "84.69" in out.getvalue() and "5208.00" in out.getvalue()


def test_ranking_and_report_pages_scoping_and_xlsx(assessed, client_for, settings):
    import openpyxl

    w = assessed
    query = "?batch=GY-YD2023-1&year=1&as_of=2025-03-05"
    city = client_for(w.city_bureau)
    page = city.get("/funds/assessment/" + query)
    assert page.status_code == 200
    text = page.content.decode()
    assert "84.69" in text and "80.00" in text and w.other_hospital.name not in text
    xlsx = city.get("/funds/assessment/" + query + "&export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert [c.value for c in sheet[1]][:4] == ["排名", "机构代码", "机构名称", "得分"]
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == [w.hospital.code, w.clinic.code]
    report = city.get(f"/funds/assessment/institutions/{w.hospital.code}/" + query)
    assert report.status_code == 200 and "5208.00" in report.content.decode()
    # Other city's bureau, another institution, a supplier: 404.
    assert (
        client_for(w.other_city_bureau)
        .get(f"/funds/assessment/institutions/{w.hospital.code}/" + query)
        .status_code
        == 404
    )
    assert (
        client_for(w.other_pharmacist)
        .get(f"/funds/assessment/institutions/{w.hospital.code}/" + query)
        .status_code
        == 404
    )
    assert client_for(w.manufacturer).get("/funds/assessment/" + query).status_code == 404
    own = client_for(w.pharmacist).get("/funds/assessment/" + query).content.decode()
    assert w.hospital.code in own and w.clinic.code not in own


def test_finalise_through_page_and_api_wrong_org_changes_nothing(
    assessed, client_for, api_client_for, settings
):
    w = assessed
    # The year ended on 2025-02-28; "today" in the test run is later, so finalising is allowed.
    for actor in (w.pharmacist, w.manufacturer):
        response = client_for(actor).post(
            "/funds/assessment/finalise/", {"batch": "GY-YD2023-1", "year": "1"}
        )
        assert response.status_code == 404
        api = api_client_for(actor).post(
            "/api/v1/assessments/finalise",
            json.dumps({"batch_code": "GY-YD2023-1", "year": 1}),
            content_type="application/json",
        )
        assert api.status_code == 404
    assert AssessmentResult.objects.count() == 0
    response = client_for(w.city_bureau).post(
        "/funds/assessment/finalise/", {"batch": "GY-YD2023-1", "year": "1"}
    )
    assert response.status_code == 302
    assert set(AssessmentResult.objects.values_list("institution__code", flat=True)) == {
        w.hospital.code,
        w.clinic.code,
    }
    again = api_client_for(w.city_bureau).post(
        "/api/v1/assessments/finalise",
        json.dumps({"batch_code": "GY-YD2023-1", "year": 1}),
        content_type="application/json",
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == "already_finalised"
    body = api_client_for(w.pharmacist).get("/api/v1/assessments?batch_code=GY-YD2023-1&year=1").json()
    assert [(r["institution"], r["score"], r["finalised"]) for r in body["results"]] == [
        (w.hospital.code, 84.69, True)
    ]
    assert (
        api_client_for(w.manufacturer).get("/api/v1/assessments?batch_code=GY-YD2023-1&year=1").status_code
        == 404
    )


def test_bureau_edits_exemptions_with_a_reason(assessed, client_for):
    w = assessed
    url = "/funds/assessment/exemptions/?batch=GY-YD2023-1&year=1"
    client = client_for(w.city_bureau)
    assert client.get(url).status_code == 200
    no_reason = client.post(
        url, {"item_code": "GY7-001", "scope_code": w.clinic.code, "mode": "exclude", "reason": ""}
    )
    assert "请填写豁免原因" in no_reason.content.decode()
    no_target = client.post(
        url, {"item_code": "GY7-001", "scope_code": w.clinic.code, "mode": "share", "reason": "指南"}
    )
    assert "目标占比" in no_target.content.decode()
    assert not Exemption.objects.filter(institution=w.clinic).exists()
    ok = client.post(
        url,
        {"item_code": "GY7-001", "scope_code": w.clinic.code, "mode": "exclude", "reason": "公共卫生事件"},
    )
    assert ok.status_code == 302
    assert Exemption.objects.get(institution=w.clinic).reason == "公共卫生事件"
    # Excluded, the clinic has no assessed item left: score 100 by definition, no saving.
    row = next(
        r for r in run_assess("--as-of", "2025-03-05")["institutions"] if r["institution"] == w.clinic.code
    )
    assert (row["score"], row["saving_base"]) == (100.0, 0.0)
    # Another city's hospital: 404 and nothing written; institutions and suppliers: 404.
    other = client.post(
        url, {"item_code": "GY7-001", "scope_code": w.other_hospital.code, "mode": "exclude", "reason": "x"}
    )
    assert other.status_code == 404
    assert not Exemption.objects.filter(institution=w.other_hospital).exists()
    for actor in (w.pharmacist, w.manufacturer):
        assert client_for(actor).get(url).status_code == 404
    exemption = Exemption.objects.get(institution=w.clinic)
    assert client_for(w.other_city_bureau).post(url, {"delete": exemption.pk}).status_code == 404
    assert Exemption.objects.filter(pk=exemption.pk).exists()


def test_ordered_basis_counts_orders_by_order_date(world):
    """`progress_basis = ordered` (SPEC §3/§7): non-cancelled order qty by order date counts as purchased(W);
    a cancelled line does not. Agreed 1 000; 600 ordered 2024-05-06 but received only after the year
    (2025-03-10): received basis 0 % → score 0.00; ordered basis 60 % → score 60.00 (grade C)."""
    from jicai.policy.models import PolicyProfile
    from jicai.registry.models import Institution
    from jicai.trade.models import Receipt

    w = world
    w.year1 = AgreementYear.objects.get(batch=w.batch, number=1)
    _agreed(w, w.hospital, w.item, 1000)
    line = receive(w, w.hospital, 600, dt.date(2024, 5, 6))
    Receipt.objects.filter(line=line).update(received_on=dt.date(2025, 3, 10))
    cancelled = receive(w, w.hospital, 400, dt.date(2024, 5, 7))
    cancelled.status = "cancelled"
    cancelled.save(update_fields=["status"])
    Receipt.objects.filter(line=cancelled).delete()

    def score():
        (row,) = assessment.compute(
            w.year1, Institution.objects.filter(pk=w.hospital.pk), dt.date(2025, 3, 31)
        )
        return row["score"], row["grade"]

    assert score() == (D("0.00"), "D")
    PolicyProfile.objects.create(region=w.province, values={"progress_basis": "ordered"})
    assert score() == (D("60.00"), "C")


FIGURES = ("institution", "institution_id", "score", "grade", "retention_rate", "saving_base", "retained")


def _figures(rows):
    return [tuple(r[k] for k in FIGURES) for r in rows]


def test_fast_path_and_stored_run_equal_the_old_definition_on_a_generated_case(assessed):
    """Seeded random purchases (winning, backup and non-winning products, prices either side of the standard,
    inside and outside the year and a supply block) and agreed volumes for six institutions on top of the
    hand-worked case: the set-based compute, its figures-only form and a stored run all equal the old
    definition (tests/funds/reference_assessment.py), at two dates."""
    import random

    from jicai.registry.models import Institution, Product
    from tests.factories import institution
    from tests.funds.reference_assessment import old_compute

    w = assessed
    rng = random.Random(15)
    extra = [
        institution("H37100200003", "环翠区第二医院", w.county),
        institution("H37100000001", "威海市立医院", w.city, level="tertiary"),
        institution("H37020200002", "市南区社区卫生服务中心", w.other_county, level="grassroots"),
    ]
    institutions = [w.hospital, w.clinic, w.other_hospital, *extra]
    items = list(Item.objects.filter(batch=w.batch).order_by("item_code"))
    have = set(AgreedVolume.objects.values_list("institution_id", "item_id"))
    for inst in institutions:
        for item in items:
            if (inst.pk, item.pk) not in have and rng.random() < 0.7:
                _agreed(w, inst, item, rng.choice([0, 1, 7, 500, 1_000, 3_333]))
    offers = {}
    for item in items:
        products = list(
            Product.objects.filter(generic_name=item.generic_name, dosage_form_group=item.dosage_form_group)
        )
        offers[item] = products
    block = SupplyBlock.objects.create(supplier=w.maker, institution=extra[0], item=items[1], reason="停产")
    SupplyBlock.objects.filter(pk=block.pk).update(
        created_at=dt.datetime(2024, 6, 1, 9, tzinfo=SH), lifted_at=dt.datetime(2024, 9, 1, 9, tzinfo=SH)
    )
    for _ in range(120):
        item = rng.choice(items)
        day = dt.date(2024, 2, 20) + dt.timedelta(days=rng.randrange(0, 400))
        receive(
            w,
            rng.choice(institutions),
            rng.choice([1, 3, 250, 999, 4_000]),
            day,
            product=rng.choice(offers[item]),
            item=item,
            unit_price=rng.choice(["0.0500", "0.0650", "0.1200", "0.1999", "0.2000", "0.2001", "1.5000"]),
        )
    everyone = Institution.objects.all()
    for as_of in (dt.date(2024, 10, 1), AFTER_YEAR):
        old = old_compute(w.year1, everyone, as_of)
        new = assessment.compute(w.year1, everyone, as_of)
        assert len(new) == 6 and new == old
        # The generated case is not trivial: several grades, a saving, a share and an exclude exemption.
        assert len({r["grade"] for r in new}) >= 2 and any(r["saving_base"] > 0 for r in new)
        assert {i["exempt"] for r in new for i in r["items"]} >= {"share", "exclude", None}
        assert _figures(assessment.compute(w.year1, everyone, as_of, detail=False)) == _figures(old)
        live = assessment.results(w.year1, everyone, as_of)
        run = assessment.store(w.year1, as_of)
        assert run.institutions == 6 and run.as_of == as_of
        stored = assessment.results(w.year1, everyone, as_of, run=run)
        assert _figures(stored) == _figures(live)
        assert all(r["stored_at"] == run.computed_at and not r["finalised"] for r in stored)
        # A bureau's subtree reads the same rows of the run.
        county = Institution.objects.filter(region__path__startswith=w.county.path)
        assert _figures(assessment.results(w.year1, county, as_of, run=run)) == _figures(
            assessment.results(w.year1, county, as_of)
        )


def test_ranking_page_and_api_read_the_stored_run(assessed, client_for, api_client_for):
    """`jicai assess --store` stores the run; the ranking page without a date shows it (with its date and
    time), a newer data change shows only after the next store; the API says `stored_at`; a store for the
    same date replaces the run, another date adds one."""
    from jicai.funds.models import AssessmentRun, AssessmentRunRow

    w = assessed
    assert "3 家机构" in store_run("2025-03-05")
    run = AssessmentRun.objects.get()
    assert run.institutions == 3 and AssessmentRunRow.objects.filter(run=run).count() == 3
    # The clinic buys 1 200 more (before E): live 92.00, the stored run still says 80.00.
    receive(w, w.clinic, 1_200, dt.date(2024, 10, 1))
    city = client_for(w.city_bureau)
    text = city.get("/funds/assessment/?batch=GY-YD2023-1&year=1").content.decode()
    assert "计算日期 2025-03-05 的试算结果存储于" in text
    assert "84.69" in text and "80.00" in text and "92.00" not in text and w.other_hospital.name not in text
    # Ranked and numbered in SQL (the export reads the same queryset); a search keeps the full ranking's rank.
    import openpyxl

    province = client_for(w.province_bureau)
    xlsx = province.get("/funds/assessment/?batch=GY-YD2023-1&year=1&export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert [r[:2] + r[3:5] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        (1, w.hospital.code, 84.69, "A"),
        (2, w.clinic.code, 80.0, "A"),
        (3, w.other_hospital.code, 59.99, "D"),
    ]
    found = province.get(f"/funds/assessment/?batch=GY-YD2023-1&year=1&q={w.other_hospital.code}")
    assert [(r["rank"], r["institution"]) for r in found.context["page_obj"].object_list] == [
        (3, w.other_hospital.code)
    ]
    api = api_client_for(w.province_bureau).get("/api/v1/assessments?batch_code=GY-YD2023-1&year=1").json()
    assert [(r["institution"], r["score"]) for r in api["results"]] == [
        (w.hospital.code, 84.69),
        (w.clinic.code, 80.0),
        (w.other_hospital.code, 59.99),
    ]
    assert all(r["stored_at"] and r["items"] == [] for r in api["results"])
    # Another date without a run is computed live: 92.00 = 100 × 9 200 × 0.12 / (10 000 × 0.12).
    live = city.get("/funds/assessment/?batch=GY-YD2023-1&year=1&as_of=2025-03-06").content.decode()
    assert "92.00" in live and "试算结果存储于" not in live
    # Storing the same date again replaces the run.
    store_run("2025-03-05")
    assert AssessmentRun.objects.count() == 1 and AssessmentRun.objects.get().pk != run.pk
    assert "92.00" in city.get("/funds/assessment/?batch=GY-YD2023-1&year=1").content.decode()
    # A finalised snapshot still wins over the run.
    assessment.finalise(actor=w.province_bureau, year=w.year1, as_of=AFTER_YEAR)
    api = api_client_for(w.province_bureau).get("/api/v1/assessments?batch_code=GY-YD2023-1&year=1").json()
    assert all(r["finalised"] and r["stored_at"] is None for r in api["results"])


def test_ranking_page_of_a_large_scope_without_a_stored_run_says_how_to_store_one(
    assessed, client_for, monkeypatch
):
    """Above assessment.LIVE_LIMIT institutions (here 2: the province has 3, the city 2) the page does not
    compute live: it names the `jicai assess --store` command for the asked date and lists only finalised
    results; after the store it shows the run; a scope within the limit is still computed live."""
    w = assessed
    monkeypatch.setattr(assessment, "LIVE_LIMIT", 2)
    query = "?batch=GY-YD2023-1&year=1&as_of=2025-03-05"
    province = client_for(w.province_bureau)
    page = province.get("/funds/assessment/" + query)
    text = page.content.decode()
    assert page.status_code == 200 and page.context["page_obj"].paginator.count == 0
    assert "尚无 GY-YD2023-1 第1协议年度计算日期 2025-03-05 的存储试算结果" in text
    assert "jicai assess --batch GY-YD2023-1 --year 1 --as-of 2025-03-05 --store" in text
    assert "84.69" not in text and 'data-testid="finalise-form"' not in text
    city = client_for(w.city_bureau).get("/funds/assessment/" + query).content.decode()
    assert "84.69" in city and "80.00" in city and 'data-testid="no-stored-run"' not in city
    store_run("2025-03-05")
    stored = province.get("/funds/assessment/" + query).content.decode()
    assert "84.69" in stored and "59.99" in stored and 'data-testid="no-stored-run"' not in stored
    # Finalised snapshots are listed without a run for the date.
    assessment.finalise(actor=w.province_bureau, year=w.year1, as_of=AFTER_YEAR)
    other_day = province.get("/funds/assessment/?batch=GY-YD2023-1&year=1&as_of=2025-03-06")
    assert [r["institution"] for r in other_day.context["page_obj"].object_list] == [
        w.hospital.code,
        w.clinic.code,
        w.other_hospital.code,
    ]


def test_assessments_api_of_a_large_scope_without_a_stored_run_lists_finalised_results_only(
    assessed, api_client_for, monkeypatch
):
    """The API answers like the ranking page: above assessment.LIVE_LIMIT institutions (here 2) without a
    stored run for the date it computes nothing live, lists only finalised results and names the
    `jicai assess --store` command (finalised_only, store_command, message); a scope within the limit and a
    stored run are unchanged (finalised_only false, no command)."""
    w = assessed
    monkeypatch.setattr(assessment, "LIVE_LIMIT", 2)
    url = "/api/v1/assessments?batch_code=GY-YD2023-1&year=1&as_of=2025-03-05"
    province = api_client_for(w.province_bureau)
    response = province.get(url)
    body = response.json()
    command = "jicai assess --batch GY-YD2023-1 --year 1 --as-of 2025-03-05 --store"
    assert response.status_code == 200
    assert body["results"] == [] and body["count"] == 0 and body["count_exact"] is True
    assert body["finalised_only"] is True and body["as_of"] == "2025-03-05"
    assert body["store_command"] == command and command in body["message"]
    assert "尚无 GY-YD2023-1 第1协议年度计算日期 2025-03-05 的存储试算结果" in body["message"]
    city = api_client_for(w.city_bureau).get(url).json()
    assert city["finalised_only"] is False and city["store_command"] is None and city["message"] is None
    assert [(r["institution"], r["score"]) for r in city["results"]] == [
        (w.hospital.code, 84.69),
        (w.clinic.code, 80.0),
    ]
    store_run("2025-03-05")
    stored = province.get(url).json()
    assert stored["finalised_only"] is False and stored["store_command"] is None
    assert [r["score"] for r in stored["results"]] == [84.69, 80.0, 59.99]
    # Finalised snapshots are listed on a date without a run, still flagged as finalised only.
    assessment.finalise(actor=w.province_bureau, year=w.year1, as_of=AFTER_YEAR)
    other_day = province.get("/api/v1/assessments?batch_code=GY-YD2023-1&year=1&as_of=2025-03-06").json()
    assert other_day["finalised_only"] is True and other_day["as_of"] == "2025-03-06"
    assert [(r["institution"], r["finalised"]) for r in other_day["results"]] == [
        (w.hospital.code, True),
        (w.clinic.code, True),
        (w.other_hospital.code, True),
    ]
