"""Saved searches with alerts, and the watch list."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import Length, Optional

from market.core.errors import DomainError
from market.core.txn import commit, rollback
from market.core.web import safe_next
from market.extensions import db
from market.lots import saved, watch
from market.lots.forms import ActionForm
from market.lots.models import UNITS, Lot
from market.lots.models_interest import SavedSearch
from market.lots.query import LotQuery
from market.lots.views import PUBLIC_STATES, STATE_COLORS, price_text

bp = Blueprint("saved", __name__)


class SaveSearchForm(FlaskForm):
    """The search's conditions come as hidden fields of the search page (LotQuery)."""

    name = StringField(_l("Название поиска"), validators=[Optional(), Length(max=saved.NAME_MAX)])
    alerts = BooleanField(_l("Сообщать о новых лотах"))


class RenameForm(FlaskForm):
    name = StringField(_l("Название поиска"), validators=[Length(max=saved.NAME_MAX)])


class AlertsForm(FlaskForm):
    alerts = HiddenField()  # "1": on, anything else: off


@bp.app_context_processor
def _interest_helpers():
    """For the partials on the lot pages (templates/lots/_search_actions.html, _watch.html)."""
    return {"saved_search_for": lambda filters: saved.find_saved(current_user, filters),
            "default_search_name": saved.default_name,
            "is_watching": lambda lot: watch.is_watching(current_user, lot),
            "watcher_count": watch.watcher_count}


def _search(search_id: int) -> SavedSearch:
    """404 for a search that does not exist or is someone else's."""
    search = db.session.get(SavedSearch, search_id)
    if search is None or search.user_id != current_user.id:
        abort(404)
    return search


def _done(message: str | None, error: DomainError | None = None) -> None:
    if error is not None:
        rollback()
        flash(str(error), "danger")
    else:
        commit()
        if message:
            flash(message, "success")


@bp.post("/saved/")
@login_required
def save_search():
    """Save the search of the search page (name: its summary unless given)."""
    query = LotQuery.from_args(request.form)
    back = url_for("lots.list_lots", **query.to_args())
    form = SaveSearchForm()
    if not form.validate_on_submit():
        flash(_("Название поиска — не длиннее %(n)s знаков.", n=saved.NAME_MAX), "danger")
        return redirect(back)
    try:
        search = saved.save_search(current_user, query=query, name=form.name.data or "",
                                   alerts=form.alerts.data, organization=current_user.current_org)
    except DomainError as exc:
        _done(None, exc)
    else:
        _done(_("Поиск «%(name)s» сохранён. Новые подходящие лоты появятся в уведомлениях и в "
                "утреннем письме.", name=search.name) if search.alerts else
              _("Поиск «%(name)s» сохранён (без уведомлений).", name=search.name))
    return redirect(back)


@bp.get("/saved/")
@login_required
def list_searches():
    """My saved searches: conditions, alerts, new lots found, open and delete."""
    rows = []
    for search, hits in saved.user_searches(current_user):
        query = LotQuery.from_args(search.params or {})
        # the conditions in words, unless the name already says them
        summary = query.describe() if saved.default_name(query) != search.name else ""
        rows.append((search, hits, summary))
    return render_template("saved/list.html", rows=rows, action_form=ActionForm(),
                           limit=saved.MAX_SAVED_SEARCHES)


@bp.post("/saved/<int:search_id>/rename")
@login_required
def rename_search(search_id: int):
    """Rename a saved search."""
    search = _search(search_id)
    form = RenameForm()
    if not form.validate_on_submit():
        flash(_("Название поиска — не длиннее %(n)s знаков.", n=saved.NAME_MAX), "danger")
        return redirect(url_for("saved.list_searches"))
    try:
        saved.rename_search(search, actor=current_user, name=form.name.data or "")
    except DomainError as exc:
        _done(None, exc)
    else:
        _done(_("Название сохранено."))
    return redirect(url_for("saved.list_searches"))


@bp.post("/saved/<int:search_id>/alerts")
@login_required
def set_alerts(search_id: int):
    """Switch the alerts of a saved search on or off."""
    search = _search(search_id)
    form = AlertsForm()
    if not form.validate_on_submit():
        abort(400)
    saved.set_alerts(search, actor=current_user, alerts=form.alerts.data == "1")
    _done(_("Уведомления по поиску «%(name)s» включены.", name=search.name) if search.alerts else
          _("Уведомления по поиску «%(name)s» выключены.", name=search.name))
    return redirect(url_for("saved.list_searches"))


@bp.post("/saved/<int:search_id>/delete")
@login_required
def delete_search(search_id: int):
    """Delete a saved search (and the record of the lots it found)."""
    search = _search(search_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = search.name
    saved.delete_search(search, actor=current_user)
    _done(_("Поиск «%(name)s» удалён.", name=name))
    return redirect(url_for("saved.list_searches"))


@bp.get("/watchlist")
@login_required
def watchlist():
    """The lots I follow: state, price, end of trading; remove."""
    return render_template("saved/watchlist.html", rows=watch.watched_lots(current_user),
                           action_form=ActionForm(), limit=watch.MAX_WATCHES,
                           PUBLIC_STATES=PUBLIC_STATES, STATE_COLORS=STATE_COLORS,
                           price_text=price_text, UNITS=UNITS)


def _back_to(lot: Lot):
    return redirect(safe_next(request.form.get("next"), url_for("lots.show_lot", lot_id=lot.id)))


@bp.post("/lots/<int:lot_id>/watch")
@login_required
def watch_lot(lot_id: int):
    """Add a published lot to my watch list."""
    lot = db.session.get(Lot, lot_id)
    if lot is None or (lot.state not in PUBLIC_STATES and not current_user.membership_in(lot.organization)):
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        added = watch.watch_lot(lot, actor=current_user)
    except DomainError as exc:
        _done(None, exc)
    else:
        _done(_("Лот добавлен в избранное: мы сообщим об изменениях и окончании торгов.")
              if added else None)
    return _back_to(lot)


@bp.post("/lots/<int:lot_id>/unwatch")
@login_required
def unwatch_lot(lot_id: int):
    """Remove a lot from my watch list (in any state of the lot)."""
    lot = db.session.get(Lot, lot_id)
    if lot is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    removed = watch.unwatch_lot(lot, actor=current_user)
    _done(_("Лот убран из избранного.") if removed else None)
    return _back_to(lot)
