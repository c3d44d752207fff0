"""Validators for every identifier of SPEC §2, used by model fields, forms, the API and imports.

Each `check_*` returns a CodeCheck (normalised code, error or None, warnings); `validate_*` raises
`ValueError` with a Chinese message and returns the normalised code. A wrong length or alphabet is an
error; a segment that merely looks unusual is a warning.
"""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)

# GB 32100-2015: 31 characters (no I, O, S, V, Z) and the weights of positions 1–17.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
# GB 11714 organisation code: 8 body characters + check character inside positions 9–17.
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

DRUG_WESTERN_SEGMENTS = (("类别", 1), ("分类", 5), ("通用名", 4), ("剂型", 4), ("规格包装", 4), ("企业", 5))
DRUG_CHINESE_SEGMENTS = (("类别", 1), ("分类", 5), ("通用名", 5), ("规格包装", 4), ("企业", 5))
CONSUMABLE_SEGMENTS = (
    ("类别", 1),
    ("学科", 2),
    ("用途", 2),
    ("部位功能", 2),
    ("材质", 3),
    ("通用名", 2),
    ("特征", 3),
    ("企业", 5),
    ("规格型号", 7),
)


@dataclass
class CodeCheck:
    code: str
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def _normalise(value: object) -> str:
    # Surrounding whitespace is noise from spreadsheets; letter case is not: official codes are upper case
    # and a lower-case letter is an alphabet error (SPEC §2), so it is reported rather than silently fixed.
    return ("" if value is None else str(value)).strip()


def _lower_case_error(code: str, what: str) -> CodeCheck | None:
    if code != code.upper():
        return CodeCheck(code, f"{what}中的字母应为大写")
    return None


def split_segments(code: str, segments: tuple[tuple[str, int], ...]) -> dict[str, str]:
    parts, pos = {}, 0
    for name, width in segments:
        parts[name] = code[pos : pos + width]
        pos += width
    return parts


def region_level(code: str) -> str:
    """province / city / county from the shape of a 6-digit administrative code."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def check_region_code(value: object) -> CodeCheck:
    code = _normalise(value)
    if not re.fullmatch(r"\d{6}", code):
        return CodeCheck(code, "行政区划代码应为 6 位数字")
    if code[:2] not in PROVINCE_PREFIXES:
        return CodeCheck(code, f"行政区划代码前两位 {code[:2]} 不是有效的省级代码")
    return CodeCheck(code)


def check_institution_code(value: object) -> CodeCheck:
    code = _normalise(value)
    if lower := _lower_case_error(code, "医疗机构代码"):
        return lower
    if not re.fullmatch(r"[HP]\d{11}", code):
        return CodeCheck(code, "医疗机构代码应为 H 或 P 加 11 位数字（共 12 位）")
    region = check_region_code(code[1:7])
    if not region.ok:
        return CodeCheck(code, f"医疗机构代码中的行政区划 {code[1:7]} 无效")
    return CodeCheck(code)


def uscc_check_char(body: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body: str) -> str:
    total = sum(ORG_ALPHABET.index(ch) * w for ch, w in zip(body, ORG_WEIGHTS, strict=True))
    value = (11 - total % 11) % 11
    return "X" if value == 10 else str(value)


def check_uscc(value: object) -> CodeCheck:
    """Unified social credit code (统一社会信用代码, GB 32100) with its check character."""
    code = _normalise(value)
    if len(code) != 18:
        return CodeCheck(code, "统一社会信用代码应为 18 位")
    if lower := _lower_case_error(code, "统一社会信用代码"):
        return lower
    if not USCC_RE.fullmatch(code):
        return CodeCheck(code, "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return CodeCheck(code, f"统一社会信用代码校验位错误（应为 {expected}）")
    result = CodeCheck(code)
    if code[2:4] not in PROVINCE_PREFIXES:
        result.warnings.append(f"登记管理机关行政区划 {code[2:8]} 不常见")
    org = code[8:17]
    if all(ch in ORG_ALPHABET for ch in org[:8]) and org[8] != org_code_check_char(org[:8]):
        result.warnings.append("组织机构代码部分的校验位与 GB 11714 不符")
    return result


def check_product_code(value: object) -> CodeCheck:
    """NHSA drug (X 23 / Z 20) or consumable (C 27, or the 20-character product-level) code."""
    code = _normalise(value)
    if not code:
        return CodeCheck(code, "产品代码不能为空")
    if lower := _lower_case_error(code, "产品代码"):
        return lower
    kind = code[0]
    if kind == "X":
        if len(code) != 23:
            return CodeCheck(code, "西药代码应为 X 开头的 23 位")
        if not re.fullmatch(r"X[0-9A-Z]{22}", code):
            return CodeCheck(code, "西药代码只能包含大写字母和数字")
        result = CodeCheck(code)
        parts = split_segments(code, DRUG_WESTERN_SEGMENTS)
        if not re.fullmatch(r"[A-Z]\d\d[A-Z]{2}", parts["分类"]):
            result.warnings.append(f"分类段 {parts['分类']} 不像 ATC 代码")
        if not parts["企业"].isdigit():
            result.warnings.append(f"企业段 {parts['企业']} 不是数字")
        return result
    if kind == "Z":
        if len(code) != 20:
            return CodeCheck(code, "中成药代码应为 Z 开头的 20 位")
        if not re.fullmatch(r"Z[0-9A-Z]{19}", code):
            return CodeCheck(code, "中成药代码只能包含大写字母和数字")
        result = CodeCheck(code)
        if not split_segments(code, DRUG_CHINESE_SEGMENTS)["企业"].isdigit():
            result.warnings.append("企业段不是数字")
        return result
    if kind == "C":
        if len(code) not in (27, 20):
            return CodeCheck(code, "耗材代码应为 C 开头的 27 位（或 20 位产品级代码）")
        if not re.fullmatch(r"C\d+", code):
            return CodeCheck(code, "耗材代码 C 之后只能是数字")
        result = CodeCheck(code)
        parts = split_segments(code, CONSUMABLE_SEGMENTS)
        for name in ("学科", "用途"):
            if set(parts[name]) == {"0"}:
                result.warnings.append(f"{name}段为全 0")
        return result
    return CodeCheck(code, "产品代码应以 X（西药）、Z（中成药）或 C（耗材）开头")


def product_category(code: str) -> str:
    return {"X": "western", "Z": "chinese", "C": "consumable"}[code[0]]


def _raise(check: CodeCheck) -> str:
    if check.error:
        raise ValueError(check.error)
    return check.code


def validate_region_code(value: object) -> str:
    return _raise(check_region_code(value))


def validate_institution_code(value: object) -> str:
    return _raise(check_institution_code(value))


def validate_uscc(value: object) -> str:
    return _raise(check_uscc(value))


def validate_product_code(value: object) -> str:
    return _raise(check_product_code(value))


@deconstructible
class CodeValidator:
    """Django field validator running one check_* function, named so migrations can serialise it."""

    def __init__(self, check_name: str):
        self.check_name = check_name

    def __call__(self, value):
        result = globals()[self.check_name](value)
        if result.error:
            raise ValidationError(result.error)

    def __eq__(self, other):
        return isinstance(other, CodeValidator) and other.check_name == self.check_name


region_code_validator = CodeValidator("check_region_code")
institution_code_validator = CodeValidator("check_institution_code")
uscc_validator = CodeValidator("check_uscc")
product_code_validator = CodeValidator("check_product_code")


def make_uscc(body17: str) -> str:
    """Append the GB 32100 check character to a 17-character body (demo data and tests)."""
    return body17 + uscc_check_char(body17)
