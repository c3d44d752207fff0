"""Signed agreements (SPEC §14, Shandong 三(一)): each party's signature is an RSA-PSS (SHA-256) digital
signature over the agreement's canonical content, made with the signing organisation's private key.

Keys: an admin registers an organisation's X.509 certificate with its private key (PEM), or has the
platform's demo CA issue one. The private key is stored only encrypted (Fernet, whose key is derived from
the server secret SECRET_KEY with HKDF-SHA256); it is decrypted in memory when the organisation signs and is
never shown or returned. RSA because the `cryptography` package has no SM2 (SM2/SM3 need a GM/T library
such as gmssl); the canonical content and the signature record do not depend on the algorithm.

Verification recomputes the canonical content from the agreement as it is now: a changed agreed qty, price,
party or year makes the signature fail, as does a certificate that does not chain to the demo CA when it
claims to, or that had expired when it signed."""

import base64
import datetime as dt
import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Organisation
from jicai.compliance.models import AgreementSignature, SigningKey
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound

NOT_FOUND = "未找到该记录，或您无权查看"
KEY_BITS = 2048
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
CA_NAME = "集采全流程管理平台演示 CA"


# ---- the server secret protects private keys ---------------------------------------------------------


def _fernet() -> Fernet:
    secret = settings.SECRET_KEY
    if not secret:
        raise DomainError("服务器未配置 SECRET_KEY，不能使用电子签章")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"jicai-signing-keys", info=b"private-key").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(private_key: rsa.RSAPrivateKey) -> str:
    der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _fernet().encrypt(der).decode()


# Decrypted keys by ciphertext, only inside `decrypted_keys()` (None outside: every signature decrypts).
_key_cache: ContextVar[dict[str, rsa.RSAPrivateKey] | None] = ContextVar("signing_key_cache", default=None)


@contextmanager
def decrypted_keys():
    """Within the block, each stored private key is decrypted and loaded once: loading a 2048-bit key checks
    it (~0.1 s), which dominated the demo's 1,638 signatures at province scale. The keys are dropped when the
    block ends; outside it nothing is kept in memory between signatures."""
    token = _key_cache.set({})
    try:
        yield
    finally:
        _key_cache.reset(token)


def _decrypt(row: SigningKey) -> rsa.RSAPrivateKey:
    cache = _key_cache.get()
    if cache is not None:
        key = cache.get(row.encrypted_private_key)
        if key is None:
            key = cache[row.encrypted_private_key] = _decrypt_stored(row)
        return key
    return _decrypt_stored(row)


def _decrypt_stored(row: SigningKey) -> rsa.RSAPrivateKey:
    try:
        der = _fernet().decrypt(row.encrypted_private_key.encode())
    except InvalidToken:
        raise DomainError("私钥无法用当前服务器密钥解密（SECRET_KEY 已更换？），请重新登记证书") from None
    return serialization.load_der_private_key(der, password=None)


# ---- certificates ------------------------------------------------------------------------------------


def _fit(text: str) -> str:
    """X.509 limits a common name to 64 (UTF-8 bytes as `cryptography` counts them): cut at a character."""
    while len(text.encode()) > 64:
        text = text[:-1]
    return text


def _name(common: str, org: str = "") -> x509.Name:
    common = _fit(common)
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if org:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(parts)


def _store(
    organisation: Organisation | None, cert: x509.Certificate, key: rsa.RSAPrivateKey, actor, *, is_ca=False
) -> SigningKey:
    values = {
        "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "encrypted_private_key": _encrypt(key),
        "subject": cert.subject.rfc4514_string()[:255],
        "issuer": cert.issuer.rfc4514_string()[:255],
        "serial": format(cert.serial_number, "x")[:64],
        "fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
        "not_after": cert.not_valid_after_utc,
        "registered_by": audit._user(actor),
    }
    if is_ca:
        row, _ = SigningKey.objects.update_or_create(is_ca=True, defaults=values)
    else:
        row, _ = SigningKey.objects.update_or_create(organisation=organisation, defaults=values)
    return row


def demo_ca(actor=None) -> tuple[SigningKey, x509.Certificate, rsa.RSAPrivateKey]:
    """The platform's demo CA (created on first use, self-signed, 10 years)."""
    row = SigningKey.objects.filter(is_ca=True).first()
    if row is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        now = timezone.now()
        name = _name(CA_NAME, "集采全流程管理平台")
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        row = _store(None, cert, key, actor, is_ca=True)
        return row, cert, key
    return row, x509.load_pem_x509_certificate(row.certificate_pem.encode()), _decrypt(row)


def _require_admin(actor) -> None:
    if not access.is_admin(actor):
        raise NotFound(NOT_FOUND)


@transaction.atomic
def issue_demo_certificate(
    *, actor, organisation: Organisation, days: int = 1095, not_before: dt.datetime | None = None
) -> SigningKey:
    """A new key pair for the organisation and a certificate from the demo CA (admin only), valid from
    `not_before` (default: yesterday) for `days` days."""
    _require_admin(actor)
    _, ca_cert, ca_key = demo_ca(actor)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    now = timezone.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            _name(
                (str(organisation).strip() or f"organisation {organisation.pk}")[:64],
                organisation_code(organisation),
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    row = _store(organisation, cert, key, actor)
    audit.record(
        actor=actor,
        action="compliance.certificate_issued",
        obj=row,
        summary=f"演示 CA 为 {organisation} 签发数字证书（{row.fingerprint[:16]}…）",
        changes={"organisation": organisation.pk, "fingerprint": row.fingerprint, "issuer": row.issuer},
    )
    return row


@transaction.atomic
def register_certificate(
    *, actor, organisation: Organisation, certificate_pem: str, private_key_pem: str, password: str = ""
) -> SigningKey:
    """An admin registers a certificate issued elsewhere (a CA's 数字证书) with its RSA private key."""
    _require_admin(actor)
    try:
        cert = x509.load_pem_x509_certificate(certificate_pem.strip().encode())
    except ValueError:
        raise DomainError("证书不是有效的 PEM 格式 X.509 证书") from None
    try:
        key = serialization.load_pem_private_key(
            private_key_pem.strip().encode(), password=password.encode() if password else None
        )
    except (ValueError, TypeError):
        raise DomainError("私钥不是有效的 PEM 格式，或口令不正确") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < KEY_BITS:
        raise DomainError(f"仅支持不少于 {KEY_BITS} 位的 RSA 私钥")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise DomainError("私钥与证书中的公钥不匹配")
    if cert.not_valid_after_utc <= timezone.now():
        raise DomainError(f"证书已于 {cert.not_valid_after_utc:%Y-%m-%d} 过期")
    row = _store(organisation, cert, key, actor)
    audit.record(
        actor=actor,
        action="compliance.certificate_registered",
        obj=row,
        summary=f"登记 {organisation} 的数字证书（{row.fingerprint[:16]}…）",
        changes={"organisation": organisation.pk, "fingerprint": row.fingerprint, "subject": row.subject},
    )
    return row


def organisation_code(organisation: Organisation) -> str:
    for part in (organisation.institution, organisation.company, organisation.region):
        if part is not None:
            return part.code
    return ""


# ---- canonical content, signing, verification ----------------------------------------------------------


def canonical_content(agreement) -> str:
    """What a signature covers: the agreement's parties, item, year, qty, price and budget as sorted,
    compact JSON (the same bytes for the same agreement on any database)."""
    year = agreement.agreement_year
    content = {
        "agreement": agreement.pk,
        "batch": year.batch.code,
        "agreement_year": year.number,
        "period": [year.start.isoformat(), year.end.isoformat()],
        "institution": agreement.institution.code,
        "item": agreement.item.item_code,
        "generic_name": agreement.item.generic_name,
        "supplier": agreement.supplier.code,
        "distributor": agreement.distributor.code if agreement.distributor_id else None,
        "agreed_qty": agreement.agreed_qty,
        "winning_price": f"{agreement.winning_price:.4f}",
        "budget": f"{agreement.budget:.2f}",
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _signing_key(organisation: Organisation, at: dt.datetime) -> SigningKey | None:
    """The organisation's registered key, None without one; refused when its certificate expired by `at`."""
    row = SigningKey.objects.filter(organisation=organisation).first()
    if row is not None and row.not_after <= at:
        raise DomainError(
            f"{organisation} 的数字证书已于 {row.not_after:%Y-%m-%d} 过期，请联系管理员更新后再签订"
        )
    return row


def _signature_values(agreement, row: SigningKey, actor, at: dt.datetime) -> dict:
    content = canonical_content(agreement)
    signature = _decrypt(row).sign(content.encode(), PSS, hashes.SHA256())
    return {
        "organisation": actor.organisation,
        "signer": audit._user(actor),
        "signed_at": at,
        "certificate_pem": row.certificate_pem,
        "content": content,
        "signature": base64.b64encode(signature).decode(),
    }


def sign(agreement, *, party: str, actor, at: dt.datetime) -> AgreementSignature | None:
    """The acting organisation signs (called inside agreements.actions.sign_agreements). Without a registered
    certificate the organisation signs without a digital signature (None); the page shows it as 无电子签章."""
    row = _signing_key(actor.organisation, at)
    if row is None:
        return None
    signed, _ = AgreementSignature.objects.update_or_create(
        agreement=agreement, party=party, defaults=_signature_values(agreement, row, actor, at)
    )
    return signed


def sign_unsigned(signings) -> int:
    """Bulk `sign` for agreements the party has not signed yet (the demo signs a thousand at once):
    `signings` is (agreement, party, actor, at) tuples; each organisation's key is looked up once, and the
    signatures are inserted in one statement in the given order. Refused like `sign` (expired certificate);
    an organisation without a key signs nothing. Returns the number of signatures written."""
    keys: dict[int, SigningKey | None] = {}
    rows = []
    for agreement, party, actor, at in signings:
        organisation = actor.organisation
        if organisation.pk not in keys:
            keys[organisation.pk] = SigningKey.objects.filter(organisation=organisation).first()
        row = keys[organisation.pk]
        if row is None:
            continue
        if row.not_after <= at:
            _signing_key(organisation, at)  # raises the same refusal as sign()
        values = _signature_values(agreement, row, actor, at)
        rows.append(AgreementSignature(agreement=agreement, party=party, **values))
    AgreementSignature.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@dataclass(frozen=True)
class Verification:
    signature: AgreementSignature
    ok: bool
    reason: str
    subject: str
    issuer: str
    fingerprint: str

    @property
    def party_label(self) -> str:
        return self.signature.get_party_display()


def verify(signature: AgreementSignature, agreement=None) -> Verification:
    agreement = agreement or signature.agreement
    cert = x509.load_pem_x509_certificate(signature.certificate_pem.encode())
    info = dict(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
    )

    def result(ok: bool, reason: str) -> Verification:
        return Verification(signature, ok, reason, **info)

    current = canonical_content(agreement)
    try:
        cert.public_key().verify(
            base64.b64decode(signature.signature), current.encode(), PSS, hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        if current != signature.content:
            return result(False, "验证失败：协议内容在签署后被修改")
        return result(False, "验证失败：签名与证书不符")
    if not (cert.not_valid_before_utc <= signature.signed_at <= cert.not_valid_after_utc):
        return result(False, "验证失败：签署时证书不在有效期内")
    ca = SigningKey.objects.filter(is_ca=True).first()
    if ca is not None and cert.issuer == x509.load_pem_x509_certificate(ca.certificate_pem.encode()).subject:
        ca_cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
        try:
            ca_cert.public_key().verify(
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
            )
        except InvalidSignature:
            return result(False, "验证失败：证书不是平台演示 CA 签发的")
        return result(True, "验证通过（证书由平台演示 CA 签发）")
    return result(True, "验证通过（证书由管理员登记）")


def verifications(agreement) -> list[Verification]:
    # Signatures made in one bulk write share signed_at: the party (institution before supplier) breaks the tie.
    signatures = agreement.signatures.select_related("organisation", "signer").order_by(
        "signed_at", "party", "id"
    )
    return [verify(s, agreement) for s in signatures]


def visible_keys(actor):
    _require_admin(actor)
    return SigningKey.objects.filter(is_ca=False).select_related("organisation").order_by("organisation_id")
