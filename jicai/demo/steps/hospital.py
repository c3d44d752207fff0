"""Step: inside the hospital (SPEC §11) for every tertiary hospital of the scale (8 at small scale, 142
at province scale) — departments (one ward under
cardiology), doctors (one away), per-doctor HIS usage of last year and of year 1 up to the monitoring date
(some doctors lagging, some preferring non-winning products), then the automatic department and doctor
targets, and a department-head login. Items per hospital are capped so the step stays within the demo's
time budget at province scale; other institutions keep institution-level usage only (no departments)."""

import datetime as dt

from jicai.accounts import actions as account_actions
from jicai.accounts.models import Role, User
from jicai.agreements.models import AgreedVolume
from jicai.batches.models import SUPPLY_ROLES, AgreementYear
from jicai.demo.context import DemoContext, Login
from jicai.demo.steps.accounts import DEMO_PASSWORD
from jicai.demo.steps.monitoring import monitoring_date
from jicai.demo.steps.trade import USAGE_DEPARTMENTS
from jicai.hospital import rules
from jicai.hospital.actions import generate_targets
from jicai.hospital.models import Department, Doctor, DoctorStatus, DoctorTarget, StaffLink
from jicai.ingest.schemas.trade_common import copy_rows
from jicai.trade.models import UsageLine

ITEMS_PER_HOSPITAL = 12

DEPARTMENTS = (
    ("D01", "心血管内科", None),
    ("D02", "神经内科", None),
    ("D03", "内分泌科", None),
    ("D04", "急诊科", None),
    ("D05", "呼吸内科", None),
    ("D0101", "心内一病区", "D01"),
)
# (code, name, department, status, habit): habit "lag" uses ~35 % of the plan this year, "nonwin" prescribes
# mostly non-winning products, "normal" about the plan.
DOCTORS = (
    ("DR01", "张伟", "D01", DoctorStatus.ACTIVE, "normal"),
    ("DR02", "王芳", "D01", DoctorStatus.ACTIVE, "nonwin"),
    ("DR03", "李娜", "D01", DoctorStatus.AWAY, "normal"),
    ("DR04", "刘洋", "D02", DoctorStatus.ACTIVE, "lag"),
    ("DR05", "陈静", "D02", DoctorStatus.ACTIVE, "normal"),
    ("DR06", "杨磊", "D03", DoctorStatus.ACTIVE, "normal"),
    ("DR07", "赵敏", "D03", DoctorStatus.ACTIVE, "nonwin"),
    ("DR08", "黄强", "D04", DoctorStatus.ACTIVE, "lag"),
    ("DR09", "周杰", "D05", DoctorStatus.ACTIVE, "normal"),
    ("DR10", "吴霞", "D0101", DoctorStatus.ACTIVE, "normal"),
)


def build_hospital(ctx: DemoContext) -> None:
    as_of = monitoring_date(ctx)
    pharmacist = User.objects.filter(username="pharmacist").select_related("organisation").first()
    if as_of is None or pharmacist is None:
        return
    own = pharmacist.organisation.institution
    others = [i for i in ctx.institutions if i.level == "tertiary" and i.pk != own.pk]
    hospitals = [own, *others]
    years = {y.pk: y for y in AgreementYear.objects.filter(start__lte=as_of, end__gte=as_of)}
    departments = _departments(hospitals)
    _name_departments_of_existing_usage(hospitals)
    doctors = _doctors(hospitals, departments)
    rng = ctx.rng
    habits = {code: habit for code, _name, _dept, _status, habit in DOCTORS}
    plan_months = 10  # months_to_complete's default: the demo's doctors pace themselves on it
    usage, pairs = [], {}
    for hospital in hospitals:
        volumes = list(
            AgreedVolume.objects.filter(institution=hospital, agreement_year_id__in=years, agreed_qty__gt=0)
            .order_by("item_id")[:ITEMS_PER_HOSPITAL]
            .values("id", "item_id", "agreed_qty", "agreement_year_id")
        )
        for v in volumes:
            products = ctx.item_products.get(v["item_id"], [])
            main = next((p for p in products if p.demo_role == "main"), None)
            other = next((p for p in products if p.demo_role not in SUPPLY_ROLES), None)
            if main is None:
                continue
            year = years[v["agreement_year_id"]]
            pairs[v["id"]] = (hospital.pk, main, other, year)
            # Last year: every doctor about the same, so targets split evenly over the active ones.
            per_doctor_month = max(1, v["agreed_qty"] // (len(DOCTORS) * plan_months))
            for code, _name, dept, _status, habit in DOCTORS:
                for day in _months(rules.add_months(year.start, -12), year.start - dt.timedelta(days=1)):
                    qty = round(per_doctor_month * rng.uniform(0.7, 1.3))
                    product = (
                        other if habit == "nonwin" and other is not None and rng.random() < 0.7 else main
                    )
                    usage.append(_line(hospital.pk, product.pk, dept, code, qty, day))
    usage = [u for u in usage if u[4] > 0]
    _write_usage(usage)
    split = generate_targets(institution_ids=[h.pk for h in hospitals])
    # This year: each doctor against their own target — most on or a little ahead of the plan, the "lag" ones
    # at about a third of it, the "nonwin" ones prescribing more non-winning than winning products.
    current = []
    targets = DoctorTarget.objects.filter(department_target__volume_id__in=pairs).values_list(
        "department_target__volume_id", "department_target__department__code", "doctor__code", "target"
    )
    for volume_id, dept, code, target in targets.order_by("department_target__volume_id", "doctor__code"):
        hospital_id, main, other, year = pairs[volume_id]
        monthly = target / plan_months
        habit = habits.get(code, "normal")
        for day in _months(year.start, as_of):
            if habit == "lag":
                shares = [(main, rng.uniform(0.25, 0.45))]
            elif habit == "nonwin" and other is not None:
                shares = [(main, rng.uniform(0.3, 0.5)), (other, rng.uniform(0.6, 0.9))]
            else:
                shares = [(main, rng.uniform(0.95, 1.25))]
            current += [_line(hospital_id, p.pk, dept, code, round(monthly * f), day) for p, f in shares]
    current = [u for u in current if u[4] > 0]
    _write_usage(current)
    lines = len(usage) + len(current)
    head = account_actions.create_user(
        actor=None, username="depthead", password=DEMO_PASSWORD, organisation=pharmacist.organisation,
        role=Role.DEPARTMENT_HEAD, full_name="心血管内科主任",
    )  # fmt: skip
    StaffLink.objects.create(user=head, department=departments[(own.pk, "D01")])
    ctx.logins.append(Login("科主任（心血管内科）", "depthead", DEMO_PASSWORD, pharmacist.organisation.name))
    doctor = User.objects.filter(username="doctor", organisation=pharmacist.organisation).first()
    if doctor is not None:
        StaffLink.objects.create(user=doctor, doctor=doctors[(own.pk, "DR01")])
    ctx.log(
        f"{len(hospitals)} 家医院：科室 {len(departments)} 个、医师 {len(doctors)} 名、医师使用数据 {lines} 条；"
        f"按上年使用量分解目标 {split} 个品种"
    )


def _departments(hospitals) -> dict:
    rows = [
        Department(institution=h, code=code, name=name)
        for h in hospitals
        for code, name, parent in DEPARTMENTS
    ]
    Department.objects.bulk_create(rows)
    stored = {(d.institution_id, d.code): d for d in Department.objects.filter(institution__in=hospitals)}
    children = []
    for h in hospitals:
        for code, _name, parent in DEPARTMENTS:
            if parent:
                child = stored[(h.pk, code)]
                child.parent = stored[(h.pk, parent)]
                children.append(child)
    Department.objects.bulk_update(children, ["parent"])
    return stored


# The trade step's HIS department names (trade.USAGE_DEPARTMENTS) and the department codes they become.
HIS_DEPARTMENT_CODES = dict(zip(USAGE_DEPARTMENTS, ("D01", "D03"), strict=True))


def _name_departments_of_existing_usage(hospitals) -> None:
    """The trade step's usage lines name their department as a HIS without department codes sends it
    ("心内科"). Once a hospital has departments every usage line names one of its codes (SPEC §11: an
    import naming another is refused), so these hospitals' lines get the matching code — one code per name,
    so no two lines of a (product, department, day) collide: the institution total is then the sum of its
    departments."""
    for name, code in HIS_DEPARTMENT_CODES.items():
        UsageLine.objects.filter(institution__in=hospitals, department=name).update(department=code)


def _doctors(hospitals, departments) -> dict:
    Doctor.objects.bulk_create(
        [
            Doctor(institution=h, code=code, name=name, department=departments[(h.pk, dept)], status=status)
            for h in hospitals
            for code, name, dept, status, _habit in DOCTORS
        ]
    )
    return {(d.institution_id, d.code): d for d in Doctor.objects.filter(institution__in=hospitals)}


def _months(start: dt.date, end: dt.date):
    """The 15th of every month from start's month while on or before end (one usage line per month)."""
    day = start + dt.timedelta(days=14)
    while day <= end:
        yield day
        day = rules.add_months(day, 1)


# Columns of a usage line as _line gives them; rows go in by COPY (PostgreSQL) in list order, so they get the
# same ids bulk_create gave them — without a model instance per row (≈ 1.3 M lines at province scale).
_USAGE_COLUMNS = ("institution_id", "product_id", "department", "doctor_code", "qty", "used_on")


def _line(
    institution_id: int, product_id: int, department: str, doctor: str, qty: int, day: dt.date
) -> tuple:
    return (institution_id, product_id, department, doctor, qty, day)


def _write_usage(rows: list[tuple]) -> None:
    copy_rows(UsageLine._meta.db_table, _USAGE_COLUMNS, rows)
