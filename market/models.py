"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from market.accounts.models import (
    Invitation,
    JoinRequest,
    Licence,
    Membership,
    Organization,
    User,
)
from market.api.models import ApiToken, IdempotencyRecord
from market.auctions.models import Auction, Bid, BidEvent
from market.cadastre.models import Assay, Formation
from market.core.models import AuditEvent, Notification, OutboxEmail
from market.deals.models import Deal
from market.lots.models import Lot, LotEvent, LotFile, OfferReport
from market.lots.models_interest import (
    SavedSearch,
    SavedSearchHit,
    WantedMatch,
    WantedPost,
    Watch,
)
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
    "Auction",
    "AuditEvent",
    "Bid",
    "BidEvent",
    "Deal",
    "Formation",
    "HazardProperty",
    "IdempotencyRecord",
    "ImportJob",
    "Invitation",
    "JoinRequest",
    "Licence",
    "Lot",
    "LotEvent",
    "LotFile",
    "Membership",
    "Notification",
    "OfferReport",
    "Operation",
    "Organization",
    "OutboxEmail",
    "Passport",
    "Region",
    "SavedSearch",
    "SavedSearchHit",
    "Site",
    "StockLayer",
    "User",
    "WantedMatch",
    "WantedPost",
    "WasteChapter",
    "WasteCode",
    "WasteRecord",
    "WasteStream",
    "WasteSubchapter",
    "Watch",
]
