"""The agreement of a deal: content, canonical JSON and its hash, versions, the PDF and pages."""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent
from market.core.timeutil import utcnow
from market.deals import agreements
from market.deals.agreement_pdf import agreement_html
from market.deals.models_agreement import Agreement, AgreementVersion
from market.deals.operations import buy
from market.extensions import db
from tests.registry.test_views import pdf_font_names

PLAN = "Переплавка в индукционной печи на площадке в Темиртау, вывоз за неделю."
KAZAKH = "әғқңөұүі"


def body(deal):
    return agreements.document_of(agreements.agreement_of(deal).current)


def test_content_of_the_agreement(sealed_award, holder):
    deal, ((buyer, _user), _b, _c) = sealed_award
    agreement = agreements.sync_agreement(deal)
    doc = body(deal)
    assert doc["version"] == 1 and doc["schema"] == agreements.SCHEMA
    assert doc["seller"]["bin"] == holder.bin and doc["seller"]["address"] == holder.address
    assert doc["buyer"]["bin"] == buyer.bin and doc["buyer"]["name"] == buyer.name
    assert doc["waste"]["code6"] == "100201" and doc["waste"]["hazardous"] is False
    assert doc["waste"]["title_ru"]
    assert doc["source"]["kind"] == "stream" and doc["source"]["passport"] is None
    assert doc["quantity"] == "10.000" and doc["unit"] == "t"
    assert doc["price"] == {"currency": "KZT", "unit_price_tiyn": 500_000, "basis": "per_t",
                            "total_tiyn": 5_000_000}
    assert doc["delivery"] == "pickup" and doc["deal"]["origin"] == "award"
    assert doc["deal"]["bid_log_sha256"] == deal.bid_log_sha256
    assert doc["deal"]["sign_by"].endswith("Z") and doc["plan"] is None
    assert agreement.plan is None and agreement.state == "signing"


def test_canonical_json_and_its_hash(sealed_award):
    deal, _ = sealed_award
    version = agreements.sync_agreement(deal).current
    text = version.document
    assert "\n" not in text and '":' in text and '": ' not in text  # no whitespace between tokens
    assert json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False) == text
    assert "Лот" in text and "\\u" not in text  # UTF-8, not escapes
    assert version.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
    doc = json.loads(text)
    assert isinstance(doc["price"]["total_tiyn"], int) and isinstance(doc["quantity"], str)


def test_same_deal_same_hash(sealed_award):
    deal, _ = sealed_award
    first = agreements.sync_agreement(deal).current
    db.session.expire_all()
    again = agreements.sync_agreement(deal)
    assert len(again.versions) == 1 and again.current.sha256 == first.sha256
    rebuilt = {**agreements.build_body(deal, again), "version": 1}
    assert agreements.sha256_of(rebuilt) == first.sha256
    assert db.session.scalar(select(func.count(Agreement.id))) >= 1


def test_plan_change_is_a_new_version(sealed_award):
    deal, ((_buyer, buyer_user), _b, _c) = sealed_award
    agreement = agreements.sync_agreement(deal)
    old = agreement.current.sha256
    assert agreements.set_plan(deal, actor=buyer_user, plan=PLAN, operation_code="r4") is True
    assert agreement.current.number == 2 and agreement.current.sha256 != old
    doc = body(deal)
    assert doc["plan"]["text"] == PLAN and doc["plan"]["operation_code"] == "R4"
    assert doc["plan"]["operation_ru"]
    # the same plan again changes nothing
    assert agreements.set_plan(deal, actor=buyer_user, plan=PLAN, operation_code="R4") is False
    assert len(agreement.versions) == 2
    actions = set(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "Agreement",
        AuditEvent.object_id == str(agreements.agreement_of(deal).id))))
    assert {"agreement.created", "agreement.version", "agreement.plan_changed"} <= actions


def test_changed_details_make_a_new_version(sealed_award, holder):
    deal, _ = sealed_award
    first = agreements.sync_agreement(deal).current
    holder.address = "Караганда, ул. Новая, 1"
    db.session.flush()
    assert agreements.needs_sync(deal)
    agreement = agreements.sync_agreement(deal)
    assert agreement.current.number == 2 and agreement.current.sha256 != first.sha256
    assert agreement.current.reason == "drifted"


def test_plan_rules(sealed_award, owner):
    deal, ((_buyer, buyer_user), (_o, other_user), _c) = sealed_award
    with pytest.raises(PermissionDenied):
        agreements.set_plan(deal, actor=owner, plan=PLAN, operation_code="R4")
    with pytest.raises(PermissionDenied):
        agreements.set_plan(deal, actor=other_user, plan=PLAN, operation_code="R4")
    with pytest.raises(DomainError):
        agreements.set_plan(deal, actor=buyer_user, plan="коротко", operation_code="R4")
    with pytest.raises(DomainError):
        agreements.set_plan(deal, actor=buyer_user, plan=PLAN, operation_code="R99")
    deal.state = "withdrawn"
    db.session.flush()
    with pytest.raises(DomainError):
        agreements.set_plan(deal, actor=buyer_user, plan=PLAN, operation_code="R4")


def test_free_transfer_takes_the_plan_from_the_request(make_lot, bidder, owner):
    from market.auctions.requests import accept_request, request_transfer

    org, user = bidder()
    lot = make_lot("free", qty="5")
    bid = request_transfer(lot, actor=user, organization=org, plan=PLAN, operation_code="R5")
    deal = accept_request(lot, bid, actor=owner)
    agreements.sync_agreement(deal)
    doc = body(deal)
    assert doc["plan"]["text"] == PLAN and doc["plan"]["operation_code"] == "R5"
    assert doc["deal"]["origin"] == "free" and doc["price"]["total_tiyn"] == 0


def test_failed_deal_gets_no_agreement(sealed_award):
    deal, _ = sealed_award
    deal.state = "lapsed"
    db.session.flush()
    assert agreements.sync_agreement(deal) is None


def _unicode_in_pdf(data: bytes) -> set[int]:
    """Code points the PDF's ToUnicode maps name (the letters its text uses)."""
    points = set()
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunk = zlib.decompress(raw)
        except zlib.error:
            continue
        if b"beginbfchar" in chunk or b"beginbfrange" in chunk:
            points.update(int(h, 16) for h in re.findall(rb"<([0-9A-Fa-f]{4})>", chunk))
    return points


@pytest.mark.parametrize(("lang", "letters"), [("ru", "Договрпе"), ("kk", KAZAKH)])
def test_pdf_in_russian_and_kazakh(lang, letters, client, auth, sealed_award, owner):
    deal, _ = sealed_award
    auth.login(owner.email)
    r = client.get(f"/deals/{deal.id}/agreement-{lang}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    fonts = pdf_font_names(r.data)
    assert fonts and all("DejaVu-Sans" in f for f in fonts), fonts
    assert {ord(ch) for ch in letters} <= _unicode_in_pdf(r.data)
    assert f"agreement-{deal.id}-v1-{lang}.pdf" in r.headers["Content-Disposition"]


def test_pdf_prints_the_hash_and_proper_kazakh(app, sealed_award):
    deal, _ = sealed_award
    agreement = agreements.sync_agreement(deal)
    with app.test_request_context():
        kk = agreement_html(deal, agreement, agreement.current, {}, "kk",
                            template="deals/agreement_pdf.html")
        ru = agreement_html(deal, agreement, agreement.current, {}, "ru",
                            template="deals/agreement_pdf.html")
    assert agreement.current.sha256 in kk and agreement.current.sha256 in ru
    assert "Тараптар" in kk and "Шарттың мәні" in kk and "БСН" in kk and "Сатып алушы" in kk
    assert "Стороны" in ru and "БИН" in ru and "Стороны" not in kk
    assert "тоннасы үшін" in kk  # the price basis in Kazakh


def test_agreement_page_for_parties_and_officials(client, auth, sealed_award, owner,
                                                  create_official, create_user):
    deal, ((_buyer, buyer_user), (_o, other_user), _c) = sealed_award
    auth.login(buyer_user.email)
    r = client.get(f"/deals/{deal.id}/agreement")
    assert r.status_code == 200
    version = db.session.scalar(select(AgreementVersion).join(Agreement)
                                .where(Agreement.deal_id == deal.id))
    assert version.sha256 in r.text and 'data-testid="agreement-plan-form"' in r.text
    assert 'data-testid="agreement-sign"' not in r.text  # no plan yet
    r = client.get(f"/deals/{deal.id}/agreement.json")
    assert r.status_code == 200 and hashlib.sha256(r.data).hexdigest() == version.sha256
    assert r.headers["X-Agreement-SHA256"] == version.sha256
    auth.logout()
    auth.login(other_user.email)
    assert client.get(f"/deals/{deal.id}/agreement").status_code == 404
    assert client.get(f"/deals/{deal.id}/agreement-ru.pdf").status_code == 404
    auth.logout()
    auth.login(create_official(regions=("350000000",)).email)
    assert client.get(f"/deals/{deal.id}/agreement").status_code == 200
    auth.logout()
    auth.login(create_official(regions=("750000000",)).email)
    assert client.get(f"/deals/{deal.id}/agreement").status_code == 404
    assert client.get(f"/deals/{deal.id}/agreement-en.pdf").status_code == 404


def test_buyer_states_the_plan_through_the_page(client, auth, sealed_award):
    deal, ((_buyer, buyer_user), _b, _c) = sealed_award
    auth.login(buyer_user.email)
    client.get(f"/deals/{deal.id}/agreement")
    r = client.post(f"/deals/{deal.id}/agreement/plan", data={"plan": PLAN, "operation_code": "R4"},
                    follow_redirects=True)
    assert r.status_code == 200 and "новую редакцию" in r.text
    assert 'data-testid="agreement-sign"' in r.text
    r = client.post(f"/deals/{deal.id}/agreement/plan", data={"plan": "", "operation_code": "R4"},
                    follow_redirects=True)
    assert r.status_code == 200 and "Обязательное поле" in r.text
    r = client.post(f"/deals/{deal.id}/agreement/plan",
                    data={"plan": PLAN, "operation_code": "Z9"}, follow_redirects=True)
    assert "Неизвестная операция" in r.text
    assert len(agreements.agreement_of(deal).versions) == 2


def test_deal_page_links_the_agreement(client, auth, sealed_award, owner):
    deal, _ = sealed_award
    auth.login(owner.email)
    r = client.get(f"/deals/{deal.id}")
    assert f"/deals/{deal.id}/agreement" in r.text


def test_sign_by_in_the_past_refuses_a_plan(sealed_award):
    deal, ((_buyer, buyer_user), _b, _c) = sealed_award
    agreements.sync_agreement(deal)
    deal.sign_by = utcnow() - timedelta(seconds=1)
    db.session.flush()
    with pytest.raises(DomainError):
        agreements.set_plan(deal, actor=buyer_user, plan=PLAN, operation_code="R4")


@pytest.fixture
def formation_deal(holder, owner, bidder):
    """A deal on a lot of a formation (TMO) with cadastre data, rows written directly."""
    from market.auctions.models import Bid
    from market.cadastre.operations import create_formation
    from market.deals.models import Deal
    from market.lots.operations import create_lot

    buyer, buyer_user = bidder()
    formation = create_formation(holder, actor=owner, name="Шлакоотвал Балхаш", kind="slag_heap",
                                 region_kato="350000000", lat=46.85, lon=74.98, area_ha="12.5",
                                 tonnage="150000", hazard_class=4, year_formed=1975)
    lot = create_lot(holder, actor=owner, formation=formation, title="Шлак из отвала",
                     quantity="1000", pricing_mode="fixed", price=20_000,
                     delivery="delivered")
    bid = Bid(lot_id=lot.id, organization_id=buyer.id, placed_by_id=buyer_user.id, mode="fixed",
              amount=20_000, quantity=1000, state="won")
    db.session.add(bid)
    db.session.flush()
    now = utcnow()
    deal = Deal(lot_id=lot.id, seller_id=holder.id, buyer_id=buyer.id, bid_id=bid.id,
                unit_price=20_000, price_basis="per_t", quantity=1000, total=20_000_000,
                delivery="delivered", waste_code=None, region_kato="350000000", state="agreed",
                sign_by=now + timedelta(days=7), bid_log_sha256="0" * 64, created_at=now)
    db.session.add(deal)
    db.session.flush()
    return deal, formation


def test_formation_agreement_carries_cadastre_data(app, formation_deal):
    deal, formation = formation_deal
    agreement = agreements.sync_agreement(deal)
    src = body(deal)["source"]
    assert src["kind"] == "formation" and src["cadastre_number"] == f"ТМО-{formation.id}"
    assert src["lat"] == "46.850000" and src["area_ha"] == "12.50" and src["tonnage"] == "150000.0"
    assert src["hazard_class"] == 4 and src["formation_kind"] == "slag_heap"
    assert body(deal)["waste"] is None and body(deal)["deal"]["origin"] == "purchase"
    with app.test_request_context():
        kk = agreement_html(deal, agreement, agreement.current, {}, "kk",
                            template="deals/agreement_pdf.html")
    assert "Шлак үйіндісі" in kk and "Кадастрдағы нөмірі" in kk and "сатушының жеткізуі" in kk


def test_formation_agreement_page_and_pdf(client, auth, formation_deal, owner):
    deal, formation = formation_deal
    auth.login(owner.email)
    r = client.get(f"/deals/{deal.id}/agreement")
    assert r.status_code == 200 and f"ТМО-{formation.id}" in r.text
    r = client.get(f"/deals/{deal.id}/agreement-kk.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")


def test_hazardous_stream_names_its_passport(make_lot, make_stream, owner, bidder):
    from datetime import date

    from market.registry import operations as reg
    from market.registry.journal import record

    stream = make_stream(code="100207", name="Пыль газоочистки", hps=["HP14"])
    passport = reg.save_passport(stream, actor=owner, composition="Pb, Zn", handling="h",
                                 transport="t", emergency="e", compiled_by="Эколог",
                                 compiled_on=date(2026, 1, 1), hazard_properties=["HP14"])
    record(stream, actor=owner, kind="generated", quantity="50", event_date=date(2026, 1, 1))
    org, user = bidder()
    from market.accounts.models import Licence

    db.session.add(Licence(organization_id=org.id, number="L-1", valid_from=date(2020, 1, 1),
                           scopes=["10"], operations=["R4"]))
    db.session.flush()
    lot = make_lot("fixed", qty="5", stream=stream)
    _bid, deal = buy(lot, actor=user, organization=org, amount=lot.price, quantity="2")
    agreements.sync_agreement(deal)
    doc = body(deal)
    assert doc["waste"]["hazardous"] is True and doc["waste"]["code"] == "10 02 07*"
    assert doc["source"]["passport"] == {"number": f"{passport.id}/{passport.version}",
                                         "version": passport.version, "compiled_on": "2026-01-01"}
    assert doc["deal"]["origin"] == "purchase" and doc["quantity"] == "2.000"
    agreements.set_plan(deal, actor=user, plan=PLAN, operation_code="R4")
    with pytest.raises(DomainError):  # the licence does not cover D10
        agreements.set_plan(deal, actor=user, plan=PLAN, operation_code="D10")
