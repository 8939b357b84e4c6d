"""Marshmallow schemas of the lots API: the search parameters, a lot, a new lot, a withdrawal.

Money is integer tiyn (1 ₸ = 100 tiyn) with a formatted `*_display` string beside it;
quantities are decimal strings ("12.500"); times ISO 8601 in UTC. Validation messages are
lazy strings, rendered in the request's language.
"""

from __future__ import annotations

from datetime import UTC

from flask import url_for
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from market.api.schemas import (
    NOT_DATE,
    NOT_INTEGER,
    NOT_STRING,
    REQUIRED,
    TOO_LONG,
    BaseSchema,
    QuantityInput,
    Tonnes,
    _errors,
    _text,
)
from market.lots.models import DELIVERY_TERMS, PRICE_BASES, PRICING_MODES, UNITS, Lot
from market.lots.money import MAX_TIYN, format_kzt
from market.lots.query import SORTS, LotQuery

AUCTION_MODES = ("english", "sealed", "reverse")
MAX_LOT_PAGE = 100
DEFAULT_LOT_PAGE = 20
NOT_BOOLEAN = _l("Нужно 1 или 0 (true или false).")
CHOICES = _l("Допустимые значения: {choices}.")
MONEY_HINT = _l("Сумма — целое число тиынов (1 ₸ = 100 тиынов), не меньше 0.")


def _choice(values, **kwargs) -> fields.String:
    values = list(values)
    metadata = {"enum": values, **kwargs.pop("metadata", {})}
    return fields.String(validate=validate.OneOf(values, error=CHOICES), metadata=metadata,
                         error_messages=_errors(invalid=NOT_STRING), **kwargs)


def _flag(description: str) -> fields.Boolean:
    return fields.Boolean(load_default=False, metadata={"description": description},
                          error_messages=_errors(invalid=NOT_BOOLEAN))


def _page_number(description: str, **kwargs) -> fields.Integer:
    return fields.Integer(metadata={"description": description}, error_messages=_errors(invalid=NOT_INTEGER),
                          validate=validate.Range(min=1, error=_l("Не меньше {min}.")), **kwargs)


def _as_lot_query(name: str):
    """A validator that parses one parameter the way the web search does (LotQuery)."""
    def check(value):
        errors = LotQuery.from_args({name: value}).errors
        if errors:
            raise ValidationError(list(errors))
    return check


def _money(*, strict: bool = True, **kwargs) -> fields.Integer:
    """Tiyn; in JSON a number, never a string or a boolean (strict); in a query string digits."""
    metadata = {"description": "Tiyn (1 ₸ = 100 tiyn)", "example": 1250000, **kwargs.pop("metadata", {})}
    return fields.Integer(strict=strict, metadata=metadata, error_messages=_errors(invalid=MONEY_HINT),
                          validate=validate.Range(min=0, max=MAX_TIYN, error=MONEY_HINT), **kwargs)


# Search -------------------------------------------------------------------------------------


class LotSearchQuerySchema(BaseSchema):
    """The web search's parameters (/lots/?…), except prices in tiyn and booleans as 1/0."""

    q = _text(200, load_default="", metadata={
        "description": "Words (Russian, Kazakh, English; stems and, on PostgreSQL, typos) or a "
                       "waste-code prefix such as `10 06`"})
    code = fields.String(load_default="", validate=_as_lot_query("code"),
                         error_messages=_errors(invalid=NOT_STRING),
                         metadata={"description": "Waste-code prefix: 2, 4 or 6 digits (`10 02 07`)"})
    chapter = fields.String(load_default="", error_messages=_errors(invalid=NOT_STRING),
                            validate=validate.Regexp(r"^\d{2}$",
                                                     error=_l("Раздел — две цифры, например 10.")),
                            metadata={"description": "Chapter of the classifier, two digits"})
    region = fields.String(load_default="", error_messages=_errors(invalid=NOT_STRING),
                           validate=validate.Regexp(r"^\d{1,9}$", error=_l(
                               "Регион — код КАТО, до 9 цифр, например 350000000.")),
                           metadata={"description": "KATO code of the region"})
    mode = _choice(PRICING_MODES, load_default="", metadata={"description": "Pricing mode"})
    hazardous = _choice(("yes", "no"), load_default="",
                        metadata={"description": "Hazardous codes only, or none"})
    mandatory = _flag("Mandatory offers only (stock past its storage limit)")
    recurring = _flag("Recurring supplies only")
    ending = _flag("Auctions ending within 72 hours")
    allowed = _flag("Only lots the token's organisation may take under its licences (needs a token)")
    qty_min = fields.String(load_default="", validate=_as_lot_query("qty_min"),
                            error_messages=_errors(invalid=NOT_STRING),
                            metadata={"description": "Quantity from, tonnes (`12.5`)"})
    qty_max = fields.String(load_default="", validate=_as_lot_query("qty_max"),
                            error_messages=_errors(invalid=NOT_STRING),
                            metadata={"description": "Quantity up to, tonnes"})
    price_min = _money(strict=False, load_default=None, metadata={
        "description": "Price per tonne from, in tiyn (a per-lot price is divided by the quantity)"})
    price_max = _money(strict=False, load_default=None,
                       metadata={"description": "Price per tonne up to, in tiyn"})
    near = fields.Integer(load_default=None, error_messages=_errors(invalid=NOT_INTEGER), metadata={
        "description": "Id of a site of the token's organisation: origin of `sort=distance`"})
    sort = _choice(SORTS, load_default="", metadata={
        "description": "Default: `relevance` with words in `q`, `newest` without"})
    before = _page_number("Keyset page of the `newest` order: lots with an id below this", load_default=None)
    page = _page_number("Page number (from 1) of the other orders", load_default=1)
    limit = fields.Integer(load_default=DEFAULT_LOT_PAGE, error_messages=_errors(invalid=NOT_INTEGER),
                           validate=validate.Range(min=1, max=MAX_LOT_PAGE, error=_l("От {min} до {max}.")),
                           metadata={"description": f"Lots per page, 1 to {MAX_LOT_PAGE}"})


# Output -------------------------------------------------------------------------------------


class HolderSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    address = fields.String(dump_only=True)
    contact_phone = fields.String(dump_only=True, allow_none=True)
    contact_email = fields.String(dump_only=True, allow_none=True)


def _owner(description: str) -> dict:
    return {"description": f"{description} (only for a `lots:write` token of the holder)"}


class LotSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    url = fields.String(dump_only=True, metadata={"description": "The lot's public web page"})
    state = fields.String(dump_only=True, metadata={"enum": ["draft", "published", "closed", "awarded",
                                                             "transferred", "withdrawn"]})
    state_label = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    source = fields.String(dump_only=True, metadata={"enum": ["stream", "formation"]})
    waste_code = fields.String(dump_only=True, allow_none=True, metadata={"example": "100601"})
    waste_code_display = fields.String(dump_only=True, allow_none=True, metadata={"example": "10 06 01"})
    waste_title = fields.String(dump_only=True, allow_none=True)
    hazardous = fields.Boolean(dump_only=True)
    quantity = Tonnes(dump_only=True)
    unit = fields.String(dump_only=True, metadata={"enum": list(UNITS)})
    min_take = Tonnes(dump_only=True, allow_none=True)
    monthly_quantity = Tonnes(dump_only=True, allow_none=True, metadata={
        "description": "A recurring supply: this much a month from supply_from to supply_to"})
    supply_from = fields.Date(dump_only=True, allow_none=True)
    supply_to = fields.Date(dump_only=True, allow_none=True)
    region_kato = fields.String(dump_only=True)
    region_name = fields.String(dump_only=True, allow_none=True)
    lat = fields.Float(dump_only=True, allow_none=True)
    lon = fields.Float(dump_only=True, allow_none=True)
    available_from = fields.Date(dump_only=True, allow_none=True)
    available_to = fields.Date(dump_only=True, allow_none=True)
    delivery = fields.String(dump_only=True, metadata={"enum": list(DELIVERY_TERMS)})
    pricing_mode = fields.String(dump_only=True, metadata={"enum": list(PRICING_MODES)})
    mode_label = fields.String(dump_only=True)
    price_basis = fields.String(dump_only=True, metadata={"enum": list(PRICE_BASES)})
    price = fields.Integer(dump_only=True, allow_none=True, metadata={
        "description": "Tiyn: the fixed price or the starting price of an auction"})
    price_display = fields.String(dump_only=True, allow_none=True, metadata={"example": "12 500 ₸"})
    increment = fields.Integer(dump_only=True, allow_none=True, metadata={"description": "Tiyn"})
    increment_display = fields.String(dump_only=True, allow_none=True)
    ends_at = fields.DateTime(dump_only=True, allow_none=True)
    anti_snipe_minutes = fields.Integer(dump_only=True)
    mandatory = fields.Boolean(dump_only=True, metadata={"description": "A mandatory offer"})
    published_at = fields.DateTime(dump_only=True, allow_none=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    holder = fields.Nested(HolderSchema, dump_only=True, allow_none=True, metadata={
        "description": "The holder and its contacts: with a token only (like the web page after login)"})
    stream_id = fields.Integer(dump_only=True, allow_none=True, metadata=_owner("Source stream"))
    formation_id = fields.Integer(dump_only=True, allow_none=True, metadata=_owner("Source formation"))
    reserve_price = fields.Integer(dump_only=True, allow_none=True, metadata=_owner("Reserve price, tiyn"))
    reserve_price_display = fields.String(dump_only=True, allow_none=True, metadata=_owner("Reserve price"))
    state_reason = fields.String(dump_only=True, allow_none=True, metadata=_owner("Why withdrawn"))


class LotPageSchema(BaseSchema):
    items = fields.List(fields.Nested(LotSchema), dump_only=True)
    sort = fields.String(dump_only=True, metadata={"description": "The order applied"})
    limit = fields.Integer(dump_only=True)
    next = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "URL of the next page, null on the last one"})


def _money_text(tiyn: int | None) -> str | None:
    return None if tiyn is None else format_kzt(tiyn)


PLAIN = ("id", "state", "state_label", "title", "description", "waste_code", "hazardous", "quantity",
         "unit", "min_take", "monthly_quantity", "supply_from", "supply_to", "region_kato", "lat", "lon",
         "available_from", "available_to", "delivery", "pricing_mode", "mode_label", "price_basis",
         "price", "increment", "ends_at", "anti_snipe_minutes", "mandatory", "published_at",
         "closed_at", "created_at", "updated_at")


def lot_payload(lot: Lot, *, holder: bool, owner: bool) -> dict:
    """What LotSchema dumps: public fields; the holder with a token; the holder's own fields."""
    data = {name: getattr(lot, name) for name in PLAIN}
    org = lot.organization
    data.update(
        url=url_for("lots.show_lot", lot_id=lot.id, _external=True),
        source="stream" if lot.stream_id is not None else "formation",
        waste_code_display=lot.code.code if lot.code else lot.waste_code,
        waste_title=lot.code.title if lot.code else None,
        region_name=lot.region.name if lot.region else None,
        price_display=_money_text(lot.price), increment_display=_money_text(lot.increment),
        holder={"id": org.id, "name": org.name, "address": org.address,
                "contact_phone": org.contact_phone, "contact_email": org.contact_email} if holder else None,
    )
    if owner:
        data.update(stream_id=lot.stream_id, formation_id=lot.formation_id, reserve_price=lot.reserve_price,
                    reserve_price_display=_money_text(lot.reserve_price), state_reason=lot.state_reason)
    return data


# Requests -----------------------------------------------------------------------------------


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError([REQUIRED])  # a list: a bare lazy string would be split into letters


def _positive(value) -> None:
    if value <= 0:
        raise ValidationError([_l("Количество должно быть больше нуля.")])


def _tonnes(description: str, **kwargs) -> QuantityInput:
    return QuantityInput(validate=_positive, error_messages=_errors(), metadata={
        "description": description,
        "oneOf": [{"type": "string", "example": "12.500"}, {"type": "number"}]}, **kwargs)


def _id(description: str) -> fields.Integer:
    return fields.Integer(load_default=None, allow_none=True, error_messages=_errors(invalid=NOT_INTEGER),
                          metadata={"description": description})


def _date(**kwargs) -> fields.Date:
    return fields.Date(load_default=None, allow_none=True, error_messages=_errors(invalid=NOT_DATE), **kwargs)


class LotCreateSchema(BaseSchema):
    stream_id = _id("A waste stream of the organisation (or formation_id)")
    formation_id = _id("A TMO formation of the organisation (or stream_id)")
    title = fields.String(required=True, validate=[validate.Length(max=200, error=TOO_LONG), _not_blank],
                          error_messages=_errors(invalid=NOT_STRING))
    description = _text(8000, load_default="")
    quantity = _tonnes("Tonnes, up to 3 decimals; for a recurring supply the total (may be omitted)",
                       load_default=None, allow_none=True)
    min_take = _tonnes("Minimum take, tonnes", load_default=None, allow_none=True)
    pricing_mode = _choice(PRICING_MODES, required=True)
    price = _money(load_default=None, allow_none=True, metadata={
        "description": "Tiyn: the price (fixed) or the starting price (English and reverse auctions; "
                       "optional for sealed bids); none for a free transfer"})
    price_basis = _choice(PRICE_BASES, load_default="per_t")
    increment = _money(load_default=None, allow_none=True, metadata={
        "description": "Tiyn: the auction step (English and reverse auctions)"})
    reserve_price = _money(load_default=None, allow_none=True, metadata={
        "description": "Tiyn: below it the lot is not sold (auctions, optional)"})
    ends_at = fields.AwareDateTime(load_default=None, allow_none=True, error_messages=_errors(
        invalid=_l("Нужны дата и время ISO 8601 с часовым поясом, например 2026-12-01T12:00:00+05:00."),
        invalid_awareness=_l("Укажите часовой пояс, например 2026-12-01T12:00:00+05:00 или …Z.")),
        metadata={"description": "End of an auction, ISO 8601 with a time zone"})
    anti_snipe_minutes = fields.Integer(load_default=0, error_messages=_errors(invalid=NOT_INTEGER),
                                        validate=validate.Range(min=0, error=_l("Не меньше {min}.")),
                                        metadata={"description": "A late bid extends the auction by this"})
    delivery = _choice(DELIVERY_TERMS, load_default="pickup")
    available_from = _date()
    available_to = _date()
    monthly_quantity = _tonnes("A recurring supply: tonnes a month (with supply_from and supply_to)",
                               load_default=None, allow_none=True)
    supply_from = _date()
    supply_to = _date()

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data, **_kwargs):
        """Rules between fields; a field that failed on its own is absent from `data`."""
        errors = {}

        def both_none(a, b):
            return a in data and b in data and data[a] is None and data[b] is None

        if both_none("stream_id", "formation_id") or (
                data.get("stream_id") is not None and data.get("formation_id") is not None):
            errors["stream_id"] = [_l("Укажите stream_id (поток отходов) или formation_id (объект ТМО) — "
                                      "одно из двух.")]
        if both_none("quantity", "monthly_quantity"):
            errors["quantity"] = [REQUIRED]
        mode = data.get("pricing_mode")
        if mode == "free" and data.get("price") is not None:
            errors["price"] = [_l("Безвозмездная передача — без цены.")]
        if mode is not None and mode not in AUCTION_MODES:
            for name in ("increment", "reserve_price", "ends_at"):
                if data.get(name) is not None:
                    errors[name] = [_l("Только для аукционов и закрытых предложений.")]
            if data.get("anti_snipe_minutes"):
                errors["anti_snipe_minutes"] = [_l("Только для аукционов и закрытых предложений.")]
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def to_operation(data: dict) -> dict:
        """The keyword arguments of create_lot (without the source and the actor)."""
        out = {k: v for k, v in data.items() if k not in ("stream_id", "formation_id")}
        if out["ends_at"] is not None:
            out["ends_at"] = out["ends_at"].astimezone(UTC)
        return out


class LotWithdrawSchema(BaseSchema):
    reason = fields.String(required=True, validate=[validate.Length(max=1000, error=TOO_LONG), _not_blank],
                           error_messages=_errors(invalid=NOT_STRING),
                           metadata={"description": "Shown on the lot's page and in its history"})
