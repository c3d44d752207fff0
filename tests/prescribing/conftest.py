"""The supply world of tests/trade (item GY7-001 in 山东: main 齐鲁 0.12, backup 华北 0.15 (factor 0.5),
backup2 扬子江 0.18, a non-winning 石药 product and the batch substitute 瑞舒伐他汀钙), "today" pinned to
2025-06-30 (2025Q2) for orders and prompts, and an API token of each hospital's pharmacy."""

import json

import pytest
from django.test import Client

from jicai.accounts.actions import create_api_token
from jicai.prescribing import service
from jicai.prescribing.cache import cache
from jicai.trade import actions
from tests.trade.conftest import TODAY, build_trade


@pytest.fixture
def rx(world, monkeypatch):
    monkeypatch.setattr(actions, "today", lambda: TODAY)
    monkeypatch.setattr(service, "today", lambda: TODAY)
    cache.clear()
    w = build_trade(world)
    _, w.key = create_api_token(
        actor=w.pharmacist, organisation=w.hospital_org, name="HIS", role="institution"
    )
    _, w.other_key = create_api_token(
        actor=w.other_pharmacist, organisation=w.other_hospital_org, name="HIS", role="institution"
    )
    yield w
    cache.clear()


def bearer(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


def medication_request(code: str, qty: int = 28, rid: str = "mr-1") -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/P001"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "https://www.nhsa.gov.cn/fhir/CodeSystem/medical-insurance-drug-code",
                    "code": code,
                }
            ]
        },
        "dispenseRequest": {"quantity": {"value": qty, "unit": "片"}},
    }


def hook_request(*codes: str, doctor: str = "DR01", hook: str = "order-sign", qty: int = 28) -> dict:
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": f"Practitioner/{doctor}",
            "patientId": "P001",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": medication_request(c, qty, f"mr-{n}")} for n, c in enumerate(codes)],
            },
        },
    }


def post_json(client: Client, path: str, body) -> object:
    return client.post(path, data=json.dumps(body), content_type="application/json")
