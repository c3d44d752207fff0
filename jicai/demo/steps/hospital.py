"""Step: inside the hospital (SPEC §11) for a handful of demo hospitals — departments (one ward under
cardiology), doctors (one away), per-doctor HIS usage of last year and of year 1 up to the monitoring date
(some doctors lagging, some preferring non-winning products), then the automatic department and doctor
targets, and a department-head login. The hospital count and items per hospital are fixed whatever the
scale, so the step stays a few seconds even for the province (targets cover every institution that has
departments)."""

import datetime as dt

from jicai.accounts import actions as account_actions
from jicai.accounts.models import Role, User
from jicai.agreements.models import AgreedVolume
from jicai.batches.models import SUPPLY_ROLES, AgreementYear
from jicai.demo.context import DemoContext, Login
from jicai.demo.steps.accounts import DEMO_PASSWORD
from jicai.demo.steps.monitoring import monitoring_date
from jicai.hospital import rules
from jicai.hospital.actions import generate_targets
from jicai.hospital.models import Department, Doctor, DoctorStatus, StaffLink
from jicai.trade.models import UsageLine

HOSPITALS = 4  # besides the pharmacist login's own hospital
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
    others = [i for i in ctx.institutions if i.level == "tertiary" and i.pk != own.pk][:HOSPITALS]
    hospitals = [own, *others]
    years = {y.pk: y for y in AgreementYear.objects.filter(start__lte=as_of, end__gte=as_of)}
    departments = _departments(hospitals)
    doctors = _doctors(hospitals, departments)
    lines = 0
    rng = ctx.rng
    usage = []
    for hospital in hospitals:
        volumes = list(
            AgreedVolume.objects.filter(institution=hospital, agreement_year_id__in=years, agreed_qty__gt=0)
            .order_by("item_id")[:ITEMS_PER_HOSPITAL]
            .values("item_id", "agreed_qty", "agreement_year_id")
        )
        for v in volumes:
            products = ctx.item_products.get(v["item_id"], [])
            main = next((p for p in products if p.demo_role == "main"), None)
            other = next((p for p in products if p.demo_role not in SUPPLY_ROLES), None)
            if main is None:
                continue
            year = years[v["agreement_year_id"]]
            per_doctor_month = max(1, v["agreed_qty"] // (len(DOCTORS) * 10))
            for code, _name, dept, _status, habit in DOCTORS:
                for start, end in (
                    (rules.add_months(year.start, -12), year.start - dt.timedelta(days=1)),
                    (year.start, as_of),
                ):
                    current = start == year.start
                    day = start + dt.timedelta(days=14)
                    while day <= end:
                        qty = round(per_doctor_month * rng.uniform(0.7, 1.3))
                        if current and habit == "lag":
                            qty = round(qty * 0.35)
                        product = main
                        if habit == "nonwin" and other is not None and rng.random() < 0.7:
                            product = other
                        if qty > 0:
                            usage.append(
                                UsageLine(
                                    institution_id=hospital.pk, product_id=product.pk, department=dept,
                                    doctor_code=code, qty=qty, used_on=day,
                                )
                            )  # fmt: skip
                        day = rules.add_months(day, 1)
    UsageLine.objects.bulk_create(usage, batch_size=2000)
    lines = len(usage)
    split = generate_targets(institution_ids=[h.pk for h in hospitals])
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


def _doctors(hospitals, departments) -> dict:
    Doctor.objects.bulk_create(
        [
            Doctor(institution=h, code=code, name=name, department=departments[(h.pk, dept)], status=status)
            for h in hospitals
            for code, name, dept, status, _habit in DOCTORS
        ]
    )
    return {(d.institution_id, d.code): d for d in Doctor.objects.filter(institution__in=hospitals)}
