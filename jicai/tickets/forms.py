"""Forms of the ticket pages; they parse input only — the rules live in actions.py."""

from django import forms

from jicai.registry.models import Company, Product
from jicai.tickets import queries
from jicai.tickets.models import BUREAU_ACTIONS, Category, EventAction
from jicai.trade.models import OrderLine


class OpenTicketForm(forms.Form):
    supplier = forms.ModelChoiceField(
        queryset=Company.objects.none(), to_field_name="code", label="生产企业", empty_label="请选择"
    )
    distributor = forms.ModelChoiceField(
        queryset=Company.objects.none(),
        to_field_name="code",
        label="配送企业（可选）",
        required=False,
        empty_label="不指定",
    )
    category = forms.ChoiceField(choices=Category.choices, label="问题类别")
    description = forms.CharField(label="问题描述", widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)
    order_id = forms.CharField(label="订单号（可选）", max_length=64, required=False)
    line_no = forms.IntegerField(label="订单行号", min_value=1, required=False)
    product = forms.CharField(label="产品医保编码（可选）", max_length=27, required=False)

    def __init__(self, *args, institution=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.institution = institution
        self.fields["supplier"].queryset = queries.supplier_choices()
        self.fields["distributor"].queryset = queries.distributor_choices()

    def clean(self):
        data = super().clean()
        order_id, line_no = data.get("order_id", "").strip(), data.get("line_no")
        data["order_line"] = None
        if order_id or line_no:
            if not (order_id and line_no):
                raise forms.ValidationError("指定订单行时请同时填写订单号和行号")
            # Only the institution's own lines: another institution's order is "not found", never revealed.
            line = (
                OrderLine.objects.select_related("order", "order__distributor", "product", "item")
                .filter(order__order_id=order_id, line_no=line_no, institution=self.institution)
                .first()
            )
            if line is None:
                self.add_error("order_id", "未找到本机构的该订单行")
            data["order_line"] = line
        code = data.get("product", "").strip()
        data["product_obj"] = None
        if code:
            product = Product.objects.filter(code=code).first()
            if product is None:
                self.add_error("product", "产品不存在")
            data["product_obj"] = product
        return data


class ReplyForm(forms.Form):
    text = forms.CharField(label="答复内容", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    promised_fix_date = forms.DateField(label="承诺解决日期", required=False)


class TextForm(forms.Form):
    text = forms.CharField(
        label="说明", widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False
    )


class BureauActionForm(forms.Form):
    kind = forms.ChoiceField(
        label="督办措施", choices=[(k.value, EventAction(k).label) for k in BUREAU_ACTIONS]
    )
    text = forms.CharField(label="督办情况", widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)
