"""Security headers not covered by Django 5.2 itself, and the session's sliding idle timeout."""

import time

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Adds the Content-Security-Policy header (Django 5.2 has no built-in CSP; 6.0 does)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        # The OpenAPI docs page loads Swagger UI assets bundled with django-ninja and runs one inline
        # initialiser; it gets a relaxed policy, everything else the strict one.
        if request.path.startswith("/api/v1/docs"):
            policy = policy.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
                "style-src 'self'", "style-src 'self' 'unsafe-inline'"
            )
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class SessionRefreshMiddleware:
    """Slides the idle timeout (SESSION_COOKIE_AGE) forward at most once a minute instead of on every
    request. `SESSION_SAVE_EVERY_REQUEST` wrote the session row on every page and API call — one UPDATE
    and one commit per read. Here a signed-in session is marked modified only when its last refresh is at
    least SESSION_REFRESH_SECONDS old, so a user idle for the whole timeout is still signed out (the
    timeout ends between AGE − 60 s and AGE after the last request). Placed right after SessionMiddleware."""

    KEY = "_refreshed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    @classmethod
    def stamp(cls, sender, request, user, **kwargs) -> None:
        if request is not None and hasattr(request, "session"):
            request.session[cls.KEY] = int(time.time())

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            if now - int(session.get(self.KEY, 0)) >= settings.SESSION_REFRESH_SECONDS:
                session[self.KEY] = now
        return response
