"""Forms of bidding: a bid (amount in tenge, a proxy maximum, tonnes to buy) and a withdrawal."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, ValidationError
from wtforms.validators import DataRequired, Length

from market.accounts.forms import REQUIRED
from market.core.errors import DomainError
from market.lots.money import MoneyError, parse_kzt
from market.registry.journal import parse_quantity


def _money(field, *, required: bool) -> None:
    try:
        field.tiyn = parse_kzt(field.data)
    except MoneyError as exc:
        raise ValidationError(str(exc)) from None
    if field.tiyn is None and required:
        raise ValidationError(REQUIRED)


class BidForm(FlaskForm):
    """A bid or a purchase. ``key`` is a fresh uuid per rendered form: a double submit of the
    same form places one bid (the engine replays the key)."""

    amount = StringField(_l("Ставка, ₸"), validators=[Length(max=40)])
    max_amount = StringField(_l("Максимальная ставка (автоставка), ₸"),
                             validators=[Length(max=40)])
    quantity = StringField(_l("Количество, т"), validators=[Length(max=40)])
    key = HiddenField(validators=[Length(max=64)])

    def validate_amount(self, field):  # required for bids; a fixed-price purchase takes the price
        _money(field, required=False)

    def validate_max_amount(self, field):
        _money(field, required=False)

    def validate_quantity(self, field):
        field.tonnes = None
        if field.data and field.data.strip():
            try:
                field.tonnes = parse_quantity(field.data)
            except DomainError as exc:
                raise ValidationError(str(exc)) from None


class WithdrawBidForm(FlaskForm):
    reason = StringField(_l("Причина отзыва"), validators=[DataRequired(REQUIRED), Length(max=1000)])
