"""A hospital with three departments and five doctors (one away), last year's usage and an agreed volume
of 1000, loaded through the real imports (SPEC §11).

Hand-worked numbers (year 1 of the world's batch: S = 2024-03-01, history 2023-03-01 … 2024-02-29):
  history, Σ qty × item_factor (other_product has item_factor 0.5):
    D01: DR01 300 (W) + DR02 200 × 0.5 = 100 (N) + DR03 (away) 200 (W) = 600;  D02: DR04 395;  D03: DR05 5
  departments: D03 5/1000 = 0.005 < dept_min_share 0.01 → 0;  1000 over 600 : 395 → 603.015 / 396.98
    → D01 603, D02 397, D03 0
  doctors of D01 (DR03 away): 603 over 300 : 100 → 452.25 / 150.75 → DR01 452, DR02 151
  D02: DR04 397;  D03: DR05 0
"""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from jicai.accounts.models import Role
from jicai.batches.models import ItemFactor
from jicai.hospital.models import Department, Doctor, StaffLink
from jicai.ingest.pipeline import run_import
from tests import factories


def load(kind, actor, *lines):
    return run_import(
        kind=kind, rows_or_file="\n".join(lines).encode(), filename=f"{kind}.csv", actor=actor, source="cli"
    )


DEPARTMENTS = (
    "institution_code,department_code,name,parent_code",
    "H37100200001,D01,心血管内科,",
    "H37100200001,D02,神经内科,",
    "H37100200001,D03,急诊科,",
)
DOCTORS = (
    "institution_code,doctor_code,name,department_code,status",
    "H37100200001,DR01,张伟,D01,active",
    "H37100200001,DR02,王芳,D01,active",
    "H37100200001,DR03,李娜,D01,away",
    "H37100200001,DR04,刘洋,D02,active",
    "H37100200001,DR05,陈静,D03,active",
)


@pytest.fixture
def hosp(world):
    return build_hospital(world)


def build_hospital(w):
    ItemFactor.objects.create(item=w.item, product=w.other_product, factor=Decimal("0.5"))
    load("departments", w.pharmacist, *DEPARTMENTS)
    load("doctors", w.pharmacist, *DOCTORS)
    p, o = w.product.code, w.other_product.code
    load(
        "usage",
        w.pharmacist,
        "institution_code,product_code,department,doctor_code,qty,used_on",
        f"H37100200001,{p},D01,DR01,300,2023-06-01",
        f"H37100200001,{o},D01,DR02,200,2023-07-01",
        f"H37100200001,{p},D01,DR03,200,2023-08-01",
        f"H37100200001,{p},D02,DR04,395,2024-02-29",
        f"H37100200001,{p},D03,DR05,5,2023-03-01",
        # before the history window: ignored
        f"H37100200001,{p},D03,DR05,999,2023-02-28",
    )
    load(
        "agreed-volumes",
        w.province_bureau,
        "batch_code,agreement_year,institution_code,item_code,reported_qty,agreed_qty",
        "GY-YD2023-1,1,H37100200001,GY7-001,2000,1000",
    )
    head = factories.user("hc_head", w.hospital_org, Role.DEPARTMENT_HEAD)
    other_head = factories.user("hc_head2", w.hospital_org, Role.DEPARTMENT_HEAD)
    depts = {d.code: d for d in Department.objects.all()}
    doctors = {d.code: d for d in Doctor.objects.all()}
    StaffLink.objects.create(user=head, department=depts["D01"])
    StaffLink.objects.create(user=other_head, department=depts["D02"])
    StaffLink.objects.create(user=w.doctor, doctor=doctors["DR01"])
    doctor2 = factories.user("hc_doctor2", w.hospital_org, Role.DOCTOR)
    StaffLink.objects.create(user=doctor2, doctor=doctors["DR02"])
    return SimpleNamespace(
        w=w, head=head, other_head=other_head, doctor=w.doctor, doctor2=doctor2, depts=depts, doctors=doctors
    )


def current_usage(w):
    """Year-1 use up to 2024-04-10, and one line after it."""
    p, o = w.product.code, w.other_product.code
    load(
        "usage",
        w.pharmacist,
        "institution_code,product_code,department,doctor_code,qty,used_on",
        f"H37100200001,{p},D01,DR01,50,2024-03-15",
        f"H37100200001,{p},D01,DR02,20,2024-04-01",
        f"H37100200001,{o},D02,DR04,40,2024-04-02",
        f"H37100200001,{p},D01,DR01,30,2024-04-20",
    )


AS_OF = dt.date(2024, 4, 10)
