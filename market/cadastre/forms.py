"""Forms of the TMO cadastre: a formation, an assay."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from market.accounts.forms import REQUIRED
from market.cadastre.models import ASSAY_UNITS, FORMATION_KINDS, FORMATION_STATUSES
from market.core.forms import options

HAZARD_CLASS_LABELS = {
    "1": _l("1 — чрезвычайно опасные"),
    "2": _l("2 — высокоопасные"),
    "3": _l("3 — умеренно опасные"),
    "4": _l("4 — малоопасные"),
    "5": _l("5 — практически неопасные"),
}

# Suggestions for the component field (any text is accepted).
COMPONENTS = ("Cu", "Zn", "Pb", "Au", "Ag", "Mo", "Fe", "Fe₂O₃", "Co", "Ni", "Cd", "As", "S",
              "Bi", "Sb", "Re", "Se", "Te", "Al₂O₃", "SiO₂", "CaO", "MgO", "TiO₂", "V₂O₅", "Cr₂O₃",
              "Mn", "W", "U", "REE")

OUTLINE_HELP = _l(
    "Необязательно. GeoJSON типа Polygon (или Feature с такой геометрией), координаты "
    "[долгота, широта] в WGS 84, контур замкнут (последняя точка равна первой), не больше 5000 точек. "
    "Например, выгрузка из QGIS или geojson.io. Если площадь не указана, она будет рассчитана по контуру.")


class FormationForm(FlaskForm):
    name = StringField(_l("Название объекта"), validators=[DataRequired(REQUIRED), Length(max=300)],
                       description=_l("Например «Хвостохранилище № 2 обогатительной фабрики»."))
    kind = SelectField(_l("Вид ТМО"), choices=options(FORMATION_KINDS.items()))
    status = SelectField(_l("Состояние"), choices=options(FORMATION_STATUSES.items()))
    state_owned = BooleanField(_l("Государственная собственность"),
                               description=_l("Бесхозные и принятые в собственность государства ТМО "
                                              "учитывает государственный орган."))
    region_kato = SelectField(_l("Регион (КАТО)"), validators=[DataRequired(REQUIRED)])
    address = StringField(_l("Местоположение"), validators=[Optional(), Length(max=500)],
                          description=_l("Район, ближайший населённый пункт, ориентир."))
    lat = FloatField(_l("Широта"), validators=[Optional(), NumberRange(-90, 90)],
                     description=_l("Щёлкните по карте или введите, например 46.8480"))
    lon = FloatField(_l("Долгота"), validators=[Optional(), NumberRange(-180, 180)],
                     description=_l("Например 74.9950"))
    outline = TextAreaField(_l("Контур (GeoJSON)"), validators=[Optional()], description=OUTLINE_HELP,
                            render_kw={"rows": 5, "spellcheck": "false"})
    area_ha = StringField(_l("Площадь, га"), validators=[Optional(), Length(max=30)])
    volume_m3 = StringField(_l("Объём, м³"), validators=[Optional(), Length(max=30)])
    tonnage = StringField(_l("Масса, т"), validators=[Optional(), Length(max=30)])
    year_formed = IntegerField(_l("Год образования"), validators=[Optional()])
    hazard_class = SelectField(_l("Класс опасности"),
                               choices=options([("", "—"), *HAZARD_CLASS_LABELS.items()]))
    waste_code = StringField(_l("Код отхода"), validators=[Optional(), Length(max=14)],
                             description=_l("По классификатору, например 10 06 01 или 01 03 06."))
    description = TextAreaField(_l("Описание"), validators=[Optional(), Length(max=4000)],
                                description=_l("Состав, способ складирования, доступ, история."),
                                render_kw={"rows": 4})


class AssayForm(FlaskForm):
    component = StringField(_l("Компонент"), validators=[DataRequired(REQUIRED), Length(max=60)],
                            render_kw={"list": "assay-components"})
    grade = StringField(_l("Содержание"), validators=[DataRequired(REQUIRED), Length(max=30)])
    unit = SelectField(_l("Единица"), choices=options(ASSAY_UNITS.items()))
    laboratory = StringField(_l("Лаборатория"), validators=[Optional(), Length(max=200)])
    sampled_on = DateField(_l("Дата отбора пробы"), validators=[Optional()])
