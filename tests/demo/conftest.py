"""Fixtures for the demo generator tests: a fast password hasher (Argon2 is slow by design, and the tests
build the demo several times) and a helper that runs `jicai demo` and returns its output."""

import io

import pytest
from django.core.management import call_command

from jicai.demo.scales import BASE_TODAY


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def run_demo(db):
    # The expected dates and codes of these tests are the written calendar's: build on BASE_TODAY.
    def run(
        scale: str = "small", seed: int = 1, force: bool = False, today: str = BASE_TODAY.isoformat()
    ) -> str:
        out = io.StringIO()
        call_command("demo", scale=scale, seed=seed, force=force, today=today, stdout=out)
        return out.getvalue()

    return run
