"""The exchange: lots offered from the registry, their public pages, the holder's lots."""

from __future__ import annotations

from datetime import UTC

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from market.accounts.models import Organization, OrgRole
from market.accounts.views_orgs import region_choices
from market.cadastre.models import Formation
from market.core import refcache
from market.core.errors import DomainError
from market.core.forms import options
from market.core.pagecache import anonymous_page
from market.core.timeutil import ALMATY, utcnow
from market.core.txn import commit, rollback
from market.core.web import db_int, tonnes_filter
from market.extensions import db
from market.lots import closing, interest
from market.lots import operations as ops
from market.lots.forms import AUCTION_MODES, ActionForm, EditLotForm, LotForm, WithdrawForm
from market.lots.models import DELIVERY_TERMS, PRICE_BASES, PRICING_MODES, UNITS, Lot, LotEvent
from market.lots.money import format_kzt, parse_kzt
from market.lots.query import LotQuery
from market.lots.reservation import ReservationError
from market.lots.search import distance_km, is_text_query, search_lots
from market.refdata.models import WasteChapter, _localized
from market.registry.models import Site, WasteStream

bp = Blueprint("lots", __name__, url_prefix="/lots")

PUBLIC_STATES = ("published", "closed", "awarded", "transferred")
EVENT_LABELS = {
    "created": _l("Лот создан"),
    "published": _l("Лот опубликован"),
    "edited": _l("Лот изменён"),
    "withdrawn": _l("Лот снят"),
    "closed": _l("Торги закрыты"),
    "awarded": _l("Определён покупатель"),
    "sold": _l("Продана часть лота"),
    "reopened": _l("Лот снова в продаже: покупка не состоялась"),
    "transferred": _l("Отходы переданы"),
    "file_added": _l("Добавлен файл"),
    "file_removed": _l("Удалён файл"),
}
STATE_COLORS = {"draft": "secondary", "published": "success", "closed": "dark",
                "awarded": "primary", "transferred": "info", "withdrawn": "warning"}


@bp.app_template_filter("kzt")
def kzt_filter(tiyn):
    return format_kzt(tiyn)


def price_text(lot: Lot) -> str:
    if lot.pricing_mode == "free":
        return _("Безвозмездно")
    if lot.price is None:
        return _("Цена — по предложениям покупателей")
    return f"{format_kzt(lot.price)} {PRICE_BASES.get(lot.price_basis, '')}".strip()


def _helpers():
    return dict(price_text=price_text, PRICING_MODES=PRICING_MODES, DELIVERY_TERMS=DELIVERY_TERMS,
                UNITS=UNITS, EVENT_LABELS=EVENT_LABELS, STATE_COLORS=STATE_COLORS,
                lot_end=closing.bidding_end)


def _is_member(lot: Lot) -> bool:
    return bool(current_user.is_authenticated and current_user.membership_in(lot.organization))


def _lot(lot_id: int, *, manage: bool = False) -> Lot:
    """404 for a lot the user may not see; 403 when visible but not manageable."""
    lot = db.session.get(Lot, lot_id)
    if lot is None or (lot.state not in PUBLIC_STATES and not _is_member(lot)):
        abort(404)
    if manage and not lot.can_edit(current_user):
        abort(403)
    return lot


def _qty_input(value) -> str:
    """Tonnes as a form prefill: '12,5', '10' (no trailing zeros)."""
    if value is None:
        return ""
    return f"{value.normalize():f}".replace(".", ",")


def _to_utc(value):
    return value.replace(tzinfo=ALMATY).astimezone(UTC) if value else None


def _supply_args(form) -> dict:
    """A one-off lot's quantity and availability, or a recurring supply's month and period."""
    if form.is_recurring():
        return dict(quantity=None, monthly_quantity=form.monthly_quantity.data,
                    supply_from=form.supply_from.data, supply_to=form.supply_to.data,
                    available_from=None, available_to=None)
    return dict(quantity=form.quantity.data, available_from=form.available_from.data,
                available_to=form.available_to.data)


def _search_setup():
    """The search in the query string, the searcher's organisation, its sites with coordinates
    (distance sort) and the chosen origin."""
    query = LotQuery.from_args(request.args)
    org = current_user.current_org if current_user.is_authenticated else None
    sites = []
    if org is not None:
        sites = db.session.scalars(select(Site).where(Site.organization_id == org.id,
                                                      Site.lat.is_not(None))
                                   .order_by(Site.name)).all()
    origin = None
    if query.near is not None:
        site = next((s for s in sites if s.id == query.near), None)
        if site is None:
            query.errors.append(_l("Расстояние считается от площадки вашей организации: "
                                   "выберите её из списка."))
            query.near = None
        else:
            origin = (site.lat, site.lon)
    if query.allowed and org is None:
        query.errors.append(_l("Фильтр «по моим лицензиям» работает для организации: войдите и "
                               "выберите организацию."))
        query.allowed = False
    return query, org, sites, origin


@bp.get("/")
@anonymous_page
def list_lots():
    """Published lots: text or waste-code search (`q`), filters and sort order in the query string.

    Pagination: `before=<id>` (keyset) for the newest-first order, `page=` for the others
    (see market.lots.search).
    """
    per_page = current_app.config["PAGE_SIZE"]
    query, org, sites, origin = _search_setup()
    has_text = is_text_query(query.q)
    effective_sort = query.effective_sort(has_text, has_origin=origin is not None)
    keyset = effective_sort == "newest" or (effective_sort == "relevance" and not has_text)
    page = max(request.args.get("page", type=db_int) or 1, 1)
    before = request.args.get("before", type=db_int) if keyset else None
    rows = search_lots(query, org=org, origin=origin, before=before,
                       offset=0 if keyset else (page - 1) * per_page, limit=per_page + 1)
    more = len(rows) > per_page
    lots = rows[:per_page]
    filters = query.to_args()
    sorts = [("", _("По релевантности") if has_text else _("Сначала новые")),
             ("newest", _("Сначала новые")), ("ending", _("Скоро завершаются")),
             ("price", _("Сначала дешёвые (за тонну)"))]
    if not has_text:
        sorts.pop(1)
    if sites:
        sorts.append(("distance", _("Ближе к моей площадке")))
    return render_template(
        "lots/list.html", lots=lots, query=query, filters=filters, sorts=sorts, sites=sites,
        org=org, next_before=lots[-1].id if more and keyset else None,
        next_page=page + 1 if more and not keyset else None,
        distances={lot.id: distance_km(origin, lot.lat, lot.lon) for lot in lots} if origin else {},
        regions=region_choices(), chapters=_chapter_choices(), filtered=query.is_filtered,
        **_helpers())


def _chapter_choices():
    def build():
        chapters = db.session.scalars(select(WasteChapter).order_by(WasteChapter.chapter)).all()
        return options([("", "—")] + [(c.chapter, f"{c.chapter} — {_localized(c, 'title')[0]}")
                                      for c in chapters])

    return refcache.per_locale("chapters", build)


MAP_LIMIT = 2000  # markers on the map of a search; clustering keeps it readable


@bp.get("/map.json")
def map_data():
    """The lots of the same search as GeoJSON points, for the map of results."""
    query, org, _sites, _origin = _search_setup()
    query.sort = ""
    rows = search_lots(query, org=org, limit=MAP_LIMIT)
    features = [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lot.lon, lot.lat]},
        "properties": {"title": lot.title, "url": url_for("lots.show_lot", lot_id=lot.id),
                       "price": price_text(lot), "mode": lot.mode_label,
                       "quantity": f"{tonnes_filter(lot.quantity)} {UNITS.get(lot.unit, lot.unit)}",
                       "code": lot.code.code if lot.code else "", "mandatory": lot.mandatory},
    } for lot in rows if lot.lat is not None and lot.lon is not None]
    return {"type": "FeatureCollection", "features": features,
            "truncated": len(rows) >= MAP_LIMIT}


@bp.get("/mine")
@login_required
def my_lots():
    """Every lot of the organisation the user acts for, in every state."""
    org = current_user.current_org
    if org is None:
        flash(_("Сначала зарегистрируйте организацию или вступите в неё."), "info")
        return redirect(url_for("orgs.list_orgs"))
    lots = db.session.scalars(select(Lot).where(Lot.organization_id == org.id)
                              .order_by(Lot.id.desc())).all()
    return render_template("lots/mine.html", org=org, lots=lots,
                           can_manage=current_user.has_org_role(org, OrgRole.manager), **_helpers())


def _source():
    """The stream or formation named in the query string (404 when it does not exist)."""
    if stream_id := request.args.get("stream", type=db_int):
        stream = db.session.get(WasteStream, stream_id)
        if stream is None:
            abort(404)
        return stream, None
    if formation_id := request.args.get("formation", type=db_int):
        formation = db.session.get(Formation, formation_id)
        if formation is None:
            abort(404)
        return None, formation
    return None, None


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_lot():
    """A draft lot from a stream (?stream=) or a formation (?formation=); without one, a chooser."""
    stream, formation = _source()
    if stream is None and formation is None:
        return _choose_source()
    source = stream or formation
    org = db.session.get(Organization, source.organization_id)
    if not current_user.has_org_role(org, OrgRole.manager):
        abort(403)
    if stream is not None:
        form = LotForm(title=stream.name, quantity=_qty_input(max(stream.available, 0)))
    else:
        form = LotForm(title=formation.name)
    error = None
    if form.validate_on_submit():
        mode = form.pricing_mode.data
        auction = mode in AUCTION_MODES
        try:
            lot = ops.create_lot(
                org, actor=current_user, stream=stream, formation=formation,
                title=form.title.data, description=form.description.data or "",
                min_take=form.min_take.data or None, pricing_mode=mode,
                price=None if mode == "free" else parse_kzt(form.price.data),
                price_basis=form.price_basis.data,
                increment=parse_kzt(form.increment.data) if auction else None,
                reserve_price=parse_kzt(form.reserve_price.data) if auction else None,
                ends_at=_to_utc(form.ends_at.data) if auction else None,
                anti_snipe_minutes=(form.anti_snipe_minutes.data or 0) if auction else 0,
                delivery=form.delivery.data, **_supply_args(form))
        except DomainError as exc:
            rollback()
            error = str(exc)
        else:
            commit()
            flash(_("Черновик лота создан. Проверьте его и опубликуйте."), "success")
            return redirect(url_for("lots.show_lot", lot_id=lot.id))
    status = 422 if request.method == "POST" else 200
    return render_template("lots/form.html", form=form, stream=stream, formation=formation,
                           org=org, error=error, auction_modes=AUCTION_MODES), status


def _choose_source():
    org = current_user.current_org
    if org is None:
        flash(_("Сначала зарегистрируйте организацию или вступите в неё."), "info")
        return redirect(url_for("orgs.list_orgs"))
    if not current_user.has_org_role(org, OrgRole.manager):
        abort(403)
    streams = db.session.scalars(select(WasteStream).where(WasteStream.organization_id == org.id)
                                 .order_by(WasteStream.name)).all()
    formations = db.session.scalars(select(Formation).where(Formation.organization_id == org.id)
                                    .order_by(Formation.name)).all()
    return render_template("lots/choose.html", org=org, streams=streams, formations=formations)


@bp.get("/<int:lot_id>")
def show_lot(lot_id: int):
    """The lot's page: public once published; drafts and withdrawn lots for the members only.

    A lot whose end has passed is closed here if the periodic job has not closed it yet; a
    visitor who is not a member of the holder counts as one view per session.
    """
    lot = _lot(lot_id)
    if closing.is_due(lot, utcnow()):
        lot = _close_lazily(lot)
    if interest.count_view(lot, session, member=_is_member(lot)):
        commit()
    events = db.session.scalars(select(LotEvent).where(LotEvent.lot_id == lot.id)
                                .order_by(LotEvent.id.desc())).all()
    return render_template("lots/show.html", lot=lot, events=events,
                           can_manage=lot.can_edit(current_user), publish_form=ActionForm(),
                           withdraw_form=WithdrawForm(), **_helpers())


def _close_lazily(lot: Lot) -> Lot:
    """Close a lot whose end has passed; if that fails (a lock timeout), the job will close it."""
    lot_id = lot.id
    try:
        closing.close_lot(lot, now=utcnow())
        commit()
    except SQLAlchemyError:
        rollback()
        current_app.logger.warning("closing lot %s on view failed", lot_id, exc_info=True)
    return _lot(lot_id)


@bp.post("/<int:lot_id>/publish")
@login_required
def publish_lot(lot_id: int):
    """Publish a draft: its quantity is reserved in the registry."""
    lot = _lot(lot_id, manage=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        ops.publish_lot(lot, actor=current_user)
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
    else:
        commit()
        flash(_("Лот опубликован."), "success")
    return redirect(url_for("lots.show_lot", lot_id=lot_id))


@bp.post("/<int:lot_id>/withdraw")
@login_required
def withdraw_lot(lot_id: int):
    """Take the lot off the market, with a reason; its reserve is released."""
    lot = _lot(lot_id, manage=True)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("Укажите причину снятия лота."), "danger")
        return redirect(url_for("lots.show_lot", lot_id=lot_id))
    try:
        ops.withdraw_lot(lot, actor=current_user, reason=form.reason.data)
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
    else:
        commit()
        flash(_("Лот снят."), "success")
    return redirect(url_for("lots.show_lot", lot_id=lot_id))


@bp.route("/<int:lot_id>/edit", methods=["GET", "POST"])
@login_required
def edit_lot(lot_id: int):
    """Change what does not harm bidders; every change goes into the public history."""
    lot = _lot(lot_id, manage=True)
    form = EditLotForm(obj=lot)
    form.recurring_lot = lot.is_recurring
    if request.method == "GET":
        form.quantity.data = _qty_input(lot.quantity)
        form.min_take.data = _qty_input(lot.min_take)
        form.monthly_quantity.data = _qty_input(lot.monthly_quantity)
    error = None
    if form.validate_on_submit():
        try:
            changed = ops.edit_lot(
                lot, actor=current_user, title=form.title.data.strip(),
                description=(form.description.data or "").strip(),
                min_take=form.min_take.data or None, delivery=form.delivery.data,
                **_supply_args(form))
        except DomainError as exc:
            rollback()
            if isinstance(exc, ReservationError):
                (form.monthly_quantity if lot.is_recurring else form.quantity).errors.append(str(exc))
            else:
                error = str(exc)
            lot = _lot(lot_id, manage=True)
        else:
            commit()
            flash(_("Изменения сохранены.") if changed else _("Изменений нет."), "success")
            return redirect(url_for("lots.show_lot", lot_id=lot.id))
    status = 422 if request.method == "POST" else 200
    return render_template("lots/edit.html", form=form, lot=lot, error=error), status
