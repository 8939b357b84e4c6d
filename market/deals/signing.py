"""Signing the agreement: the signer interface, the built-in signers and the workflow.

A party's owner or manager signs for its organisation by confirming the hash of the current
version after re-authenticating. The ``Signer`` protocol turns (user, organisation, digest,
credentials) into ``SignatureData`` and verifies a stored signature; signers are registered by
method, so a qualified e-signature (NCALayer: a CMS over the same SHA-256) plugs in with
``register_signer`` without touching the workflow. Built in:

* ``password`` — the account password; its evidence is an HMAC seal (key derived from
  SECRET_KEY) over the method, user, organisation, digest and time;
* ``totp`` — the current two-factor code, for users who enabled two-factor login (they must
  use it: the password alone is then not enough).

Both parties' signatures over the current version make the agreement ``signed``. A double
click returns the signature already made. Operations flush, never commit.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.accounts import twofactor
from market.accounts.models import Organization, OrgRole, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.notify import notify
from market.core.timeutil import utcnow
from market.deals import agreements, lifecycle
from market.deals.models import Deal
from market.deals.models_agreement import Agreement, AgreementSignature, AgreementVersion
from market.extensions import db
from market.lots.wanted import managers


class SignRefused(DomainError):
    """The credentials did not re-authenticate the signer."""


@dataclass(frozen=True)
class SignatureData:
    method: str
    sha256: str
    signed_at: datetime
    evidence: str


@runtime_checkable
class Signer(Protocol):
    method: str

    def available_for(self, user: User) -> bool: ...

    def sign(self, user: User, org: Organization, digest: str,
             credentials: Mapping[str, str]) -> SignatureData: ...

    def verify(self, signature: AgreementSignature) -> bool: ...


SIGNERS: dict[str, Signer] = {}


def register_signer(signer: Signer) -> Signer:
    SIGNERS[signer.method] = signer
    return signer


def signer_for(user: User, method: str | None = None) -> Signer:
    """The signer ``user`` signs with: the requested method, else the first built-in one
    available (TOTP for users with two-factor login, else the password)."""
    if method is not None:
        signer = SIGNERS.get(method)
        if signer is None or not signer.available_for(user):
            raise DomainError(_l("Этот способ подписи вам недоступен."))
        return signer
    for name in ("totp", "password"):
        if name in SIGNERS and SIGNERS[name].available_for(user):
            return SIGNERS[name]
    raise DomainError(_l("Нет доступного способа подписи."))


def _seal(method: str, user_id: int, org_id: int, digest: str, at: datetime) -> str:
    key = hashlib.sha256(b"qaldyq-signature:" + current_app.config["SECRET_KEY"].encode()).digest()
    message = f"{method}|{user_id}|{org_id}|{digest}|{_moment(at)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _moment(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _SealedSigner:
    method = ""

    def _sealed(self, user, org, digest) -> SignatureData:
        at = utcnow()
        return SignatureData(self.method, digest, at, _seal(self.method, user.id, org.id, digest, at))

    def verify(self, signature: AgreementSignature) -> bool:
        expected = _seal(signature.method, signature.user_id, signature.organization_id,
                         signature.sha256, signature.signed_at)
        return hmac.compare_digest(expected, signature.evidence or "")


class PasswordSigner(_SealedSigner):
    method = "password"

    def available_for(self, user: User) -> bool:
        return not twofactor.is_enabled(user)

    def sign(self, user, org, digest, credentials) -> SignatureData:
        from market.accounts.operations import check_password

        password = credentials.get("password")
        if not isinstance(password, str) or not password or not check_password(user, password):
            raise SignRefused(_l("Пароль указан неверно: договор не подписан."))
        return self._sealed(user, org, digest)


class TotpSigner(_SealedSigner):
    method = "totp"

    def available_for(self, user: User) -> bool:
        return twofactor.is_enabled(user)

    def sign(self, user, org, digest, credentials) -> SignatureData:
        try:
            twofactor.check_code(user, credentials.get("code"), recovery=False)
        except twofactor.CodeRefused as exc:
            raise SignRefused(_l("Код подтверждения неверный или уже использован: договор не "
                                 "подписан.")) from exc
        return self._sealed(user, org, digest)


register_signer(PasswordSigner())
register_signer(TotpSigner())


# The workflow -----------------------------------------------------------------------------------
def party_of(deal: Deal, user: User) -> tuple[str, Organization] | None:
    """("seller" | "buyer", organisation) the user may sign for (owner or manager), or None."""
    for party, org in (("seller", deal.seller), ("buyer", deal.buyer)):
        if user.is_authenticated and user.has_org_role(org, OrgRole.manager):
            return party, org
    return None


def signature_of(version: AgreementVersion | None, org_id: int) -> AgreementSignature | None:
    if version is None:
        return None
    return db.session.scalar(select(AgreementSignature).where(
        AgreementSignature.version_id == version.id, AgreementSignature.organization_id == org_id))


def valid_signatures(agreement: Agreement | None) -> dict[str, AgreementSignature]:
    """party -> its signature over the current version's hash that its signer verifies."""
    if agreement is None or agreement.current is None:
        return {}
    version = agreement.current
    out = {}
    for sig in version.signatures:
        signer = SIGNERS.get(sig.method)
        if sig.sha256 == version.sha256 and signer is not None and signer.verify(sig):
            out[sig.party] = sig
    return out


def is_fully_signed(deal: Deal) -> bool:
    """Both parties signed the current version of the deal's agreement (and it verifies)."""
    agreement = agreements.agreement_of(deal)
    return (agreement is not None and agreement.state == "signed"
            and set(valid_signatures(agreement)) == {"seller", "buyer"})


def sign(deal: Deal, *, actor: User, digest, credentials: Mapping[str, str],
         method: str | None = None, now: datetime | None = None) -> tuple[AgreementSignature, bool]:
    """Sign the current version for the actor's party; (signature, True when made now).

    :raise PermissionDenied: the actor is not an owner or manager of a party.
    :raise SignRefused: wrong password or code (the caller records the refusal after rollback).
    :raise DomainError: the deal does not wait for signatures, the hash is not the current one,
        the buyer's plan is missing, the organisation is not verified.
    """
    now = now or utcnow()
    mine = party_of(deal, actor)
    if mine is None:
        raise PermissionDenied(_l("Договор подписывают владелец или менеджер одной из сторон."))
    party, org = mine
    lifecycle.lock_deal(deal)
    agreement = agreements.agreement_of(deal)
    if agreement is not None and agreement.state == "signed":
        existing = signature_of(agreement.current, org.id)
        if existing is not None and existing.sha256 == digest:
            return existing, False
    agreements.require_open(deal, now)
    if not org.can_act_on_market():
        raise DomainError(_l("Подписывать могут только подтверждённые организации: «%(org)s» ещё "
                             "не подтверждена."), org=org.name)
    agreement = agreements.sync_agreement(deal, actor=actor, now=now, locked=True)
    version = agreement.current
    if not isinstance(digest, str) or digest.strip().lower() != version.sha256:
        raise DomainError(_l("Договор изменился или хэш указан неверно: проверьте текущую редакцию "
                             "и подпишите её."))
    existing = signature_of(version, org.id)
    if existing is not None:
        return existing, False  # a double click
    if not agreement.plan:
        raise DomainError(_l("Покупатель ещё не указал план переработки и операцию R/D: договор "
                             "пока нельзя подписать."))
    data = signer_for(actor, method).sign(actor, org, version.sha256, credentials)
    signature = AgreementSignature(
        agreement_id=agreement.id, version_id=version.id, organization_id=org.id,
        user_id=actor.id, party=party, sha256=data.sha256, method=data.method,
        signed_at=data.signed_at, evidence=data.evidence)
    db.session.add(signature)
    db.session.flush()
    audit.record("agreement.signed", agreement, actor=actor, organization=org, deal_id=deal.id,
                 version=version.number, sha256=version.sha256, method=data.method, party=party)
    other = deal.buyer if party == "seller" else deal.seller
    db.session.refresh(version, ["signatures"])
    if set(valid_signatures(agreement)) == {"seller", "buyer"}:
        agreement.state, agreement.signed_at, agreement.updated_at = "signed", now, now
        audit.record("agreement.fully_signed", agreement, actor=actor, organization=deal.seller,
                     deal_id=deal.id, version=version.number, sha256=version.sha256)
        _tell(deal, deal.seller_id, "agreement.signed", _l(
            "Договор по сделке №%(id)s подписан обеими сторонами.", id=deal.id))
        _tell(deal, deal.buyer_id, "agreement.signed", _l(
            "Договор по сделке №%(id)s подписан обеими сторонами.", id=deal.id))
    else:
        _tell(deal, other.id, "agreement.signed_by_party", _l(
            "%(org)s подписала договор по сделке №%(id)s. Проверьте хэш и подпишите со своей "
            "стороны.", org=org.name, id=deal.id))
    db.session.flush()
    return signature, True


def record_refusal(deal: Deal, *, actor: User, reason: str) -> None:
    """Audit a refused signing attempt (after the caller rolled the attempt back)."""
    mine = party_of(deal, actor)
    audit.record("agreement.sign_refused", agreements.agreement_of(deal) or deal, actor=actor,
                 organization=mine[1] if mine else None, deal_id=deal.id, reason=reason)


def _url(deal: Deal) -> str:
    return f"/deals/{deal.id}/agreement"


def _tell(deal: Deal, org_id: int, kind: str, text) -> None:
    for user in managers(org_id):
        notify(user, kind, str(text), _url(deal))


def tell_signatures_void(deal: Deal, version: AgreementVersion) -> None:
    """The buyer changed the plan after a signature: both parties hear the hash changed."""
    text = _l("Договор по сделке №%(id)s изменён (редакция %(n)s): прежние подписи недействительны, "
              "подпишите новую редакцию.", id=deal.id, n=version.number)
    _tell(deal, deal.seller_id, "agreement.changed", text)
    _tell(deal, deal.buyer_id, "agreement.changed", text)
