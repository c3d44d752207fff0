"""Declarations of every SPEC §3 policy parameter: name, Chinese label, type, default and source text,
with one parser/validator per type. Stored values (PolicyProfile.values) are the JSON form returned by
`Parameter.to_json`; the engine works with the Python form returned by `Parameter.parse`.

Python forms: decimals are `Decimal`; a ratio table is {winner_count: Decimal} whose largest key means
"that many or more"; tiers are a tuple of decreasing Decimals; prepayment tranches are a `PrepaymentRule`.
"""

import json
from dataclasses import dataclass
from decimal import Decimal

from jicai.core.money import to_decimal

# ---- value types ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrepaymentRule:
    """Hubei (三): T1 ≥ first_share of the budget when the agreement takes effect; T2 when second_elapsed
    of the agreement year has passed or completion ≥ second_completion, bringing the total to ≥ second_total."""

    first_share: Decimal
    second_elapsed: Decimal
    second_completion: Decimal
    second_total: Decimal


def _plain(value: Decimal) -> str:
    """Decimal as plain text keeping its written precision ('0.20' stays '0.20'; never an exponent)."""
    return format(value, "f")


def _decimal(raw: object, what: str = "") -> Decimal:
    if isinstance(raw, bool):
        raise ValueError(f"{what}应为数字")
    try:
        return to_decimal(raw)
    except ValueError:
        raise ValueError(f"{what}应为数字，实际为“{raw}”") from None


def _ratio(raw: object, what: str = "", *, allow_zero: bool = True) -> Decimal:
    value = _decimal(raw, what)
    if value < 0 or value > 1 or (value == 0 and not allow_zero):
        bound = "0 到 1 之间" if allow_zero else "大于 0 且不超过 1"
        raise ValueError(f"{what}应为 {bound} 的小数，实际为 {raw}")
    return value


class Parameter:
    """One policy parameter. Subclasses define parse (any accepted input → Python value), to_json,
    display (Chinese, for pages) and to_text (what an edit form shows; parse accepts it back)."""

    type_name = ""

    def __init__(self, name: str, label: str, default_json, source: str, description: str = ""):
        self.name = name
        self.label = label
        self.source = source
        self.description = description
        self.default = self.parse(default_json)

    def parse(self, raw):
        raise NotImplementedError

    def to_json(self, value):
        raise NotImplementedError

    def display(self, value) -> str:
        return self.to_text(value)

    def to_text(self, value) -> str:
        return str(self.to_json(value))

    def __repr__(self):
        return f"<Parameter {self.name}>"


class DecimalParameter(Parameter):
    """A Decimal in [minimum, maximum]; `exclusive_min` forbids the minimum itself (a multiple of 0)."""

    type_name = "decimal"

    def __init__(
        self,
        *args,
        minimum: Decimal = Decimal(0),
        maximum: Decimal | None = None,
        exclusive_min: bool = False,
        **kw,
    ):
        self.minimum, self.maximum, self.exclusive_min = minimum, maximum, exclusive_min
        super().__init__(*args, **kw)

    def parse(self, raw) -> Decimal:
        value = _decimal(raw)
        if value < self.minimum or (self.exclusive_min and value == self.minimum):
            raise ValueError(f"应{'大于' if self.exclusive_min else '不小于'} {self.minimum}，实际为 {raw}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"应不大于 {self.maximum}，实际为 {raw}")
        return value

    def to_json(self, value: Decimal) -> str:
        return _plain(value)


class IntParameter(Parameter):
    type_name = "int"

    def __init__(self, *args, minimum: int = 0, maximum: int | None = None, **kw):
        self.minimum, self.maximum = minimum, maximum
        super().__init__(*args, **kw)

    def parse(self, raw) -> int:
        if isinstance(raw, bool):
            raise ValueError("应为整数")
        try:
            value = _decimal(raw)
        except ValueError:
            raise ValueError(f"应为整数，实际为“{raw}”") from None
        if value != value.to_integral_value():
            raise ValueError(f"应为整数，实际为 {raw}")
        number = int(value)
        if number < self.minimum or (self.maximum is not None and number > self.maximum):
            upper = f"{self.maximum}" if self.maximum is not None else "∞"
            raise ValueError(f"应在 {self.minimum}–{upper} 之间，实际为 {number}")
        return number

    def to_json(self, value: int) -> int:
        return value


class ChoiceParameter(Parameter):
    """One of a fixed set of values; `choices` maps each value (str or int) to its Chinese label."""

    type_name = "choice"

    def __init__(self, *args, choices: dict, **kw):
        self.choices = choices
        super().__init__(*args, **kw)

    def parse(self, raw):
        for value in self.choices:
            if raw == value or str(raw).strip() == str(value):
                return value
        allowed = "、".join(f"{v}（{label}）" for v, label in self.choices.items())
        raise ValueError(f"应为 {allowed} 之一，实际为“{raw}”")

    def to_json(self, value):
        return value

    def display(self, value) -> str:
        return f"{value}（{self.choices[value]}）"


class RatioTableParameter(Parameter):
    """{1: 0.50, 2: 0.60, 3: 0.70, 4+: 0.80}: keys 1..n without gaps, the last one open-ended ("n+").

    Accepts a dict (int or "n"/"n+" keys) or text like "1:0.50, 2:0.60, 3:0.70, 4+:0.80".
    """

    type_name = "ratio_table"

    def parse(self, raw) -> dict[int, Decimal]:
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith("{"):
                try:
                    raw = json.loads(text)
                except json.JSONDecodeError:
                    raise ValueError("不是有效的 JSON") from None
            else:
                pairs = {}
                for part in text.replace("；", ",").replace("，", ",").replace(";", ",").split(","):
                    if not part.strip():
                        continue
                    key, sep, val = part.replace("：", ":").partition(":")
                    if not sep:
                        raise ValueError(f"“{part.strip()}”应写成 家数:比例，如 1:0.50")
                    if key.strip().rstrip("+").strip() in {k.rstrip("+") for k in pairs}:
                        raise ValueError(f"中选企业数 {key.strip()} 重复")
                    pairs[key.strip()] = val.strip()
                raw = pairs
        if not isinstance(raw, dict) or not raw:
            raise ValueError("应为 中选企业数:比例 的列表，如 1:0.50, 2:0.60, 3:0.70, 4+:0.80")
        table: dict[int, Decimal] = {}
        open_ended = []
        for key, val in raw.items():
            key_text = str(key).strip()
            plus = key_text.endswith("+")
            try:
                count = int(key_text.rstrip("+").strip())
            except ValueError:
                raise ValueError(f"中选企业数“{key_text}”应为正整数") from None
            if count < 1:
                raise ValueError(f"中选企业数应从 1 开始，实际为 {count}")
            if count in table:
                raise ValueError(f"中选企业数 {count} 重复")
            table[count] = _ratio(val, f"{count} 家的比例", allow_zero=False)
            if plus:
                open_ended.append(count)
        keys = sorted(table)
        if keys != list(range(1, len(keys) + 1)):
            raise ValueError("中选企业数应从 1 起连续，不能有缺口")
        if open_ended and open_ended != [keys[-1]]:
            raise ValueError("只有最大的企业数可以写成“n+”")
        return {k: table[k] for k in keys}

    def to_json(self, value: dict[int, Decimal]) -> dict[str, str]:
        last = max(value)
        return {f"{k}+" if k == last else str(k): _plain(v) for k, v in sorted(value.items())}

    def to_text(self, value) -> str:
        return ", ".join(f"{k}:{v}" for k, v in self.to_json(value).items())

    def display(self, value) -> str:
        return "；".join(f"{k} 家：{v}" for k, v in self.to_json(value).items())


class TiersParameter(Parameter):
    """Three strictly decreasing thresholds in (0, 1]: tier 1 below the first, 2 below the second, 3 below the third."""

    type_name = "tiers"

    def parse(self, raw) -> tuple[Decimal, ...]:
        if isinstance(raw, str):
            text = raw.strip()
            parts = (
                json.loads(text)
                if text.startswith("[")
                else [
                    p.strip().lstrip("<").strip()
                    for p in text.replace("/", ",").replace("，", ",").split(",")
                    if p.strip()
                ]
            )
        else:
            parts = raw
        if not isinstance(parts, list | tuple) or len(parts) != 3:
            raise ValueError("应为三个依次减小的阈值，如 0.80, 0.60, 0.30")
        values = tuple(_ratio(p, f"第 {i} 档阈值", allow_zero=False) for i, p in enumerate(parts, start=1))
        if not values[0] > values[1] > values[2]:
            raise ValueError("三档阈值应依次减小，如 0.80, 0.60, 0.30")
        return values

    def to_json(self, value) -> list[str]:
        return [_plain(v) for v in value]

    def to_text(self, value) -> str:
        return ", ".join(self.to_json(value))

    def display(self, value) -> str:
        return " / ".join(f"<{v}" for v in self.to_json(value))


class PrepaymentParameter(Parameter):
    """PrepaymentRule from a dict/JSON text with first_share, second_elapsed, second_completion, second_total."""

    type_name = "prepayment"
    FIELDS = ("first_share", "second_elapsed", "second_completion", "second_total")

    def parse(self, raw) -> PrepaymentRule:
        if isinstance(raw, PrepaymentRule):
            return raw
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError:
                raise ValueError("应为 JSON，如 " + self.to_text(self.default)) from None
        if not isinstance(raw, dict):
            raise ValueError("应为包含 first_share、second_elapsed、second_completion、second_total 的对象")
        unknown = set(raw) - set(self.FIELDS)
        missing = [f for f in self.FIELDS if f not in raw]
        if unknown or missing:
            raise ValueError(f"字段应为 {', '.join(self.FIELDS)}")
        rule = PrepaymentRule(**{f: _ratio(raw[f], f"{f} ", allow_zero=False) for f in self.FIELDS})
        if rule.second_total < rule.first_share:
            raise ValueError("second_total（第二笔后的累计比例）不能小于 first_share")
        return rule

    def to_json(self, value: PrepaymentRule) -> dict[str, str]:
        return {f: _plain(getattr(value, f)) for f in self.FIELDS}

    def to_text(self, value) -> str:
        return json.dumps(self.to_json(value))

    def display(self, value: PrepaymentRule) -> str:
        pct = lambda d: f"{(d * 100).normalize():f}%"  # noqa: E731
        return (
            f"协议生效时预付 ≥ {pct(value.first_share)}；时间进度 ≥ {pct(value.second_elapsed)}"
            f"或完成率 ≥ {pct(value.second_completion)} 时累计 ≥ {pct(value.second_total)}"
        )


# ---- the SPEC §3 table ---------------------------------------------------------------------------

D = Decimal
PARAMETERS: tuple[Parameter, ...] = (
    DecimalParameter(
        "report_drop_threshold",
        "报量低于历史采购量需说明的比例",
        "0.20",
        'Shandong (一); Henan uses 0.0 ("低于历史采购量")',
        "报量 < 历史采购量 × (1 − t) 时须填写说明",
        maximum=D(1),
    ),
    RatioTableParameter(
        "agreed_ratio_by_winners",
        "约定采购量比例（按中选企业数）",
        {"1": "0.50", "2": "0.60", "3": "0.70", "4+": "0.80"},
        "national batch 7 rule; configurable per batch",
        "约定采购量 = 报量 × 比例（按品种中选企业数，4+ 表示 4 家及以上）",
    ),
    ChoiceParameter(
        "progress_basis",
        "采购进度口径",
        "received",
        "choice; `ordered` allowed",
        "计入已采购量的口径",
        choices={"received": "入库确认数量", "ordered": "订单数量"},
    ),
    DecimalParameter(
        "progress_tolerance",
        "进度滞后系数",
        "1.0",
        'Shandong/Yantai "低于序时进度"',
        "完成率 < 时间进度 × k 时提示进度滞后",
        exclusive_min=True,
    ),
    DecimalParameter(
        "over_purchase_multiple",
        "超量采购倍数",
        "4",
        "Shandong (七)",
        "中选产品采购量 > 约定量 × k 时预警",
        exclusive_min=True,
    ),
    DecimalParameter(
        "delivery_rate_floor", "配送率下限", "0.80", "Shandong (三)(七)", "配送率低于此值时预警", maximum=D(1)
    ),
    TiersParameter(
        "delivery_rate_tiers",
        "配送率分档",
        ["0.80", "0.60", "0.30"],
        "Shandong (三)(七)",
        "配送率 <第1档 / <第2档 / <第3档 分别为 1/2/3 档",
    ),
    IntParameter(
        "delivery_grace_days",
        "订单配送宽限天数（自然日）",
        3,
        "choice",
        "订单行下单后多少个自然日内应完成配送",
    ),
    IntParameter(
        "ticket_reply_workdays",
        "诉求答复时限（工作日）",
        2,
        "Henan (八), Shandong (四)",
        "企业应在此工作日内答复诉求",
        minimum=1,
    ),
    IntParameter(
        "ticket_fix_max_workdays",
        "诉求整改最长时限（工作日）",
        5,
        "same (Henan (八), Shandong (四))",
        "承诺解决日期不得晚于答复日后此工作日数",
        minimum=1,
    ),
    TiersParameter(
        "ticket_resolution_tiers",
        "诉求解决率分档",
        ["0.80", "0.60", "0.30"],
        "Shandong (七)",
        "诉求及时解决率 <第1档 / <第2档 / <第3档 分别为 1/2/3 档",
    ),
    IntParameter(
        "receipt_confirm_days",
        "收货确认时限（自然日）",
        5,
        'choice ("不及时确认收货")',
        "配送后超过此天数未确认收货即预警",
    ),
    IntParameter(
        "payment_due_days",
        "回款时限（天）",
        30,
        'Hubei (三); alt rule "end of next month"',
        "医疗机构在收货后此天数内向企业回款",
    ),
    ChoiceParameter(
        "payment_due_rule",
        "回款时限计算规则",
        "after_receipt",
        'Hubei (三); alt rule "end of next month"',
        "after_receipt：收货后 N 天；end_of_next_month：收货次月月底",
        choices={"after_receipt": "收货后 N 天", "end_of_next_month": "收货次月月底"},
    ),
    DecimalParameter(
        "abnormal_order_multiple",
        "超常规订单倍数",
        "3",
        'choice ("超常规订单", "突击采购")',
        "单个订单行数量 > k × 月均采购量时预警",
        exclusive_min=True,
    ),
    DecimalParameter(
        "substitute_growth_threshold",
        "可替代药品同比增长预警比例",
        "0.30",
        "choice (Heilongjiang 3.3.1, quarterly)",
        "可替代药品采购量同比增长超过此比例时预警",
    ),
    DecimalParameter(
        "listing_cap_multiple",
        "非供应省份挂网价上限倍数",
        "1.5",
        "Yantai 一: ≤ max(1.5 × own winning price, highest winning price of the item)",
        "国家集采中选产品在非供应省份挂网的限价倍数",
        exclusive_min=True,
    ),
    DecimalParameter(
        "nonwinning_selfpay_increase",
        "非中选产品自付比例提高",
        "0.10",
        "Yantai (五)",
        "非中选产品患者自付比例提高的幅度",
        maximum=D(1),
    ),
    PrepaymentParameter(
        "prepayment_tranches",
        "医保基金预付安排",
        {
            "first_share": "0.30",
            "second_elapsed": "0.50",
            "second_completion": "0.60",
            "second_total": "0.90",
        },
        "Hubei (三)",
        "协议生效时预付 ≥ 预算的 30%；年度过半或完成 ≥ 60% 时付第二笔，累计 ≥ 90%",
    ),
    ChoiceParameter(
        "months_to_complete",
        "院内计划完成月数",
        10,
        "Heilongjiang 3.1.1",
        "院内把年度约定量分摊到的月数",
        choices={10: "10 个月", 11: "11 个月"},
    ),
    DecimalParameter(
        "dept_min_share",
        "科室自动分解最低占比",
        "0.01",
        "Heilongjiang 3.1.2",
        "上年使用量占比低于此值的科室（非专科偶发使用）不自动分配目标",
        maximum=D(1),
    ),
    IntParameter(
        "company_report_day",
        "企业月报截止日",
        5,
        "Hubei 五(二)",
        "企业每月此日前报送上月生产、供应、库存、回款情况",
        minimum=1,
        maximum=28,
    ),
)

BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}


def get_parameter(name: str) -> Parameter:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"未知的政策参数：{name}") from None


def defaults() -> dict:
    """{name: default Python value}."""
    return {p.name: p.default for p in PARAMETERS}
