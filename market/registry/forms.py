"""Forms of the registry: sites, streams, passports, journal records."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FloatField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from market.accounts.forms import REQUIRED, MultiCheckboxField
from market.core.forms import options
from market.registry.models import PHYSICAL_STATES, RECORD_LABELS, SITE_KINDS, STORAGE_PURPOSES


class SiteForm(FlaskForm):
    name = StringField(_l("Название площадки"), validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(_l("Вид площадки"), choices=options(SITE_KINDS.items()))
    region_kato = SelectField(_l("Регион (КАТО)"), validators=[DataRequired(REQUIRED)])
    address = StringField(_l("Адрес"), validators=[DataRequired(REQUIRED), Length(max=500)])
    lat = FloatField(_l("Широта"), validators=[Optional(), NumberRange(-90, 90)],
                     description=_l("Щёлкните по карте или введите, например 46.8480"))
    lon = FloatField(_l("Долгота"), validators=[Optional(), NumberRange(-180, 180)],
                     description=_l("Например 74.9950"))


class StreamForm(FlaskForm):
    waste_code = StringField(
        _l("Код отхода"), validators=[DataRequired(REQUIRED), Length(max=12)],
        description=_l("Шесть цифр по классификатору, например 10 06 01; «*» — опасный отход."))
    name = StringField(_l("Название потока"), validators=[DataRequired(REQUIRED), Length(max=200)],
                       description=_l("Как отход называют на предприятии, например «Шлак медеплавильный»."))
    description = TextAreaField(_l("Описание"), validators=[Optional(), Length(max=4000)])
    physical_state = SelectField(_l("Агрегатное состояние"), choices=options(PHYSICAL_STATES.items()))
    storage_purpose = SelectField(
        _l("Цель накопления"), choices=options(STORAGE_PURPOSES.items()),
        description=_l("Определяет предельный срок хранения: 6 месяцев в месте образования, "
                       "3 года до восстановления, 1 год до удаления."))
    hazard_properties = MultiCheckboxField(_l("Свойства опасности (HP)"))


class PassportForm(FlaskForm):
    composition = TextAreaField(_l("Состав (компоненты и их доли)"),
                                validators=[DataRequired(REQUIRED), Length(max=8000)])
    hazard_properties = MultiCheckboxField(_l("Свойства опасности (HP)"))
    handling = TextAreaField(_l("Требования к обращению и хранению"),
                             validators=[DataRequired(REQUIRED), Length(max=8000)])
    transport = TextAreaField(_l("Требования к транспортировке"),
                              validators=[DataRequired(REQUIRED), Length(max=8000)])
    emergency = TextAreaField(_l("Меры при аварийных ситуациях"),
                              validators=[DataRequired(REQUIRED), Length(max=8000)])
    compiled_by = StringField(_l("Составил (ФИО, должность)"),
                              validators=[DataRequired(REQUIRED), Length(max=200)])
    compiled_on = DateField(_l("Дата составления"), validators=[DataRequired(REQUIRED)],
                            default=date.today)


RECORD_KINDS_FOR_FORM = [(k, v) for k, v in RECORD_LABELS.items() if k != "correction"]


class RecordForm(FlaskForm):
    kind = SelectField(_l("Вид записи"), choices=options(RECORD_KINDS_FOR_FORM))
    quantity = StringField(_l("Количество, т"), validators=[DataRequired(REQUIRED), Length(max=30)],
                           description=_l("В тоннах, до трёх знаков после запятой (1 кг)."))
    event_date = DateField(_l("Дата события"), validators=[DataRequired(REQUIRED)], default=date.today,
                           description=_l("Когда отход образовался, поступил или выбыл — не дата ввода."))
    operation_code = SelectField(_l("Операция R/D"), validators=[Optional()],
                                 description=_l("Для переработки — R1–R13, для удаления — D1–D15."))
    counterparty = StringField(_l("Контрагент"), validators=[Optional(), Length(max=300)],
                               description=_l("Кому передано или от кого получено (название, БИН)."))
    document = StringField(_l("Документ-основание"), validators=[Optional(), Length(max=200)])
    note = TextAreaField(_l("Примечание"), validators=[Optional(), Length(max=2000)])


class CorrectionForm(FlaskForm):
    direction = RadioField(_l("Исправление"), validators=[InputRequired(REQUIRED)],
                           choices=options([("decrease", _l("уменьшает остаток")),
                                            ("increase", _l("увеличивает остаток"))]))
    quantity = StringField(_l("На сколько тонн"), validators=[DataRequired(REQUIRED), Length(max=30)])
    event_date = DateField(_l("Дата события"), validators=[DataRequired(REQUIRED)], default=date.today)
    note = TextAreaField(_l("Причина исправления"), validators=[DataRequired(REQUIRED), Length(max=2000)])
