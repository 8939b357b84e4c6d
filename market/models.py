"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from market.accounts.models import Invitation, JoinRequest, Membership, Organization, User
from market.api.models import ApiToken, IdempotencyRecord
from market.cadastre.models import Assay, Formation
from market.core.models import AuditEvent, Notification, OutboxEmail
from market.lots.models import Lot, LotEvent
from market.refdata.models import (
    HazardProperty,
    Operation,
    Region,
    WasteChapter,
    WasteCode,
    WasteSubchapter,
)
from market.registry.models import (
    ImportJob,
    Passport,
    Site,
    StockLayer,
    WasteRecord,
    WasteStream,
)

__all__ = [
    "ApiToken",
    "Assay",
    "AuditEvent",
    "Formation",
    "HazardProperty",
    "IdempotencyRecord",
    "ImportJob",
    "Invitation",
    "JoinRequest",
    "Lot",
    "LotEvent",
    "Membership",
    "Notification",
    "Operation",
    "Organization",
    "OutboxEmail",
    "Passport",
    "Region",
    "Site",
    "StockLayer",
    "User",
    "WasteChapter",
    "WasteCode",
    "WasteRecord",
    "WasteStream",
    "WasteSubchapter",
]
