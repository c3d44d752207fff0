"""Forms of demand reporting pages: opening a window, and parsing the report lines posted by the form."""

import re

from django import forms

from jicai.batches.models import Batch
from jicai.demand.actions import LineInput
from jicai.demand.models import ReportingWindow

CODE_SPLIT = re.compile(r"[\s,，、;；]+")


class WindowForm(forms.Form):
    title = forms.CharField(label="名称", max_length=128)
    batch = forms.ModelChoiceField(label="集采批次", queryset=Batch.objects.none(), to_field_name="code")
    agreement_year = forms.IntegerField(label="协议年度", min_value=1, initial=1)
    opens_on = forms.DateField(label="开始日期", widget=forms.DateInput(attrs={"type": "date"}))
    deadline = forms.DateField(label="截止日期", widget=forms.DateInput(attrs={"type": "date"}))
    scope = forms.ChoiceField(
        label="范围",
        choices=ReportingWindow.Scope.choices,
        initial=ReportingWindow.Scope.REGION,
        widget=forms.RadioSelect,
    )
    institution_codes = forms.CharField(
        label="指定机构代码",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="范围为“指定机构”时填写，多个代码用空格、逗号或换行分隔",
    )

    def __init__(self, *args, batches=None, **kwargs):
        super().__init__(*args, **kwargs)
        if batches is not None:
            self.fields["batch"].queryset = batches
        for name, field in self.fields.items():
            if name != "scope":
                field.widget.attrs.setdefault("class", "form-control form-control-sm")

    def clean(self):
        data = super().clean()
        codes = [c.upper() for c in CODE_SPLIT.split(data.get("institution_codes") or "") if c]
        data["codes"] = codes
        if data.get("scope") == ReportingWindow.Scope.INSTITUTIONS and not codes:
            self.add_error("institution_codes", "请至少填写一个机构代码")
        return data


def parse_line_post(post, item_codes: list[str]) -> tuple[list[LineInput], list[str]]:
    """Lines from the report form (qty-<code>, exp-<code>); empty qty = not filled in. Returns the inputs
    and the cell errors (text that is not a non-negative integer)."""
    inputs, errors = [], []
    for code in item_codes:
        raw = (post.get(f"qty-{code}") or "").strip().replace(",", "")
        explanation = (post.get(f"exp-{code}") or "").strip()
        qty = None
        if raw:
            if re.fullmatch(r"\d+", raw):
                qty = int(raw)
            else:
                errors.append(f"{code}：报量“{raw}”不是不小于 0 的整数")
                continue
        inputs.append(LineInput(code, qty, explanation))
    return inputs, errors
