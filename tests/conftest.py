"""Shared fixtures: `world` builds one persona per role (see tests/factories.py); `client_for` logs one in."""

import pytest
from django.test import Client

from tests.factories import build_world


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 is deliberately slow; tests that build many users use MD5. Production keeps Argon2
    (tests/test_security_settings.py checks the configured hasher)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_reference_caches():
    """The in-process caches of reference data (prompt snapshot, payment standards) start empty in every test:
    a rolled-back test's rows can come back under the same ids with the version row still at 0."""
    from jicai.prescribing.cache import cache, reference_version

    cache.clear()
    reference_version.changed()


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def client_for(db):
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_client_for(db):
    """A Django test client sending a freshly issued bearer token of the user's organisation."""
    from jicai.accounts.actions import create_api_token

    def make(user) -> Client:
        _, key = create_api_token(actor=user, organisation=user.organisation, name="test", role=user.role)
        return Client(headers={"Authorization": f"Bearer {key}"})

    return make
