"""API v1 agreements: the agreement of a deal (status, current version and its SHA-256, the
parties' signatures of it) and its PDF in Russian or Kazakh.

Any active token of a party's organisation (the seller or the buyer) reads it, whatever its
scopes; every other token gets 404, as for a deal that does not exist. Officials have no tokens
(tokens belong to organisations). As on the agreement page, an agreement whose deal still waits
for signatures is brought up to date first (a party's details changed: a new version).
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Response, current_app, g, url_for
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from sqlalchemy.exc import SQLAlchemyError

from market.api.auth import REALM, acting_user, bearer_secret, current_token, rate_limit, rate_limit_key
from market.api.errors import MESSAGES, register_error_handlers
from market.api.schemas_deals import AgreementPdfQuerySchema, AgreementSchema
from market.api.tokens import find_active, touch
from market.core.errors import DomainError
from market.core.txn import commit, rollback
from market.deals import agreement_pdf, agreements, signing
from market.deals.models import Deal
from market.extensions import csrf, db, limiter

TAG = "Agreements"
ERROR = {code: HTTPStatus(code).name for code in (401, 404, 422)}

bp = Blueprint("api_agreements", __name__, url_prefix="/api/v1",
               description="The agreement of a deal of the token's organisation and its PDF.")


def _token() -> None:
    """before_request: a valid bearer token of any scope (the party check is per deal)."""
    secret = bearer_secret()
    if secret is None:
        abort(401, message=MESSAGES[401], headers={"WWW-Authenticate": REALM})
    token = find_active(secret)
    if token is None:
        abort(401, message=_l("API-токен недействителен или отозван."),
              headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
    if touch(token):
        commit()  # a tiny transaction of its own, at most once a minute per token
    g.api_token = token


bp.before_request(_token)
register_error_handlers(bp)
csrf.exempt(bp)
limiter.shared_limit(rate_limit, scope="api-v1", key_func=rate_limit_key)(bp)


def _deal(deal_id: int) -> Deal:
    """404 unless the token's organisation is the deal's seller or buyer."""
    deal = db.session.get(Deal, deal_id) if deal_id <= 2 ** 31 - 1 else None
    org_id = current_token().organization_id
    if deal is None or org_id not in (deal.seller_id, deal.buyer_id):
        abort(404, message=_l("Сделка не найдена."))
    return deal


def _agreement(deal_id: int):
    """The deal, its agreement brought up to date (committed) and the current version; 404 while
    there is none (a deal that failed before its agreement was drawn up)."""
    deal = _deal(deal_id)
    if agreements.needs_sync(deal):
        try:
            agreements.sync_agreement(deal, actor=acting_user())
            commit()
        except (SQLAlchemyError, DomainError):
            rollback()
            current_app.logger.warning("agreement of deal %s not synced", deal_id, exc_info=True)
        deal = _deal(deal_id)
    agreement = agreements.agreement_of(deal)
    if agreement is None or agreement.current is None:
        abort(404, message=_l("Договор по этой сделке не составлен."))
    return deal, agreement, agreement.current


@bp.route("/deals/<int:deal_id>/agreement", tags=[TAG])
@bp.response(200, AgreementSchema)
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(404, response=ERROR[404])
def get_agreement(deal_id: int):
    """The agreement of a deal of the token's organisation

    Its status (`signing`, `signed`), the current version's number and SHA-256, and the valid
    signatures of that version: party, organisation (БИН), method, time.
    """
    deal, agreement, version = _agreement(deal_id)
    signatures = [{"party": s.party, "method": s.method, "signed_at": s.signed_at,
                   "sha256": s.sha256,
                   "organization": {"bin": s.organization.bin, "name": s.organization.name}}
                  for _party, s in sorted(signing.valid_signatures(agreement).items())]
    return {"deal_id": deal.id, "deal_state": deal.state, "status": agreement.state,
            "status_label": agreement.state_label, "version": version.number,
            "sha256": version.sha256, "version_created_at": version.created_at,
            "signed_at": agreement.signed_at, "signatures": signatures,
            "pdf": {lang: url_for("api_agreements.get_agreement_pdf", deal_id=deal.id, lang=lang)
                    for lang in ("ru", "kk")}}


@bp.route("/deals/<int:deal_id>/agreement.pdf", tags=[TAG])
@bp.arguments(AgreementPdfQuerySchema, location="query")
@bp.response(200, content_type="application/pdf",
             description="The current version as PDF, its SHA-256 printed and in X-Agreement-SHA256")
@bp.alt_response(401, response=ERROR[401])
@bp.alt_response(404, response=ERROR[404])
@bp.alt_response(422, response=ERROR[422])
def get_agreement_pdf(args, deal_id: int):
    """The agreement as PDF (`lang`: ru or kk)"""
    deal, agreement, version = _agreement(deal_id)
    lang = args["lang"]
    pdf = agreement_pdf.agreement_pdf(deal, agreement, version,
                                      signing.valid_signatures(agreement), lang)
    filename = f"agreement-{deal.id}-v{version.number}-{lang}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Agreement-SHA256": version.sha256, "X-Content-Type-Options": "nosniff"})
