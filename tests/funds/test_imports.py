"""reference-prices and exemptions imports (SPEC §10 columns): all-or-nothing, Chinese row errors, a bureau
only inside its subtree."""

from decimal import Decimal as D

import pytest

from jicai.core.errors import ImportRejected
from jicai.funds.models import Exemption, ReferencePrice
from jicai.ingest.pipeline import run_import


def load(kind, text, actor=None):
    return run_import(
        kind=kind, rows_or_file=text.encode("utf-8"), filename="x.csv", actor=actor, source="cli"
    )


def test_reference_prices_import_and_update(world):
    result = load(
        "reference-prices",
        "batch_code,item_code,province_code,reference_price\nGY-YD2023-1,GY7-001,370000,0.5000\n",
    )
    assert result.created == 1
    assert ReferencePrice.objects.get().reference_price == D("0.5000")
    load(
        "reference-prices",
        "batch_code,item_code,province_code,reference_price\nGY-YD2023-1,GY7-001,370000,0.4500\n",
    )
    assert ReferencePrice.objects.get().reference_price == D("0.4500")
    with pytest.raises(ImportRejected) as exc:
        load(
            "reference-prices",
            "batch_code,item_code,province_code,reference_price\nGY-YD2023-1,GY7-001,371000,0.1\nGY-YD2023-1,NOPE,370000,0.12345\n",
        )
    reasons = [e.reason for e in exc.value.errors]
    assert any("省级区划" in r for r in reasons) and any("最多 4 位小数" in r for r in reasons)
    assert ReferencePrice.objects.get().reference_price == D("0.4500")


def test_exemptions_import_scope_and_modes(world):
    header = "batch_code,agreement_year,item_code,scope_code,mode,target_share,reason\n"
    result = load(
        "exemptions",
        header
        + "GY-YD2023-1,1,GY7-001,H37100200001,share,0.80,临床指南调整\nGY-YD2023-1,1,GY7-001,371002,exclude,,公共卫生事件\n",
        actor=world.city_bureau,
    )
    assert result.created == 2
    share = Exemption.objects.get(institution=world.hospital)
    assert (share.mode, share.target_share, share.reason) == ("share", D("0.8000"), "临床指南调整")
    assert Exemption.objects.get(region=world.county).mode == "exclude"
    with pytest.raises(ImportRejected) as exc:
        load(
            "exemptions",
            header
            + "GY-YD2023-1,1,GY7-001,H37020200001,exclude,,原因\n"  # another city's hospital
            + "GY-YD2023-1,9,GY7-001,371002,exclude,,原因\n"  # no year 9
            + "GY-YD2023-1,1,GY7-001,371002,share,,原因\n"  # share without a target
            + "GY-YD2023-1,1,GY7-001,371002,exclude,0.5,原因\n",  # exclude with a target
            actor=world.city_bureau,
        )
    reasons = [e.reason for e in exc.value.errors]
    assert any("不在本医保局辖区内" in r for r in reasons)
    assert any("协议年度不存在" in r for r in reasons)
    assert any("不能为空" in r for r in reasons)
    assert any("不填写目标占比" in r for r in reasons)
    assert Exemption.objects.count() == 2
