"""Registration of the rights transfer when an official approves a signed agreement.

In the approval's one transaction:

* a stream lot: the lot's reservation for the deal's quantity is released, the holder's stream
  gets a ``transferred_out`` record and the buyer's stream for the same waste code at the
  receiving site (found, or created) a ``received`` record — balances move exactly by the
  deal's quantity, the cache stays equal to the journal sum;
* a formation lot: the formation's owner becomes the buyer (no longer state-owned);
* the deal becomes ``registered``; the lot becomes ``transferred`` once no deal of it waits;
* two ledger entries: ``agreement.approved`` (agreement hash, signatures, parties, official)
  and ``rights.registered`` (what moved: journal record ids, or the formation's owners).

The journal records are made by the system on the official's decision (the official is their
author, source ``transfer``); the idempotency key ``deal-<id>-<kind>`` makes a second
registration of the same deal impossible. Operations flush, never commit.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.accounts.models import User
from market.core import audit
from market.core.errors import DomainError
from market.core.locking import lock_for_update
from market.core.timeutil import to_almaty
from market.deals import agreements, lifecycle, signing
from market.deals import review as review_flow
from market.deals.models import FAILED_STATES, Deal
from market.deals.models_review import Review
from market.extensions import db
from market.ledger.operations import append
from market.lots import reservation
from market.registry import journal
from market.registry.models import RecordKind, WasteRecord, WasteStream

SOURCE = "transfer"


def _party(org) -> dict:
    return {"id": org.id, "bin": org.bin, "name": org.name}


def receiving_stream(deal: Deal, review: Review, holder: WasteStream, *, actor: User,
                     now: datetime) -> WasteStream:
    """The buyer's stream of the holder's waste code at the receiving site, created if missing."""
    site = review.receiving_site
    if site is None or site.organization_id != deal.buyer_id:
        raise DomainError(_l("Не указана площадка покупателя, на которую поступят отходы."))
    stream = db.session.scalar(select(WasteStream).where(
        WasteStream.site_id == site.id, WasteStream.organization_id == deal.buyer_id,
        WasteStream.waste_code == holder.waste_code).order_by(WasteStream.id).limit(1))
    if stream is not None:
        return stream
    stream = WasteStream(site_id=site.id, organization_id=deal.buyer_id,
                         waste_code=holder.waste_code, name=holder.name[:200],
                         description=str(_l("Получено по сделке №%(id)s", id=deal.id)),
                         physical_state=holder.physical_state,
                         hazard_properties=list(holder.hazard_properties or []),
                         storage_purpose="recovery", created_at=now, created_by_id=actor.id)
    db.session.add(stream)
    db.session.flush()
    audit.record("stream.created", stream, actor=actor, organization=deal.buyer, deal_id=deal.id,
                 site_id=site.id, waste_code=holder.waste_code, source=SOURCE)
    return stream


def _record(stream: WasteStream, kind: RecordKind, deal: Deal, *, actor: User, now: datetime,
            counterparty) -> WasteRecord:
    """A journal record of the transfer: the journal's own checks and atomic balance update,
    without its member-only rule (the official's decision makes it)."""
    day = to_almaty(now).date()
    kind, quantity, delta = journal._prepare(stream, kind=kind, quantity=deal.quantity,
                                             event_date=day, today=day)
    balance = journal._move_balance(stream, delta)
    rec = WasteRecord(
        stream_id=stream.id, organization_id=stream.organization_id, site_id=stream.site_id,
        kind=kind.value, quantity=quantity, delta=delta, balance_after=balance, event_date=day,
        entered_at=now, entered_by_id=actor.id, source=SOURCE, counterparty=counterparty.name[:300],
        document=f"Сделка №{deal.id}", idempotency_key=f"deal-{deal.id}-{kind.value}")
    db.session.add(rec)
    journal._move_layers(stream, delta, day)
    db.session.flush()
    return rec


def _move_stream(deal: Deal, review: Review, *, actor: User, now: datetime) -> dict:
    holder = deal.lot.stream
    lock_for_update(holder)
    db.session.refresh(holder, ["balance", "reserved"])  # current figures (SQLite too)
    freed = min(deal.quantity, holder.reserved)
    if freed > 0:
        reservation.release(holder, freed)
    out = _record(holder, RecordKind.transferred_out, deal, actor=actor, now=now,
                  counterparty=deal.buyer)
    target = receiving_stream(deal, review, holder, actor=actor, now=now)
    lock_for_update(target)
    received = _record(target, RecordKind.received, deal, actor=actor, now=now,
                       counterparty=deal.seller)
    return {"kind": "stream", "released": str(freed),
            "transferred_out": {"record": out.id, "stream": holder.id,
                                "balance_after": str(out.balance_after)},
            "received": {"record": received.id, "stream": target.id, "site": target.site_id,
                         "balance_after": str(received.balance_after)}}


def _move_formation(deal: Deal, *, actor: User) -> dict:
    formation = deal.lot.formation
    lock_for_update(formation)
    previous = formation.organization
    if previous is not None and previous.id != deal.seller_id:
        raise DomainError(_l("Объект ТМО уже принадлежит другой организации: передача невозможна."))
    formation.organization_id, formation.state_owned = deal.buyer_id, False
    db.session.flush()
    db.session.refresh(formation, ["organization"])
    audit.record("formation.owner_changed", formation, actor=actor, organization=deal.buyer,
                 deal_id=deal.id, previous_owner=deal.seller_id, owner=deal.buyer_id)
    return {"kind": "formation", "formation": formation.id,
            "cadastre_number": agreements.formation_number(formation),
            "previous_owner": _party(deal.seller), "owner": _party(deal.buyer)}


def _finish_lot(deal: Deal, now: datetime) -> bool:
    """An awarded lot becomes transferred when no other deal of it is still on its way."""
    lot = deal.lot
    if lot.state != "awarded":
        return False
    waiting = db.session.scalar(select(Deal.id).where(
        Deal.lot_id == lot.id, Deal.id != deal.id,
        Deal.state.notin_((*FAILED_STATES, "registered", "cancelled"))).limit(1))
    if waiting is not None:
        return False
    return lifecycle.move_lot(lot, "transfer", now, closed_at=lot.closed_at)


def register(deal: Deal, review: Review, *, actor: User, now: datetime) -> dict:
    """Move the rights (the caller holds the deal's lock and moved the case to approved)."""
    agreement = agreements.agreement_of(deal)
    version = agreement.current
    review_flow.move_deal(deal, "approve", now)
    moved = (_move_stream(deal, review, actor=actor, now=now) if deal.lot.stream_id is not None
             else _move_formation(deal, actor=actor))
    transferred = _finish_lot(deal, now)
    base = {"deal": deal.id, "lot": deal.lot_id, "review": review.id,
            "agreement": {"id": agreement.id, "version": version.number, "sha256": version.sha256},
            "seller": _party(deal.seller), "buyer": _party(deal.buyer),
            "quantity": str(deal.quantity), "waste_code": deal.waste_code}
    signatures = [{"party": s.party, "organization": s.organization_id, "method": s.method,
                   "sha256": s.sha256, "signed_at": s.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
                  for _p, s in sorted(signing.valid_signatures(agreement).items())]
    approved = append("agreement.approved", {**base, "signatures": signatures,
                                             "official": actor.id, "region_kato": deal.region_kato})
    registered = append("rights.registered", {**base, "moved": moved,
                                              "approval_entry": approved.sequence})
    audit.record("deal.registered", deal, actor=actor, organization=deal.seller, review_id=review.id,
                 sha256=version.sha256, ledger=[approved.sequence, registered.sequence],
                 lot_transferred=transferred, moved=moved)
    db.session.flush()
    return {"moved": moved, "ledger": (approved.sequence, registered.sequence),
            "lot_transferred": transferred}
