"""Cancellation of a registered rights transfer by an official, with a reason.

Nothing of the registration is edited: in one transaction, under the deal's lock,

* a stream lot: the buyer's receiving stream gets a ``transferred_out`` record and the holder's
  stream a ``received`` record of the deal's quantity (the journal's own rules and atomic
  balance update; refused, naming the balance, when the buyer no longer holds the quantity);
* a formation lot: the formation's owner becomes the seller again (refused when the buyer
  passed it on meanwhile);
* the deal becomes ``cancelled`` (a conditional UPDATE on ``registered``: two officials at
  once give exactly one cancellation, the other a clear refusal);
* a ledger entry ``transfer.cancelled`` names the deal, the reason, the official and the journal
  records it reverses (and the records made to reverse them);
* both parties hear it (in-app and e-mail), the decision is audited.

Who may cancel: an official of the deal's region, not a member of either party (the review's
guards). The idempotency keys ``deal-<id>-cancel-<kind>`` make a second reversal impossible.
Operations flush, never commit.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from market.accounts.models import User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.locking import lock_for_update
from market.core.notify import notify, queue_email
from market.core.statemachine import StateMachine
from market.core.timeutil import to_almaty, utcnow
from market.deals import lifecycle
from market.deals import review as review_flow
from market.deals.models import Deal
from market.extensions import db
from market.ledger.models import LedgerEntry
from market.ledger.operations import append
from market.lots.wanted import managers
from market.registry import journal
from market.registry.models import RecordKind, WasteRecord, WasteStream

SOURCE = "cancel"  # waste_record.source is 8 characters
REASON_MAX = 2000
CANCEL_FLOW = StateMachine(name="deal_cancel", states=("registered", "cancelled"),
                           transitions={("registered", "cancel"): "cancelled"})


class CancellationRefused(DomainError):
    """The transfer cannot be reversed (the buyer no longer holds what it received)."""


def refusal_for(deal: Deal, user: User):
    """Why ``user`` may not cancel ``deal``'s transfer (a message), or None."""
    refusal = review_flow.refusal_for(deal, user)
    if refusal is not None:
        return refusal
    if deal.state != "registered":
        return _l("Отменить можно только зарегистрированную передачу прав.")
    return None


def may_cancel(deal: Deal, user: User) -> bool:
    return refusal_for(deal, user) is None


def clean_reason(reason) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise DomainError(_l("Укажите причину отмены передачи."))
    if len(reason) > REASON_MAX:
        raise DomainError(_l("Не длиннее %(n)s символов."), n=REASON_MAX)
    return reason


def registration_entry(deal: Deal) -> dict | None:
    """The payload of the deal's ``rights.registered`` ledger entry (what moved)."""
    entry = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.deal_id == deal.id, LedgerEntry.kind == "rights.registered")
        .order_by(LedgerEntry.sequence.desc()).limit(1))
    return json.loads(entry.payload) if entry is not None else None


def _reverse_record(stream: WasteStream, kind: RecordKind, deal: Deal, *, actor: User,
                    now: datetime, counterparty) -> WasteRecord:
    """A new journal record moving the deal's quantity back (the journal's checks and atomic
    balance update; the official's decision makes it, so no member-only rule)."""
    day = to_almaty(now).date()
    kind, quantity, delta = journal._prepare(stream, kind=kind, quantity=deal.quantity,
                                             event_date=day, today=day)
    balance = journal._move_balance(stream, delta)
    rec = WasteRecord(
        stream_id=stream.id, organization_id=stream.organization_id, site_id=stream.site_id,
        kind=kind.value, quantity=quantity, delta=delta, balance_after=balance, event_date=day,
        entered_at=now, entered_by_id=actor.id, source=SOURCE, counterparty=counterparty.name[:300],
        document=f"Отмена передачи по сделке №{deal.id}",
        idempotency_key=f"deal-{deal.id}-cancel-{kind.value}")
    db.session.add(rec)
    journal._move_layers(stream, delta, day)
    db.session.flush()
    return rec


def _reverse_stream(deal: Deal, moved: dict, *, actor: User, now: datetime) -> dict:
    out_id = moved["transferred_out"]["record"]
    in_id = moved["received"]["record"]
    holder = db.session.get(WasteStream, moved["transferred_out"]["stream"])
    target = db.session.get(WasteStream, moved["received"]["stream"])
    # the same order as the registration (holder first) so two writers never deadlock
    lock_for_update(holder)
    lock_for_update(target)
    db.session.refresh(target, ["balance", "reserved"])
    free = target.balance - target.reserved
    if free < deal.quantity:
        raise CancellationRefused(
            _l("У покупателя на потоке «%(name)s» остаток %(balance)s т (из них %(reserved)s т в "
               "открытых лотах), а вернуть нужно %(qty)s т: отменить передачу нельзя."),
            name=target.name, balance=journal.fmt_t(target.balance),
            reserved=journal.fmt_t(target.reserved), qty=journal.fmt_t(deal.quantity))
    back_out = _reverse_record(target, RecordKind.transferred_out, deal, actor=actor, now=now,
                               counterparty=deal.seller)
    back_in = _reverse_record(holder, RecordKind.received, deal, actor=actor, now=now,
                              counterparty=deal.buyer)
    return {"kind": "stream", "reverses": [out_id, in_id],
            "transferred_out": {"record": back_out.id, "stream": target.id,
                                "balance_after": str(back_out.balance_after)},
            "received": {"record": back_in.id, "stream": holder.id,
                         "balance_after": str(back_in.balance_after)}}


def _reverse_formation(deal: Deal, *, actor: User) -> dict:
    formation = deal.lot.formation
    lock_for_update(formation)
    if formation.organization_id != deal.buyer_id:
        raise CancellationRefused(_l("Объект ТМО уже не принадлежит покупателю: отменить передачу "
                                     "нельзя."))
    formation.organization_id = deal.seller_id
    db.session.flush()
    db.session.refresh(formation, ["organization"])
    audit.record("formation.owner_changed", formation, actor=actor, organization=deal.seller,
                 deal_id=deal.id, previous_owner=deal.buyer_id, owner=deal.seller_id,
                 cancelled=True)
    return {"kind": "formation", "formation": formation.id, "reverses": [],
            "previous_owner": {"id": deal.buyer_id, "bin": deal.buyer.bin, "name": deal.buyer.name},
            "owner": {"id": deal.seller_id, "bin": deal.seller.bin, "name": deal.seller.name}}


def _move_deal(deal: Deal, now: datetime, **values) -> None:
    source = deal.state
    target = CANCEL_FLOW.target(source, "cancel")
    table = Deal.__table__
    values = {"state": target, "updated_at": now, **values}
    row = db.session.execute(update(table).where(table.c.id == deal.id, table.c.state == source)
                             .values(**values).returning(table.c.id)).first()
    if row is None:
        db.session.expire(deal)
        raise lifecycle.DealChanged(_l("Сделка уже изменилась: обновите страницу."))
    for key, value in values.items():
        set_committed_value(deal, key, value)


def cancel(deal: Deal, *, actor: User, reason, now: datetime | None = None) -> dict:
    """An official cancels the deal's registered transfer: the registry records are reversed by
    new records, the deal becomes cancelled, a ledger entry is appended.

    :raise PermissionDenied: not an official of the region, or a member of a party.
    :raise DomainError: no reason, the deal is not registered (already cancelled), or the buyer
        no longer holds what it received.
    """
    now = now or utcnow()
    refusal = review_flow.refusal_for(deal, actor)
    if refusal is not None:
        raise PermissionDenied(refusal)
    reason = clean_reason(reason)
    lifecycle.lock_deal(deal)
    lock_for_update(deal)
    if deal.state == "cancelled":
        raise DomainError(_l("Передача по этой сделке уже отменена."))
    if deal.state != "registered":
        raise DomainError(_l("Отменить можно только зарегистрированную передачу прав."))
    registered = registration_entry(deal)
    if registered is None:
        raise DomainError(_l("Не найдена запись о регистрации передачи в публичном реестре."))
    moved = registered["moved"]
    # the refusals (the buyer no longer holds it) come before any write
    reversed_ = (_reverse_stream(deal, moved, actor=actor, now=now) if moved["kind"] == "stream"
                 else _reverse_formation(deal, actor=actor))
    _move_deal(deal, now, ended_at=now, ended_by_id=actor.id, end_reason=reason)
    entry = append("transfer.cancelled", {
        "deal": deal.id, "lot": deal.lot_id, "reason": reason, "official": actor.id,
        "region_kato": deal.region_kato, "quantity": str(deal.quantity),
        "seller": {"id": deal.seller_id, "bin": deal.seller.bin, "name": deal.seller.name},
        "buyer": {"id": deal.buyer_id, "bin": deal.buyer.bin, "name": deal.buyer.name},
        "reverses": reversed_["reverses"], "moved": reversed_})
    audit.record("deal.cancelled", deal, actor=actor, organization=deal.seller, reason=reason,
                 ledger=[entry.sequence], moved=reversed_)
    _tell(deal, reason)
    db.session.flush()
    return {"moved": reversed_, "ledger": entry.sequence}


def _tell(deal: Deal, reason: str) -> None:
    text = str(_l("Передача прав по сделке №%(id)s отменена уполномоченным органом. Причина: "
                  "%(reason)s", id=deal.id, reason=reason))
    link = current_app.config["PUBLIC_URL"].rstrip("/") + f"/deals/{deal.id}"
    for org_id in (deal.seller_id, deal.buyer_id):
        for user in managers(org_id):
            notify(user, "deal.cancelled", text, f"/deals/{deal.id}")
            queue_email(user.email, _l("Передача прав по сделке №%(id)s отменена", id=deal.id),
                        "email/review_decision.txt", user=user, text=text, link=link)
