"""View helpers shared by every app's pages: scope misses become the 404 page."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from jicai.core.errors import NotFound


def not_found_as_404(view):
    """queries.py raises core.errors.NotFound for missing *and* out-of-scope rows; both render the 404 page
    so a user cannot tell whether another organisation's record exists."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def scoped_page(view):
    """login_required + not_found_as_404: the decorator every signed-in page uses."""
    return login_required(not_found_as_404(view))
