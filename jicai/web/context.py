"""Navigation for the base layout: menu groups by role. Entries whose URL does not resolve are skipped."""

from django.urls import NoReverseMatch, reverse

from jicai.accounts import access
from jicai.accounts.models import Role


def _role(*roles, admin: bool = True):
    """Users with one of `roles`; admins too unless the page acts for one party (ordering, reviewing)."""
    return lambda u: (admin and access.is_admin(u)) or getattr(u, "role", None) in roles


EVERYONE = lambda u: True  # noqa: E731
BUREAU = _role(Role.BUREAU)
COMPANY = _role(Role.MANUFACTURER, Role.DISTRIBUTOR)
BUREAU_OR_INSTITUTION = _role(Role.BUREAU, Role.INSTITUTION)
PARTIES = _role(Role.BUREAU, Role.INSTITUTION, Role.MANUFACTURER, Role.DISTRIBUTOR)
ADMIN = _role()

# (group label, [(label, url name, who sees it)]); a group with one visible entry shows as a plain link.
NAV = [
    ("首页", [("首页", "home:home", EVERYONE)]),
    (
        "主数据",
        [
            ("行政区划", "registry:regions", EVERYONE),
            ("医疗机构", "registry:institutions", EVERYONE),
            ("医共体", "registry:consortia", EVERYONE),
            ("企业", "registry:companies", EVERYONE),
            ("产品", "registry:products", EVERYONE),
            ("集采批次", "batches:batches", EVERYONE),
            ("挂网价格", "batches:listing_prices", EVERYONE),
        ],
    ),
    (
        "报量",
        [
            ("报量窗口", "demand:windows", BUREAU_OR_INSTITUTION),
            ("报量", "demand:reports", BUREAU_OR_INSTITUTION),
            ("报量审核", "demand:queue", _role(Role.BUREAU, admin=False)),
        ],
    ),
    (
        "协议",
        [
            ("约定采购量", "agreements:volumes", PARTIES),
            ("购销协议", "agreements:agreements", PARTIES),
            ("配送关系", "agreements:delivery_relationships", _role(Role.MANUFACTURER, Role.BUREAU)),
        ],
    ),
    (
        "采购供应",
        [
            ("采购下单", "trade:order_new", _role(Role.INSTITUTION, admin=False)),
            ("订单", "trade:orders", PARTIES),
            ("配送记录", "trade:deliveries", COMPANY),
            ("应付与逾期", "trade:payables", PARTIES),
            ("无法供应标记", "trade:supply_blocks", PARTIES),
            ("价格例外", "trade:price_exceptions", BUREAU_OR_INSTITUTION),
            ("企业月报", "trade:monthly_reports", _role(Role.MANUFACTURER, Role.BUREAU)),
            ("使用数据", "trade:usage", BUREAU_OR_INSTITUTION),
        ],
    ),
    (
        "诉求",
        [
            ("诉求对接", "tickets:tickets", PARTIES),
            ("发起诉求", "tickets:ticket_new", _role(Role.INSTITUTION, admin=False)),
            ("诉求处理情况", "tickets:figures", _role(Role.BUREAU, Role.INSTITUTION, Role.MANUFACTURER)),
        ],
    ),
    (
        "监测",
        [
            ("监测看板", "monitoring:dashboard", BUREAU_OR_INSTITUTION),
            ("预警", "monitoring:alerts", PARTIES),
            ("监测通报", "monitoring:notices", BUREAU),
            ("企业评价", "monitoring:scorecards", _role(Role.BUREAU, Role.MANUFACTURER)),
        ],
    ),
    (
        "院内管理",
        [
            ("目标与完成", "hospital:quotas", _role(Role.INSTITUTION, Role.DEPARTMENT_HEAD, Role.DOCTOR)),
            ("科室", "hospital:departments", _role(Role.INSTITUTION, Role.DEPARTMENT_HEAD)),
            ("医师", "hospital:doctors", _role(Role.INSTITUTION, Role.DEPARTMENT_HEAD)),
            ("约谈名单", "hospital:interviews", _role(Role.INSTITUTION, Role.DEPARTMENT_HEAD)),
            ("处方提醒", "prescribing:prompts", _role(Role.INSTITUTION, Role.DEPARTMENT_HEAD, Role.DOCTOR)),
            ("可替代药品目录", "prescribing:catalogue", _role(Role.INSTITUTION)),
            ("可替代药品限量", "prescribing:limits", _role(Role.INSTITUTION)),
        ],
    ),
    (
        "医保基金",
        [
            ("预付台账", "funds:ledger", BUREAU_OR_INSTITUTION),
            ("预付款清算", "funds:clearances", BUREAU_OR_INSTITUTION),
            ("支付标准", "funds:standards", BUREAU_OR_INSTITUTION),
            ("结算试算", "funds:calculator", BUREAU_OR_INSTITUTION),
            ("集采执行考核", "funds:assessment", BUREAU_OR_INSTITUTION),
            ("考核豁免", "funds:exemptions", BUREAU),
        ],
    ),
    (
        "系统",
        [
            ("政策参数", "policy:profile", BUREAU),
            (
                "数据导入",
                "ingest:upload",
                _role(Role.BUREAU, Role.INSTITUTION, Role.MANUFACTURER, Role.DISTRIBUTOR),
            ),
            ("节假日", "core:calendar", ADMIN),
            ("API 令牌", "accounts:tokens", EVERYONE),
        ],
    ),
]


def _entry(request, label: str, name: str) -> dict | None:
    try:
        url = reverse(name)
    except NoReverseMatch:  # a page not built yet
        return None
    active = request.path == url or (url != "/" and request.path.startswith(url))
    return {"label": label, "url": url, "active": active}


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_groups": []}
    groups = []
    for group_label, entries in NAV:
        items = [
            e
            for label, name, who in entries
            if who(user) and (e := _entry(request, label, name)) and access.may_open_path(user, e["url"])
        ]
        if items:
            groups.append({"label": group_label, "items": items, "active": any(i["active"] for i in items)})
    return {"nav_groups": groups}
