"""Complaints: who may file and about what, the assignment (never the official who decided, never
a party's), the deadlines paused while open (time travel), the decisions (ledger, notices,
audit), an upheld complaint about an approval opening the cancellation, and the pages."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from market.accounts.models import Membership
from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent, Notification, OutboxEmail
from market.core.timeutil import utcnow
from market.deals import cancellation, complaint_files, complaints, review
from market.deals.models_complaint import Complaint, ComplaintFile
from market.extensions import db
from market.ledger.models import LedgerEntry
from market.ledger.verify import verify_ledger
from tests.deals.test_review import REGION, official, signed  # noqa: F401

GROUNDS = "Подпись директора поставлена без доверенности"


def test_who_may_file_and_about_what(signed, sealed_award, create_user):  # noqa: F811
    deal, seller, buyer_user, _site = signed
    _deal, (_a, (_b_org, loser), _c) = sealed_award
    assert {r for r, _o in complaints.filing_roles(deal, seller)} == {"seller"}
    assert complaints.subjects_for(deal, "buyer") == ["award", "signature"]  # no decision yet
    assert complaints.subjects_for(deal, "bidder") == ["award"]
    assert complaints.filing_roles(deal, loser)[0][0] == "bidder"
    stranger = create_user()
    with pytest.raises(PermissionDenied):
        complaints.file(deal, actor=stranger, subject="award", grounds=GROUNDS)
    with pytest.raises(DomainError, match="что обжалуется"):
        complaints.file(deal, actor=loser, subject="signature", grounds=GROUNDS)
    with pytest.raises(DomainError, match="что обжалуется"):
        complaints.file(deal, actor=buyer_user, subject="decision", grounds=GROUNDS)
    for blank in ("", "   ", None):
        with pytest.raises(DomainError, match="основания"):
            complaints.file(deal, actor=buyer_user, subject="signature", grounds=blank)
    with pytest.raises(DomainError):
        complaints.file(deal, actor=buyer_user, subject="signature", grounds="x" * 4001)
    c = complaints.file(deal, actor=loser, subject="award", grounds=GROUNDS)
    assert c.role == "bidder" and c.state == "open" and c.deadline > c.filed_at
    with pytest.raises(DomainError, match="уже рассматривается"):
        complaints.file(deal, actor=loser, subject="award", grounds=GROUNDS)
    mine = complaints.file(deal, actor=buyer_user, subject="signature", grounds=GROUNDS)
    assert mine.role == "buyer" and not complaints.can_file(deal, buyer_user)
    assert complaints.can_file(deal, seller)


def test_assignment_excludes_the_deciding_official_and_party_members(signed, official,  # noqa: F811
                                                                    create_official):
    deal, _seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    review.decide(deal, "return", actor=official, note="Нет печати")
    insider = create_official(regions=(REGION,))
    db.session.add(Membership(user=insider, organization=deal.buyer, role="member"))
    other = create_official(regions=(REGION,))
    create_official(regions=("750000000",))  # another region
    db.session.flush()
    db.session.expire_all()
    assert complaints.eligible_officials(deal) == [other]
    c = complaints.file(deal, actor=buyer_user, subject="decision", grounds=GROUNDS)
    assert c.official_id == other.id
    for user in (official, insider):
        assert not complaints.may_decide(c, user)
        with pytest.raises(PermissionDenied):
            complaints.decide(c, "upheld", actor=user, reason="Обосновано")
    assert complaints.may_decide(c, other)
    notified = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "complaint.filed")).all()
    assert other.id in notified and official.id not in notified


def test_deadlines_pause_while_open_and_resume(signed, official):  # noqa: F811
    deal, _seller, buyer_user, site = signed
    t0 = utcnow()
    sign_by = deal.sign_by
    c = complaints.file(deal, actor=buyer_user, subject="signature", grounds=GROUNDS, now=t0)
    later = t0 + timedelta(days=3, hours=2)
    complaints.decide(c, "dismissed", actor=official, reason="Доверенность есть", now=later)
    db.session.expire_all()
    assert c.paused_seconds == int((later - t0).total_seconds())
    assert deal.sign_by == sign_by + (later - t0)
    # a submitted case: the review deadline moves too
    review.submit(deal, actor=buyer_user, site_id=site.id)
    case = review.review_of(deal)
    deadline = case.deadline
    t1 = utcnow()
    c2 = complaints.file(deal, actor=buyer_user, subject="signature", grounds=GROUNDS, now=t1)
    complaints.decide(c2, "upheld", actor=official, reason="Обосновано", now=t1 + timedelta(days=5))
    db.session.expire_all()
    assert case.deadline == deadline + timedelta(days=5)


def test_the_decision_is_reasoned_recorded_and_told(signed, official, sealed_award):  # noqa: F811
    deal, seller, buyer_user, _site = signed
    _deal, (_a, (_b_org, loser), _c) = sealed_award
    c = complaints.file(deal, actor=loser, subject="award", grounds=GROUNDS)
    for bad in ("", "  ", None):
        with pytest.raises(DomainError, match="мотивы"):
            complaints.decide(c, "upheld", actor=official, reason=bad)
    with pytest.raises(DomainError, match="Выберите решение"):
        complaints.decide(c, "maybe", actor=official, reason="x")
    complaints.decide(c, "dismissed", actor=official, reason="Торги проведены по правилам")
    with pytest.raises(DomainError, match="уже принято"):
        complaints.decide(c, "upheld", actor=official, reason="x")
    assert c.state == "dismissed" and c.decided_by_id == official.id
    (entry,) = [json.loads(e.payload) for e in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == "complaint.decided"))]
    assert entry["deal"] == deal.id and entry["outcome"] == "dismissed" and entry["complaint"] == c.id
    assert verify_ledger().ok
    told = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "complaint.decided")))
    assert {seller.id, buyer_user.id, loser.id} <= told
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.recipient == loser.email)) >= 1
    actions = set(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "Deal", AuditEvent.object_id == str(deal.id))))
    assert {"complaint.filed", "complaint.decided"} <= actions


def test_an_upheld_complaint_about_the_approval_opens_the_cancellation(
        client, auth, signed, official, create_official, stocked):  # noqa: F811
    deal, _seller, buyer_user, site = signed
    review.submit(deal, actor=buyer_user, site_id=site.id)
    review.decide(deal, "approve", actor=official)
    other = create_official(regions=(REGION,))
    c = complaints.file(deal, actor=buyer_user, subject="decision", grounds=GROUNDS)
    assert c.official_id == other.id and not complaints.allows_cancellation(c)
    complaints.decide(c, "upheld", actor=other, reason="Одобрено без лицензии покупателя")
    db.session.commit()
    assert complaints.allows_cancellation(c)
    auth.login(other.email)
    page = client.get(f"/complaints/{c.id}").text
    assert 'data-testid="complaint-cancel"' in page and f"/deals/{deal.id}/cancel" in page
    cancellation.cancel(deal, actor=other, reason="Жалоба удовлетворена")
    assert deal.state == "cancelled" and not complaints.allows_cancellation(c)


# Pages ---------------------------------------------------------------------------------------
def test_file_list_and_decide_through_the_pages(client, auth, signed, official):  # noqa: F811
    deal, _seller, buyer_user, _site = signed
    auth.login(buyer_user.email)
    assert 'data-testid="deal-complain"' in client.get(f"/deals/{deal.id}").text
    page = client.get(f"/deals/{deal.id}/complaint").text
    assert 'data-testid="complaint-form"' in page and 'value="decision"' not in page
    response = client.post(f"/deals/{deal.id}/complaint", data={"subject": "signature", "grounds": " "})
    assert response.status_code == 302 and db.session.scalar(select(func.count(Complaint.id))) == 0
    response = client.post(f"/deals/{deal.id}/complaint",
                           data={"subject": "signature", "grounds": GROUNDS})
    assert response.status_code == 302
    c = db.session.scalars(select(Complaint)).one()
    assert response.location.endswith(f"/complaints/{c.id}")
    assert GROUNDS in client.get(f"/complaints/{c.id}").text
    assert client.get("/complaints/").status_code == 403
    auth.logout()
    auth.login(official.email)
    page = client.get("/complaints/").text
    assert f'data-complaint="{c.id}"' in page and 'data-overdue="no"' in page
    assert f'data-complaint="{c.id}"' not in client.get("/complaints/?state=decided").text
    c.deadline = utcnow() - timedelta(hours=1)
    db.session.commit()
    page = client.get("/complaints/?state=open").text
    assert 'data-overdue="yes"' in page and "table-danger" in page
    assert 'data-testid="complaint-decision-form"' in client.get(f"/complaints/{c.id}").text
    response = client.post(f"/complaints/{c.id}/decide", data={"outcome": "upheld", "reason": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert c.state == "open"
    client.post(f"/complaints/{c.id}/decide", data={"outcome": "upheld", "reason": "Обосновано"})
    db.session.expire_all()
    assert c.state == "upheld"
    assert f'data-complaint="{c.id}"' in client.get("/complaints/?state=decided").text
    assert 'data-state="upheld"' in client.get(f"/complaints/{c.id}").text


def test_complaint_forms_survive_hostile_input(client, auth, signed, official):  # noqa: F811
    from tests.deals.test_review_views import HOSTILE

    deal, _seller, buyer_user, _site = signed
    auth.login(buyer_user.email)
    for value in HOSTILE:
        response = client.post(f"/deals/{deal.id}/complaint", data={"subject": value, "grounds": value})
        assert response.status_code < 500, value
    for value in ("decision", "award"):  # not offered / fine
        client.post(f"/deals/{deal.id}/complaint", data={"subject": value, "grounds": "ё" * 5000})
    assert db.session.scalar(select(func.count(Complaint.id))) == 0
    c = complaints.file(deal, actor=buyer_user, subject="award", grounds=GROUNDS)
    db.session.commit()
    auth.logout()
    auth.login(official.email)
    for value in HOSTILE:
        response = client.post(f"/complaints/{c.id}/decide", data={"outcome": value, "reason": value})
        assert response.status_code < 500, value
    db.session.expire_all()
    assert c.state == "open"
    for query in HOSTILE:
        assert client.get("/complaints/", query_string={"state": query, "page": query,
                                                        "mine": query}).status_code == 200
    assert client.get("/complaints/999999").status_code == 404


def test_an_open_complaint_keeps_the_deal_from_lapsing(sealed_award, official):  # noqa: F811
    from market.deals import lifecycle

    deal, ((_org, buyer_user), _b, _c) = sealed_award
    t0 = utcnow()
    c = complaints.file(deal, actor=buyer_user, subject="award", grounds=GROUNDS, now=t0)
    past = deal.sign_by + timedelta(hours=1)
    assert lifecycle.overdue_deal_ids(past) == []
    assert not lifecycle.lapse_deal(deal, now=past)
    complaints.decide(c, "dismissed", actor=official, reason="Торги проведены по правилам",
                      now=past)
    db.session.expire_all()
    assert deal.state == "agreed" and deal.sign_by > past  # pushed by the time it was open
    assert lifecycle.overdue_deal_ids(deal.sign_by) == [deal.id]
    assert lifecycle.lapse_deal(deal, now=deal.sign_by)


# Documents -------------------------------------------------------------------------------------
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def _post(client, deal, *files, grounds=GROUNDS):
    return client.post(f"/deals/{deal.id}/complaint", content_type="multipart/form-data",
                       data={"subject": "signature", "grounds": grounds,
                             "documents": [(io.BytesIO(data), name) for data, name in files]})


def _stored_keys(app) -> set:
    root = Path(app.config["UPLOAD_DIR"]) / "complaints"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_documents_are_attached_on_filing_and_checked_by_content(
        app, client, auth, signed, monkeypatch):  # noqa: F811
    deal, _seller, buyer_user, _site = signed
    auth.login(buyer_user.email)
    page = client.get(f"/deals/{deal.id}/complaint").text
    assert 'enctype="multipart/form-data"' in page and 'name="documents"' in page
    assert "multiple" in page and "До 5 файлов PDF" in page
    # A refused file: nothing filed, nothing stored; the form comes back with the grounds typed.
    for files, message in ((((PDF, "ok.pdf"), (HTML, "акт.pdf")), "Это не PDF"),
                           ([(PDF + bytes([i]), f"{i}.pdf") for i in range(6)], "не более 5")):
        response = _post(client, deal, *files)
        assert response.status_code == 422
        assert message in response.text and GROUNDS in response.text
        assert db.session.scalar(select(func.count(Complaint.id))) == 0
        assert db.session.scalar(select(func.count(ComplaintFile.id))) == 0
        assert _stored_keys(app) == set()
    monkeypatch.setitem(app.config, "LOT_DOCUMENT_MAX_BYTES", len(PDF) + 1)
    response = _post(client, deal, (PDF + b"  ", "большой.pdf"))
    assert response.status_code == 422 and "«большой.pdf»: Документ больше" in response.text
    assert db.session.scalar(select(func.count(Complaint.id))) == 0 and _stored_keys(app) == set()
    response = _post(client, deal, (PDF, "Доверенность директора.PDF"), (PDF + b"%", "x.txt"))
    assert response.status_code == 302
    c = db.session.scalars(select(Complaint)).one()
    assert [(f.filename, f.content_type, f.size) for f in c.files] == [
        ("Доверенность директора.PDF", "application/pdf", len(PDF)),
        ("x.txt.pdf", "application/pdf", len(PDF) + 1)]
    assert c.files[0].sha256 == hashlib.sha256(PDF).hexdigest() and c.files[0].uploaded_by_id == buyer_user.id
    assert len(_stored_keys(app)) == 2
    page = client.get(f"/complaints/{c.id}").text
    assert 'data-testid="complaint-files"' in page and "Доверенность директора.PDF" in page
    assert f"/complaints/{c.id}/files/{c.files[0].id}" in page


def test_documents_are_served_to_those_who_see_the_complaint(
        client, auth, signed, official, create_user):  # noqa: F811
    deal, _seller, buyer_user, _site = signed
    c = complaints.file(deal, actor=buyer_user, subject="signature", grounds=GROUNDS)
    (doc,) = complaint_files.attach(c, [("Акт №1.pdf", io.BytesIO(PDF))], actor=buyer_user)
    db.session.commit()
    url = f"/complaints/{c.id}/files/{doc.id}"
    assert client.get(url).status_code == 302  # to the login page
    stranger = create_user()
    auth.login(stranger.email)
    assert client.get(url).status_code == 404
    auth.logout()
    for user in (buyer_user, official):
        auth.login(user.email)
        r = client.get(url)
        assert r.status_code == 200 and r.data == PDF
        assert r.headers["Content-Type"] == "application/pdf"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert "private" in r.headers["Cache-Control"] and "public" not in r.headers["Cache-Control"]
        assert r.headers["Content-Disposition"] == (
            f'inline; filename="complaint-{c.id}-{doc.id}.pdf"; '
            "filename*=UTF-8''%D0%90%D0%BA%D1%82%20%E2%84%961.pdf")
        assert r.headers["ETag"] == f'"{doc.sha256}"'
        assert client.get(url, headers={"If-None-Match": f'"{doc.sha256}"'}).status_code == 304
        auth.logout()
    auth.login(buyer_user.email)
    assert client.get(f"/complaints/{c.id}/files/{doc.id + 1}").status_code == 404
    assert client.get(f"/complaints/{c.id + 1}/files/{doc.id}").status_code == 404
    assert client.get(f"/complaints/{c.id}/files/99999999999999999999").status_code == 404


def test_document_uploads_survive_hostile_input(client, auth, signed):  # noqa: F811
    deal, _seller, buyer_user, _site = signed
    auth.login(buyer_user.email)
    for name in ("", "../../etc/passwd", "\u202egpj.pdf", "x" * 5000, "con.pdf\x00.html"):
        response = _post(client, deal, (b"", name), (b"MZ\x90\x00", name))
        assert response.status_code < 500, name
    response = client.post(f"/deals/{deal.id}/complaint",
                           data={"subject": "signature", "grounds": GROUNDS, "documents": "text"})
    assert response.status_code < 500
    db.session.rollback()
    assert db.session.scalar(select(func.count(ComplaintFile.id))) == 0


def test_a_losing_bidder_finds_the_complaint_link_on_the_lot_page(sealed_award, client, auth):
    deal, ((_a, winner), (_b, loser), _c) = sealed_award
    auth.login(loser.email)
    page = client.get(f"/lots/{deal.lot_id}").get_data(as_text=True)
    assert f'/deals/{deal.id}/complaint" data-testid="award-complaint-link"' in page
    assert client.get(f"/deals/{deal.id}/complaint").status_code == 200
    auth.logout()
    auth.login(winner.email)  # a party: the complaint button is on its deal page instead
    assert "award-complaint-link" not in client.get(f"/lots/{deal.lot_id}").get_data(as_text=True)
