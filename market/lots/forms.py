"""Forms of lots: a new lot, editing, withdrawal, publication (CSRF only), list filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    IntegerField,
    MonthField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from market.accounts.forms import REQUIRED
from market.core.errors import DomainError
from market.core.forms import options
from market.lots.models import DELIVERY_TERMS, PRICE_BASES, PRICING_MODES, months_in
from market.lots.money import MoneyError, parse_kzt
from market.registry.journal import parse_quantity

AUCTION_MODES = ("english", "sealed", "reverse")
QTY_HINT = _l("В тоннах, до трёх знаков после запятой, например 12,5.")
SUPPLY_KINDS = {"once": _l("Разовая партия"), "monthly": _l("Регулярная поставка (тонн в месяц)")}
SUPPLY_HINT = _l("Количество лота — объём в месяц, умноженный на число месяцев. Будущее образование "
                 "реестр зарезервировать не может, поэтому при публикации резервируется только объём "
                 "первого месяца: он должен быть на балансе потока уже сейчас.")


def _tonnes(field, *, required: bool):
    text = "" if field.data is None else str(field.data)  # the edit form's object gives a Decimal
    if not text.strip():
        if required:
            raise ValidationError(REQUIRED)
        return
    try:
        qty = parse_quantity(text)
    except DomainError as exc:
        raise ValidationError(str(exc)) from None
    if qty <= 0:
        raise ValidationError(_l("Количество должно быть больше нуля."))


def _money(field):
    try:
        parse_kzt(field.data)
    except MoneyError as exc:
        raise ValidationError(str(exc)) from None


class _Quantities:
    recurring_lot = False  # the edit form of a recurring lot: set by the view
    supply_hint = SUPPLY_HINT

    def is_recurring(self) -> bool:
        supply = getattr(self, "supply", None)
        return supply.data == "monthly" if supply is not None else self.recurring_lot

    def validate_quantity(self, field):
        if not self.is_recurring():  # a recurring supply's quantity is its total, computed
            _tonnes(field, required=True)

    def validate_monthly_quantity(self, field):
        if self.is_recurring():
            _tonnes(field, required=True)

    def check_supply_period(self) -> bool:
        """A recurring supply's period: both months given, 2 to 120 months (from validate())."""
        if not self.is_recurring():
            return True
        ok = True
        for f in (self.supply_from, self.supply_to):
            if f.data is None and not f.errors:
                f.errors = [*f.errors, REQUIRED]
                ok = False
        start, end = self.supply_from.data, self.supply_to.data
        if start and end and not 2 <= months_in(start, end) <= 120:
            self.supply_to.errors = [*self.supply_to.errors, _l(
                "Последний месяц — позже первого: регулярная поставка длится от 2 до 120 месяцев.")]
            ok = False
        return ok

    def validate_min_take(self, field):
        _tonnes(field, required=False)

    def validate_available_to(self, field):
        start = self.available_from.data
        if field.data and start and start > field.data:
            raise ValidationError(_l("Дата начала доступности позже даты окончания."))


class LotForm(_Quantities, FlaskForm):
    title = StringField(_l("Заголовок лота"), validators=[DataRequired(REQUIRED), Length(max=200)])
    description = TextAreaField(_l("Описание"), validators=[Optional(), Length(max=8000)],
                                description=_l("Состав, фракция, влажность, упаковка, условия погрузки."))
    quantity = StringField(_l("Количество, т"), description=QTY_HINT)
    min_take = StringField(_l("Минимальная партия, т"),
                           description=_l("Необязательно: меньше этого покупатель не берёт."))
    supply = RadioField(_l("Поставка"), choices=options(SUPPLY_KINDS.items()), default="once")
    monthly_quantity = StringField(_l("Количество в месяц, т"), description=QTY_HINT)
    supply_from = MonthField(_l("Первый месяц поставки"), validators=[Optional()])
    supply_to = MonthField(_l("Последний месяц поставки"), validators=[Optional()])
    pricing_mode = RadioField(_l("Способ продажи"), choices=options(PRICING_MODES.items()),
                              default="fixed")
    price = StringField(_l("Цена, ₸"),
                        description=_l("Для аукциона — начальная цена. Например 125 000,50."))
    price_basis = SelectField(_l("Цена указана"), choices=options(PRICE_BASES.items()),
                              default="per_t")
    increment = StringField(_l("Шаг аукциона, ₸"))
    reserve_price = StringField(_l("Резервная цена, ₸"),
                                description=_l("Необязательно: ниже неё лот не продаётся."))
    ends_at = DateTimeLocalField(_l("Окончание торгов"), validators=[Optional()],
                                 format="%Y-%m-%dT%H:%M",
                                 description=_l("Время Астаны/Алматы (UTC+5)."))
    anti_snipe_minutes = IntegerField(
        _l("Продление при поздней ставке, мин"), default=0,
        validators=[Optional(), NumberRange(min=0, max=120)],
        description=_l("Ставка в последние минуты продлевает торги на это время."))
    delivery = SelectField(_l("Условия поставки"), choices=options(DELIVERY_TERMS.items()))
    available_from = DateField(_l("Доступно с"), validators=[Optional()])
    available_to = DateField(_l("Доступно по"), validators=[Optional()])

    def validate_price(self, field):
        _money(field)
        if self.pricing_mode.data in ("fixed", "english", "reverse") and not (field.data or "").strip():
            raise ValidationError(_l("Укажите цену (для аукциона — начальную)."))

    def validate_increment(self, field):
        _money(field)
        if self.pricing_mode.data in ("english", "reverse") and not parse_kzt(field.data):
            raise ValidationError(_l("Укажите шаг аукциона."))

    def validate_reserve_price(self, field):
        _money(field)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        # Optional() ends the field's own chain on an empty value, so this check lives here.
        if self.pricing_mode.data in AUCTION_MODES and self.ends_at.data is None \
                and not self.ends_at.errors:
            self.ends_at.errors = [*self.ends_at.errors,
                                   _l("Укажите время окончания торгов в будущем.")]
            ok = False
        return self.check_supply_period() and ok


class EditLotForm(_Quantities, FlaskForm):
    title = StringField(_l("Заголовок лота"), validators=[DataRequired(REQUIRED), Length(max=200)])
    description = TextAreaField(_l("Описание"), validators=[Optional(), Length(max=8000)])
    quantity = StringField(_l("Количество, т"), description=QTY_HINT)
    min_take = StringField(_l("Минимальная партия, т"))
    monthly_quantity = StringField(_l("Количество в месяц, т"), description=QTY_HINT)
    supply_from = MonthField(_l("Первый месяц поставки"), validators=[Optional()])
    supply_to = MonthField(_l("Последний месяц поставки"), validators=[Optional()])
    delivery = SelectField(_l("Условия поставки"), choices=options(DELIVERY_TERMS.items()))
    available_from = DateField(_l("Доступно с"), validators=[Optional()])
    available_to = DateField(_l("Доступно по"), validators=[Optional()])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        return self.check_supply_period() and ok


class WithdrawForm(FlaskForm):
    reason = StringField(_l("Причина снятия"), validators=[DataRequired(REQUIRED), Length(max=1000)])


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (publication)."""
