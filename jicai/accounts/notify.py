"""Send in-app notices to organisations (and e-mail their users when JICAI_EMAIL_BACKEND is configured)."""

from django.conf import settings
from django.core.mail import send_mass_mail

from jicai.accounts.models import Notification, Organisation, User


def notify(
    *,
    organisations: list[Organisation] | list[int],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    email: bool = True,
) -> list[Notification]:
    """One Notification per organisation (bulk); e-mail to its active users that have an address."""
    org_ids = [o if isinstance(o, int) else o.pk for o in organisations]
    rows = Notification.objects.bulk_create(
        [
            Notification(organisation_id=oid, kind=kind, title=title[:200], body=body, link=link)
            for oid in org_ids
        ]
    )
    if email and org_ids:
        addresses = list(
            User.objects.filter(organisation_id__in=org_ids, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        if addresses:
            sender = getattr(settings, "DEFAULT_FROM_EMAIL", "noreply@jicai.local")
            send_mass_mail(
                [(title, f"{body}\n{link}".strip(), sender, [a]) for a in addresses], fail_silently=True
            )
    return rows
