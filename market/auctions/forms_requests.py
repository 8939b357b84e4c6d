"""Forms of free transfer requests: the request (plan, R/D operation), withdrawing it, and the
holder's decision (accept: CSRF only; decline: a reason)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from market.accounts.forms import REQUIRED
from market.auctions.requests import PLAN_MAX, REASON_MAX


class TransferRequestForm(FlaskForm):
    """``key`` is a fresh uuid per rendered form: a double submit makes one request."""

    plan = TextAreaField(
        _l("План переработки"), validators=[DataRequired(REQUIRED), Length(max=PLAN_MAX)],
        description=_l("Что вы сделаете с отходом: технология, площадка, сроки вывоза, что "
                       "получится на выходе. Держатель выбирает заявку по этому плану."))
    operation_code = SelectField(
        _l("Операция R/D"), validators=[DataRequired(REQUIRED)], validate_choice=False,
        description=_l("Как вы будете обращаться с отходом. Для опасного отхода её должна "
                       "покрывать ваша лицензия."))
    key = HiddenField(validators=[Length(max=64)])


class WithdrawRequestForm(FlaskForm):
    reason = StringField(_l("Причина отзыва"), validators=[DataRequired(REQUIRED),
                                                           Length(max=REASON_MAX)])


class AcceptRequestForm(FlaskForm):
    """CSRF only: the request is in the URL."""


class DeclineRequestForm(FlaskForm):
    reason = StringField(_l("Причина отказа"), validators=[DataRequired(REQUIRED),
                                                           Length(max=REASON_MAX)])
