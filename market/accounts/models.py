"""Users, organisations, memberships, invitations and join requests."""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import JSON, Column, Date, ForeignKey, Index, String, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.timeutil import utcnow
from market.core.types import UTCDateTime
from market.extensions import db


class OrgRole(enum.StrEnum):
    owner = "owner"
    manager = "manager"
    member = "member"
    viewer = "viewer"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "member": 1, "manager": 2, "owner": 3}[self.value]

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self.value])


ROLE_LABELS = {
    "owner": _l("Владелец"),
    "manager": _l("Менеджер"),
    "member": _l("Сотрудник"),
    "viewer": _l("Наблюдатель"),
}

ORG_KINDS = {
    "holder": _l("Держатель отходов / ТМО"),
    "processor": _l("Переработчик"),
    "carrier": _l("Перевозчик"),
    "investor": _l("Инвестор"),
    "state_body": _l("Государственный орган"),
}

ORG_STATE_LABELS = {
    "pending": _l("На проверке"),
    "verified": _l("Подтверждена"),
    "rejected": _l("Отклонена"),
    "suspended": _l("Приостановлена"),
}

official_region = Table(
    "official_region",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("region_kato", ForeignKey("region.kato"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_official: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Changing it logs out every session and remember-cookie of the user.
    session_nonce: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(8))
    current_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", use_alter=True, ondelete="SET NULL")
    )

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    official_regions = relationship("Region", secondary=official_region, lazy="selectin")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def membership_in(self, org: Organization | None) -> Membership | None:
        if org is None:
            return None
        return next((m for m in self.memberships if m.organization_id == org.id), None)

    def role_in(self, org: Organization | None) -> OrgRole | None:
        m = self.membership_in(org)
        return OrgRole(m.role) if m else None

    def has_org_role(self, org: Organization | None, minimum: OrgRole) -> bool:
        role = self.role_in(org)
        return role is not None and role.rank >= minimum.rank

    @property
    def current_org(self) -> Organization | None:
        m = next((m for m in self.memberships if m.organization_id == self.current_org_id), None)
        if m is None and self.memberships:
            m = self.memberships[0]
        return m.organization if m else None

    def official_covers(self, region_kato: str | None) -> bool:
        """An official with no regions covers the whole country."""
        if not self.is_official:
            return False
        regions = {r.kato for r in self.official_regions}
        return not regions or region_kato in regions

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Organization(db.Model):
    __tablename__ = "organization"
    __table_args__ = (Index("ix_organization_state_region", "state", "region_kato"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    region_kato: Mapped[str] = mapped_column(ForeignKey("region.kato"))
    address: Mapped[str] = mapped_column(String(500))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    is_holder: Mapped[bool] = mapped_column(default=False)
    is_processor: Mapped[bool] = mapped_column(default=False)
    is_carrier: Mapped[bool] = mapped_column(default=False)
    is_investor: Mapped[bool] = mapped_column(default=False)
    is_state_body: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    state_reason: Mapped[str | None] = mapped_column(Text)
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    region = relationship("Region", lazy="joined")
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )

    @property
    def kinds(self) -> list[str]:
        return [k for k in ORG_KINDS if getattr(self, f"is_{k}")]

    @kinds.setter
    def kinds(self, values) -> None:
        for k in ORG_KINDS:
            setattr(self, f"is_{k}", k in set(values))

    @property
    def kind_labels(self) -> list[str]:
        return [str(ORG_KINDS[k]) for k in self.kinds]

    @property
    def state_label(self) -> str:
        return str(ORG_STATE_LABELS.get(self.state, self.state))

    @property
    def is_verified(self) -> bool:
        return self.state == "verified"

    @property
    def owners(self) -> list[Membership]:
        return [m for m in self.memberships if m.role == OrgRole.owner]

    # Object-level checks
    def can_view(self, user) -> bool:
        return bool(
            user.is_authenticated
            and (user.is_admin or user.official_covers(self.region_kato) or user.membership_in(self))
        )

    def can_manage_members(self, user) -> bool:
        return user.is_authenticated and user.has_org_role(self, OrgRole.owner)

    def can_edit(self, user) -> bool:
        return user.is_authenticated and user.has_org_role(self, OrgRole.manager)

    def can_view_audit(self, user) -> bool:
        return user.is_authenticated and (
            user.is_admin
            or user.official_covers(self.region_kato)
            or user.has_org_role(self, OrgRole.owner)
        )

    def can_review(self, user) -> bool:
        """Officials of the region decide on verification, never for their own organisation."""
        return (
            user.is_authenticated
            and user.official_covers(self.region_kato)
            and user.membership_in(self) is None
        )

    def can_act_on_market(self) -> bool:
        """Publishing lots, bidding and signing need a verified organisation."""
        return self.is_verified


class Membership(db.Model):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16), default=OrgRole.member.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(back_populates="memberships")

    @property
    def role_label(self) -> str:
        return OrgRole(self.role).label


class Invitation(db.Model):
    """An owner's invitation by e-mail to join with a role; accepted through a signed link."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    organization = relationship("Organization")
    invited_by = relationship("User", foreign_keys=[invited_by_id])


class JoinRequest(db.Model):
    """A user asks to join an organisation whose BIN is already registered."""

    __tablename__ = "join_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization = relationship("Organization")
    user = relationship("User", foreign_keys=[user_id])


class Licence(db.Model):
    """A processing licence of an organisation: which waste (codes or chapters) and which
    R/D operations it covers, and for how long.

    ``scopes`` holds classifier prefixes written as digits: "10" (a chapter), "1002" (a
    sub-chapter) or "100201" (one code). ``operations`` holds Basel codes ("R4", "D10").
    """

    __tablename__ = "licence"
    __table_args__ = (
        # One current (not revoked) licence per number in an organisation.
        Index("uq_licence_org_number_current", "organization_id", "number", unique=True,
              postgresql_where=text("revoked_at IS NULL"), sqlite_where=text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # None: without an end date
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    operations: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    organization = relationship("Organization")

    def valid_on(self, day: date) -> bool:
        return (self.revoked_at is None and self.valid_from <= day
                and (self.valid_to is None or day <= self.valid_to))

    def covers(self, code6: str | None, operation: str | None = None, *,
               on: date | None = None) -> bool:
        """True when the licence is valid on ``on`` (default today, Almaty) and covers the
        waste code (and the R/D operation, when one is given)."""
        from market.core.timeutil import today_almaty

        if not code6 or not self.valid_on(on or today_almaty()):
            return False
        if operation and operation not in (self.operations or []):
            return False
        return any(code6.startswith(p) for p in (self.scopes or []))
