"""`agreed_qty: false` used to set a volume to 0 (pydantic's lax bool → int); floats were truncated (issue 15)."""

import pytest

from jicai.agreements import actions
from jicai.agreements.models import AgreedVolume, AgreedVolumeAdjustment


@pytest.mark.parametrize("qty", [False, True, 70.0, 70.5, "abc", 1_000_000_001, -1])
def test_adjust_refuses_booleans_floats_and_out_of_range(world, reports, api_client_for, qty):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    row = AgreedVolume.objects.get(institution=world.hospital, item=reports.item1)
    response = api_client_for(world.county_bureau).post(
        f"/api/v1/agreed-volumes/{row.pk}/adjust",
        {"agreed_qty": qty, "reason": "模糊测试"},
        content_type="application/json",
    )
    assert response.status_code == 422, response.content
    assert response.json()["error"]["details"][0]["loc"] == ["body", "payload", "agreed_qty"]
    row.refresh_from_db()
    assert (row.agreed_qty, row.adjusted) == (51, False)
    assert not AgreedVolumeAdjustment.objects.exists()


def test_adjust_still_takes_a_whole_number(world, reports, api_client_for):
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    row = AgreedVolume.objects.get(institution=world.hospital, item=reports.item1)
    response = api_client_for(world.county_bureau).post(
        f"/api/v1/agreed-volumes/{row.pk}/adjust",
        {"agreed_qty": 70, "reason": "新院区开业"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    row.refresh_from_db()
    assert (row.agreed_qty, row.adjusted) == (70, True)
