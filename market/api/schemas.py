"""Marshmallow schemas of the API: they validate requests and document the OpenAPI paths.

Quantities are Decimal strings with three decimals ("12.500", tonnes to the kilogram),
never floats. Validation messages are lazy strings, rendered in the request's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from market.core.errors import DomainError
from market.registry.journal import parse_quantity
from market.registry.models import RecordKind

REQUIRED = _l("Обязательное поле.")
NOT_NULL = _l("Значение не может быть null.")
NOT_STRING = _l("Нужна строка.")
NOT_INTEGER = _l("Нужно целое число.")
NOT_DATE = _l("Нужна дата в формате ГГГГ-ММ-ДД.")
TOO_LONG = _l("Не длиннее {max} символов.")

API_RECORD_KINDS = [k.value for k in RecordKind if k is not RecordKind.correction]
MAX_PAGE = 500
DEFAULT_PAGE = 100


def _errors(**extra) -> dict:
    return {"required": REQUIRED, "null": NOT_NULL, **extra}


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=max_length, error=TOO_LONG),
                         error_messages=_errors(invalid=NOT_STRING), **kwargs)


class BaseSchema(Schema):
    error_messages = {
        "unknown": _l("Неизвестное поле."),
        "type": _l("Ожидается JSON-объект."),
    }


class Tonnes(fields.Decimal):
    """Decimal tonnes written as a string with three decimals."""

    def __init__(self, **kwargs):
        metadata = {"type": "string", "format": "decimal", "example": "12.500",
                    **kwargs.pop("metadata", {})}
        super().__init__(places=3, as_string=True, metadata=metadata, **kwargs)


class QuantityInput(fields.Field):
    """Tonnes as a string ("12,5" or "12.500") or a JSON number; at most 3 decimals."""

    default_error_messages = {
        "invalid": _l("Количество — строка или число в тоннах, например \"12.500\"."),
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.make_error("invalid")
        if isinstance(value, str) and len(value) > 30:
            raise self.make_error("invalid")
        try:
            return parse_quantity(value)
        except DomainError as exc:
            raise ValidationError(str(exc)) from None


# Objects -----------------------------------------------------------------------------------


class SiteSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    kind = fields.String(dump_only=True, metadata={
        "description": "production | storage | processing | disposal"})
    region_kato = fields.String(dump_only=True, metadata={"description": "КАТО code of the region"})
    address = fields.String(dump_only=True)
    lat = fields.Float(dump_only=True, allow_none=True)
    lon = fields.Float(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class StreamSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    site_id = fields.Integer(dump_only=True)
    waste_code = fields.String(dump_only=True, metadata={
        "description": "Six digits of the waste classifier, e.g. 100201", "example": "100201"})
    waste_code_display = fields.Function(lambda s: s.code.code if s.code else s.waste_code,
                                         dump_only=True, metadata={"type": "string",
                                                                   "example": "10 02 07*"})
    name = fields.String(dump_only=True)
    description = fields.String(dump_only=True, allow_none=True)
    physical_state = fields.String(dump_only=True)
    storage_purpose = fields.String(dump_only=True, metadata={
        "description": "generation | recovery | disposal"})
    hazardous = fields.Boolean(dump_only=True)
    hazard_properties = fields.List(fields.String(), dump_only=True)
    balance = Tonnes(dump_only=True)
    reserved = Tonnes(dump_only=True, metadata={"description": "Offered in open lots"})
    available = Tonnes(dump_only=True, metadata={"description": "balance − reserved"})
    oldest_stock_date = fields.Date(dump_only=True, allow_none=True)
    must_offer_since = fields.Date(dump_only=True, allow_none=True, metadata={
        "description": "Set when the oldest stock is past its storage limit"})
    created_at = fields.DateTime(dump_only=True)


class RecordSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    stream_id = fields.Integer(dump_only=True)
    site_id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"enum": [k.value for k in RecordKind]})
    quantity = Tonnes(dump_only=True, metadata={"description": "As entered, always positive"})
    delta = Tonnes(dump_only=True, metadata={"description": "Signed effect on the balance"})
    balance_after = Tonnes(dump_only=True)
    event_date = fields.Date(dump_only=True)
    entered_at = fields.DateTime(dump_only=True)
    source = fields.String(dump_only=True, metadata={"description": "form | import | api"})
    operation_code = fields.String(dump_only=True, allow_none=True)
    counterparty = fields.String(dump_only=True, allow_none=True)
    document = fields.String(dump_only=True, allow_none=True)
    note = fields.String(dump_only=True, allow_none=True)
    corrects_id = fields.Integer(dump_only=True, allow_none=True)
    idempotency_key = fields.String(dump_only=True, allow_none=True)


class RecordPageSchema(BaseSchema):
    items = fields.List(fields.Nested(RecordSchema), dump_only=True)
    limit = fields.Integer(dump_only=True)
    next = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "URL of the next page, null on the last one"})


class BalanceSchema(BaseSchema):
    waste_code = fields.String(dump_only=True)
    hazardous = fields.Boolean(dump_only=True)
    streams = fields.Integer(dump_only=True, metadata={"description": "Number of streams summed"})
    balance = Tonnes(dump_only=True)
    reserved = Tonnes(dump_only=True)
    available = Tonnes(dump_only=True)


class StreamBalanceSchema(BaseSchema):
    stream_id = fields.Integer(dump_only=True)
    site_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    waste_code = fields.String(dump_only=True)
    hazardous = fields.Boolean(dump_only=True)
    balance = Tonnes(dump_only=True)
    reserved = Tonnes(dump_only=True)
    available = Tonnes(dump_only=True)


class SiteBalanceSchema(BaseSchema):
    site_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    by_waste_code = fields.List(fields.Nested(BalanceSchema), dump_only=True)


class BalancesSchema(BaseSchema):
    organization_id = fields.Integer(dump_only=True)
    streams = fields.List(fields.Nested(StreamBalanceSchema), dump_only=True)
    sites = fields.List(fields.Nested(SiteBalanceSchema), dump_only=True)
    organization = fields.List(fields.Nested(BalanceSchema), dump_only=True, metadata={
        "description": "Sums over the whole organisation, by waste code"})


# Requests ----------------------------------------------------------------------------------


class StreamQuerySchema(BaseSchema):
    site_id = fields.Integer(load_default=None, error_messages=_errors(invalid=NOT_INTEGER))
    waste_code = fields.String(load_default=None, metadata={
        "description": "Waste code, with or without spaces and asterisk (100201, 10 02 07*)"},
        validate=validate.Length(max=12, error=TOO_LONG), error_messages=_errors(invalid=NOT_STRING))


class RecordPageQuerySchema(BaseSchema):
    after_id = fields.Integer(load_default=0, metadata={
        "description": "Return records with an id greater than this (the last id of a page)"},
        validate=validate.Range(min=0, error=_l("Не меньше {min}.")),
        error_messages=_errors(invalid=NOT_INTEGER))
    limit = fields.Integer(load_default=DEFAULT_PAGE, metadata={"description": "1 to 500"},
                           validate=validate.Range(min=1, max=MAX_PAGE,
                                                   error=_l("От {min} до {max}.")),
                           error_messages=_errors(invalid=NOT_INTEGER))


class RecordCreateSchema(BaseSchema):
    kind = fields.String(required=True, metadata={"enum": API_RECORD_KINDS},
                         validate=validate.OneOf(API_RECORD_KINDS,
                                                 error=_l("Допустимые значения: {choices}.")),
                         error_messages=_errors(invalid=NOT_STRING))
    quantity = QuantityInput(required=True, error_messages=_errors(), metadata={
        "description": "Tonnes, up to 3 decimals; a string is safer than a JSON number",
        "oneOf": [{"type": "string", "example": "12.500"}, {"type": "number"}]})
    event_date = fields.Date(required=True, error_messages=_errors(invalid=NOT_DATE),
                             metadata={"description": "When it happened (not the entry date)"})
    operation_code = fields.String(load_default=None, allow_none=True, metadata={
        "description": "Basel R1–R13 for processed, D1–D15 for disposed; none otherwise"},
        validate=validate.Length(max=4, error=TOO_LONG), error_messages=_errors(invalid=NOT_STRING))
    counterparty = _text(300, load_default=None, allow_none=True)
    document = _text(200, load_default=None, allow_none=True)
    note = _text(2000, load_default=None, allow_none=True)


class IdempotencyHeaderSchema(Schema):
    """Only the Idempotency-Key header; the other headers are not this schema's business."""

    class Meta:
        unknown = "exclude"

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(r"^[\x21-\x7e]{1,100}$", error=_l(
            "Idempotency-Key — от 1 до 100 видимых символов ASCII.")),
        error_messages=_errors(invalid=NOT_STRING),
        metadata={"description": "Retries with the same key and body return the first answer"})
