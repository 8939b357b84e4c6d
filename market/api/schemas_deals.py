"""Marshmallow schemas of the agreements and public ledger APIs.

Hashes are lowercase hex SHA-256; times ISO 8601 in UTC (the ledger's also as Unix seconds, the
form its leaves and signed tree heads carry).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from market.api.schemas import NOT_INTEGER, NOT_STRING, BaseSchema, _errors
from market.api.schemas_lots import CHOICES
from market.deals.models_agreement import AGREEMENT_STATES, PARTIES, SIGNATURE_METHODS

BIGINT = 2 ** 63 - 1
LANGS = ("ru", "kk")


def _size(description: str, **kwargs) -> fields.Integer:
    return fields.Integer(metadata={"description": description},
                          error_messages=_errors(invalid=NOT_INTEGER),
                          validate=validate.Range(min=1, max=BIGINT, error=_l("От {min} до {max}.")),
                          **kwargs)


# Agreements ----------------------------------------------------------------------------------
class SignatoryOrgSchema(BaseSchema):
    bin = fields.String(dump_only=True, metadata={"description": "БИН, 12 digits"})
    name = fields.String(dump_only=True)


class AgreementSignatureSchema(BaseSchema):
    party = fields.String(dump_only=True, metadata={"enum": list(PARTIES)})
    organization = fields.Nested(SignatoryOrgSchema, dump_only=True)
    method = fields.String(dump_only=True, metadata={"enum": list(SIGNATURE_METHODS)})
    signed_at = fields.DateTime(dump_only=True)
    sha256 = fields.String(dump_only=True, metadata={"description": "The hash signed"})


class AgreementPdfLinksSchema(BaseSchema):
    ru = fields.String(dump_only=True)
    kk = fields.String(dump_only=True)


class AgreementSchema(BaseSchema):
    """The agreement of a deal: its current version and the parties' valid signatures of it."""

    deal_id = fields.Integer(dump_only=True)
    deal_state = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": list(AGREEMENT_STATES)})
    status_label = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={"description": "Current version number"})
    sha256 = fields.String(dump_only=True, metadata={
        "description": "SHA-256 of the current version's canonical JSON"})
    version_created_at = fields.DateTime(dump_only=True)
    signed_at = fields.DateTime(dump_only=True, allow_none=True)
    signatures = fields.List(fields.Nested(AgreementSignatureSchema), dump_only=True, metadata={
        "description": "Signatures over the current version (those of older versions are void)"})
    pdf = fields.Nested(AgreementPdfLinksSchema, dump_only=True)


class AgreementPdfQuerySchema(BaseSchema):
    lang = fields.String(load_default="ru", metadata={"enum": list(LANGS)},
                         validate=validate.OneOf(list(LANGS), error=CHOICES),
                         error_messages=_errors(invalid=NOT_STRING))


# Ledger ---------------------------------------------------------------------------------------
class TreeHeadSchema(BaseSchema):
    tree_size = fields.Integer(dump_only=True)
    root_hash = fields.String(dump_only=True)
    timestamp = fields.Integer(dump_only=True, metadata={"description": "Unix seconds, UTC"})
    timestamp_iso = fields.String(dump_only=True)
    signature = fields.String(dump_only=True, metadata={"description": "Ed25519, hex"})
    key_id = fields.String(dump_only=True)
    signed_message = fields.String(dump_only=True)


class InclusionSchema(BaseSchema):
    leaf_index = fields.Integer(dump_only=True)
    tree_size = fields.Integer(dump_only=True)
    audit_path = fields.List(fields.String(), dump_only=True)


class LedgerEntrySchema(BaseSchema):
    """One entry, and its inclusion proof in a signed tree head (null before the first head or
    when the head does not include it yet)."""

    sequence = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    time = fields.Integer(dump_only=True)
    time_iso = fields.String(dump_only=True)
    payload = fields.Dict(dump_only=True)
    payload_canonical = fields.String(dump_only=True)
    leaf = fields.String(dump_only=True)
    leaf_hash = fields.String(dump_only=True)
    tree_head = fields.Nested(TreeHeadSchema, dump_only=True, allow_none=True)
    inclusion = fields.Nested(InclusionSchema, dump_only=True, allow_none=True)


class LedgerEntryQuerySchema(BaseSchema):
    tree_size = _size("The inclusion proof in the tree head of this size (default: the latest)",
                      load_default=None)


class ConsistencyQuerySchema(BaseSchema):
    first = _size("Size of the older published tree head", required=True)
    second = _size("Size of the newer published tree head", required=True)


class ConsistencySchema(BaseSchema):
    first = fields.Nested(TreeHeadSchema, dump_only=True)
    second = fields.Nested(TreeHeadSchema, dump_only=True)
    consistency_path = fields.List(fields.String(), dump_only=True)
