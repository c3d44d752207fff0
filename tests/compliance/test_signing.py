"""Signed agreements (SPEC §14): demo-CA certificates, RSA-PSS signatures on institution and supplier
signing (web and API), verification on the printable page and in the API, tampering detected."""

import datetime as dt
from decimal import Decimal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.urls import reverse
from django.utils import timezone

from jicai.agreements import actions as agreement_actions
from jicai.agreements.models import PurchaseAgreement
from jicai.batches.models import AgreementYear
from jicai.compliance import signing
from jicai.compliance.models import AgreementSignature, SigningKey
from jicai.core.errors import DomainError, NotFound

pytestmark = pytest.mark.django_db


@pytest.fixture
def agreement(trade):
    return PurchaseAgreement.objects.create(
        agreement_year=trade.year2,
        institution=trade.hospital,
        item=trade.item,
        supplier=trade.maker,
        distributor=trade.distributor,
        agreed_qty=1000,
        winning_price=Decimal("0.1200"),
        budget=Decimal("120.00"),
    )


@pytest.fixture
def keys(trade):
    for org in (trade.hospital_org, trade.maker_org):
        signing.issue_demo_certificate(actor=trade.admin, organisation=org)
    return trade


def test_private_keys_are_stored_encrypted_with_the_server_secret(keys, settings):
    row = SigningKey.objects.get(organisation=keys.hospital_org)
    assert "PRIVATE KEY" not in row.encrypted_private_key
    assert isinstance(signing._decrypt(row), rsa.RSAPrivateKey)
    settings.SECRET_KEY = "another-server-secret-" + "x" * 40
    with pytest.raises(DomainError):
        signing._decrypt(row)


def test_signatures_verify_then_fail_after_a_content_change(keys, agreement, client_for):
    agreement_actions.sign_agreement(actor=keys.pharmacist, agreement_id=agreement.pk)
    agreement_actions.sign_agreement(actor=keys.manufacturer, agreement_id=agreement.pk)
    agreement.refresh_from_db()
    results = signing.verifications(agreement)
    assert [(v.signature.party, v.ok) for v in results] == [("institution", True), ("supplier", True)]
    assert all("平台演示 CA" in v.reason for v in results)
    assert '"agreed_qty":1000' in results[0].signature.content
    page = client_for(keys.pharmacist).get(reverse("agreements:print", args=[agreement.pk])).content.decode()
    assert page.count('data-ok="1"') == 2 and "验证通过" in page

    PurchaseAgreement.objects.filter(pk=agreement.pk).update(agreed_qty=1001)  # tampered in the database
    agreement.refresh_from_db()
    results = signing.verifications(agreement)
    assert [(v.ok, v.reason) for v in results] == [(False, "验证失败：协议内容在签署后被修改")] * 2
    page = client_for(keys.pharmacist).get(reverse("agreements:print", args=[agreement.pk])).content.decode()
    assert page.count('data-ok="0"') == 2 and "验证失败：协议内容在签署后被修改" in page


def test_api_signing_and_verification(keys, agreement, api_client_for):
    assert api_client_for(keys.pharmacist).post(f"/api/v1/agreements/{agreement.pk}/sign").status_code == 200
    assert (
        api_client_for(keys.manufacturer).post(f"/api/v1/agreements/{agreement.pk}/sign").status_code == 200
    )
    body = api_client_for(keys.manufacturer).get(f"/api/v1/agreements/{agreement.pk}/signatures").json()
    assert [(s["party"], s["verified"]) for s in body] == [("institution", True), ("supplier", True)]
    AgreementSignature.objects.filter(party="supplier").update(signature="AAAA")  # a forged signature
    body = api_client_for(keys.pharmacist).get(f"/api/v1/agreements/{agreement.pk}/signatures").json()
    assert [(s["verified"], s["reason"]) for s in body] == [
        (True, body[0]["reason"]),
        (False, "验证失败：签名与证书不符"),
    ]


def test_without_a_certificate_the_agreement_is_signed_without_a_digital_signature(
    trade, agreement, client_for
):
    agreement_actions.sign_agreement(actor=trade.pharmacist, agreement_id=agreement.pk)
    assert AgreementSignature.objects.count() == 0
    page = client_for(trade.pharmacist).get(reverse("agreements:print", args=[agreement.pk])).content.decode()
    assert "无电子签章" in page


def _self_signed(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "外部 CA 证书")])
    now = timezone.now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


def test_admin_registers_an_external_certificate(trade, agreement):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_pem = _self_signed(key).public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass-word"),
    ).decode()
    other_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(DomainError, match="不匹配"):
        signing.register_certificate(
            actor=trade.admin,
            organisation=trade.hospital_org,
            certificate_pem=cert_pem,
            private_key_pem=other_pem,
        )
    with pytest.raises(DomainError, match="口令"):
        signing.register_certificate(
            actor=trade.admin,
            organisation=trade.hospital_org,
            certificate_pem=cert_pem,
            private_key_pem=key_pem,
            password="wrong",
        )
    assert SigningKey.objects.count() == 0
    signing.register_certificate(
        actor=trade.admin,
        organisation=trade.hospital_org,
        certificate_pem=cert_pem,
        private_key_pem=key_pem,
        password="pass-word",
    )
    agreement_actions.sign_agreement(actor=trade.pharmacist, agreement_id=agreement.pk)
    (v,) = signing.verifications(agreement)
    assert (v.ok, v.reason) == (True, "验证通过（证书由管理员登记）")


def test_wrong_organisation_gets_404_and_changes_nothing(keys, agreement, client_for, api_client_for):
    agreement_actions.sign_agreement(actor=keys.pharmacist, agreement_id=agreement.pk)
    assert (
        api_client_for(keys.other_pharmacist).get(f"/api/v1/agreements/{agreement.pk}/signatures").status_code
        == 404
    )
    assert (
        client_for(keys.other_pharmacist).get(reverse("agreements:print", args=[agreement.pk])).status_code
        == 404
    )
    before = list(SigningKey.objects.values_list("fingerprint", flat=True).order_by("pk"))
    for user in (keys.province_bureau, keys.pharmacist, keys.manufacturer):
        c = client_for(user)
        assert c.get(reverse("compliance:certificates")).status_code == 404
        assert (
            c.post(
                reverse("compliance:certificates"), {"organisation": keys.hospital_org.pk, "action": "demo"}
            ).status_code
            == 404
        )
        with pytest.raises(NotFound):
            signing.issue_demo_certificate(actor=user, organisation=keys.hospital_org)
    assert list(SigningKey.objects.values_list("fingerprint", flat=True).order_by("pk")) == before
    assert client_for(keys.admin).get(reverse("compliance:certificates")).status_code == 200


def test_decrypted_keys_loads_each_key_once_within_the_block_only(keys, agreement, monkeypatch):
    loads = []
    real = signing._decrypt_stored
    monkeypatch.setattr(signing, "_decrypt_stored", lambda row: loads.append(row.pk) or real(row))
    hospital_key = SigningKey.objects.get(organisation=keys.hospital_org)
    maker_key = SigningKey.objects.get(organisation=keys.maker_org)
    at = timezone.now()

    class Signer:
        def __init__(self, organisation):
            self.organisation, self.is_authenticated = organisation, False

    with signing.decrypted_keys():
        for _ in range(3):  # the demo signs many agreements per organisation
            signing.sign(agreement, party="institution", actor=Signer(keys.hospital_org), at=at)
        signing.sign(agreement, party="supplier", actor=Signer(keys.maker_org), at=at)
    assert loads == [hospital_key.pk, maker_key.pk]
    # Outside the block nothing is kept: every signature decrypts again.
    signing.sign(agreement, party="institution", actor=Signer(keys.hospital_org), at=at)
    signing.sign(agreement, party="institution", actor=Signer(keys.hospital_org), at=at)
    assert loads == [hospital_key.pk, maker_key.pk, hospital_key.pk, hospital_key.pk]
    # A re-issued certificate is a new ciphertext: loaded afresh even inside a block.
    with signing.decrypted_keys():
        signing.sign(agreement, party="institution", actor=Signer(keys.hospital_org), at=at)
        signing.issue_demo_certificate(actor=keys.admin, organisation=keys.hospital_org)
        signing.sign(agreement, party="institution", actor=Signer(keys.hospital_org), at=at)
    new_key = SigningKey.objects.get(organisation=keys.hospital_org)
    assert loads[4:] == [hospital_key.pk, SigningKey.objects.get(is_ca=True).pk, new_key.pk]
    agreement.refresh_from_db()
    assert [(v.signature.party, v.ok) for v in signing.verifications(agreement)] == [
        ("institution", True),
        ("supplier", True),
    ]


def test_sign_unsigned_writes_verifiable_signatures_in_one_go(keys, agreement, trade):
    class Signer:
        def __init__(self, organisation):
            self.organisation, self.is_authenticated = organisation, False

    at = timezone.now()
    other = PurchaseAgreement.objects.create(
        agreement_year=AgreementYear.objects.get(batch=trade.batch, number=1), institution=trade.hospital, item=trade.item, supplier=trade.maker,
        agreed_qty=5, winning_price=Decimal("0.1200"), budget=Decimal("0.60"),
    )  # fmt: skip
    SigningKey.objects.filter(organisation=keys.maker_org).delete()  # the supplier has no certificate
    written = signing.sign_unsigned(
        [
            (agreement, "institution", Signer(keys.hospital_org), at),
            (agreement, "supplier", Signer(keys.maker_org), at),
            (other, "institution", Signer(keys.hospital_org), at),
        ]
    )
    assert written == 2
    stored = list(AgreementSignature.objects.order_by("pk").values_list("agreement_id", "party"))
    assert stored == [(agreement.pk, "institution"), (other.pk, "institution")]
    for a in (agreement, other):
        assert [(v.signature.party, v.ok) for v in signing.verifications(a)] == [("institution", True)]
    # An expired certificate is refused as sign() refuses it, and nothing is written.
    SigningKey.objects.filter(organisation=keys.hospital_org).update(not_after=at - dt.timedelta(days=1))
    with pytest.raises(DomainError, match="数字证书已于"):
        signing.sign_unsigned([(other, "supplier", Signer(keys.hospital_org), at)])
    assert AgreementSignature.objects.count() == 2
