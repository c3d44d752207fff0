"""set_policy_values: validated per type, scoped to admins and the bureau's own subtree, audited."""

from decimal import Decimal

import pytest

from jicai.core.errors import DomainError, NotFound
from jicai.core.models import AuditLog
from jicai.policy.actions import set_policy_values
from jicai.policy.models import PolicyProfile
from jicai.policy.resolve import effective_policy

D = Decimal


def test_bureau_sets_overrides_for_its_region_and_they_take_effect(world):
    profile = set_policy_values(
        actor=world.city_bureau,
        region=world.city,
        batch=None,
        values={"report_drop_threshold": "0.1", "agreed_ratio_by_winners": "1:0.6, 2+:0.75"},
        note="威医保发〔2025〕1号",
    )
    assert profile.values == {
        "report_drop_threshold": "0.1",
        "agreed_ratio_by_winners": {"1": "0.6", "2+": "0.75"},
    }
    assert (profile.note, profile.updated_by) == ("威医保发〔2025〕1号", world.city_bureau)
    policy = effective_policy(region=world.county)
    assert policy.report_drop_threshold == D("0.1")
    assert policy.source("agreed_ratio_by_winners") == "威海市配置"

    log = AuditLog.objects.get(action="set_policy_values")
    assert (log.actor, log.organisation_id, log.object_id) == (
        world.city_bureau,
        world.city_bureau_org.pk,
        str(profile.pk),
    )
    assert log.changes == {
        "agreed_ratio_by_winners": [None, '{"1": "0.6", "2+": "0.75"}'],
        "report_drop_threshold": [None, "0.1"],
    }
    assert log.summary == "威海市（371000）：修改 2 个参数"


def test_bureau_may_set_a_county_below_and_a_batch(world):
    set_policy_values(
        actor=world.city_bureau, region=world.county, batch=world.batch, values={"delivery_grace_days": 5}
    )
    assert PolicyProfile.objects.get(region=world.county, batch=world.batch).values == {
        "delivery_grace_days": 5
    }


def test_empty_value_removes_an_override_and_others_are_kept(world):
    set_policy_values(
        actor=world.admin,
        region=None,
        batch=None,
        values={"payment_due_days": "45", "payment_due_rule": "end_of_next_month"},
    )
    profile = set_policy_values(
        actor=world.admin,
        region=None,
        batch=None,
        values={"payment_due_days": "", "months_to_complete": "11"},
    )
    assert profile.values == {"payment_due_rule": "end_of_next_month", "months_to_complete": 11}
    assert PolicyProfile.objects.count() == 1
    log = AuditLog.objects.filter(action="set_policy_values").first()
    assert log.changes == {"months_to_complete": [None, "11"], "payment_due_days": ["45", None]}


def test_unchanged_values_are_not_listed_as_changes(world):
    set_policy_values(
        actor=world.admin, region=world.province, batch=None, values={"delivery_grace_days": "3"}
    )
    set_policy_values(actor=world.admin, region=world.province, batch=None, values={"delivery_grace_days": 3})
    assert AuditLog.objects.filter(action="set_policy_values").first().changes == {}


def test_every_invalid_value_is_named_and_nothing_is_written(world):
    set_policy_values(actor=world.admin, region=world.province, batch=None, values={"delivery_grace_days": 4})
    with pytest.raises(DomainError) as caught:
        set_policy_values(
            actor=world.admin,
            region=world.province,
            batch=None,
            values={
                "delivery_grace_days": "7",
                "report_drop_threshold": "1.5",
                "months_to_complete": "12",
                "bogus": "1",
            },
        )
    details = caught.value.details
    assert [d["parameter"] for d in details] == ["report_drop_threshold", "months_to_complete", "bogus"]
    assert details[0] == {
        "parameter": "report_drop_threshold",
        "label": "报量低于历史采购量需说明的比例",
        "reason": "应不大于 1，实际为 1.5",
    }
    assert "report_drop_threshold" in caught.value.message and "bogus" in caught.value.message
    assert PolicyProfile.objects.get(region=world.province).values == {"delivery_grace_days": 4}
    assert AuditLog.objects.filter(action="set_policy_values").count() == 1


@pytest.mark.parametrize(
    ("who", "where"),
    [
        ("city_bureau", "province"),  # above
        ("city_bureau", "other_city"),  # sideways
        ("city_bureau", "other_county"),  # below a sibling
        ("county_bureau", "city"),
        ("city_bureau", None),  # the platform profile
        ("province_bureau", None),
        ("pharmacist", "county"),
        ("manufacturer", "province"),
        ("doctor", None),
    ],
)
def test_writes_outside_the_actors_scope_are_not_found_and_change_nothing(world, who, where):
    region = getattr(world, where) if where else None
    with pytest.raises(NotFound):
        set_policy_values(
            actor=getattr(world, who), region=region, batch=None, values={"delivery_grace_days": 9}
        )
    assert not PolicyProfile.objects.exists()
    assert not AuditLog.objects.filter(action="set_policy_values").exists()


def test_admin_may_write_anywhere(world):
    for region in (None, world.province, world.other_county):
        set_policy_values(
            actor=world.admin, region=region, batch=world.batch, values={"delivery_grace_days": 9}
        )
    assert PolicyProfile.objects.count() == 3
