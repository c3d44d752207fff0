from django import forms

from jicai.accounts.models import ROLES_BY_KIND, Role


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label="用途", max_length=64, error_messages={"required": "请填写令牌用途，例如“HIS 接口”。"}
    )
    role = forms.ChoiceField(label="角色")

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = ROLES_BY_KIND[organisation.kind]
        self.fields["role"].choices = [(value, label) for value, label in Role.choices if value in allowed]
        self.fields["role"].error_messages["invalid_choice"] = "该角色不适用于本机构。"
