"""The demo story: a copper smelter's slag and tailings, and who can use them."""

from __future__ import annotations

from datetime import date

from market.accounts.bin import check_digit
from market.accounts.models import Membership, Organization, OrgRole, User
from market.accounts.operations import find_user, hash_password
from market.core import audit
from market.core.timeutil import utcnow
from market.demo.cadastre_world import build_cadastre
from market.demo.lots_world import build_lots
from market.demo.registry_world import build_registry
from market.demo.wanted_world import build_wanted
from market.extensions import db
from market.refdata.models import Region

DEMO_PASSWORD = "qaldyq-demo-2026"

KARAGANDA, PAVLODAR, ALMATY_CITY, ASTANA = "350000000", "550000000", "750000000", "710000000"


def demo_bin(prefix11: str) -> str:
    """A fictional BIN with a correct check digit (prefix: YYMM + 4 + ...)."""
    digit = check_digit(prefix11)
    assert digit is not None, prefix11
    return prefix11 + str(digit)


# email, name, what they are, platform roles
USERS = [
    ("admin@qaldyq.kz", "Әлия Администратор", "admin", {"is_admin": True}),
    ("official@qaldyq.kz", "Ерлан Инспекторов", "regional official, Karaganda",
     {"is_official": True}),
    ("smelter@qaldyq.kz", "Самат Металлургов", "owner, copper smelter (holder)", {}),
    ("cement@qaldyq.kz", "Гульнар Цементова", "owner, cement plant (processor)", {}),
    ("battery@qaldyq.kz", "Данияр Аккумуляторов", "owner, battery recycler (processor)", {}),
    ("carrier@qaldyq.kz", "Бауыржан Перевозов", "owner, carrier", {}),
    ("investor@qaldyq.kz", "Мадина Инвестор", "owner, investor", {}),
    ("newcomer@qaldyq.kz", "Арман Новиков", "owner of an organisation awaiting verification", {}),
    ("akimat@qaldyq.kz", "Нурлан Жерқұлов", "owner, regional natural-resources department (state body)",
     {}),
]

# BIN prefix, name, region, address, kinds, owner e-mail, state
ORGS = [
    ("05064000123", "ТОО «Балқаш Мыс» (демо)", KARAGANDA,
     "Карагандинская обл., г. Балхаш, ул. Ленина, 1", ["holder"], "smelter@qaldyq.kz", "verified"),
    ("98114000456", "АО «Central Asia Cement» (демо)", KARAGANDA,
     "Карагандинская обл., пос. Актау, Промзона, 3", ["processor", "holder"],
     "cement@qaldyq.kz", "verified"),
    ("12034000789", "ТОО «Kaz Battery Recycling» (демо)", PAVLODAR,
     "г. Павлодар, Северная промзона, 15", ["processor"], "battery@qaldyq.kz", "verified"),
    ("15074000321", "ТОО «Дала Логистик» (демо)", ASTANA,
     "г. Астана, пр. Туран, 40", ["carrier"], "carrier@qaldyq.kz", "verified"),
    ("19094000654", "ТОО «Steppe Resources Invest» (демо)", ALMATY_CITY,
     "г. Алматы, пр. Аль-Фараби, 77", ["investor"], "investor@qaldyq.kz", "verified"),
    ("21104000987", "ТОО «Шлак Сервис» (демо)", KARAGANDA,
     "г. Караганда, ул. Складская, 12", ["processor"], "newcomer@qaldyq.kz", "pending"),
    ("07124000111", "ГУ «Управление природных ресурсов Карагандинской области» (демо)", KARAGANDA,
     "г. Караганда, ул. Ерубаева, 13", ["state_body"], "akimat@qaldyq.kz", "verified"),
]


def build_world() -> list[tuple[str, str]]:
    """Create the demo users and organisations; returns what was created (empty if present)."""
    if find_user(USERS[0][0]) is not None:
        return []
    now = utcnow()
    users: dict[str, User] = {}
    for email, name, _what, roles in USERS:
        user = User(email=email, full_name=name, password_hash=hash_password(DEMO_PASSWORD),
                    email_confirmed_at=now, locale="ru", **roles)
        db.session.add(user)
        users[email] = user
    db.session.flush()
    users["official@qaldyq.kz"].official_regions = [db.session.get(Region, KARAGANDA)]
    official = users["official@qaldyq.kz"]
    orgs: dict[str, Organization] = {}
    for prefix, name, region, address, kinds, owner, state in ORGS:
        org = Organization(bin=demo_bin(prefix), name=name, region_kato=region, address=address,
                           state=state, created_by_id=users[owner].id,
                           contact_email=owner, state_changed_at=now)
        org.kinds = kinds
        db.session.add(org)
        db.session.flush()
        db.session.add(Membership(user=users[owner], organization=org, role=OrgRole.owner.value))
        users[owner].current_org_id = org.id
        orgs[owner] = org
        audit.record("org.created", org, actor=users[owner], demo=True)
        if state == "verified":
            verifier = official if region == KARAGANDA else users["admin@qaldyq.kz"]
            audit.record("org.verify", org, actor=verifier, old="pending", new="verified",
                         demo=True)
    db.session.flush()
    for user in users.values():
        db.session.refresh(user)
    build_registry(users, orgs, date.today())
    build_cadastre(users, orgs)
    build_licences(users, orgs)
    build_lots(users, orgs)
    build_wanted(users, orgs)
    return [(email, what) for email, _n, what, _r in USERS]


ISSUER = "Комитет экологического регулирования и контроля МЭПР РК"

# owner e-mail, number, valid from, valid to, scopes as written, R/D operations, note
LICENCES = [
    # The cement kiln burns waste oils and RDF as fuel: it may not take the smelter's dust.
    ("cement@qaldyq.kz", "KZ72VEG00012345", date(2023, 3, 15), None, "13 02, 13 05, 19 12 11*",
     ["R1", "R5", "D10"], "Совместное сжигание во вращающейся печи, до 30 000 т/год."),
    # The battery recycler's lead smelter: batteries, lead slags and the copper smelter's
    # Pb/Zn dust (10 06 03*), which it may take; an older licence has expired.
    ("battery@qaldyq.kz", "KZ15VEG00067890", date(2024, 6, 1), None,
     "16 06 01*, 16 06 06*, 20 01 33*, 10 04, 10 06 03*", ["R4", "R6", "R13"],
     "Вторичный свинец: аккумуляторы, шлаки и пыли, до 25 000 т/год."),
    ("battery@qaldyq.kz", "KZ03VEG00001122", date(2019, 4, 1), date(2024, 5, 31), "16 06 01*",
     ["R4", "R13"], "Прежняя лицензия, заменена KZ15VEG00067890."),
]


def build_licences(users: dict[str, User], orgs: dict[str, Organization]) -> None:
    """Licences of the demo processors (market.accounts.licences checks them as a user would)."""
    from market.accounts.licences import add_licence

    for owner, number, start, end, scopes, operations, note in LICENCES:
        add_licence(orgs[owner], actor=users[owner], number=number, issued_by=ISSUER,
                    valid_from=start, valid_to=end, scopes=scopes, operations=operations, note=note)
