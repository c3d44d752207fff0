"""Time SPEC §11 target generation on an existing demo database (run on a copy: it rewrites targets).

    DATABASE_URL=postgres://…/jicai_hospital_prov .venv/bin/python bench/hospital_targets.py

Prints: the no-op check over every agreed volume (what each agreed-volume import pays), then a full
rebuild of every department and doctor target after deleting them, with row counts."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jicai.settings")

import django  # noqa: E402

django.setup()

from jicai.agreements.models import AgreedVolume  # noqa: E402
from jicai.hospital.actions import generate_targets  # noqa: E402
from jicai.hospital.models import Department, DepartmentTarget, DoctorTarget  # noqa: E402
from jicai.trade.models import UsageLine  # noqa: E402


def timed(label, fn):
    t0 = time.perf_counter()
    result = fn()
    print(f"{label}: {time.perf_counter() - t0:.2f} s (result {result})", flush=True)
    return result


print(
    f"agreed volumes {AgreedVolume.objects.count()}, institutions with departments "
    f"{Department.objects.values('institution_id').distinct().count()}, usage lines {UsageLine.objects.count()}"
)
timed("no-op check (targets already built)", generate_targets)
DepartmentTarget.objects.all().delete()
timed("full rebuild (volumes split)", generate_targets)
print(f"department targets {DepartmentTarget.objects.count()}, doctor targets {DoctorTarget.objects.count()}")
