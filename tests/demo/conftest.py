"""Fixtures for the demo generator tests: a fast password hasher (Argon2 is slow by design, and the tests
build the demo several times) and a helper that runs `jicai demo` and returns its output."""

import io

import pytest
from django.core.management import call_command


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def run_demo(db):
    def run(scale: str = "small", seed: int = 1, force: bool = False) -> str:
        out = io.StringIO()
        call_command("demo", scale=scale, seed=seed, force=force, stdout=out)
        return out.getvalue()

    return run
