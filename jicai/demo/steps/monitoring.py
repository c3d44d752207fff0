"""Hook step: run monitoring over the demo data (SPEC §10: `jicai demo` runs monitoring).

The monitoring engine (jicai.monitoring) does not exist yet. The issue that builds it replaces the body of
this function with a call to its entry point (as of "today"), and appends the trade steps it needs before
this one; until then the step reports that it was skipped — it never fabricates alerts.
"""

from jicai.demo.context import DemoContext


def run_monitoring(ctx: DemoContext) -> None:
    ctx.extra["monitoring"] = "skipped"
    ctx.log("监测引擎尚未实现，已跳过（待 jicai.monitoring 完成后在此接入）")
