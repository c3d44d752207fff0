"""Security headers not covered by Django 5.2 itself."""

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
