"""Prepayment balances per (institution, agreement year) instead of per institution (SPEC §12). Existing
balances are rebuilt from the records they come from: disbursements of each year's tranches, minus the
year's clearance refunds, minus direct settlements (assigned to the agreement year of the line's batch that
contains the line's last receipt, or its order date)."""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

import jicai.core.fields


def rebuild(apps, schema_editor):
    FundAccount = apps.get_model("funds", "FundAccount")
    Disbursement = apps.get_model("funds", "Disbursement")
    ClearanceRefund = apps.get_model("funds", "ClearanceRefund")
    FundPayment = apps.get_model("funds", "FundPayment")
    AgreementYear = apps.get_model("batches", "AgreementYear")
    balances = {}
    for d in Disbursement.objects.select_related("tranche"):
        key = (d.tranche.institution_id, d.tranche.agreement_year_id)
        balances[key] = balances.get(key, 0) + d.amount
    for r in ClearanceRefund.objects.all():
        key = (r.institution_id, r.agreement_year_id)
        balances[key] = balances.get(key, 0) - r.amount
    years = list(AgreementYear.objects.all())
    for p in FundPayment.objects.select_related("payment__line", "payment__line__item"):
        line = p.payment.line
        day = line.last_received_on or line.ordered_on
        year = next(
            (y for y in years if line.item_id and y.batch_id == line.item.batch_id and y.start <= day <= y.end),
            None,
        )
        if year is None:
            continue
        p.agreement_year_id = year.pk
        p.save(update_fields=["agreement_year"])
        key = (p.institution_id, year.pk)
        balances[key] = balances.get(key, 0) - p.amount
    FundAccount.objects.bulk_create(
        [
            FundAccount(institution_id=inst, agreement_year_id=year, balance=max(balance, 0))
            for (inst, year), balance in balances.items()
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("batches", "0003_prices_as_integers"),
        ("funds", "0004_clearance_and_direct_settlement"),
        ("trade", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="FundAccount"),
        migrations.CreateModel(
            name="FundAccount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("balance", jicai.core.fields.MoneyField(default=Decimal("0.00"), verbose_name="预付款余额")),
                (
                    "agreement_year",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="fund_accounts",
                        to="batches.agreementyear",
                    ),
                ),
                (
                    "institution",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="fund_accounts",
                        to="registry.institution",
                    ),
                ),
            ],
            options={"verbose_name": "预付款余额", "verbose_name_plural": "预付款余额"},
        ),
        migrations.AddConstraint(
            model_name="fundaccount",
            constraint=models.CheckConstraint(condition=models.Q(("balance__gte", 0)), name="fund_balance_nonnegative"),
        ),
        migrations.AddConstraint(
            model_name="fundaccount",
            constraint=models.UniqueConstraint(fields=("institution", "agreement_year"), name="fund_account_unique"),
        ),
        migrations.AddField(
            model_name="fundpayment",
            name="agreement_year",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="fund_payments",
                to="batches.agreementyear",
            ),
        ),
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
