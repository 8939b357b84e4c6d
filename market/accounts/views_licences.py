"""Processing licences of an organisation: list, add, edit, revoke; the lot page's licence hint."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Length, Optional

from market.accounts import licences as ops
from market.accounts.forms import REQUIRED, MultiCheckboxField
from market.accounts.models import Licence, Organization
from market.core.errors import DomainError
from market.core.forms import options
from market.core.txn import commit, rollback
from market.extensions import db
from market.refdata.models import _localized
from market.refdata.search import operations_in_order

bp = Blueprint("licences", __name__, url_prefix="/orgs/<int:org_id>/licences")

DATE_INVALID = _l("Введите дату, например 15.03.2024.")


class LicenceForm(FlaskForm):
    number = StringField(_l("Номер лицензии"), validators=[DataRequired(REQUIRED), Length(max=64)],
                         description=_l("Как в реестре разрешений, например KZ72VEG00012345."))
    issued_by = StringField(_l("Кем выдана"), validators=[Optional(), Length(max=200)],
                            description=_l("Например: Комитет экологического регулирования и "
                                           "контроля МЭПР РК."))
    valid_from = DateField(_l("Действует с"), validators=[DataRequired(DATE_INVALID)])
    valid_to = DateField(_l("Действует по"), validators=[Optional()],
                         description=_l("Оставьте пустым, если лицензия бессрочная."))
    scopes = TextAreaField(
        _l("Отходы (главы, подразделы, коды)"), validators=[DataRequired(REQUIRED), Length(max=4000)],
        render_kw={"rows": 3, "placeholder": "10 04, 10 06 03*\n16 06 01*"},
        description=_l("Через запятую или с новой строки. Глава — 2 цифры (10), подраздел — "
                       "4 цифры (10 06), код — 6 цифр (10 06 03*); пробелы и звёздочка не "
                       "обязательны. Глава или подраздел покрывают все коды, которые с них "
                       "начинаются."))
    operations = MultiCheckboxField(_l("Операции"))
    note = TextAreaField(_l("Примечание"), validators=[Optional(), Length(max=2000)],
                         render_kw={"rows": 2},
                         description=_l("Например, ограничения мощности или площадки из приложения "
                                        "к лицензии."))

    def validate_valid_to(self, field):
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_l("Дата окончания действия раньше даты начала."))

    def validate_scopes(self, field):
        _prefixes, errors = ops.scope_errors(field.data)
        field.errors.extend(errors)

    def validate_operations(self, field):
        if not field.data:
            raise ValidationError(_l("Выберите хотя бы одну операцию R или D."))


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Причина отзыва"), validators=[DataRequired(REQUIRED), Length(max=2000)],
                           render_kw={"rows": 3},
                           description=_l("Например: лицензия отозвана выдавшим органом, "
                                          "запись внесена с ошибкой."))


def _form(**kwargs) -> tuple[LicenceForm, dict]:
    form = LicenceForm(**kwargs)
    by_kind = operations_in_order()
    form.operations.choices = options(
        (o.code, o.code) for kind in ("recovery", "disposal") for o in by_kind.get(kind, []))
    return form, by_kind


def _org(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    return org


def _managed_org(org_id: int) -> Organization:
    org = _org(org_id)
    if not ops.can_manage(org, current_user):
        abort(403)
    return org


def _licence(org: Organization, licence_id: int) -> Licence:
    licence = db.session.get(Licence, licence_id)
    if licence is None or licence.organization_id != org.id:
        abort(404)
    return licence


def _day(value) -> str:
    return format_date(value, "dd.MM.yyyy") if value else "—"


@bp.context_processor
def _helpers():
    return {"day": _day, "licence_status": ops.status, "STATUS_LABELS": ops.STATUS_LABELS,
            "STATUS_COLORS": ops.STATUS_COLORS, "localized": _localized}


@bp.get("")
@login_required
def list_licences(org_id: int):
    """The organisation's licences with their status (members, officials of the region, admins)."""
    org = _org(org_id)
    if not org.can_view(current_user):
        abort(403)
    rows = ops.licences_of(org)
    scopes = ops.describe_scopes(p for lic in rows for p in lic.scopes or [])
    ops_by_code = {o.code: o for kind in operations_in_order().values() for o in kind}
    return render_template("licences/list.html", org=org, licences=rows, scopes=scopes,
                           ops_by_code=ops_by_code, manage=ops.can_manage(org, current_user))


def _save(form: LicenceForm, org: Organization, licence: Licence | None):
    fields = dict(number=form.number.data, issued_by=form.issued_by.data,
                  valid_from=form.valid_from.data, valid_to=form.valid_to.data,
                  scopes=form.scopes.data, operations=form.operations.data, note=form.note.data)
    if licence is None:
        return ops.add_licence(org, actor=current_user, **fields)
    return ops.edit_licence(licence, actor=current_user, **fields)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_licence(org_id: int):
    """Record a licence (owners and managers)."""
    org = _managed_org(org_id)
    form, by_kind = _form()
    error = None
    if form.validate_on_submit():
        try:
            licence = _save(form, org, None)
        except DomainError as exc:
            rollback()
            error = str(exc)
        else:
            commit()
            flash(_("Лицензия № %(number)s добавлена.", number=licence.number), "success")
            return redirect(url_for("licences.list_licences", org_id=org.id))
    status = 422 if request.method == "POST" else 200
    return render_template("licences/form.html", form=form, org=org, licence=None,
                           operations=by_kind, error=error), status


@bp.route("/<int:licence_id>/edit", methods=["GET", "POST"])
@login_required
def edit_licence(org_id: int, licence_id: int):
    """Correct a licence that is not revoked (owners and managers)."""
    org = _managed_org(org_id)
    licence = _licence(org, licence_id)
    if licence.revoked_at is not None:
        flash(_("Отозванную лицензию изменить нельзя: добавьте новую."), "warning")
        return redirect(url_for("licences.list_licences", org_id=org.id))
    if request.method == "GET":
        form, by_kind = _form(obj=licence)
        form.scopes.data = ops.scopes_input(licence)
    else:
        form, by_kind = _form()
    error = None
    if form.validate_on_submit():
        try:
            changed = _save(form, org, licence)
        except DomainError as exc:
            rollback()
            error = str(exc)
            licence = _licence(org, licence_id)
        else:
            commit()
            flash(_("Изменения сохранены.") if changed else _("Изменений нет."), "success")
            return redirect(url_for("licences.list_licences", org_id=org.id))
    status = 422 if request.method == "POST" else 200
    return render_template("licences/form.html", form=form, org=org, licence=licence,
                           operations=by_kind, error=error), status


@bp.route("/<int:licence_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_licence(org_id: int, licence_id: int):
    """Mark a licence revoked, with the reason (owners and managers)."""
    org = _managed_org(org_id)
    licence = _licence(org, licence_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            ops.revoke_licence(licence, actor=current_user, reason=form.reason.data)
        except DomainError as exc:
            rollback()
            flash(str(exc), "danger")
        else:
            commit()
            flash(_("Лицензия № %(number)s отозвана.", number=licence.number), "info")
        return redirect(url_for("licences.list_licences", org_id=org.id))
    status = 422 if request.method == "POST" else 200
    scopes = ops.describe_scopes(licence.scopes or [])
    return render_template("licences/revoke.html", form=form, org=org, licence=licence,
                           scopes=scopes), status


@bp.app_template_global()
def lot_eligibility(lot) -> dict | None:
    """For the lot page: may the organisation the user acts for take this lot?

    None for anonymous users, users without an organisation, the lot's own holder and lots
    that are not open. The rule itself is market.lots.eligibility (imported here, in the web
    layer, so that the accounts domain does not depend on lots).
    """
    from market.lots.eligibility import eligibility, needed_scope

    if not current_user.is_authenticated or not getattr(lot, "is_open", False):
        return None
    org = current_user.current_org
    if org is None or org.id == lot.organization_id:
        return None
    result = eligibility(org, lot)
    return {"org": org, "result": result, "needed": needed_scope(lot),
            "manage": ops.can_manage(org, current_user)}
