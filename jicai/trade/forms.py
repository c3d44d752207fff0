"""Input forms of the supply pages: they parse and check shape only; rules live in trade.actions."""

from django import forms

REQUIRED = {"required": "此项必填。", "invalid": "格式不正确。"}


class OrderForm(forms.Form):
    product = forms.IntegerField(error_messages={"required": "请选择产品。"})
    qty = forms.IntegerField(min_value=1, error_messages={**REQUIRED, "min_value": "数量必须大于 0。"})
    unit_price = forms.DecimalField(max_digits=14, decimal_places=4, required=False, error_messages=REQUIRED)


class RespondForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "确认"), ("reject", "拒绝")])
    reason = forms.CharField(max_length=255, required=False)


class DeliveryForm(forms.Form):
    qty = forms.IntegerField(min_value=1, error_messages={**REQUIRED, "min_value": "数量必须大于 0。"})
    delivered_on = forms.DateField(error_messages=REQUIRED)


class ReceiptForm(forms.Form):
    accepted_qty = forms.IntegerField(min_value=0, error_messages={**REQUIRED, "min_value": "数量不能为负。"})
    rejected_qty = forms.IntegerField(
        min_value=0, initial=0, required=False, error_messages={**REQUIRED, "min_value": "数量不能为负。"}
    )
    received_on = forms.DateField(error_messages=REQUIRED)
    reason = forms.CharField(max_length=255, required=False)


class PaymentForm(forms.Form):
    amount = forms.DecimalField(max_digits=16, decimal_places=2, error_messages=REQUIRED)
    paid_on = forms.DateField(error_messages=REQUIRED)
    invoice_no = forms.CharField(max_length=64, required=False)


class InvoicePaymentForm(PaymentForm):
    invoice_no = forms.CharField(max_length=64, error_messages={"required": "请填写发票号。"})
    lines = forms.MultipleChoiceField(error_messages={"required": "请选择发票对应的订单行。"})

    def __init__(self, *args, line_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lines"].choices = line_choices


class SupplyBlockForm(forms.Form):
    institution = forms.CharField(max_length=12, error_messages={"required": "请填写机构代码。"})
    supplier = forms.CharField(max_length=18, error_messages={"required": "请填写企业统一社会信用代码。"})
    item = forms.IntegerField(error_messages={"required": "请选择品种。"})
    reason = forms.CharField(max_length=255, error_messages={"required": "请填写原因。"})


class PriceExceptionForm(forms.Form):
    institution = forms.CharField(max_length=12, error_messages={"required": "请填写机构代码。"})
    product = forms.CharField(max_length=27, error_messages={"required": "请填写产品编码。"})
    unit_price = forms.DecimalField(max_digits=14, decimal_places=4, error_messages=REQUIRED)
    valid_from = forms.DateField(error_messages=REQUIRED)
    valid_to = forms.DateField(error_messages=REQUIRED)
    reason = forms.CharField(max_length=255, error_messages={"required": "请填写原因。"})


class MonthlyReportForm(forms.Form):
    item = forms.IntegerField(error_messages={"required": "请选择品种。"})
    month = forms.CharField(max_length=7, error_messages={"required": "请选择月份。"})
    production_qty = forms.IntegerField(min_value=0, error_messages=REQUIRED)
    supply_qty = forms.IntegerField(min_value=0, error_messages=REQUIRED)
    inventory_qty = forms.IntegerField(min_value=0, error_messages=REQUIRED)
    payment_received = forms.DecimalField(
        max_digits=16, decimal_places=2, min_value=0, error_messages=REQUIRED
    )

    def clean_month(self):
        import datetime as dt

        text = self.cleaned_data["month"]
        try:
            year, month = (int(p) for p in text.split("-"))
            return dt.date(year, month, 1)
        except ValueError:
            raise forms.ValidationError("月份格式应为 YYYY-MM。") from None
