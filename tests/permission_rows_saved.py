"""Permission-matrix rows for saved searches and the watch list (blueprint "saved").

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world.
Saved searches and watches are personal: only their user sees or changes them (others: 404).
"""

from sqlalchemy import func, select

from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models_interest import SavedSearch, Watch

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


ANY_USER_PAGE = row(LOGIN, 200, 200, 200, 200, 200)
ANY_USER_POST = row(LOGIN, 302, 302, 302, 302, 302)
OWN_SEARCH = row(LOGIN, 404, 404, 302, 404, 404)  # the world's saved search is the owner's

MATRIX = {
    "saved.list_searches": ("GET", ANY_USER_PAGE),
    "saved.save_search":   ("POST", ANY_USER_POST),
    "saved.rename_search": ("POST", OWN_SEARCH),
    "saved.set_alerts":    ("POST", OWN_SEARCH),
    "saved.delete_search": ("POST", OWN_SEARCH),
    "saved.watchlist":     ("GET", ANY_USER_PAGE),
    # The world's lot is a draft; SETUP publishes it, so that anyone may follow it.
    "saved.watch_lot":     ("POST", ANY_USER_POST),
    "saved.unwatch_lot":   ("POST", ANY_USER_POST),
}

FORMS = {
    "saved.save_search": {"q": "шлак", "region": "350000000", "name": "Шлак в Караганде",
                          "alerts": "y"},
    "saved.rename_search": {"name": "Новое название"},
    "saved.set_alerts": {"alerts": "0"},
}

URL_ARGUMENTS = {"search_id"}


def build(world) -> dict:
    """The owner's saved search (alerts on) and the owner's watch of the world's lot."""
    search = SavedSearch(user_id=world.owner.id, organization_id=world.org.id, name="Пыль",
                         params={"q": "пыль"}, alerts=True, created_at=utcnow())
    db.session.add_all([search, Watch(user_id=world.owner.id, lot_id=world.lot.id,
                                      created_at=utcnow())])
    db.session.flush()
    world.saved_search = search
    return {"search_id": search.id}


def _publish(world) -> None:
    world.lot.state, world.lot.published_at = "published", utcnow()


def _searches(user, **where) -> int:
    if user is None:
        return 0
    return db.session.scalar(select(func.count(SavedSearch.id)).where(
        SavedSearch.user_id == user.id, *[getattr(SavedSearch, k) == v for k, v in where.items()]))


def _watching(user, world) -> bool:
    return user is not None and db.session.scalar(select(func.count(Watch.id)).where(
        Watch.user_id == user.id, Watch.lot_id == world.lot.id)) == 1


def _search_gone(world) -> bool:
    return db.session.scalar(select(func.count(SavedSearch.id))
                             .where(SavedSearch.name.in_(["Пыль", "Новое название"]))) == 0


SETUP = {"saved.watch_lot": _publish}

LOGGED_IN = {"outsider", "member", "owner", "official", "admin"}
EFFECTS = {
    "saved.save_search": (lambda w, user: _searches(user, name="Шлак в Караганде") == 1, LOGGED_IN),
    "saved.rename_search": (lambda w, user: w.saved_search.name == "Новое название", {"owner"}),
    "saved.set_alerts": (lambda w, user: w.saved_search.alerts is False, {"owner"}),
    "saved.delete_search": (lambda w, user: _search_gone(w), {"owner"}),
    # The owner watches the lot already (build); everyone else starts watching it.
    "saved.watch_lot": (lambda w, user: _watching(user, w), LOGGED_IN),
    "saved.unwatch_lot": (lambda w, user: not _watching(w.owner, w), {"owner"}),
}
