"""Wanted posts: the public board, a post's page (its matching lots for the poster, the answer
form for holders), the organisation's posts, and creating, editing, closing, answering."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import joinedload

from market.accounts.models import Organization, OrgRole
from market.accounts.views_orgs import region_choices
from market.core.errors import DomainError
from market.core.forms import options
from market.core.timeutil import today_almaty
from market.core.txn import commit, rollback
from market.core.web import db_int
from market.extensions import db
from market.lots import wanted as ops
from market.lots.forms_wanted import AnswerForm, CloseForm, WantedForm
from market.lots.models import UNITS, Lot
from market.lots.models_interest import WANTED_PRICE_KINDS, WANTED_STATES, WantedMatch, WantedPost
from market.lots.money import kzt_input, parse_kzt
from market.lots.views import price_text
from market.refdata.models import Region, WasteChapter, _localized
from market.refdata.search import operations_in_order

bp = Blueprint("wanted", __name__, url_prefix="/wanted")


def _operations() -> list:
    by_kind = operations_in_order()
    return [(o.code, f"{o.code} — {_localized(o, 'description')[0][:70]}")
            for o in by_kind["recovery"] + by_kind["disposal"]]


def _helpers(**extra) -> dict:
    return dict(PRICE_KINDS=WANTED_PRICE_KINDS, STATES=WANTED_STATES, is_live=ops.is_live,
                written=ops.written, price_text=price_text, UNITS=UNITS, **extra)


def _post(wanted_id: int, *, manage: bool = False) -> WantedPost:
    post = db.session.get(WantedPost, wanted_id)
    if post is None:
        abort(404)
    if manage and not (current_user.is_authenticated
                       and current_user.has_org_role(post.organization, OrgRole.manager)):
        abort(403)
    return post


def _qty_input(value) -> str:
    """Tonnes as a form prefill: '12,5', '10' (no trailing zeros)."""
    return "" if value is None else f"{value.normalize():f}".replace(".", ",")


def _current_org() -> Organization | None:
    return current_user.current_org if current_user.is_authenticated else None


@bp.get("/")
def list_wanted():
    """Open wanted posts, newest first; filters by chapter, region, R/D operation or a lot."""
    per_page = current_app.config["PAGE_SIZE"]
    args = request.args
    filters = {k: (args.get(k) or "").strip()[:12] for k in ("chapter", "region", "operation")}
    lot = None
    if lot_id := args.get("lot", type=db_int):
        lot = db.session.get(Lot, lot_id)
        if lot is None or lot.state != "published":
            lot = None
            flash(_("Лот не найден или не опубликован: показаны все запросы."), "info")
        else:
            filters["lot"] = str(lot.id)
    posts = open_posts(chapter=filters["chapter"], region=filters["region"],
                           operation=filters["operation"], lot=lot,
                           before=args.get("before", type=db_int), limit=per_page + 1)
    more = len(posts) > per_page
    chapters = db.session.scalars(select(WasteChapter).order_by(WasteChapter.chapter)).all()
    return render_template(
        "wanted/list.html", posts=posts[:per_page], lot=lot, filters=filters, labels=_labels(posts),
        next_before=posts[per_page - 1].id if more else None, regions=region_choices(),
        region_names=_region_names(), operations=_operations(),
        chapters=[(c.chapter, f"{c.chapter} — {_localized(c, 'title')[0]}") for c in chapters],
        filtered=any(filters.values()), **_helpers())


def open_posts(*, chapter: str = "", region: str = "", operation: str = "", lot: Lot | None = None,
               before: int | None = None, limit: int = 25) -> list[WantedPost]:
    """Open, unexpired posts, newest first; a region filter keeps the posts for anywhere."""
    today = today_almaty()
    stmt = (select(WantedPost).where(WantedPost.state == "open",
                                     or_(WantedPost.valid_to.is_(None), WantedPost.valid_to >= today))
            .options(joinedload(WantedPost.organization)))
    if chapter.isdigit() and len(chapter) == 2:  # a prefix of the chapter: '"10' in '["1002"]'
        stmt = stmt.where(cast(WantedPost.code_prefixes, String).like(f'%"{chapter}%'))
    if region.isdigit():
        stmt = stmt.where(or_(cast(WantedPost.regions, String).in_(["[]", "null"]),
                              ops.json_has(WantedPost.regions, region)))
    if operation:
        stmt = stmt.where(WantedPost.operation_code == operation)
    if lot is not None:
        stmt = stmt.where(WantedPost.id.in_([p.id for p in ops.wanted_for_lot(lot, today=today)] or [0]))
    if before:
        stmt = stmt.where(WantedPost.id < before)
    return list(db.session.scalars(stmt.order_by(WantedPost.id.desc()).limit(limit)))


def _labels(posts) -> dict[str, str]:
    """Each prefix of the posts as written, with the hazard star on hazardous codes."""
    every = sorted({p for post in posts for p in post.code_prefixes or ()})
    return {p: code for p, (code, _title) in zip(every, ops.describe_prefixes(every), strict=True)}


def _region_names() -> dict[str, str]:
    return {r.kato: r.name for r in db.session.scalars(select(Region))}


@bp.get("/mine")
@login_required
def my_wanted():
    """Every post of the organisation the user acts for, with the number of answers."""
    org = _current_org()
    if org is None:
        flash(_("Сначала зарегистрируйте организацию или вступите в неё."), "info")
        return redirect(url_for("orgs.list_orgs"))
    posts = db.session.scalars(select(WantedPost).where(WantedPost.organization_id == org.id)
                               .order_by(WantedPost.id.desc())).all()
    answers = dict(db.session.execute(
        select(WantedMatch.wanted_id, func.count()).join(WantedPost)
        .where(WantedPost.organization_id == org.id, WantedMatch.answered.is_(True))
        .group_by(WantedMatch.wanted_id)).all())
    return render_template("wanted/mine.html", org=org, posts=posts, answers=answers, labels=_labels(posts),
                           can_manage=current_user.has_org_role(org, OrgRole.manager),
                           region_names=_region_names(), **_helpers())


def _fill_choices(form: WantedForm) -> None:
    form.regions.choices = region_choices()[1:]  # without the empty choice
    form.operation_code.choices = options([("", "—"), *_operations()])


def _fields(form: WantedForm) -> dict:
    return dict(title=form.title.data, description=form.description.data or "",
                codes=form.codes.data, regions=form.regions.data or [],
                operation_code=form.operation_code.data or None,
                quantity=form.quantity.data or None, monthly_quantity=form.monthly_quantity.data or None,
                price=parse_kzt(form.price.data), price_kind=form.price_kind.data,
                valid_to=form.valid_to.data)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_wanted():
    """A new wanted post of the organisation the user acts for (owners and managers)."""
    org = _current_org()
    if org is None:
        flash(_("Сначала зарегистрируйте организацию или вступите в неё."), "info")
        return redirect(url_for("orgs.list_orgs"))
    if not current_user.has_org_role(org, OrgRole.manager):
        abort(403)
    form = WantedForm()
    _fill_choices(form)
    refusal, error = ops.can_post(org), None
    if refusal is None and form.validate_on_submit():
        try:
            post = ops.create_wanted(org, actor=current_user, **_fields(form))
        except DomainError as exc:
            rollback()
            error = str(exc)
        else:
            found = db.session.scalar(select(func.count()).select_from(WantedMatch)
                                      .where(WantedMatch.wanted_id == post.id))
            commit()
            flash(_("Запрос опубликован. Подходящих открытых лотов: %(n)s.", n=found)
                  if found else _("Запрос опубликован. Мы сообщим, когда появятся подходящие лоты."),
                  "success")
            return redirect(url_for("wanted.show_wanted", wanted_id=post.id))
    status = 422 if request.method == "POST" else 200
    return render_template("wanted/form.html", form=form, org=org, post=None, error=error,
                           refusal=refusal), status


@bp.get("/<int:wanted_id>")
def show_wanted(wanted_id: int):
    """The post; for its organisation the lots that fit it, for holders the answer form."""
    post = _post(wanted_id)
    user = current_user
    is_member = bool(user.is_authenticated and user.membership_in(post.organization))
    matches, next_before, answers = [], None, []
    if is_member:
        per_page = current_app.config["PAGE_SIZE"]
        matches = ops.lots_for_wanted(post, limit=per_page + 1,
                                      before=request.args.get("before", type=db_int))
        if len(matches) > per_page:
            next_before, matches = matches[per_page - 1].id, matches[:per_page]
    answer_form, answerable, org = None, [], _current_org()
    if user.is_authenticated:
        mine = select(WantedMatch).join(Lot).where(WantedMatch.wanted_id == post.id,
                                                    WantedMatch.answered.is_(True))
        if not is_member:
            mine = mine.where(Lot.organization_id.in_([m.organization_id for m in user.memberships]))
        answers = db.session.scalars(mine.options(joinedload(WantedMatch.lot))
                                     .order_by(WantedMatch.id.desc())).all()
        if (org is not None and org.id != post.organization_id and ops.is_live(post)
                and user.has_org_role(org, OrgRole.manager)):
            done = {a.lot_id for a in answers}
            answerable = [lot for lot in ops.lots_for_wanted(post, organization_id=org.id,
                                                             check_region=False, limit=200)
                          if lot.id not in done]
            answer_form = AnswerForm()
            answer_form.lot_id.choices = [(lot.id, f"№{lot.id} · {lot.title}") for lot in answerable]
    regions = db.session.scalars(select(Region).where(Region.kato.in_(post.regions or [""]))).all()
    return render_template(
        "wanted/show.html", post=post, codes=ops.describe_prefixes(post.code_prefixes),
        regions=regions, is_member=is_member, can_manage=is_member and user.has_org_role(
            post.organization, OrgRole.manager), matches=matches, next_before=next_before,
        answers=answers, answer_form=answer_form, answerable=answerable, org=org,
        operation_title=_localized(post.operation, "description")[0] if post.operation else "",
        close_form=CloseForm(), **_helpers())


@bp.route("/<int:wanted_id>/edit", methods=["GET", "POST"])
@login_required
def edit_wanted(wanted_id: int):
    """Change an open post (owners and managers of its organisation)."""
    post = _post(wanted_id, manage=True)
    if post.state != "open":
        flash(_("Закрытый запрос изменить нельзя."), "warning")
        return redirect(url_for("wanted.show_wanted", wanted_id=post.id))
    # The post prefills the form on GET only: a POST missing a field must not keep a Decimal.
    form = WantedForm(obj=post if request.method == "GET" else None)
    _fill_choices(form)
    if request.method == "GET":
        form.codes.data = ", ".join(code for code, _title in ops.describe_prefixes(post.code_prefixes))
        form.quantity.data = _qty_input(post.quantity)
        form.monthly_quantity.data = _qty_input(post.monthly_quantity)
        form.price.data = kzt_input(post.price)
        form.operation_code.data = post.operation_code or ""
    refusal, error = ops.can_post(post.organization), None
    if refusal is None and form.validate_on_submit():
        try:
            changed = ops.edit_wanted(post, actor=current_user, **_fields(form))
        except DomainError as exc:
            rollback()
            error = str(exc)
            post = _post(wanted_id, manage=True)
        else:
            commit()
            flash(_("Изменения сохранены.") if changed else _("Изменений нет."), "success")
            return redirect(url_for("wanted.show_wanted", wanted_id=post.id))
    status = 422 if request.method == "POST" else 200
    return render_template("wanted/form.html", form=form, org=post.organization, post=post,
                           error=error, refusal=refusal), status


@bp.post("/<int:wanted_id>/close")
@login_required
def close_wanted(wanted_id: int):
    """Close the post: it leaves the board and matches no more lots."""
    post = _post(wanted_id, manage=True)
    if not CloseForm().validate_on_submit():
        abort(400)
    ops.close_wanted(post, actor=current_user)  # a DomainError becomes a flash
    commit()
    flash(_("Запрос закрыт."), "success")
    return redirect(url_for("wanted.show_wanted", wanted_id=wanted_id))


@bp.post("/<int:wanted_id>/answer")
@login_required
def answer_wanted(wanted_id: int):
    """A holder offers one of its published lots in answer to the post."""
    post = _post(wanted_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("Выберите лот для ответа."), "danger")
        return redirect(url_for("wanted.show_wanted", wanted_id=wanted_id))
    lot = db.session.get(Lot, form.lot_id.data)
    if lot is None:
        abort(404)
    if not lot.can_edit(current_user):
        abort(403)
    try:
        ops.answer_wanted(post, lot, actor=current_user, message=form.message.data or "")
    except DomainError as exc:
        rollback()
        flash(str(exc), "danger")
    else:
        commit()
        flash(_("Ваш лот предложен. Организация, разместившая запрос, получила уведомление."), "success")
    return redirect(url_for("wanted.show_wanted", wanted_id=wanted_id))
