"""Demand reporting rules with hand-worked values: windows, history, 零报量, drop threshold, flags, review,
consortium filing, reminders."""

import datetime as dt

import pytest

from jicai.accounts.models import Notification, OrganisationKind, Role
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.core.models import AuditLog
from jicai.demand import actions, queries
from jicai.demand.models import DemandLine, DemandReport, ReportTransition
from jicai.policy.models import PolicyProfile
from tests import factories
from tests.demand.conftest import DEADLINE, OPENS, fill, report_of

pytestmark = pytest.mark.django_db


def statuses(report):
    return list(ReportTransition.objects.filter(report=report).values_list("from_status", "to_status"))


def test_opening_a_window_creates_a_draft_report_per_institution_and_a_line_per_item(dw, window):
    reports = DemandReport.objects.filter(window=window).order_by("institution__code")
    assert [r.institution.code for r in reports] == ["H37020200001", "H37100200001", "H37100200002"]
    assert {r.status for r in reports} == {"draft"}
    assert DemandLine.objects.filter(report__window=window).count() == 6
    hospital = report_of(window, dw.hospital)
    lines = {
        ln.item.item_code: (ln.history_qty, ln.history_source, ln.reported_qty) for ln in hospital.lines.all()
    }
    assert lines == {"GY7-001": (100, "imported", None), "GY7-002": (40, "imported", None)}
    other = report_of(window, dw.other_hospital)
    assert {ln.history_source for ln in other.lines.all()} == {"none"}
    # The consortium member is filed by its lead; the lead and the non-member file their own.
    assert report_of(window, dw.clinic).filed_by == dw.hospital
    assert hospital.filed_by is None
    assert AuditLog.objects.filter(action="open_reporting_window", object_id=str(window.pk)).count() == 1


def test_window_for_chosen_institutions_only_covers_them(dw):
    window = actions.open_window(
        actor=dw.city_bureau,
        batch=dw.batch,
        title="威海报量",
        opens_on=OPENS,
        deadline=DEADLINE,
        institutions=[dw.hospital],
    )
    assert list(window.reports.values_list("institution__code", flat=True)) == ["H37100200001"]


def test_window_refuses_institutions_outside_the_bureau_subtree_and_changes_nothing(dw):
    with pytest.raises(DomainError, match="H37020200001"):
        actions.open_window(
            actor=dw.city_bureau,
            batch=dw.batch,
            title="x",
            opens_on=OPENS,
            deadline=DEADLINE,
            institutions=[dw.hospital, dw.other_hospital],
        )
    assert DemandReport.objects.count() == 0


def test_window_refuses_a_second_window_for_the_same_batch_and_year(dw, window):
    with pytest.raises(DomainError, match="已在报量窗口"):
        actions.open_window(
            actor=dw.county_bureau, batch=dw.batch, title="重复", opens_on=OPENS, deadline=DEADLINE
        )
    assert DemandReport.objects.count() == 3


@pytest.mark.parametrize("who", ["pharmacist", "manufacturer", "admin"])
def test_only_a_bureau_opens_windows(dw, who):
    with pytest.raises(NotFound):
        actions.open_window(
            actor=getattr(dw, who), batch=dw.batch, title="x", opens_on=OPENS, deadline=DEADLINE
        )
    assert DemandReport.objects.count() == 0


def test_deadline_before_opening_is_refused(dw):
    with pytest.raises(DomainError, match="截止日期"):
        actions.open_window(
            actor=dw.province_bureau,
            batch=dw.batch,
            title="x",
            opens_on=OPENS,
            deadline=OPENS - dt.timedelta(days=1),
        )


# ---- drop threshold --------------------------------------------------------------------------------


def test_report_at_exactly_history_times_0_8_passes_and_one_less_needs_an_explanation(dw, window):
    report = report_of(window, dw.hospital)
    fill(dw.pharmacist, report, {"GY7-001": 79, "GY7-002": 40})
    with pytest.raises(DomainError) as exc:
        actions.submit_report(actor=dw.pharmacist, report=report)
    assert "GY7-001 阿托伐他汀钙" in exc.value.message
    assert "报量 79 低于历史采购量 100 的 80%" in exc.value.message
    assert exc.value.details == [
        {
            "item_code": "GY7-001",
            "column": "explanation",
            "reason": "GY7-001 阿托伐他汀钙：报量 79 低于历史采购量 100 的 80%，须填写说明",
        }
    ]
    report.refresh_from_db()
    assert report.status == "draft" and statuses(report) == []

    fill(dw.pharmacist, report, {"GY7-001": 80})
    actions.submit_report(actor=dw.pharmacist, report=report)
    report.refresh_from_db()
    assert report.status == "submitted" and report.flagged_lines == 0


def test_explained_drop_is_submitted_and_flagged_for_the_reviewer(dw, window):
    report = report_of(window, dw.hospital)
    fill(dw.pharmacist, report, {"GY7-001": (79, "门诊量下降"), "GY7-002": 40})
    actions.submit_report(actor=dw.pharmacist, report=report)
    line = report.lines.get(item=dw.item)
    assert (line.below_history, line.history_not_reported, line.explanation) == (True, False, "门诊量下降")
    report.refresh_from_db()
    assert report.flagged_lines == 1


def test_henan_style_threshold_zero_needs_an_explanation_for_99_of_100(dw, window):
    PolicyProfile.objects.create(region=dw.province, values={"report_drop_threshold": "0"})
    report = report_of(window, dw.hospital)
    fill(dw.pharmacist, report, {"GY7-001": 99, "GY7-002": 40})
    with pytest.raises(DomainError, match="GY7-001 阿托伐他汀钙：报量 99 低于历史采购量 100，须填写说明"):
        actions.submit_report(actor=dw.pharmacist, report=report)
    fill(dw.pharmacist, report, {"GY7-001": 100})
    actions.submit_report(actor=dw.pharmacist, report=report)
    assert report_of(window, dw.hospital).status == "submitted"


def test_threshold_comes_from_the_institution_region_and_batch_profile(dw, window):
    # A batch-specific county profile (0.5) beats the default 0.20: 50 of 100 passes, 49 does not.
    PolicyProfile.objects.create(region=dw.county, batch=dw.batch, values={"report_drop_threshold": "0.5"})
    report = report_of(window, dw.hospital)
    fill(dw.pharmacist, report, {"GY7-001": 50, "GY7-002": 40})
    actions.submit_report(actor=dw.pharmacist, report=report)
    assert report_of(window, dw.hospital).status == "submitted"


def test_every_line_needs_a_number_and_zero_counts(dw, window):
    report = report_of(window, dw.other_hospital)  # no history at all
    fill(dw.other_pharmacist, report, {"GY7-001": 0})
    with pytest.raises(DomainError) as exc:
        actions.submit_report(actor=dw.other_pharmacist, report=report)
    assert exc.value.details == [
        {
            "item_code": "GY7-002",
            "column": "reported_qty",
            "reason": "GY7-002 苯磺酸氨氯地平：请填写报量（无需求请填 0）",
        }
    ]
    fill(dw.other_pharmacist, report, {"GY7-002": 0})
    actions.submit_report(actor=dw.other_pharmacist, report=report)
    report.refresh_from_db()
    assert report.status == "submitted" and report.flagged_lines == 0


def test_history_reported_as_zero_is_flagged_history_not_reported(dw, window):
    report = report_of(window, dw.hospital)
    fill(dw.pharmacist, report, {"GY7-001": (0, "改用其他品种"), "GY7-002": 40})
    actions.submit_report(actor=dw.pharmacist, report=report)
    line = report.lines.get(item=dw.item)
    assert (line.history_not_reported, line.below_history) == (True, True)
    assert report.lines.get(item=dw.item2).history_not_reported is False


def test_negative_and_unknown_lines_are_refused_and_nothing_saved(dw, window):
    report = report_of(window, dw.hospital)
    with pytest.raises(DomainError) as exc:
        actions.save_report_lines(
            actor=dw.pharmacist,
            report=report,
            lines=[
                actions.LineInput("GY7-001", 5),
                actions.LineInput("GY7-002", -1),
                actions.LineInput("X", 1),
            ],
        )
    assert [d["column"] for d in exc.value.details] == ["reported_qty", "item_code"]
    assert set(report.lines.values_list("reported_qty", flat=True)) == {None}


# ---- review -------------------------------------------------------------------------------------


def _submitted(dw, window):
    report = report_of(window, dw.hospital)
    fill(dw.pharmacist, report, {"GY7-001": 100, "GY7-002": 40})
    return actions.submit_report(actor=dw.pharmacist, report=report)


def test_return_resubmit_approve_logs_four_transitions(dw, window):
    report = _submitted(dw, window)
    actions.return_report(actor=dw.county_bureau, report=report, reason="请核实")
    report.refresh_from_db()
    assert (report.status, report.return_reason) == ("returned", "请核实")
    actions.submit_report(actor=dw.pharmacist, report=report)
    actions.approve_report(actor=dw.county_bureau, report=report)
    report.refresh_from_db()
    assert report.status == "approved" and report.return_reason == ""
    log = list(
        ReportTransition.objects.filter(report=report).values_list(
            "from_status", "to_status", "reason", "actor"
        )
    )
    assert log == [
        ("draft", "submitted", "", dw.pharmacist.pk),
        ("submitted", "returned", "请核实", dw.county_bureau.pk),
        ("returned", "submitted", "", dw.pharmacist.pk),
        ("submitted", "approved", "", dw.county_bureau.pk),
    ]
    assert Notification.objects.filter(organisation=dw.hospital_org, kind="demand_returned").count() == 1


def test_returned_report_becomes_draft_at_first_edit_with_line_reasons_kept(dw, window):
    report = _submitted(dw, window)
    actions.return_report(actor=dw.county_bureau, report=report, line_reasons={"GY7-002": "数量偏高"})
    line = report.lines.get(item=dw.item2)
    assert line.return_reason == "数量偏高"
    assert statuses(report)[-1] == ("submitted", "returned")
    assert ReportTransition.objects.filter(report=report).last().reason == "GY7-002 苯磺酸氨氯地平：数量偏高"
    fill(dw.pharmacist, report, {"GY7-002": 32})
    report.refresh_from_db()
    assert report.status == "draft"
    assert statuses(report)[-1] == ("returned", "draft")
    assert report.lines.get(item=dw.item2).return_reason == "数量偏高"
    actions.submit_report(actor=dw.pharmacist, report=report)
    assert statuses(report)[-1] == ("draft", "submitted")


def test_return_needs_a_reason(dw, window):
    report = _submitted(dw, window)
    with pytest.raises(DomainError, match="退回须填写原因"):
        actions.return_report(
            actor=dw.county_bureau, report=report, reason="  ", line_reasons={"GY7-001": ""}
        )
    assert report_of(window, dw.hospital).status == "submitted"


def test_reviewer_is_county_bureau_when_it_exists(dw, window):
    report = _submitted(dw, window)
    for bureau in (dw.city_bureau, dw.province_bureau):
        with pytest.raises(PermissionDenied):
            actions.approve_report(actor=bureau, report=report)
    with pytest.raises(NotFound):
        actions.approve_report(actor=dw.other_city_bureau, report=report)
    assert report_of(window, dw.hospital).status == "submitted"
    assert list(queries.review_queue(dw.county_bureau)) == [report]
    assert list(queries.review_queue(dw.city_bureau)) == []
    actions.approve_report(actor=dw.county_bureau, report=report)


def test_reviewer_is_city_bureau_without_a_county_bureau(dw, window):
    report = report_of(window, dw.other_hospital)  # 370202 has no bureau, 370200 has
    fill(dw.other_pharmacist, report, {"GY7-001": 1, "GY7-002": 1})
    actions.submit_report(actor=dw.other_pharmacist, report=report)
    assert list(queries.review_queue(dw.other_city_bureau)) == [report]
    assert list(queries.review_queue(dw.province_bureau)) == []
    with pytest.raises(PermissionDenied):
        actions.approve_report(actor=dw.province_bureau, report=report)
    actions.approve_report(actor=dw.other_city_bureau, report=report)


def test_reviewer_is_province_bureau_without_city_and_county_bureaus(dw):
    city = factories.region("370300", "淄博市", dw.province)
    county = factories.region("370302", "淄川区", city)
    inst = factories.institution("H37030200001", "淄川区医院", county)
    org = factories.org(OrganisationKind.INSTITUTION, institution=inst)
    user = factories.user("zc_pharmacy", org, Role.INSTITUTION)
    window = actions.open_window(
        actor=dw.province_bureau, batch=dw.batch, title="w", opens_on=OPENS, deadline=DEADLINE
    )
    report = report_of(window, inst)
    fill(user, report, {"GY7-001": 3, "GY7-002": 0})
    actions.submit_report(actor=user, report=report)
    assert list(queries.review_queue(dw.province_bureau)) == [report]
    actions.approve_report(actor=dw.province_bureau, report=report)
    assert report_of(window, inst).status == "approved"


def test_queue_puts_flagged_reports_first(dw, window):
    clean = report_of(window, dw.clinic)
    fill(dw.pharmacist, clean, {"GY7-001": 10, "GY7-002": 0})
    actions.submit_report(actor=dw.pharmacist, report=clean)
    flagged = report_of(window, dw.hospital)
    fill(dw.pharmacist, flagged, {"GY7-001": (0, "停用"), "GY7-002": (1, "减少")})
    actions.submit_report(actor=dw.pharmacist, report=flagged)
    assert [r.pk for r in queries.review_queue(dw.county_bureau)] == [flagged.pk, clean.pk]
    assert DemandReport.objects.get(pk=flagged.pk).flagged_lines == 2


def test_cannot_approve_a_draft(dw, window):
    with pytest.raises(DomainError, match="不能审核"):
        actions.approve_report(actor=dw.county_bureau, report=report_of(window, dw.hospital))


# ---- consortium ---------------------------------------------------------------------------------


def test_consortium_lead_files_for_a_member_and_the_member_sees_it_read_only(dw, window):
    member_report = report_of(window, dw.clinic)
    fill(dw.pharmacist, member_report, {"GY7-001": 10, "GY7-002": 5})
    assert list(queries.list_reports(dw.clinic_pharmacist)) == [member_report]
    assert queries.get_report(dw.clinic_pharmacist, member_report.pk) == member_report
    with pytest.raises(PermissionDenied, match="牵头机构"):
        fill(dw.clinic_pharmacist, member_report, {"GY7-001": 1})
    with pytest.raises(PermissionDenied):
        actions.submit_report(actor=dw.clinic_pharmacist, report=member_report)
    assert member_report.lines.get(item=dw.item).reported_qty == 10
    # The member sees neither the lead's report nor reports of others.
    with pytest.raises(NotFound):
        queries.get_report(dw.clinic_pharmacist, report_of(window, dw.hospital).pk)
    assert {r.institution for r in queries.consortium_reports(dw.pharmacist, window)} == {
        dw.hospital,
        dw.clinic,
    }


def test_consortium_submit_is_all_or_nothing_and_names_the_member(dw, window):
    fill(dw.pharmacist, report_of(window, dw.hospital), {"GY7-001": 100, "GY7-002": 40})
    fill(dw.pharmacist, report_of(window, dw.clinic), {"GY7-001": 10})
    with pytest.raises(DomainError, match="环翠区竹岛街道社区卫生服务中心：GY7-002"):
        actions.submit_consortium_reports(actor=dw.pharmacist, window=window)
    assert set(DemandReport.objects.filter(window=window).values_list("status", flat=True)) == {"draft"}
    fill(dw.pharmacist, report_of(window, dw.clinic), {"GY7-002": 0})
    assert actions.submit_consortium_reports(actor=dw.pharmacist, window=window) == 2
    assert report_of(window, dw.clinic).status == "submitted"
    assert report_of(window, dw.other_hospital).status == "draft"


# ---- history ------------------------------------------------------------------------------------


def test_history_period_is_the_twelve_months_before_opening():
    from jicai.demand.history import history_period

    assert history_period(dt.date(2025, 1, 1)) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert history_period(dt.date(2024, 2, 29)) == (dt.date(2023, 3, 1), dt.date(2024, 2, 28))


# ---- completion and reminders ----------------------------------------------------------------------


def test_completion_counts_per_child_region_and_reminders_go_to_unsubmitted(dw, window):
    _submitted(dw, window)  # hospital submitted
    fill(dw.pharmacist, report_of(window, dw.clinic), {"GY7-001": 1})  # in progress
    data = queries.completion(dw.province_bureau, window)
    rows = {
        r["code"]: {k: r[k] for k in ("not_started", "in_progress", "submitted", "approved", "returned")}
        for r in data["rows"]
    }
    assert rows == {
        "370200": {"not_started": 1, "in_progress": 0, "submitted": 0, "approved": 0, "returned": 0},
        "371000": {"not_started": 0, "in_progress": 1, "submitted": 1, "approved": 0, "returned": 0},
    }
    assert data["totals"]["total"] == 3 and data["totals"]["pending"] == 2
    city_rows = queries.completion(dw.city_bureau, window)["rows"]
    assert [(r["code"], r["total"]) for r in city_rows] == [("371002", 2)]
    with pytest.raises(NotFound):
        queries.completion(dw.city_bureau, window, region_code="370200")

    assert actions.send_reminders(actor=dw.city_bureau, window=window) == 1
    # The clinic's report is filed by the consortium lead: both get the reminder.
    reminded = set(
        Notification.objects.filter(kind="demand_reminder").values_list("organisation_id", flat=True)
    )
    assert reminded == {dw.clinic_org.pk, dw.hospital_org.pk}
    assert actions.send_reminders(actor=dw.province_bureau, window=window) == 2
    with pytest.raises(NotFound):
        actions.send_reminders(actor=dw.pharmacist, window=window)


def test_open_windows_for_an_institution_list_its_pending_window(dw, window, settings):
    from django.utils import timezone

    entries = queries.open_windows_for(dw.pharmacist)
    if timezone.localdate() >= OPENS:
        assert [(e["window"], e["report"].institution, e["filed"], e["pending"]) for e in entries] == [
            (window, dw.hospital, 2, 2)
        ]
    assert queries.open_windows_for(dw.manufacturer) == []
    assert queries.open_windows_for(dw.other_city_bureau) == []
