"""`jicai rating_reminders --month YYYY-MM`: notify institutions that have not rated every
supplier–distributor pair they ordered through in that month (SPEC §14); prints how many were reminded."""

from django.core.management.base import BaseCommand, CommandError

from jicai.compliance import ratings
from jicai.core.errors import DomainError


class Command(BaseCommand):
    help = "提醒尚未完成配送评价的医疗机构"

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")

    def handle(self, *args, month, **options):
        try:
            day = ratings.parse_month(month)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        count = ratings.remind_unrated(day)
        self.stdout.write(f"{day:%Y-%m}：已提醒 {count} 家医疗机构完成配送评价")
