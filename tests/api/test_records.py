"""POST /streams/<id>/records: the journal's rules, as JSON errors in the caller's language."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from market.extensions import db
from market.registry.journal import JournalError, record
from market.registry.models import WasteRecord, WasteStream

BODY = {"kind": "generated", "quantity": "2.5", "event_date": "2026-01-10"}


def _url(stream) -> str:
    return f"/api/v1/streams/{stream.id}/records"


def _count(stream) -> int:
    return db.session.scalar(select(func.count(WasteRecord.id)).where(WasteRecord.stream_id == stream.id))


def _balance(stream) -> Decimal:
    return db.session.scalar(select(WasteStream.balance).where(WasteStream.id == stream.id))


def test_create_record(api, token, stream, owner):
    r = api.post(_url(stream), token, json={**BODY, "counterparty": "ТОО Приёмщик",
                                            "document": "Акт №7", "note": "смена 2"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["kind"] == "generated" and body["quantity"] == "2.500"
    assert body["delta"] == "2.500" and body["balance_after"] == "12.500"
    assert body["source"] == "api" and body["event_date"] == "2026-01-10"
    assert body["counterparty"] == "ТОО Приёмщик" and body["document"] == "Акт №7"
    assert body["idempotency_key"] is None
    rec = db.session.get(WasteRecord, body["id"])
    assert rec.entered_by_id == owner.id  # the token's creator acts
    assert rec.source == "api"
    assert _balance(stream) == Decimal("12.500")


@pytest.mark.parametrize(("quantity", "expected"), [
    (2.5, "2.500"), (3, "3.000"), ("2,5", "2.500"), ("0.001", "0.001"), ("1 000", "1000.000"),
])
def test_quantity_as_string_or_number(api, token, stream, quantity, expected):
    r = api.post(_url(stream), token, json={**BODY, "quantity": quantity})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["quantity"] == expected


@pytest.mark.parametrize("quantity", ["1.2345", "abc", True, None, [], {}, "1" * 31, "NaN", "Infinity"])
def test_bad_quantity_is_a_field_error(api, token, stream, quantity):
    r = api.post(_url(stream), token, json={**BODY, "quantity": quantity})
    assert r.status_code == 422
    body = r.get_json()
    assert body["message"] == "Проверьте поля запроса."
    assert list(body["errors"]["json"]) == ["quantity"]
    assert all(isinstance(m, str) for m in body["errors"]["json"]["quantity"])
    assert _count(stream) == 1


def test_negative_balance_is_refused_with_the_journal_message(api, token, stream):
    r = api.post(_url(stream), token, json={**BODY, "kind": "transferred_out", "quantity": "11"})
    assert r.status_code == 422
    body = r.get_json()
    assert body == {"code": 422, "status": "Unprocessable Entity", "message": body["message"]}
    assert "отрицательным" in body["message"] and "10,000" in body["message"]
    assert _count(stream) == 1 and _balance(stream) == Decimal("10.000")


def _journal_error(stream, owner) -> JournalError:
    with pytest.raises(JournalError) as info:
        record(stream, actor=owner, kind="transferred_out", quantity="11", event_date=date(2026, 1, 10))
    return info.value


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_message_in_the_language_of_accept_language(api, token, stream, owner, lang):
    expected = _journal_error(stream, owner)
    r = api.post(_url(stream), token, json={**BODY, "kind": "transferred_out", "quantity": "11"},
                 lang=lang)
    assert r.status_code == 422
    with force_locale(lang):
        assert r.get_json()["message"] == str(expected)


def test_kazakh_field_errors(api, token, stream):
    r = api.post(_url(stream), token, json={"quantity": "1", "event_date": "2026-01-10"},
                 headers={"Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"]["kind"] == ["Міндетті өріс."]
    r = api.post(_url(stream), token, json={"quantity": "1", "event_date": "2026-01-10"})
    assert r.get_json()["errors"]["json"]["kind"] == ["Обязательное поле."]  # ru by default


def test_api_language_ignores_lang_parameter_and_session(api, token, stream):
    r = api.post(_url(stream) + "?lang=kk", token, json={"quantity": "1", "event_date": "2026-01-10"})
    assert r.get_json()["errors"]["json"]["kind"] == ["Обязательное поле."]
    assert "Set-Cookie" not in r.headers


def test_validation_errors(api, token, stream):
    r = api.post(_url(stream), token, json={})
    assert r.status_code == 422
    errors = r.get_json()["errors"]["json"]
    assert set(errors) == {"kind", "quantity", "event_date"}
    r = api.post(_url(stream), token, json={**BODY, "colour": "red"})
    assert r.get_json()["errors"]["json"] == {"colour": ["Неизвестное поле."]}
    r = api.post(_url(stream), token, json={**BODY, "kind": "correction"})
    assert r.status_code == 422 and "kind" in r.get_json()["errors"]["json"]
    r = api.post(_url(stream), token, json={**BODY, "event_date": "10.01.2026"})
    assert r.get_json()["errors"]["json"]["event_date"] == ["Нужна дата в формате ГГГГ-ММ-ДД."]
    r = api.post(_url(stream), token, json={**BODY, "counterparty": "x" * 301})
    assert r.get_json()["errors"]["json"]["counterparty"] == ["Не длиннее 300 символов."]
    r = api.post(_url(stream), token, json=["not", "an", "object"])
    assert r.status_code == 422
    assert _count(stream) == 1


def test_malformed_json_is_a_json_400(api, token, stream):
    r = api.post(_url(stream), token, data="{not json", content_type="application/json")
    assert r.status_code == 400
    assert r.is_json and r.get_json()["code"] == 400


def test_form_encoded_body_is_refused(api, token, stream):
    r = api.post(_url(stream), token, data={"kind": "generated"})
    assert r.status_code == 422
    assert r.is_json


@pytest.mark.parametrize(("body", "fragment"), [
    ({"kind": "processed", "quantity": "1"}, "Базельской"),
    ({"kind": "processed", "quantity": "1", "operation_code": "D1"}, "R1–R13"),
    ({"kind": "disposed", "quantity": "1", "operation_code": "R4"}, "D1–D15"),
    ({"kind": "generated", "quantity": "1", "operation_code": "R4"}, "только для переработки"),
    ({"kind": "generated", "quantity": "0"}, "больше нуля"),
    ({"kind": "generated", "quantity": "2000000000"}, "Слишком большое"),
    ({"kind": "generated", "quantity": "1", "event_date": "1900-01-01"}, "слишком ранняя"),
])
def test_journal_rules(api, token, stream, body, fragment):
    r = api.post(_url(stream), token, json={"event_date": "2026-01-10", **body})
    assert r.status_code == 422, r.get_json()
    assert fragment in r.get_json()["message"]
    assert _count(stream) == 1


def test_future_date_is_refused(api, token, stream):
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    r = api.post(_url(stream), token, json={**BODY, "event_date": tomorrow})
    assert r.status_code == 422 and "будущем" in r.get_json()["message"]


def test_processing_with_an_r_code(api, token, stream):
    r = api.post(_url(stream), token, json={"kind": "processed", "quantity": "4",
                                            "operation_code": "R4", "event_date": "2026-01-10"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["operation_code"] == "R4" and r.get_json()["delta"] == "-4.000"


def test_hazardous_stream_needs_a_passport(api, token, make_stream):
    s = make_stream(code="100207", hps=["HP14"], name="Пыль газоочистки")
    r = api.post(_url(s), token, json=BODY)
    assert r.status_code == 422 and "паспорт" in r.get_json()["message"]


def test_other_organisation_stream_is_404_and_untouched(api, token, other_org):
    _org, _site, theirs = other_org
    r = api.post(_url(theirs), token, json=BODY)
    assert r.status_code == 404
    assert _count(theirs) == 1 and _balance(theirs) == Decimal("5.000")


def test_creator_demoted_to_viewer_cannot_write(api, holder, stream, make_token, create_user, add_member):
    manager = create_user()
    membership = add_member(holder, manager, "manager")
    secret = make_token(actor=manager)
    assert api.post(_url(stream), secret, json=BODY).status_code == 201
    membership.role = "viewer"
    db.session.flush()
    r = api.post(_url(stream), secret, json=BODY)
    assert r.status_code == 403
    assert "выпустите новый токен" in r.get_json()["message"]
    assert api.get(_url(stream), secret).status_code == 200  # reading still works


def test_creator_who_left_cannot_write(api, holder, stream, make_token, create_user, add_member):
    manager = create_user()
    membership = add_member(holder, manager, "manager")
    secret = make_token(actor=manager)
    db.session.delete(membership)
    db.session.flush()
    assert api.post(_url(stream), secret, json=BODY).status_code == 403


def test_deactivated_creator_cannot_write(api, owner, stream, token):
    owner.active = False
    db.session.flush()
    assert api.post(_url(stream), token, json=BODY).status_code == 403
    assert _count(stream) == 1


def test_unknown_api_path_and_method_are_json(api, token, stream):
    r = api.get("/api/v1/nothing-here", token)
    assert r.status_code == 404 and r.is_json
    r = api.request("DELETE", _url(stream), token)
    assert r.status_code == 405 and r.is_json
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    r = api.request("PUT", f"/api/v1/streams/{stream.id}", token)
    assert r.status_code == 405 and r.is_json
