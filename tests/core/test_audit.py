"""audit.record writes who/what/changes; audit.diff gives exact string pairs."""

from decimal import Decimal

from jicai.core import audit
from jicai.core.models import AuditLog


def test_record_writes_actor_organisation_object_and_changes(world):
    before = AuditLog.objects.count()
    row = audit.record(
        actor=world.city_bureau,
        action="demo_action",
        obj=world.hospital,
        summary="改名",
        changes={"name": ["旧", "新"]},
    )
    assert AuditLog.objects.count() == before + 1
    row.refresh_from_db()
    assert row.actor == world.city_bureau
    assert row.organisation_id == world.city_bureau_org.pk
    assert (row.action, row.object_type, row.object_id) == (
        "demo_action",
        "registry.institution",
        str(world.hospital.pk),
    )
    assert row.summary == "改名"
    assert row.changes == {"name": ["旧", "新"]}
    assert row.at is not None


def test_record_without_actor_is_a_system_write(db):
    row = audit.record(actor=None, action="system", object_type="x", object_id=7)
    assert (row.actor, row.organisation_id, row.object_id, row.changes) == (None, None, "7", {})


def test_record_for_an_api_token_actor_keeps_the_organisation_and_token(world):
    from jicai.accounts.access import TokenActor

    actor = TokenActor(organisation=world.hospital_org, role="institution", token_id=42)
    row = audit.record(actor=actor, action="api_write", object_type="trade.order", object_id="A1")
    row.refresh_from_db()
    assert (row.actor, row.organisation_id, row.changes) == (None, world.hospital_org.pk, {"api_token": 42})


def test_summary_is_cut_to_255_characters(db):
    row = audit.record(actor=None, action="a", object_type="t", summary="长" * 300)
    assert len(row.summary) == 255


def test_diff_lists_only_changed_fields_as_strings(world):
    hospital = world.hospital
    assert audit.diff(hospital, {"name": hospital.name, "level": "tertiary", "consortium": None}) == {
        "level": ["secondary", "tertiary"]
    }
    assert audit.diff(world.item, {"item_code": "GY7-002"}) == {"item_code": ["GY7-001", "GY7-002"]}


def test_diff_keeps_decimals_exact_and_nulls_as_none(world):
    from jicai.batches.models import Winner

    winner = Winner.objects.get(item=world.item, product=world.product)
    assert audit.diff(winner, {"winning_price": Decimal("0.1250")}) == {"winning_price": ["0.1200", "0.1250"]}
    assert audit.diff(world.hospital, {"consortium": world.hospital}) == {
        "consortium": [None, str(world.hospital)]
    }
    assert audit.diff(world.hospital, {}) == {}
