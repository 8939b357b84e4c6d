"""The TMO cadastre: formations and their assays. Operations flush, the caller commits."""

from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from market.accounts.models import Organization, OrgRole, User
from market.cadastre.geo import OutlineError, in_kazakhstan, polygon_area_ha, validate_outline
from market.cadastre.models import (
    ASSAY_UNITS,
    FORMATION_KINDS,
    FORMATION_STATUSES,
    Assay,
    Formation,
)
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.extensions import db
from market.refdata.models import Region, WasteCode

EARLIEST_YEAR = 1900
EARLIEST_SAMPLE = date(1900, 1, 1)
HAZARD_CLASSES = (1, 2, 3, 4, 5)
# Upper bounds well inside the columns' precision: a bigger number is a typo, not a heap.
MAX_AREA_HA = Decimal("10000000")  # 100 000 km²
MAX_VOLUME = Decimal("1000000000000")  # 10¹² m³
MAX_TONNAGE = Decimal("1000000000000")  # 10¹² t
MAX_GRADE = {"pct": Decimal(100), "g_t": Decimal(1_000_000), "ppm": Decimal(1_000_000),
             "kg_t": Decimal(1000)}

# Fields of a formation that update_formation accepts, in the order of the form.
FORMATION_FIELDS = ("name", "kind", "region_kato", "lat", "lon", "state_owned", "address", "outline",
                    "area_ha", "volume_m3", "tonnage", "year_formed", "status", "hazard_class",
                    "waste_code", "description")


class FormationError(DomainError):
    """A value of a formation or an assay was refused; `field` names the form field.

    When several fields of a formation are wrong, `errors` maps each of them to its error.
    """

    def __init__(self, field: str, message, **params):
        super().__init__(message, **params)
        self.field = field
        self.errors = {field: self}


def _require_editor(org: Organization, actor: User) -> None:
    if actor is None or not actor.has_org_role(org, OrgRole.member):
        raise PermissionDenied(_l("Изменять кадастр ТМО могут сотрудники организации (не наблюдатели)."))


def _text(field: str, value, max_len: int, *, required: bool = False) -> str | None:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not text:
        if required:
            raise FormationError(field, _l("Обязательное поле."))
        return None
    if len(text) > max_len:
        raise FormationError(field, _l("Не длиннее %(max)s символов."), max=max_len)
    if "\x00" in text:
        raise FormationError(field, _l("Текст содержит недопустимые символы."))
    return text


def parse_decimal(field: str, value, *, quantum: Decimal, maximum: Decimal) -> Decimal | None:
    """A non-negative number (spaces and a decimal comma accepted), rounded to `quantum`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise FormationError(field, _l("Введите число, например 12,5."))
    try:
        raw = value if isinstance(value, Decimal) else Decimal(
            str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
            .replace(",", "."))
    except (InvalidOperation, ValueError):
        raise FormationError(field, _l("Введите число, например 12,5.")) from None
    if not raw.is_finite():
        raise FormationError(field, _l("Введите число, например 12,5."))
    if raw < 0:
        raise FormationError(field, _l("Значение не может быть отрицательным."))
    if raw > maximum:
        raise FormationError(field, _l("Слишком большое значение: проверьте единицы измерения."))
    return raw.quantize(quantum, rounding=ROUND_HALF_UP)


def _coordinate(field: str, value) -> float:
    if value is None or isinstance(value, bool):
        raise FormationError(field, _l("Укажите точку объекта: широту и долготу."))
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise FormationError(field, _l("Координата должна быть числом, например 46.8480.")) from None
    if not math.isfinite(number):
        raise FormationError(field, _l("Координата должна быть числом, например 46.8480."))
    return number


def normalize_waste_code(value) -> str | None:
    """The code6 of a classifier code written «10 02 01», «100201» or «10 02 01*»; None if blank."""
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if not text:
        return None
    code6 = text.replace(" ", "").replace("\u00a0", "").rstrip("*")
    if not code6.isdigit() or len(code6) != 6 or db.session.get(WasteCode, code6) is None:
        raise FormationError("waste_code", _l("Код отхода %(code)s не найден в классификаторе."),
                             code=text[:14])
    return code6


def _kind(value) -> str:
    if value not in FORMATION_KINDS:
        raise FormationError("kind", _l("Неизвестный вид ТМО."))
    return value


def _status(value) -> str:
    if value not in FORMATION_STATUSES:
        raise FormationError("status", _l("Неизвестное состояние ТМО."))
    return value


def _region(value) -> str:
    if not (isinstance(value, str) and len(value) == 9 and value.isdigit()
            and db.session.get(Region, value) is not None):
        raise FormationError("region_kato", _l("Выберите регион из списка КАТО."))
    return value


def _point(lat, lon) -> tuple[float, float]:
    lat, lon = _coordinate("lat", lat), _coordinate("lon", lon)
    if not in_kazakhstan(lat, lon):
        raise FormationError("lat", _l("Координаты вне территории Казахстана: проверьте широту и долготу."))
    return lat, lon


def _state_owned(org: Organization, value) -> bool:
    if value and "state_body" not in org.kinds:
        raise FormationError("state_owned", _l(
            "Государственные ТМО учитывает государственный орган: организация должна иметь вид "
            "деятельности «Государственный орган»."))
    return bool(value)


def _integer(value) -> int | None:
    """An int from an int, a whole float or digits; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(value) if isinstance(value, int | str) else None
    except ValueError:
        return None


def _hazard_class(value) -> int | None:
    if value in (None, ""):
        return None
    hazard = _integer(value)
    if hazard not in HAZARD_CLASSES:
        raise FormationError("hazard_class", _l("Класс опасности — от 1 до 5."))
    return hazard


def _year(value) -> int | None:
    if value in (None, ""):
        return None
    year, this_year = _integer(value), date.today().year
    if year is None or not EARLIEST_YEAR <= year <= this_year:
        raise FormationError("year_formed", _l("Год образования — от %(first)s до %(last)s."),
                             first=EARLIEST_YEAR, last=this_year)
    return year


def _clean(org: Organization, values: dict) -> dict:
    """Check every field of a formation; returns the values to store.

    All fields are checked; the error raised is the first one, and its `errors` maps every
    refused field to its error, so that a form can show them all at once.
    """
    errors: dict[str, DomainError] = {}
    out: dict = {}

    def take(fields, check, *args, **kwargs):
        try:
            result = check(*args, **kwargs)
        except FormationError as exc:
            errors.setdefault(exc.field, exc)
            return
        except OutlineError as exc:
            errors.setdefault("outline", exc)
            return
        if isinstance(fields, tuple):
            out.update(zip(fields, result, strict=True))
        else:
            out[fields] = result

    take("name", _text, "name", values.get("name"), 300, required=True)
    take("address", _text, "address", values.get("address"), 500)
    take("description", _text, "description", values.get("description"), 4000)
    take("kind", _kind, values.get("kind"))
    take("status", _status, values.get("status"))
    take("region_kato", _region, values.get("region_kato"))
    take(("lat", "lon"), _point, values.get("lat"), values.get("lon"))
    take("state_owned", _state_owned, org, values.get("state_owned"))
    take("hazard_class", _hazard_class, values.get("hazard_class"))
    take("year_formed", _year, values.get("year_formed"))
    take("area_ha", parse_decimal, "area_ha", values.get("area_ha"), quantum=Decimal("0.01"),
         maximum=MAX_AREA_HA)
    take("volume_m3", parse_decimal, "volume_m3", values.get("volume_m3"), quantum=Decimal("0.1"),
         maximum=MAX_VOLUME)
    take("tonnage", parse_decimal, "tonnage", values.get("tonnage"), quantum=Decimal("0.1"),
         maximum=MAX_TONNAGE)
    take("waste_code", normalize_waste_code, values.get("waste_code"))
    take("outline", validate_outline, values.get("outline"))
    if errors:
        first = next(iter(errors.values()))
        first.errors = errors
        raise first
    if out["outline"] is not None and out["area_ha"] is None:
        # The area is suggested from the outline when the holder gave none.
        suggested = Decimal(str(polygon_area_ha(out["outline"]))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        out["area_ha"] = min(suggested, MAX_AREA_HA)
    return out


def create_formation(org: Organization, *, actor: User, name: str, kind: str, region_kato: str,
                     lat: float, lon: float, state_owned: bool = False, address: str | None = None,
                     outline=None, area_ha=None, volume_m3=None, tonnage=None,
                     year_formed: int | None = None, status: str = "active",
                     hazard_class: int | None = None, waste_code: str | None = None,
                     description: str | None = None) -> Formation:
    """Enter a formation in the cadastre on behalf of `org` (the holder, or the state body)."""
    _require_editor(org, actor)
    values = _clean(org, {
        "name": name, "kind": kind, "region_kato": region_kato, "lat": lat, "lon": lon,
        "state_owned": state_owned, "address": address, "outline": outline, "area_ha": area_ha,
        "volume_m3": volume_m3, "tonnage": tonnage, "year_formed": year_formed, "status": status,
        "hazard_class": hazard_class, "waste_code": waste_code, "description": description})
    formation = Formation(organization_id=org.id, created_by_id=actor.id, **values)
    db.session.add(formation)
    db.session.flush()
    audit.record("formation.created", formation, actor=actor, organization=org,
                 name=formation.name, kind=formation.kind, state_owned=formation.state_owned)
    return formation


def update_formation(formation: Formation, *, actor: User, **fields) -> list[str]:
    """Change some fields of a formation; returns the names of the fields that changed."""
    unknown = set(fields) - set(FORMATION_FIELDS)
    if unknown:
        raise TypeError(f"update_formation() got unexpected fields: {sorted(unknown)}")
    org = formation.organization
    _require_editor(org, actor)
    merged = {key: getattr(formation, key) for key in FORMATION_FIELDS}
    merged.update(fields)
    if "outline" in fields and "area_ha" not in fields and fields["outline"] is not None:
        merged["area_ha"] = None  # a new outline suggests its own area unless one is given
    values = _clean(org, merged)
    changed = [key for key in FORMATION_FIELDS if getattr(formation, key) != values[key]]
    for key in changed:
        setattr(formation, key, values[key])
    if changed:
        db.session.flush()
        audit.record("formation.updated", formation, actor=actor, organization=org, fields=changed)
    return changed


def add_assay(formation: Formation, *, actor: User, component: str, grade, unit: str,
              laboratory: str | None = None, sampled_on: date | None = None) -> Assay:
    """Record a laboratory result for one component of a formation."""
    org = formation.organization
    _require_editor(org, actor)
    component = _text("component", component, 60, required=True)
    if unit not in ASSAY_UNITS:
        raise FormationError("unit", _l("Неизвестная единица измерения."))
    if grade is None or (isinstance(grade, str) and not grade.strip()):
        raise FormationError("grade", _l("Обязательное поле."))
    value = parse_decimal("grade", grade, quantum=Decimal("0.0001"),
                          maximum=max(MAX_GRADE.values()))
    if value > MAX_GRADE[unit]:
        raise FormationError("grade", _l("Содержание не может быть больше %(max)s %(unit)s."),
                             max=f"{MAX_GRADE[unit]:,}".replace(",", "\u00a0"), unit=ASSAY_UNITS[unit])
    laboratory = _text("laboratory", laboratory, 200)
    if sampled_on is not None:
        if not isinstance(sampled_on, date):
            raise FormationError("sampled_on", _l("Укажите дату отбора пробы."))
        if sampled_on > date.today():
            raise FormationError("sampled_on", _l("Дата отбора пробы не может быть в будущем."))
        if sampled_on < EARLIEST_SAMPLE:
            raise FormationError("sampled_on", _l("Проверьте дату отбора пробы."))
    assay = Assay(component=component, grade=value, unit=unit, laboratory=laboratory,
                  sampled_on=sampled_on)
    formation.assays.append(assay)
    db.session.flush()
    audit.record("assay.added", assay, actor=actor, organization=org, formation=formation.id,
                 component=component, grade=str(value), unit=unit)
    return assay


def delete_assay(assay: Assay, *, actor: User) -> None:
    """Remove a laboratory result (entered by mistake); the audit trail keeps what it was."""
    formation = assay.formation
    org = formation.organization
    _require_editor(org, actor)
    audit.record("assay.deleted", assay, actor=actor, organization=org, formation=formation.id,
                 component=assay.component, grade=str(assay.grade), unit=assay.unit)
    if assay in formation.assays:
        formation.assays.remove(assay)
    db.session.delete(assay)
    db.session.flush()
