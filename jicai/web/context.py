"""Navigation for the base layout, by role."""

from django.urls import NoReverseMatch, reverse

from jicai.accounts import access

# (label, url name, who sees it): who is a predicate on the actor.
NAV = [
    ("首页", "web:home", lambda u: True),
    ("行政区划", "registry:regions", lambda u: True),
    ("医疗机构", "registry:institutions", lambda u: True),
    ("医共体", "registry:consortia", lambda u: True),
    ("企业", "registry:companies", lambda u: True),
    ("产品", "registry:products", lambda u: True),
    ("集采批次", "batches:batches", lambda u: True),
    ("挂网价格", "batches:listing_prices", lambda u: True),
    ("政策参数", "policy:profile", lambda u: access.is_admin(u) or access.is_bureau(u)),
    ("数据导入", "ingest:upload", lambda u: access.is_admin(u) or access.is_bureau(u)),
    ("节假日", "core:calendar", lambda u: access.is_admin(u)),
    ("API 令牌", "accounts:tokens", lambda u: True),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name, who in NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:  # a page not built yet
            continue
        if who(user):
            items.append(
                {
                    "label": label,
                    "url": url,
                    "active": request.path == url or (url != "/" and request.path.startswith(url)),
                }
            )
    return {"nav_items": items}
