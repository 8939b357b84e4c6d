"""The deal page's timeline: the whole history of one deal in time order.

Merged from the deal's audit events (creation, lapse, withdrawal, offers, registration), the
agreement's versions and signatures, the review's steps (submission, the official's decision with
its reason or comments) and the public ledger entries about the deal (each links to its public
page, the proof). Only this deal's rows are read, so nothing of other deals shows.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market.core.models import AuditEvent
from market.deals.models import Deal
from market.deals.models_agreement import Agreement, AgreementSignature, AgreementVersion
from market.deals.models_review import Review, ReviewStep
from market.extensions import db
from market.ledger.models import LedgerEntry

# Labels of the deal's audit events (market.deals.views_review adds the review's).
TIMELINE = {
    "deal.created": _l("Сделка заключена"),
    "deal.lapsed": _l("Срок подписания истёк: сделка не подписана"),
    "deal.withdrawn": _l("Покупатель отказался от сделки"),
    "deal.declined": _l("Участник отклонил предложение"),
    "deal.offered_next": _l("Лот предложен следующему участнику"),
    "deal.lot_closed": _l("Лот закрыт без покупателя"),
    "deal.cancelled": _l("Передача прав отменена уполномоченным органом"),
    "complaint.filed": _l("Подана жалоба"),
    "complaint.decided": _l("Принято решение по жалобе"),
}
CREATED = {
    "award": _l("Сделка заключена по итогам торгов"),
    "purchase": _l("Покупка по фиксированной цене"),
    "offer": _l("Сделка предложена следующему участнику по цене его ставки"),
    "request": _l("Держатель принял заявку на безвозмездную передачу"),
}
VERSION_LABELS = {
    "created": _l("Составлен договор, редакция %(n)s"),
    "plan_changed": _l("Покупатель изменил план переработки: редакция договора %(n)s"),
}
VERSION_OTHER = _l("Договор обновлён: редакция %(n)s")
SIGNED = _l("Договор подписан: %(party)s")
SIGNATURE_DETAIL = _l("%(org)s (БИН %(bin)s) · %(method)s · редакция %(n)s")
FULLY_SIGNED = _l("Договор подписан обеими сторонами")
LEDGER = _l("Запись в публичном реестре №%(n)s: %(kind)s")
STEP_EVENTS = {"submit": "review.submitted", "resubmit": "review.resubmitted",
               "approve": "review.approve", "reject": "review.reject", "return": "review.return"}
# At one and the same instant: the deal's events, then the review's step (a return makes a new
# version at the step's time), versions, signatures, the full signature; ledger entries follow
# the event that wrote them.
DEAL, STEP, VERSION, SIGNATURE, FULL, LEDGER_PHASE = range(6)
ANCHORS = {"lot.awarded": "deal.created"}


def origin(deal: Deal) -> str:
    """How the deal came about: award, purchase, offer (to the next bidder) or request (free)."""
    if deal.offered_after_id is not None:
        return "offer"
    if deal.lot.pricing_mode == "free":
        return "request"
    return "purchase" if deal.is_purchase else "award"


def _item(at: datetime, phase: int, n: int, label, **extra) -> dict:
    return {"at": at, "key": (at, phase, n, 0, 0), "label": str(label), "actor": None,
            "reason": None, "link": None, "returned": None, "reopened": None, "detail": None,
            "sha256": None, "ledger": None, "action": None, "ledger_refs": (), **extra}


def _deal_events(deal: Deal, viewer) -> list[dict]:
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "Deal", AuditEvent.object_id == str(deal.id))
        .order_by(AuditEvent.id)).all()
    out = []
    for e in events:
        if e.action.startswith("review."):
            continue  # the review's steps tell it (with the notes)
        data = e.data or {}
        label = CREATED[origin(deal)] if e.action == "deal.created" else TIMELINE.get(e.action, e.action)
        link = None
        if e.action == "deal.offered_next" and data.get("offer_id"):
            offer = db.session.get(Deal, int(data["offer_id"]))
            if offer is not None and offer.can_view(viewer):
                link = offer
        out.append(_item(e.created_at, DEAL, e.id, label, action=e.action, actor=e.actor,
                         reason=data.get("reason"), link=link, returned=data.get("returned"),
                         reopened=data.get("reopened"), sha256=data.get("sha256"),
                         ledger_refs=data.get("ledger") or []))
    return out


def _agreement_items(deal: Deal) -> list[dict]:
    agreement = db.session.scalar(select(Agreement).where(Agreement.deal_id == deal.id))
    if agreement is None:
        return []
    out = []
    for v in db.session.scalars(select(AgreementVersion).where(
            AgreementVersion.agreement_id == agreement.id).order_by(AgreementVersion.number)):
        label = VERSION_LABELS.get(v.reason, VERSION_OTHER)
        out.append(_item(v.created_at, VERSION, v.number, label % {"n": v.number},
                         actor=v.created_by, sha256=v.sha256))
    signatures = db.session.scalars(select(AgreementSignature).where(
        AgreementSignature.agreement_id == agreement.id).order_by(AgreementSignature.id)).all()
    for s in signatures:
        detail = SIGNATURE_DETAIL % {"org": s.organization.name, "bin": s.organization.bin,
                                     "method": s.method_label, "n": s.version.number}
        out.append(_item(s.signed_at, SIGNATURE, s.id, SIGNED % {"party": s.party_label},
                         actor=s.user, detail=detail, sha256=s.sha256))
    if agreement.signed_at is not None:
        # the last signature completes it (its own clock may run a moment behind the deal's now)
        at = max([agreement.signed_at, *(s.signed_at for s in signatures)])
        out.append(_item(at, FULL, agreement.id, FULLY_SIGNED,
                         sha256=agreement.current.sha256 if agreement.current else None))
    return out


def _review_items(deal: Deal) -> list[dict]:
    steps = db.session.scalars(select(ReviewStep).join(Review).where(Review.deal_id == deal.id)
                               .order_by(ReviewStep.id)).all()
    return [_item(s.at, STEP, s.id, TIMELINE.get(STEP_EVENTS.get(s.action, ""), s.label),
                  actor=s.actor, reason=s.note, sha256=s.sha256) for s in steps]


def deal_entries(deal: Deal) -> list[LedgerEntry]:
    """The ledger entries whose payload names this deal (``"deal":<id>``), oldest first (by
    the indexed ``deal_id`` the ledger derives from the payload; checked against it)."""
    rows = db.session.scalars(select(LedgerEntry).where(LedgerEntry.deal_id == deal.id)
                              .order_by(LedgerEntry.sequence)).all()
    return [e for e in rows if _names(e, deal.id)]


def _names(entry: LedgerEntry, deal_id: int) -> bool:
    try:
        payload = json.loads(entry.payload)
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("deal") == deal_id


def _ledger_items(deal: Deal, events: list[dict]) -> list[dict]:
    from market.ledger.views import KIND_LABELS

    out = []
    for entry in deal_entries(deal):
        anchor = next((e for e in events if entry.sequence in e["ledger_refs"]), None)
        if anchor is None and entry.kind in ANCHORS:
            anchor = next((e for e in events if e["action"] == ANCHORS[entry.kind]), None)
        label = LEDGER % {"n": entry.sequence, "kind": KIND_LABELS.get(entry.kind, entry.kind)}
        item = _item(entry.created_at, LEDGER_PHASE, entry.sequence, label, ledger=entry.sequence,
                     kind=entry.kind)
        if anchor is not None:
            item["key"] = (*anchor["key"][:3], 1, entry.sequence)
        out.append(item)
    return out


def build(deal: Deal, viewer) -> list[dict]:
    """The deal's whole history in time order (viewer: who looks, for links to other deals)."""
    events = _deal_events(deal, viewer)
    items = [*events, *_agreement_items(deal), *_review_items(deal), *_ledger_items(deal, events)]
    return sorted(items, key=lambda i: i["key"])
