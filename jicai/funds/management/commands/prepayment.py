"""`jicai prepayment --as-of YYYY-MM-DD [--format json|table]` (SPEC §10): trigger the fund prepayment tranches
due by that date and print every tranche triggered so far. Idempotent: a second run triggers nothing new."""

import json

from django.core.management.base import BaseCommand

from jicai.core.commands import parse_as_of, write_table
from jicai.funds.prepayment import tranche_json, trigger_tranches

COLUMNS = (
    "institution",
    "batch",
    "agreement_year",
    "tranche",
    "amount",
    "triggered_on",
    "due_on",
    "paid_amount",
)


class Command(BaseCommand):
    help = "触发截至该日应预付的医保基金预付款并输出全部预付款"

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="日期 YYYY-MM-DD")
        parser.add_argument("--format", choices=("json", "table"), default="json")

    def handle(self, *args, **options):
        as_of = parse_as_of(options["as_of"])
        rows = [tranche_json(t) for t in trigger_tranches(as_of=as_of)]
        if options["format"] == "json":
            self.stdout.write(json.dumps({"as_of": as_of.isoformat(), "tranches": rows}, ensure_ascii=False))
            return
        # Amounts are JSON numbers; the table shows them with their 2 decimals.
        amounts = [{c: f"{v:.2f}" if isinstance(v, float) else v for c, v in r.items()} for r in rows]
        write_table(self.stdout, COLUMNS, amounts)
