"""`{% load demand_tags %}{% open_reporting_windows %}`: the institution home page card listing the open
reporting windows with their deadline (reads `user` from the template context)."""

from django import template

from jicai.demand.queries import open_windows_for

register = template.Library()


@register.inclusion_tag("demand/includes/open_windows.html", takes_context=True)
def open_reporting_windows(context):
    user = context.get("user")
    entries = open_windows_for(user) if user is not None and user.is_authenticated else []
    return {"entries": entries}
