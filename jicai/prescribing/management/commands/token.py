"""`jicai token ORG_CODE [--name NAME]` (SPEC §10): issue an API token for the organisation of an
institution, company or bureau (by its code) and print the key once."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from jicai.accounts.actions import create_api_token
from jicai.accounts.models import Organisation, OrganisationKind, Role

# The role a command-line token acts in: the institution's own (pharmacy) role, a company as manufacturer.
DEFAULT_ROLE = {
    OrganisationKind.INSTITUTION: Role.INSTITUTION,
    OrganisationKind.COMPANY: Role.MANUFACTURER,
    OrganisationKind.BUREAU: Role.BUREAU,
}


class Command(BaseCommand):
    help = "为医疗机构、企业或医保局签发 API 令牌（只显示一次）"

    def add_arguments(self, parser):
        parser.add_argument("org_code", help="医疗机构、企业代码或医保局行政区划代码")
        parser.add_argument("--name", default="HIS/ERP 接口", help="用途")

    def handle(self, *args, **options):
        code = options["org_code"].strip()
        orgs = list(
            Organisation.objects.filter(
                Q(institution__code=code) | Q(company__code=code) | Q(region__code=code)
            )
        )
        if not orgs:
            raise CommandError(f"未知的机构代码：{code}")
        if len(orgs) > 1:
            raise CommandError(f"代码 {code} 对应多个机构，无法确定")
        token, key = create_api_token(
            actor=None,
            organisation=orgs[0],
            role=DEFAULT_ROLE.get(orgs[0].kind),
            name=options["name"].strip() or "HIS/ERP 接口",
        )
        self.stdout.write(key)
        self.stderr.write(
            f"已为 {orgs[0].name} 签发令牌（角色 {token.role}，前缀 {token.prefix}）；密钥只显示这一次。"
        )
