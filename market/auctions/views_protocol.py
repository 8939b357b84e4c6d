"""The auction protocol on the web: a page and a PDF, for anyone logged in, after the close."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user, login_required

from market.auctions.protocol import available, build
from market.extensions import db
from market.lots.models import Lot

bp = Blueprint("auction_protocol", __name__)


def _closed_lot(lot_id: int) -> Lot:
    """404 for a lot without a protocol: unknown, not sold by bids or a fixed price, or whose
    bidding is not over (a draft, a published or a withdrawn lot)."""
    lot = db.session.get(Lot, lot_id)
    if not available(lot):
        abort(404)
    return lot


@bp.app_template_global()
def has_protocol(lot: Lot | None) -> bool:
    """Whether the lot page links to the protocol (the lot's bidding is over)."""
    return available(lot)


@bp.get("/lots/<int:lot_id>/protocol")
@login_required
def show(lot_id: int):
    """The protocol of the lot's auction as a page."""
    lot = _closed_lot(lot_id)
    return render_template("auctions/protocol.html", lot=lot, p=build(lot, current_user))


@bp.get("/lots/<int:lot_id>/protocol.pdf")
@login_required
def pdf(lot_id: int):
    """The protocol as PDF (DejaVu fonts embedded: Cyrillic and Kazakh letters)."""
    from market.registry.pdf import render_pdf

    lot = _closed_lot(lot_id)
    html = render_template("auctions/protocol_pdf.html", lot=lot, p=build(lot, current_user))
    return Response(render_pdf(html), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="protocol-lot-{lot.id}.pdf"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
