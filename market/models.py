"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from market.accounts.models import (
    Invitation,
    JoinRequest,
    Licence,
    Membership,
    Organization,
    User,
)
from market.accounts.twofactor import TwoFactor
from market.api.models import ApiToken, IdempotencyRecord
from market.auctions.models import Auction, Bid, BidEvent
from market.cadastre.models import Assay, Formation
from market.core.models import AuditEvent, Notification, OutboxEmail
from market.deals.models import Deal
from market.deals.models_agreement import Agreement, AgreementSignature, AgreementVersion
from market.deals.models_complaint import Complaint, ComplaintFile
from market.deals.models_review import Review, ReviewStep
from market.ledger.models import LedgerEntry, TreeHead
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
    "Agreement",
    "AgreementSignature",
    "AgreementVersion",
    "ApiToken",
    "Assay",
    "Auction",
    "AuditEvent",
    "Bid",
    "BidEvent",
    "Complaint",
    "ComplaintFile",
    "Deal",
    "Formation",
    "HazardProperty",
    "IdempotencyRecord",
    "ImportJob",
    "Invitation",
    "JoinRequest",
    "LedgerEntry",
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
    "Review",
    "ReviewStep",
    "SavedSearch",
    "SavedSearchHit",
    "Site",
    "StockLayer",
    "TreeHead",
    "TwoFactor",
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
