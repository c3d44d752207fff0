"""Time (and optionally profile) each step of `jicai demo` on the configured database.

    DATABASE_URL=... .venv/bin/python bench/demo_steps.py --scale medium --seed 1 --today 2025-08-31 \
        [--profile hospital,compliance --profile-dir /tmp/prof]

Builds the demo exactly as `jicai demo --force` does (same runner, same steps); with --profile, the named
steps run under cProfile and their stats are written to PROFILE_DIR/STEP.prof, with the top functions by
cumulative time printed after the step.
"""

import argparse
import cProfile
import datetime as dt
import os
import pstats
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jicai.settings")

import django  # noqa: E402

django.setup()

from jicai.demo import runner  # noqa: E402


def _profiled(step, directory: Path, top: int):
    def run(ctx):
        profile = cProfile.Profile()
        profile.enable()
        try:
            step.run(ctx)
        finally:
            profile.disable()
            path = directory / f"{step.name}.prof"
            profile.dump_stats(path)
            stats = pstats.Stats(str(path))
            stats.sort_stats("cumulative").print_stats(top)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2025, 8, 31))
    parser.add_argument("--profile", default="", help="comma-separated step names to run under cProfile")
    parser.add_argument("--profile-dir", type=Path, default=Path("/tmp/jicai-demo-profile"))
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    names = {n for n in args.profile.split(",") if n}
    unknown = names - {s.name for s in runner.STEPS}
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    if names:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        runner.STEPS[:] = [
            replace(s, run=_profiled(s, args.profile_dir, args.top)) if s.name in names else s
            for s in runner.STEPS
        ]
    ctx = runner.run_demo(scale=args.scale, seed=args.seed, today=args.today, force=True)
    print(f"total {ctx.extra['run'].seconds} s")


if __name__ == "__main__":
    main()
