"""Cadastre operations: every rule of a formation and an assay, permissions, audit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.cadastre import operations as ops
from market.cadastre.geo import polygon_area_ha
from market.cadastre.models import Assay, Formation
from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent
from market.extensions import db
from tests.cadastre.conftest import KARAGANDA, OUTLINE, PAVLODAR


def _events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).all()


def test_create_minimal(make_formation, holder, holder_owner):
    f = make_formation()
    assert f.id and f.organization_id == holder.id and f.created_by_id == holder_owner.id
    assert (f.kind, f.status, f.state_owned) == ("slag_heap", "active", False)
    assert f.outline is None and f.area_ha is None
    assert (f.lat, f.lon, f.region_kato) == (46.85, 74.98, KARAGANDA)
    [event] = _events("formation.created")
    assert event.organization_id == holder.id and event.actor_id == holder_owner.id
    assert event.object_type == "Formation" and event.object_id == str(f.id)


def test_create_full(make_formation):
    f = make_formation(
        name="  Хвостохранилище № 2  ", kind="tailings", address="10 км к западу от г. Балхаш",
        outline=OUTLINE, area_ha="650,5", volume_m3="12 500 000", tonnage=Decimal("21000000.04"),
        year_formed=1952, status="conserved", hazard_class=4, waste_code="01 03 06",
        description="Хвосты обогащения медной руды")
    assert f.name == "Хвостохранилище № 2"
    assert f.outline == OUTLINE and f.area_ha == Decimal("650.50")
    assert f.volume_m3 == Decimal("12500000.0") and f.tonnage == Decimal("21000000.0")
    assert (f.year_formed, f.status, f.hazard_class, f.waste_code) == (1952, "conserved", 4, "010306")
    assert f.code.code == "01 03 06"


@pytest.mark.parametrize("code", ["10 06 01", "100601", "10 06 01 ", "10\u00a006\u00a001"])
def test_waste_code_spellings(make_formation, code):
    assert make_formation(waste_code=code).waste_code == "100601"


def test_area_is_suggested_by_the_outline(make_formation):
    f = make_formation(outline=OUTLINE)
    assert f.area_ha == Decimal(str(round(polygon_area_ha(OUTLINE), 2)))
    assert make_formation(outline=OUTLINE, area_ha=12).area_ha == Decimal("12.00")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": "  "}, "name"),
    ({"name": "Ш" * 301}, "name"),
    ({"kind": "volcano"}, "kind"),
    ({"status": "sold"}, "status"),
    ({"region_kato": "999999999"}, "region_kato"),
    ({"region_kato": None}, "region_kato"),
    ({"lat": None}, "lat"),
    ({"lon": "восток"}, "lon"),
    ({"lat": float("nan")}, "lat"),
    ({"lat": 55.75, "lon": 37.62}, "lat"),  # Moscow
    ({"lat": 46.85, "lon": 90.0}, "lat"),
    ({"hazard_class": 0}, "hazard_class"),
    ({"hazard_class": 6}, "hazard_class"),
    ({"hazard_class": "высокий"}, "hazard_class"),
    ({"hazard_class": 2.5}, "hazard_class"),
    ({"year_formed": 1899}, "year_formed"),
    ({"year_formed": date.today().year + 1}, "year_formed"),
    ({"year_formed": "давно"}, "year_formed"),
    ({"year_formed": 1950.5}, "year_formed"),
    ({"tonnage": -1}, "tonnage"),
    ({"tonnage": "много"}, "tonnage"),
    ({"tonnage": "1e30"}, "tonnage"),
    ({"tonnage": "Infinity"}, "tonnage"),
    ({"volume_m3": "-0.5"}, "volume_m3"),
    ({"area_ha": Decimal("-2")}, "area_ha"),
    ({"area_ha": True}, "area_ha"),
    ({"waste_code": "99 99 99"}, "waste_code"),
    ({"waste_code": "шлак"}, "waste_code"),
    ({"waste_code": "10 06"}, "waste_code"),
    ({"address": "а" * 501}, "address"),
    ({"name": "Отвал\x00"}, "name"),
    ({"region_kato": "35000000\x00"}, "region_kato"),
    ({"outline": "{not json"}, "outline"),
    ({"outline": {"type": "Polygon", "coordinates": [[[74.95, 46.86], [74.99, 46.86], [74.99, 46.84]]]}},
     "outline"),
])
def test_bad_values_are_refused(make_formation, kwargs, field):
    with pytest.raises(DomainError) as info:
        make_formation(**kwargs)
    assert not isinstance(info.value, PermissionDenied)
    assert info.value.field == field
    assert str(info.value)
    assert db.session.scalar(select(Formation.id)) is None
    assert not _events("formation.created")


def test_all_wrong_fields_are_reported_together(make_formation):
    with pytest.raises(DomainError) as info:
        make_formation(name="", kind="volcano", lat=10, outline="{", hazard_class=9)
    assert set(info.value.errors) == {"name", "kind", "lat", "outline", "hazard_class"}
    assert info.value.field == "name"


def test_year_bounds_are_inclusive(make_formation):
    assert make_formation(year_formed=1900).year_formed == 1900
    assert make_formation(year_formed=str(date.today().year)).year_formed == date.today().year


def test_state_owned_needs_a_state_body(make_formation, state_body):
    with pytest.raises(DomainError, match="Государственный орган") as info:
        make_formation(state_owned=True)
    assert info.value.field == "state_owned"
    owner = state_body.owners[0].user
    f = make_formation(org=state_body, actor=owner, state_owned=True, status="abandoned",
                       kind="tailings")
    assert f.state_owned and f.organization_id == state_body.id
    # a state body may also account for a formation that is not state-owned
    assert make_formation(org=state_body, actor=owner).state_owned is False


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("member", True),
                                               ("manager", True), ("owner", True)])
def test_roles(make_formation, holder, create_user, add_member, role, allowed):
    user = create_user()
    add_member(holder, user, role)
    if allowed:
        assert make_formation(actor=user).created_by_id == user.id
    else:
        with pytest.raises(PermissionDenied):
            make_formation(actor=user)


def test_outsiders_officials_admins_may_not_create(make_formation, create_user, create_org,
                                                   create_official):
    outsider = create_user()
    create_org(owner=outsider)
    for actor in (outsider, create_official(), create_user(is_admin=True)):
        with pytest.raises(PermissionDenied):
            make_formation(actor=actor)


def test_permission_is_checked_before_values(make_formation, create_user):
    with pytest.raises(PermissionDenied):
        make_formation(actor=create_user(), kind="volcano")


# update -------------------------------------------------------------------------------------

def test_update(make_formation, holder, holder_owner):
    f = make_formation()
    changed = ops.update_formation(f, actor=holder_owner, status="processing", tonnage="1 200,5",
                                   name="Шлакоотвал № 1")
    assert sorted(changed) == ["name", "status", "tonnage"]
    assert (f.status, f.tonnage, f.name) == ("processing", Decimal("1200.5"), "Шлакоотвал № 1")
    [event] = _events("formation.updated")
    assert event.organization_id == holder.id and sorted(event.data["fields"]) == sorted(changed)


def test_update_without_change_writes_no_audit(make_formation, holder_owner):
    f = make_formation(tonnage=100, outline=OUTLINE, waste_code="100601")
    assert ops.update_formation(f, actor=holder_owner, tonnage="100.0", outline=dict(OUTLINE),
                                area_ha=f.area_ha, waste_code="10 06 01") == []
    assert not _events("formation.updated")


def test_update_outline_suggests_area_and_can_clear(make_formation, holder_owner):
    f = make_formation()
    ops.update_formation(f, actor=holder_owner, outline=OUTLINE)
    assert f.outline == OUTLINE and f.area_ha > 600
    ops.update_formation(f, actor=holder_owner, outline="", area_ha=None)
    assert f.outline is None and f.area_ha is None


def test_invalid_update_changes_nothing(make_formation, holder_owner):
    f = make_formation()
    with pytest.raises(DomainError) as info:
        ops.update_formation(f, actor=holder_owner, name="Новое имя", hazard_class=9)
    assert info.value.field == "hazard_class"
    assert f.name == "Шлакоотвал медеплавильного завода" and f.hazard_class is None
    with pytest.raises(DomainError):
        ops.update_formation(f, actor=holder_owner, state_owned=True)
    assert not _events("formation.updated")


def test_update_rules(make_formation, holder_owner, create_user, add_member, holder):
    f = make_formation()
    with pytest.raises(TypeError):
        ops.update_formation(f, actor=holder_owner, organization_id=1)
    viewer = create_user()
    add_member(holder, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        ops.update_formation(f, actor=viewer, status="abandoned")
    ops.update_formation(f, actor=holder_owner, region_kato=PAVLODAR, lat=52.3, lon=76.9)
    assert f.region_kato == PAVLODAR


# assays -------------------------------------------------------------------------------------

def test_add_and_delete_assay(make_formation, holder, holder_owner):
    f = make_formation()
    a = ops.add_assay(f, actor=holder_owner, component=" Cu ", grade="0,62", unit="pct",
                      laboratory="ИЦ «Казмеханобр»", sampled_on=date(2024, 5, 14))
    b = ops.add_assay(f, actor=holder_owner, component="Au", grade=Decimal("0.35"), unit="g_t")
    assert (a.component, a.grade, a.unit, a.formation_id) == ("Cu", Decimal("0.6200"), "pct", f.id)
    assert b.laboratory is None and b.sampled_on is None
    assert {x.id for x in f.assays} == {a.id, b.id}
    [added, _] = _events("assay.added")
    assert added.organization_id == holder.id and added.data["formation"] == f.id
    assert added.object_type == "Assay" and added.object_id == str(a.id)

    a_id = a.id
    ops.delete_assay(a, actor=holder_owner)
    assert db.session.get(Assay, a_id) is None
    assert [x.id for x in f.assays] == [b.id]
    [deleted] = _events("assay.deleted")
    assert deleted.object_id == str(a_id) and deleted.data["component"] == "Cu"
    assert deleted.organization_id == holder.id


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"component": " "}, "component"),
    ({"component": "x" * 61}, "component"),
    ({"grade": "-0.1"}, "grade"),
    ({"grade": ""}, "grade"),
    ({"grade": None}, "grade"),
    ({"grade": "чуть-чуть"}, "grade"),
    ({"grade": "101"}, "grade"),  # per cent
    ({"grade": "2000", "unit": "kg_t"}, "grade"),
    ({"grade": "1e30", "unit": "ppm"}, "grade"),
    ({"grade": "NaN"}, "grade"),
    ({"unit": "oz_t"}, "unit"),
    ({"laboratory": "л" * 201}, "laboratory"),
    ({"component": "Cu\x00"}, "component"),
    ({"sampled_on": date.today() + timedelta(days=1)}, "sampled_on"),
    ({"sampled_on": date(1800, 1, 1)}, "sampled_on"),
    ({"sampled_on": "2024-01-01"}, "sampled_on"),
])
def test_bad_assays_are_refused(make_formation, holder_owner, kwargs, field):
    f = make_formation()
    values = {"component": "Cu", "grade": "0.5", "unit": "pct", **kwargs}
    with pytest.raises(DomainError) as info:
        ops.add_assay(f, actor=holder_owner, **values)
    assert info.value.field == field
    assert f.assays == [] and not _events("assay.added")


def test_assay_permissions(make_formation, holder, holder_owner, create_user, add_member):
    f = make_formation()
    a = ops.add_assay(f, actor=holder_owner, component="Zn", grade="1.1", unit="pct")
    viewer, member = create_user(), create_user()
    add_member(holder, viewer, "viewer")
    add_member(holder, member, "member")
    for actor in (viewer, create_user(is_admin=True)):
        with pytest.raises(PermissionDenied):
            ops.add_assay(f, actor=actor, component="Pb", grade="0.2", unit="pct")
        with pytest.raises(PermissionDenied):
            ops.delete_assay(a, actor=actor)
    ops.add_assay(f, actor=member, component="Pb", grade="0.2", unit="pct")
    ops.delete_assay(a, actor=member)


def test_operations_flush_but_never_commit(make_formation, holder_owner, monkeypatch):
    def no_commit():
        raise AssertionError("operations must not commit")

    monkeypatch.setattr(db.session(), "commit", no_commit)
    f = make_formation(outline=OUTLINE)
    ops.update_formation(f, actor=holder_owner, tonnage=5)
    a = ops.add_assay(f, actor=holder_owner, component="Cu", grade="1", unit="pct")
    ops.delete_assay(a, actor=holder_owner)
    assert f.id and a.id  # flushed: the database gave them ids
