"""WSGI entry point."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jicai.settings")
# Web processes get the PostgreSQL session settings for short requests (settings.WEB_PG_OPTIONS).
os.environ.setdefault("JICAI_WEB", "1")
# Any WSGI server (not only `jicai serve`) must refuse to start in production without a secret key.
if settings.SECRET_KEY_MISSING:
    raise ImproperlyConfigured(settings.SECRET_KEY_MISSING_MESSAGE)
application = get_wsgi_application()
