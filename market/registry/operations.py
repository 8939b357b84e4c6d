"""Sites, waste streams and hazardous-waste passports."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from market.accounts.models import Organization, OrgRole, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.extensions import db
from market.refdata.models import HazardProperty, WasteCode
from market.registry.models import (
    PHYSICAL_STATES,
    SITE_KINDS,
    STORAGE_PURPOSES,
    Passport,
    Site,
    WasteStream,
)


def _require_editor(org: Organization, actor: User) -> None:
    if not actor.has_org_role(org, OrgRole.member):
        raise PermissionDenied(_l("Изменять реестр могут сотрудники организации (не наблюдатели)."))


def check_coordinates(lat, lon) -> None:
    if (lat is None) != (lon is None):
        raise DomainError(_l("Укажите обе координаты: широту и долготу."))
    if lat is not None and not (40.0 <= lat <= 56.0 and 46.0 <= lon <= 88.0):
        raise DomainError(_l("Координаты вне территории Казахстана: проверьте широту и долготу."))


def create_site(org: Organization, *, actor: User, name: str, kind: str, region_kato: str,
                address: str, lat: float | None = None, lon: float | None = None) -> Site:
    _require_editor(org, actor)
    if kind not in SITE_KINDS:
        raise DomainError(_l("Неизвестный вид площадки."))
    check_coordinates(lat, lon)
    site = Site(organization_id=org.id, name=name.strip(), kind=kind, region_kato=region_kato,
                address=address.strip(), lat=lat, lon=lon, created_by_id=actor.id)
    db.session.add(site)
    db.session.flush()
    audit.record("site.created", site, actor=actor, organization=org, name=site.name)
    return site


def update_site(site: Site, *, actor: User, **fields) -> None:
    _require_editor(site.organization, actor)
    check_coordinates(fields.get("lat", site.lat), fields.get("lon", site.lon))
    changed = []
    for key in ("name", "kind", "region_kato", "address", "lat", "lon"):
        if key in fields and getattr(site, key) != fields[key]:
            setattr(site, key, fields[key])
            changed.append(key)
    if changed:
        audit.record("site.updated", site, actor=actor, organization=site.organization,
                     fields=changed)


def _check_hazard_codes(codes: list[str]) -> list[str]:
    codes = sorted(set(codes or []))
    known = {h.code for h in db.session.scalars(db.select(HazardProperty))}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise DomainError(_l("Неизвестные свойства опасности: %(codes)s"), codes=", ".join(unknown))
    return codes


def create_stream(site: Site, *, actor: User, waste_code: str, name: str, physical_state: str,
                  storage_purpose: str, description: str | None = None,
                  hazard_properties: list[str] | None = None) -> WasteStream:
    _require_editor(site.organization, actor)
    code = db.session.get(WasteCode, (waste_code or "").replace(" ", "").rstrip("*"))
    if code is None:
        raise DomainError(_l("Код отхода не найден в классификаторе."))
    if physical_state not in PHYSICAL_STATES or storage_purpose not in STORAGE_PURPOSES:
        raise DomainError(_l("Проверьте агрегатное состояние и цель хранения."))
    hps = _check_hazard_codes(hazard_properties or [])
    if code.hazardous and not hps:
        raise DomainError(_l("Для опасного отхода укажите хотя бы одно свойство опасности (HP)."))
    stream = WasteStream(site_id=site.id, organization_id=site.organization_id,
                         waste_code=code.code6, name=name.strip(),
                         description=(description or "").strip() or None,
                         physical_state=physical_state, storage_purpose=storage_purpose,
                         hazard_properties=hps, created_by_id=actor.id)
    db.session.add(stream)
    db.session.flush()
    audit.record("stream.created", stream, actor=actor, organization=site.organization,
                 code=code.code, name=stream.name)
    return stream


def save_passport(stream: WasteStream, *, actor: User, composition: str, handling: str,
                  transport: str, emergency: str, compiled_by: str, compiled_on: date,
                  hazard_properties: list[str]) -> Passport:
    """Create or revise the hazardous-waste passport of a stream (a revision bumps the version)."""
    _require_editor(stream.organization, actor)
    if not stream.hazardous:
        raise DomainError(_l("Паспорт опасного отхода нужен только для опасных отходов."))
    if compiled_on > date.today():
        raise DomainError(_l("Дата составления паспорта не может быть в будущем."))
    hps = _check_hazard_codes(hazard_properties)
    if not hps:
        raise DomainError(_l("Укажите хотя бы одно свойство опасности (HP)."))
    passport = stream.passport
    fields = {"composition": composition.strip(), "handling": handling.strip(),
              "transport": transport.strip(), "emergency": emergency.strip(),
              "compiled_by": compiled_by.strip(), "compiled_on": compiled_on,
              "hazard_properties": hps, "updated_by_id": actor.id}
    if passport is None:
        passport = Passport(stream_id=stream.id, **fields)
        db.session.add(passport)
        stream.passport = passport
        action = "passport.created"
    else:
        for key, value in fields.items():
            setattr(passport, key, value)
        passport.version += 1
        action = "passport.revised"
    stream.hazard_properties = hps
    db.session.flush()
    audit.record(action, stream, actor=actor, organization=stream.organization,
                 version=passport.version)
    return passport
