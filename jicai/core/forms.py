"""Forms of the calendar page: upload one year's schedule, and check a date / add N working days."""

from django import forms

from jicai.core.actions import MAX_YEAR, MIN_YEAR


class CalendarUploadForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=MIN_YEAR, max_value=MAX_YEAR)
    file = forms.FileField(label="文件（CSV 或 XLSX）")
    note = forms.CharField(label="依据（如国务院办公厅通知文号）", max_length=255, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError("只接受 .csv 或 .xlsx 文件")
        return upload


class WorkdayCheckForm(forms.Form):
    check_date = forms.DateField(label="日期", widget=forms.DateInput(attrs={"type": "date"}))
    n = forms.IntegerField(label="加 N 个工作日", min_value=0, max_value=366, initial=0)
