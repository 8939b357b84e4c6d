"""Forms for accounts and organisations; messages in the user's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from market.accounts.bin import bin_error
from market.accounts.models import ORG_KINDS, ROLE_LABELS
from market.core.forms import options

REQUIRED = _l("Обязательное поле.")


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _password_strength(_form, field):
    value = field.data or ""
    if len(value) < 10:
        raise ValidationError(_l("Пароль должен быть не короче 10 символов."))
    if value.isdigit() or value.isalpha():
        raise ValidationError(_l("Используйте в пароле и буквы, и цифры или знаки."))


class RegisterForm(FlaskForm):
    full_name = StringField(_l("Фамилия, имя"), validators=[DataRequired(REQUIRED), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[
        DataRequired(REQUIRED), Email(_l("Введите корректный e-mail.")), Length(max=254)])
    password = PasswordField(_l("Пароль"), validators=[DataRequired(REQUIRED), _password_strength],
                             description=_l("Не короче 10 символов, буквы и цифры."))
    password2 = PasswordField(_l("Пароль ещё раз"), validators=[
        DataRequired(REQUIRED), EqualTo("password", _l("Пароли не совпадают."))])


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(REQUIRED)])
    password = PasswordField(_l("Пароль"), validators=[DataRequired(REQUIRED)])
    remember = BooleanField(_l("Запомнить меня на этом устройстве"))
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[
        DataRequired(REQUIRED), Email(_l("Введите корректный e-mail."))])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("Новый пароль"), validators=[
        DataRequired(REQUIRED), _password_strength])
    password2 = PasswordField(_l("Пароль ещё раз"), validators=[
        DataRequired(REQUIRED), EqualTo("password", _l("Пароли не совпадают."))])


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Фамилия, имя"), validators=[DataRequired(REQUIRED), Length(max=200)])
    locale = SelectField(_l("Язык интерфейса"),
                         choices=options([("ru", "Русский"), ("kk", "Қазақша"), ("en", "English")]))


class ChangePasswordForm(ResetPasswordForm):
    current = PasswordField(_l("Текущий пароль"), validators=[DataRequired(REQUIRED)])


def _bin_valid(_form, field):
    error = bin_error(field.data or "")
    if error:
        raise ValidationError(error)


class OrganizationForm(FlaskForm):
    bin = StringField(_l("БИН"), validators=[DataRequired(REQUIRED), _bin_valid],
                      description=_l("Бизнес-идентификационный номер: 12 цифр, последняя — "
                                     "контрольная."))
    name = StringField(_l("Полное наименование"), validators=[DataRequired(REQUIRED),
                                                               Length(max=300)])
    region_kato = SelectField(_l("Регион (КАТО)"), validators=[DataRequired(REQUIRED)],
                              description=_l("Область или город республиканского значения "
                                             "по классификатору КАТО."))
    address = StringField(_l("Юридический адрес"), validators=[DataRequired(REQUIRED),
                                                               Length(max=500)])
    kinds = MultiCheckboxField(_l("Вид деятельности"),
                               choices=options(ORG_KINDS.items()),
                               validators=[DataRequired(_l("Выберите хотя бы один вид."))])
    contact_email = EmailField(_l("Контактный e-mail"), validators=[
        Optional(), Email(_l("Введите корректный e-mail."))])
    contact_phone = StringField(_l("Контактный телефон"), validators=[Optional(), Length(max=40)])


class OrganizationEditForm(OrganizationForm):
    bin = None  # the BIN identifies the organisation and never changes


class JoinRequestForm(FlaskForm):
    message = TextAreaField(_l("Сообщение владельцу"), validators=[Optional(), Length(max=1000)])


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[
        DataRequired(REQUIRED), Email(_l("Введите корректный e-mail."))])
    role = SelectField(_l("Роль"), choices=options(ROLE_LABELS.items()),
                       default="member")


class RoleForm(FlaskForm):
    role = SelectField(_l("Роль"), choices=options(ROLE_LABELS.items()))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Причина"), validators=[Optional(), Length(max=2000)],
                           description=_l("Обязательна при отклонении и приостановке."))


class OfficialRoleForm(FlaskForm):
    is_official = BooleanField(_l("Должностное лицо (проверка организаций)"))
    is_admin = BooleanField(_l("Администратор платформы"))
    regions = MultiCheckboxField(_l("Регионы должностного лица"),
                                 description=_l("Пусто — вся страна."))
