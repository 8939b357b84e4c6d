"""Home page, language switch, notifications."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from market.core.models import Notification
from market.core.timeutil import utcnow
from market.core.txn import commit
from market.core.web import safe_next
from market.extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Landing page: what the platform is, with live counts."""
    from market.accounts.models import Organization
    from market.refdata.models import WasteCode

    stats = {
        "orgs": db.session.scalar(select(func.count(Organization.id)).where(
            Organization.state == "verified")),
        "codes": db.session.scalar(select(func.count(WasteCode.code6))),
    }
    return render_template("main/index.html", stats=stats)


@bp.get("/healthz")
def healthz():
    """Liveness probe for load balancers."""
    db.session.execute(select(1))
    return {"status": "ok"}


@bp.post("/language")
def set_language():
    """Switch the interface language and remember it (session, and the account)."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        from market.accounts.operations import set_locale

        set_locale(current_user, lang)
        commit()
    return redirect(safe_next(request.form.get("next"), url_for("main.index")))


@bp.get("/notifications")
@login_required
def list_notifications():
    """The user's in-app notifications, newest first."""
    page = db.paginate(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc()),
        per_page=current_app.config["PAGE_SIZE"], error_out=False,
    )
    return render_template("main/notifications.html", page=page)


@bp.post("/notifications/read")
@login_required
def read_notifications():
    """Mark every notification of the user as read."""
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    commit()
    return redirect(url_for("main.list_notifications"))
