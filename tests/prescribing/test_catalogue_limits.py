"""SPEC §11 hospital substitute catalogue, quarter-end proposals (values worked by hand), confirmed limits
enforced on platform orders (web action and API), the plain JSON prompt API and wrong-institution access."""

import datetime as dt

import pytest
from django.core.management import call_command

from jicai.accounts.models import ApiToken
from jicai.core.errors import DomainError
from jicai.core.models import AuditLog
from jicai.prescribing import catalogue
from jicai.prescribing.models import CatalogueEntry, LimitStatus, Prompt, SubstituteLimit
from jicai.trade.models import Order, OrderLine, UsageLine
from tests.prescribing.conftest import bearer, post_json
from tests.trade.conftest import order

pytestmark = pytest.mark.django_db
API = "/api/v1"


def use(rx, product, qty, day):
    UsageLine.objects.create(institution=rx.hospital, product=product, qty=qty, used_on=day)


def test_catalogue_starts_from_the_batch_and_changes_need_a_reason(rx):
    client = bearer(rx.key)
    listed = client.get(API + "/substitute-catalogue").json()["results"]
    assert [(e["item"], e["product"], e["active"], e["from_batch"]) for e in listed] == [
        ("GY7-001", rx.substitute_product.code, True, True)
    ]
    no_reason = {"item": "GY7-001", "product": rx.substitute_product.code, "action": "remove", "reason": ""}
    assert post_json(client, API + "/substitute-catalogue", no_reason).status_code == 400
    removed = post_json(client, API + "/substitute-catalogue", {**no_reason, "reason": "已停用"})
    assert removed.status_code == 200 and removed.json()["active"] is False
    log = AuditLog.objects.filter(action="prescribing.catalogue_remove").get()
    assert log.changes["reason"] == "已停用"
    # The other hospital sees its own (seeded) catalogue and cannot change this one's item it has no volume for.
    other = bearer(rx.other_key)
    assert other.get(API + "/substitute-catalogue").json()["results"] == []
    assert (
        post_json(
            other, API + "/substitute-catalogue", {**no_reason, "action": "add", "reason": "x"}
        ).status_code
        == 404
    )
    assert CatalogueEntry.objects.filter(institution=rx.other_hospital).count() == 0
    assert CatalogueEntry.objects.get(institution=rx.hospital).active is False


@pytest.mark.parametrize(("winning_use", "suspend"), [(400, False), (200, True)])
def test_quarter_end_proposal_worked_by_hand(rx, winning_use, suspend):
    """Year 2: S = 2025-03-01, A = 1000, months_to_complete 10 → P = 2025-12-31.
    plan(2025-06-30) = 1000 × 122 / 306 = 398.69; half = 199.35.
    backup (factor 0.5) 400 → used 200 < 398.69 (lagging), ≥ 199.35 → limit only;
                        200 → used 100 < 199.35 → suspension.
    Substitute in 2024Q2: 37 + 20 = 57 (03-31 and 07-01 outside) → limit ⌊57 × 0.8⌋ = ⌊45.6⌋ = 45 for 2025Q3."""
    use(rx, rx.backup_product, winning_use, dt.date(2025, 4, 1))
    for qty, day in (
        (37, dt.date(2024, 4, 1)),
        (20, dt.date(2024, 6, 30)),
        (500, dt.date(2024, 3, 31)),
        (700, dt.date(2024, 7, 1)),
    ):
        use(rx, rx.substitute_product, qty, day)
    response = post_json(bearer(rx.key), API + "/substitute-limits/proposals", {"quarter": "2025Q2"})
    assert response.status_code == 200, response.content
    (row,) = response.json()
    assert (row["quarter"], row["product"], row["last_year_qty"], row["proposed_qty"], row["proposed_suspend"]) == (
        "2025Q3", rx.substitute_product.code, 57, 45, suspend,
    )  # fmt: skip
    assert row["status"] == "proposed" and row["limit_qty"] is None


def test_item_on_time_gets_no_proposal(rx):
    use(rx, rx.product, 399, dt.date(2025, 4, 1))  # 399 ≥ 398.69
    use(rx, rx.substitute_product, 50, dt.date(2024, 5, 1))
    assert catalogue.propose(actor=rx.pharmacist, institution=rx.hospital, quarter="2025Q2") == []


def test_confirm_edit_dismiss_are_logged_and_scoped(rx):
    limit = SubstituteLimit.objects.create(
        institution=rx.hospital, item=rx.item, product=rx.substitute_product, quarter="2025Q3",
        last_year_qty=57, proposed_qty=45,
    )  # fmt: skip
    other = bearer(rx.other_key)
    assert post_json(other, f"{API}/substitute-limits/{limit.pk}", {"decision": "confirm"}).status_code == 404
    assert other.get(API + "/substitute-limits").json()["results"] == []
    limit.refresh_from_db()
    assert limit.status == LimitStatus.PROPOSED
    client = bearer(rx.key)
    assert (
        post_json(
            client, f"{API}/substitute-limits/{limit.pk}", {"decision": "edit", "limit_qty": -1}
        ).status_code
        == 400
    )
    body = post_json(client, f"{API}/substitute-limits/{limit.pk}", {"decision": "confirm"}).json()
    assert (body["status"], body["limit_qty"], body["suspended"]) == ("confirmed", 45, False)
    body = post_json(
        client, f"{API}/substitute-limits/{limit.pk}", {"decision": "edit", "limit_qty": 30, "note": "药事会"}
    ).json()
    assert (body["limit_qty"], body["note"]) == (30, "药事会")
    body = post_json(client, f"{API}/substitute-limits/{limit.pk}", {"decision": "dismiss"}).json()
    assert (body["status"], body["limit_qty"]) == ("dismissed", None)
    assert list(AuditLog.objects.filter(action__startswith="prescribing.limit_").values_list("action", flat=True).order_by("id")) == [
        "prescribing.limit_confirm", "prescribing.limit_edit", "prescribing.limit_dismiss",
    ]  # fmt: skip


def confirmed(rx, **kw):
    return SubstituteLimit.objects.create(
        institution=rx.hospital, item=rx.item, product=rx.substitute_product, quarter="2025Q2",
        status=LimitStatus.CONFIRMED, **kw,
    )  # fmt: skip


def test_order_over_the_limit_is_refused_and_writes_nothing(rx):
    order(rx, rx.substitute_product, 20, on=dt.date(2025, 5, 1))
    cancelled = order(rx, rx.substitute_product, 25, on=dt.date(2025, 5, 2))
    OrderLine.objects.filter(order=cancelled).update(status="cancelled")  # cancelled lines do not count
    order(rx, rx.substitute_product, 99, on=dt.date(2025, 3, 31))  # last quarter does not count
    confirmed(rx, limit_qty=30)
    before = (Order.objects.count(), OrderLine.objects.count())
    with pytest.raises(DomainError) as refused:
        order(rx, rx.substitute_product, 11, on=dt.date(2025, 6, 1))
    assert "限量 30" in refused.value.message and "剩余 10" in refused.value.message
    assert (Order.objects.count(), OrderLine.objects.count()) == before
    # Through the order API as the HIS/ERP would.
    response = post_json(
        bearer(rx.key), API + "/orders", {"lines": [{"product_code": rx.substitute_product.code, "qty": 11}]}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "substitute_limit"
    assert (Order.objects.count(), OrderLine.objects.count()) == before
    order(rx, rx.substitute_product, 10, on=dt.date(2025, 6, 1))  # exactly up to the limit is fine
    assert OrderLine.objects.count() == before[1] + 1


def test_order_of_a_suspended_substitute_is_refused_on_the_web(rx, client_for):
    confirmed(rx, suspended=True)
    before = OrderLine.objects.count()
    with pytest.raises(DomainError, match="暂停"):
        order(rx, rx.substitute_product, 1)
    assert OrderLine.objects.count() == before
    order(rx, rx.product, 5)  # other products are unaffected


def test_plain_json_prompt_and_outcome(rx):
    client = bearer(rx.key)
    body = {
        "institution_code": rx.hospital.code,
        "doctor_code": "DR01",
        "product_code": rx.nonwinning_product.code,
        "qty": 14,
    }
    answer = post_json(client, API + "/prompts", body).json()
    assert answer["level"] == "warning" and answer["message"] == "该药品有集中采购中选药品，请优先使用"
    assert [a["product_code"] for a in answer["alternatives"]][0] == rx.product.code
    assert answer["alternatives"][0] == {
        "product_code": rx.product.code, "name": "阿托伐他汀钙", "spec": "20mg", "maker": "齐鲁制药有限公司",
        "price": "0.1200", "role": "main",
    }  # fmt: skip
    assert [r["display"] for r in answer["reasons"]] == [
        "患者病情需要",
        "过敏或不耐受",
        "中选药品短缺",
        "患者自愿",
        "其他",
    ]
    none = post_json(client, API + "/prompts", {**body, "product_code": rx.product.code}).json()
    assert (none["prompt"], none["level"], none["alternatives"]) == (None, "none", [])
    pid = answer["prompt"]
    # other institution: cannot prompt for this one, read or answer its prompt
    other = bearer(rx.other_key)
    assert post_json(other, API + "/prompts", body).status_code == 404
    assert other.get(f"{API}/prompts/{pid}").status_code == 404
    assert post_json(other, f"{API}/prompts/{pid}/outcome", {"outcome": "accepted"}).status_code == 404
    assert other.get(API + "/prompts").json()["count"] == 0
    assert Prompt.objects.get().outcome == ""
    other_reason = post_json(
        client, f"{API}/prompts/{pid}/outcome", {"outcome": "overridden", "reason": "other"}
    )
    assert other_reason.status_code == 400 and Prompt.objects.get().outcome == ""
    done = post_json(
        client, f"{API}/prompts/{pid}/outcome", {"outcome": "overridden", "reason": "patient"}
    ).json()
    assert (done["outcome"], done["reason"], done["qty"]) == ("overridden", "patient", 14)
    assert client.get(API + "/prompts?doctor=DR01").json()["count"] == 1
    assert post_json(client, API + "/prompts", {"institution_code": rx.hospital.code}).status_code == 422
    assert (
        bearer("jc_nope").post(API + "/prompts", data="{}", content_type="application/json").status_code
        == 401
    )


def test_jicai_token_command_issues_an_institution_token(rx, capsys):
    call_command("token", rx.hospital.code, "--name", "HIS 接口")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    assert (token.organisation, token.role, token.name) == (rx.hospital_org, "institution", "HIS 接口")
    assert (
        post_json(bearer(key), "/cds-services/vbp-prompt", {"hook": "order-sign", "context": {}}).status_code
        == 200
    )
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("token", "NOPE")


def test_usage_above_a_confirmed_limit_raises_an_alert(rx):
    """Limit 30 in 2025Q2: usage 25 (04-01) + 10 (06-20) = 35 > 30 → SUBSTITUTE_LIMIT_EXCEEDED value 35,
    threshold 30; usage before the quarter (03-31, 100) does not count."""
    from jicai.monitoring.evaluate import run_monitoring
    from jicai.monitoring.models import Alert

    confirmed(rx, limit_qty=30)
    use(rx, rx.substitute_product, 100, dt.date(2025, 3, 31))
    use(rx, rx.substitute_product, 25, dt.date(2025, 4, 1))
    run_monitoring(dt.date(2025, 6, 30))
    assert not Alert.objects.filter(type="SUBSTITUTE_LIMIT_EXCEEDED").exists()
    use(rx, rx.substitute_product, 10, dt.date(2025, 6, 20))
    run_monitoring(dt.date(2025, 6, 30))
    alert = Alert.objects.get(type="SUBSTITUTE_LIMIT_EXCEEDED")
    assert (alert.institution, alert.product, alert.value, alert.threshold) == (
        rx.hospital, rx.substitute_product, 35, 30,
    )  # fmt: skip
