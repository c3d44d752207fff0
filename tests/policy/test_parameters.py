"""Every SPEC §3 parameter is declared with its default, and each type parses/validates exactly."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from jicai.policy.parameters import BY_NAME, PARAMETERS, PrepaymentRule, defaults, get_parameter

D = Decimal
SPEC = Path(__file__).resolve().parents[3] / "shared" / "SPEC.md"

EXPECTED_DEFAULTS = {
    "report_drop_threshold": D("0.20"),
    "agreed_ratio_by_winners": {1: D("0.50"), 2: D("0.60"), 3: D("0.70"), 4: D("0.80")},
    "progress_basis": "received",
    "progress_tolerance": D("1.0"),
    "over_purchase_multiple": D("4"),
    "delivery_rate_floor": D("0.80"),
    "delivery_rate_tiers": (D("0.80"), D("0.60"), D("0.30")),
    "delivery_grace_days": 3,
    "ticket_reply_workdays": 2,
    "ticket_fix_max_workdays": 5,
    "ticket_resolution_tiers": (D("0.80"), D("0.60"), D("0.30")),
    "receipt_confirm_days": 5,
    "payment_due_days": 30,
    "payment_due_rule": "after_receipt",
    "abnormal_order_multiple": D("3"),
    "substitute_growth_threshold": D("0.30"),
    "listing_cap_multiple": D("1.5"),
    "nonwinning_selfpay_increase": D("0.10"),
    "prepayment_tranches": PrepaymentRule(D("0.30"), D("0.50"), D("0.60"), D("0.90")),
    "months_to_complete": 10,
    "dept_min_share": D("0.01"),
    "company_report_day": 5,
}


def test_defaults_are_exactly_the_spec_values():
    assert defaults() == EXPECTED_DEFAULTS
    assert [p.name for p in PARAMETERS] == list(EXPECTED_DEFAULTS)


@pytest.mark.skipif(not SPEC.exists(), reason="shared/SPEC.md not beside the checkout")
def test_every_parameter_in_the_spec_table_is_declared():
    section = SPEC.read_text().split("## 3.")[1].split("## 4.")[0]
    names = set(re.findall(r"^\| `([a-z_]+)`", section, flags=re.M))
    assert names and names <= set(BY_NAME)


def test_every_parameter_has_label_source_and_json_default():
    for p in PARAMETERS:
        assert p.label and p.source, p.name
        stored = json.loads(json.dumps(p.to_json(p.default)))
        assert p.parse(stored) == p.default, p.name
        assert p.parse(p.to_text(p.default)) == p.default, p.name


def test_decimals_parse_as_decimal_and_keep_precision():
    p = get_parameter("report_drop_threshold")
    assert p.parse("0.25") == D("0.25") and p.to_json(D("0.25")) == "0.25"
    assert p.parse(0.1) == D("0.1")
    assert p.parse("0") == D("0")
    for bad, message in [
        ("1.5", "应不大于 1"),
        ("-0.1", "应不小于 0"),
        ("abc", "应为数字"),
        (True, "应为数字"),
    ]:
        with pytest.raises(ValueError, match=message):
            p.parse(bad)


def test_multiples_must_be_positive():
    with pytest.raises(ValueError, match="应大于 0"):
        get_parameter("listing_cap_multiple").parse("0")
    assert get_parameter("listing_cap_multiple").parse("2") == D("2")


def test_integers():
    p = get_parameter("delivery_grace_days")
    assert p.parse("7") == 7 and p.parse(0) == 0 and p.parse("3.0") == 3
    for bad in ("1.5", "-1", "x", True):
        with pytest.raises(ValueError):
            p.parse(bad)
    with pytest.raises(ValueError, match="应在 1–28 之间"):
        get_parameter("company_report_day").parse(29)
    with pytest.raises(ValueError, match="应在 1–"):
        get_parameter("ticket_reply_workdays").parse(0)


def test_choices():
    assert get_parameter("progress_basis").parse("ordered") == "ordered"
    assert get_parameter("months_to_complete").parse("11") == 11
    assert get_parameter("months_to_complete").parse(10) == 10
    assert get_parameter("payment_due_rule").parse("end_of_next_month") == "end_of_next_month"
    with pytest.raises(ValueError, match="之一"):
        get_parameter("months_to_complete").parse(12)
    with pytest.raises(ValueError):
        get_parameter("progress_basis").parse("paid")
    assert get_parameter("progress_basis").display("received") == "received（入库确认数量）"


def test_ratio_table_from_text_dict_and_json():
    p = get_parameter("agreed_ratio_by_winners")
    expected = {1: D("0.5"), 2: D("0.65"), 3: D("0.9")}
    assert p.parse("1:0.5, 2:0.65, 3+:0.9") == expected
    assert p.parse("1：0.5；2：0.65；3+：0.9") == expected
    assert p.parse({"1": "0.5", "2": "0.65", "3+": "0.9"}) == expected
    assert p.parse({1: "0.5", 2: "0.65", 3: "0.9"}) == expected
    assert p.parse('{"1": "0.5", "2": "0.65", "3+": "0.9"}') == expected
    assert p.to_json(expected) == {"1": "0.5", "2": "0.65", "3+": "0.9"}
    assert p.display(p.default) == "1 家：0.50；2 家：0.60；3 家：0.70；4+ 家：0.80"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2:0.5, 3+:0.6", "从 1 起连续"),
        ("1:0.5, 3+:0.6", "从 1 起连续"),
        ("1+:0.5, 2:0.6", "只有最大的企业数"),
        ("1:1.5", "0 且不超过 1"),
        ("1:0", "0 且不超过 1"),
        ("0:0.5", "应从 1 开始"),
        ("a:0.5", "应为正整数"),
        ("1 0.5", "应写成"),
        ("", "应为"),
        ("1:0.5, 1:0.6", "重复"),
    ],
)
def test_bad_ratio_tables_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        get_parameter("agreed_ratio_by_winners").parse(text)


def test_tiers():
    p = get_parameter("delivery_rate_tiers")
    assert p.parse("0.9, 0.7, 0.5") == (D("0.9"), D("0.7"), D("0.5"))
    assert p.parse("<0.9 / <0.7 / <0.5") == (D("0.9"), D("0.7"), D("0.5"))
    assert p.parse(["0.9", "0.7", "0.5"]) == (D("0.9"), D("0.7"), D("0.5"))
    assert p.display(p.default) == "<0.80 / <0.60 / <0.30"
    for bad in ("0.6, 0.8, 0.3", "0.8, 0.6", "0.8, 0.8, 0.3", "0.8, 0.6, 0"):
        with pytest.raises(ValueError):
            p.parse(bad)


def test_prepayment_rule():
    p = get_parameter("prepayment_tranches")
    text = (
        '{"first_share": "0.4", "second_elapsed": "0.5", "second_completion": "0.6", "second_total": "0.95"}'
    )
    assert p.parse(text) == PrepaymentRule(D("0.4"), D("0.5"), D("0.6"), D("0.95"))
    assert p.display(p.default) == "协议生效时预付 ≥ 30%；时间进度 ≥ 50%或完成率 ≥ 60% 时累计 ≥ 90%"
    for bad in (
        "not json",
        '{"first_share": "0.3"}',
        '{"first_share": "0.95", "second_elapsed": "0.5", "second_completion": "0.6", "second_total": "0.9"}',
        "[1]",
    ):
        with pytest.raises(ValueError):
            p.parse(bad)


def test_unknown_parameter_name():
    with pytest.raises(KeyError):
        get_parameter("nope")
