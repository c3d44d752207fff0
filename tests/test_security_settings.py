"""Security settings of SPEC §9 as configured for production (not the test overrides)."""

import datetime as dt
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jicai import settings as project_settings


def test_passwords_are_hashed_with_argon2():
    assert project_settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]


def test_session_times_out_after_thirty_idle_minutes():
    assert django_settings.SESSION_COOKIE_AGE == 30 * 60
    assert django_settings.SESSION_REFRESH_SECONDS == 60


@pytest.mark.django_db
def test_idle_timeout_slides_at_most_once_a_minute(client, world):
    """Each request within a minute of the last refresh (or of signing in) writes nothing; the first one a
    minute later moves the session's expiry forward by the full timeout."""
    from django.contrib.sessions.models import Session

    clock = [1_000_000.0]
    with mock.patch("jicai.core.middleware.time.time", lambda: clock[0]):
        client.force_login(world.pharmacist)  # signing in counts as the first refresh
        client.get("/")
        key = client.session.session_key
        first = Session.objects.get(pk=key).expire_date
        with CaptureQueriesContext(connection) as queries:
            clock[0] += 59
            client.get("/")
        assert not [
            q
            for q in queries.captured_queries
            if q["sql"].startswith("UPDATE") and "django_session" in q["sql"]
        ]
        assert Session.objects.get(pk=key).expire_date == first
        clock[0] += 1
        client.get("/")
        assert Session.objects.get(pk=key).expire_date > first


@pytest.mark.django_db
def test_expired_session_signs_out(client, world):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.force_login(world.pharmacist)
    client.get("/")
    Session.objects.filter(pk=client.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    assert client.get("/").status_code == 302


def test_login_throttling_is_enabled():
    assert "axes" in django_settings.INSTALLED_APPS
    assert django_settings.AXES_FAILURE_LIMIT == 5


def test_csp_forbids_inline_scripts():
    assert "script-src 'self'" in django_settings.CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in django_settings.CONTENT_SECURITY_POLICY
