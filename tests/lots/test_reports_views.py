"""The "offered, no taker" pages: the holder's list and printable report, the PDF, the
officials' list of their regions, and the links from the lot page and the compliance view."""

from datetime import date, timedelta

import pytest

from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.closing import close_lot
from market.lots.operations import create_lot, publish_lot, withdraw_lot
from market.registry import operations as reg
from market.registry.journal import record
from market.registry.limits import flag_overdue_streams
from tests.registry.test_views import pdf_font_names

OTHER_REGION = "550000000"


def overdue_stream(org, boss, region="350000000", name="Зола-унос"):
    site = reg.create_site(org, actor=boss, name="Золоотвал", kind="storage", region_kato=region,
                           address="x")
    stream = reg.create_stream(site, actor=boss, waste_code="100102", name=name,
                               physical_state="powder", storage_purpose="generation")
    record(stream, actor=boss, kind="generated", quantity="500", event_date=date(2025, 1, 1),
           today=date(2025, 1, 1))
    flag_overdue_streams()
    return stream


def expired_report(app, org, boss, stream, *, title="Зола ТЭЦ", qty="120"):
    lot = create_lot(org, actor=boss, stream=stream, title=title, quantity=qty,
                     pricing_mode="sealed", ends_at=utcnow() + timedelta(days=1))
    publish_lot(lot, actor=boss)
    close_lot(lot, now=lot.published_at + timedelta(days=app.config["MANDATORY_OFFER_DAYS"] + 1))
    db.session.flush()
    from market.lots.models import OfferReport

    return lot, db.session.scalars(db.select(OfferReport).where(OfferReport.lot_id == lot.id)).one()


@pytest.fixture
def closed(app, holder, owner):
    return expired_report(app, holder, owner, overdue_stream(holder, owner))


def test_holder_lists_and_prints_its_reports(client, auth, holder, owner, closed):
    _lot, report = closed
    auth.login(owner.email)
    page = client.get(f"/offer-reports/orgs/{holder.id}")
    assert page.status_code == 200
    assert f"/offer-reports/{report.id}" in page.text and "Зола ТЭЦ" in page.text
    page = client.get(f"/offer-reports/{report.id}")
    assert page.status_code == 200
    text = page.text
    assert "Предложено, покупателя нет" in text and holder.bin in text and "120,000" in text
    assert "10 01 02" in text and "Закрытые предложения" in text
    assert 'data-testid="report-views">0<' in text and 'data-testid="report-bids">0<' in text
    assert "@media print" in text and 'class="no-print' in text
    assert f"/offer-reports/{report.id}.pdf" in text


def test_report_pdf_embeds_the_packaged_font(client, auth, owner, closed):
    _lot, report = closed
    auth.login(owner.email)
    r = client.get(f"/offer-reports/{report.id}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    fonts = pdf_font_names(r.data)
    assert fonts and all("DejaVu-Sans" in f for f in fonts), fonts
    assert f"offer-report-{report.id}.pdf" in r.headers["Content-Disposition"]


def test_who_sees_a_report(client, auth, holder, closed, create_user, add_member, create_official):
    _lot, report = closed
    viewer = create_user()
    add_member(holder, viewer, "viewer")
    allowed = [viewer, create_official(regions=["350000000"]), create_official(),
               create_user(is_admin=True)]
    refused = [create_user(), create_official(regions=[OTHER_REGION])]
    for user in allowed + refused:
        auth.login(user.email)
        expected = 200 if user in allowed else 403
        assert client.get(f"/offer-reports/{report.id}").status_code == expected, user
        assert client.get(f"/offer-reports/orgs/{holder.id}").status_code == expected, user
        auth.logout()
    assert client.get(f"/offer-reports/{report.id}").status_code == 302  # to the login page
    assert client.get("/offer-reports/999999").status_code == 302
    auth.login(allowed[-1].email)
    assert client.get("/offer-reports/999999").status_code == 404


def test_lot_page_links_to_the_report_for_those_who_may_see_it(client, auth, owner, closed,
                                                               create_official):
    lot, report = closed
    link = f"/offer-reports/{report.id}"
    assert link not in client.get(f"/lots/{lot.id}").text  # the public sees the lot, not the report
    auth.login(owner.email)
    assert link in client.get(f"/lots/{lot.id}").text
    auth.logout()
    auth.login(create_official(regions=["350000000"]).email)
    assert link in client.get(f"/lots/{lot.id}").text


def test_compliance_view_links_to_the_reports(client, auth, holder, owner, closed):
    auth.login(owner.email)
    page = client.get(f"/registry/orgs/{holder.id}/compliance")
    assert f"/offer-reports/orgs/{holder.id}" in page.text


def test_officials_list_their_regions_with_filters(app, client, auth, holder, closed, create_org,
                                                   create_official):
    _lot, report = closed
    far = create_org(region=OTHER_REGION, name="ТОО Дальний")
    far_boss = far.owners[0].user
    far_stream = overdue_stream(far, far_boss, region=OTHER_REGION, name="Шлам")
    _far_lot, far_report = expired_report(app, far, far_boss, far_stream, title="Шлам дальний")
    withdrawn = create_lot(holder, actor=holder.owners[0].user, stream=report.lot.stream,
                           title="Зола снятая", quantity="10", pricing_mode="free")
    publish_lot(withdrawn, actor=holder.owners[0].user)
    withdraw_lot(withdrawn, actor=holder.owners[0].user, reason="Никто не взял",
                 now=withdrawn.published_at + timedelta(days=app.config["MANDATORY_OFFER_DAYS"]))
    db.session.flush()

    auth.login(create_official(regions=["350000000"]).email)
    page = client.get("/official/offer-reports")
    assert page.status_code == 200
    assert holder.name in page.text and "ТОО Дальний" not in page.text  # another region
    assert page.text.count("/offer-reports/") - page.text.count("/offer-reports/orgs") >= 2
    only_withdrawn = client.get("/official/offer-reports?how=withdrawn").text
    assert f"/offer-reports/{report.id}\"" not in only_withdrawn and "Снято держателем" in only_withdrawn
    assert "ТОО Дальний" not in client.get(f"/official/offer-reports?region={OTHER_REGION}").text
    assert holder.name in client.get(f"/official/offer-reports?q={holder.bin[:6]}").text
    assert holder.name in client.get("/official/offer-reports?q=10 01 02").text
    assert "Справок по этим условиям нет" in client.get("/official/offer-reports?q=Несуществующая").text
    bad = client.get("/official/offer-reports?from=2026-13-45")
    assert bad.status_code == 200 and "ГГГГ-ММ-ДД" in bad.text
    today = date.today()
    assert "Справок по этим условиям нет" in client.get(
        f"/official/offer-reports?to={(today - timedelta(days=400)).isoformat()}").text
    auth.logout()

    auth.login(create_official().email)  # the whole country
    page = client.get("/official/offer-reports").text
    assert holder.name in page and "ТОО Дальний" in page
    assert f"/offer-reports/{far_report.id}" in page


def test_official_list_paginates(app, client, auth, holder, owner, create_official, monkeypatch):
    stream = overdue_stream(holder, owner)
    for i in range(3):
        expired_report(app, holder, owner, stream, title=f"Зола {i}", qty="10")
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    auth.login(create_official().email)
    first = client.get("/official/offer-reports").text
    assert "1 / 2" in first
    second = client.get("/official/offer-reports?page=2").text
    assert "2 / 2" in second and "Зола 0" in second  # newest first: the oldest on page 2
    assert client.get("/official/offer-reports?page=99").status_code == 200
