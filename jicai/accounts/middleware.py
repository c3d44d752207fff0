"""Keeps signed-in users away from whole areas their role may not open (SPEC §9): the decision is
`access.may_open_path`; here it only turns a "no" into the same 404 an unknown page gives."""

from django.http import Http404

from jicai.accounts import access


class RoleAreaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not access.may_open_path(user, request.path):
            if request.path.startswith("/api/"):
                from jicai.api.api import NOT_FOUND_MESSAGE, error_response

                return error_response(404, "not_found", NOT_FOUND_MESSAGE)
            raise Http404("未找到该页面，或您无权查看")
        return self.get_response(request)
