"""Step: batches of the scale with their agreement years (the cycles of scales.BATCHES moved to the demo's
today by scales.calendar_shift)."""

from jicai.batches.actions import sync_agreement_years
from jicai.batches.models import Batch
from jicai.demo.context import DemoContext
from jicai.demo.scales import BATCHES, shifted_spec


def build_batches(ctx: DemoContext) -> None:
    for code in ctx.scale.batch_codes:
        spec = shifted_spec(BATCHES[code], ctx.shift_months)
        batch = Batch.objects.create(
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            cycle_start=spec.cycle_start,
            cycle_end=spec.cycle_end,
        )
        batch.demo_spec = spec
        batch.demo_years = sync_agreement_years(batch=batch)
        ctx.batches.append(batch)
    ctx.log("、".join(f"{b.code}（{len(b.demo_years)} 个协议年度）" for b in ctx.batches))
