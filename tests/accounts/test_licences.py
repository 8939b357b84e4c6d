"""Processing licences: scope syntax, validation messages, add/edit/revoke, validity dates, pages."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from market.accounts import licences as ops
from market.accounts.models import Licence
from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent
from market.core.timeutil import ALMATY
from market.extensions import db


@pytest.fixture
def processor(create_org):
    return create_org(kinds=("processor",), name="ТОО «Kaz Battery Recycling»")


@pytest.fixture
def boss(processor):
    return processor.owners[0].user


def _add(org, actor, **kw):
    values = dict(number="KZ15VEG00067890", issued_by="Комитет экологического регулирования",
                  valid_from=date(2024, 6, 1), valid_to=None, scopes="16 06 01*, 10 04",
                  operations=["R4", "R13"])
    values.update(kw)
    return ops.add_licence(org, actor=actor, **values)


def _audit(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id.desc())).first()


# Scope syntax ------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "prefixes"), [
    ("10", ["10"]),
    ("10 02", ["1002"]),
    ("10 02 07*", ["100207"]),
    ("10, 10 02\n10 02 07*; 16 06", ["10", "1002", "100207", "1606"]),
    ("10.02.07, 10-02, 1002", ["100207", "1002"]),  # separators inside codes; repeats dropped
    ("  16 06 01* ,\r\n\r\n 100201 ", ["160601", "100201"]),  # star on a non-hazardous code is fine
])
def test_scopes_written_as_people_write_them(app, session, text, prefixes):
    assert ops.parse_scopes(text) == prefixes


def test_scopes_from_a_list(app, session):
    assert ops.parse_scopes(["10 02", "16 06 01*"]) == ["1002", "160601"]


@pytest.mark.parametrize(("text", "message"), [
    ("99", "«99» — такой главы нет в классификаторе."),
    ("10 98", "«10 98» — такого подраздела нет в классификаторе."),
    ("10 02 98", "«10 02 98» — такого кода нет в классификаторе."),
    ("100", "«100» — нужна глава (2 цифры), подраздел (4 цифры) или код (6 цифр)."),
    ("10 02 07 01", "«10 02 07 01» — нужна глава"),
    ("свинец", "«свинец» — не код классификатора"),
    ("", "Укажите хотя бы одну главу, подраздел или код классификатора."),
    (" , ;\n", "Укажите хотя бы одну главу"),
])
def test_scope_errors_name_the_bad_entry(app, session, text, message):
    with pytest.raises(DomainError) as exc:
        ops.parse_scopes(text)
    assert message in str(exc.value)


def test_every_bad_entry_is_reported(app, session):
    prefixes, errors = ops.scope_errors("10 02, 99, 10 02 07*, abc")
    assert prefixes == ["1002", "100207"]
    assert len(errors) == 2 and "«99»" in errors[0] and "«abc»" in errors[1]


def test_operations_are_checked_and_ordered(app, session):
    assert ops.operation_errors(["d10", "R13", "R4", "R4", " D9 "]) == (["R4", "R13", "D9", "D10"], [])
    codes, errors = ops.operation_errors(["R4", "R14", "X1"])
    assert codes == ["R4"]
    assert errors == ["«R14» — такой операции нет (допустимы R1–R13 и D1–D15).",
                      "«X1» — такой операции нет (допустимы R1–R13 и D1–D15)."]
    assert ops.operation_errors([]) == ([], ["Выберите хотя бы одну операцию R или D."])


def test_describe_scopes(app, session):
    described = ops.describe_scopes(["10", "1006", "100603"])
    assert [described[p].written for p in ("10", "1006", "100603")] == ["10", "10 06", "10 06 03*"]
    assert [described[p].kind for p in ("10", "1006", "100603")] == ["chapter", "subchapter", "code"]
    assert described["100603"].hazardous and described["100603"].title


# Operations ---------------------------------------------------------------------------------
def test_add_licence(processor, boss):
    lic = _add(processor, boss, number="  KZ15VEG00067890 ", note=" Мощность 20 000 т/год ")
    assert lic.number == "KZ15VEG00067890" and lic.note == "Мощность 20 000 т/год"
    assert lic.scopes == ["160601", "1004"] and lic.operations == ["R4", "R13"]
    assert lic.created_by_id == boss.id and lic.revoked_at is None
    event = _audit("licence.added")
    assert event.organization_id == processor.id and event.object_id == str(lic.id)
    assert event.data["scopes"] == ["160601", "1004"] and event.data["valid_from"] == "2024-06-01"


def test_managers_manage_members_do_not(processor, boss, create_user, add_member, create_org):
    manager, member = create_user(), create_user()
    add_member(processor, manager, "manager")
    add_member(processor, member, "member")
    assert _add(processor, manager).id
    with pytest.raises(PermissionDenied):
        _add(processor, member, number="other")
    other = create_org()
    with pytest.raises(PermissionDenied):
        _add(processor, other.owners[0].user, number="x")


@pytest.mark.parametrize(("kw", "message"), [
    ({"number": "  "}, "Укажите номер лицензии."),
    ({"number": "N" * 65}, "не длиннее 64 символов"),
    ({"valid_from": None}, "Укажите дату начала действия лицензии."),
    ({"valid_to": date(2024, 5, 31)}, "Дата окончания действия раньше даты начала."),
    ({"scopes": "16 06 01*, 16 99"}, "«16 99» — такого подраздела нет"),
    ({"operations": ["R4", "R20"]}, "«R20» — такой операции нет"),
    ({"operations": []}, "Выберите хотя бы одну операцию R или D."),
])
def test_validation_messages(processor, boss, kw, message):
    with pytest.raises(DomainError) as exc:
        _add(processor, boss, **kw)
    assert message in str(exc.value)
    assert db.session.scalar(select(Licence.id).where(Licence.organization_id == processor.id)) is None


def test_same_day_start_and_end_is_allowed(processor, boss):
    assert _add(processor, boss, valid_from=date(2026, 1, 1), valid_to=date(2026, 1, 1)).id


def test_number_unique_among_current_licences(processor, boss, create_org):
    first = _add(processor, boss)
    with pytest.raises(DomainError) as exc:
        _add(processor, boss, number="KZ15VEG00067890")
    assert "уже есть действующая запись лицензии № KZ15VEG00067890" in str(exc.value)
    other = create_org(kinds=("processor",))
    assert _add(other, other.owners[0].user).id  # another organisation may have the same number
    ops.revoke_licence(first, actor=boss, reason="Внесена с ошибкой")
    again = _add(processor, boss)  # after the revocation the number is free again
    assert again.id != first.id


def test_database_refuses_a_second_current_number(processor, boss):
    _add(processor, boss)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Licence(organization_id=processor.id, number="KZ15VEG00067890",
                               valid_from=date(2024, 1, 1), scopes=["10"], operations=["R4"]))
        db.session.flush()


def test_edit_licence(processor, boss):
    lic = _add(processor, boss)
    changed = ops.edit_licence(lic, actor=boss, number="KZ15VEG00067890", issued_by=lic.issued_by,
                               valid_from=date(2024, 6, 1), valid_to=date(2034, 5, 31),
                               scopes="16 06 01*, 10 04, 10 06 03*", operations=["R4", "R13"])
    assert changed == ["scopes", "valid_to"]
    assert lic.scopes == ["160601", "1004", "100603"] and lic.valid_to == date(2034, 5, 31)
    event = _audit("licence.edited")
    assert event.data["fields"] == ["scopes", "valid_to"]
    assert event.data["valid_to"] == "2034-05-31" and event.data["valid_to_was"] is None
    assert ops.edit_licence(lic, actor=boss, number=lic.number, issued_by=lic.issued_by,
                            valid_from=lic.valid_from, valid_to=lic.valid_to,
                            scopes=ops.scopes_input(lic), operations=lic.operations) == []


def test_edit_refuses_a_taken_number_and_revoked_licences(processor, boss):
    a = _add(processor, boss, number="A-1")
    b = _add(processor, boss, number="B-2")
    with pytest.raises(DomainError, match="уже есть действующая запись лицензии № A-1"):
        ops.edit_licence(b, actor=boss, number="A-1", valid_from=b.valid_from, scopes="10",
                         operations=["R4"])
    ops.revoke_licence(a, actor=boss, reason="Отозвана")
    with pytest.raises(DomainError, match="Отозванную лицензию изменить нельзя"):
        ops.edit_licence(a, actor=boss, number="A-1", valid_from=a.valid_from, scopes="10",
                         operations=["R4"])


def test_revoke_licence(processor, boss, create_user, add_member):
    lic = _add(processor, boss)
    with pytest.raises(DomainError, match="Укажите причину отзыва"):
        ops.revoke_licence(lic, actor=boss, reason="  ")
    viewer = create_user()
    add_member(processor, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        ops.revoke_licence(lic, actor=viewer, reason="x")
    ops.revoke_licence(lic, actor=boss, reason="Приостановлена комитетом")
    assert lic.revoked_at is not None and lic.revoked_by_id == boss.id
    assert lic.revoke_reason == "Приостановлена комитетом"
    assert ops.status(lic) == "revoked" and not lic.valid_on(date(2025, 1, 1))
    assert _audit("licence.revoked").data == {"number": lic.number, "reason": "Приостановлена комитетом"}
    with pytest.raises(DomainError, match="уже отозвана"):
        ops.revoke_licence(lic, actor=boss, reason="ещё раз")


# Validity ---------------------------------------------------------------------------------
def _at(y, m, d, hh=12, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=ALMATY)


def test_covers_and_valid_on_around_the_dates(processor, boss):
    lic = _add(processor, boss, valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31),
               scopes="10 02, 16 06 01*", operations=["R4"])
    with time_machine.travel(_at(2025, 12, 31, 23, 59), tick=False):
        assert not lic.covers("100207") and ops.status(lic) == "not_yet_valid"
    with time_machine.travel(_at(2026, 1, 1, 0, 1), tick=False):
        assert lic.covers("100207") and ops.status(lic) == "valid"
    with time_machine.travel(_at(2026, 12, 31, 23, 59), tick=False):  # 18:59 UTC, still valid
        assert lic.covers("160601", "R4") and ops.status(lic) == "valid"
    with time_machine.travel(_at(2027, 1, 1, 0, 30), tick=False):  # still 31 December in UTC
        assert not lic.covers("160601") and ops.status(lic) == "expired"
    day = date(2026, 6, 1)
    assert lic.covers("100207", on=day) and lic.covers("100213", "R4", on=day)
    assert not lic.covers("100207", "D10", on=day)  # operation not in the licence
    assert not lic.covers("100601", on=day)  # 10 06 is not 10 02
    assert not lic.covers("160602", on=day)  # only 16 06 01*
    assert not lic.covers(None, on=day)


def test_without_an_end_date(processor, boss):
    lic = _add(processor, boss, valid_from=date(2024, 6, 1), valid_to=None)
    assert lic.valid_on(date(2099, 1, 1)) and not lic.valid_on(date(2024, 5, 31))
    assert ops.status(lic, date(2099, 1, 1)) == "valid"


# Pages ------------------------------------------------------------------------------------
def _form(**kw):
    data = {"number": "KZ72VEG00012345", "issued_by": "Комитет экологического регулирования",
            "valid_from": "2024-03-15", "valid_to": "", "scopes": "13 02\n19 12 11*",
            "operations": ["R1", "D10"], "note": ""}
    data.update(kw)
    return data


def test_add_through_the_form(client, auth, processor, boss):
    auth.login(boss.email)
    page = client.get(f"/orgs/{processor.id}/licences/new")
    assert page.status_code == 200
    assert "Глава — 2 цифры" in page.text and 'value="R13"' in page.text and 'value="D15"' in page.text
    assert page.text.index('value="R2"') < page.text.index('value="R10"')  # natural order
    r = client.post(f"/orgs/{processor.id}/licences/new", data=_form())
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/orgs/{processor.id}/licences")
    lic = db.session.scalars(select(Licence).where(Licence.organization_id == processor.id)).one()
    assert lic.scopes == ["1302", "191211"] and lic.operations == ["R1", "D10"]
    listing = client.get(f"/orgs/{processor.id}/licences")
    assert "KZ72VEG00012345" in listing.text and "19 12 11*" in listing.text
    assert "Действует" in listing.text and "бессрочно" in listing.text


def test_form_errors_name_the_bad_entries(client, auth, processor, boss):
    auth.login(boss.email)
    r = client.post(f"/orgs/{processor.id}/licences/new",
                    data=_form(scopes="13 02, 13 77, 19 12 11", valid_to="2020-01-01", operations=[]))
    assert r.status_code == 422
    assert "«13 77» — такого подраздела нет в классификаторе." in r.text
    assert "Дата окончания действия раньше даты начала." in r.text
    assert "Выберите хотя бы одну операцию R или D." in r.text
    assert db.session.scalar(select(Licence.id).where(Licence.organization_id == processor.id)) is None


def test_duplicate_number_is_shown_on_the_form(client, auth, processor, boss):
    _add(processor, boss, number="KZ72VEG00012345")
    auth.login(boss.email)
    r = client.post(f"/orgs/{processor.id}/licences/new", data=_form())
    assert r.status_code == 422 and "уже есть действующая запись лицензии" in r.text


def test_edit_and_revoke_through_the_pages(client, auth, processor, boss):
    lic = _add(processor, boss, scopes="10 04, 16 06 01*")
    auth.login(boss.email)
    page = client.get(f"/orgs/{processor.id}/licences/{lic.id}/edit")
    assert page.status_code == 200 and "10 04, 16 06 01*" in page.text
    r = client.post(f"/orgs/{processor.id}/licences/{lic.id}/edit",
                    data=_form(number=lic.number, scopes="10 04, 16 06", operations=["R4"]))
    assert r.status_code == 302
    assert lic.scopes == ["1004", "1606"] and lic.operations == ["R4"]
    assert client.get(f"/orgs/{processor.id}/licences/{lic.id}/revoke").status_code == 200
    r = client.post(f"/orgs/{processor.id}/licences/{lic.id}/revoke", data={"reason": ""})
    assert r.status_code == 422 and lic.revoked_at is None
    r = client.post(f"/orgs/{processor.id}/licences/{lic.id}/revoke",
                    data={"reason": "Отозвана комитетом"})
    assert r.status_code == 302 and lic.revoked_at is not None
    listing = client.get(f"/orgs/{processor.id}/licences")
    assert "Отозвана" in listing.text and "Отозвана комитетом" in listing.text
    r = client.get(f"/orgs/{processor.id}/licences/{lic.id}/edit")
    assert r.status_code == 302  # revoked: back to the list with a message


def test_licence_of_another_organisation_is_404(client, auth, processor, boss, create_org):
    other = create_org(kinds=("processor",))
    lic = _add(other, other.owners[0].user)
    auth.login(boss.email)
    assert client.get(f"/orgs/{processor.id}/licences/{lic.id}/edit").status_code == 404


def test_officials_see_the_licences(client, auth, processor, boss, create_official):
    _add(processor, boss)
    official = create_official()
    auth.login(official.email)
    page = client.get(f"/orgs/{processor.id}/licences")
    assert page.status_code == 200 and "KZ15VEG00067890" in page.text
    assert "Добавить лицензию" not in page.text and "/revoke" not in page.text


def test_org_card_links_the_licences(client, auth, processor, boss):
    auth.login(boss.email)
    assert f"/orgs/{processor.id}/licences" in client.get(f"/orgs/{processor.id}").text


def test_status_labels_of_each_state(processor, boss):
    today = date(2026, 6, 1)
    rows = {
        "valid": _add(processor, boss, number="1", valid_from=today - timedelta(days=10)),
        "expired": _add(processor, boss, number="2", valid_from=date(2020, 1, 1),
                        valid_to=today - timedelta(days=1)),
        "not_yet_valid": _add(processor, boss, number="3", valid_from=today + timedelta(days=1)),
    }
    for expected, lic in rows.items():
        assert ops.status(lic, today) == expected
