"""`jicai prepayment --as-of YYYY-MM-DD [--format json|table]` (SPEC §10): trigger the fund prepayment tranches
due by that date and print every tranche triggered so far. Idempotent: a second run triggers nothing new."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

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
        try:
            as_of = dt.date.fromisoformat(options["as_of"])
        except ValueError:
            raise CommandError(f"--as-of 应为 YYYY-MM-DD，实际为“{options['as_of']}”") from None
        rows = [tranche_json(t) for t in trigger_tranches(as_of=as_of)]
        if options["format"] == "json":
            self.stdout.write(json.dumps({"as_of": as_of.isoformat(), "tranches": rows}, ensure_ascii=False))
            return
        cells = [[_cell(r[c]) for c in COLUMNS] for r in rows]
        widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(COLUMNS)]
        self.stdout.write("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
        for row in cells:
            self.stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)
