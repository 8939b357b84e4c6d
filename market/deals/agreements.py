"""The agreement of a deal: its content built from the deal, the canonical JSON form whose SHA-256
is the agreement's hash, and its versions.

Canonical JSON: keys sorted, no whitespace, UTF-8 (not \\u escapes), money as integers in tiyn,
quantities and coordinates as decimal strings, moments as UTC ``YYYY-MM-DDTHH:MM:SSZ``. The
document carries its version number, so two versions never share a hash.

The buyer's processing plan (text + R/D operation) is part of the document. A free-transfer deal
takes it from the transfer request (Bid.plan, Bid.operation_code); for any other deal it comes
from the bid when the bid has one, else the buyer states it on the agreement page before anyone
can sign. Editing it (buyer's owner or manager, until both parties signed) makes a new version,
so every earlier signature stops counting.

A new version is also made when the content built from the deal drifted from the current one
(for example a party's address changed) while the agreement waits for signatures. Once signed
the agreement is frozen. Writes run under the deal's lock (lifecycle.lock_deal: the lot row).
Operations flush, never commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.accounts.models import OrgRole, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.timeutil import to_almaty, utcnow
from market.deals import lifecycle
from market.deals.models import OPEN_STATES, Deal
from market.deals.models_agreement import Agreement, AgreementVersion
from market.extensions import db

SCHEMA = "qaldyq.agreement/1"
THOUSANDTH = Decimal("0.001")


# Canonical form ---------------------------------------------------------------------------------
def canonical(document: dict) -> bytes:
    """The canonical JSON bytes of ``document``."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_of(document: dict) -> str:
    return hashlib.sha256(canonical(document)).hexdigest()


def _moment(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


def _tonnes(value) -> str | None:
    if value is None:
        return None
    return format(Decimal(value).quantize(THOUSANDTH), "f")


def _decimal(value, places: str) -> str | None:
    if value is None:
        return None
    return format(Decimal(str(value)).quantize(Decimal(places)), "f")


# Content ----------------------------------------------------------------------------------------
def _party(org) -> dict:
    region = org.region
    return {"id": org.id, "bin": org.bin, "name": org.name, "address": org.address,
            "region": {"kato": org.region_kato,
                       "name_ru": region.name_ru if region else None,
                       "name_kk": region.name_kk if region else None}}


def _waste(deal: Deal) -> dict | None:
    from market.refdata.models import WasteCode

    code = db.session.get(WasteCode, deal.waste_code) if deal.waste_code else None
    if code is None:
        return None
    return {"code6": code.code6, "code": code.code, "hazardous": bool(code.hazardous),
            "title_ru": code.description_ru or code.description_en,
            "title_kk": code.description_kk or code.description_ru or code.description_en}


def _source(lot) -> dict:
    if lot.stream is not None:
        stream, passport = lot.stream, lot.stream.passport
        site = stream.site
        return {"kind": "stream", "stream_id": stream.id, "name": stream.name,
                "site": {"id": site.id, "name": site.name, "address": site.address,
                         "region_kato": site.region_kato},
                "passport": None if passport is None else {
                    "number": passport_number(passport), "version": passport.version,
                    "compiled_on": _day(passport.compiled_on)}}
    f = lot.formation
    return {"kind": "formation", "formation_id": f.id, "cadastre_number": formation_number(f),
            "name": f.name, "formation_kind": f.kind, "state_owned": bool(f.state_owned),
            "region_kato": f.region_kato, "address": f.address,
            "lat": _decimal(f.lat, "0.000001"), "lon": _decimal(f.lon, "0.000001"),
            "area_ha": _decimal(f.area_ha, "0.01"), "volume_m3": _decimal(f.volume_m3, "0.1"),
            "tonnage": _decimal(f.tonnage, "0.1"), "year_formed": f.year_formed,
            "hazard_class": f.hazard_class, "status": f.status}


def passport_number(passport) -> str:
    """How the agreement names a hazardous-waste passport: its registry id and version."""
    return f"{passport.id}/{passport.version}"


def formation_number(formation) -> str:
    """The formation's number in the cadastre (its registry id)."""
    return f"ТМО-{formation.id}"


def _plan(agreement: Agreement) -> dict | None:
    if not agreement.plan:
        return None
    op = agreement.operation
    return {"text": agreement.plan, "operation_code": agreement.operation_code,
            "operation_ru": (op.description_ru or op.description_en) if op else None,
            "operation_kk": (op.description_kk or op.description_ru or op.description_en)
            if op else None}


def origin(deal: Deal) -> str:
    if deal.offered_after_id is not None:
        return "offer"
    mode = deal.bid.mode if deal.bid is not None else None
    return {"fixed": "purchase", "free": "free"}.get(mode, "award")


def build_body(deal: Deal, agreement: Agreement) -> dict:
    """Everything the agreement says, without its version number."""
    lot = deal.lot
    return {
        "schema": SCHEMA,
        "deal": {"id": deal.id, "origin": origin(deal), "concluded_at": _moment(deal.created_at),
                 "sign_by": _moment(deal.sign_by), "bid_log_sha256": deal.bid_log_sha256,
                 "region_kato": deal.region_kato},
        "seller": _party(deal.seller),
        "buyer": _party(deal.buyer),
        "lot": {"id": lot.id, "title": lot.title, "pricing_mode": lot.pricing_mode},
        "waste": _waste(deal),
        "source": _source(lot),
        "quantity": _tonnes(deal.quantity),
        "unit": "t",
        "price": {"currency": "KZT", "unit_price_tiyn": int(deal.unit_price),
                  "basis": deal.price_basis, "total_tiyn": int(deal.total)},
        "delivery": deal.delivery,
        "supply": {"available_from": _day(lot.available_from), "available_to": _day(lot.available_to),
                   "supply_from": _day(lot.supply_from), "supply_to": _day(lot.supply_to),
                   "monthly_quantity": _tonnes(lot.monthly_quantity)},
        "plan": _plan(agreement),
    }


def document_of(version: AgreementVersion) -> dict:
    return json.loads(version.document)


# Versions ---------------------------------------------------------------------------------------
def agreement_of(deal: Deal) -> Agreement | None:
    return db.session.scalar(select(Agreement).where(Agreement.deal_id == deal.id))


def _initial_plan(deal: Deal) -> tuple[str | None, str | None]:
    bid = deal.bid
    if bid is not None and bid.plan and bid.operation_code:
        return bid.plan, bid.operation_code
    return None, None


def _is_current(agreement: Agreement, body: dict) -> bool:
    current = agreement.current
    if current is None:
        return False
    stored = document_of(current)
    stored.pop("version", None)
    return stored == json.loads(canonical(body))


def _add_version(agreement: Agreement, body: dict, *, reason: str, actor, now) -> AgreementVersion:
    number = (agreement.current.number if agreement.current else 0) + 1
    document = {**body, "version": number}
    version = AgreementVersion(agreement=agreement, number=number,
                               document=canonical(document).decode("utf-8"),
                               sha256=sha256_of(document), reason=reason, created_at=now,
                               created_by_id=getattr(actor, "id", None))
    db.session.add(version)
    agreement.updated_at = now
    db.session.flush()
    audit.record("agreement.version", agreement, actor=actor, organization=agreement.deal.seller,
                 deal_id=agreement.deal_id, version=number, sha256=version.sha256, reason=reason)
    return version


def needs_sync(deal: Deal) -> bool:
    """True when the agreement is missing or its current version is out of date."""
    if deal.state not in OPEN_STATES:
        return False
    agreement = agreement_of(deal)
    if agreement is None:
        return True
    return agreement.state == "signing" and not _is_current(agreement, build_body(deal, agreement))


def sync_agreement(deal: Deal, *, actor=None, now: datetime | None = None,
                   locked: bool = False) -> Agreement | None:
    """The deal's agreement with an up-to-date current version (created on first use). A failed
    deal gets none; a signed agreement never changes. Locks the deal unless ``locked``."""
    now = now or utcnow()
    if not locked:
        if not needs_sync(deal):
            return agreement_of(deal)
        lifecycle.lock_deal(deal)
    agreement = agreement_of(deal)
    if deal.state not in OPEN_STATES or (agreement is not None and agreement.state == "signed"):
        return agreement
    reason = "drifted"
    if agreement is None:
        plan, operation = _initial_plan(deal)
        agreement = Agreement(deal_id=deal.id, plan=plan, operation_code=operation, created_at=now)
        db.session.add(agreement)
        db.session.flush()
        audit.record("agreement.created", agreement, actor=actor, organization=deal.seller,
                     deal_id=deal.id)
        reason = "created"
    body = build_body(deal, agreement)
    if not _is_current(agreement, body):
        _add_version(agreement, body, reason=reason, actor=actor, now=now)
    return agreement


# The buyer's plan -------------------------------------------------------------------------------
def set_plan(deal: Deal, *, actor: User, plan, operation_code, now: datetime | None = None) -> bool:
    """The buyer states or changes its processing plan and R/D operation: a new version (earlier
    signatures stop counting). False when nothing changed."""
    from market.auctions.requests import clean_operation, clean_plan
    from market.lots.eligibility import require_can_take

    now = now or utcnow()
    if not actor.has_org_role(deal.buyer, OrgRole.manager):
        raise PermissionDenied(_l("План переработки указывают владелец и менеджеры покупателя."))
    plan, operation_code = clean_plan(plan), clean_operation(operation_code)
    lifecycle.lock_deal(deal)
    require_open(deal, now)
    agreement = sync_agreement(deal, actor=actor, now=now, locked=True)
    if agreement.state == "signed":
        raise DomainError(_l("Договор уже подписан обеими сторонами и не меняется."))
    if agreement.plan == plan and agreement.operation_code == operation_code:
        return False
    require_can_take(deal.buyer, deal.lot, operation_code, on=to_almaty(now).date())
    previous = agreement.current
    agreement.plan, agreement.operation_code = plan, operation_code
    db.session.flush()
    db.session.refresh(agreement, ["operation"])
    version = _add_version(agreement, build_body(deal, agreement), reason="plan_changed",
                           actor=actor, now=now)
    audit.record("agreement.plan_changed", agreement, actor=actor, organization=deal.buyer,
                 deal_id=deal.id, version=version.number, operation=operation_code)
    if previous is not None and previous.signatures:
        from market.deals.signing import tell_signatures_void

        tell_signatures_void(deal, version)
    return True


def require_open(deal: Deal, now: datetime) -> None:
    """:raise DomainError: unless the deal waits for signatures and its deadline has not passed."""
    if deal.state not in OPEN_STATES:
        raise DomainError(_l("Сделка не ждёт подписания: она в состоянии «%(state)s»."),
                          state=deal.state_label)
    if lifecycle.is_overdue(deal, now):
        raise DomainError(_l("Срок подписания истёк: сделка не действует."))
