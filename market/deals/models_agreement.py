"""The agreement of a deal, its versions (each a canonical JSON document and its SHA-256) and the
parties' signatures over a version's hash.

One agreement per deal. Every change of the document (the buyer states or edits its processing
plan, a party's details change before signing) makes a new version with a new hash; only
signatures over the current version's hash count. When both parties signed the current
version the agreement is ``signed`` and frozen.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db

AGREEMENT_STATES = {
    "signing": _l("Ждёт подписей сторон"),
    "signed": _l("Подписан обеими сторонами"),
}
PARTIES = {"seller": _l("Продавец (держатель)"), "buyer": _l("Покупатель")}
SIGNATURE_METHODS = {
    "password": _l("Пароль учётной записи"),
    "totp": _l("Код двухфакторной аутентификации (TOTP)"),
    "ncalayer": _l("Квалифицированная ЭЦП (NCALayer)"),
}


class Agreement(db.Model):
    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="signing")
    # The buyer's processing plan and R/D operation as the agreement states them.
    plan: Mapped[str | None] = mapped_column(Text)
    operation_code: Mapped[str | None] = mapped_column(ForeignKey("operation.code"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    deal = relationship("Deal")
    operation = relationship("Operation")
    versions: Mapped[list[AgreementVersion]] = relationship(
        back_populates="agreement", order_by="AgreementVersion.number")

    @property
    def current(self) -> AgreementVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def state_label(self) -> str:
        return str(AGREEMENT_STATES.get(self.state, self.state))

    def __repr__(self) -> str:
        return f"<Agreement {self.id} deal={self.deal_id} {self.state}>"


class AgreementVersion(db.Model):
    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    number: Mapped[int]
    # The canonical JSON text (UTF-8 when hashed) and its SHA-256 in hex.
    document: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(24), default="created")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    agreement: Mapped[Agreement] = relationship(back_populates="versions")
    created_by = relationship("User")
    signatures: Mapped[list[AgreementSignature]] = relationship(
        back_populates="version", order_by="AgreementSignature.id")


class AgreementSignature(db.Model):
    """A party's signature: who, for which organisation, when, over which hash, and how."""

    __tablename__ = "agreement_signature"
    # One signature per organisation and version: a double click signs once.
    __table_args__ = (UniqueConstraint("version_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("agreement_version.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    party: Mapped[str] = mapped_column(String(8))  # seller | buyer
    sha256: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the signer produced: a seal (HMAC) for the built-in signer, a CMS for a qualified one.
    evidence: Mapped[str] = mapped_column(Text)

    version: Mapped[AgreementVersion] = relationship(back_populates="signatures")
    organization = relationship("Organization")
    user = relationship("User")

    @property
    def method_label(self) -> str:
        return str(SIGNATURE_METHODS.get(self.method, self.method))

    @property
    def party_label(self) -> str:
        return str(PARTIES.get(self.party, self.party))
