"""effective_policy / PolicyResolver: region chain up to the province, then platform; batch beats no batch."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from jicai.policy.resolve import PolicyResolver, effective_policy
from tests.factories import batch as make_batch

D = Decimal


def test_without_profiles_every_value_is_the_spec_default(world):
    policy = effective_policy(region=world.county, batch=world.batch)
    assert policy.report_drop_threshold == D("0.20")
    assert policy.agreed_ratio_by_winners[4] == D("0.80")
    assert policy.source("report_drop_threshold") == "默认值（SPEC）"
    assert policy["payment_due_days"] == 30


def test_platform_province_city_and_batch_sources(world, profile):
    profile(None, report_drop_threshold="0.10", delivery_grace_days=4, payment_due_days=45)
    profile(world.province, report_drop_threshold="0.15", delivery_grace_days=6)
    profile(world.city, world.batch, report_drop_threshold="0.00")
    policy = effective_policy(region=world.county, batch=world.batch)
    assert (policy.report_drop_threshold, policy.source("report_drop_threshold")) == (
        D("0.00"),
        "威海市配置（批次 GY-YD2023-1）",
    )
    assert (policy.delivery_grace_days, policy.source("delivery_grace_days")) == (6, "山东省配置")
    assert (policy.payment_due_days, policy.source("payment_due_days")) == (45, "全平台配置")
    assert (policy.receipt_confirm_days, policy.source("receipt_confirm_days")) == (5, "默认值（SPEC）")

    # Without the batch, the city's batch profile does not apply.
    no_batch = effective_policy(region=world.county)
    assert (no_batch.report_drop_threshold, no_batch.source("report_drop_threshold")) == (
        D("0.15"),
        "山东省配置",
    )
    # A sibling city only inherits the province.
    other = effective_policy(region=world.other_county, batch=world.batch)
    assert other.source("report_drop_threshold") == "山东省配置"
    # The platform view sees only platform and defaults.
    platform = effective_policy()
    assert (platform.report_drop_threshold, platform.source("report_drop_threshold")) == (
        D("0.10"),
        "全平台配置",
    )


def test_batch_profile_beats_no_batch_profile_at_the_same_region(world, profile):
    profile(world.city, report_drop_threshold="0.30")
    profile(world.city, world.batch, report_drop_threshold="0.05")
    assert effective_policy(region=world.city, batch=world.batch).report_drop_threshold == D("0.05")
    assert effective_policy(region=world.city).report_drop_threshold == D("0.30")


def test_a_nearer_region_without_batch_beats_a_farther_region_with_batch(world, profile):
    profile(world.province, world.batch, over_purchase_multiple="5")
    profile(world.county, over_purchase_multiple="2")
    policy = effective_policy(region=world.county, batch=world.batch)
    assert (policy.over_purchase_multiple, policy.source("over_purchase_multiple")) == (D("2"), "环翠区配置")


def test_platform_batch_profile(world, profile):
    profile(None, world.batch, agreed_ratio_by_winners={"1": "0.6", "2+": "0.7"})
    profile(None, listing_cap_multiple="2")
    policy = effective_policy(region=world.city, batch=world.batch)
    assert policy.agreed_ratio_by_winners == {1: D("0.6"), 2: D("0.7")}
    assert policy.source("agreed_ratio_by_winners") == "全平台配置（批次 GY-YD2023-1）"
    assert policy.listing_cap_multiple == D("2")


def test_another_batch_profile_does_not_apply(world, profile):
    other = make_batch(code="SD-2024-1", kind="provincial")
    profile(world.province, other, report_drop_threshold="0.50")
    assert effective_policy(region=world.city, batch=world.batch).report_drop_threshold == D("0.20")
    assert effective_policy(region=world.city, batch=other).report_drop_threshold == D("0.50")


def test_values_come_back_in_their_python_types(world, profile):
    profile(
        world.province,
        delivery_rate_tiers=["0.9", "0.7", "0.5"],
        months_to_complete=11,
        prepayment_tranches={
            "first_share": "0.4",
            "second_elapsed": "0.5",
            "second_completion": "0.6",
            "second_total": "0.95",
        },
    )
    policy = effective_policy(region=world.city)
    assert policy.delivery_rate_tiers == (D("0.9"), D("0.7"), D("0.5"))
    assert policy.months_to_complete == 11
    assert policy.prepayment_tranches.second_total == D("0.95")


def test_unknown_attribute_and_source(world):
    policy = effective_policy()
    with pytest.raises(AttributeError):
        policy.no_such_parameter  # noqa: B018
    with pytest.raises(KeyError):
        policy.source("no_such_parameter")


def test_rows_list_every_parameter_with_display_and_source_text(world, profile):
    profile(world.province, report_drop_threshold="0.15")
    rows = effective_policy(region=world.city).rows()
    first = rows[0]
    assert (first.name, first.label, first.display, first.json_value, first.source) == (
        "report_drop_threshold",
        "报量低于历史采购量需说明的比例",
        "0.15",
        "0.15",
        "山东省配置",
    )
    assert first.source_text == 'Shandong (一); Henan uses 0.0 ("低于历史采购量")'
    assert len(rows) == 22


def test_effective_policy_runs_one_query(world, profile, django_assert_num_queries):
    profile(world.province, report_drop_threshold="0.15")
    profile(world.city, world.batch, report_drop_threshold="0.10")
    with django_assert_num_queries(1):
        policy = effective_policy(region=world.county, batch=world.batch)
        assert policy.source("report_drop_threshold") == "威海市配置（批次 GY-YD2023-1）"


def test_resolver_loads_once_and_resolves_many_pairs_without_queries(
    world, profile, django_assert_num_queries
):
    other = make_batch(code="SD-2024-1", kind="provincial")
    profile(None, report_drop_threshold="0.10")
    profile(world.province, report_drop_threshold="0.15")
    profile(world.city, world.batch, report_drop_threshold="0.05")
    profile(world.other_city, other, report_drop_threshold="0.25")
    regions = [world.province, world.city, world.county, world.other_city, world.other_county, None]
    with django_assert_num_queries(1):
        resolver = PolicyResolver.load()
    with django_assert_num_queries(0):
        got = {
            (getattr(r, "code", None), getattr(b, "code", None)): resolver.resolve(r, b).report_drop_threshold
            for r in regions
            for b in (world.batch, other, None)
        }
    assert got[("371002", "GY-YD2023-1")] == D("0.05")
    assert got[("371002", "SD-2024-1")] == D("0.15")
    assert got[("370202", "SD-2024-1")] == D("0.25")
    assert got[("370202", "GY-YD2023-1")] == D("0.15")
    assert got[(None, "GY-YD2023-1")] == D("0.10")
    assert got[("370000", None)] == D("0.15")


def test_only_one_profile_per_scope(world, profile):
    profile(None, report_drop_threshold="0.1")
    profile(world.city, world.batch)
    for region, batch in ((None, None), (world.city, world.batch)):
        with pytest.raises(IntegrityError), transaction.atomic():
            profile(region, batch)
