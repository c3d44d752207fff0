"""Forms of the money pages; messages in Chinese, nothing written on bad input."""

from decimal import Decimal

from django import forms

from jicai.core.money import QTY_MAX


class QuoteForm(forms.Form):
    product_code = forms.CharField(label="产品医保编码", max_length=27)
    qty = forms.IntegerField(
        label="数量（最小制剂单位）",
        min_value=1,
        max_value=QTY_MAX,
        error_messages={
            "min_value": "数量必须大于 0",
            "max_value": f"数量不能超过 {QTY_MAX}",
            "invalid": "数量必须是整数",
        },
    )
    unit_price = forms.DecimalField(
        label="实际单价（元）",
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=4,
        error_messages={
            "invalid": "单价应为数字",
            "max_decimal_places": "单价最多 4 位小数",
            "min_value": "单价不能为负数",
        },
    )
    on = forms.DateField(
        label="结算日期", required=False, error_messages={"invalid": "日期格式应为 YYYY-MM-DD"}
    )
    selfpay_ratio = forms.DecimalField(
        label="先行自付比例",
        min_value=Decimal(0),
        max_value=Decimal(1),
        decimal_places=4,
        required=False,
        error_messages={
            "invalid": "比例应为 0 到 1 之间的小数",
            "min_value": "比例不能为负数",
            "max_value": "比例不能超过 1",
        },
    )
    fund_ratio = forms.DecimalField(
        label="基金支付比例（留空用本地区参数）",
        min_value=Decimal(0),
        max_value=Decimal(1),
        decimal_places=4,
        required=False,
        error_messages={
            "invalid": "比例应为 0 到 1 之间的小数",
            "min_value": "比例不能为负数",
            "max_value": "比例不能超过 1",
        },
    )


class DisbursementForm(forms.Form):
    amount = forms.DecimalField(
        label="拨付金额（元）",
        min_value=Decimal("0.01"),
        max_digits=17,
        decimal_places=2,
        error_messages={
            "invalid": "拨付金额应为数字",
            "min_value": "拨付金额必须大于 0",
            "max_decimal_places": "拨付金额最多两位小数",
        },
    )
    paid_on = forms.DateField(
        label="拨付日期", error_messages={"invalid": "日期格式应为 YYYY-MM-DD", "required": "请填写拨付日期"}
    )


class ExemptionForm(forms.Form):
    item_code = forms.CharField(label="品种编码", max_length=32)
    scope_code = forms.CharField(label="机构或地区代码", max_length=12)
    mode = forms.ChoiceField(
        label="豁免方式", choices=[("exclude", "不纳入考核"), ("share", "按中选产品使用占比考核")]
    )
    target_share = forms.DecimalField(
        label="目标占比（按占比考核时填写）",
        required=False,
        min_value=Decimal("0.0001"),
        max_value=Decimal(1),
        decimal_places=4,
        error_messages={
            "invalid": "目标占比应为 0 到 1 之间的小数",
            "max_value": "目标占比不能超过 1",
            "min_value": "目标占比必须大于 0",
        },
    )
    reason = forms.CharField(label="原因", max_length=255, error_messages={"required": "请填写豁免原因"})


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label="退回金额（元）",
        min_value=Decimal("0.01"),
        max_digits=17,
        decimal_places=2,
        error_messages={
            "invalid": "退回金额应为数字",
            "min_value": "退回金额必须大于 0",
            "max_decimal_places": "退回金额最多两位小数",
        },
    )
    refunded_on = forms.DateField(label="退回日期", error_messages={"invalid": "日期格式应为 YYYY-MM-DD"})
