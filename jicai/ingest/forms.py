"""The upload form: kind (only kinds the user may import), file and the dry-run switch."""

from django import forms

from jicai.ingest.schemas import SCHEMAS


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="数据类型")
    file = forms.FileField(label="文件（CSV：UTF-8 或 GBK/GB18030；或 XLSX）")
    batch = forms.CharField(
        label="批次编码（可选）",
        required=False,
        max_length=32,
        help_text="填写后，文件中空的 batch_code 取此批次",
    )
    dry_run = forms.BooleanField(label="试运行（只校验，不写入）", required=False)

    def __init__(self, *args, kinds: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, f"{SCHEMAS[k].title}（{k}）") for k in kinds]
