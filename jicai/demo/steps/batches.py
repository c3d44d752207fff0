"""Step: batches of the scale with their agreement years (fixed cycles, see scales.BATCHES)."""

from jicai.batches.actions import sync_agreement_years
from jicai.batches.models import Batch
from jicai.demo.context import DemoContext
from jicai.demo.scales import BATCHES


def build_batches(ctx: DemoContext) -> None:
    for code in ctx.scale.batch_codes:
        spec = BATCHES[code]
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
