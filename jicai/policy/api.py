"""GET /policy: the effective policy at (region, batch), scoped like the page (admins and bureaus only)."""

from typing import Any

from ninja import Router, Schema

from jicai.api.pagination import with_errors
from jicai.policy.queries import get_policy_view

router = Router()


class ParameterOut(Schema):
    name: str
    label: str
    value: Any
    source: str
    source_text: str


class PolicyOut(Schema):
    region: str | None
    batch: str | None
    parameters: list[ParameterOut]


@router.get("/policy", response=with_errors(PolicyOut, 404), summary="生效的政策参数")
def get_policy(request, region: str = "", batch: str = ""):
    """Values are in their stored JSON form: decimals as strings ("0.20"), the ratio table as
    {"1": "0.50", …, "4+": "0.80"}. A region outside the caller's subtree answers 404."""
    view = get_policy_view(request.actor, region_code=region.strip(), batch_code=batch.strip())
    return {
        "region": view.region.code if view.region else None,
        "batch": view.batch.code if view.batch else None,
        "parameters": [
            {
                "name": r.name,
                "label": r.label,
                "value": r.json_value,
                "source": r.source,
                "source_text": r.source_text,
            }
            for r in view.policy.rows()
        ],
    }
