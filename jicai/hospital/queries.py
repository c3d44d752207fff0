"""Reads of the hospital app, always scoped through accounts.access (SPEC §9, §11): targets with their
plan and real-time use, drill-down rows, change log and the interview list."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, QuerySet

from jicai.accounts import access
from jicai.agreements.models import AgreedVolume
from jicai.batches.models import AgreementYear
from jicai.core.errors import NotFound
from jicai.hospital import rules
from jicai.hospital.models import DepartmentTarget, DoctorTarget, TargetChange
from jicai.hospital.usage import usage_by_key
from jicai.policy.resolve import PolicyResolver

FOUR = Decimal("0.0001")


@dataclass
class QuotaRow:
    institution: str
    item: str
    agreement_year: int
    department: str | None
    doctor: str | None
    target: int
    plan_to_date: Decimal
    used: Decimal
    completion: Decimal | None
    lag: bool
    monthly: list[int] | None = None
    # for pages
    volume_id: int = 0
    department_target_id: int | None = None
    institution_name: str = ""
    item_name: str = ""
    department_name: str = ""
    doctor_name: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), Decimal(self.target) - self.used)

    def as_json(self) -> dict:
        return {
            "institution": self.institution,
            "item": self.item,
            "agreement_year": self.agreement_year,
            "department": self.department,
            "doctor": self.doctor,
            "target": self.target,
            "monthly": self.monthly,
            "plan_to_date": float(self.plan_to_date),
            "used": float(self.used),
            "completion": float(self.completion) if self.completion is not None else None,
        }


def current_years(as_of: dt.date) -> dict[int, AgreementYear]:
    """Per batch, the agreement year containing as_of, or the last one when as_of is after the cycle;
    batches starting after as_of have none (as SPEC §7)."""
    chosen: dict[int, AgreementYear] = {}
    for year in AgreementYear.objects.filter(start__lte=as_of).order_by("batch_id", "number"):
        if year.start <= as_of <= year.end or year.end < as_of:
            chosen[year.batch_id] = year
    return chosen


def editable_department_targets(actor) -> QuerySet:
    """Department targets whose doctor split the actor may change: the head of that department, or the
    pharmacy of the hospital."""
    role = getattr(actor, "role", None)
    if role == "doctor":
        return DepartmentTarget.objects.none()
    return access.visible_department_targets(actor)


def quota_rows(
    actor,
    as_of: dt.date,
    *,
    institution_code: str | None = None,
    volume_id: int | None = None,
    volume_ids: list[int] | None = None,
) -> list[QuotaRow]:
    """Institution, department and doctor rows the actor may see, with target, plan to date, used (W, in
    [S, as_of]) and completion, read straight from usage lines. actor None = everything (CLI)."""
    if actor is not None and not (
        access.is_admin(actor)
        or access.is_bureau(actor)
        or access.is_pharmacy(actor)
        or access.staff_link(actor)
    ):
        return []  # a doctor or department head not linked to a record sees nothing (one query)
    years = current_years(as_of)
    if not years:
        return []
    if actor is None:
        volumes = AgreedVolume.objects.all()
        dept_targets = DepartmentTarget.objects.all()
        doc_targets = DoctorTarget.objects.all()
    else:
        volumes = access.visible_quota_volumes(actor)
        dept_targets = access.visible_department_targets(actor)
        doc_targets = access.visible_doctor_targets(actor)
    year_ids = [y.pk for y in years.values()]
    volumes = volumes.filter(agreement_year_id__in=year_ids)
    dept_targets = dept_targets.filter(volume__agreement_year_id__in=year_ids)
    doc_targets = doc_targets.filter(department_target__volume__agreement_year_id__in=year_ids)
    if institution_code:
        volumes = volumes.filter(institution__code=institution_code)
        dept_targets = dept_targets.filter(volume__institution__code=institution_code)
        doc_targets = doc_targets.filter(department_target__volume__institution__code=institution_code)
    if volume_id is not None:
        volumes = volumes.filter(pk=volume_id)
        dept_targets = dept_targets.filter(volume_id=volume_id)
        doc_targets = doc_targets.filter(department_target__volume_id=volume_id)
    if volume_ids is not None:
        volumes = volumes.filter(pk__in=volume_ids)
        dept_targets = dept_targets.filter(volume_id__in=volume_ids)
        doc_targets = doc_targets.filter(department_target__volume_id__in=volume_ids)
    volume_fields = (
        "id", "institution_id", "institution__code", "institution__name", "institution__region_id", "item_id",
        "item__item_code", "item__generic_name", "agreed_qty", "agreement_year_id",
    )  # fmt: skip
    vols = {v["id"]: v for v in volumes.values(*volume_fields)}
    depts = list(
        dept_targets.values(
            "id", "volume_id", "department__code", "department__name", "target",
            *(f"volume__{f}" for f in volume_fields if f != "id"),
        )
    )  # fmt: skip
    docs = list(
        doc_targets.values(
            "department_target_id", "department_target__volume_id", "department_target__department__code",
            "doctor__code", "doctor__name", "target",
            *(f"department_target__volume__{f}" for f in volume_fields if f != "id"),
        )
    )  # fmt: skip
    # Every volume involved, whether seen as a total or only through a department/doctor row.
    involved = dict(vols)
    for d in depts:
        involved.setdefault(d["volume_id"], {f: d[f"volume__{f}"] for f in volume_fields if f != "id"})
    for d in docs:
        involved.setdefault(
            d["department_target__volume_id"],
            {f: d[f"department_target__volume__{f}"] for f in volume_fields if f != "id"},
        )
    if not involved:
        return []
    years_by_id = {y.pk: y for y in years.values()}
    resolver = PolicyResolver.load()
    from jicai.batches.models import Batch
    from jicai.registry.models import Region

    regions = Region.objects.in_bulk({v["institution__region_id"] for v in involved.values()})
    batches = Batch.objects.in_bulk({y.batch_id for y in years.values()})
    policies: dict = {}

    def policy_for(v):
        year = years_by_id[v["agreement_year_id"]]
        key = (v["institution__region_id"], year.batch_id)
        if key not in policies:
            policies[key] = resolver.resolve(regions.get(key[0]), batches.get(key[1]))
        return policies[key]

    used_inst: dict = defaultdict(lambda: Decimal(0))
    used_dept: dict = defaultdict(lambda: Decimal(0))
    used_doc: dict = defaultdict(lambda: Decimal(0))
    by_year = defaultdict(list)
    for v in involved.values():
        by_year[v["agreement_year_id"]].append(v)
    for year_id, group in by_year.items():
        year = years_by_id[year_id]
        usage = usage_by_key(
            institution_ids={v["institution_id"] for v in group},
            item_ids={v["item_id"] for v in group},
            start=year.start,
            end=min(as_of, year.end),
        )
        for (inst, item, dept, doctor), (won, _other) in usage.items():
            used_inst[(year_id, inst, item)] += won
            used_dept[(year_id, inst, item, dept)] += won
            used_doc[(year_id, inst, item, doctor)] += won

    def make(v, volume_id, target, used, department=None, doctor=None, **kw) -> QuotaRow:
        year = years_by_id[v["agreement_year_id"]]
        policy = policy_for(v)
        m = int(policy.months_to_complete)
        plan = rules.plan_to_date(target, year.start, m, as_of)
        completion = (used / target).quantize(FOUR, ROUND_HALF_UP) if target else None
        share = plan / target if target else Decimal(0)
        lag = completion is not None and completion < share * policy.progress_tolerance
        return QuotaRow(
            institution=v["institution__code"], item=v["item__item_code"], agreement_year=year.number,
            department=department, doctor=doctor, target=target, plan_to_date=plan, used=used,
            completion=completion, lag=lag, volume_id=volume_id, institution_name=v["institution__name"],
            item_name=v["item__generic_name"], **kw,
        )  # fmt: skip

    rows: list[QuotaRow] = []
    for vid, v in vols.items():
        year = years_by_id[v["agreement_year_id"]]
        m = int(policy_for(v).months_to_complete)
        row = make(v, vid, v["agreed_qty"], used_inst[(year.pk, v["institution_id"], v["item_id"])])
        row.monthly = rules.monthly_plan(v["agreed_qty"], m, len(rules.plan_months(year.start, year.end)))
        rows.append(row)
    for d in depts:
        v = involved[d["volume_id"]]
        used = used_dept[(v["agreement_year_id"], v["institution_id"], v["item_id"], d["department__code"])]
        rows.append(
            make(
                v, d["volume_id"], d["target"], used, d["department__code"],
                department_target_id=d["id"], department_name=d["department__name"],
            )
        )  # fmt: skip
    for d in docs:
        v = involved[d["department_target__volume_id"]]
        used = used_doc[(v["agreement_year_id"], v["institution_id"], v["item_id"], d["doctor__code"])]
        rows.append(
            make(
                v, d["department_target__volume_id"], d["target"], used,
                d["department_target__department__code"], d["doctor__code"],
                department_target_id=d["department_target_id"], doctor_name=d["doctor__name"],
            )
        )  # fmt: skip
    rows.sort(key=lambda r: (r.institution, r.item, r.agreement_year, r.department or "", r.doctor or ""))
    return rows


def total_volumes(actor, as_of: dt.date, q: str = "") -> QuerySet:
    """The agreed volumes of the current agreement years whose institution totals the actor sees, in the
    order of their unique key (agreement year, institution, item): the list of a bureau, which sees totals
    only, pages over these in SQL and computes the figures of one page (`quota_rows(volume_ids=…)`) — a
    province holds a million of them."""
    qs = access.visible_quota_volumes(actor).filter(
        agreement_year_id__in=[y.pk for y in current_years(as_of).values()]
    )
    if q:
        qs = qs.filter(
            Q(item__item_code__contains=q)
            | Q(item__generic_name__contains=q)
            | Q(institution__code=q)
            | Q(institution__name__contains=q)
        )
    return qs.order_by("agreement_year_id", "institution_id", "item_id")


def target_changes(actor, volume_id: int) -> QuerySet:
    """The change log of one volume, limited to what the actor may see of it."""
    qs = TargetChange.objects.filter(volume_id=volume_id).select_related("department", "doctor", "actor")
    if access.is_admin(actor) or access.is_pharmacy(actor):
        own = access.institution_of(actor)
        return qs if own is None else qs.filter(volume__institution=own)
    link = access.staff_link(actor)
    if link is None or access.institution_of(actor) is None:
        return qs.none()
    qs = qs.filter(volume__institution=access.institution_of(actor))
    if actor.role == "department_head":
        return qs.filter(department_id=link.department_id)
    return qs.filter(doctor_id=link.doctor_id)


# ---- interview list (约谈名单, SPEC §11) --------------------------------------------------------------


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    """ "2024Q2" → (2024-04-01, 2024-06-30); anything else is refused with a Chinese message."""
    from jicai.core.errors import DomainError

    text = (quarter or "").strip().upper()
    if len(text) != 6 or text[4] != "Q" or not text[:4].isdigit() or text[5] not in "1234":
        raise DomainError(f"季度格式应为 YYYYQn（如 2024Q2），实际为“{quarter}”", code="invalid_quarter")
    year, q = int(text[:4]), int(text[5])
    start = dt.date(year, 3 * q - 2, 1)
    return start, rules.add_months(start, 3) - dt.timedelta(days=1)


@dataclass
class InterviewRow:
    kind: str  # "department" / "doctor"
    institution: str
    item: str
    item_id: int
    item_name: str
    department: str
    department_name: str
    doctor: str | None
    doctor_name: str
    reason: str
    used_winning: Decimal
    used_other: Decimal
    unexplained: Decimal
    target: int | None
    plan_to_date: Decimal | None
    used_to_date: Decimal | None
    actions: list = field(default_factory=list)


def interview_list(actor, quarter: str) -> list[InterviewRow]:
    """Per item of the actor's hospital for the quarter: doctors whose use of N ∪ U exceeds their use of W
    with some of it unexplained (use minus the quantity of their prompts overridden with a reason), and
    departments whose completion at quarter end is below plan. The pharmacy (and admin) see the hospital's
    list; a department head the rows of its department and its wards, read-only."""
    from jicai.hospital.models import Department, Doctor, InterviewRecord
    from jicai.hospital.usage import substitute_usage_by_key

    start, end = quarter_bounds(quarter)
    departments = None  # a department head: its department and the wards under it
    if getattr(actor, "role", None) == "department_head":
        link = access.staff_link(actor)
        if link is None or link.department_id is None:
            return []
        departments = {
            link.department.code,
            *Department.objects.filter(parent_id=link.department_id).values_list("code", flat=True),
        }
    elif not (access.is_pharmacy(actor) or access.is_admin(actor)):
        return []
    institution = access.institution_of(actor)
    volumes = AgreedVolume.objects.filter(agreement_year__start__lte=end, agreement_year__end__gte=start)
    if institution is not None:
        volumes = volumes.filter(institution=institution)
    vols = list(
        volumes.values(
            "institution_id", "institution__code", "item_id", "item__item_code", "item__generic_name"
        )
    )
    if not vols:
        return []
    inst_ids = {v["institution_id"] for v in vols}
    item_ids = {v["item_id"] for v in vols}
    items = {(v["institution_id"], v["item_id"]): v for v in vols}
    usage = usage_by_key(institution_ids=inst_ids, item_ids=item_ids, start=start, end=end)
    subs = substitute_usage_by_key(institution_ids=inst_ids, item_ids=item_ids, start=start, end=end)
    per_doctor: dict = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for (inst, item, _dept, doctor), (won, other) in usage.items():
        if doctor:
            per_doctor[(inst, item, doctor)][0] += won
            per_doctor[(inst, item, doctor)][1] += other
    for (inst, item, _dept, doctor), qty in subs.items():
        if doctor:
            per_doctor[(inst, item, doctor)][1] += qty
    doctors = {
        (d.institution_id, d.code): d
        for d in Doctor.objects.filter(institution_id__in=inst_ids).select_related("department")
    }
    records: dict = defaultdict(list)
    for r in InterviewRecord.objects.filter(
        institution_id__in=inst_ids, quarter=quarter.strip().upper()
    ).select_related("department", "doctor", "actor"):
        records[(r.item_id, r.department.code, r.doctor.code if r.doctor else None)].append(r)
    from jicai.prescribing.queries import explained_qty

    explained = explained_qty(institution_ids=inst_ids, item_ids=item_ids, start=start, end=end)
    rows: list[InterviewRow] = []
    for (inst, item, code), (won, other) in sorted(
        per_doctor.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])
    ):
        doctor = doctors.get((inst, code))
        unexplained = other - explained.get((inst, item, code), Decimal(0))
        if doctor is None or other <= won or unexplained <= 0 or (inst, item) not in items:
            continue
        v = items[(inst, item)]
        rows.append(
            InterviewRow(
                kind="doctor", institution=v["institution__code"], item=v["item__item_code"], item_id=item,
                item_name=v["item__generic_name"], department=doctor.department.code,
                department_name=doctor.department.name, doctor=code, doctor_name=doctor.name,
                reason="非中选/可替代药品使用量超过中选药品", used_winning=won, used_other=other, unexplained=unexplained,
                target=None, plan_to_date=None, used_to_date=None,
                actions=records.get((item, doctor.department.code, code), []),
            )
        )  # fmt: skip
    dept_names = {
        (d.institution_id, d.code): d.name for d in Department.objects.filter(institution_id__in=inst_ids)
    }
    inst_by_code = {v["institution__code"]: v["institution_id"] for v in vols}
    for q in quota_rows(actor, end):
        if q.department is None or q.doctor is not None or q.used >= q.plan_to_date:
            continue
        inst = inst_by_code.get(q.institution)
        item_id = next(
            (i for (ii, i), v in items.items() if ii == inst and v["item__item_code"] == q.item), None
        )
        if item_id is None:
            continue
        rows.append(
            InterviewRow(
                kind="department", institution=q.institution, item=q.item, item_id=item_id, item_name=q.item_name,
                department=q.department, department_name=dept_names.get((inst, q.department), ""), doctor=None,
                doctor_name="", reason="季末完成量低于计划", used_winning=q.used, used_other=Decimal(0),
                unexplained=Decimal(0), target=q.target, plan_to_date=q.plan_to_date, used_to_date=q.used,
                actions=records.get((item_id, q.department, None), []),
            )
        )  # fmt: skip
    if departments is not None:
        rows = [r for r in rows if r.department in departments]
    return rows


def quota_volume_visible(actor, volume_id: int) -> bool:
    """Whether the actor sees anything of this agreed volume (its total, a department or a doctor row)."""
    return (
        access.visible_quota_volumes(actor).filter(pk=volume_id).exists()
        or access.visible_department_targets(actor).filter(volume_id=volume_id).exists()
        or access.visible_doctor_targets(actor).filter(department_target__volume_id=volume_id).exists()
    )


def item_by_code(actor, item_code: str):
    """An item of an agreed volume of the actor's hospital (404 otherwise)."""
    from jicai.batches.models import Item

    item = Item.objects.filter(
        item_code=item_code, agreed_volumes__in=access.visible_quota_volumes(actor)
    ).first()
    if item is None:
        raise NotFound("未找到该记录，或您无权查看")
    return item


def doctor_monthly(actor, volume_id: int, as_of: dt.date) -> dict | None:
    """A doctor's monthly chart: the plan of each month of the agreement year (their target spread like
    the institution's) and their winning use per month up to as_of. One grouped query per elapsed month
    (at most 12)."""
    link = access.staff_link(actor)
    if link is None or link.doctor_id is None:
        return None
    target = (
        access.visible_doctor_targets(actor)
        .filter(department_target__volume_id=volume_id)
        .select_related("department_target__volume__agreement_year", "department_target__volume__institution")
        .first()
    )
    if target is None:
        return None
    volume = target.department_target.volume
    year = volume.agreement_year
    policy = PolicyResolver.load().resolve(volume.institution.region, year.batch)
    months = rules.plan_months(year.start, year.end)
    plan = rules.monthly_plan(target.target, int(policy.months_to_complete), len(months))
    used = []
    for first, last in months:
        if first > as_of:
            used.append(None)
            continue
        usage = usage_by_key(
            institution_ids=[volume.institution_id],
            item_ids=[volume.item_id],
            start=first,
            end=min(last, as_of),
        )
        used.append(
            float(
                sum(
                    (w for (_i, _g, _d, doc), (w, _n) in usage.items() if doc == link.doctor.code), Decimal(0)
                )
            )
        )
    return {"labels": [f.strftime("%Y-%m") for f, _ in months], "plan": plan, "used": used}


def home_rows(actor, today: dt.date) -> list[QuotaRow]:
    """The rows a doctor or department head sees on their home page, as of the home pages' business date."""
    return quota_rows(actor, today)
