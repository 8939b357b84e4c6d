"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from market.accounts.models import Invitation, JoinRequest, Membership, Organization, User
from market.core.models import AuditEvent, Notification, OutboxEmail
from market.refdata.models import (
    HazardProperty,
    Operation,
    Region,
    WasteChapter,
    WasteCode,
    WasteSubchapter,
)

__all__ = [
    "AuditEvent", "HazardProperty", "Invitation", "JoinRequest", "Membership", "Notification",
    "Operation", "Organization", "OutboxEmail", "Region", "User", "WasteChapter", "WasteCode",
    "WasteSubchapter",
]
