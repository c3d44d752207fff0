"""Schemathesis over every operation of /api/v1/openapi.json, for the province bureau, an institution and a
manufacturer (issue 15). Fixed seed and a bounded number of examples per operation so the run is the same
every time and stays within a couple of minutes per database. `pytest -m fuzz` runs it alone.

Checks: no 5xx, the response body matches the documented schema, and the status code is documented."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

SEED = 15
EXAMPLES_PER_OPERATION = 4
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]

# Operations that are not JSON API calls: the docs page and its assets, the schema itself.
SKIPPED = {"/api/v1/docs", "/api/v1/docs/assets/{name}", "/api/v1/openapi.json"}


def _fuzz_operation(operation, mode: GenerationMode, headers: dict) -> list[str]:
    failures: list[str] = []

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # No shrinking: a failure is reported with the example found, which keeps the run bounded.
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (
            Exception,
            BaseExceptionGroup,
        ) as exc:  # collect every failing operation instead of stopping at the first
            text = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
            failures.append(f"{operation.label} [{mode}]: {' | '.join(text[:12])}")

    run()
    return failures


@pytest.mark.parametrize("persona", ["province_bureau", "pharmacist", "manufacturer"])
def test_no_server_error_and_documented_responses(world, persona):
    from jicai.accounts.actions import create_api_token

    user = getattr(world, persona)
    _, key = create_api_token(actor=user, organisation=user.organisation, name="fuzz", role=user.role)
    headers = {"Authorization": f"Bearer {key}"}
    # Like Django's test client: a request must not close the connection that holds the test transaction
    # (on PostgreSQL the next request would find it closed).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        failures, operations = _fuzz_all(headers)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert operations > 50
    assert failures == [], "\n".join(failures)


def _fuzz_all(headers: dict) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.path in SKIPPED or operation.full_path in SKIPPED:
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures.extend(_fuzz_operation(operation, mode, headers))
    return failures, operations
