"""Forms of wanted posts: the post itself, the answer with a lot, closing (CSRF only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Length, Optional

from market.accounts.forms import REQUIRED, MultiCheckboxField
from market.core.errors import DomainError
from market.core.forms import options
from market.core.timeutil import today_almaty
from market.core.web import db_int
from market.lots.forms import _money
from market.lots.models_interest import WANTED_PRICE_KINDS
from market.lots.wanted import parse_prefixes, parse_tonnes


def _tonnes(field):
    try:
        parse_tonnes(field.data)
    except DomainError as exc:
        raise ValidationError(str(exc)) from None


class WantedForm(FlaskForm):
    title = StringField(_l("Что вы ищете"), validators=[DataRequired(REQUIRED), Length(max=200)],
                        description=_l("Например «Свинецсодержащие отходы для переплавки»."))
    codes = StringField(
        _l("Коды отходов"), validators=[DataRequired(REQUIRED), Length(max=400)],
        description=_l("Разделы, подразделы или коды классификатора через запятую: "
                       "10, 10 02, 10 02 01*."))
    regions = MultiCheckboxField(_l("Регионы"), description=_l("Ничего не отмечено — любой регион."))
    operation_code = SelectField(_l("Операция R/D"), validators=[Optional()],
                                 description=_l("Как вы будете использовать отходы. Для опасных "
                                                "отходов лицензия должна покрывать эту операцию."))
    quantity = StringField(_l("Количество, т"), validators=[Length(max=30)],
                           description=_l("Разовая партия, необязательно."))
    monthly_quantity = StringField(_l("Тонн в месяц"), validators=[Length(max=30)],
                                   description=_l("Для регулярных поставок, необязательно."))
    price_kind = RadioField(_l("Кто платит"), choices=options(WANTED_PRICE_KINDS.items()),
                            default="pay")
    price = StringField(_l("Цена за тонну, ₸"), validators=[Length(max=30)],
                        description=_l("Необязательно: сколько вы готовы заплатить или сколько "
                                       "просите за приём."))
    valid_to = DateField(_l("Действует до"), validators=[Optional()],
                         description=_l("Необязательно: после этой даты запрос уходит с доски."))
    description = TextAreaField(_l("Подробности"), validators=[Optional(), Length(max=8000)],
                                description=_l("Требования к составу, фракции, влажности, упаковке."))

    def validate_codes(self, field):
        try:
            parse_prefixes(field.data)
        except DomainError as exc:
            raise ValidationError(str(exc)) from None

    def validate_quantity(self, field):
        _tonnes(field)

    def validate_monthly_quantity(self, field):
        _tonnes(field)

    def validate_price(self, field):
        _money(field)

    def validate_valid_to(self, field):
        if field.data and field.data < today_almaty():
            raise ValidationError(_l("Дата уже прошла."))


class AnswerForm(FlaskForm):
    lot_id = SelectField(_l("Ваш лот"), coerce=db_int, validate_choice=False,
                         validators=[DataRequired(REQUIRED)])
    message = TextAreaField(_l("Сообщение"), validators=[Optional(), Length(max=2000)],
                            description=_l("Необязательно: условия, сроки, контакт."))


class CloseForm(FlaskForm):
    """Closing a post: the CSRF token only."""
