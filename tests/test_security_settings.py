"""Security settings of SPEC §9 as configured for production (not the test overrides)."""

from django.conf import settings as django_settings

from jicai import settings as project_settings


def test_passwords_are_hashed_with_argon2():
    assert project_settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]


def test_session_times_out_after_thirty_idle_minutes():
    assert django_settings.SESSION_COOKIE_AGE == 30 * 60
    assert django_settings.SESSION_SAVE_EVERY_REQUEST is True


def test_login_throttling_is_enabled():
    assert "axes" in django_settings.INSTALLED_APPS
    assert django_settings.AXES_FAILURE_LIMIT == 5


def test_csp_forbids_inline_scripts():
    assert "script-src 'self'" in django_settings.CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in django_settings.CONTENT_SECURITY_POLICY
