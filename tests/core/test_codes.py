"""Code validators on real-world codes (SPEC §2): errors for wrong length/alphabet, warnings for odd segments."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from jicai.core import codes
from jicai.core.codes import (
    USCC_ALPHABET,
    check_institution_code,
    check_product_code,
    check_region_code,
    check_uscc,
    make_uscc,
    product_category,
    uscc_check_char,
    validate_institution_code,
    validate_product_code,
    validate_region_code,
    validate_uscc,
)

REAL_DRUG = "XL02BBA326A001010102180"
REAL_CONSUMABLE = "C09100100000000211790000049"
REAL_INSTITUTION = "H35030200090"
REAL_USCC = "91350100M000100Y43"


def test_real_western_drug_code_is_valid_without_warnings():
    result = check_product_code(REAL_DRUG)
    assert (result.ok, result.code, result.warnings) == (True, REAL_DRUG, [])
    assert product_category(REAL_DRUG) == "western"


def test_drug_code_segments_split_1_5_4_4_4_5():
    assert codes.split_segments(REAL_DRUG, codes.DRUG_WESTERN_SEGMENTS) == {
        "类别": "X",
        "分类": "L02BB",
        "通用名": "A326",
        "剂型": "A001",
        "规格包装": "0101",
        "企业": "02180",
    }


def test_real_consumable_code_is_valid():
    result = check_product_code(REAL_CONSUMABLE)
    assert (result.ok, result.warnings) == (True, [])
    assert product_category(REAL_CONSUMABLE) == "consumable"


def test_consumable_segments_split_1_2_2_2_3_2_3_5_7():
    parts = codes.split_segments(REAL_CONSUMABLE, codes.CONSUMABLE_SEGMENTS)
    assert list(parts.values()) == ["C", "09", "10", "01", "000", "00", "000", "21179", "0000049"]


def test_twenty_character_product_level_consumable_code_is_accepted():
    assert check_product_code("C0910010000000021179").ok


def test_twenty_character_chinese_medicine_code_is_valid():
    result = check_product_code("ZA01AAA0001010100123")
    assert (result.ok, result.warnings) == (True, [])
    assert product_category("ZA01AAA0001010100123") == "chinese"


def test_real_institution_code_is_valid():
    assert validate_institution_code(REAL_INSTITUTION) == REAL_INSTITUTION
    assert check_institution_code("P37100200001").ok


def test_real_looking_uscc_is_valid_without_warnings():
    result = check_uscc(REAL_USCC)
    assert (result.ok, result.warnings) == (True, [])
    assert uscc_check_char(REAL_USCC[:17]) == "3"


def test_surrounding_whitespace_is_stripped():
    assert validate_uscc(f"  {REAL_USCC}\t") == REAL_USCC
    assert validate_product_code(f" {REAL_DRUG} ") == REAL_DRUG


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("XL02BBA326A00101010218", "西药代码应为 X 开头的 23 位"),
        ("XL02BBA326A0010101021800", "西药代码应为 X 开头的 23 位"),
        ("XL02BBA326A00101010218-", "西药代码只能包含大写字母和数字"),
        ("ZA01AAA000101010012", "中成药代码应为 Z 开头的 20 位"),
        ("C0910010000000021179000004", "耗材代码应为 C 开头的 27 位（或 20 位产品级代码）"),
        ("C091001000000002117900000A9", "耗材代码 C 之后只能是数字"),
        ("AL02BBA326A001010102180", "产品代码应以 X（西药）、Z（中成药）或 C（耗材）开头"),
        ("", "产品代码不能为空"),
        ("xl02bba326a001010102180", "产品代码中的字母应为大写"),
    ],
)
def test_bad_product_codes_are_rejected(code, message):
    assert check_product_code(code).error == message
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_product_code(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("H3503020009", "医疗机构代码应为 H 或 P 加 11 位数字（共 12 位）"),
        ("X35030200090", "医疗机构代码应为 H 或 P 加 11 位数字（共 12 位）"),
        ("h35030200090", "医疗机构代码中的字母应为大写"),
        ("H99030200090", "医疗机构代码中的行政区划 990302 无效"),
    ],
)
def test_bad_institution_codes_are_rejected(code, message):
    assert check_institution_code(code).error == message


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("37000", "行政区划代码应为 6 位数字"),
        ("37000A", "行政区划代码应为 6 位数字"),
        ("990000", "行政区划代码前两位 99 不是有效的省级代码"),
    ],
)
def test_bad_region_codes_are_rejected(code, message):
    assert check_region_code(code).error == message


def test_region_code_and_level():
    assert validate_region_code("371002") == "371002"
    assert [codes.region_level(c) for c in ("370000", "371000", "371002")] == ["province", "city", "county"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91350100M000100Y4", "统一社会信用代码应为 18 位"),
        ("91350100M000100Y433", "统一社会信用代码应为 18 位"),
        ("91350100M000100Y44", "统一社会信用代码校验位错误（应为 3）"),
        ("91350100m000100y43", "统一社会信用代码中的字母应为大写"),
        ("91350100M000100I43", "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）"),
        ("91350100O000100Y43", "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）"),
        ("91350100S000100Y43", "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）"),
        ("91350100V000100Y43", "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）"),
        ("91350100Z000100Y43", "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）"),
        ("913501A0M000100Y43", "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）"),
    ],
)
def test_bad_uscc_is_rejected(code, message):
    assert check_uscc(code).error == message


def test_uscc_with_unusual_registration_region_only_warns():
    code = make_uscc("91000000M000100Y4")
    result = check_uscc(code)
    assert result.ok
    assert result.warnings == ["登记管理机关行政区划 000000 不常见"]


def test_uscc_whose_organisation_code_check_digit_is_wrong_only_warns():
    # MA000000: M=22, A=10 → 22×3 + 10×7 = 136; 11 − 136 mod 11 = 7, so a final 1 is unusual but allowed.
    body = "91370000MA0000001"
    assert codes.org_code_check_char("MA000000") == "7"
    result = check_uscc(make_uscc(body))
    assert result.ok
    assert result.warnings == ["组织机构代码部分的校验位与 GB 11714 不符"]


def test_drug_code_with_unusual_segments_warns():
    result = check_product_code("X12345A326A0010101ABCDE")
    assert result.ok
    assert result.warnings == ["分类段 12345 不像 ATC 代码", "企业段 ABCDE 不是数字"]


def test_chinese_medicine_code_with_non_numeric_enterprise_warns():
    assert check_product_code("ZA01AAA000101010ABCDE").error  # 21 chars: wrong length
    result = check_product_code("ZA01AAA00010101ABCDE")
    assert (result.ok, result.warnings) == (True, ["企业段不是数字"])


def test_consumable_code_with_all_zero_discipline_warns():
    result = check_product_code("C00000100000000211790000049")
    assert result.ok
    assert result.warnings == ["学科段为全 0", "用途段为全 0"]


def test_field_validator_raises_django_validation_error():
    codes.uscc_validator(REAL_USCC)
    with pytest.raises(ValidationError):
        codes.uscc_validator("91350100M000100Y44")
    assert codes.uscc_validator == codes.CodeValidator("check_uscc")


# ---- properties --------------------------------------------------------------------------------

REGION_PREFIXES = sorted(codes.PROVINCE_PREFIXES)
uscc_bodies = st.builds(
    lambda head, prov, rest, org: head + prov + rest + org,
    st.text(alphabet=USCC_ALPHABET, min_size=2, max_size=2),
    st.sampled_from(REGION_PREFIXES),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@given(uscc_bodies)
def test_make_uscc_always_validates(body):
    code = make_uscc(body)
    assert len(code) == 18
    assert validate_uscc(code) == code


@given(uscc_bodies, st.integers(min_value=0, max_value=17), st.data())
def test_changing_any_one_character_of_a_valid_uscc_is_rejected(body, position, data):
    code = make_uscc(body)
    # Positions 3–8 are the region and must stay digits; elsewhere any allowed character may be typed.
    alphabet = "0123456789" if 2 <= position <= 7 else USCC_ALPHABET
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != code[position]]))
    mutated = code[:position] + replacement + code[position + 1 :]
    assert not check_uscc(mutated).ok
