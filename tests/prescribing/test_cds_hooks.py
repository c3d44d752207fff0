"""SPEC §11 prescribing prompt through HL7 CDS Hooks 2.0 and the plain JSON API (one rule)."""

import datetime as dt

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from jicai.batches.models import Winner
from jicai.hospital.models import InterviewAction, InterviewRecord
from jicai.prescribing.cache import cache
from jicai.prescribing.models import CatalogueEntry, LimitStatus, Prompt, SubstituteLimit
from tests.prescribing.conftest import bearer, hook_request, post_json

pytestmark = pytest.mark.django_db
SERVICE = "/cds-services/vbp-prompt"


def cards(rx, *codes, **kw):
    response = post_json(bearer(rx.key), SERVICE, hook_request(*codes, **kw))
    assert response.status_code == 200, response.content
    return response.json()["cards"]


def test_discovery_lists_both_hooks(client):
    services = client.get("/cds-services").json()["services"]
    assert [(s["hook"], s["id"]) for s in services] == [
        ("order-select", "vbp-prompt"),
        ("order-sign", "vbp-prompt"),
    ]


def test_non_winning_product_gets_a_warning_with_the_main_winner_first(rx):
    # backup2 is made the cheapest: the main winner must still come first (role, not price).
    Winner.objects.filter(product=rx.backup2_product).update(winning_price="0.0500")
    cache.clear()
    (card,) = cards(rx, rx.nonwinning_product.code, qty=56)
    assert card["indicator"] == "warning"
    assert "该药品有集中采购中选药品，请优先使用" in card["summary"]
    codes = [
        s["actions"][0]["resource"]["medicationCodeableConcept"]["coding"][0]["code"]
        for s in card["suggestions"]
    ]
    assert codes == [rx.product.code, rx.backup_product.code, rx.backup2_product.code]
    assert [s["isRecommended"] for s in card["suggestions"]] == [True, False, False]
    assert "齐鲁制药有限公司" in card["detail"] and "0.1200" in card["detail"]
    assert [r["code"] for r in card["overrideReasons"]] == [
        "condition",
        "allergy",
        "shortage",
        "patient",
        "other",
    ]
    assert [r["display"] for r in card["overrideReasons"]][:2] == ["患者病情需要", "过敏或不耐受"]
    for suggestion in card["suggestions"]:
        for action in suggestion["actions"]:
            assert action["type"] == "update"
            resource = MedicationRequest.model_validate(action["resource"])  # a valid FHIR R4 resource
            assert resource.dispenseRequest.quantity.value == 56
    prompt = Prompt.objects.get()
    assert (str(prompt.uuid), prompt.doctor_code, prompt.qty, prompt.level, prompt.hook, prompt.item_id) == (
        card["uuid"], "DR01", 56, "warning", "order-sign", rx.item.pk,
    )  # fmt: skip


def test_winning_product_unknown_product_and_no_winners_get_no_card(rx):
    assert cards(rx, rx.product.code) == []
    assert cards(rx, rx.backup_product.code) == []
    assert cards(rx, "XNOPE000000000000000000") == []
    Winner.objects.all().delete()
    assert cards(rx, rx.nonwinning_product.code) == []
    assert Prompt.objects.count() == 0


def test_order_select_prompts_only_the_selected_order(rx):
    body = hook_request(rx.nonwinning_product.code, rx.substitute_product.code, hook="order-select")
    body["context"]["selections"] = ["MedicationRequest/mr-1"]
    (card,) = post_json(bearer(rx.key), SERVICE, body).json()["cards"]
    assert Prompt.objects.get().product == rx.substitute_product
    assert card["uuid"] == str(Prompt.objects.get().uuid)


def test_substitute_of_the_batch_and_of_the_catalogue_get_a_card(rx):
    (card,) = cards(rx, rx.substitute_product.code)
    assert card["indicator"] == "warning"
    # Removed from the hospital's catalogue → no card; a non-item product added to it → card.
    CatalogueEntry.objects.create(
        institution=rx.hospital, item=rx.item, product=rx.substitute_product, active=False
    )
    assert cards(rx, rx.substitute_product.code) == []
    from tests import factories

    other = factories.product("XC10AAC001A001010100001", rx.maker, generic_name="辛伐他汀")
    assert cards(rx, other.code) == []
    CatalogueEntry.objects.create(institution=rx.hospital, item=rx.item, product=other)
    assert cards(rx, other.code)[0]["indicator"] == "warning"


def test_suspended_substitute_and_restricted_doctor_get_a_critical_card(rx):
    SubstituteLimit.objects.create(
        institution=rx.hospital, item=rx.item, product=rx.substitute_product, quarter="2025Q2",
        suspended=True, status=LimitStatus.CONFIRMED,
    )  # fmt: skip
    (card,) = cards(rx, rx.substitute_product.code)
    assert card["indicator"] == "critical" and "暂停" in card["detail"]
    # A proposal that is not confirmed, or another quarter's limit, changes nothing.
    SubstituteLimit.objects.update(status=LimitStatus.PROPOSED)
    cache.clear()  # update() sends no signal; the app's own writes use save()
    assert cards(rx, rx.substitute_product.code)[0]["indicator"] == "warning"
    SubstituteLimit.objects.update(status=LimitStatus.CONFIRMED, quarter="2025Q3")
    cache.clear()
    assert cards(rx, rx.substitute_product.code)[0]["indicator"] == "warning"
    from jicai.hospital.models import Department, Doctor

    dept = Department.objects.create(institution=rx.hospital, code="D01", name="心内科")
    doctor = Doctor.objects.create(institution=rx.hospital, code="DR09", name="赵医生", department=dept)
    InterviewRecord.objects.create(
        institution=rx.hospital, item=rx.item, quarter="2025Q1", department=dept, doctor=doctor,
        action=InterviewAction.RESTRICT,
    )  # fmt: skip
    assert cards(rx, rx.nonwinning_product.code, doctor="DR09")[0]["indicator"] == "critical"
    assert cards(rx, rx.nonwinning_product.code, doctor="DR01")[0]["indicator"] == "warning"


def test_auth_and_malformed_requests(rx, client):
    body = hook_request(rx.nonwinning_product.code)
    assert post_json(client, SERVICE, body).status_code == 401
    assert post_json(bearer("jc_wrong"), SERVICE, body).status_code == 401
    from jicai.accounts.actions import create_api_token

    _, maker_key = create_api_token(
        actor=rx.manufacturer, organisation=rx.maker_org, name="ERP", role="manufacturer"
    )
    assert post_json(bearer(maker_key), SERVICE, body).status_code == 401
    bad = bearer(rx.key).post(SERVICE, data="{not json", content_type="application/json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]) == {"code", "message", "details"}
    assert post_json(bearer(rx.key), SERVICE, {"hook": "patient-view", "context": {}}).json() == {"cards": []}
    assert Prompt.objects.count() == 0


def test_a_revoked_token_stops_working_within_the_token_ttl(rx, monkeypatch):
    """The token lookup is cached per process for TOKEN_TTL seconds (one query a second, not one per prompt)."""
    from jicai.accounts.models import ApiToken
    from jicai.prescribing import cache as cache_module

    clock = [1000.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: clock[0])
    body = hook_request(rx.nonwinning_product.code)
    assert post_json(bearer(rx.key), SERVICE, body).status_code == 200
    ApiToken.objects.filter(key_hash=ApiToken.hash_key(rx.key)).update(
        revoked_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    )
    clock[0] += cache_module.TOKEN_TTL / 2
    assert post_json(bearer(rx.key), SERVICE, body).status_code == 200  # still cached
    clock[0] += cache_module.TOKEN_TTL
    assert post_json(bearer(rx.key), SERVICE, body).status_code == 401


def test_internal_error_answers_no_card(rx, monkeypatch, caplog):
    from jicai.prescribing import service

    def boom(*a, **kw):
        raise RuntimeError("cache broken")

    monkeypatch.setattr(service, "decide", boom)
    assert cards(rx, rx.nonwinning_product.code) == []
    assert "prescribing prompt failed" in caplog.text


def test_feedback_stores_outcome_and_reason(rx):
    (card,) = cards(rx, rx.nonwinning_product.code)
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"code": "allergy", "display": "过敏或不耐受"},
                    "userComment": "皮疹史",
                },
                "outcomeTimestamp": "2025-06-30T08:00:00Z",
            }
        ]
    }
    # Another institution's token cannot touch it.
    assert post_json(bearer(rx.other_key), SERVICE + "/feedback", feedback).status_code == 404
    assert Prompt.objects.get().outcome == ""
    assert post_json(bearer(rx.key), SERVICE + "/feedback", feedback).status_code == 200
    p = Prompt.objects.get()
    assert (p.outcome, p.reason, p.reason_text) == ("overridden", "allergy", "皮疹史")
    no_reason = {"feedback": [{"card": card["uuid"], "outcome": "overridden"}]}
    assert post_json(bearer(rx.key), SERVICE + "/feedback", no_reason).status_code == 400
    assert Prompt.objects.get().reason == "allergy"
    accepted = {
        "feedback": [{"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": "x"}]}]
    }
    assert post_json(bearer(rx.key), SERVICE + "/feedback", accepted).status_code == 200
    assert (Prompt.objects.get().outcome, Prompt.objects.get().reason) == ("accepted", "")
    assert post_json(bearer(rx.key), SERVICE + "/feedback", {"feedback": "x"}).status_code == 400


def test_doctor_target_and_used_are_in_the_card(rx):
    from jicai.agreements.models import AgreedVolume
    from jicai.hospital.models import Department, DepartmentTarget, Doctor, DoctorTarget
    from jicai.trade.models import UsageLine

    dept = Department.objects.create(institution=rx.hospital, code="D01", name="心内科")
    doctor = Doctor.objects.create(institution=rx.hospital, code="DR01", name="张伟", department=dept)
    dt_row = DepartmentTarget.objects.create(volume=AgreedVolume.objects.get(), department=dept, target=600)
    DoctorTarget.objects.create(department_target=dt_row, doctor=doctor, target=250)
    # winning use since 2025-03-01: 40 + 60 × 0.5 (backup factor) = 70; a non-winning line does not count.
    for product, qty, day in (
        (rx.product, 40, dt.date(2025, 3, 5)),
        (rx.backup_product, 60, dt.date(2025, 6, 1)),
        (rx.nonwinning_product, 90, dt.date(2025, 6, 2)),
        (rx.product, 500, dt.date(2025, 2, 28)),
    ):
        UsageLine.objects.create(
            institution=rx.hospital,
            product=product,
            department="D01",
            doctor_code="DR01",
            qty=qty,
            used_on=day,
        )
    (card,) = cards(rx, rx.nonwinning_product.code)
    assert card["extension"]["jicai-doctor-target"] == {"target": "250", "used": "70", "remaining": "180"}
    assert "目标 250，已使用 70，剩余 180" in card["detail"]


def test_the_orm_baseline_gives_the_same_answers(rx):
    from jicai.prescribing.cache import cache as prompt_cache
    from jicai.prescribing.naive import decide_orm
    from jicai.prescribing.rule import decide

    SubstituteLimit.objects.create(
        institution=rx.hospital, item=rx.item, product=rx.substitute_product, quarter="2025Q2",
        limit_qty=7, status=LimitStatus.CONFIRMED,
    )  # fmt: skip
    day = dt.date(2025, 6, 30)
    for code in (rx.product.code, rx.nonwinning_product.code, rx.substitute_product.code, "XNOPE"):
        for inst in (rx.hospital.code, rx.other_hospital.code):
            a = decide(prompt_cache.get(), inst, "DR01", code, day)
            b = decide_orm(inst, "DR01", code, day)
            assert (a.level, a.item_id, a.alternatives, a.limit, a.notes) == (
                b.level, b.item_id, b.alternatives, b.limit, b.notes,
            )  # fmt: skip
