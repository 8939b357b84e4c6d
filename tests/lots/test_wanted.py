"""Wanted posts: operations and validation, matching with lots in both directions (codes,
regions, licence scope), notifications, answers, the pages."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from market.accounts.models import Licence
from market.core.errors import DomainError, PermissionDenied
from market.core.models import AuditEvent, Notification, OutboxEmail
from market.core.timeutil import today_almaty
from market.core.txn import commit
from market.extensions import db
from market.lots import wanted as w
from market.lots.models_interest import WantedMatch, WantedPost
from market.lots.operations import create_lot, publish_lot, withdraw_lot
from market.registry import operations as reg
from market.registry.journal import record

KARAGANDA, PAVLODAR, ALMATY = "350000000", "550000000", "750000000"
TODAY = today_almaty()


def _site(org, user, region):
    return reg.create_site(org, actor=user, name=f"Площадка {region}", kind="storage",
                           region_kato=region, address="x")


def _lot(org, user, site, code, *, publish=True, title=None, hps=None):
    """A stocked stream of ``code`` on ``site`` and a lot of 10 t from it (published)."""
    hazardous = code.endswith("*")
    code = code.rstrip("*")
    stream = reg.create_stream(site, actor=user, waste_code=code, name=title or code,
                               physical_state="solid", storage_purpose="recovery",
                               hazard_properties=["HP14"] if hazardous else hps)
    if hazardous:
        reg.save_passport(stream, actor=user, composition="Pb", handling="h", transport="t",
                          emergency="e", compiled_by="Эколог", compiled_on=date(2026, 1, 1),
                          hazard_properties=["HP14"])
    record(stream, actor=user, kind="generated", quantity="100", event_date=date(2026, 1, 1))
    lot = create_lot(org, actor=user, stream=stream, title=title or f"Лот {code}", quantity="10",
                     pricing_mode="fixed", price=100_000)
    if publish:
        publish_lot(lot, actor=user)
    return lot


def _licence(org, scopes, operations=("R4",), *, valid_to=None, revoked=False):
    from market.core.timeutil import utcnow

    lic = Licence(organization_id=org.id, number=f"KZ-{len(scopes)}-{'-'.join(scopes)}",
                  valid_from=TODAY - timedelta(days=365), valid_to=valid_to, scopes=list(scopes),
                  operations=list(operations), revoked_at=utcnow() if revoked else None)
    db.session.add(lic)
    db.session.flush()
    return lic


@pytest.fixture
def scene(create_org, create_user, add_member, holder, owner, site):
    """A processor in Karaganda (owner, manager, plain member) looking for waste; holders in
    Karaganda (the ``holder`` fixture) and Pavlodar with published lots."""
    buyer = create_user(full_name="Покупатель")
    proc = create_org(owner=buyer, kinds=("processor", "holder"), region=KARAGANDA,
                      name="ТОО «Переработчик»")
    buyer_mgr, buyer_member = create_user(), create_user()
    add_member(proc, buyer_mgr, "manager")
    add_member(proc, buyer_member, "member")
    holder_mgr = create_user()
    add_member(holder, holder_mgr, "manager")
    pav_owner = create_user()
    pav = create_org(owner=pav_owner, region=PAVLODAR, name="ТОО «Павлодар»")
    pav_site = _site(pav, pav_owner, PAVLODAR)
    lots = SimpleNamespace(
        slag=_lot(holder, owner, site, "100601", title="Шлак медный"),
        ash=_lot(holder, owner, site, "100102", title="Зола уноса"),
        scale=_lot(holder, owner, site, "100210", title="Окалина"),
        dust=_lot(holder, owner, site, "100603*", title="Пыль газоочистки"),
        lead=_lot(holder, owner, site, "100401*", title="Шлак свинцовый"),
        plastic=_lot(holder, owner, site, "070213", title="Пластик"),
        slag_pav=_lot(pav, pav_owner, pav_site, "100601", title="Шлак павлодарский"),
        own=_lot(proc, buyer, _site(proc, buyer, KARAGANDA), "100601", title="Свой шлак"),
        draft=_lot(holder, owner, site, "100202", publish=False, title="Шлак-черновик"),
    )
    withdrawn = _lot(holder, owner, site, "100201", title="Снятый")
    withdraw_lot(withdrawn, actor=owner, reason="Продано вне биржи")
    lots.withdrawn = withdrawn
    return SimpleNamespace(proc=proc, buyer=buyer, buyer_mgr=buyer_mgr, buyer_member=buyer_member,
                           holder=holder, owner=owner, holder_mgr=holder_mgr, pav=pav,
                           pav_owner=pav_owner, site=site, lots=lots)


def post(m, codes, **kw):
    kw.setdefault("title", f"Ищем {codes}")
    return w.create_wanted(m.proc, actor=m.buyer, codes=codes, **kw)


def found(p) -> set[str]:
    return {lot.title for lot in w.lots_for_wanted(p)}


def all_lots(m):
    return list(vars(m.lots).values())


def assert_both_directions_agree(m, p):
    """lots_for_wanted, wanted_for_lot and the reference ``mismatch`` say the same thing."""
    forward = {lot.id for lot in w.lots_for_wanted(p)}
    for lot in all_lots(m):
        backward = p.id in {x.id for x in w.wanted_for_lot(lot)}
        assert (lot.id in forward) == backward == (w.mismatch(p, lot) is None), lot.title


# --- validation ------------------------------------------------------------------------------
def test_prefixes_are_written_as_people_write_codes(app, session):
    assert w.parse_prefixes("10 02, 16 06 01*") == ["1002", "160601"]
    assert w.parse_prefixes("10 06 01*; 17\n10.02.10") == ["100210", "100601", "17"]
    assert w.parse_prefixes("10, 10 02, 10 02 01*") == ["10"]  # inside the chapter: dropped
    assert w.parse_prefixes(["1006", "100601"]) == ["1006"]
    with pytest.raises(DomainError, match="«99» нет в классификаторе"):
        w.parse_prefixes("10, 99")
    with pytest.raises(DomainError, match="«10 0» — не код"):
        w.parse_prefixes("10 0")
    with pytest.raises(DomainError, match="«шлак» — не код"):
        w.parse_prefixes("шлак")
    with pytest.raises(DomainError, match="хотя бы один"):
        w.parse_prefixes(" , ")
    with pytest.raises(DomainError, match="нет в классификаторе"):
        w.parse_prefixes("10 02 03")  # no such code in 10 02


def test_create_validates_every_field(scene):
    m = scene
    bad = [
        (dict(codes="10", regions=["999999999"]), "Неизвестный регион"),
        (dict(codes="10", operation_code="R99"), "Неизвестная операция"),
        (dict(codes="10", quantity="abc"), "числом в тоннах"),
        (dict(codes="10", monthly_quantity="0"), "больше нуля"),
        (dict(codes="10", price=-1), "отрицательной"),
        (dict(codes="10", price_kind="free"), "кто платит"),
        (dict(codes="10", valid_to=TODAY - timedelta(days=1)), "уже прошёл"),
        (dict(codes="10", title="  "), "заголовок"),
    ]
    for fields, message in bad:
        fields.setdefault("title", "Запрос")
        with pytest.raises(DomainError, match=message):
            w.create_wanted(m.proc, actor=m.buyer, **fields)
    p = post(m, "10 06, 16 06 01*", regions=[PAVLODAR, KARAGANDA, KARAGANDA], operation_code="r4",
             quantity="1 500,5", monthly_quantity="200", price=1_500_000, price_kind="pay",
             valid_to=TODAY + timedelta(days=30), description="  Pb > 5 %  ")
    assert p.code_prefixes == ["1006", "160601"] and p.regions == [KARAGANDA, PAVLODAR]
    assert p.operation_code == "R4" and str(p.quantity) == "1500.500" and p.description == "Pb > 5 %"
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.object_type == "WantedPost", AuditEvent.object_id == str(p.id))) == "wanted.created"


def test_who_may_publish(scene, create_org, create_user, add_member):
    m = scene
    with pytest.raises(PermissionDenied):
        w.create_wanted(m.proc, actor=m.buyer_member, title="x", codes="10")
    w.create_wanted(m.proc, actor=m.buyer_mgr, title="Менеджер может", codes="10")
    pending = create_org(kinds=("processor",), state="pending")
    with pytest.raises(DomainError, match="подтверждённые"):
        w.create_wanted(pending, actor=pending.owners[0].user, title="x", codes="10")
    with pytest.raises(DomainError, match="переработчики и инвесторы"):
        w.create_wanted(m.holder, actor=m.owner, title="x", codes="10")
    investor = create_org(kinds=("investor",))
    assert w.create_wanted(investor, actor=investor.owners[0].user, title="ТМО", codes="01").id


def test_edit_and_close(scene):
    m = scene
    p = post(m, "10 02 10")
    assert found(p) == {"Окалина"}
    with pytest.raises(PermissionDenied):
        w.edit_wanted(p, actor=m.buyer_member, title="x", codes="10")
    assert w.edit_wanted(p, actor=m.buyer, title=p.title, codes="10 02 10, 10 01") == ["code_prefixes"]
    assert found(p) == {"Окалина", "Зола уноса"}
    assert w.edit_wanted(p, actor=m.buyer, title=p.title, codes="10 01, 10 02 10") == []
    with pytest.raises(PermissionDenied):
        w.close_wanted(p, actor=m.buyer_member)
    w.close_wanted(p, actor=m.buyer_mgr)
    assert p.state == "closed" and p.closed_at is not None
    with pytest.raises(DomainError, match="уже закрыт"):
        w.close_wanted(p, actor=m.buyer)
    with pytest.raises(DomainError, match="Закрытый запрос"):
        w.edit_wanted(p, actor=m.buyer, title="x", codes="10")
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "WantedPost", AuditEvent.object_id == str(p.id))
        .order_by(AuditEvent.id)).all()
    assert actions == ["wanted.created", "wanted.matched", "wanted.edited", "wanted.matched",
                       "wanted.closed"]


# --- matching --------------------------------------------------------------------------------
def test_prefix_levels_and_regions(scene):
    m = scene
    chapter = post(m, "10")  # any region, no licence: non-hazardous waste of chapter 10 only
    assert found(chapter) == {"Шлак медный", "Зола уноса", "Окалина", "Шлак павлодарский"}
    sub = post(m, "10 06", regions=[KARAGANDA])
    assert found(sub) == {"Шлак медный"}  # not Pavlodar's, not the hazardous dust, not its own
    code = post(m, "10 02 10")
    assert found(code) == {"Окалина"}
    elsewhere = post(m, "10 06 01", regions=[PAVLODAR, ALMATY])
    assert found(elsewhere) == {"Шлак павлодарский"}
    nowhere = post(m, "10 06 01", regions=[ALMATY])
    assert found(nowhere) == set()
    other_code = post(m, "16 06 01*")
    assert found(other_code) == set()
    for p in (chapter, sub, code, elsewhere, nowhere, other_code):
        assert_both_directions_agree(m, p)
    lots = m.lots
    assert {p.id for p in w.wanted_for_lot(lots.slag)} >= {chapter.id, sub.id}
    for lot in (lots.own, lots.draft, lots.withdrawn, lots.plastic):
        assert not {chapter.id, sub.id} & {p.id for p in w.wanted_for_lot(lot)}, lot.title


@pytest.mark.parametrize(("licence", "operation", "fits"), [
    (None, None, set()),                                             # no licence at all
    (dict(scopes=["1006"]), None, {"Пыль газоочистки"}),             # sub-chapter licence
    (dict(scopes=["100603"]), "R4", {"Пыль газоочистки"}),           # the exact code, with R4
    (dict(scopes=["10"]), None, {"Пыль газоочистки", "Шлак свинцовый"}),
    (dict(scopes=["1004"]), None, {"Шлак свинцовый"}),               # licence for other codes
    (dict(scopes=["1006"]), "R5", set()),                            # lacks the stated operation
    (dict(scopes=["1006"], valid_to=TODAY - timedelta(days=1)), None, set()),  # expired
    (dict(scopes=["1006"], revoked=True), None, set()),              # revoked
    (dict(scopes=["1006"], valid_to=TODAY), "R4", {"Пыль газоочистки"}),  # valid through today
])
def test_hazardous_lots_need_a_licence(scene, licence, operation, fits):
    m = scene
    if licence is not None:
        _licence(m.proc, **licence)
    p = post(m, "10 04, 10 06 03", operation_code=operation)
    assert found(p) == fits
    assert_both_directions_agree(m, p)
    nonhaz = post(m, "10 06 01", operation_code=operation)  # non-hazardous: no licence needed
    assert found(nonhaz) == {"Шлак медный", "Шлак павлодарский"}


def test_another_organisations_licence_does_not_count(scene):
    m = scene
    _licence(m.holder, ["10"])
    _licence(m.pav, ["10"])
    assert found(post(m, "10 06 03")) == set()


def test_closed_and_expired_posts_match_nothing(scene):
    m = scene
    closed = post(m, "10")
    w.close_wanted(closed, actor=m.buyer)
    expired = post(m, "10")
    expired.valid_to = TODAY - timedelta(days=1)
    last_day = post(m, "10", valid_to=TODAY)
    db.session.flush()
    assert found(closed) == found(expired) == set()
    assert "Шлак медный" in found(last_day)
    ids = {p.id for p in w.wanted_for_lot(m.lots.slag)}
    assert last_day.id in ids and not {closed.id, expired.id} & ids
    assert_both_directions_agree(m, expired)
    from market.lots.views_wanted import open_posts

    assert last_day.id in {p.id for p in open_posts(limit=100)}
    assert not {closed.id, expired.id} & {p.id for p in open_posts(limit=100)}


def test_lots_for_wanted_pages_newest_first(scene):
    p = post(scene, "10")
    every = w.lots_for_wanted(p)
    assert [lot.id for lot in every] == sorted((lot.id for lot in every), reverse=True)
    first = w.lots_for_wanted(p, limit=2)
    rest = w.lots_for_wanted(p, before=first[-1].id)
    assert first + rest == every


# --- recording and notifications -------------------------------------------------------------
def _count(model, **where):
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalar(stmt)


def _notes(user, kind):
    return db.session.scalars(select(Notification.text).where(
        Notification.user_id == user.id, Notification.kind == kind)).all()


def test_new_lot_is_matched_once_and_both_sides_told(scene, mailbox):
    m = scene
    p = post(m, "10 06", regions=[KARAGANDA])
    other = post(m, "10 06 01", title="Шлак для цемента")
    post(m, "16 06 01*", title="Не про шлак")
    lot = _lot(m.holder, m.owner, m.site, "100601", title="Шлак свежий")
    mails = _count(OutboxEmail)
    assert w.match_new_lot(lot) == 2
    assert _count(WantedMatch, lot_id=lot.id) == 2
    for user in (m.buyer, m.buyer_mgr):
        texts = _notes(user, "wanted.match")
        assert sum("«Шлак свежий»" in t for t in texts) == 2
    assert _notes(m.buyer_member, "wanted.match") == []
    recipients = db.session.scalars(select(OutboxEmail.recipient).where(OutboxEmail.id > 0)
                                    .order_by(OutboxEmail.id)).all()[mails:]
    assert sorted(recipients) == sorted([m.buyer.email, m.buyer_mgr.email])  # one e-mail each
    body = db.session.scalars(select(OutboxEmail.body).order_by(OutboxEmail.id.desc())).first()
    assert "Шлак свежий" in body and p.title in body and other.title in body and "/lots/" in body
    for user in (m.owner, m.holder_mgr):
        assert _notes(user, "wanted.lot_fits") == ["Ваш лот «Шлак свежий» подходит к запросам на отходы: 2."]
    # idempotent: a second run (a retried job) records and tells nothing
    before = (_count(Notification), _count(OutboxEmail), _count(WantedMatch))
    assert w.match_new_lot(lot) == 0
    assert (_count(Notification), _count(OutboxEmail), _count(WantedMatch)) == before


def test_new_post_records_open_lots_and_tells_their_holders_once(scene):
    m = scene
    p = post(m, "10")
    titles = {mt.lot.title for mt in db.session.scalars(
        select(WantedMatch).where(WantedMatch.wanted_id == p.id))}
    assert titles == found(p)
    # the Karaganda holder has three matching lots: one notification per manager, not three
    for user in (m.owner, m.holder_mgr):
        assert _notes(user, "wanted.fits_lots") == [
            f"Новый запрос на отходы «{p.title}»: к нему подходят ваши лоты (3)."]
    assert _notes(m.pav_owner, "wanted.fits_lots") == [
        f"Новый запрос на отходы «{p.title}»: к нему подходит ваш лот «Шлак павлодарский»."]
    assert _notes(m.buyer, "wanted.fits_lots") == []
    # the lots' publication jobs running afterwards find those matches already told
    assert w.match_new_lot(m.lots.slag) == 0


def test_match_cap(scene, monkeypatch):
    monkeypatch.setattr(w, "MATCH_CAP", 2)
    p = post(scene, "10")
    assert _count(WantedMatch, wanted_id=p.id) == 2
    assert len(w.lots_for_wanted(p)) == 4  # the poster's page still lists every lot


# --- answers ---------------------------------------------------------------------------------
def test_answer_with_a_lot(scene, create_user, add_member):
    m = scene
    p = post(m, "10 06", regions=[ALMATY])  # the region does not stop an answer
    assert found(p) == set()
    match = w.answer_wanted(p, m.lots.slag, actor=m.holder_mgr, message="Отгрузим вагонами")
    assert match.answered and match.message == "Отгрузим вагонами"
    assert _notes(m.buyer, "wanted.answer") and _notes(m.buyer_mgr, "wanted.answer")
    mail = db.session.scalars(select(OutboxEmail).where(OutboxEmail.recipient == m.buyer.email)
                              .order_by(OutboxEmail.id.desc())).first()
    assert "Отгрузим вагонами" in mail.body and "Шлак медный" in mail.body
    with pytest.raises(DomainError, match="уже предложен"):
        w.answer_wanted(p, m.lots.slag, actor=m.owner)
    clerk = create_user()
    add_member(m.holder, clerk, "member")
    with pytest.raises(PermissionDenied):
        w.answer_wanted(p, m.lots.slag, actor=clerk)
    with pytest.raises(DomainError, match="Код отхода"):
        w.answer_wanted(p, m.lots.ash, actor=m.owner)
    with pytest.raises(DomainError, match="лицензии"):
        w.answer_wanted(p, m.lots.dust, actor=m.owner)
    with pytest.raises(DomainError, match="одной организации"):
        w.answer_wanted(p, m.lots.own, actor=m.buyer)
    with pytest.raises(DomainError, match="опубликованный"):
        w.answer_wanted(p, m.lots.withdrawn, actor=m.owner)
    w.close_wanted(p, actor=m.buyer)
    with pytest.raises(DomainError, match="закрыт"):
        w.answer_wanted(p, m.lots.slag_pav, actor=m.pav_owner)


def test_answer_after_automatic_match(scene):
    m = scene
    p = post(m, "10 06 01", regions=[KARAGANDA])
    assert _count(WantedMatch, wanted_id=p.id, answered=False) == 1
    w.answer_wanted(p, m.lots.slag, actor=m.owner)
    assert _count(WantedMatch, wanted_id=p.id) == 1
    assert _count(WantedMatch, wanted_id=p.id, answered=True) == 1


# --- pages -----------------------------------------------------------------------------------
def test_board_hides_names_from_visitors_and_filters(scene, client, auth):
    m = scene
    slag = post(m, "10 06", regions=[KARAGANDA], operation_code="R5", title="Шлак для клинкера")
    post(m, "16 06 01*", regions=[PAVLODAR], operation_code="R4", title="Аккумуляторы")
    page = client.get("/wanted/")
    assert page.status_code == 200
    assert "Шлак для клинкера" in page.text and "Аккумуляторы" in page.text
    assert "16 06 01*" in page.text and "10 06<" in page.text  # codes as written, with the star
    assert "ТОО «Переработчик»" not in page.text
    assert "Аккумуляторы" not in client.get("/wanted/?chapter=10").text
    assert "Шлак для клинкера" not in client.get(f"/wanted/?region={PAVLODAR}").text
    assert "Аккумуляторы" not in client.get("/wanted/?operation=R5").text
    assert "Запросы, к которым подходит лот" in client.get(f"/wanted/?lot={m.lots.slag.id}").text
    assert "Аккумуляторы" not in client.get(f"/wanted/?lot={m.lots.slag.id}").text
    assert "запросов нет" in client.get("/wanted/?chapter=19").text
    assert client.get("/wanted/?region=abc&chapter=x&before=zz&lot=999999").status_code == 200
    auth.login(m.owner.email)
    assert "ТОО «Переработчик»" in client.get("/wanted/").text
    assert "ТОО «Переработчик»" in client.get(f"/wanted/{slag.id}").text


def test_create_through_the_form(scene, client, auth):
    m = scene
    auth.login(m.buyer.email)
    assert client.get("/wanted/new").status_code == 200
    r = client.post("/wanted/new", data={"title": "Шлак", "codes": "10 06 01, 99", "price_kind": "pay"})
    assert r.status_code == 422 and "«99» нет в классификаторе" in r.text
    r = client.post("/wanted/new", data={
        "title": "Шлак для цемента", "codes": "10 06 01", "regions": [KARAGANDA, PAVLODAR],
        "operation_code": "R5", "quantity": "", "monthly_quantity": "5 000", "price_kind": "pay",
        "price": "1 500", "valid_to": "", "description": ""})
    assert r.status_code == 302
    p = db.session.scalars(select(WantedPost).where(WantedPost.title == "Шлак для цемента")).one()
    assert p.price == 150_000 and p.regions == [KARAGANDA, PAVLODAR] and p.operation_code == "R5"
    page = client.get(r.headers["Location"])
    assert "Шлак медный" in page.text and "Шлак павлодарский" in page.text  # the matching lots
    form = client.get(f"/wanted/{p.id}/edit")
    assert 'value="10 06 01"' in form.text and 'value="1500"' in form.text
    r = client.post(f"/wanted/{p.id}/edit", data={
        "title": "Шлак для цемента", "codes": "10 06 01, 10 02 10", "regions": [KARAGANDA],
        "operation_code": "R5", "monthly_quantity": "5000", "price_kind": "fee", "price": ""})
    assert r.status_code == 302
    assert p.code_prefixes == ["100210", "100601"] and p.price is None and p.price_kind == "fee"
    assert _notes(m.owner, "wanted.fits_lots")  # the scale (10 02 10) now fits: its holder is told
    r = client.post(f"/wanted/{p.id}/edit", data={"title": "x", "codes": "ab", "price_kind": "pay"})
    assert r.status_code == 422 and "не код классификатора" in r.text
    r = client.post(f"/wanted/{p.id}/close")
    assert r.status_code == 302 and p.state == "closed"
    mine = client.get("/wanted/mine")
    assert "Шлак для цемента" in mine.text and "Закрыт" in mine.text


def test_refusals_are_explained(scene, client, auth):
    auth.login(scene.owner.email)  # a holder, not a processor
    page = client.get("/wanted/new")
    assert page.status_code == 200 and "переработчики и инвесторы" in page.text


def test_holder_answers_through_the_page(scene, client, auth):
    m = scene
    p = post(m, "10 06, 10 02", title="Ищем шлак")
    auth.login(m.owner.email)
    page = client.get(f"/wanted/{p.id}")
    assert "Предложить свой лот" in page.text
    assert "Шлак медный" in page.text and "Окалина" in page.text and "Зола уноса" not in page.text
    assert "Подходящие лоты" not in page.text  # the list of matches is the poster's
    r = client.post(f"/wanted/{p.id}/answer", data={"lot_id": m.lots.slag.id, "message": "Звоните"})
    assert r.status_code == 302
    assert _count(WantedMatch, wanted_id=p.id, lot_id=m.lots.slag.id, answered=True) == 1
    r = client.post(f"/wanted/{p.id}/answer", data={"lot_id": m.lots.ash.id}, follow_redirects=True)
    assert "Код отхода лота не входит в запрос" in r.text
    assert client.post(f"/wanted/{p.id}/answer", data={"lot_id": m.lots.slag_pav.id}).status_code == 403
    assert client.post(f"/wanted/{p.id}/answer", data={"lot_id": 10**9}).status_code == 404
    auth.logout()
    auth.login(m.buyer_member.email)
    page = client.get(f"/wanted/{p.id}")
    assert "Ответы держателей" in page.text and "Звоните" in page.text


def test_publication_through_the_page_triggers_matching(scene, client, auth, mailbox):
    """The lot_published job runs after the publishing request commits (immediate Huey)."""
    m = scene
    p = post(m, "10 06 01", regions=[KARAGANDA])
    commit()  # the fixture's own publications are announced here; their matches exist already
    draft = _lot(m.holder, m.owner, m.site, "100601", publish=False, title="Шлак с биржи")
    commit()
    auth.login(m.owner.email)
    r = client.post(f"/lots/{draft.id}/publish")
    assert r.status_code == 302
    assert _count(WantedMatch, wanted_id=p.id, lot_id=draft.id) == 1
    assert any("«Шлак с биржи»" in t for t in _notes(m.buyer, "wanted.match"))
    assert any(m.buyer.email in msg["To"] and "Шлак с биржи" in msg["Subject"] for msg in mailbox)
