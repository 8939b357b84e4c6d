"""Marshmallow schemas of the bids API: a bid as its own organisation sees it, a bid as another
viewer may see it (bidder labels, sealed secrecy), the state of bidding on a lot, requests.

Money is integer tiyn (1 ₸ = 100 tiyn) with a formatted `*_display` string beside it;
quantities are decimal strings ("12.500"); times ISO 8601 in UTC.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from market.api.schemas import NOT_INTEGER, NOT_STRING, REQUIRED, TOO_LONG, BaseSchema, Tonnes, _errors
from market.api.schemas_lots import CHOICES, _money, _page_number, _tonnes
from market.auctions.models import BID_STATES
from market.lots.money import format_kzt

MAX_BID_PAGE = 100
DEFAULT_BID_PAGE = 20
KEY_PATTERN = r"^[\x21-\x7e]{1,64}$"  # the bid log keeps keys of up to 64 characters


def _display(tiyn: int | None) -> str | None:
    return None if tiyn is None else format_kzt(tiyn)


def _money_out(description: str) -> fields.Integer:
    return fields.Integer(dump_only=True, allow_none=True, metadata={"description": description})


def _text_out(**metadata) -> fields.String:
    return fields.String(dump_only=True, allow_none=True, metadata=metadata)


# Output -------------------------------------------------------------------------------------


class AuctionStateSchema(BaseSchema):
    """Bidding on a lot as the lot page shows it."""

    lot_id = fields.Integer(dump_only=True)
    mode = fields.String(dump_only=True, metadata={"enum": ["fixed", "english", "sealed", "reverse"]})
    open = fields.Boolean(dump_only=True, metadata={"description": "Bids are accepted now"})
    price = _money_out("Tiyn: the current price of an English or reverse auction (null before "
                       "the first bid and for sealed bids)")
    price_display = _text_out(example="1 250 000 ₸")
    minimum = _money_out("Tiyn: the least (English) or greatest (reverse) amount the next bid may "
                         "have: the start price, then the current price ± the step")
    minimum_display = _text_out()
    increment = _money_out("Tiyn: the step")
    ends_at = fields.DateTime(dump_only=True, allow_none=True, metadata={
        "description": "The end of bidding, moved later by anti-sniping extensions"})
    extensions = fields.Integer(dump_only=True)
    bid_count = fields.Integer(dump_only=True, allow_none=True, metadata={
        "description": "Accepted bids and purchases (null while sealed bids are secret)"})
    remaining = Tonnes(dump_only=True, allow_none=True, metadata={
        "description": "Fixed price: tonnes still for sale"})
    reserve_met = fields.Boolean(dump_only=True, allow_none=True, metadata={
        "description": "Whether the best bid respects the reserve price (null without one, for "
                       "fixed prices and while sealed bids are secret)"})


class OwnBidSchema(BaseSchema):
    """One bid of the token's organisation."""

    id = fields.Integer(dump_only=True)
    lot_id = fields.Integer(dump_only=True)
    lot_url = fields.String(dump_only=True, metadata={"description": "The lot's web page"})
    mode = fields.String(dump_only=True)
    amount = fields.Integer(dump_only=True, metadata={"description": "Tiyn per the lot's price basis"})
    amount_display = fields.String(dump_only=True)
    max_amount = _money_out("Tiyn: the proxy limit (English: up to, reverse: down to)")
    max_amount_display = _text_out()
    quantity = Tonnes(dump_only=True, allow_none=True, metadata={"description": "Fixed price: tonnes bought"})
    state = fields.String(dump_only=True, metadata={"enum": list(BID_STATES)})
    state_label = fields.String(dump_only=True)
    leading = fields.Boolean(dump_only=True, metadata={
        "description": "Leads an English or reverse auction now (never told for sealed bids)"})
    deal_id = fields.Integer(dump_only=True, allow_none=True, metadata={
        "description": "The deal made for this purchase or winning bid"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    withdrawn_at = fields.DateTime(dump_only=True, allow_none=True)
    withdraw_reason = _text_out()


class BidResultSchema(BaseSchema):
    bid = fields.Nested(OwnBidSchema, dump_only=True)
    auction = fields.Nested(AuctionStateSchema, dump_only=True)


class OwnBidPageSchema(BaseSchema):
    items = fields.List(fields.Nested(OwnBidSchema), dump_only=True)
    limit = fields.Integer(dump_only=True)
    next = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "URL of the next page, null on the last one"})


class VisibleBidSchema(BaseSchema):
    """A bid as the viewer may see it: other bidders are "Участник N"."""

    id = fields.Integer(dump_only=True)
    label = fields.String(dump_only=True, metadata={"example": "Участник 2"})
    own = fields.Boolean(dump_only=True, metadata={"description": "A bid of the token's organisation"})
    leading = fields.Boolean(dump_only=True)
    amount = fields.Integer(dump_only=True)
    amount_display = fields.String(dump_only=True)
    max_amount = _money_out("Tiyn: the proxy limit, on the organisation's own bids only")
    quantity = Tonnes(dump_only=True, allow_none=True)
    state = fields.String(dump_only=True, metadata={"enum": list(BID_STATES)})
    state_label = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class LotBidsSchema(BaseSchema):
    auction = fields.Nested(AuctionStateSchema, dump_only=True)
    items = fields.List(fields.Nested(VisibleBidSchema), dump_only=True, metadata={
        "description": "Oldest first. Sealed bids of others stay hidden until bidding ends"})


def own_bid_payload(bid, *, leading: bool, deal_id: int | None) -> dict:
    return {
        "id": bid.id, "lot_id": bid.lot_id, "mode": bid.mode,
        "lot_url": url_for("lots.show_lot", lot_id=bid.lot_id, _external=True),
        "amount": bid.amount, "amount_display": _display(bid.amount),
        "max_amount": bid.max_amount, "max_amount_display": _display(bid.max_amount),
        "quantity": bid.quantity, "state": bid.state, "state_label": bid.state_label,
        "leading": leading, "deal_id": deal_id, "created_at": bid.created_at,
        "updated_at": bid.updated_at, "withdrawn_at": bid.withdrawn_at,
        "withdraw_reason": bid.withdraw_reason,
    }


def visible_bid_payload(bid) -> dict:
    """A market.auctions.query.VisibleBid."""
    return {"id": bid.id, "label": bid.label, "own": bid.own, "leading": bid.leading,
            "amount": bid.amount, "amount_display": _display(bid.amount), "max_amount": bid.max_amount,
            "quantity": bid.quantity, "state": bid.state, "state_label": bid.state_label,
            "created_at": bid.created_at}


# Requests -----------------------------------------------------------------------------------


class BidIdempotencyHeaderSchema(Schema):
    """Only the Idempotency-Key header (the bid log keeps up to 64 characters)."""

    class Meta:
        unknown = "exclude"

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(KEY_PATTERN, error=_l(
            "Idempotency-Key ставки — от 1 до 64 видимых символов ASCII.")),
        error_messages=_errors(invalid=NOT_STRING),
        metadata={"description": "Retries with the same key and body return the first answer"})


class BidPlaceSchema(BaseSchema):
    amount = _money(load_default=None, allow_none=True, metadata={
        "description": "Tiyn per the lot's price basis. Required for auctions and sealed bids; "
                       "for a fixed price it may be left out (the lot's price)"})
    max_amount = _money(load_default=None, allow_none=True, metadata={
        "description": "Tiyn: a proxy limit (English: the platform bids for you up to it; "
                       "reverse: down to it)"})
    quantity = _tonnes("Fixed price: tonnes to buy (left out: all that is left)",
                       load_default=None, allow_none=True)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError([REQUIRED])  # a list: a bare lazy string would be split into letters


class BidWithdrawSchema(BaseSchema):
    reason = fields.String(required=True, validate=[validate.Length(max=1000, error=TOO_LONG), _not_blank],
                           error_messages=_errors(invalid=NOT_STRING),
                           metadata={"description": "Kept in the bid log and the audit trail"})


class BidPageQuerySchema(BaseSchema):
    lot_id = fields.Integer(load_default=None, error_messages=_errors(invalid=NOT_INTEGER),
                            metadata={"description": "Only bids on this lot"})
    state = fields.String(load_default=None, metadata={"enum": list(BID_STATES)},
                          validate=validate.OneOf(list(BID_STATES), error=CHOICES),
                          error_messages=_errors(invalid=NOT_STRING))
    before = _page_number("Keyset page: bids with an id below this (follow `next`)", load_default=None)
    limit = fields.Integer(load_default=DEFAULT_BID_PAGE, error_messages=_errors(invalid=NOT_INTEGER),
                           validate=validate.Range(min=1, max=MAX_BID_PAGE, error=_l("От {min} до {max}.")),
                           metadata={"description": f"Bids per page, 1 to {MAX_BID_PAGE}"})
